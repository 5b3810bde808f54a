package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

var migrationTests = []struct {
	name string
	fn   func(t *testing.T, reopen Reopenable)
}{
	{"ReopenAppliesNothing", testReopen},
	{"ConcurrentOpens", testConcurrentOpens},
	{"NewerSchemaRefused", testNewerSchema},
}

// migrations returns schema_migrations as "version name" lines.
func migrations(t *testing.T, st licensing.Store) []string {
	t.Helper()
	d, ok := st.(dber)
	if !ok {
		t.Skipf("%T has no DB() *sql.DB", st)
	}
	rows, err := d.DB().QueryContext(context.Background(), `SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %s", v, name))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("a migrated store has no schema_migrations rows")
	}
	return out
}

func mustReopen(t *testing.T, again func(context.Context) (licensing.Store, error)) licensing.Store {
	t.Helper()
	st, err := again(context.Background())
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func testReopen(t *testing.T, reopen Reopenable) {
	ctx := context.Background()
	first, again := reopen(t)
	before := migrations(t, first)
	c := licensing.Company{Name: "kept", CreatedAt: at(1)}
	if err := first.Write(ctx, func(tx licensing.Tx) error { return tx.CreateCompany(ctx, &c) }); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		st := mustReopen(t, again)
		equal(t, "schema_migrations after reopening", migrations(t, st), before)
		var got licensing.Company
		if err := st.Read(ctx, func(tx licensing.Tx) (err error) { got, err = tx.Company(ctx, c.ID); return err }); err != nil {
			t.Fatalf("reopen %d: read: %v", i, err)
		}
		equal(t, "company written before reopening", got, c)
		if err := st.Write(ctx, func(tx licensing.Tx) error {
			return tx.CreateCompany(ctx, &licensing.Company{Name: "after", CreatedAt: at(2)})
		}); err != nil {
			t.Fatalf("reopen %d: write: %v", i, err)
		}
	}
}

// testConcurrentOpens: instances starting together on one database all come up.
func testConcurrentOpens(t *testing.T, reopen Reopenable) {
	first, again := reopen(t)
	before := migrations(t, first)
	var wg sync.WaitGroup
	stores := make([]licensing.Store, 4)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = again(context.Background()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
			continue
		}
		stores[i].Close()
	}
	equal(t, "schema_migrations after concurrent opens", migrations(t, first), before)
}

// testNewerSchema: a binary refuses a database migrated by a newer one.
func testNewerSchema(t *testing.T, reopen Reopenable) {
	first, again := reopen(t)
	d, ok := first.(dber)
	if !ok {
		t.Skipf("%T has no DB() *sql.DB", first)
	}
	if _, err := d.DB().ExecContext(context.Background(), `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, 9999, "9999_future.sql"); err != nil {
		t.Fatalf("insert future migration: %v", err)
	}
	st, err := again(context.Background())
	if err == nil {
		st.Close()
		t.Fatalf("Open accepted a database at schema version 9999")
	}
	if !strings.Contains(err.Error(), "9999") {
		t.Errorf("Open error %q does not name the database's version 9999", err)
	}
}
