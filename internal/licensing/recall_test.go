package licensing_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/storetest"
)

// TestSignatureRecallFolding: while most checks recall a remembered signature, the
// check's device read brings them along and the recall costs no statement of its own;
// when checks stop recalling, the read stops fetching them, and a request's first
// recall brings its other slots along. Either way the recall
// returns the same signatures, the ones waiting for the flush included.
func TestSignatureRecallFolding(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	e.keyLicense(p.ShortCode, "R-1", 5)
	id, otherID := keyID(p.ShortCode, "R-1", "hw-1"), keyID(p.ShortCode, "R-1", "hw-2")
	dev, other := e.activate(id).Device.ID, e.activate(otherID).Device.ID

	st := &storetest.Counting{Store: e.svc.Store()}
	svc := licensing.NewService(st, licensing.WithClock(e.clock.Now), licensing.WithCheckStampInterval(time.Hour))
	stored := licensing.DeviceSignature{DeviceID: dev, Slot: licensing.SlotCheck, Digest: []byte("check-digest"), Signature: "stored"}
	pending := licensing.DeviceSignature{DeviceID: dev, Slot: licensing.SlotLicenseSignature, Digest: []byte("v1-digest"), Signature: "pending"}
	svc.RememberSignature(e.ctx, dev, stored.Slot, stored.Digest, stored.Signature)
	if err := svc.FlushSignatures(e.ctx); err != nil {
		t.Fatal(err)
	}
	svc.RememberSignature(e.ctx, dev, pending.Slot, pending.Digest, pending.Signature)
	svc.RememberSignature(e.ctx, other, stored.Slot, []byte("other"), "other")
	want := []licensing.DeviceSignature{stored, pending}

	// request checks id and, when recall, recalls its device's signatures twice (as a
	// check that signs its license_signature and its body does); it returns how many
	// one-statement reads that took.
	request := func(t *testing.T, recall bool) int64 {
		t.Helper()
		ctx := licensing.WithSignatureRecall(e.ctx, licensing.SlotLicenseSignature, licensing.SlotCheck)
		before := st.Singles.Load()
		if _, err := svc.Check(ctx, e.cid, id); err != nil {
			t.Fatal(err)
		}
		if recall {
			for _, slot := range []int{licensing.SlotLicenseSignature, licensing.SlotCheck} {
				if got := svc.RecallSignatures(ctx, dev, slot); !reflect.DeepEqual(got, want) {
					t.Fatalf("recalled %+v, want %+v", got, want)
				}
			}
			if got := svc.RecallSignatures(ctx, other, licensing.SlotCheck); len(got) != 1 || got[0].Signature != "other" {
				t.Fatalf("another device's recall: %+v", got)
			}
		}
		return st.Singles.Load() - before
	}

	// Cold: the check's read, then one statement for the device's recalls (the first
	// brings the second along) and one for the other device's.
	if n := request(t, true); n != 3 {
		t.Fatalf("cold: %d one-statement reads, want 3", n)
	}
	for range licensing.SwitchWindow {
		request(t, true)
	}
	// Folded: the check's read brings its device's signatures; another device's are
	// still read on their own.
	if n := request(t, true); n != 2 {
		t.Fatalf("folded: %d one-statement reads, want 2", n)
	}
	// A slot the request did not say it signs is read on its own.
	ctx := licensing.WithSignatureRecall(e.ctx, licensing.SlotLicenseSignature, licensing.SlotCheck)
	if _, err := svc.Check(ctx, e.cid, id); err != nil {
		t.Fatal(err)
	}
	before := st.Singles.Load()
	if got := svc.RecallSignatures(ctx, dev, licensing.SlotTrack); !reflect.DeepEqual(got, want) || st.Singles.Load() != before+1 {
		t.Fatalf("recall of another slot: %+v after %d reads", got, st.Singles.Load()-before)
	}
	// A window of checks that recall nothing turns it off.
	for range licensing.SwitchWindow {
		request(t, false)
	}
	if n := request(t, true); n != 3 {
		t.Fatalf("after checks that recall nothing: %d one-statement reads, want 3", n)
	}
}
