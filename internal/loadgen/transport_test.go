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

// stallingServer answers no request until the test ends or the client goes away;
// arrived is called as each request arrives.
func stallingServer(t *testing.T, arrived func()) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv
}

func TestFastTransportDeadlineAndCancellation(t *testing.T) {
	var hits atomic.Int64
	srv := stallingServer(t, func() { hits.Add(1) })
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

func TestFastTransportReachesIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("six")) }))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	hc := &http.Client{Transport: newFastTransport(4, time.Minute)}
	resp, err := hc.Get(srv.URL) // http://[::1]:port
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "six" {
		t.Errorf("body = %q", body)
	}
}

// A server that breaks off its answer must show as an error, sent once: retrying
// it would count a failure as a slow success.
func TestFastTransportReportsABrokenAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var requests atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				if n, _ := c.Read(buf); n > 0 {
					requests.Add(1)
					c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel"))
				}
			}()
		}
	}()
	hc := &http.Client{Transport: newFastTransport(4, time.Minute)}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		before := requests.Load()
		req, _ := http.NewRequest(method, "http://"+ln.Addr().String()+"/x", nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			t.Errorf("%s: a broken-off answer gave no error (status %d)", method, resp.StatusCode)
		}
		if n := requests.Load() - before; n != 1 {
			t.Errorf("%s: sent %d times, want once", method, n)
		}
	}
}

// A GET on a keep-alive connection that the server closed meanwhile is sent again,
// as net/http does.
func TestFastTransportRetriesAGetOnAClosedIdleConnection(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	srv.Config.IdleTimeout = 20 * time.Millisecond
	srv.Start()
	defer srv.Close()
	hc := &http.Client{Transport: newFastTransport(4, time.Minute)}
	for i := range 3 {
		resp, err := hc.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
		time.Sleep(100 * time.Millisecond) // the server closes the idle connection
	}
}

// Cancelling a request's context (the run's, at Ctrl-C) ends it at once rather than
// when the server answers or its deadline passes.
func TestFastTransportCancelEndsARequestInFlight(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := stallingServer(t, func() { arrived <- struct{}{} })
	hc := &http.Client{Transport: newFastTransport(4, time.Minute)}
	run, cancel := context.WithCancel(context.Background())
	ctx, stop := context.WithTimeout(run, time.Hour)
	defer stop()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	done := make(chan error, 1)
	go func() {
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-arrived
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a cancelled request still waits for its answer")
	}
}
