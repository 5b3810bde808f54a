// Package sqlite is the embedded default Store: SQLite (pure Go, no cgo) in WAL mode,
// one writer connection that serialises every write transaction, a pool of readers,
// both through the SQLite package's own API (native.go); database/sql only migrates
// and serves DB.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/driver"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/migrate"
	"github.com/licensor/licensor/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Durability modes (PRAGMA synchronous). In WAL mode "normal" survives any crash of the
// process; a power loss or OS crash may lose the last transactions. "full" also
// survives those, at the cost of an fsync per commit.
const (
	SyncNormal = "normal"
	SyncFull   = "full"
)

// Options tune the store.
type Options struct {
	Synchronous string // SyncNormal (default) or SyncFull
	Readers     int    // reader connections; default GOMAXPROCS*2
	// MaxBatch bounds the writes group-committed in one transaction (default
	// DefaultMaxBatch; 1 commits every write on its own).
	MaxBatch int
}

// DefaultMaxBatch is the default bound of a group-commit batch.
const DefaultMaxBatch = 64

// Store is a licensing.Store on one SQLite file.
type Store struct {
	w       *sql.DB               // database/sql, for migrations and DB
	readers *nativePool           // Read and ReadSingle
	writer  *nativePool           // one connection, every Write
	g       *sqlstore.GroupCommit // runs every Write on writer
	wal     walState              // told by w's and writer's commits (snapshots, checkpointer)
}

var dialect = sqlstore.Dialect{
	Embedded:    true,
	PlainParams: true,
	IsDuplicate: func(err error) bool {
		var e *sqlite3.Error
		return errors.As(err, &e) && e.ExtendedCode() == sqlite3.CONSTRAINT_UNIQUE
	},
	// No VariablesJSON: SQLite's JSON functions cost a heartbeat more than a statement
	// of its own, which ReadSingle runs in the same snapshot.
}

// Open opens (creating if needed) the database at path and applies migrations.
func Open(ctx context.Context, path string, o Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if o.Synchronous == "" {
		o.Synchronous = SyncNormal
	}
	if o.Synchronous != SyncNormal && o.Synchronous != SyncFull {
		return nil, fmt.Errorf("sqlite: synchronous must be %q or %q", SyncNormal, SyncFull)
	}
	if o.Readers <= 0 {
		o.Readers = runtime.GOMAXPROCS(0) * 2
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: create directory: %w", err)
		}
	}
	dsn := func(extra ...string) string {
		q := url.Values{}
		pragmas := append([]string{"busy_timeout(10000)", "foreign_keys(1)", "journal_mode(wal)", "synchronous(" + o.Synchronous + ")",
			"journal_size_limit(" + strconv.Itoa(walLimitBytes) + ")"}, extra...)
		for _, p := range pragmas {
			q.Add("_pragma", p)
		}
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	}
	s := &Store{}
	// Every connection that writes counts its commits, for the readers' kept snapshots
	// (no wal_autocheckpoint setting on them: it would replace the hook).
	writing := func(c *sqlite3.Conn) error {
		c.WALHook(s.wal.hook)
		return stablePlans(c)
	}
	w, err := driver.Open(dsn()+"&_txlock=immediate", writing)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	s.w = w
	if err := migrate.Apply(ctx, w, migrations, "migrations", migrate.SQLiteLock); err != nil {
		w.Close()
		return nil, err
	}
	if s.readers, err = openNativePool(dsn("query_only(1)"), o.Readers, `BEGIN`, stablePlans); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open readers: %w", err)
	}
	s.readers.keepSnapshots(&snapshots{wal: &s.wal, maxAge: snapshotMaxAge, walFile: path + "-wal"})
	if s.writer, err = openNativePool(dsn(), 1, `BEGIN IMMEDIATE`, writing); err != nil {
		s.readers.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	s.g = sqlstore.NewGroupCommit(s.writer, dialect, o.MaxBatch)
	ckpt, err := sqlite3.OpenFlags(dsn(), sqlite3.OPEN_READWRITE|sqlite3.OPEN_URI)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open checkpointer: %w", err)
	}
	s.wal.ckpt.Store(startCheckpointer(ckpt))
	return s, nil
}

// stablePlans turns on the query planner stability guarantee on a connection: a plan
// then never depends on the values bound to it. Without it SQLite re-plans a join on
// every execution with new values (the prepared statement is re-prepared inside each
// step, about 4× the cost of the lookup itself), and no query here needs a plan that
// depends on its values (no LIKE patterns, no ANALYZE statistics).
func stablePlans(c *sqlite3.Conn) error {
	_, err := c.Config(sqlite3.DBCONFIG_ENABLE_QPSG, true)
	return err
}

// ParseURL returns the file path of a `sqlite:PATH` URL (also `sqlite://PATH`) and its options.
func ParseURL(u string) (string, Options, error) {
	rest, ok := strings.CutPrefix(u, "sqlite:")
	if !ok {
		return "", Options{}, fmt.Errorf("not a sqlite URL: %q", u)
	}
	rest = strings.TrimPrefix(rest, "//")
	path, query, _ := strings.Cut(rest, "?")
	var o Options
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return "", o, fmt.Errorf("sqlite URL options: %w", err)
		}
		for name, vs := range q {
			// A misspelt option would otherwise be dropped without a word, and with it
			// the durability or batching the operator asked for.
			if name != "synchronous" && name != "max_batch" {
				return "", o, fmt.Errorf("sqlite URL: unknown option %q (the options are synchronous and max_batch)", name)
			}
			if len(vs) > 1 {
				return "", o, fmt.Errorf("sqlite URL: option %q given %d times", name, len(vs))
			}
		}
		o.Synchronous = q.Get("synchronous")
		if v := q.Get("max_batch"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > sqlstore.MaxBatchLimit {
				return "", o, fmt.Errorf("sqlite URL: max_batch must be an integer from 1 to %d", sqlstore.MaxBatchLimit)
			}
			o.MaxBatch = n
		}
	}
	if path == "" {
		return "", o, errors.New("sqlite URL has no path")
	}
	return path, o, nil
}

func (s *Store) Read(ctx context.Context, fn func(licensing.Tx) error) error {
	return sqlstore.Run(ctx, s.readers, true, dialect, fn)
}

// ReadSingle runs fn on one reader, in the reader's kept snapshot (snapshots): no
// BEGIN/COMMIT of its own, and every statement of fn in that one snapshot (the
// dialect reads a device's variables with a statement of their own). What it does
// not find there it looks for again in the database as it is now: another process
// may have added it since.
func (s *Store) ReadSingle(ctx context.Context, fn func(licensing.Tx) error) error {
	run := func(kept bool) error {
		return s.readers.pin(ctx, kept, func(q sqlstore.Querier) error { return fn(&sqlstore.Tx{Q: q, D: dialect}) })
	}
	err := run(true)
	if errors.Is(err, licensing.ErrNoRows) {
		err = run(false)
	}
	return err
}

// Write runs fn in the next group-commit batch of the single writer.
func (s *Store) Write(ctx context.Context, fn func(licensing.Tx) error) error {
	return s.g.Write(ctx, fn)
}

// ObserveWriteBatches reports the size of every committed write batch to fn.
func (s *Store) ObserveWriteBatches(fn func(size int)) { s.g.ObserveBatches(fn) }

// DB is a database/sql connection of its own (migrations, copy, tests); a write
// through it waits for the store's writer (busy timeout).
func (s *Store) DB() *sql.DB { return s.w }

func (s *Store) Ping(ctx context.Context) error {
	var one int64
	return s.readers.single().QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

func (s *Store) Close() error {
	s.g.Close()
	var kerr error
	if k := s.wal.ckpt.Swap(nil); k != nil {
		kerr = k.close()
	}
	return errors.Join(s.readers.Close(), s.writer.Close(), s.w.Close(), kerr)
}
