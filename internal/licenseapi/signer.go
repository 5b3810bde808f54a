package licenseapi

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/licensor/licensor/internal/signing"
)

// DefaultSignatureCache is how many signatures are kept for reuse (~400 bytes each).
const DefaultSignatureCache = 65536

// signer signs response bytes for a company, reusing the signature of bytes it has
// signed before: RSA-2048 costs ~1.5 ms, and heartbeats (check_license, unchanged
// track_device_variables) answer byte-identical bodies. A signature depends only on the
// company's key, which never changes once made, and the exact bytes, so a cached one
// is valid on every instance and needs no invalidation.
type signer struct {
	keys    sync.Map // company id → *signing.Signer
	cache   *lru.Cache[[32]byte, string]
	made    atomic.Int64
	reused  atomic.Int64
	loadKey func(ctx context.Context, companyID int64) (string, error)
}

func newSigner(size int, loadKey func(ctx context.Context, companyID int64) (string, error)) *signer {
	if size <= 0 {
		size = DefaultSignatureCache
	}
	c, err := lru.New[[32]byte, string](size)
	if err != nil {
		panic(err) // only for size <= 0, excluded above
	}
	return &signer{cache: c, loadKey: loadKey}
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
	h := sha256.New()
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], uint64(companyID))
	h.Write(id[:])
	h.Write(msg)
	var sum [32]byte
	h.Sum(sum[:0])
	if sig, ok := s.cache.Get(sum); ok {
		s.reused.Add(1)
		return sig, nil
	}
	k, err := s.key(ctx, companyID)
	if err != nil {
		return "", err
	}
	sig, err := k.Sign(msg)
	if err != nil {
		return "", err
	}
	s.made.Add(1)
	s.cache.Add(sum, sig)
	return sig, nil
}
