package licensing

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// License API keys are looked up on every License API call. All of a key but its
// revocation is fixed when it is made (company, shared key, read-only), so the Service
// keeps the keys it found in an LRU. A key served from there may since have been
// revoked, on this instance or another: WithAPIKey makes the first transaction of the
// operation the request then runs check it, with one primary-key lookup (or a column of
// a statement it runs anyway) instead of a lookup of its own per request. A request that
// fails before it reaches the store asks again (RecheckAPIKey), except when rate-limited:
// entries live apiKeyTTL at most, which bounds how long a key revoked on another
// instance can still be counted against the rate limit instead of refused. Revoking on
// this instance drops the key at once. Only keys that exist are cached, so a key made
// elsewhere is found at once.

const (
	apiKeyCacheSize = 16384
	apiKeyTTL       = 30 * time.Second
)

type cachedAPIKey struct {
	key APIKey
	at  time.Time
}

func newAPIKeyCache() *lru.Cache[string, cachedAPIKey] {
	c, _ := lru.New[string, cachedAPIKey](apiKeyCacheSize)
	return c
}

// APIKeyByKey returns a License API key (any company), its shared key opened: the HTTP
// layer checks the request's HMAC with it and refuses a revoked key. A key that comes
// from the cache has Revoked false as last seen; pass it to WithAPIKey so that the
// operation's transactions check it again.
func (s *Service) APIKeyByKey(ctx context.Context, key string) (APIKey, error) {
	if c, ok := s.apiKeys.Get(key); ok && time.Since(c.at) < apiKeyTTL {
		c.key.cached = true
		return c.key, nil
	}
	var k APIKey
	err := s.store.ReadSingle(ctx, func(tx Tx) (err error) {
		k, err = tx.APIKeyByKey(ctx, key)
		return err
	})
	if errors.Is(err, ErrNoRows) {
		s.apiKeys.Remove(key)
		return k, ErrInvalidAPIKey()
	} else if err != nil {
		return k, err
	}
	if err := s.openAPIKey(&k); err != nil {
		return k, err
	}
	if k.Revoked {
		s.apiKeys.Remove(key)
	} else {
		s.apiKeys.Add(key, cachedAPIKey{k, time.Now()})
	}
	return k, nil
}

// RecheckAPIKey is for a request authenticated with k that failed with err before its
// operation reached the store (parameters, Date skew; not the rate limit): if k came from the
// cache and has been revoked since, that is the error to report, as it would have been
// had k been read from the store. Errors about the key or its signature are returned
// as they are.
func (s *Service) RecheckAPIKey(ctx context.Context, k APIKey, err error) error {
	switch ErrorCode(err) {
	case EInvalidAPIKey, ERevokedAPIKey, ESignatureMismatch:
		return err
	case ERateLimited:
		return err // a refusal that must stay cheap: the cache entry's age bounds it
	}
	if !k.cached || err == nil {
		return err
	}
	verdict := keyMissAsError(s.store.ReadSingle(ctx, func(tx Tx) error {
		return keyMissAsNoRows(s.keyState(ctx, tx, guard{id: k.ID, key: k.Key}))
	}))
	var e *Error
	if errors.As(verdict, &e) {
		return verdict
	}
	return err // usable, or the store could not tell: the request's own error
}

// errKeyMissing is a cached key's "not found" inside ReadSingle, where a miss is
// reported as ErrNoRows: a store whose single reads may lag a moment behind another
// process's writes (SQLite's kept snapshots) then looks again. A key found before
// and missing now is more likely such a lag than a key gone: keys are never deleted.
var errKeyMissing = fmt.Errorf("api key not found: %w", ErrNoRows)

// keyMissAsNoRows turns the verdict on a missing cached key into errKeyMissing.
func keyMissAsNoRows(err error) error {
	if ErrorCode(err) == EInvalidAPIKey {
		return errKeyMissing
	}
	return err
}

// keyMissAsError turns errKeyMissing back into the documented error.
func keyMissAsError(err error) error {
	if errors.Is(err, errKeyMissing) {
		return ErrInvalidAPIKey()
	}
	return err
}

// forgetAPIKey drops the key with that id from the cache (it was revoked here).
func (s *Service) forgetAPIKey(id int64) {
	for _, key := range s.apiKeys.Keys() {
		if c, ok := s.apiKeys.Peek(key); ok && c.key.ID == id {
			s.apiKeys.Remove(key)
		}
	}
}

// guard names the cached key WithAPIKey asks to check; checked is set once a
// transaction of the operation has found it usable.
type guard struct {
	id      int64
	key     string
	checked *atomic.Bool
}

type apiKeyGuardKey struct{}

// WithAPIKey returns ctx for an operation a request authenticated with k runs. If k
// came from the cache, the operation's first transaction checks that k is still not
// revoked (revoked_api_key otherwise), as the one lookup at the start of the request
// that it replaces did; a key just read from the store needs no second look. A Write
// checks it before anything else (writeDevice: in its first lookup, before any write);
// a Read (nothing to undo) after its work, unless that work checked it on the way
// (keyedRead), and its error then wins over the work's.
func WithAPIKey(ctx context.Context, k APIKey) context.Context {
	if !k.cached {
		return ctx
	}
	return context.WithValue(ctx, apiKeyGuardKey{}, guard{k.ID, k.Key, new(atomic.Bool)})
}

// pendingAPIKey returns the key WithAPIKey asked to check if no transaction of the
// operation has checked it yet (id 0: nothing to check).
func pendingAPIKey(ctx context.Context) guard {
	g, _ := ctx.Value(apiKeyGuardKey{}).(guard)
	if g.id == 0 || g.checked.Load() {
		return guard{}
	}
	return g
}

// guardAPIKey is the check WithAPIKey asks for, run inside tx.
func (s *Service) guardAPIKey(ctx context.Context, tx Tx) error {
	g := pendingAPIKey(ctx)
	if g.id == 0 {
		return nil
	}
	return s.keyState(ctx, tx, g)
}

// keyState reads the revocation of a cached key in tx: apiKeyVerdict's error if the
// key is no longer usable.
func (s *Service) keyState(ctx context.Context, tx Tx, g guard) error {
	revoked, err := tx.APIKeyRevoked(ctx, g.id)
	if errors.Is(err, ErrNoRows) {
		return s.apiKeyVerdict(g, false, false)
	} else if err != nil {
		return fmt.Errorf("api key revoked: %w", err)
	}
	return s.apiKeyVerdict(g, true, revoked)
}

// apiKeyVerdict is the error for a cached key's state in the store, if it is not usable
// any more; such a key leaves the cache. A usable key counts as checked.
func (s *Service) apiKeyVerdict(g guard, found, revoked bool) error {
	switch {
	case !found:
		s.apiKeys.Remove(g.key)
		return ErrInvalidAPIKey()
	case revoked:
		s.apiKeys.Remove(g.key)
		return ErrRevokedAPIKey()
	}
	if g.checked != nil {
		g.checked.Store(true)
	}
	return nil
}

// ErrInvalidAPIKey is the documented error for a License API key that does not exist.
func ErrInvalidAPIKey() *Error { return Errorf(EInvalidAPIKey, "Provided api key is not valid") }

// ErrRevokedAPIKey is the documented error for a revoked License API key.
func ErrRevokedAPIKey() *Error { return Errorf(ERevokedAPIKey, "Provided api key is revoked") }
