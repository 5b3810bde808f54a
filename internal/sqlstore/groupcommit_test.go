package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
)

// fakeBeginner hands out transactions that record commits; its Begin panics while
// panicking is set (a bug below the group commit, not in a write's function).
type fakeBeginner struct {
	mu        sync.Mutex
	panicking bool
	commits   int
}

func (b *fakeBeginner) Begin(context.Context, bool) (Transaction, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.panicking {
		panic("driver bug")
	}
	return &fakeTx{b: b}, nil
}

type fakeTx struct{ b *fakeBeginner }

func (t *fakeTx) ExecContext(context.Context, string, ...any) (sql.Result, error) { return nil, nil }
func (t *fakeTx) QueryContext(context.Context, string, ...any) (Rows, error) {
	return nil, errors.New("no rows here")
}
func (t *fakeTx) QueryRowContext(context.Context, string, ...any) Row { return nil }
func (t *fakeTx) Commit() error {
	t.b.mu.Lock()
	t.b.commits++
	t.b.mu.Unlock()
	return nil
}
func (t *fakeTx) Rollback() error { return sql.ErrTxDone }

// TestGroupCommitPanicsAndExits: a lone write whose transaction panics gets the panic
// back in its caller and the group commit goes on; so does a panic of the batch-size
// observer, which also leaves the lead free. A write function that ends its goroutine
// (runtime.Goexit) leaves the batch unfinished: its write is not reported committed,
// and every later write fails at once instead of waiting for a writer that may be lost.
func TestGroupCommitPanicsAndExits(t *testing.T) {
	b := &fakeBeginner{panicking: true}
	g := NewGroupCommit(b, Dialect{}, 8)
	defer g.Close()
	noop := func(licensing.Tx) error { return nil }
	recovered := func(name string, want any, fn func()) {
		t.Helper()
		defer func() {
			if p := recover(); p != want {
				t.Errorf("%s: panic %v, want %v", name, p, want)
			}
		}()
		fn()
	}
	recovered("lone write whose Begin panicked", "driver bug", func() { g.Write(context.Background(), noop) })
	b.mu.Lock()
	b.panicking = false
	b.mu.Unlock()
	g.ObserveBatches(func(int) { panic("observer bug") })
	recovered("lone write whose observer panicked", "observer bug", func() { g.Write(context.Background(), noop) })
	g.ObserveBatches(func(int) {})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Write(context.Background(), noop); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	b.mu.Lock()
	commits := b.commits
	b.mu.Unlock()
	if commits < 2 || commits > 21 {
		t.Errorf("%d commits for 21 writes", commits)
	}

	// The exiting write waits for two more to queue behind it: they fail too.
	exited := make(chan bool, 1)
	go func() {
		returned := false
		defer func() { exited <- returned }()
		g.Write(context.Background(), func(licensing.Tx) error { waitQueued(g, 2); runtime.Goexit(); return nil })
		returned = true
	}()
	behind := make(chan error, 2)
	for range 2 {
		go func() {
			for {
				g.mu.Lock()
				leading := g.leading
				g.mu.Unlock()
				if leading { // queue behind the exiting write, not before it
					break
				}
				time.Sleep(time.Millisecond)
			}
			behind <- g.Write(context.Background(), noop)
		}()
	}
	if <-exited {
		t.Fatal("Write returned from a write whose function ended its goroutine")
	}
	for range 2 {
		if err := <-behind; !errors.Is(err, errUnfinished) {
			t.Errorf("write queued behind an unfinished batch: %v, want errUnfinished", err)
		}
	}
	if err := g.Write(context.Background(), noop); !errors.Is(err, errUnfinished) {
		t.Fatalf("write after an unfinished batch: %v, want errUnfinished", err)
	}
}

// TestGroupCommitCloseWaitsForQueuedWrites: Close returns only once every write queued
// before it has its outcome.
func TestGroupCommitCloseWaitsForQueuedWrites(t *testing.T) {
	b := &fakeBeginner{}
	g := NewGroupCommit(b, Dialect{}, 2)
	release := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		g.Write(context.Background(), func(licensing.Tx) error { close(started); <-release; return nil })
	}()
	<-started
	var mu sync.Mutex
	finished := 0
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Write(context.Background(), func(licensing.Tx) error { return nil }); err == nil {
				mu.Lock()
				finished++
				mu.Unlock()
			}
		}()
	}
	waitQueued(g, 5)
	closed := make(chan struct{})
	go func() {
		g.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while a batch was running")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-closed
	b.mu.Lock()
	commits := b.commits
	b.mu.Unlock()
	if commits != 4 { // the held write, then 2 + 2 + 1
		t.Errorf("%d commits when Close returned, want 4", commits)
	}
	wg.Wait()
	if finished != 5 {
		t.Fatalf("%d of the 5 queued writes committed", finished)
	}
}

// waitQueued returns once n writes are queued behind the running batch.
func waitQueued(g *GroupCommit, n int) {
	for {
		g.mu.Lock()
		queued := len(g.pending)
		g.mu.Unlock()
		if queued >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
