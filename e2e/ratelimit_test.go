package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/client"
)

// limitedServer starts a server of its own with the given serve flags and a second
// company besides the first.
func limitedServer(t *testing.T, args ...string) (*server, creds) {
	t.Helper()
	dir := t.TempDir()
	db, c, err := initDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := runCLI("company", "create", "--name", "Other Co", "--db", db, "--json")
	if err != nil || r.exit != 0 {
		t.Fatalf("company create: exit %d err %v stderr %s", r.exit, err, r.stderr)
	}
	other, err := parseCreds(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{dir: dir, db: db, creds: c, args: args}
	if err := s.serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if exit, err := s.stop(); err != nil || exit != 0 {
			t.Errorf("server exit %d on SIGTERM (%v); output:\n%s", exit, err, s.stderr.String())
		}
	})
	return s, other
}

// get sends one GET with the given Authorization ("": none).
func get(t *testing.T, url, authorization string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func wantRetryAfter(t *testing.T, what string, h http.Header, want string) {
	t.Helper()
	if got := h.Get("Retry-After"); got != want {
		t.Errorf("%s: Retry-After %q, want %q", what, got, want)
	}
}

// licenseLimited requires a License API 429 {status,code,message} with Retry-After.
func licenseLimited(t *testing.T, what string, r *client.Response, retryAfter string) {
	t.Helper()
	wantRespErr(t, what, r, 429, "rate_limited")
	wantKeys(t, what, r.Body, []string{"code", "message", "status"})
	wantRetryAfter(t, what, r.Header, retryAfter)
}

// mgmtLimited requires a management API 429 {status,code,detail} with Retry-After.
func mgmtLimited(t *testing.T, what string, st int, h http.Header, b []byte, retryAfter string) {
	t.Helper()
	checkMgmtErr(t, what, st, b, 429, "rate_limited", "")
	wantKeys(t, what, b, []string{"code", "detail", "status"})
	wantRetryAfter(t, what, h, retryAfter)
}

func wantMetric(t *testing.T, s *server, line string) {
	t.Helper()
	_, _, b := get(t, s.root+"/metrics", "")
	if !strings.Contains(string(b), line) {
		t.Errorf("/metrics lacks %q", line)
	}
}

// Without rate-limit flags nothing is limited (licensor's default).
func TestRateLimitDefaultOff(t *testing.T) {
	t.Parallel()
	for i := range 300 {
		r := rawLicenseAPI(t, shared, "GET", "check_license", nil, nil, map[string]string{"Authorization": "same"})
		if r.Status == 429 {
			t.Fatalf("request %d limited without rate-limit flags: %s", i+1, r.Body)
		}
	}
}

// --rate-ip 20: 20 requests per 10 s from one address, one more every 500 ms.
func TestRateLimitIP(t *testing.T) {
	t.Parallel()
	s, _ := limitedServer(t, "--rate-ip", "20")
	for i := range 20 {
		if r := rawLicenseAPI(t, s, "GET", "check_license", nil, nil, nil); r.Status != 400 {
			t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	licenseLimited(t, "License API, request 21", rawLicenseAPI(t, s, "GET", "check_license", nil, nil, nil), "1")
	st, h, b := get(t, s.root+"/api/v1/products/", "Api-Key "+s.creds.ManagementKey)
	mgmtLimited(t, "management API, same address", st, h, b, "1")
	for _, p := range []string{"/healthz", "/metrics"} {
		if st, _, _ := get(t, s.root+p, ""); st != 200 {
			t.Fatalf("%s from a limited address: %d", p, st)
		}
	}
	wantMetric(t, s, `licensor_rate_limited_total{limit="ip"} 2`)
	time.Sleep(time.Second) // Retry-After
	if st, _, b := get(t, s.root+"/api/v1/products/", "Api-Key "+s.creds.ManagementKey); st != 200 {
		t.Fatalf("after Retry-After: %d %s", st, b)
	}
}

// --rate-authorization 3: 3 requests per second per Authorization value.
func TestRateLimitAuthorization(t *testing.T) {
	t.Parallel()
	s, other := limitedServer(t, "--rate-authorization", "3")
	key := "Api-Key " + s.creds.ManagementKey
	var st int
	var h http.Header
	var b []byte
	for {
		// Three within one second's bucket: retried if a slow machine let one refill.
		start := time.Now()
		for i := range 3 {
			if st, _, b = get(t, s.root+"/api/v1/products/", key); st != 200 {
				t.Fatalf("request %d: %d %s", i+1, st, b)
			}
		}
		st, h, b = get(t, s.root+"/api/v1/products/", key)
		if time.Since(start) < 300*time.Millisecond {
			break
		}
		time.Sleep(1100 * time.Millisecond)
	}
	mgmtLimited(t, "4th with one key", st, h, b, "1")
	if st, _, b := get(t, s.root+"/api/v1/products/", "Api-Key "+other.ManagementKey); st != 200 {
		t.Fatalf("another key: %d %s", st, b)
	}
	// License API: any value counts before it is checked.
	for range 3 {
		rawLicenseAPI(t, s, "GET", "check_license", nil, nil, map[string]string{"Authorization": "bogus"})
	}
	licenseLimited(t, "License API, 4th with one value", rawLicenseAPI(t, s, "GET", "check_license", nil, nil, map[string]string{"Authorization": "bogus"}), "1")
	wantMetric(t, s, `licensor_rate_limited_total{limit="authorization"} 2`)
	time.Sleep(time.Second)
	if st, _, b := get(t, s.root+"/api/v1/products/", key); st != 200 {
		t.Fatalf("after Retry-After: %d %s", st, b)
	}
}

// --rate-company-license 30 --rate-company-manage 30: per company and API, 30 per
// minute (one more every 2 s), counted after authentication.
func TestRateLimitCompany(t *testing.T) {
	t.Parallel()
	s, other := limitedServer(t, "--rate-company-license", "30", "--rate-company-manage", "30")
	ca := s.client(t)
	cb := s.clientWith(t, other.APIKey, other.SharedKey)
	check := func(c *client.Client) *client.Response {
		t.Helper()
		r, err := c.Do(ctx(), "GET", "check_license", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// Unauthenticated requests do not count.
	for range 40 {
		if r := rawLicenseAPI(t, s, "GET", "check_license", nil, nil, nil); r.Status != 400 {
			t.Fatalf("unauthenticated: %d %s", r.Status, r.Body)
		}
	}
	for i := range 30 {
		if r := check(ca); r.Status == 429 {
			t.Fatalf("License API request %d limited", i+1)
		}
	}
	licenseLimited(t, "License API, request 31", check(ca), "2")
	if r := check(cb); r.Status == 429 {
		t.Fatal("other company limited")
	}

	key := "Api-Key " + s.creds.ManagementKey
	for i := range 30 {
		if st, _, b := get(t, s.root+"/api/v1/products/", key); st != 200 {
			t.Fatalf("management request %d: %d %s", i+1, st, b)
		}
	}
	st, h, b := get(t, s.root+"/api/v1/products/", key)
	mgmtLimited(t, "management API, request 31", st, h, b, "2")
	if st, _, b := get(t, s.root+"/api/v1/products/", "Api-Key "+other.ManagementKey); st != 200 {
		t.Fatalf("other company's management API: %d %s", st, b)
	}
	wantMetric(t, s, `licensor_rate_limited_total{limit="company_license"} 1`)
	wantMetric(t, s, `licensor_rate_limited_total{limit="company_manage"} 1`)

	time.Sleep(2 * time.Second)
	if r := check(ca); r.Status == 429 {
		t.Fatalf("License API after Retry-After: %s", r.Body)
	}
	if st, _, b := get(t, s.root+"/api/v1/products/", key); st != 200 {
		t.Fatalf("management API after Retry-After: %d %s", st, b)
	}
}

// --rate-limits licensespring turns on the documented figures: 200 per 10 s per address.
func TestRateLimitLicenseSpringPreset(t *testing.T) {
	t.Parallel()
	s, _ := limitedServer(t, "--rate-limits", "licensespring")
	n := 0
	for ; n < 300; n++ {
		if r := rawLicenseAPI(t, s, "GET", "check_license", nil, nil, nil); r.Status == 429 {
			wantRetryAfter(t, "preset", r.Header, "1")
			break
		}
	}
	// 200 at once, plus the few tokens refilled (20/s) while they were sent.
	if n < 200 || n > 260 {
		t.Fatalf("first 429 after %d requests, want about 200", n)
	}
	if !strings.Contains(s.stderr.String(), "ip_per_10s=200") {
		t.Errorf("start-up log does not show the limits:\n%s", s.stderr.String())
	}
}
