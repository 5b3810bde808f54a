package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
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
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "n.db")
	st, err := Open(ctx, path, Options{Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	other, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
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
	path := filepath.Join(t.TempDir(), "n.db")
	st, err := Open(ctx, path, Options{Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.readers.snap.maxAge = time.Hour // the snapshot stays while the test runs
	other, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
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
			path := filepath.Join(t.TempDir(), "n.db")
			st, err := Open(ctx, path, Options{Readers: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			writer := st
			if elsewhere {
				if writer, err = Open(ctx, path, Options{}); err != nil {
					t.Fatal(err)
				}
				defer writer.Close()
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
			pad := make([]byte, 3000) // about a page a commit
			const commits = 6 * autoCheckpointPages
			var largest int64
			for i := range commits {
				tx, err := writer.writer.Begin(ctx, false)
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
					largest = max(largest, fi.Size())
				}
			}
			close(stop)
			wg.Wait()
			// Past the overdue size, readers stop keeping snapshots as they renew them:
			// at once after a commit of this process, within maxAge of another's.
			if largest > 3*walLimitBytes {
				t.Fatalf("WAL of %d bytes during %d commits of a page (%d at checkpoint size): it did not start over", largest, commits, walLimitBytes)
			}
			t.Logf("largest WAL: %d bytes", largest)
		})
	}
}
