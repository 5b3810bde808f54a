package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

// TestCheckpointerDue: what the hook does after a commit, by how many frames the WAL
// holds and what the background has copied of it.
func TestCheckpointerDue(t *testing.T) {
	for _, tc := range []struct {
		name           string
		running        bool
		copied, frames int64
		finish, kicked bool
		copiedAfter    int64
	}{
		{name: "under checkpoint size", frames: autoCheckpointPages - 1},
		{name: "started over since the last copy", copied: 1200, frames: 40, copiedAfter: 0},
		{name: "at checkpoint size: the background copies", frames: autoCheckpointPages, kicked: true},
		{name: "a background checkpoint is under way", running: true, copied: 0, frames: 1500, copiedAfter: 0},
		{name: "under way, with the WAL started over", running: true, copied: 1100, frames: 10, copiedAfter: 1100},
		{name: "little left: the writer finishes", copied: 1000, frames: 1000 + finishPages, finish: true, copiedAfter: 1000},
		{name: "more left: the background again", copied: 1000, frames: 1001 + finishPages, kicked: true, copiedAfter: 1000},
		{name: "all copied", copied: 1300, frames: 1300, finish: true, copiedAfter: 1300},
		{name: "one commit wrote twice checkpoint size", frames: aloneFrames, finish: true},
		{name: "the background fell behind", copied: 1000, frames: aloneFrames + 1, finish: true, copiedAfter: 1000},
		{name: "fell behind, still copying", running: true, copied: 1000, frames: 3 * aloneFrames, copiedAfter: 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &checkpointer{kick: make(chan struct{}, 1)}
			k.running.Store(tc.running)
			k.copied.Store(tc.copied)
			finish := k.due(int(tc.frames))
			kicked := len(k.kick) == 1
			if finish != tc.finish || kicked != tc.kicked || k.copied.Load() != tc.copiedAfter {
				t.Fatalf("finish %v kicked %v copied %d; want %v %v %d", finish, kicked, k.copied.Load(), tc.finish, tc.kicked, tc.copiedAfter)
			}
			if kicked && !k.running.Load() {
				t.Fatal("kicked without marking a checkpoint running")
			}
			if !kicked && k.running.Load() != tc.running {
				t.Fatal("running changed without a kick")
			}
		})
	}
}

// TestCheckpointsRunBesideTheWriter: under steady writes the WAL is checkpointed in
// the background and still starts over, at checkpoint size or, where commits come
// faster than the background copies (here, one after the other as fast as they go),
// at twice that.
func TestCheckpointsRunBesideTheWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	st, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	newSnapshotTable(t, st)
	const commits = 6 * autoCheckpointPages
	w := commitPages(t, st, path, commits)
	copies := st.wal.ckpt.Load().copies.Load()
	t.Logf("%d background checkpoints copied frames; the WAL started over %d times, largest %d bytes", copies, w.restarts, w.largest)
	if copies == 0 {
		t.Fatal("no background checkpoint copied anything")
	}
	if w.restarts < commits/aloneFrames-1 {
		t.Fatalf("the WAL started over %d times in %d commits of a page", w.restarts, commits)
	}
	if w.largest > 4*walLimitBytes { // twice checkpoint size, and what came meanwhile; never starting over: 6×
		t.Fatalf("largest WAL %d bytes, checkpoint size %d", w.largest, walLimitBytes)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil { // a second Close is harmless
		t.Fatal(err)
	}
}
