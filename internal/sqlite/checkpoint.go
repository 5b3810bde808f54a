package sqlite

import (
	"sync"
	"sync/atomic"

	"github.com/ncruces/go-sqlite3"
)

// checkpointer copies the WAL into the database file on a connection of its own, so
// that the writer does not stop for it. SQLite's automatic checkpoint runs in the
// committing connection, right after the commit that brought the WAL to checkpoint
// size: a thousand pages read from the WAL, written to the database file and both
// files synced, while no write can commit and every request waiting on one waits too
// (about 20 ms on the development machines, once or twice a second under steady
// writes).
//
// A PASSIVE checkpoint may run beside the writer: it copies the frames committed
// before it began while new ones are appended. But the WAL starts over only at a
// write that finds all of it copied, and a checkpoint beside the writer always leaves
// behind what was committed meanwhile. So the background copies the bulk, and the
// writer's hook copies the rest, as SQLite's automatic checkpoint would, once that
// is at most finishPages: nothing is appended during that last, short checkpoint,
// and the next write starts the WAL over.
type checkpointer struct {
	c       *sqlite3.Conn
	kick    chan struct{} // cap 1: a background checkpoint is due
	stop    chan struct{}
	stopped sync.WaitGroup
	running atomic.Bool  // a background checkpoint is due or running
	copied  atomic.Int64 // frames of the WAL the last background checkpoint left copied
	copies  atomic.Int64 // background checkpoints that copied frames (tests)
}

const (
	// finishPages bounds what is left for the writer's own checkpoint to copy.
	finishPages = autoCheckpointPages / 10
	// aloneFrames is a WAL twice checkpoint size: one commit wrote that much (a bulk
	// seed's batch), or the background does not keep up. The writer then checkpoints
	// it all, as SQLite would, unless a background checkpoint is under way (SQLite
	// would refuse a second): the WAL must start over before the next write begins,
	// which a background checkpoint still copying a large WAL would miss every time.
	aloneFrames = 2 * autoCheckpointPages
)

func startCheckpointer(c *sqlite3.Conn) *checkpointer {
	k := &checkpointer{c: c, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	k.stopped.Add(1)
	go k.loop()
	return k
}

func (k *checkpointer) loop() {
	defer k.stopped.Done()
	for {
		select {
		case <-k.stop:
			return
		case <-k.kick:
		}
		// A failure (another checkpoint running: SQLITE_BUSY) leaves it to the next.
		if _, copied, err := k.c.WALCheckpoint("main", sqlite3.CHECKPOINT_PASSIVE); err == nil {
			if int64(copied) > k.copied.Swap(int64(copied)) {
				k.copies.Add(1)
			}
		}
		k.running.Store(false)
	}
}

// due is told by a writing connection's hook, after each commit, how many frames the
// WAL holds. It reports whether the hook should checkpoint now itself: the WAL is at
// checkpoint size and no more than finishPages of it are left to copy, or it holds
// aloneFrames; never while a background checkpoint is under way. Otherwise, at
// checkpoint size, it has the background copy what it can.
func (k *checkpointer) due(frames int) bool {
	switch {
	case k.running.Load():
		return false
	case frames < autoCheckpointPages:
		k.copied.Store(0) // the WAL started over
		return false
	case int64(frames)-k.copied.Load() <= finishPages, frames >= aloneFrames:
		return true
	}
	if k.running.CompareAndSwap(false, true) {
		k.kick <- struct{}{} // never blocks: only the one that set running sends
	}
	return false
}

// close stops the background checkpoints and closes the connection.
func (k *checkpointer) close() error {
	close(k.stop)
	k.stopped.Wait()
	return k.c.Close()
}
