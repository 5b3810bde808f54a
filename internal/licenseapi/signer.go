package licenseapi

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/signing"
)

// DefaultSignatureCache is how many signatures are kept for reuse (~430 bytes each, index included).
const DefaultSignatureCache = 65536

// signer signs response bytes for a company, reusing the signature of bytes it has
// signed before: RSA-2048 costs ~1.5 ms, and heartbeats (check_license, unchanged
// track_device_variables) answer byte-identical bodies. A signature depends only on the
// company's key, which never changes once made, and the exact bytes, so a cached one
// is valid on every instance and needs no invalidation.
//
// Behind the cache, a device's answers are remembered per kind in the database (memo):
// with a large fleet, or after a restart, a heartbeat's answer is rarely still cached,
// but it is usually what that device was last answered. A recalled answer is cached
// only when it is recalled again soon (doorkeeper), as a small fleet's are.
type signer struct {
	keys     sync.Map // company id → *signing.Signer
	cache    *sigCache
	memo     memo // nil: no per-device memory
	made     atomic.Int64
	reused   atomic.Int64
	recalled atomic.Int64
	loadKey  func(ctx context.Context, companyID int64) (string, error)
	seen     *doorkeeper // digests recalled lately, for the cache's admission
	// slots bounds the signatures computed at once to the cores: requests that must
	// sign queue for a slot in arrival order instead of all sharing the CPU at once
	// (which would finish every one of a burst late), and the cores they leave free
	// serve the answers that come from the cache.
	slots chan struct{}
}

// memo remembers the last signature of each kind of answer per device.
type memo interface {
	RecallSignatures(ctx context.Context, deviceID int64, slot int) []licensing.DeviceSignature
	RememberSignature(ctx context.Context, deviceID int64, slot int, digest []byte, signature string)
}

// slot names one kind of answer about one device (licensing.Slot…); the zero slot
// is remembered nowhere but the cache.
type slot struct {
	device int64
	kind   int
	fresh  bool // the answer is known to be new: remember it, recall nothing
}

func newSigner(size int, loadKey func(ctx context.Context, companyID int64) (string, error)) *signer {
	if size <= 0 {
		size = DefaultSignatureCache
	}
	return &signer{cache: newSigCache(size), seen: newDoorkeeper(size), loadKey: loadKey, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// doorkeeper remembers the digests of recent recalls, one per slot of a
// direct-mapped table at least as large as the cache; a digest is seen again while
// no other has taken its slot since. Lock-free: a race loses an admission, no more.
type doorkeeper struct{ tags []atomic.Uint64 }

func newDoorkeeper(size int) *doorkeeper {
	n := 1
	for n < size {
		n <<= 1
	}
	return &doorkeeper{tags: make([]atomic.Uint64, n)}
}

// again records d and reports whether its slot held d already.
func (k *doorkeeper) again(d [32]byte) bool {
	tag := binary.LittleEndian.Uint64(d[:8]) | 1 // never the empty slot's 0
	slot := &k.tags[binary.LittleEndian.Uint64(d[8:16])&uint64(len(k.tags)-1)]
	if slot.Load() == tag {
		return true
	}
	slot.Store(tag)
	return false
}

// key returns a company's parsed signing key, parsing it once.
func (s *signer) key(ctx context.Context, companyID int64) (*signing.Signer, error) {
	if k, ok := s.keys.Load(companyID); ok {
		return k.(*signing.Signer), nil
	}
	pem, err := s.loadKey(ctx, companyID)
	if err != nil {
		return nil, err
	}
	k, err := signing.Parse(pem)
	if err != nil {
		return nil, err
	}
	s.keys.Store(companyID, k)
	return k, nil
}

// sign returns the base64 signature of msg under the company's key.
func (s *signer) sign(ctx context.Context, companyID int64, msg []byte) (string, error) {
	return s.signFor(ctx, companyID, slot{}, msg)
}

// signFor is sign for an answer about a device: on a cache miss it first asks the memo
// for the signature that device's last answer of this kind had.
func (s *signer) signFor(ctx context.Context, companyID int64, sl slot, msg []byte) (string, error) {
	h := sha256.New()
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], uint64(companyID))
	h.Write(id[:])
	h.Write(msg)
	var sum [32]byte
	h.Sum(sum[:0])
	if sig, ok := s.cache.get(sum); ok {
		s.reused.Add(1)
		return sig, nil
	}
	remember := sl.device != 0 && s.memo != nil
	if remember && !sl.fresh {
		// A recalled answer enters the cache when it is recalled again soon after, as
		// a small fleet's are. A fleet larger than the cache, heartbeating in turn,
		// recalls each answer once per round, where caching it would only evict
		// another. (The request's other answers need no cache: the memo hands over
		// what the first recall brought.)
		for _, r := range s.memo.RecallSignatures(ctx, sl.device, sl.kind) {
			if len(r.Digest) != len(sum) || [32]byte(r.Digest) != sum {
				continue
			}
			if s.seen.again(sum) {
				s.cache.add(sum, r.Signature)
			}
			s.recalled.Add(1)
			return r.Signature, nil
		}
	}
	k, err := s.key(ctx, companyID)
	if err != nil {
		return "", err
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	sig, err := k.Sign(msg)
	<-s.slots
	if err != nil {
		return "", err
	}
	s.made.Add(1)
	s.cache.add(sum, sig)
	if remember {
		s.memo.RememberSignature(ctx, sl.device, sl.kind, sum[:], sig)
	}
	return sig, nil
}
