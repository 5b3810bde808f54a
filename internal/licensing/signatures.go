package licensing

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
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

// RecallSignatures returns the signatures remembered for a device's answers, the ones
// still waiting for the write-behind flush included: every slot's, from one query
// (a check signs its body and its license_signature), or, when the request's device
// read or an earlier recall brought them along (WithSignatureRecall) and slot is
// among them, those it brought, with no query. Any failure is an empty answer: the caller signs.
func (s *Service) RecallSignatures(ctx context.Context, deviceID int64, slot int) []DeviceSignature {
	var got []DeviceSignature
	if sigs, ok := s.recalledWithRead(ctx, deviceID, slot); ok {
		got = sigs
	} else if err := s.store.ReadSingle(ctx, func(tx Tx) (err error) {
		got, err = tx.DeviceSignatures(ctx, deviceID)
		return err
	}); err != nil {
		got = nil
	} else {
		recallFound(ctx, deviceID, got) // the request's other slots need no query (recalls hand out copies)
	}
	s.memo.mu.Lock()
	for slot := range SlotVariables + 1 { // a flush may have stored one since the read: signed again, no harm
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

// FlushSignatures stores the remembered signatures, ordered by device and slot,
// flushChunk per transaction. Failed ones are dropped: they are only an optimisation.
// Each stays pending until the flush ends, so a recall during the flush finds it
// there if not yet stored.
func (s *Service) FlushSignatures(ctx context.Context) error {
	s.memo.mu.Lock()
	sigs := slices.Collect(maps.Values(s.memo.pending))
	s.memo.mu.Unlock()
	if len(sigs) == 0 {
		return nil
	}
	sortSignatures(sigs)
	written, err := s.writeInChunks(ctx, len(sigs), func(tx Tx, lo, hi int) error {
		return tx.PutDeviceSignatures(ctx, sigs[lo:hi])
	})
	s.memo.mu.Lock()
	for _, sig := range sigs { // unless remembered anew meanwhile
		k := signatureKey{sig.DeviceID, sig.Slot}
		if cur, ok := s.memo.pending[k]; ok && cur.Signature == sig.Signature && bytes.Equal(cur.Digest, sig.Digest) {
			delete(s.memo.pending, k)
		}
	}
	s.memo.mu.Unlock()
	if err != nil {
		return fmt.Errorf("store %d signatures: %w", len(sigs)-written, err)
	}
	return nil
}

func sortSignatures(sigs []DeviceSignature) {
	slices.SortFunc(sigs, func(a, b DeviceSignature) int {
		return cmp.Or(cmp.Compare(a.DeviceID, b.DeviceID), cmp.Compare(a.Slot, b.Slot))
	})
}
