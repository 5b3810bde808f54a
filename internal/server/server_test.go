package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/postgres"
	"github.com/licensor/licensor/internal/sqlite"
)

func TestRoutesHealthAndMetrics(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := licensing.NewService(st)
	s := New(svc, Config{})
	s.healthy.Store(true)
	if _, err := svc.Init(context.Background(), "c", "ecdsa-p256"); err != nil { // one write batch
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, body := get("/nowhere"); code != 404 || !strings.Contains(body, `"code":"not_found"`) {
		t.Fatalf("unknown path: %d %s", code, body)
	}
	get("/api/v4/check_license")              // missing_headers
	get("/api/v4/" + strings.Repeat("x", 50)) // not an endpoint: counted as unknown
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("metrics %d", code)
	}
	for _, want := range []string{
		`licensor_license_api_requests_total{code="missing_headers",endpoint="check_license"} 1`,
		`licensor_license_api_requests_total{code="not_found",endpoint="unknown"} 1`,
		`licensor_signatures_made_total 0`,
		`licensor_license_api_request_seconds_bucket`,
		`go_goroutines`,
		`licensor_write_batch_size_count 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	s.healthy.Store(false)
	if code, _ := get("/healthz"); code != 503 {
		t.Fatalf("unhealthy healthz %d", code)
	}
}

// TestOddPathsGetJSONNotRedirects: paths that http.ServeMux would redirect ("//", ".",
// "..", a prefix without its slash) are answered in the JSON error shape, never with
// a redirect a client would follow with a POST's body.
func TestOddPathsGetJSONNotRedirects(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(licensing.NewService(st), Config{})
	h := s.Handler()
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/api/v4//check_license", 404, "not_found"},
		{"GET", "/api/v4/./check_license", 404, "not_found"},
		{"POST", "/api/v4/../v1/products/", 404, "not_found"},
		{"GET", "/api/v4", 404, "not_found"},
		{"GET", "/api/v1", 404, "not_found"},
		{"GET", "/api", 404, "not_found"},
		{"GET", "//healthz", 404, "not_found"},
		{"GET", "/healthz/", 404, "not_found"},
		{"POST", "/metrics", 405, "method_not_allowed"},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := httptest.NewRequest(c.method, "http://x/", nil)
			r.URL.Path = c.path // as sent: httptest would not keep "//" or ".."
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != c.status || !strings.Contains(w.Body.String(), `"code":"`+c.code+`"`) ||
				w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("%d %s %q, want %d with code %s", w.Code, w.Header().Get("Content-Type"), w.Body, c.status, c.code)
			}
		})
	}
}

// TestPageLinksTakeTheForwardedScheme: behind a trusted proxy that says the client used
// https, the management API's page links say https; from anyone else they say http.
func TestPageLinksTakeTheForwardedScheme(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := licensing.NewService(st)
	creds, err := svc.Init(context.Background(), "c", "ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	proxies, err := ParseTrustedProxies("192.0.2.0/24")
	if err != nil {
		t.Fatal(err)
	}
	h := New(svc, Config{TrustedProxies: proxies}).Handler()
	do := func(method, target, body, remote, proto string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		r.Host = "licensor.example.com"
		r.RemoteAddr = remote
		r.Header.Set("Authorization", "Api-Key "+creds.ManagementKey)
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		if proto != "" {
			r.Header.Set("X-Forwarded-Proto", proto)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, code := range []string{"a", "b"} {
		if w := do("POST", "/api/v1/products/", `{"product_name":"P","short_code":"`+code+`","authorization_method":"license-key"}`, "198.51.100.7:4000", ""); w.Code != 201 {
			t.Fatalf("create product: %d %s", w.Code, w.Body)
		}
	}
	// A request line in absolute form names a scheme of the client's choosing: the
	// connection's (TLS here) is what counts.
	r := httptest.NewRequest("GET", "http://licensor.example.com/api/v1/products/?limit=1", nil)
	r.TLS = &tls.ConnectionState{}
	r.RemoteAddr = "198.51.100.7:4000"
	r.Header.Set("Authorization", "Api-Key "+creds.ManagementKey)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if !strings.Contains(w.Body.String(), `"next":"https://licensor.example.com/`) {
		t.Errorf("TLS request in absolute form with http: %d %s", w.Code, w.Body)
	}
	for _, c := range []struct{ name, remote, proto, want string }{
		{"trusted proxy, https", "192.0.2.10:4000", "https", "https://licensor.example.com/api/v1/products/?limit=1&offset=1"},
		{"trusted proxy, nothing said", "192.0.2.10:4000", "", "http://licensor.example.com/api/v1/products/?limit=1&offset=1"},
		{"anyone else saying https", "198.51.100.7:4000", "https", "http://licensor.example.com/api/v1/products/?limit=1&offset=1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := do("GET", "/api/v1/products/?limit=1", "", c.remote, c.proto)
			var page struct{ Next string }
			if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || w.Code != 200 {
				t.Fatalf("%d %s: %v", w.Code, w.Body, err)
			}
			if page.Next != c.want {
				t.Errorf("next %q, want %q", page.Next, c.want)
			}
		})
	}
}

// The stores the server observes have the methods it looks for.
var (
	_ interface{ ObserveWriteRetries(func(string)) } = (*postgres.Store)(nil)
	_ interface{ ObserveWriteBatches(func(int)) }    = (*sqlite.Store)(nil)
)

// retryingStore is a store that says it ran one write again (as PostgreSQL's does after
// a deadlock) as soon as the server observes it.
type retryingStore struct{ licensing.Store }

func (retryingStore) ObserveWriteRetries(fn func(string)) { fn("40P01") }

// A write the database aborted and the store ran again is counted by SQLSTATE and logged.
func TestWriteRetriesAreCountedAndLogged(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs bytes.Buffer
	s := New(licensing.NewService(retryingStore{st}), Config{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if want := `licensor_write_retries_total{sqlstate="40P01"} 1`; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("metrics lack %q", want)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "sqlstate=40P01") {
		t.Errorf("no warning logged for the retry: %q", logs.String())
	}
}
