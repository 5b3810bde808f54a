package licensing

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// checkStamps buffers check_license's last-check stamps and writes them behind, many
// per transaction: a check is a read, and one write per check would put every
// heartbeat on the database's write path. A crash loses at most one interval of
// stamps, never an acknowledged license change.
type checkStamps struct {
	mu      sync.Mutex
	pending map[int64]time.Time // device id → latest check
}

// WithCheckStampInterval makes Check record last-check stamps in memory and requires
// RunCheckStamps to write them; without it Check writes each stamp at once.
func WithCheckStampInterval(d time.Duration) Option {
	return func(s *Service) {
		s.stamps = &checkStamps{pending: map[int64]time.Time{}}
		s.stampEvery = d
	}
}

func (c *checkStamps) add(deviceID int64, at time.Time) {
	c.mu.Lock()
	if at.After(c.pending[deviceID]) {
		c.pending[deviceID] = at
	}
	c.mu.Unlock()
}

func (c *checkStamps) take() map[int64]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pending
	c.pending = make(map[int64]time.Time, len(p))
	return p
}

// RunCheckStamps writes buffered last-check stamps and remembered signatures every
// interval until ctx ends, then once more. It returns at once when stamps are written
// synchronously.
func (s *Service) RunCheckStamps(ctx context.Context) {
	if s.stamps == nil {
		return
	}
	t := time.NewTicker(s.stampEvery)
	defer t.Stop()
	flush := func(ctx context.Context) {
		if err := s.FlushCheckStamps(ctx); err != nil {
			s.log.Error("write last-check stamps", "err", err)
		}
		if err := s.FlushSignatures(ctx); err != nil {
			s.log.Warn("remember signatures", "err", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			flush(context.Background())
			return
		case <-t.C:
			flush(ctx)
		}
	}
}

// FlushCheckStamps writes the buffered stamps, flushChunk per transaction. On failure
// the ones not written are put back for the next attempt.
func (s *Service) FlushCheckStamps(ctx context.Context) error {
	if s.stamps == nil {
		return nil
	}
	p := s.stamps.take()
	if len(p) == 0 {
		return nil
	}
	// Stamps are written in device id order, so two instances' flushes cannot deadlock
	// on PostgreSQL.
	ids := slices.Sorted(maps.Keys(p))
	written, err := s.writeInChunks(ctx, len(ids), func(tx Tx, lo, hi int) error {
		for _, id := range ids[lo:hi] {
			if err := tx.TouchDeviceCheck(ctx, id, p[id]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, id := range ids[written:] {
			s.stamps.add(id, p[id])
		}
		return fmt.Errorf("write %d last-check stamps: %w", len(ids)-written, err)
	}
	return nil
}

// flushChunk bounds the rows one write-behind transaction writes. On SQLite a
// transaction holds the one writer while it runs, and every request that writes
// waits behind it: a whole second's stamps or signatures in one transaction (a
// thousand rows and more) held it for 5–80 ms, once a second, and each time the
// answers queued behind it came late.
const flushChunk = 128

// writeInChunks writes items [0, n) in order, flushChunk at a time, each chunk in a
// write transaction of its own, so that other writes take turns with them. It stops
// at the first chunk that fails and returns how many items were written before it.
func (s *Service) writeInChunks(ctx context.Context, n int, write func(tx Tx, lo, hi int) error) (int, error) {
	for lo := 0; lo < n; lo += flushChunk {
		hi := min(lo+flushChunk, n)
		if err := s.store.Write(ctx, func(tx Tx) error { return write(tx, lo, hi) }); err != nil {
			return lo, err
		}
	}
	return n, nil
}
