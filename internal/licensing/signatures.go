package licensing

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// DeviceSignature is the last signature made for one kind of answer (Slot) about a
// device, with the digest of what was signed. Heartbeats repeat the same answer, so a
// remembered signature spares an RSA signature (about 1.5 ms) after a restart or once
// the in-memory cache has let the answer go — with a large fleet, almost always.
type DeviceSignature struct {
	DeviceID  int64
	Slot      int
	Digest    []byte
	Signature string
}

// Kinds of answer remembered per device.
const (
	SlotLicenseSignature = 1 // the v1 license_signature of check and activation answers
	SlotCheck            = 2 // a check_license body
	SlotTrack            = 3 // a track_device_variables body
	SlotVariables        = 4 // a get_device_variables body
)

// maxPendingSignatures bounds the signatures waiting for the next flush; beyond it new
// ones are not remembered (they are only an optimisation).
const maxPendingSignatures = 1 << 16

type signatureKey struct {
	device int64
	slot   int
}

// signatureMemo holds remembered signatures until the write-behind loop stores them.
type signatureMemo struct {
	mu      sync.Mutex
	pending map[signatureKey]DeviceSignature
}

func newSignatureMemo() *signatureMemo {
	return &signatureMemo{pending: map[signatureKey]DeviceSignature{}}
}

// RecallSignatures returns every signature remembered for a device's answers, the
// ones still waiting for the write-behind flush included. One query serves all of a
// request's answers (a check signs its body and its license_signature), or none when
// the request's device read brought them along (WithSignatureRecall). Any failure is
// an empty answer: the caller signs.
func (s *Service) RecallSignatures(ctx context.Context, deviceID int64) []DeviceSignature {
	var got []DeviceSignature
	box := recallBoxOf(ctx)
	if box != nil && !box.recalled {
		box.recalled = true
		s.folding.recalls.Add(1)
	}
	if box != nil && box.filled && box.device == deviceID {
		got = slices.Clone(box.sigs)
	} else if err := s.store.ReadSingle(ctx, func(tx Tx) (err error) {
		got, err = tx.DeviceSignatures(ctx, deviceID)
		return err
	}); err != nil {
		got = nil
	}
	s.memo.mu.Lock()
	for slot := range SlotVariables + 1 {
		if p, ok := s.memo.pending[signatureKey{deviceID, slot}]; ok {
			got = append(got, p) // newer than the stored one of its slot
		}
	}
	s.memo.mu.Unlock()
	return got
}

// RememberSignature keeps a new signature for a device's answer of this kind. With
// write-behind (WithCheckStampInterval) it is stored by the next flush, else at once.
func (s *Service) RememberSignature(ctx context.Context, deviceID int64, slot int, digest []byte, signature string) {
	sig := DeviceSignature{DeviceID: deviceID, Slot: slot, Digest: digest, Signature: signature}
	if s.stamps == nil {
		if err := s.store.Write(ctx, func(tx Tx) error { return tx.PutDeviceSignatures(ctx, []DeviceSignature{sig}) }); err != nil {
			s.log.Warn("remember signature", "device", deviceID, "err", err)
		}
		return
	}
	s.memo.mu.Lock()
	if len(s.memo.pending) < maxPendingSignatures {
		s.memo.pending[signatureKey{deviceID, slot}] = sig
	}
	s.memo.mu.Unlock()
}

// FlushSignatures stores the remembered signatures in one transaction, ordered by
// device and slot. Failed ones are dropped: they are only an optimisation.
func (s *Service) FlushSignatures(ctx context.Context) error {
	s.memo.mu.Lock()
	p := s.memo.pending
	s.memo.pending = make(map[signatureKey]DeviceSignature, len(p))
	s.memo.mu.Unlock()
	if len(p) == 0 {
		return nil
	}
	sigs := make([]DeviceSignature, 0, len(p))
	for _, v := range p {
		sigs = append(sigs, v)
	}
	sortSignatures(sigs)
	if err := s.store.Write(ctx, func(tx Tx) error { return tx.PutDeviceSignatures(ctx, sigs) }); err != nil {
		return fmt.Errorf("store %d signatures: %w", len(sigs), err)
	}
	return nil
}

func sortSignatures(sigs []DeviceSignature) {
	slices.SortFunc(sigs, func(a, b DeviceSignature) int {
		return cmp.Or(cmp.Compare(a.DeviceID, b.DeviceID), cmp.Compare(a.Slot, b.Slot))
	})
}

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

// recallBox is one request's signature recall: the slots it signs, and what its device
// read fetched.
type recallBox struct {
	slots    []int
	filled   bool // device and sigs are what the device read found
	device   int64
	sigs     []DeviceSignature
	recalled bool // RecallSignatures was called (counted once per request)
}

func recallBoxOf(ctx context.Context) *recallBox {
	b, _ := ctx.Value(recallKey{}).(*recallBox)
	return b
}

// recallWindow is how many marked device reads the folding decision looks back on.
const recallWindow = 1024

// recallFolding decides whether device reads fetch remembered signatures: they do
// while, over the last window of reads of requests that sign, at least a quarter of
// those requests went on to recall one. A folded recall costs a read a few index
// probes and columns; a separate recall costs a whole statement.
type recallFolding struct {
	reads   atomic.Int64
	recalls atomic.Int64
	on      atomic.Bool
}

// read counts a device read of a request that signs and says whether to fold.
func (f *recallFolding) read() bool {
	if n := f.reads.Add(1); n%recallWindow == 0 {
		f.on.Store(f.recalls.Swap(0)*4 >= recallWindow)
	}
	return f.on.Load()
}

// recallSlots are the slots a device read of this request should fetch (nil: none).
func (s *Service) recallSlots(ctx context.Context) []int {
	if b := recallBoxOf(ctx); b != nil && len(b.slots) > 0 && s.folding.read() {
		return b.slots
	}
	return nil
}

// recallFound keeps what a device read fetched for the request's RecallSignatures.
func recallFound(ctx context.Context, deviceID int64, sigs []DeviceSignature) {
	if b := recallBoxOf(ctx); b != nil {
		b.filled, b.device, b.sigs = true, deviceID, sigs
	}
}
