package licensing

import (
	"context"
	"slices"
)

// WithSignatureRecall marks a request that will sign answers of these kinds (Slot…)
// about the device it reads. Where most such requests have recalled a remembered
// signature lately (a fleet larger than the signature cache), the device read fetches
// those signatures in its own statement, and the request's RecallSignatures needs no
// query of its own; where the cache answers, the read stays lean. One request, one
// goroutine: the context is not shared between requests.
func WithSignatureRecall(ctx context.Context, slots ...int) context.Context {
	return context.WithValue(ctx, recallKey{}, &recallBox{slots: slots})
}

type recallKey struct{}

// recallBox is one request's signature recall: the slots it signs, whether its device
// read fetched them, and what it found.
type recallBox struct {
	slots    []int
	read     bool // a device read decided whether to fold (counted once per request)
	fold     bool // … and fetched the slots' signatures
	filled   bool // device and sigs are what it found
	device   int64
	sigs     []DeviceSignature
	recalled bool // RecallSignatures was called (counted once per request)
}

func recallBoxOf(ctx context.Context) *recallBox {
	b, _ := ctx.Value(recallKey{}).(*recallBox)
	return b
}

// newRecallFolding decides whether device reads fetch remembered signatures: they do
// while at least a quarter of the requests that sign went on to recall one (events:
// device reads of requests that sign; hits: their recalls). A folded recall costs a
// read a few index probes and columns; a separate recall costs a whole statement.
func newRecallFolding() *adaptiveSwitch { return &adaptiveSwitch{num: 1, den: 4} }

// recallSlots are the slots a device read of this request should fetch (nil: none).
// The request's first device read decides, and counts.
func (s *Service) recallSlots(ctx context.Context) []int {
	b := recallBoxOf(ctx)
	if b == nil || len(b.slots) == 0 {
		return nil
	}
	if !b.read {
		b.read, b.fold = true, s.folding.event()
	}
	if b.fold {
		return b.slots
	}
	return nil
}

// recallFound keeps what a device read (or a recall's own query) fetched for the
// request's RecallSignatures.
func recallFound(ctx context.Context, deviceID int64, sigs []DeviceSignature) {
	if b := recallBoxOf(ctx); b != nil {
		b.filled, b.device, b.sigs = true, deviceID, sigs
	}
}

// recalledWithRead counts the request's first recall (of a request whose device read
// was counted) and returns what its device read fetched, when that covers the slot.
func (s *Service) recalledWithRead(ctx context.Context, deviceID int64, slot int) ([]DeviceSignature, bool) {
	b := recallBoxOf(ctx)
	if b == nil {
		return nil, false
	}
	if b.read && !b.recalled {
		b.recalled = true
		s.folding.hit()
	}
	if !b.filled || b.device != deviceID || !slices.Contains(b.slots, slot) {
		return nil, false
	}
	return slices.Clone(b.sigs), true
}
