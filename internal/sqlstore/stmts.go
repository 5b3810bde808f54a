package sqlstore

import (
	"context"
	"database/sql"
)

// DB is a database/sql database as a Beginner and, outside transactions, a Querier
// (PostgreSQL through pgx, which caches each connection's prepared statements itself).
type DB struct {
	*sql.DB
}

// NewDB wraps db.
func NewDB(db *sql.DB) *DB { return &DB{DB: db} }

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
	return sqlTx{tx}, nil
}

// dbQuerier runs each statement on its own connection, in autocommit mode.
type dbQuerier struct{ db *sql.DB }

func (q dbQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return q.db.ExecContext(ctx, query, args...)
}

func (q dbQuerier) QueryContext(ctx context.Context, query string, args ...any) (Rows, error) {
	return q.db.QueryContext(ctx, query, args...)
}

func (q dbQuerier) QueryRowContext(ctx context.Context, query string, args ...any) Row {
	return q.db.QueryRowContext(ctx, query, args...)
}

// sqlTx is a transaction of a DB.
type sqlTx struct{ *sql.Tx }

func (q sqlTx) QueryContext(ctx context.Context, query string, args ...any) (Rows, error) {
	return q.Tx.QueryContext(ctx, query, args...)
}

func (q sqlTx) QueryRowContext(ctx context.Context, query string, args ...any) Row {
	return q.Tx.QueryRowContext(ctx, query, args...)
}
