package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/licensor/licensor/internal/licensing"
)

// GroupCommit runs the write transactions of one writer connection (SQLite) in
// batches: the writes that queue up while a batch commits run together in the next
// transaction, one after another, each inside a savepoint of its own, and are committed
// once. A write whose function fails is rolled back to its savepoint and fails alone;
// the others in its batch still commit. A write is acknowledged only after the COMMIT
// of its batch returned, so it is exactly as durable as an unbatched one (with
// synchronous=full one fsync covers the whole batch).
//
// Serial execution inside the batch keeps the semantics of one writer: every write sees
// the writes queued before it, as it would after their separate commits.
type GroupCommit struct {
	b        Beginner
	d        Dialect
	maxBatch int
	queue    chan *groupWrite
	stop     chan struct{}
	done     chan struct{}
	mu       sync.RWMutex // held shared while queueing, exclusively by Close
	closed   bool
	observe  atomic.Pointer[func(int)]
}

type groupWrite struct {
	ctx  context.Context
	fn   func(licensing.Tx) error
	err  error
	pan  any // a panic in fn, re-raised in the caller's goroutine
	done chan struct{}
}

// MaxBatchLimit is the largest batch NewGroupCommit accepts.
const MaxBatchLimit = 4096

// ErrClosed is returned by writes submitted after Close.
var ErrClosed = errors.New("store is closed")

// NewGroupCommit starts the committer for the writes b begins (on exactly one
// connection). maxBatch bounds the writes in one transaction.
func NewGroupCommit(b Beginner, d Dialect, maxBatch int) *GroupCommit {
	maxBatch = min(max(maxBatch, 1), MaxBatchLimit)
	g := &GroupCommit{b: b, d: d, maxBatch: maxBatch, queue: make(chan *groupWrite, 4*maxBatch),
		stop: make(chan struct{}), done: make(chan struct{})}
	go g.loop()
	return g
}

// ObserveBatches reports the size of every committed batch to fn (metrics).
func (g *GroupCommit) ObserveBatches(fn func(size int)) { g.observe.Store(&fn) }

// Write runs fn in the next batch and returns once that batch has committed or failed.
func (g *GroupCommit) Write(ctx context.Context, fn func(licensing.Tx) error) error {
	w := &groupWrite{ctx: ctx, fn: fn, done: make(chan struct{})}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return ErrClosed
	}
	select {
	case g.queue <- w:
	case <-ctx.Done():
		g.mu.RUnlock()
		return ctx.Err()
	}
	g.mu.RUnlock()
	// Once queued the write may run: wait for its outcome even if ctx ends, so an
	// error returned here always means "not committed".
	<-w.done
	if w.pan != nil {
		panic(w.pan)
	}
	return w.err
}

// Close stops the committer after the writes already queued.
func (g *GroupCommit) Close() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.stop)
	}
	g.mu.Unlock()
	<-g.done
}

func (g *GroupCommit) loop() {
	defer close(g.done)
	batch := make([]*groupWrite, 0, g.maxBatch)
	for {
		var first *groupWrite
		select {
		case first = <-g.queue:
		case <-g.stop:
			// Finish what was queued before Close (nothing is queued after it).
			for {
				select {
				case w := <-g.queue:
					g.commit([]*groupWrite{w})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	drain:
		for len(batch) < g.maxBatch {
			select {
			case w := <-g.queue:
				batch = append(batch, w)
			default:
				break drain
			}
		}
		g.commit(batch)
	}
}

// commit runs one batch and reports each write's outcome.
func (g *GroupCommit) commit(batch []*groupWrite) {
	defer func() {
		for _, w := range batch {
			close(w.done)
		}
	}()
	live := batch[:0:0]
	for _, w := range batch {
		if err := w.ctx.Err(); err != nil {
			w.err = err // gone before its turn: not run, not committed
			continue
		}
		live = append(live, w)
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		// Alone: a plain transaction, as without batching.
		w := live[0]
		w.err, w.pan = runGuarded(func() error { return Run(w.ctx, g.b, false, g.d, w.fn) })
		g.observed(1)
		return
	}
	err := g.commitBatch(live)
	if err != nil {
		for _, w := range live {
			if w.err == nil && w.pan == nil {
				w.err = err
			}
		}
		return
	}
	g.observed(len(live))
}

func (g *GroupCommit) observed(n int) {
	if fn := g.observe.Load(); fn != nil {
		(*fn)(n)
	}
}

// commitBatch runs each write in a savepoint of one transaction and commits it. An
// error it returns means nothing of the batch was committed.
func (g *GroupCommit) commitBatch(batch []*groupWrite) error {
	ctx := context.Background()
	tx, err := g.b.Begin(ctx, false)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	for _, w := range batch {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT write`); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
		fn := w.fn
		w.err, w.pan = runGuarded(func() error { return fn(&Tx{Q: uninterruptible{tx}, D: g.d}) })
		if w.err != nil || w.pan != nil {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO write`); err != nil {
				return fmt.Errorf("rollback to savepoint: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE write`); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// uninterruptible keeps one write's cancelled context from interrupting a statement:
// SQLite answers an interrupted write by rolling back the whole transaction, which
// would fail every other write of the batch. A write whose context has ended stops at
// its next statement instead (a Querier refuses it before it runs) and rolls back
// to its own savepoint.
type uninterruptible struct{ q Querier }

func (u uninterruptible) ctx(ctx context.Context) context.Context {
	if ctx.Err() != nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

func (u uninterruptible) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return u.q.ExecContext(u.ctx(ctx), query, args...)
}

func (u uninterruptible) QueryContext(ctx context.Context, query string, args ...any) (Rows, error) {
	return u.q.QueryContext(u.ctx(ctx), query, args...)
}

func (u uninterruptible) QueryRowContext(ctx context.Context, query string, args ...any) Row {
	return u.q.QueryRowContext(u.ctx(ctx), query, args...)
}

// runGuarded calls fn, turning a panic into a value to re-raise elsewhere.
func runGuarded(fn func() error) (err error, pan any) {
	defer func() {
		if p := recover(); p != nil {
			pan = p
		}
	}()
	return fn(), nil
}
