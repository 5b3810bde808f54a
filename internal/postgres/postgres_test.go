package postgres_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/internal/postgres"
	"github.com/licensor/licensor/internal/sqlstore"
	"github.com/licensor/licensor/internal/storetest"
)

// TestStore runs the conformance suite on PostgreSQL when LICENSOR_TEST_POSTGRES names
// a server (each subtest gets a schema of its own), and skips it otherwise.
func TestStore(t *testing.T) {
	pgtest.URL(t) // skip or fail once, here, rather than in every subtest
	storetest.Run(t, open, storetest.WithReopen(openReopenable))
}

func open(t *testing.T) licensing.Store {
	st, _ := openReopenable(t)
	return st
}

func openReopenable(t *testing.T) (licensing.Store, func(context.Context) (licensing.Store, error)) {
	t.Helper()
	url := pgtest.URL(t)
	st, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st, func(ctx context.Context) (licensing.Store, error) {
		return postgres.Open(ctx, url)
	}
}

// TestWriteRunsADeadlockedTransactionAgain: two writes that lock the same two rows in
// opposite orders deadlock; PostgreSQL aborts one, and Write runs it again instead of
// failing, so both commit. A write that fails for any other reason runs once.
func TestWriteRunsADeadlockedTransactionAgain(t *testing.T) {
	st := open(t).(*postgres.Store)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE deadlock_probe (id int PRIMARY KEY, n int NOT NULL DEFAULT 0)`,
		`INSERT INTO deadlock_probe (id) VALUES (1), (2)`,
	} {
		if _, err := st.DB().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var retried []string
	st.ObserveWriteRetries(func(code string) { retried = append(retried, code) }) // one retry: no race
	var runs atomic.Int32
	var locked sync.WaitGroup // both hold their first row
	locked.Add(2)
	write := func(first, second int) error {
		var once sync.Once
		return st.Write(ctx, func(tx licensing.Tx) error {
			runs.Add(1)
			q := tx.(*sqlstore.Tx).Q
			_, err := q.ExecContext(ctx, `UPDATE deadlock_probe SET n = n + 1 WHERE id = $1`, first)
			once.Do(func() { // the first run only; one that failed does not wait for the other
				locked.Done()
				if err == nil {
					locked.Wait()
				}
			})
			if err != nil {
				return err
			}
			_, err = q.ExecContext(ctx, `UPDATE deadlock_probe SET n = n + 1 WHERE id = $1`, second)
			return err
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- write(1, 2) }()
	go func() { errs <- write(2, 1) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("write: %v", err)
		}
	}
	if n := runs.Load(); n != 3 {
		t.Errorf("fn ran %d times, want 3 (the deadlock's victim twice)", n)
	}
	if len(retried) != 1 || retried[0] != "40P01" {
		t.Errorf("retries observed %v, want [40P01]", retried)
	}
	var sum int
	if err := st.DB().QueryRowContext(ctx, `SELECT sum(n) FROM deadlock_probe`).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	if sum != 4 {
		t.Errorf("rows counted %d updates, want 4 (two writes of two rows; the aborted run left nothing)", sum)
	}

	// A write aborted every time is given up after four runs, with the server's error.
	runs.Store(0)
	retried = nil
	deadlock := &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
	if err := st.Write(ctx, func(licensing.Tx) error { runs.Add(1); return deadlock }); !errors.Is(err, deadlock) {
		t.Errorf("write deadlocked every time: %v, want the deadlock", err)
	}
	if n := runs.Load(); n != 4 || len(retried) != 3 {
		t.Errorf("a write deadlocked every time ran %d times with %d retries observed, want 4 and 3", n, len(retried))
	}
	// Nor is one run again once its request is gone.
	runs.Store(0)
	gone, cancel := context.WithCancel(ctx)
	if err := st.Write(gone, func(licensing.Tx) error { runs.Add(1); cancel(); return deadlock }); err == nil {
		t.Error("write whose context ended: no error")
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("a write whose context ended ran %d times, want 1", n)
	}

	runs.Store(0)
	failed := errors.New("refused")
	if err := st.Write(ctx, func(licensing.Tx) error { runs.Add(1); return failed }); !errors.Is(err, failed) {
		t.Errorf("failing write: %v, want %v", err, failed)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("a write failing for its own reasons ran %d times, want 1", n)
	}
}
