package licensing_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/sqlite"
)

// writeCounter counts a store's write transactions and can fail one of them.
type writeCounter struct {
	licensing.Store
	writes  atomic.Int64
	failAt  atomic.Int64  // the write (1-based, since the last reset) that fails; 0: none
	onWrite func(n int64) // called before write n, if set
}

var errInjected = errors.New("injected write failure")

func (c *writeCounter) Write(ctx context.Context, fn func(licensing.Tx) error) error {
	n := c.writes.Add(1)
	if c.onWrite != nil {
		c.onWrite(n)
	}
	if n == c.failAt.Load() {
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

	// Remembered signatures stay recallable while the flush stores them, and one
	// remembered anew during the flush is still pending after it.
	devs := e.devices(l.ID)
	for i, d := range devs {
		e.svc.RememberSignature(e.ctx, d.ID, licensing.SlotCheck, []byte{byte(i), 1}, fmt.Sprintf("sig-%d", i))
	}
	first, last := devs[0].ID, devs[n-1].ID
	recalled := func(deviceID int64) (sigs []string) {
		for _, r := range e.svc.RecallSignatures(e.ctx, deviceID, licensing.SlotCheck) {
			sigs = append(sigs, r.Signature)
		}
		return sigs
	}
	var duringFlush []string
	wc.reset(0)
	wc.onWrite = func(k int64) {
		if k == 2 { // the first chunk is stored, the last not yet
			duringFlush = recalled(last)
			e.svc.RememberSignature(e.ctx, first, licensing.SlotCheck, []byte{9, 9}, "sig-anew")
		}
	}
	err = e.svc.FlushSignatures(e.ctx)
	wc.onWrite = nil
	if err != nil {
		t.Fatal(err)
	}
	if got, want := wc.writes.Load(), int64(3); got != want {
		t.Errorf("flush of %d signatures took %d transactions, want %d", n, got, want)
	}
	if want := fmt.Sprintf("sig-%d", n-1); !slices.Contains(duringFlush, want) {
		t.Errorf("during the flush the last device recalled %q, want %q among them", duringFlush, want)
	}
	if got := recalled(first); !slices.Contains(got, "sig-anew") {
		t.Errorf("a signature remembered during the flush is gone after it: recalled %q", got)
	}
	for i, d := range devs {
		var got []licensing.DeviceSignature
		if err := st.Read(e.ctx, func(tx licensing.Tx) (err error) {
			got, err = tx.DeviceSignatures(e.ctx, d.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Signature != fmt.Sprintf("sig-%d", i) { // sig-anew is not flushed yet
			t.Fatalf("device %d: stored signatures %+v", d.ID, got)
		}
	}
}
