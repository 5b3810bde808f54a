package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/ncruces/go-sqlite3"

	"github.com/licensor/licensor/internal/sqlstore"
)

// nativeRows runs the one-row queries of one-statement reads (Store.ReadSingle: the
// License API's check, track and get-variables reads, the API-key lookups) on reader
// connections of its own, through the SQLite package's own statements rather than
// database/sql and its driver. For every execution the driver looks up each column's
// declared type, names and converts every value (looking for timestamps in text), and
// database/sql converts them again: a check's read cost twice what SQLite itself
// spent on it. Here a row is read in one call (Stmt.ColumnsRaw) and each value goes
// straight into its destination.
//
// Each connection keeps its statements prepared. Only fixed query texts come here (as
// for sqlstore.DB's statement cache).
type nativeRows struct {
	idle chan *nativeConn
	all  []*nativeConn
}

type nativeConn struct {
	c     *sqlite3.Conn
	stmts map[string]*sqlite3.Stmt
	raw   []any // a row's values, reused
}

// openNativeRows opens n reader connections with dsn (a file: URI with _pragma
// parameters), each set up by setup.
func openNativeRows(dsn string, n int, setup func(*sqlite3.Conn) error) (*nativeRows, error) {
	r := &nativeRows{idle: make(chan *nativeConn, n)}
	for range n {
		c, err := sqlite3.OpenFlags(dsn, sqlite3.OPEN_READWRITE|sqlite3.OPEN_URI)
		if err == nil {
			if err = setup(c); err != nil {
				c.Close()
			}
		}
		if err != nil {
			r.Close()
			return nil, err
		}
		nc := &nativeConn{c: c, stmts: map[string]*sqlite3.Stmt{}}
		r.all = append(r.all, nc)
		r.idle <- nc
	}
	return r, nil
}

// Close closes every connection; none may be in use.
func (r *nativeRows) Close() error {
	var errs []error
	for _, nc := range r.all {
		for _, s := range nc.stmts {
			errs = append(errs, s.Close())
		}
		errs = append(errs, nc.c.Close())
	}
	r.all = nil
	return errors.Join(errs...)
}

// QueryRowContext returns the query's first row; like database/sql's, it runs when
// the row is scanned.
func (r *nativeRows) QueryRowContext(ctx context.Context, query string, args ...any) sqlstore.Row {
	return rowFunc(func(dest ...any) error { return r.queryRow(ctx, query, args, dest) })
}

// rowFunc is a sqlstore.Row.
type rowFunc func(dest ...any) error

func (f rowFunc) Scan(dest ...any) error { return f(dest...) }

func (r *nativeRows) queryRow(ctx context.Context, query string, args, dest []any) (err error) {
	var nc *nativeConn
	select {
	case nc = <-r.idle:
	default:
		select {
		case nc = <-r.idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() { r.idle <- nc }()
	s, err := nc.stmt(query)
	if err != nil {
		return err
	}
	if err := bind(s, args); err != nil {
		return err
	}
	nc.c.SetInterrupt(ctx)
	defer func() {
		nc.c.SetInterrupt(context.Background())
		if rerr := s.Reset(); err == nil && rerr != nil {
			err = rerr
		}
		if err != nil && ctx.Err() != nil {
			err = ctx.Err()
		}
	}()
	if !s.Step() {
		if err := s.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	n := s.ColumnCount()
	if len(dest) != n {
		return fmt.Errorf("sqlite: %d destinations for %d columns", len(dest), n)
	}
	if cap(nc.raw) < n {
		nc.raw = make([]any, n)
	}
	raw := nc.raw[:n]
	defer clear(raw)
	if err := s.ColumnsRaw(raw...); err != nil {
		return err
	}
	for i, v := range raw {
		if err := assign(dest[i], v); err != nil {
			return fmt.Errorf("sqlite: column %d (%s): %w", i, s.ColumnName(i), err)
		}
	}
	return nil
}

// stmt returns the connection's prepared statement for query.
func (nc *nativeConn) stmt(query string) (*sqlite3.Stmt, error) {
	if s, ok := nc.stmts[query]; ok {
		return s, nil
	}
	s, tail, err := nc.c.Prepare(query)
	if err != nil {
		return nil, err
	}
	if tail != "" || s == nil {
		if s != nil {
			s.Close()
		}
		return nil, fmt.Errorf("sqlite: not one statement: %q", query)
	}
	nc.stmts[query] = s
	return s, nil
}

// bind binds args to s's parameters $1…$n in order; as database/sql does, it refuses
// a count that does not match.
func bind(s *sqlite3.Stmt, args []any) error {
	if n := s.BindCount(); n != len(args) {
		return fmt.Errorf("sqlite: %d arguments for %d parameters", len(args), n)
	}
	for i, a := range args {
		var err error
		switch v := a.(type) {
		case nil:
			err = s.BindNull(i + 1)
		case int64:
			err = s.BindInt64(i+1, v)
		case int:
			err = s.BindInt64(i+1, int64(v))
		case bool:
			err = s.BindBool(i+1, v)
		case string:
			err = s.BindText(i+1, v)
		case []byte:
			err = s.BindBlob(i+1, v)
		case float64:
			err = s.BindFloat(i+1, v)
		default:
			err = fmt.Errorf("sqlite: argument %d: unsupported type %T", i+1, a)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// assign stores v, a value of Stmt.ColumnsRaw (int64, float64, nil, or []byte that
// SQLite owns), in dest, with database/sql's conversions for the destinations this
// project scans into. Any other destination is an error, not a guess.
func assign(dest, v any) error {
	switch d := dest.(type) {
	case *int64:
		n, err := asInt(v)
		*d = n
		return err
	case *int:
		n, err := asInt(v)
		*d = int(n)
		return err
	case *bool:
		b, err := asBool(v)
		*d = b
		return err
	case *string:
		if v == nil {
			return errors.New("converting NULL to string is unsupported")
		}
		*d = asString(v)
	case *[]byte:
		if b, ok := v.([]byte); ok {
			*d = append([]byte{}, b...)
		} else if v == nil {
			*d = nil
		} else {
			*d = []byte(asString(v))
		}
	case *sql.NullInt64:
		if d.Valid = v != nil; d.Valid {
			var err error
			d.Int64, err = asInt(v)
			return err
		}
		d.Int64 = 0
	case *sql.NullBool:
		if d.Valid = v != nil; d.Valid {
			var err error
			d.Bool, err = asBool(v)
			return err
		}
		d.Bool = false
	case *sql.NullString:
		if d.Valid = v != nil; d.Valid {
			d.String = asString(v)
		} else {
			d.String = ""
		}
	default:
		return fmt.Errorf("unsupported destination %T", dest)
	}
	return nil
}

// asInt is an integer column's value (SQLite stores this project's booleans and
// timestamps as integers); as database/sql does, text and floats convert when they
// spell an integer.
func asInt(v any) (int64, error) {
	switch v := v.(type) {
	case int64:
		return v, nil
	case nil:
		return 0, errors.New("converting NULL to an integer is unsupported")
	}
	return strconv.ParseInt(asString(v), 10, 64)
}

// asBool is a boolean column's value: 1 or 0, as the driver stores them, or text
// that strconv.ParseBool accepts (database/sql's rule).
func asBool(v any) (bool, error) {
	switch v := v.(type) {
	case int64:
		if v != 0 && v != 1 {
			return false, fmt.Errorf("converting %d to a boolean is unsupported", v)
		}
		return v == 1, nil
	case []byte:
		return strconv.ParseBool(string(v))
	}
	return false, fmt.Errorf("converting %T to a boolean is unsupported", v)
}

func asString(v any) string {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return ""
}
