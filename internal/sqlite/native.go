package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/licensor/licensor/internal/sqlstore"
)

// native runs SQL through the SQLite package's own connections and statements rather
// than database/sql and its driver. For every execution the driver looks up each
// column's declared type, names and converts every value (looking for timestamps in
// text), and database/sql converts them again: a check's read cost twice what SQLite
// itself spent on it. Here a row is read in one call (Stmt.ColumnsRaw) and each value
// goes straight into its destination (assign, with database/sql's conversions).
//
// A nativePool is a set of connections: the readers, or the one writer. Each
// connection keeps the statements it ran prepared (parsing SQL was a quarter of the
// server's CPU before statements were cached), up to maxStmts: sqlstore's texts are
// fixed but for the list filters' few combinations and the row counts of its multi-row
// upserts (100 each by default, more where an operator raises the variables limits);
// past the bound a statement is evicted for the new one.
type nativePool struct {
	idle       chan *nativeConn
	begin      string // BEGIN or BEGIN IMMEDIATE
	open       func() (*nativeConn, error)
	autocommit querier // fresh; single where snap is nil
	snap       *snapshots
	sticky     querier // single, in a kept snapshot (snap != nil)

	mu      sync.Mutex // guards closed against release
	closed  bool
	closing chan struct{} // closed by Close, wakes acquire
}

type nativeConn struct {
	c     *sqlite3.Conn
	stmts map[string]*sqlite3.Stmt
	raw   []any                    // a row's values, reused
	rows  map[*nativeRows]struct{} // rows not yet closed
	// A kept read transaction (snapshots): open since snapAt, when the process had
	// made snapCommits commits; failed when a statement in it failed.
	snap        bool
	snapCommits uint64
	snapAt      time.Time
	failed      bool
}

// errPoolClosed is returned once the store is closed.
var errPoolClosed = errors.New("sqlite: store is closed")

// openNativePool opens n connections with dsn (a file: URI with _pragma parameters),
// each set up by setup; its transactions start with begin.
func openNativePool(dsn string, n int, begin string, setup func(*sqlite3.Conn) error) (*nativePool, error) {
	p := &nativePool{idle: make(chan *nativeConn, n), begin: begin, closing: make(chan struct{})}
	p.autocommit = querier{acquire: p.acquireOwn, release: p.release}
	p.open = func() (*nativeConn, error) {
		c, err := sqlite3.OpenFlags(dsn, sqlite3.OPEN_READWRITE|sqlite3.OPEN_URI)
		if err != nil {
			return nil, err
		}
		if err := setup(c); err != nil {
			c.Close()
			return nil, err
		}
		return &nativeConn{c: c, stmts: map[string]*sqlite3.Stmt{}, rows: map[*nativeRows]struct{}{}}, nil
	}
	for range n {
		nc, err := p.open()
		if err != nil {
			p.Close()
			return nil, err
		}
		p.idle <- nc
	}
	return p, nil
}

// Close closes the idle connections at once and the others as they come back; the
// pool then refuses every new use.
func (p *nativePool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	close(p.closing)
	var errs []error
	for {
		select {
		case nc := <-p.idle:
			errs = append(errs, nc.close())
		default:
			return errors.Join(errs...)
		}
	}
}

func (nc *nativeConn) close() error {
	var errs []error
	for _, s := range nc.stmts {
		errs = append(errs, s.Close())
	}
	return errors.Join(append(errs, nc.c.Close())...)
}

func (p *nativePool) acquire(ctx context.Context) (*nativeConn, error) {
	select {
	case nc := <-p.idle:
		return nc, nil
	default:
	}
	select {
	case nc := <-p.idle:
		return nc, nil
	case <-p.closing:
		return nil, errPoolClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release returns nc to the pool once its user is done with it: rows still open are
// closed, a transaction still open is rolled back. A connection that cannot leave its
// transaction is replaced by a new one.
func (p *nativePool) release(nc *nativeConn) {
	for r := range nc.rows {
		r.release = nil // the connection is being released here
		r.Close()
	}
	nc.c.SetInterrupt(context.Background())
	kept := p.snap != nil && p.keeps(nc)
	nc.failed = false
	if !kept && !nc.c.GetAutocommit() {
		if err := nc.c.Exec(`ROLLBACK`); err != nil || !nc.c.GetAutocommit() {
			if fresh, err := p.open(); err == nil {
				nc.close()
				nc = fresh
			}
		}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		nc.close()
		return
	}
	p.idle <- nc
	p.mu.Unlock()
	if kept {
		p.armSweep()
	}
}

// single is a Querier whose every statement runs on its own on a connection of the
// pool taken for that statement (for rows, until they are closed): in a kept snapshot
// where the pool keeps them (snapshots), else in autocommit mode.
func (p *nativePool) single() sqlstore.Querier {
	if p.snap != nil {
		return p.sticky
	}
	return p.autocommit
}

// pin runs fn with a Querier whose statements all run on one connection of the pool,
// in one snapshot: with kept, the connection's kept snapshot as single would take it
// (snapshots), else, or where none is kept, a read transaction begun for fn and
// rolled back after it (the database as it is when fn's first statement starts).
func (p *nativePool) pin(ctx context.Context, kept bool, fn func(sqlstore.Querier) error) error {
	acquire := p.acquireOwn
	if kept && p.snap != nil {
		acquire = p.acquireSnapshot
	}
	nc, err := acquire(ctx)
	if err != nil {
		return err
	}
	defer p.release(nc) // keeps a kept snapshot; rolls back the transaction begun here
	if nc.c.GetAutocommit() {
		if _, err := nc.exec(ctx, `BEGIN`, nil); err != nil {
			return err
		}
	}
	return fn(querier{acquire: func(context.Context) (*nativeConn, error) { return nc, nil }, release: func(*nativeConn) {}})
}

// keepSnapshots makes single keep a reader's read transaction between statements.
func (p *nativePool) keepSnapshots(s *snapshots) {
	p.snap = s
	p.sticky = querier{acquire: p.acquireSnapshot, release: p.release}
}

// querier runs each statement on the connection acquire gives and hands it back with
// release: a pool's (autocommit) or a transaction's own.
type querier struct {
	acquire func(context.Context) (*nativeConn, error)
	release func(*nativeConn)
}

func (q querier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	nc, err := q.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer q.release(nc)
	return nc.exec(ctx, query, args)
}

func (q querier) QueryContext(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	nc, err := q.acquire(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := nc.query(ctx, query, args, func() { q.release(nc) })
	if err != nil {
		q.release(nc)
	}
	return rows, err
}

func (q querier) QueryRowContext(ctx context.Context, query string, args ...any) sqlstore.Row {
	return rowFunc(func(dest ...any) error {
		nc, err := q.acquire(ctx)
		if err != nil {
			return err
		}
		defer q.release(nc)
		return nc.queryRow(ctx, query, args, dest)
	})
}

// rowFunc is a sqlstore.Row.
type rowFunc func(dest ...any) error

func (f rowFunc) Scan(dest ...any) error { return f(dest...) }

// Begin begins a transaction on a connection of the pool (readOnly only documents:
// the readers are query_only, the writer is not).
func (p *nativePool) Begin(ctx context.Context, readOnly bool) (sqlstore.Transaction, error) {
	nc, err := p.acquireOwn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := nc.exec(ctx, p.begin, nil); err != nil {
		p.release(nc)
		return nil, err
	}
	t := &nativeTx{p: p, nc: nc}
	t.querier = querier{acquire: t.conn, release: func(*nativeConn) {}}
	return t, nil
}

// nativeTx is one transaction; its connection goes back to the pool when it ends.
type nativeTx struct {
	querier
	p  *nativePool
	nc *nativeConn // nil once ended
}

// errRolledBack: SQLite ended the transaction on its own (a full disk, an I/O error,
// an interrupt), so its statements would run, and commit, outside it.
var errRolledBack = errors.New("sqlite: the transaction was rolled back")

// conn is the transaction's connection, while its statements may run.
func (t *nativeTx) conn(context.Context) (*nativeConn, error) {
	if t.nc == nil {
		return nil, sql.ErrTxDone
	}
	if t.nc.c.GetAutocommit() {
		return nil, errRolledBack
	}
	return t.nc, nil
}

// Commit commits; if COMMIT fails the transaction is rolled back.
func (t *nativeTx) Commit() error { return t.end(`COMMIT`) }

func (t *nativeTx) Rollback() error { return t.end(`ROLLBACK`) }

func (t *nativeTx) end(stmt string) error {
	nc := t.nc
	if nc == nil {
		return sql.ErrTxDone
	}
	t.nc = nil
	var err error
	if nc.c.GetAutocommit() {
		err = errRolledBack // nothing to commit; a ROLLBACK has nothing to do
		if stmt == `ROLLBACK` {
			err = nil
		}
	} else {
		_, err = nc.exec(context.Background(), stmt, nil)
	}
	t.p.release(nc) // closes rows left open, rolls back what a failed COMMIT left
	return err
}

// maxStmts bounds the statements a connection keeps prepared.
const maxStmts = 512

// stmt returns the statement for query: the connection's prepared one, or, while open
// rows hold that one (a query inside another's rows), one of its own that done closes.
func (nc *nativeConn) stmt(query string) (s *sqlite3.Stmt, done func(), err error) {
	if s, ok := nc.stmts[query]; ok && !nc.inUse(s) {
		return s, func() {}, nil
	}
	s, tail, err := nc.c.Prepare(query)
	if err != nil {
		return nil, nil, err
	}
	if strings.TrimSpace(tail) != "" || s == nil {
		if s != nil {
			s.Close()
		}
		return nil, nil, fmt.Errorf("sqlite: not one statement: %q", query)
	}
	if _, ok := nc.stmts[query]; ok {
		return s, func() { s.Close() }, nil
	}
	if len(nc.stmts) >= maxStmts && !nc.evict() {
		return s, func() { s.Close() }, nil
	}
	nc.stmts[query] = s
	return s, func() {}, nil
}

// inUse reports whether rows still open hold s (stepped or not yet).
func (nc *nativeConn) inUse(s *sqlite3.Stmt) bool {
	for r := range nc.rows {
		if r.s == s {
			return true
		}
	}
	return false
}

// evict closes one statement not being read, chosen at random (map order): a bound
// that keeps the hot statements most of the time without bookkeeping per use. It
// reports false if every statement is being read.
func (nc *nativeConn) evict() bool {
	for q, s := range nc.stmts {
		if !nc.inUse(s) {
			s.Close()
			delete(nc.stmts, q)
			return true
		}
	}
	return false
}

// run binds args to query's statement and calls fn with it while ctx may interrupt
// it; the statement is reset afterwards, and the error of an interrupted statement is
// ctx's.
func (nc *nativeConn) run(ctx context.Context, query string, args []any, fn func(*sqlite3.Stmt) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err // as database/sql: a statement is not started once ctx has ended
	}
	s, done, err := nc.stmt(query)
	if err != nil {
		return err
	}
	defer done()
	if err := bind(s, args); err != nil {
		return err
	}
	nc.c.SetInterrupt(ctx)
	defer func() {
		nc.c.SetInterrupt(context.Background())
		if rerr := s.Reset(); err == nil && rerr != nil {
			err = rerr
		}
		s.ClearBindings() // keys and hashes do not linger in the connection's memory
		err = interrupted(ctx, err)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			nc.failed = true // a kept snapshot ends with it (keeps)
		}
	}()
	return fn(s)
}

func (nc *nativeConn) exec(ctx context.Context, query string, args []any) (sql.Result, error) {
	var res nativeResult
	err := nc.run(ctx, query, args, func(s *sqlite3.Stmt) error {
		for s.Step() {
		}
		if err := s.Err(); err != nil {
			return err
		}
		res = nativeResult{id: nc.c.LastInsertRowID(), changes: nc.c.Changes()}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// nativeResult is an Exec's sql.Result.
type nativeResult struct{ id, changes int64 }

func (r nativeResult) LastInsertId() (int64, error) { return r.id, nil }
func (r nativeResult) RowsAffected() (int64, error) { return r.changes, nil }

func (nc *nativeConn) queryRow(ctx context.Context, query string, args, dest []any) error {
	return nc.run(ctx, query, args, func(s *sqlite3.Stmt) error {
		if !s.Step() {
			if err := s.Err(); err != nil {
				return err
			}
			return sql.ErrNoRows
		}
		return nc.scan(s, dest)
	})
}

// scan stores the current row of s in dest.
func (nc *nativeConn) scan(s *sqlite3.Stmt, dest []any) error {
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

// interrupted is err, or ctx's error where ctx's end interrupted the statement.
func interrupted(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, sqlite3.INTERRUPT) {
		return ctx.Err()
	}
	return err
}

// query runs query and returns its rows, which hold the statement until closed;
// closing them also calls release (once: the pool clears it when it closes them itself).
func (nc *nativeConn) query(ctx context.Context, query string, args []any, release func()) (sqlstore.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, done, err := nc.stmt(query)
	if err != nil {
		return nil, err
	}
	if err := bind(s, args); err != nil {
		s.Reset()
		s.ClearBindings()
		done()
		return nil, err
	}
	r := &nativeRows{nc: nc, s: s, ctx: ctx, done: done, release: release}
	nc.rows[r] = struct{}{}
	return r, nil
}

// nativeRows is a query's rows, read one Step at a time.
type nativeRows struct {
	nc      *nativeConn
	s       *sqlite3.Stmt // nil once closed
	ctx     context.Context
	err     error
	done    func()
	release func()
}

func (r *nativeRows) Next() bool {
	if r.s == nil || r.err != nil {
		return false
	}
	ok := r.step()
	if !ok {
		r.err = interrupted(r.ctx, r.s.Err())
		if r.err != nil {
			r.nc.failed = true
		}
		r.Close()
	}
	return ok
}

func (r *nativeRows) step() bool {
	r.nc.c.SetInterrupt(r.ctx)
	defer r.nc.c.SetInterrupt(context.Background())
	return r.s.Step()
}

func (r *nativeRows) Scan(dest ...any) error {
	if r.s == nil {
		return errors.New("sqlite: Scan on closed rows")
	}
	return r.nc.scan(r.s, dest)
}

func (r *nativeRows) Err() error { return r.err }

func (r *nativeRows) Close() error {
	if r.s == nil {
		return nil
	}
	r.s.Reset()
	r.s.ClearBindings()
	r.s = nil
	delete(r.nc.rows, r)
	r.done()
	if r.release != nil {
		r.release()
	}
	return nil
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
