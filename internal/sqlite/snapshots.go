package sqlite

import (
	"context"
	"os"
	"sync/atomic"
	"time"

	"github.com/ncruces/go-sqlite3"
)

// snapshots lets the readers keep a read transaction open from one single-statement
// read to the next. In WAL mode each statement run on its own begins and ends a read
// transaction: the WAL index's header is read, a read mark taken under a lock of the
// shared-memory file and the database file (fcntl calls), and all of it released after
// the statement; about a tenth of a check's CPU. A kept snapshot skips that.
//
// A kept snapshot never hides a write of this process: every commit of its
// connections (the writer, DB) counts itself (walState.hook, after the commit is visible and
// before the write is acknowledged), and a reader whose snapshot is older than the
// last commit begins a new one before its statement. Another process writing the
// same file (a CLI command while serve runs) is seen once the snapshot is maxAge old,
// and at once where a read finds nothing (Store.ReadSingle asks again without a kept
// snapshot: a new company's keys, a newly seeded device).
//
// A snapshot holds back the checkpoint: the WAL's frames after it cannot be copied
// into the database file while it is open, and the WAL starts over only once all of
// it was copied. Kept snapshots lag a commit behind (a reader renews its snapshot at
// its next statement), so under steady writes a checkpoint run right after a commit
// would never finish and the WAL would grow without bound. So while the WAL is at
// checkpoint size no snapshot is kept, and readers left idle end theirs within about
// twice maxAge. Another process's commits reach no hook here, so a reader about to
// begin a snapshot also looks at the WAL file's size: writing connections keep it
// (journal_size_limit) at checkpoint size once the WAL starts over, so a file well
// over that means a WAL that has not been checkpointed in full.
type snapshots struct {
	wal     *walState
	maxAge  time.Duration
	walFile string      // the database's WAL file
	armed   atomic.Bool // a sweep is scheduled
}

// walState is what the writing connections' WAL hook tells the readers, and the
// checkpointer it hands the WAL to.
type walState struct {
	commits atomic.Uint64                // commits made by this process so far
	full    atomic.Bool                  // the last commit left the WAL at checkpoint size or over
	ckpt    atomic.Pointer[checkpointer] // nil until Open starts it, and after Close
}

// snapshotMaxAge bounds how long a kept snapshot serves: a reader at a few thousand
// statements a second begins a new one every hundred or so.
const snapshotMaxAge = 20 * time.Millisecond

// holds reports whether nc holds a kept snapshot while the WAL lets one be kept.
func (s *snapshots) holds(nc *nativeConn) bool {
	return nc.snap && !nc.c.GetAutocommit() && !s.wal.full.Load()
}

// current reports whether nc's kept snapshot may serve another statement.
func (s *snapshots) current(nc *nativeConn) bool {
	return s.holds(nc) && nc.snapCommits == s.wal.commits.Load() && time.Since(nc.snapAt) < s.maxAge
}

// acquireSnapshot is acquire for a single statement in a kept snapshot: nc's own if
// still current, else a new one (none while the WAL is due a checkpoint).
func (p *nativePool) acquireSnapshot(ctx context.Context) (*nativeConn, error) {
	nc, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	if p.snap.current(nc) {
		return nc, nil
	}
	if err := nc.leaveSnapshot(); err != nil {
		p.release(nc)
		return nil, err
	}
	if p.snap.wal.full.Load() || p.snap.walOverdue() {
		return nc, nil // in autocommit mode until the WAL is checkpointed
	}
	commits := p.snap.wal.commits.Load() // before the snapshot, which the first statement takes
	if _, err := nc.exec(ctx, `BEGIN`, nil); err != nil {
		p.release(nc)
		return nil, err
	}
	nc.snap, nc.snapCommits, nc.snapAt = true, commits, time.Now()
	return nc, nil
}

// acquireOwn is acquire for a statement or transaction of its own: a kept snapshot
// on the connection ends first.
func (p *nativePool) acquireOwn(ctx context.Context) (*nativeConn, error) {
	nc, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	if err := nc.leaveSnapshot(); err != nil {
		p.release(nc)
		return nil, err
	}
	return nc, nil
}

// leaveSnapshot ends nc's kept snapshot, if any.
func (nc *nativeConn) leaveSnapshot() error {
	if !nc.snap {
		return nil
	}
	nc.snap = false
	if nc.c.GetAutocommit() {
		return nil
	}
	return nc.c.Exec(`ROLLBACK`)
}

// keeps reports whether release may put nc back with its transaction open: a kept
// snapshot whose statements all succeeded, while the WAL is not due a checkpoint.
func (p *nativePool) keeps(nc *nativeConn) bool {
	nc.snap = !nc.failed && p.snap.holds(nc)
	return nc.snap
}

// armSweep schedules a sweep of the idle readers' snapshots, unless one is.
func (p *nativePool) armSweep() {
	if p.snap.armed.Load() || !p.snap.armed.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(p.snap.maxAge, p.sweep)
}

// sweep ends the kept snapshots of the readers idle now; the busy ones come back
// through release, which schedules the next sweep.
func (p *nativePool) sweep() {
	p.snap.armed.Store(false)
	for range cap(p.idle) {
		select {
		case nc := <-p.idle:
			nc.leaveSnapshot() // a failure leaves the transaction open: release replaces nc
			p.release(nc)
		default:
			return
		}
	}
}

// hook is every writing connection's WAL hook: it counts the commit and has the WAL
// checkpointed at checkpoint size, as SQLite's own automatic checkpoint (which a hook
// replaces) would: the bulk of it in the background (checkpointer), the rest here;
// all of it here while there is no checkpointer (migrations before Open starts it, and
// after Close).
func (w *walState) hook(c *sqlite3.Conn, schema string, pages int) error {
	w.commits.Add(1)
	full := pages >= autoCheckpointPages
	w.full.Store(full)
	if k := w.ckpt.Load(); k != nil && !k.due(pages) {
		return nil
	}
	if full {
		c.WALCheckpoint(schema, sqlite3.CHECKPOINT_PASSIVE) // as SQLite's: a failure is not the commit's
	}
	return nil
}

// walOverdue reports whether the WAL file is well past checkpoint size.
func (s *snapshots) walOverdue() bool {
	fi, err := os.Stat(s.walFile)
	return err == nil && fi.Size() > walOverdueBytes
}

const (
	// autoCheckpointPages is SQLite's default wal_autocheckpoint.
	autoCheckpointPages = 1000
	// walLimitBytes is the writing connections' journal_size_limit: the size of a WAL
	// of autoCheckpointPages frames (header, and per frame a header and a page of
	// SQLite's default 4096 bytes, which licensor never changes).
	walLimitBytes = 32 + autoCheckpointPages*(24+4096)
	// walOverdueBytes is a WAL file a quarter past that.
	walOverdueBytes = walLimitBytes * 5 / 4
)
