package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/sqlstore"
)

// keptSnapshots counts the idle readers holding a kept snapshot (an open read
// transaction).
func keptSnapshots(t *testing.T, st *Store) int {
	t.Helper()
	var taken []*nativeConn
	n := 0
	for range cap(st.readers.idle) {
		nc := <-st.readers.idle
		taken = append(taken, nc)
		if !nc.c.GetAutocommit() {
			n++
		}
	}
	for _, nc := range taken {
		st.readers.idle <- nc
	}
	if n > 0 {
		st.readers.armSweep() // as release would: a sweep that found none idle meanwhile is over
	}
	return n
}

func readV(t *testing.T, st *Store) int64 {
	t.Helper()
	var v int64
	if err := st.readers.single().QueryRowContext(context.Background(), `SELECT v FROM t WHERE id = 1`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func newSnapshotTable(t *testing.T, st *Store) {
	t.Helper()
	if _, err := st.w.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER, pad BLOB)`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.w.Exec(`INSERT INTO t (id, v) VALUES (1, 0)`); err != nil {
		t.Fatal(err)
	}
}

// openPair opens one database file twice: st with that many readers, and other as
// another process would.
func openPair(t *testing.T, readers int) (st, other *Store, path string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "n.db")
	var err error
	if st, err = Open(context.Background(), path, Options{Readers: readers}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if other, err = Open(context.Background(), path, Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return st, other, path
}

// walWatch is what commitPages saw of a WAL: its largest size, and how many times it
// started over.
type walWatch struct {
	largest  int64
	restarts int
}

// commitPages commits n updates of about a page each on st's writer (the table of
// newSnapshotTable, in the database at path), looking at the WAL file after each.
func commitPages(t *testing.T, st *Store, path string, n int) walWatch {
	t.Helper()
	ctx := context.Background()
	wal, err := os.Open(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	defer wal.Close()
	var w walWatch
	var salts [8]byte
	pad := make([]byte, 3000)
	for i := range n {
		tx, err := st.writer.Begin(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE t SET v = $1, pad = $2 WHERE id = 1`, int64(i), pad); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path + "-wal"); err == nil {
			w.largest = max(w.largest, fi.Size())
		}
		// A WAL that starts over gets new salts in its header (bytes 16–23); the
		// first look only learns them.
		var now [8]byte
		if _, err := wal.ReadAt(now[:], 16); err == nil && now != salts {
			if salts != ([8]byte{}) {
				w.restarts++
			}
			salts = now
		}
	}
	return w
}

// TestSnapshotsSeeEveryCommitOfTheProcess: a reader keeps its snapshot between
// statements, and sees at once what the writer and DB commit after it.
func TestSnapshotsSeeEveryCommitOfTheProcess(t *testing.T) {
	ctx := context.Background()
	st := openNative(t, Options{Readers: 1})
	newSnapshotTable(t, st)
	if v := readV(t, st); v != 0 {
		t.Fatalf("v = %d, want 0", v)
	}
	if n := keptSnapshots(t, st); n != 1 {
		t.Fatalf("%d snapshots kept after a read, want 1", n)
	}
	tx, err := st.writer.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE t SET v = 1 WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if v := readV(t, st); v != 1 {
		t.Fatalf("after the writer's commit: v = %d, want 1", v)
	}
	if _, err := st.w.Exec(`UPDATE t SET v = 2 WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if v := readV(t, st); v != 2 {
		t.Fatalf("after DB's commit: v = %d, want 2", v)
	}
	if err := st.Write(ctx, func(tx licensing.Tx) error {
		_, err := tx.CompanyCount(ctx) // a write through the group commit that changes nothing
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n := keptSnapshots(t, st); n != 1 {
		t.Fatalf("%d snapshots kept, want 1", n)
	}
}

// TestSnapshotsSeeOtherProcessesSoon: what another connection (another process)
// commits is seen within snapshotMaxAge.
func TestSnapshotsSeeOtherProcessesSoon(t *testing.T) {
	st, other, _ := openPair(t, 1)
	newSnapshotTable(t, st)
	readV(t, st)
	if _, err := other.w.Exec(`UPDATE t SET v = 7 WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(snapshotMaxAge + time.Second)
	for readV(t, st) != 7 {
		if time.Now().After(deadline) {
			t.Fatal("another process's commit unseen after the snapshots' age")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSnapshotsLookAgainForWhatTheyMiss: what a read does not find in its kept
// snapshot is looked for again at once (another process may have added it).
func TestSnapshotsLookAgainForWhatTheyMiss(t *testing.T) {
	ctx := context.Background()
	st, other, _ := openPair(t, 1)
	st.readers.snap.maxAge = time.Hour // the snapshot stays while the test runs
	if err := st.ReadSingle(ctx, func(tx licensing.Tx) error { _, err := tx.CompanyCount(ctx); return err }); err != nil {
		t.Fatal(err)
	}
	c := licensing.Company{Name: "elsewhere", CreatedAt: time.UnixMilli(0)}
	if err := other.Write(ctx, func(tx licensing.Tx) error { return tx.CreateCompany(ctx, &c) }); err != nil {
		t.Fatal(err)
	}
	if n := keptSnapshots(t, st); n != 1 {
		t.Fatalf("%d snapshots kept, want 1", n)
	}
	var got licensing.Company
	if err := st.ReadSingle(ctx, func(tx licensing.Tx) (err error) { got, err = tx.Company(ctx, c.ID); return err }); err != nil || got.Name != c.Name {
		t.Fatalf("company added by another process: %+v, %v", got, err)
	}
}

// TestSnapshotsEndWhenIdle: readers left idle give their snapshots up, so that they
// hold no checkpoint back.
func TestSnapshotsEndWhenIdle(t *testing.T) {
	st := openNative(t, Options{Readers: 2})
	st.readers.snap.maxAge = snapshotMaxAge
	newSnapshotTable(t, st)
	readV(t, st)
	if n := keptSnapshots(t, st); n != 1 {
		t.Fatalf("%d snapshots kept after a read, want 1", n)
	}
	deadline := time.Now().Add(2*snapshotMaxAge + 2*time.Second)
	for keptSnapshots(t, st) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("an idle reader still holds its snapshot")
		}
		time.Sleep(snapshotMaxAge / 2)
	}
	var busy, log, done int
	if err := st.w.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &done); err != nil || busy != 0 {
		t.Fatalf("checkpoint after the readers went idle: busy %d, %v", busy, err)
	}
}

// TestSnapshotsLetTheWALStartOver: with readers busy throughout, the WAL is still
// checkpointed and started over, instead of growing with every commit while kept
// snapshots hold its end back; whether this process commits or another one does.
func TestSnapshotsLetTheWALStartOver(t *testing.T) {
	for _, elsewhere := range []bool{false, true} {
		name := map[bool]string{false: "this process", true: "another process"}[elsewhere]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, other, path := openPair(t, 2)
			writer := st
			if elsewhere {
				writer = other
			}
			newSnapshotTable(t, st)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 2 { // readers that are never idle long enough for a sweep
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						var v int64
						if err := st.readers.single().QueryRowContext(ctx, `SELECT v FROM t WHERE id = 1`).Scan(&v); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			const commits = 12 * autoCheckpointPages
			w := commitPages(t, writer, path, commits)
			largest, restarts := w.largest, w.restarts
			close(stop)
			wg.Wait()
			// Past the checkpoint size, readers stop keeping snapshots as they renew them:
			// at once after a commit of this process, within maxAge of another's. Busy
			// readers delay the WAL's start over even without kept snapshots (a WAL of
			// 7–26 MB here, 4 at checkpoint size), so what is checked is that it starts
			// over at all: a WAL held back for good never does and grows by a frame a
			// commit (49 MB).
			t.Logf("largest WAL %d bytes, started over %d times", largest, restarts)
			if restarts < 2 {
				t.Fatalf("the WAL started over %d times in %d commits of a page (largest %d bytes)", restarts, commits, largest)
			}
		})
	}
}

// TestReadSingleIsOneSnapshot: every statement of one ReadSingle sees the same
// snapshot, though a commit lands between them: in the reader's kept snapshot, and
// on the second look past it. The next ReadSingle sees that commit.
func TestReadSingleIsOneSnapshot(t *testing.T) {
	ctx := context.Background()
	st := openNative(t, Options{Readers: 1})
	newSnapshotTable(t, st)
	read := func(tx licensing.Tx) int64 {
		var v int64
		if err := tx.(*sqlstore.Tx).Q.QueryRowContext(ctx, `SELECT v FROM t WHERE id = 1`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	runs := 0
	err := st.ReadSingle(ctx, func(tx licensing.Tx) error {
		runs++
		before := read(tx)
		if _, err := st.w.Exec(`UPDATE t SET v = v + 1 WHERE id = 1`); err != nil {
			t.Fatal(err)
		}
		if after := read(tx); after != before {
			t.Errorf("run %d: read %d, then %d after a commit within one ReadSingle", runs, before, after)
		}
		if runs == 1 {
			return licensing.ErrNoRows // look again, past the kept snapshot
		}
		return nil
	})
	if err != nil || runs != 2 {
		t.Fatalf("ReadSingle: %v after %d runs", err, runs)
	}
	if v := readV(t, st); v != 2 {
		t.Fatalf("after ReadSingle: v = %d, want 2", v)
	}
}
