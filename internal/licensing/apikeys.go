package licensing

import (
	"context"
	"errors"
	"fmt"

	lru "github.com/hashicorp/golang-lru/v2"
)

// License API keys are looked up on every License API call. All of a key but its
// revocation is fixed when it is made (company, shared key, read-only), so the Service
// keeps the keys it found in an LRU. A key served from there may since have been
// revoked, on this instance or another: WithAPIKey makes every transaction of the
// operation the request then runs check that first, with one primary-key lookup inside
// a transaction the operation opens anyway, instead of a lookup of its own per request.
// Only keys that exist are cached, so a key made elsewhere is found at once.

const apiKeyCacheSize = 16384

func newAPIKeyCache() *lru.Cache[string, APIKey] {
	c, _ := lru.New[string, APIKey](apiKeyCacheSize)
	return c
}

// APIKeyByKey returns a License API key (any company), its shared key opened: the HTTP
// layer checks the request's HMAC with it and refuses a revoked key. A key that comes
// from the cache has Revoked false as last seen; pass it to WithAPIKey so that the
// operation's transactions check it again.
func (s *Service) APIKeyByKey(ctx context.Context, key string) (APIKey, error) {
	if k, ok := s.apiKeys.Get(key); ok {
		k.cached = true
		return k, nil
	}
	var k APIKey
	err := s.store.ReadSingle(ctx, func(tx Tx) (err error) {
		k, err = tx.APIKeyByKey(ctx, key)
		return err
	})
	if errors.Is(err, ErrNoRows) {
		return k, Errorf(EInvalidAPIKey, "Provided api key is not valid")
	} else if err != nil {
		return k, err
	}
	if err := s.openAPIKey(&k); err != nil {
		return k, err
	}
	if !k.Revoked {
		s.apiKeys.Add(key, k)
	}
	return k, nil
}

// forgetAPIKey drops a key from the cache (it was revoked).
func (s *Service) forgetAPIKey(id int64) {
	for _, key := range s.apiKeys.Keys() {
		if k, ok := s.apiKeys.Peek(key); ok && k.ID == id {
			s.apiKeys.Remove(key)
		}
	}
}

type apiKeyGuardKey struct{}

// WithAPIKey returns ctx for an operation a request authenticated with k runs. If k
// came from the cache, every Read and Write transaction of the operation first checks
// that k is still not revoked (revoked_api_key otherwise); a key just read from the
// store needs no second look.
func WithAPIKey(ctx context.Context, k APIKey) context.Context {
	if !k.cached {
		return ctx
	}
	return context.WithValue(ctx, apiKeyGuardKey{}, k.ID)
}

// guardedAPIKey returns the key id WithAPIKey asked to check, or 0.
func guardedAPIKey(ctx context.Context) int64 {
	id, _ := ctx.Value(apiKeyGuardKey{}).(int64)
	return id
}

// guardAPIKey is the check WithAPIKey asks for, run inside tx.
func (s *Service) guardAPIKey(ctx context.Context, tx Tx) error {
	id := guardedAPIKey(ctx)
	if id == 0 {
		return nil
	}
	revoked, err := tx.APIKeyRevoked(ctx, id)
	if errors.Is(err, ErrNoRows) {
		return s.apiKeyVerdict(id, false, false)
	} else if err != nil {
		return fmt.Errorf("api key revoked: %w", err)
	}
	return s.apiKeyVerdict(id, true, revoked)
}

// apiKeyVerdict is the error for a cached key's state in the store, if it is not usable
// any more; such a key leaves the cache.
func (s *Service) apiKeyVerdict(id int64, found, revoked bool) error {
	switch {
	case !found:
		s.forgetAPIKey(id)
		return Errorf(EInvalidAPIKey, "Provided api key is not valid")
	case revoked:
		s.forgetAPIKey(id)
		return Errorf(ERevokedAPIKey, "Provided api key is revoked")
	}
	return nil
}
