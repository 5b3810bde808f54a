package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// DB is a database with a cache of prepared statements. Parsing SQL was about a quarter
// of the server's CPU under a track_device_variables load on SQLite, and on the single
// writer it lengthened every write transaction; a statement prepared once is reused by
// every later transaction (database/sql re-prepares it per connection as needed).
//
// A query text seen for the first time runs unprepared inside its transaction and is
// prepared after the transaction ends: preparing on the DB while a transaction holds
// SQLite's only writer connection would wait for that connection forever.
type DB struct {
	*sql.DB
	prepare bool
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool
}

// NewDB wraps db. With prepare, every query text it sees stays prepared until Close,
// so only fixed query texts (and the few filter combinations of the list queries) may go
// through it. Without, queries run as they are (pgx caches statements itself).
func NewDB(db *sql.DB, prepare bool) *DB {
	return &DB{DB: db, prepare: prepare, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// cached returns the prepared statement for q, or nil after noting q for preparation.
func (d *DB) cached(q string) *sql.Stmt {
	if !d.prepare {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.stmts[q]
	if !ok {
		d.pending[q] = true
	}
	return s
}

// preparePending prepares the query texts noted since the last call. It must run
// outside any transaction of this DB.
func (d *DB) preparePending(ctx context.Context) {
	d.mu.Lock()
	var qs []string
	for q := range d.pending {
		qs = append(qs, q)
	}
	clear(d.pending)
	d.mu.Unlock()
	for _, q := range qs {
		s, err := d.DB.PrepareContext(ctx, q)
		if err != nil {
			continue // it ran unprepared and keeps doing so; its own call reports errors
		}
		d.mu.Lock()
		if _, dup := d.stmts[q]; dup {
			s.Close()
		} else {
			d.stmts[q] = s
		}
		d.mu.Unlock()
	}
}

// Close closes the statements, then the database.
func (d *DB) Close() error {
	d.mu.Lock()
	for _, s := range d.stmts {
		s.Close()
	}
	clear(d.stmts)
	d.mu.Unlock()
	return d.DB.Close()
}

// txQuerier runs queries inside one transaction, through the cached statements.
// dbQuerier runs each statement on its own connection, in autocommit mode.
type dbQuerier struct{ db *DB }

func (q dbQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := q.db.cached(query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return q.db.DB.ExecContext(ctx, query, args...)
}

func (q dbQuerier) QueryContext(ctx context.Context, query string, args ...any) (Rows, error) {
	if s := q.db.cached(query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return q.db.DB.QueryContext(ctx, query, args...)
}

func (q dbQuerier) QueryRowContext(ctx context.Context, query string, args ...any) Row {
	if s := q.db.cached(query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return q.db.DB.QueryRowContext(ctx, query, args...)
}

// Begin begins a transaction (read-only on readers).
func (d *DB) Begin(ctx context.Context, readOnly bool) (Transaction, error) {
	var opts *sql.TxOptions
	if readOnly {
		opts = &sql.TxOptions{ReadOnly: true}
	}
	tx, err := d.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &txQuerier{db: d, tx: tx}, nil
}

// txQuerier is a transaction of a DB. Once it has ended it prepares the query texts it
// saw for the first time (see DB).
type txQuerier struct {
	db    *DB
	tx    *sql.Tx
	ended bool
}

func (q *txQuerier) Commit() error {
	err := q.tx.Commit()
	q.end()
	return err
}

func (q *txQuerier) Rollback() error {
	err := q.tx.Rollback()
	q.end()
	return err
}

func (q *txQuerier) end() {
	if !q.ended {
		q.ended = true
		q.db.preparePending(context.Background())
	}
}

func (q *txQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := q.db.cached(query); s != nil {
		return q.tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return q.tx.ExecContext(ctx, query, args...)
}

func (q *txQuerier) QueryContext(ctx context.Context, query string, args ...any) (Rows, error) {
	if s := q.db.cached(query); s != nil {
		return q.tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	return q.tx.QueryContext(ctx, query, args...)
}

func (q *txQuerier) QueryRowContext(ctx context.Context, query string, args ...any) Row {
	if s := q.db.cached(query); s != nil {
		return q.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return q.tx.QueryRowContext(ctx, query, args...)
}
