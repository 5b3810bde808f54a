package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestFastTransportCarriesRequestAndAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Header()["Content-Type"] = nil
			w.WriteHeader(http.StatusNoContent)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("LicenseSignature", "sig==")
		w.Header().Add("X-Seen", r.Method+" "+r.URL.RequestURI())
		w.Header().Add("X-Seen", "date="+r.Header.Get("Date"))
		w.Header().Add("X-Seen", "auth="+strings.Join(r.Header.Values("Authorization"), ","))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		w.Write(append([]byte("got:"), body...))
	}))
	defer srv.Close()
	hc := &http.Client{Transport: newFastTransport(4, time.Minute)}

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v4/check?a=1&b=%C3%A9", strings.NewReader(`{"x":1}`))
	req.Header.Set("Date", "Fri, 27 Nov 2026 10:00:00 GMT")
	req.Header.Add("Authorization", "one")
	req.Header.Add("Authorization", "two")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || resp.Status != "418 I'm a teapot" {
		t.Errorf("status = %d %q", resp.StatusCode, resp.Status)
	}
	if string(body) != `got:{"x":1}` || resp.ContentLength != int64(len(body)) {
		t.Errorf("body = %q, content length %d", body, resp.ContentLength)
	}
	if got := resp.Header.Get("LicenseSignature"); got != "sig==" {
		t.Errorf("LicenseSignature = %q", got)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	want := []string{"POST /api/v4/check?a=1&b=%C3%A9", "date=Fri, 27 Nov 2026 10:00:00 GMT", "auth=one,two"}
	if got := resp.Header.Values("X-Seen"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("server saw %q, want %q", got, want)
	}

	// An answer without a Content-Type gets none.
	resp, err = hc.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, ok := resp.Header["Content-Type"]; ok || resp.StatusCode != http.StatusNoContent {
		t.Errorf("got status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestFastTransportKeepsConnectionsAlive(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	hc := &http.Client{Transport: newFastTransport(4, time.Minute)}
	for range 20 {
		resp, err := hc.Post(srv.URL+"/x", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("20 requests in turn opened %d connections, want 1", n)
	}
	hc.CloseIdleConnections()
}

func TestFastTransportDeadlineAndCancellation(t *testing.T) {
	var hits atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	hc := &http.Client{Transport: newFastTransport(4, time.Minute)}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	_, err := hc.Do(req)
	var ne net.Error
	if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("past its deadline: err = %v, want a timeout", err)
	}

	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	before := hits.Load()
	req, _ = http.NewRequestWithContext(cancelled, http.MethodGet, srv.URL, nil)
	if _, err := hc.Do(req); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
	if hits.Load() != before {
		t.Error("a request whose context was cancelled was sent")
	}
}

func TestHostAddr(t *testing.T) {
	for _, tc := range []struct {
		host string
		tls  bool
		want string
	}{
		{"127.0.0.1:8080", false, "127.0.0.1:8080"},
		{"example.com", false, "example.com:80"},
		{"example.com", true, "example.com:443"},
		{"[::1]", false, "[::1]:80"},
		{"[::1]:9", true, "[::1]:9"},
	} {
		if got := hostAddr(tc.host, tc.tls); got != tc.want {
			t.Errorf("hostAddr(%q, %v) = %q, want %q", tc.host, tc.tls, got, tc.want)
		}
	}
}

func TestFastTransportRefusesOtherSchemes(t *testing.T) {
	hc := &http.Client{Transport: newFastTransport(4, time.Minute)}
	if _, err := hc.Get("ftp://127.0.0.1/x"); err == nil || !strings.Contains(err.Error(), "unsupported scheme") {
		t.Errorf("err = %v", err)
	}
}
