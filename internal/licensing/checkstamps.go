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

// FlushCheckStamps writes the buffered stamps in one transaction. On failure they are
// put back for the next attempt.
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
	err := s.store.Write(ctx, func(tx Tx) error {
		for _, id := range ids {
			if err := tx.TouchDeviceCheck(ctx, id, p[id]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for id, at := range p {
			s.stamps.add(id, at)
		}
		return fmt.Errorf("write %d last-check stamps: %w", len(p), err)
	}
	return nil
}
