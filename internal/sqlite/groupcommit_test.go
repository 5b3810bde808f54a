package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/sqlite"
	"github.com/licensor/licensor/internal/sqlstore"
	"github.com/licensor/licensor/internal/storetest"
)

// TestStoreUnbatched runs the conformance suite with group commit off (every write in a
// transaction of its own), the mode max_batch=1 selects.
func TestStoreUnbatched(t *testing.T) {
	storetest.Run(t, func(t *testing.T) licensing.Store {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), sqlite.Options{MaxBatch: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}

// batchEnv is a store whose committer is held busy by a first write, so the writes
// submitted meanwhile queue up and commit as one batch when it is released.
type batchEnv struct {
	st      *sqlite.Store
	ctx     context.Context
	release chan struct{}
	sizes   chan int
	first   chan error
}

func newBatchEnv(t *testing.T) *batchEnv {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &batchEnv{st: st, ctx: context.Background(), release: make(chan struct{}), sizes: make(chan int, 100), first: make(chan error, 1)}
	st.ObserveWriteBatches(func(n int) { e.sizes <- n })
	started := make(chan struct{})
	go func() {
		e.first <- st.Write(e.ctx, func(tx licensing.Tx) error {
			close(started)
			<-e.release
			return nil
		})
	}()
	<-started
	return e
}

// company is a write that creates a company named name, failing with err if set.
func company(ctx context.Context, name string, err error) func(licensing.Tx) error {
	return func(tx licensing.Tx) error {
		c := licensing.Company{Name: name, CreatedAt: time.UnixMilli(0)}
		if e := tx.CreateCompany(ctx, &c); e != nil {
			return e
		}
		return err
	}
}

func companyNames(t *testing.T, st licensing.Store) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	err := st.Read(context.Background(), func(tx licensing.Tx) error {
		n, err := tx.CompanyCount(context.Background())
		for id := int64(1); err == nil && int64(len(names)) < n && id < 1000; id++ {
			c, e := tx.Company(context.Background(), id)
			if e == nil {
				names[c.Name] = true
			} else if !errors.Is(e, licensing.ErrNoRows) {
				return e
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestGroupCommitBatchesAndIsolatesFailures(t *testing.T) {
	e := newBatchEnv(t)
	boom := errors.New("boom")
	type outcome struct {
		name string
		err  error
		pan  any
	}
	cases := []struct {
		name  string
		err   error
		panic bool
	}{
		{"ok-1", nil, false}, {"fails", boom, false}, {"ok-2", nil, false}, {"panics", nil, true}, {"ok-3", nil, false},
	}
	out := make(chan outcome, len(cases))
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					out <- outcome{c.name, nil, p}
				}
			}()
			fn := company(e.ctx, c.name, c.err)
			if c.panic {
				inner := fn
				fn = func(tx licensing.Tx) error { inner(tx); panic("write panicked") }
			}
			out <- outcome{c.name, e.st.Write(e.ctx, fn), nil}
		}()
		time.Sleep(5 * time.Millisecond) // queue in order
	}
	close(e.release)
	wg.Wait()
	close(out)
	if err := <-e.first; err != nil {
		t.Fatalf("first write: %v", err)
	}
	got := map[string]outcome{}
	for o := range out {
		got[o.name] = o
	}
	for _, c := range cases {
		o := got[c.name]
		switch {
		case c.panic && o.pan != "write panicked":
			t.Errorf("%s: panic %v not re-raised in the caller", c.name, o.pan)
		case c.err != nil && !errors.Is(o.err, c.err):
			t.Errorf("%s: error %v, want %v", c.name, o.err, c.err)
		case c.err == nil && !c.panic && o.err != nil:
			t.Errorf("%s: %v", c.name, o.err)
		}
	}
	names := companyNames(t, e.st)
	for _, c := range cases {
		want := c.err == nil && !c.panic
		if names[c.name] != want {
			t.Errorf("company %q stored = %v, want %v (only the failed writes roll back)", c.name, names[c.name], want)
		}
	}
	// The held first write committed alone, then the five queued ones as one batch.
	if a, b := <-e.sizes, <-e.sizes; a != 1 || b != len(cases) {
		t.Errorf("batch sizes %d, %d; want 1, %d", a, b, len(cases))
	}
}

func TestGroupCommitSkipsCancelledWrites(t *testing.T) {
	e := newBatchEnv(t)
	ctx, cancel := context.WithCancel(e.ctx)
	errc := make(chan error, 1)
	go func() { errc <- e.st.Write(ctx, company(ctx, "cancelled", nil)) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	close(e.release)
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled write: %v", err)
	}
	if names := companyNames(t, e.st); names["cancelled"] {
		t.Fatal("a write cancelled before its turn was committed")
	}
}

func TestGroupCommitConcurrent(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	batches, total := 0, 0
	st.ObserveWriteBatches(func(n int) { mu.Lock(); batches++; total += n; mu.Unlock() })
	const n = 400
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := st.Write(context.Background(), company(context.Background(), fmt.Sprint("c", i), nil)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := len(companyNames(t, st)); got != n {
		t.Fatalf("%d companies stored, want %d", got, n)
	}
	if total != n {
		t.Fatalf("batches covered %d writes, want %d", total, n)
	}
	t.Logf("%d writes in %d batches", n, batches)
	st.Close()
	if err := st.Write(context.Background(), company(context.Background(), "late", nil)); !errors.Is(err, sqlstore.ErrClosed) {
		t.Fatalf("write after Close: %v", err)
	}
}

// TestGroupCommitCancelledWriteFailsAlone: a write whose request is cancelled while its
// statement runs fails on its own; SQLite must not get to interrupt the statement,
// which would roll back the whole batch with the other writes in it.
func TestGroupCommitCancelledWriteFailsAlone(t *testing.T) {
	e := newBatchEnv(t)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	// An UPDATE that takes a while: its WHERE counts a long recursive sequence.
	const slow = `UPDATE companies SET name = name WHERE (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT count(*) FROM c) > 0`
	results := make(map[string]chan error)
	submit := func(name string, fn func(licensing.Tx) error, c context.Context) {
		ch := make(chan error, 1)
		results[name] = ch
		go func() { ch <- e.st.Write(c, fn) }()
		time.Sleep(10 * time.Millisecond)
	}
	submit("before", company(e.ctx, "before", nil), e.ctx)
	submit("slow", func(tx licensing.Tx) error {
		c := licensing.Company{Name: "slow", CreatedAt: time.UnixMilli(0)}
		if err := tx.CreateCompany(ctx, &c); err != nil {
			return err
		}
		go func() { time.Sleep(30 * time.Millisecond); cancel() }()
		if _, err := tx.(*sqlstore.Tx).Q.ExecContext(ctx, slow); err != nil {
			return err
		}
		// The statement finished (not interrupted); the next one sees the cancellation.
		c2 := licensing.Company{Name: "slow-2", CreatedAt: time.UnixMilli(0)}
		return tx.CreateCompany(ctx, &c2)
	}, ctx)
	submit("after", company(e.ctx, "after", nil), e.ctx)
	close(e.release)
	for _, name := range []string{"before", "after"} {
		if err := <-results[name]; err != nil {
			t.Errorf("%s: %v (a cancelled batch-mate failed it)", name, err)
		}
	}
	if err := <-results["slow"]; !errors.Is(err, context.Canceled) {
		t.Errorf("slow: %v, want context.Canceled", err)
	}
	names := companyNames(t, e.st)
	if !names["before"] || !names["after"] || names["slow"] || names["slow-2"] {
		t.Errorf("stored %v; want before and after only", names)
	}
}
