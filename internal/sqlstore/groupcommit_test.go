package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
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

// TestGroupCommitSurvivesAPanicBelowTheWrites: a panic outside the writes' functions
// fails the writes of its batch with an error (none waits for ever, none is reported
// committed), and the group commit goes on serving writes and closes.
func TestGroupCommitSurvivesAPanicBelowTheWrites(t *testing.T) {
	b := &fakeBeginner{panicking: true}
	g := NewGroupCommit(b, Dialect{}, 8)
	noop := func(licensing.Tx) error { return nil }
	// Alone, the write's transaction is its own: the panic comes back to its caller.
	// In a batch, every write of the batch fails with it as an error.
	func() {
		defer func() {
			if p := recover(); p != "driver bug" {
				t.Errorf("lone write whose Begin panicked: panic %v", p)
			}
		}()
		g.Write(context.Background(), noop)
	}()
	release := make(chan struct{})
	started := make(chan struct{})
	b.mu.Lock()
	b.panicking = false
	b.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // holds the lead while the others queue
		defer wg.Done()
		g.Write(context.Background(), func(licensing.Tx) error { close(started); <-release; return nil })
	}()
	<-started
	b.mu.Lock()
	b.panicking = true
	b.mu.Unlock()
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- g.Write(context.Background(), noop) }()
	}
	waitQueued(g, 3)
	close(release)
	for range 3 {
		if err := <-errs; err == nil || !strings.Contains(err.Error(), "driver bug") {
			t.Errorf("write in a batch whose Begin panicked: %v, want the panic as an error", err)
		}
	}
	wg.Wait()
	b.mu.Lock()
	b.panicking = false
	b.commits = 0
	b.mu.Unlock()
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
	if b.commits == 0 || b.commits > 20 {
		t.Errorf("%d commits for 20 writes", b.commits)
	}
	g.Close()
	if err := g.Write(context.Background(), noop); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after Close: %v", err)
	}
	g.Close() // twice is fine
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
