package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"
)

// TestNativeRowMatchesDatabaseSQL: every one-row query reads the same values through
// the native statements as through database/sql, into each kind of destination this
// project scans into, and fails where database/sql fails.
func TestNativeRowMatchesDatabaseSQL(t *testing.T) {
	ctx := context.Background()
	st := openNative(t, Options{})
	if _, err := st.w.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, s TEXT, b BLOB, f REAL)`); err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		id   int64
		i, s any
		b    any
		f    any
	}{
		{1, int64(42), "forty-two", []byte{0, 1, 2, 255}, 1.5},
		{2, nil, nil, nil, nil},
		{3, int64(1), "12", []byte{}, 0.0},
		{4, int64(0), "é\"\\\u0000\U0001F600", []byte("x"), -2.25e10},
		{5, int64(2), "", nil, nil},
		{6, int64(-9223372036854775808), "true", nil, nil},
	}
	for _, r := range rows {
		if _, err := st.w.ExecContext(ctx, `INSERT INTO t VALUES ($1, $2, $3, $4, $5)`, r.id, r.i, r.s, r.b, r.f); err != nil {
			t.Fatal(err)
		}
	}
	dests := map[string]func() any{
		"int64":      func() any { return new(int64) },
		"int":        func() any { return new(int) },
		"bool":       func() any { return new(bool) },
		"string":     func() any { return new(string) },
		"[]byte":     func() any { return new([]byte) },
		"NullInt64":  func() any { return new(sql.NullInt64) },
		"NullBool":   func() any { return new(sql.NullBool) },
		"NullString": func() any { return new(sql.NullString) },
	}
	for _, col := range []string{"i", "s", "b", "f", "i + 0", "(SELECT max(i) FROM t)", "json_array(i, s)"} {
		for _, r := range rows {
			for name, mk := range dests {
				q := `SELECT ` + col + `, id FROM t WHERE id = $1`
				want, wantID := mk(), new(int64)
				wantErr := st.w.QueryRowContext(ctx, q, r.id).Scan(want, wantID)
				got, gotID := mk(), new(int64)
				gotErr := st.readers.single().QueryRowContext(ctx, q, r.id).Scan(got, gotID)
				if (gotErr == nil) != (wantErr == nil) {
					t.Errorf("%s of row %d into %s: native error %v, database/sql %v", col, r.id, name, gotErr, wantErr)
					continue
				}
				if wantErr == nil && (!sameScan(got, want) || *gotID != *wantID) {
					t.Errorf("%s of row %d into %s: native %#v, database/sql %#v", col, r.id, name, got, want)
				}
			}
		}
	}

	errCases := []struct {
		name  string
		query string
		args  []any
		dest  []any
		ctx   func() context.Context
		is    error
	}{
		{name: "no row", query: `SELECT id FROM t WHERE id = $1`, args: []any{int64(99)}, dest: []any{new(int64)}, is: sql.ErrNoRows},
		{name: "too few arguments", query: `SELECT id FROM t WHERE id = $1 AND i = $2`, args: []any{int64(1)}, dest: []any{new(int64)}},
		{name: "too many arguments", query: `SELECT id FROM t WHERE id = $1`, args: []any{int64(1), int64(2)}, dest: []any{new(int64)}},
		{name: "too few destinations", query: `SELECT id, i FROM t WHERE id = $1`, args: []any{int64(1)}, dest: []any{new(int64)}},
		{name: "unsupported destination", query: `SELECT i FROM t WHERE id = $1`, args: []any{int64(1)}, dest: []any{new(time.Time)}},
		{name: "unsupported argument", query: `SELECT i FROM t WHERE id = $1`, args: []any{time.Now()}, dest: []any{new(int64)}},
		{name: "syntax error", query: `SELEC i FROM t`, dest: []any{new(int64)}},
		{name: "two statements", query: `SELECT 1; SELECT 2`, dest: []any{new(int64)}},
		{name: "a write on a reader", query: `INSERT INTO t (id) VALUES (7) RETURNING id`, dest: []any{new(int64)}},
		{name: "cancelled", query: `SELECT id FROM t WHERE id = $1`, args: []any{int64(1)}, dest: []any{new(int64)}, is: context.Canceled,
			ctx: func() context.Context { c, cancel := context.WithCancel(ctx); cancel(); return c }},
	}
	for _, c := range errCases {
		cx := ctx
		if c.ctx != nil {
			cx = c.ctx()
		}
		err := st.readers.single().QueryRowContext(cx, c.query, c.args...).Scan(c.dest...)
		if err == nil || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%s: got %v, want an error (%v)", c.name, err, c.is)
		}
	}
	var n int64
	if err := st.readers.single().QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != int64(len(rows)) {
		t.Errorf("after the errors: %d rows, %v; want %d (nothing written, every connection back)", n, err, len(rows))
	}
	if len(st.readers.idle) != cap(st.readers.idle) {
		t.Errorf("%d of %d connections idle after the queries", len(st.readers.idle), cap(st.readers.idle))
	}
}

// TestNativePoolWaitsForAConnection: with every connection busy, a query waits for one
// and gives up when its context ends.
func TestNativePoolWaitsForAConnection(t *testing.T) {
	ctx := context.Background()
	st := openNative(t, Options{Readers: 1})
	nc := <-st.readers.idle
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	var one int64
	if err := st.readers.single().QueryRowContext(short, `SELECT 1`).Scan(&one); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with no connection free: %v, want the deadline", err)
	}
	go func() { time.Sleep(20 * time.Millisecond); st.readers.idle <- nc }()
	if err := st.readers.single().QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil || one != 1 {
		t.Fatalf("after the connection came back: %d, %v", one, err)
	}
}

// TestNativeTransactions: the writer's transactions commit and roll back, Exec reports
// what it changed, rows read in order (with the same query run again inside the
// loop), and a connection goes back to its pool however its user ended.
func TestNativeTransactions(t *testing.T) {
	ctx := context.Background()
	st := openNative(t, Options{Readers: 2})
	if _, err := st.w.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	count := func() (n int64) {
		t.Helper()
		if err := st.readers.single().QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	tx, err := st.writer.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []string{"a", "b", "c"} {
		res, err := tx.ExecContext(ctx, `INSERT INTO t (v) VALUES ($1)`, v)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := res.LastInsertId()
		n, _ := res.RowsAffected()
		if id != int64(i+1) || n != 1 {
			t.Errorf("insert %q: id %d, %d rows; want %d, 1", v, id, n, i+1)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO t (v) VALUES ($1)`, "a"); err == nil || !dialect.IsDuplicate(err) {
		t.Errorf("a duplicate: %v, want a unique-constraint error", err)
	}
	if n := count(); n != 0 {
		t.Errorf("a reader sees %d rows before the commit", n)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		t.Errorf("rollback after commit: %v", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM t`); !errors.Is(err, sql.ErrTxDone) {
		t.Errorf("a statement after the commit: %v, want ErrTxDone", err)
	}
	if n := count(); n != 3 {
		t.Errorf("after the commit a reader sees %d rows, want 3", n)
	}

	tx, err = st.writer.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tx.ExecContext(ctx, `UPDATE t SET v = v || '!'`)
	if n, _ := res.RowsAffected(); err != nil || n != 3 {
		t.Errorf("update: %d rows, %v", n, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	rtx, err := st.readers.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := rtx.QueryContext(ctx, `SELECT id, v FROM t WHERE id > $1 ORDER BY id`, int64(0))
	if err != nil {
		t.Fatal(err)
	}
	// The same text again before the first rows are read: a statement of its own, so
	// the first rows keep their argument.
	again, err := rtx.QueryContext(ctx, `SELECT id, v FROM t WHERE id > $1 ORDER BY id`, int64(2))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Next() {
		t.Fatal("no row for id > 2")
	}
	again.Close()
	var got []string
	for rows.Next() {
		var id int64
		var v string
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		var inner int64
		if err := rtx.QueryRowContext(ctx, `SELECT count(*) FROM t WHERE id > $1`, id).Scan(&inner); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d%s%d", id, v, inner))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if want := "1a2 2b1 3c0"; strings.Join(got, " ") != want {
		t.Errorf("rows %q, want %q (the update rolled back)", strings.Join(got, " "), want)
	}
	if _, err := rtx.ExecContext(ctx, `DELETE FROM t`); err == nil {
		t.Error("a reader's transaction deleted")
	}
	if err := rtx.Commit(); err != nil {
		t.Fatal(err)
	}

	// Rows closed early, and a transaction its user abandoned, give their connection back.
	for range 3 {
		rows, err := st.readers.single().QueryContext(ctx, `SELECT id FROM t ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		rows.Next()
		rows.Close()
	}
	if len(st.readers.idle) != 2 || len(st.writer.idle) != 1 {
		t.Errorf("idle connections: %d readers, %d writer; want 2, 1", len(st.readers.idle), len(st.writer.idle))
	}
	cctx, cancel := context.WithCancel(ctx)
	rtx, err = st.readers.Begin(cctx, true)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	var n int64
	if err := rtx.QueryRowContext(cctx, `SELECT count(*) FROM t`).Scan(&n); !errors.Is(err, context.Canceled) {
		t.Errorf("a statement after its context ended: %v", err)
	}
	rtx.Rollback()
	if len(st.readers.idle) != 2 {
		t.Errorf("%d readers idle after a cancelled transaction, want 2", len(st.readers.idle))
	}
}

// TestNativeConnectionSettings: the native connections run with the settings the
// database/sql ones had: foreign keys, the busy timeout, the durability mode, stable
// plans, and readers that cannot write.
func TestNativeConnectionSettings(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []string{SyncNormal, SyncFull} {
		st := openNative(t, Options{Synchronous: mode})
		sync := map[string]int64{SyncNormal: 1, SyncFull: 2}[mode]
		for _, c := range []struct {
			pool   *nativePool
			pragma string
			want   int64
		}{
			{st.writer, "foreign_keys", 1}, {st.writer, "busy_timeout", 10000}, {st.writer, "synchronous", sync}, {st.writer, "query_only", 0},
			{st.readers, "foreign_keys", 1}, {st.readers, "busy_timeout", 10000}, {st.readers, "synchronous", sync}, {st.readers, "query_only", 1},
		} {
			var all []*nativeConn // every connection of the pool
			for range cap(c.pool.idle) {
				all = append(all, <-c.pool.idle)
			}
			for _, nc := range all {
				var got int64
				if err := nc.queryRow(ctx, `PRAGMA `+c.pragma, nil, []any{&got}); err != nil || got != c.want {
					t.Errorf("%s: PRAGMA %s = %d, %v; want %d", mode, c.pragma, got, err, c.want)
				}
				if on, err := nc.c.Config(sqlite3.DBCONFIG_ENABLE_QPSG); err != nil || !on {
					t.Errorf("%s: stable plans %v, %v", mode, on, err)
				}
				c.pool.idle <- nc
			}
		}
		var journal string
		if err := st.readers.single().QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&journal); err != nil || journal != "wal" {
			t.Errorf("journal_mode %q, %v", journal, err)
		}
	}
}

// TestNativeStatementCacheIsBounded: a connection keeps at most maxStmts statements
// prepared, evicting one for each new text past the bound.
func TestNativeStatementCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	st := openNative(t, Options{Readers: 1})
	for i := range maxStmts + 50 {
		var got int64
		if err := st.readers.single().QueryRowContext(ctx, fmt.Sprintf("SELECT %d + $1\n", i), int64(1)).Scan(&got); err != nil || got != int64(i+1) {
			t.Fatalf("query %d: %d, %v", i, got, err)
		}
	}
	nc := <-st.readers.idle
	defer func() { st.readers.idle <- nc }()
	if len(nc.stmts) != maxStmts {
		t.Errorf("%d statements kept, want %d", len(nc.stmts), maxStmts)
	}
	if _, ok := nc.stmts[fmt.Sprintf("SELECT %d + $1\n", maxStmts+49)]; !ok {
		t.Error("the newest statement was not kept")
	}
}

// TestNativeEndings: rows left open when their transaction ends are closed with it
// and their connection is whole again; statements after SQLite ended a transaction on
// its own are refused rather than run outside it; a closed pool refuses new work and
// closes what comes back to it.
func TestNativeEndings(t *testing.T) {
	ctx := context.Background()
	st := openNative(t, Options{Readers: 1})
	if _, err := st.w.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.w.ExecContext(ctx, `INSERT INTO t VALUES (1), (2), (3)`); err != nil {
		t.Fatal(err)
	}

	rtx, err := st.readers.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := rtx.QueryContext(ctx, `SELECT id FROM t ORDER BY id`)
	if err != nil || !rows.Next() {
		t.Fatalf("rows: %v", err)
	}
	if err := rtx.Commit(); err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("rows still read after their transaction ended")
	}
	var n int64
	if err := st.readers.single().QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 3 {
		t.Errorf("the connection after: %d, %v", n, err)
	}
	rows, err = st.readers.single().QueryContext(ctx, `SELECT id FROM t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	wtx, err := st.writer.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wtx.ExecContext(ctx, `INSERT INTO t VALUES (4)`); err != nil {
		t.Fatal(err)
	}
	if _, err := wtx.ExecContext(ctx, `ROLLBACK`); err != nil { // as SQLite does on a full disk
		t.Fatal(err)
	}
	if _, err := wtx.ExecContext(ctx, `INSERT INTO t VALUES (5)`); !errors.Is(err, errRolledBack) {
		t.Errorf("a statement after the rollback: %v, want errRolledBack", err)
	}
	if err := wtx.Commit(); !errors.Is(err, errRolledBack) {
		t.Errorf("commit after the rollback: %v, want errRolledBack", err)
	}
	if err := st.readers.single().QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 3 {
		t.Errorf("after the rolled-back transaction: %d rows, %v; want 3", n, err)
	}

	held := <-st.writer.idle
	if err := st.writer.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.writer.Begin(ctx, false); !errors.Is(err, errPoolClosed) {
		t.Errorf("Begin on a closed pool: %v", err)
	}
	st.writer.release(held) // closes it
	if len(st.writer.idle) != 0 {
		t.Error("a connection released after Close went back to the pool")
	}
}

// openNative opens a store on a new file, closed when the test ends.
func openNative(t *testing.T, o Options) *Store {
	t.Helper()
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "n.db"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// Kept snapshots stay while a test runs: no sweep takes a connection from the
	// pool under a test that counts them.
	st.readers.snap.maxAge = time.Hour
	return st
}

// sameScan compares two scanned destinations; an empty []byte equals nil (database/sql
// gives one or the other, depending on the Go release and its driver interface).
func sameScan(a, b any) bool {
	if x, ok := a.(*[]byte); ok {
		if y, ok := b.(*[]byte); ok && len(*x) == 0 && len(*y) == 0 {
			return true
		}
	}
	return reflect.DeepEqual(a, b)
}
