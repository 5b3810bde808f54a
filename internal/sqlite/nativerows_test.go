package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestNativeRowsMatchDatabaseSQL: every one-row query reads the same values through
// the native statements as through database/sql, into each kind of destination this
// project scans into, and fails where database/sql fails.
func TestNativeRowsMatchDatabaseSQL(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "n.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
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
				wantErr := st.r.QueryRowContext(ctx, q, r.id).Scan(want, wantID)
				got, gotID := mk(), new(int64)
				gotErr := st.rows.QueryRowContext(ctx, q, r.id).Scan(got, gotID)
				if (gotErr == nil) != (wantErr == nil) {
					t.Errorf("%s of row %d into %s: native error %v, database/sql %v", col, r.id, name, gotErr, wantErr)
					continue
				}
				if wantErr == nil && (!reflect.DeepEqual(got, want) || *gotID != *wantID) {
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
		{name: "a write", query: `INSERT INTO t (id) VALUES (7) RETURNING id`, dest: []any{new(int64)}},
		{name: "cancelled", query: `SELECT id FROM t WHERE id = $1`, args: []any{int64(1)}, dest: []any{new(int64)}, is: context.Canceled,
			ctx: func() context.Context { c, cancel := context.WithCancel(ctx); cancel(); return c }},
	}
	for _, c := range errCases {
		cx := ctx
		if c.ctx != nil {
			cx = c.ctx()
		}
		err := st.rows.QueryRowContext(cx, c.query, c.args...).Scan(c.dest...)
		if err == nil || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%s: got %v, want an error (%v)", c.name, err, c.is)
		}
	}
	var n int64
	if err := st.rows.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != int64(len(rows)) {
		t.Errorf("after the errors: %d rows, %v; want %d (nothing written, every connection back)", n, err, len(rows))
	}
	if len(st.rows.idle) != cap(st.rows.idle) {
		t.Errorf("%d of %d connections idle after the queries", len(st.rows.idle), cap(st.rows.idle))
	}
}

// TestNativeRowsWaitForAConnection: with every connection busy, a query waits for one
// and gives up when its context ends.
func TestNativeRowsWaitForAConnection(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "n.db"), Options{Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	nc := <-st.rows.idle
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	var one int64
	if err := st.rows.QueryRowContext(short, `SELECT 1`).Scan(&one); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with no connection free: %v, want the deadline", err)
	}
	go func() { time.Sleep(20 * time.Millisecond); st.rows.idle <- nc }()
	if err := st.rows.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil || one != 1 {
		t.Fatalf("after the connection came back: %d, %v", one, err)
	}
}
