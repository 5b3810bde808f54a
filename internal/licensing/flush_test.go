package licensing_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/sqlite"
)

// writeCounter counts a store's write transactions and can fail one of them.
type writeCounter struct {
	licensing.Store
	writes atomic.Int64
	failAt atomic.Int64 // the write (1-based, since the last reset) that fails; 0: none
}

var errInjected = errors.New("injected write failure")

func (c *writeCounter) Write(ctx context.Context, fn func(licensing.Tx) error) error {
	if n := c.writes.Add(1); n == c.failAt.Load() {
		return errInjected
	}
	return c.Store.Write(ctx, fn)
}

func (c *writeCounter) reset(failAt int64) { c.writes.Store(0); c.failAt.Store(failAt) }

// The write-behind flushes write flushChunk rows per transaction, so a second's
// worth never holds the writer at once; a chunk that fails puts its stamps and the
// later ones back, and the next flush writes them.
func TestWriteBehindFlushesInChunks(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	wc := &writeCounter{Store: st}
	e := newEnvOn(t, wc, licensing.WithCheckStampInterval(time.Hour))
	p := e.product(licensing.AuthLicenseKey)
	n := 2*licensing.FlushChunk + 5
	l := e.keyLicense(p.ShortCode, "K-CHUNK", int64(n))
	ids := make([]licensing.Identity, n)
	for i := range ids {
		ids[i] = keyID(p.ShortCode, "K-CHUNK", fmt.Sprintf("hw-%03d", i))
		e.activate(ids[i])
	}
	e.clock.Advance(time.Minute)
	for _, id := range ids {
		if _, err := e.svc.Check(e.ctx, e.cid, id); err != nil {
			t.Fatal(err)
		}
	}
	stamped := func() (n int) {
		for _, d := range e.devices(l.ID) {
			if d.LastCheck != nil {
				n++
			}
		}
		return n
	}

	wc.reset(2) // the second chunk fails
	if err := e.svc.FlushCheckStamps(e.ctx); !errors.Is(err, errInjected) {
		t.Fatalf("flush with a failing chunk: %v", err)
	}
	if got := stamped(); got != licensing.FlushChunk {
		t.Fatalf("after a failed second chunk %d devices stamped, want the first chunk's %d", got, licensing.FlushChunk)
	}
	wc.reset(0)
	if err := e.svc.FlushCheckStamps(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := wc.writes.Load(), int64(2); got != want { // n - FlushChunk stamps were put back
		t.Errorf("retried flush took %d transactions, want %d", got, want)
	}
	if got := stamped(); got != n {
		t.Fatalf("%d of %d devices stamped after the retry", got, n)
	}

	devs := e.devices(l.ID)
	for i, d := range devs {
		e.svc.RememberSignature(e.ctx, d.ID, licensing.SlotCheck, []byte{byte(i), 1}, fmt.Sprintf("sig-%d", i))
	}
	wc.reset(0)
	if err := e.svc.FlushSignatures(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := wc.writes.Load(), int64(3); got != want {
		t.Errorf("flush of %d signatures took %d transactions, want %d", n, got, want)
	}
	for i, d := range devs {
		var got []licensing.DeviceSignature
		if err := st.Read(e.ctx, func(tx licensing.Tx) (err error) {
			got, err = tx.DeviceSignatures(e.ctx, d.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Signature != fmt.Sprintf("sig-%d", i) {
			t.Fatalf("device %d: stored signatures %+v", d.ID, got)
		}
	}
}
