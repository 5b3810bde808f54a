package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// fastTransport is the load generator's http.RoundTripper: fasthttp's client, which
// writes each request and reads its answer on the calling goroutine. net/http's
// Transport hands both to two goroutines of the connection and the answer back, and
// at the rates a signing-bound run reaches (about a thousand requests a second from
// 64 connections) each hand-off wakes a sleeping thread: measured on a 2-core
// machine, 111–122 µs of the client's CPU per request against 52–59 µs here, and
// 70 against 24–26 µs at saturation. The load generator shares the machine with the
// server it measures, so what it spends is taken from the server.
//
// Requests are sent as they are built by net/http's types (the client package
// speaks those), one HostClient per scheme and host, at most maxConns connections
// each. A request's context deadline bounds it; a context cancelled without a
// deadline is noticed before the request is sent, not during it (every request of
// the load generator has a deadline).
type fastTransport struct {
	maxConns int
	timeout  time.Duration // for requests whose context has no deadline

	mu    sync.Mutex
	hosts map[hostKey]*fasthttp.HostClient
}

func newFastTransport(maxConns int, timeout time.Duration) *fastTransport {
	return &fastTransport{maxConns: maxConns, timeout: timeout, hosts: map[hostKey]*fasthttp.HostClient{}}
}

type hostKey struct{ scheme, host string }

func (t *fastTransport) host(scheme, host string) (*fasthttp.HostClient, error) {
	tls := false
	switch scheme {
	case "http":
	case "https":
		tls = true
	default:
		return nil, fmt.Errorf("unsupported scheme %q", scheme)
	}
	key := hostKey{scheme, host}
	t.mu.Lock()
	defer t.mu.Unlock()
	if hc := t.hosts[key]; hc != nil {
		return hc, nil
	}
	hc := &fasthttp.HostClient{
		Addr:               hostAddr(host, tls),
		IsTLS:              tls,
		MaxConns:           t.maxConns,
		MaxConnWaitTimeout: t.timeout, // a request waits for a free connection rather than fail
		// Like net/http: a request that fails on a reused connection before any
		// answer is sent again once, if it is idempotent.
		MaxIdemponentCallAttempts: 2,
		// Header names as sent, not rewritten to fasthttp's canonical case.
		DisableHeaderNamesNormalizing: true,
		NoDefaultUserAgentHeader:      true,
	}
	t.hosts[key] = hc
	return hc, nil
}

// hostAddr is a URL's host with its port, the scheme's default when it names none.
func hostAddr(host string, tls bool) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	port := "80"
	if tls {
		port = "443"
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}

// RoundTrip sends r and returns its whole answer.
func (t *fastTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		defer r.Body.Close()
	}
	ctx := r.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hc, err := t.host(r.URL.Scheme, r.URL.Host)
	if err != nil {
		return nil, err
	}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(r.URL.String())
	req.Header.SetMethod(r.Method)
	if r.Host != "" {
		req.Header.SetHost(r.Host)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		req.SetBodyRaw(b)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(t.timeout)
	}
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if err := hc.DoDeadline(req, resp, deadline); err != nil {
		if errors.Is(err, fasthttp.ErrTimeout) && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	body := bytes.Clone(resp.Body())
	code := resp.StatusCode()
	out := &http.Response{
		Status:        strconv.Itoa(code) + " " + http.StatusText(code),
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header, resp.Header.Len()),
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}
	resp.Header.SetNoDefaultContentType(true) // no Content-Type the server did not send
	for k, v := range resp.Header.All() {
		out.Header.Add(string(k), string(v))
	}
	return out, nil
}

// CloseIdleConnections closes every host's idle connections (http.Client calls it).
func (t *fastTransport) CloseIdleConnections() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, hc := range t.hosts {
		hc.CloseIdleConnections()
	}
}

var _ interface{ CloseIdleConnections() } = (*fastTransport)(nil)
