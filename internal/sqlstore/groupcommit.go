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
// A write that finds no batch running commits one itself, on its caller's goroutine
// (with what queued meanwhile, up to the bound): a write that arrives alone costs no
// hand-over between goroutines. If writes queued behind it, the committer goroutine
// takes over and commits batches until none is left.
//
// Serial execution inside the batch keeps the semantics of one writer: every write sees
// the writes queued before it, as it would after their separate commits.
type GroupCommit struct {
	b        Beginner
	d        Dialect
	maxBatch int
	mu       sync.Mutex
	pending  []*groupWrite // queued, in arrival order
	leading  bool          // a batch is being committed, inline or by the committer (pending is empty when not)
	closed   bool
	broken   error         // set when a batch did not finish (see commit); every write fails with it
	idle     *sync.Cond    // signalled when leading ends (Close waits for it)
	kick     chan struct{} // hands the lead to the committer goroutine
	stop     chan struct{}
	done     chan struct{}
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
	g := &GroupCommit{b: b, d: d, maxBatch: maxBatch, kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	g.idle = sync.NewCond(&g.mu)
	go g.loop()
	return g
}

// ObserveBatches reports the size of every committed batch to fn (metrics).
func (g *GroupCommit) ObserveBatches(fn func(size int)) { g.observe.Store(&fn) }

// Write runs fn in the next batch and returns once that batch has committed or failed.
func (g *GroupCommit) Write(ctx context.Context, fn func(licensing.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &groupWrite{ctx: ctx, fn: fn, done: make(chan struct{})}
	g.mu.Lock()
	switch {
	case g.closed:
		g.mu.Unlock()
		return ErrClosed
	case g.broken != nil:
		g.mu.Unlock()
		return g.broken
	}
	g.pending = append(g.pending, w)
	inline := !g.leading
	g.leading = true
	g.mu.Unlock()
	if inline {
		g.commitInline()
	}
	// Once queued the write may run: wait for its outcome even if ctx ends, so an
	// error returned here always means "not committed".
	<-w.done
	if w.pan != nil {
		panic(w.pan)
	}
	return w.err
}

// Close refuses new writes, waits for the writes already queued and stops the
// committer.
func (g *GroupCommit) Close() {
	g.mu.Lock()
	first := !g.closed
	g.closed = true
	for g.leading {
		g.idle.Wait()
	}
	g.mu.Unlock()
	if first {
		close(g.stop)
	}
	<-g.done
}

// commitInline commits the batch that starts with the caller's write, on the caller's
// goroutine, then hands the lead to the committer if writes queued behind it. The lead
// is passed on or given up even if the batch panics below the writes' functions.
func (g *GroupCommit) commitInline() {
	defer func() {
		g.mu.Lock()
		if len(g.pending) > 0 {
			g.kick <- struct{}{} // never full: only the lead kicks, once
		} else {
			g.endLead()
		}
		g.mu.Unlock()
	}()
	g.commitNext()
}

// loop is the committer: handed the lead, it commits batches until none is queued.
func (g *GroupCommit) loop() {
	defer close(g.done)
	for {
		select {
		case <-g.kick:
		case <-g.stop:
			return
		}
		for {
			g.commitNext()
			g.mu.Lock()
			if len(g.pending) == 0 {
				g.endLead()
				g.mu.Unlock()
				break
			}
			g.mu.Unlock()
		}
	}
}

// endLead records, under g.mu, that no batch is being committed.
func (g *GroupCommit) endLead() {
	g.leading = false
	g.idle.Broadcast()
}

// commitNext commits the writes queued first, up to the bound.
func (g *GroupCommit) commitNext() {
	g.mu.Lock()
	n := min(len(g.pending), g.maxBatch)
	batch := make([]*groupWrite, n)
	copy(batch, g.pending)
	rest := copy(g.pending, g.pending[n:])
	clear(g.pending[rest:]) // let the taken writes go
	g.pending = g.pending[:rest]
	broken := g.broken
	g.mu.Unlock()
	if broken != nil { // queued before an earlier batch failed to finish
		for _, w := range batch {
			w.err = broken
			close(w.done)
		}
		return
	}
	g.commit(batch)
}

// errUnfinished is what the writes get once a batch did not finish: a panic below the
// writes' functions (a bug here or in the driver) or a write function that ended its
// goroutine (runtime.Goexit). The writer connection may be lost with it, so every
// later write fails at once with it instead of waiting for ever.
var errUnfinished = errors.New("group commit: a batch did not finish (panic below the writes, or a write ended its goroutine); the store must be reopened")

// commit runs one batch and reports each write's outcome. A panic below the writes'
// functions goes on up (to the request's recovery, or it ends the process on the
// committer) after the batch's writes fail with errUnfinished and the group commit
// is marked broken.
func (g *GroupCommit) commit(batch []*groupWrite) {
	finished := false
	defer func() {
		if !finished {
			for _, w := range batch {
				if w.pan == nil {
					w.err = errUnfinished
				}
			}
			g.mu.Lock()
			g.broken = errUnfinished
			g.mu.Unlock()
		}
		for _, w := range batch {
			close(w.done)
		}
	}()
	n := g.run(batch)
	finished = true
	g.observed(n)
}

// run runs one batch, setting each write's outcome, and returns how many writes it
// committed.
func (g *GroupCommit) run(batch []*groupWrite) int {
	live := batch[:0:0]
	for _, w := range batch {
		if err := w.ctx.Err(); err != nil {
			w.err = err // gone before its turn: not run, not committed
			continue
		}
		live = append(live, w)
	}
	if len(live) == 0 {
		return 0
	}
	if len(live) == 1 {
		// Alone: a plain transaction, as without batching.
		w := live[0]
		w.err, w.pan = runGuarded(func() error { return Run(w.ctx, g.b, false, g.d, w.fn) })
		if w.err != nil || w.pan != nil {
			return 0
		}
		return 1
	}
	err := g.commitBatch(live)
	if err != nil {
		for _, w := range live {
			if w.err == nil && w.pan == nil {
				w.err = err
			}
		}
		return 0
	}
	return len(live)
}

func (g *GroupCommit) observed(n int) {
	if n == 0 {
		return
	}
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
