package storetest

import (
	"context"
	"sync/atomic"

	"github.com/licensor/licensor/internal/licensing"
)

// Counting is a Store that counts what runs on it, for tests that check how many
// transactions or statements an operation takes.
type Counting struct {
	licensing.Store
	Reads   atomic.Int64 // read transactions
	Singles atomic.Int64 // one-statement reads (ReadSingle)
	Writes  atomic.Int64 // write transactions
}

func (c *Counting) Read(ctx context.Context, fn func(licensing.Tx) error) error {
	c.Reads.Add(1)
	return c.Store.Read(ctx, fn)
}

func (c *Counting) ReadSingle(ctx context.Context, fn func(licensing.Tx) error) error {
	c.Singles.Add(1)
	return c.Store.ReadSingle(ctx, fn)
}

func (c *Counting) Write(ctx context.Context, fn func(licensing.Tx) error) error {
	c.Writes.Add(1)
	return c.Store.Write(ctx, fn)
}

// AnyReads is Reads plus Singles.
func (c *Counting) AnyReads() int64 { return c.Reads.Load() + c.Singles.Load() }
