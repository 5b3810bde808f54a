// Package ratelimit holds licensor's request limits: token buckets kept per key (a
// company, a client address, an Authorization value) in bounded memory, and the
// answer both APIs give when one runs dry (429 with Retry-After).
//
// A limit of N requests per window is a token bucket that holds N tokens and refills
// at N per window. It approximates LicenseSpring's documented rolling windows: a client
// that has been quiet may spend N at once, and afterwards gets one request every
// window/N; over any one window it can get at most 2N (a full bucket plus one window's
// refill), never more.
package ratelimit

import (
	"hash/maphash"
	"math"
	"net/http"
	"strconv"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"github.com/licensor/licensor/internal/licensing"
)

// The windows of the four limits LicenseSpring documents.
const (
	CompanyWindow       = time.Minute      // per company, each API on its own
	IPWindow            = 10 * time.Second // per client IP address
	AuthorizationWindow = time.Second      // per Authorization header value
)

// Limits are licensor's four request limits, each a number of requests per its window;
// 0 turns a limit off.
type Limits struct {
	CompanyLicense int // License API requests per company per CompanyWindow
	CompanyManage  int // management API requests per company per CompanyWindow
	IP             int // requests per client address per IPWindow
	Authorization  int // requests per Authorization value per AuthorizationWindow
}

// LicenseSpring is LicenseSpring's documented limits, with its Enterprise plan's
// per-company figures (Free: 1,800 and 600; Business Starter: 3,600 and 900;
// Business Plus: 4,500 and 1,200).
var LicenseSpring = Limits{CompanyLicense: 18000, CompanyManage: 2400, IP: 200, Authorization: 50}

// DefaultMaxKeys is how many keys a Keyed limiter remembers unless told otherwise.
const DefaultMaxKeys = 1 << 16

const shards = 16

// Config configures a Keyed limiter.
type Config struct {
	N       int           // requests per window (≤ 0: no limit)
	Per     time.Duration // the window
	MaxKeys int           // most keys remembered (0: DefaultMaxKeys)
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Keyed is one limit applied to each key on its own. It remembers at most MaxKeys keys:
// beyond that the least recently seen ones are forgotten, which only ever lets a
// forgotten key start again with a full bucket. A nil *Keyed allows everything.
type Keyed[K comparable] struct {
	limit  rate.Limit
	burst  int
	now    func() time.Time
	seed   maphash.Seed
	shards [shards]*lru.Cache[K, *rate.Limiter]
}

// New returns a limiter of c.N requests per c.Per for each key, or nil (no limit) if
// c.N or c.Per is not positive.
func New[K comparable](c Config) *Keyed[K] {
	if c.N <= 0 || c.Per <= 0 {
		return nil
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	k := &Keyed[K]{
		limit: rate.Limit(float64(c.N) / c.Per.Seconds()),
		burst: c.N,
		now:   c.Now,
		seed:  maphash.MakeSeed(),
	}
	per := max(1, (c.MaxKeys+shards-1)/shards)
	for i := range k.shards {
		k.shards[i], _ = lru.New[K, *rate.Limiter](per)
	}
	return k
}

// Allow takes one request from key's bucket. If the bucket is empty it reports false
// and how long until it holds a token again.
func (k *Keyed[K]) Allow(key K) (ok bool, retryAfter time.Duration) {
	if k == nil {
		return true, 0
	}
	shard := k.shards[maphash.Comparable(k.seed, key)%shards]
	l, found := shard.Get(key)
	if !found {
		fresh := rate.NewLimiter(k.limit, k.burst)
		if prev, raced, _ := shard.PeekOrAdd(key, fresh); raced {
			l = prev
		} else {
			l = fresh
		}
	}
	now := k.now()
	if l.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - l.TokensAt(now)
	wait := time.Duration(math.Ceil(missing / float64(k.limit) * float64(time.Second)))
	return false, max(wait, time.Nanosecond)
}

// Len is how many keys are remembered.
func (k *Keyed[K]) Len() int {
	if k == nil {
		return 0
	}
	n := 0
	for _, s := range k.shards {
		n += s.Len()
	}
	return n
}

// RetryAfter is the Retry-After value for a wait: whole seconds, rounded up, at least 1.
func RetryAfter(wait time.Duration) int {
	s := int((wait + time.Second - 1) / time.Second)
	return max(s, 1)
}

// Refuse sets Retry-After on w and returns the rate_limited error (HTTP 429) for the
// API to write in its own error shape. what names the limit, e.g. "this client address".
func Refuse(w http.ResponseWriter, wait time.Duration, what string) *licensing.Error {
	s := RetryAfter(wait)
	w.Header().Set("Retry-After", strconv.Itoa(s))
	return licensing.Errorf(licensing.ERateLimited, "Too many requests for %s; retry after %d s", what, s)
}

// CompanyLimiter limits the requests of each company (tenant) to one API. Allow reports
// whether one more is allowed now and, if not, how long until it would be.
type CompanyLimiter interface {
	Allow(companyID int64) (ok bool, retryAfter time.Duration)
}

// Company applies l to an API's authenticated request of companyID: nil if allowed,
// otherwise the rate_limited error to write, with Retry-After already set on w. A nil l
// allows everything.
func Company(l CompanyLimiter, w http.ResponseWriter, companyID int64) *licensing.Error {
	if l == nil {
		return nil
	}
	if ok, wait := l.Allow(companyID); !ok {
		return Refuse(w, wait, "this company")
	}
	return nil
}
