// Package postgres is the Store for running several licensor instances on one
// PostgreSQL database: pgx v5 with a connection pool, row locks instead of SQLite's
// single writer, migrations applied under an advisory lock.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/migrate"
	"github.com/licensor/licensor/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Lock keys for pg_advisory_xact_lock: arbitrary constants private to licensor.
const (
	migrationLock = 0x6c6963656e736f72 // "licensor"
	tenantLock    = 0x6c6963656e736f73
)

var dialect = sqlstore.Dialect{
	LockSuffix:     " FOR UPDATE",
	LockTenantsSQL: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", tenantLock),
	IsDuplicate: func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.Code == "23505" // unique_violation
	},
	VariablesJSON: `(SELECT COALESCE(json_agg(json_build_object('i', v.id, 'n', v.name, 'v', v.value, 'c', v.created_at)), '[]')
	FROM device_variables v WHERE v.device_id = d.id)`,
}

// Store is a licensing.Store on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	db      *sqlstore.DB
	retried atomic.Pointer[func(sqlstate string)]
}

// ObserveWriteRetries reports each write transaction Write runs again to fn, with the
// SQLSTATE the server aborted it with (metrics and logs).
func (s *Store) ObserveWriteRetries(fn func(sqlstate string)) { s.retried.Store(&fn) }

// Open connects to url (postgres://…; pool settings such as pool_max_conns are read
// from it, see pgxpool.ParseConfig) and applies pending migrations.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, db: sqlstore.NewDB(stdlib.OpenDBFromPool(pool))}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Migrate applies pending migrations; concurrent callers wait on one advisory lock.
func (s *Store) Migrate(ctx context.Context) error {
	return migrate.Apply(ctx, s.db.DB, migrations, "migrations", func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLock))
		return err
	})
}

// DB is the underlying database (copy and tests).
func (s *Store) DB() *sql.DB { return s.db.DB }

func (s *Store) Read(ctx context.Context, fn func(licensing.Tx) error) error {
	return sqlstore.Run(ctx, s.db, true, dialect, fn)
}

// ReadSingle runs a one-statement fn without BEGIN/COMMIT (two round trips fewer).
func (s *Store) ReadSingle(ctx context.Context, fn func(licensing.Tx) error) error {
	return sqlstore.RunSingle(s.db, dialect, fn)
}

// Write runs fn in a transaction. PostgreSQL aborts one of two transactions that
// deadlock (each waiting for a row lock the other holds: instances writing the same
// rows in different orders) and may abort one that cannot be serialised; neither is
// the client's doing, so such a transaction is run again, up to writeAttempts times in
// all, after a short random pause, instead of answering 500. fn may therefore run more
// than once (licensing.Store says so): it keeps only what its last run found.
func (s *Store) Write(ctx context.Context, fn func(licensing.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := sqlstore.Run(ctx, s.db, false, dialect, fn)
		code := transient(err)
		if code == "" || attempt == writeAttempts {
			return err
		}
		if f := s.retried.Load(); f != nil {
			(*f)(code)
		}
		pause := time.NewTimer(time.Duration(1+rand.IntN(10*attempt)) * time.Millisecond)
		select {
		case <-ctx.Done():
			pause.Stop()
			return err
		case <-pause.C:
		}
	}
}

// writeAttempts bounds the runs of one Write aborted by the server (see transient).
const writeAttempts = 4

// transient returns the SQLSTATE of err if it is PostgreSQL aborting the transaction for
// a deadlock (40P01) or a serialization failure (40001), which running it again
// resolves, and "" otherwise.
func transient(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") {
		return pe.Code
	}
	return ""
}

func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

func (s *Store) Close() error {
	err := s.db.Close()
	s.pool.Close()
	return err
}
