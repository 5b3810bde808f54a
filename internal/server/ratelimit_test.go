package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/client"
	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/ratelimit"
	"github.com/licensor/licensor/internal/sqlite"
)

// countingStore counts the transactions requests open.
type countingStore struct {
	licensing.Store
	calls atomic.Int64
}

func (s *countingStore) Read(ctx context.Context, fn func(licensing.Tx) error) error {
	s.calls.Add(1)
	return s.Store.Read(ctx, fn)
}

func (s *countingStore) ReadSingle(ctx context.Context, fn func(licensing.Tx) error) error {
	s.calls.Add(1)
	return s.Store.ReadSingle(ctx, fn)
}

func (s *countingStore) Write(ctx context.Context, fn func(licensing.Tx) error) error {
	s.calls.Add(1)
	return s.Store.Write(ctx, fn)
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// limitEnv is a server with two companies, rate limits and a manual limit clock.
type limitEnv struct {
	t      *testing.T
	s      *Server
	h      http.Handler
	store  *countingStore
	clock  *fakeClock
	a, b   licensing.Credentials
	remote string // RemoteAddr of the next requests
}

func newLimitEnv(t *testing.T, cfg Config) *limitEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cs := &countingStore{Store: st}
	svc := licensing.NewService(cs)
	a, err := svc.Init(ctx, "a", "ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.CreateCompany(ctx, "b", "ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now()}
	cfg.clock = clock.now
	s := New(svc, cfg)
	s.healthy.Store(true)
	return &limitEnv{t: t, s: s, h: s.Handler(), store: cs, clock: clock, a: a, b: b, remote: "192.0.2.1:5000"}
}

// do sends one request from e.remote with the given Authorization ("": none).
func (e *limitEnv) do(method, path, authorization string, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, path, nil)
	r.RemoteAddr = e.remote
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// license sends a signed License API check_license of company c (it fails after
// authentication for want of parameters, which is enough to count).
func (e *limitEnv) license(c licensing.Credentials) *httptest.ResponseRecorder {
	e.t.Helper()
	date := time.Now().UTC().Format(http.TimeFormat)
	auth := `algorithm="hmac-sha256",headers="date",signature="` + client.Sign(c.SharedKey, date) + `",apikey="` + c.APIKey + `"`
	return e.do("GET", "/api/v4/check_license", auth, "Date", date)
}

// manage sends a management API request of company c.
func (e *limitEnv) manage(c licensing.Credentials) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do("GET", "/api/v1/products/", "Api-Key "+c.ManagementKey)
}

// notLimited requires w not to be a 429.
func notLimited(t *testing.T, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code == http.StatusTooManyRequests || w.Header().Get("Retry-After") != "" {
		t.Fatalf("%s: %d (Retry-After %q) %s, want no limit", what, w.Code, w.Header().Get("Retry-After"), w.Body)
	}
}

// limited requires a 429 with Retry-After and the error body of the API: the License
// API's {status,code,message} or the management API's {status,code,detail}.
func limited(t *testing.T, what string, w *httptest.ResponseRecorder, retryAfter, text string, management bool) {
	t.Helper()
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("%s: status %d %s, want 429", what, w.Code, w.Body)
	}
	if got := w.Header().Get("Retry-After"); got != retryAfter {
		t.Fatalf("%s: Retry-After %q, want %q", what, got, retryAfter)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q", what, ct)
	}
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: body %s: %v", what, w.Body, err)
	}
	var keys []string
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	msgKey, wantKeys := "message", "code message status"
	if management {
		msgKey, wantKeys = "detail", "code detail status"
	}
	if strings.Join(keys, " ") != wantKeys || body["status"] != 429.0 || body["code"] != "rate_limited" {
		t.Fatalf("%s: body %s, want keys %q, status 429, code rate_limited", what, w.Body, wantKeys)
	}
	if msg, _ := body[msgKey].(string); !strings.Contains(msg, text) || !strings.Contains(msg, "retry after "+retryAfter+" s") {
		t.Fatalf("%s: %s %q, want it to name %q and the wait", what, msgKey, msg, text)
	}
}

func (e *limitEnv) metric(limit string) string {
	e.t.Helper()
	w := e.do("GET", "/metrics", "")
	for _, line := range strings.Split(w.Body.String(), "\n") {
		if strings.HasPrefix(line, `licensor_rate_limited_total{limit="`+limit+`"} `) {
			return strings.Fields(line)[1]
		}
	}
	e.t.Fatalf("no licensor_rate_limited_total for %s in\n%s", limit, w.Body)
	return ""
}

func TestRateLimitsOffByDefault(t *testing.T) {
	e := newLimitEnv(t, Config{})
	for i := range 300 {
		notLimited(t, "unauthenticated", e.do("GET", "/api/v4/check_license", "x"))
		if i < 100 {
			notLimited(t, "license", e.license(e.a))
			notLimited(t, "manage", e.manage(e.a))
		}
	}
	for _, l := range []string{"ip", "authorization", "company_license", "company_manage"} {
		if got := e.metric(l); got != "0" {
			t.Errorf("%s: %s refused", l, got)
		}
	}
}

func TestRateLimitIP(t *testing.T) {
	// 3 per 10 s: one token every 3⅓ s.
	e := newLimitEnv(t, Config{RateLimits: ratelimit.Limits{IP: 3}})
	for range 3 {
		notLimited(t, "within the limit", e.do("GET", "/api/v4/check_license", ""))
	}
	before := e.store.calls.Load()
	limited(t, "License API, 4th", e.do("GET", "/api/v4/check_license", ""), "4", "client address", false)
	limited(t, "management API, same address", e.manage(e.a), "4", "client address", true)
	limited(t, "signed License API, same address", e.license(e.a), "4", "client address", false)
	if n := e.store.calls.Load() - before; n != 0 {
		t.Fatalf("limited requests opened %d transactions, want none", n)
	}
	for _, p := range []string{"/healthz", "/metrics"} {
		if w := e.do("GET", p, ""); w.Code != 200 {
			t.Fatalf("%s from a limited address: %d", p, w.Code)
		}
	}
	// Another address; the same /64 of an IPv6 one shares a bucket, another /64 does not.
	e.remote = "192.0.2.2:5000"
	notLimited(t, "other IPv4 address", e.manage(e.a))
	e.remote = "[2001:db8::1]:5000"
	for range 3 {
		notLimited(t, "IPv6", e.do("GET", "/api/v4/check_license", ""))
	}
	e.remote = "[2001:db8::ffff:1]:5000"
	limited(t, "IPv6, same /64", e.do("GET", "/api/v4/check_license", ""), "4", "client address", false)
	e.remote = "[2001:db8:0:1::1]:5000"
	notLimited(t, "IPv6, next /64", e.do("GET", "/api/v4/check_license", ""))

	e.remote = "192.0.2.1:5000"
	e.clock.advance(3 * time.Second)
	limited(t, "after 3 s", e.do("GET", "/api/v4/check_license", ""), "1", "client address", false)
	e.clock.advance(400 * time.Millisecond)
	notLimited(t, "after 3.4 s (one token)", e.do("GET", "/api/v4/check_license", ""))
	limited(t, "token spent", e.do("GET", "/api/v4/check_license", ""), "4", "client address", false)
	e.clock.advance(10 * time.Second)
	for range 3 {
		notLimited(t, "after the window", e.do("GET", "/api/v4/check_license", ""))
	}
	if got := e.metric("ip"); got != "6" {
		t.Fatalf("ip refusals counted %s, want 6", got)
	}
}

// Behind a trusted proxy the limit applies to the client X-Forwarded-For names.
func TestRateLimitIPBehindProxy(t *testing.T) {
	proxies, _ := ParseTrustedProxies("10.0.0.0/8")
	e := newLimitEnv(t, Config{TrustedProxies: proxies, RateLimits: ratelimit.Limits{IP: 2}})
	e.remote = "10.1.1.1:4000"
	for range 2 {
		notLimited(t, "client 1", e.do("GET", "/api/v4/check_license", "", "X-Forwarded-For", "198.51.100.1"))
	}
	limited(t, "client 1, 3rd", e.do("GET", "/api/v4/check_license", "", "X-Forwarded-For", "198.51.100.1"), "5", "client address", false)
	for range 2 {
		notLimited(t, "client 2 through the same proxy", e.do("GET", "/api/v4/check_license", "", "X-Forwarded-For", "198.51.100.2"))
	}
}

func TestRateLimitAuthorization(t *testing.T) {
	// 2 per second: one token every 500 ms.
	e := newLimitEnv(t, Config{RateLimits: ratelimit.Limits{Authorization: 2}})
	for range 2 {
		if w := e.manage(e.a); w.Code != 200 {
			t.Fatalf("manage: %d %s", w.Code, w.Body)
		}
	}
	before := e.store.calls.Load()
	limited(t, "management key, 3rd", e.manage(e.a), "1", "Authorization", true)
	if n := e.store.calls.Load() - before; n != 0 {
		t.Fatalf("limited request opened %d transactions, want none", n)
	}
	if w := e.manage(e.b); w.Code != 200 {
		t.Fatalf("other key: %d %s", w.Code, w.Body)
	}
	// The License API, unauthenticated: any value counts, before it is checked.
	for range 2 {
		notLimited(t, "garbage value", e.do("GET", "/api/v4/check_license", "garbage"))
	}
	limited(t, "garbage value, 3rd", e.do("GET", "/api/v4/check_license", "garbage"), "1", "Authorization", false)
	notLimited(t, "no Authorization", e.do("GET", "/api/v4/check_license", ""))
	notLimited(t, "another value", e.do("GET", "/api/v4/check_license", "garbage2"))

	e.clock.advance(time.Second)
	for range 2 {
		if w := e.manage(e.a); w.Code != 200 {
			t.Fatalf("after the window: %d %s", w.Code, w.Body)
		}
	}
	if got := e.metric("authorization"); got != "2" {
		t.Fatalf("authorization refusals counted %s, want 2", got)
	}
	// Only a hash of each value is remembered.
	if e.s.limits.auth.Len() != 4 {
		t.Fatalf("%d Authorization keys remembered, want 4", e.s.limits.auth.Len())
	}
}

func TestRateLimitCompanyLicense(t *testing.T) {
	// 3 per minute: one token every 20 s.
	e := newLimitEnv(t, Config{RateLimits: ratelimit.Limits{CompanyLicense: 3}})
	// Requests that fail authentication do not count; what one costs is what
	// authentication costs.
	var authCost int64
	for range 5 {
		before := e.store.calls.Load()
		w := e.do("GET", "/api/v4/check_license", `algorithm="hmac-sha256",headers="date",signature="AAAA",apikey="`+e.a.APIKey+`"`, "Date", time.Now().UTC().Format(http.TimeFormat))
		if !strings.Contains(w.Body.String(), "signature_mismatch") {
			t.Fatalf("bad signature: %d %s", w.Code, w.Body)
		}
		authCost = e.store.calls.Load() - before
	}
	for range 3 {
		notLimited(t, "within the limit", e.license(e.a))
	}
	before := e.store.calls.Load()
	limited(t, "4th", e.license(e.a), "20", "company", false)
	if n := e.store.calls.Load() - before; n > authCost {
		t.Fatalf("company-limited request opened %d transactions, authentication alone %d", n, authCost)
	}
	notLimited(t, "other company", e.license(e.b))
	if w := e.manage(e.a); w.Code != 200 {
		t.Fatalf("management API of the limited company: %d %s", w.Code, w.Body)
	}
	e.clock.advance(20 * time.Second)
	notLimited(t, "20 s later", e.license(e.a))
	limited(t, "token spent", e.license(e.a), "20", "company", false)
	e.clock.advance(time.Minute)
	for range 3 {
		notLimited(t, "after the window", e.license(e.a))
	}
	if got := e.metric("company_license"); got != "2" {
		t.Fatalf("company_license refusals counted %s, want 2", got)
	}
	// The License API's own series counts the answer too.
	if w := e.do("GET", "/metrics", ""); !strings.Contains(w.Body.String(), `licensor_license_api_requests_total{code="rate_limited",endpoint="check_license"} 2`) {
		t.Fatal("License API requests metric lacks the rate_limited answers")
	}
}

func TestRateLimitCompanyManage(t *testing.T) {
	// 2 per minute: one token every 30 s.
	e := newLimitEnv(t, Config{RateLimits: ratelimit.Limits{CompanyManage: 2}})
	for range 3 {
		if w := e.do("GET", "/api/v1/products/", "Api-Key "+e.a.ManagementKey+"x"); w.Code != 401 {
			t.Fatalf("wrong key: %d %s", w.Code, w.Body)
		}
	}
	for range 2 {
		if w := e.manage(e.a); w.Code != 200 {
			t.Fatalf("within the limit: %d %s", w.Code, w.Body)
		}
	}
	before := e.store.calls.Load()
	limited(t, "3rd", e.manage(e.a), "30", "company", true)
	limited(t, "POST", e.do("POST", "/api/v1/products/", "Api-Key "+e.a.ManagementKey), "30", "company", true)
	if n := e.store.calls.Load() - before; n > 2 {
		t.Fatalf("2 company-limited requests opened %d transactions, want at most their key lookups", n)
	}
	if w := e.manage(e.b); w.Code != 200 {
		t.Fatalf("other company: %d %s", w.Code, w.Body)
	}
	notLimited(t, "License API of the limited company", e.license(e.a))
	e.clock.advance(30 * time.Second)
	if w := e.manage(e.a); w.Code != 200 {
		t.Fatalf("after 30 s: %d %s", w.Code, w.Body)
	}
	if got := e.metric("company_manage"); got != "2" {
		t.Fatalf("company_manage refusals counted %s, want 2", got)
	}
}

func TestClientKey(t *testing.T) {
	for _, tt := range []struct{ remote, want string }{
		{"192.0.2.1:80", "192.0.2.1/32"},
		{"[::ffff:192.0.2.1]:80", "192.0.2.1/32"},
		{"[2001:db8:1:2:3:4:5:6]:80", "2001:db8:1:2::/64"},
		{"pipe", ""},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		p, ok := clientKey(r)
		got := ""
		if ok {
			got = p.String()
		}
		if got != tt.want {
			t.Errorf("clientKey(%s) = %q, want %q", tt.remote, got, tt.want)
		}
	}
}
