package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"net"
	"net/http"
	"slices"
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
// The client package's requests (seeding) come as net/http's types and go out as
// they are built; the measured requests are built on fasthttp's own (Bench.send,
// Bench.get) and share the rest (exchange). One HostClient per scheme and host, at
// most maxConns connections each. A request's deadline bounds it. A context cancelled while its request
// is in flight closes every connection of the transport, so that the request ends at
// once: in the load generator a request's context is only cancelled when its whole
// run is (Ctrl-C, the caller's context), never one request alone.
type fastTransport struct {
	maxConns int
	timeout  time.Duration // for requests given no deadline whose context has none

	mu    sync.Mutex // guards hosts
	hosts map[hostKey]*fasthttp.HostClient

	connsMu sync.Mutex                // guards conns
	conns   map[*trackedConn]struct{} // open connections, for abort

	contexts sync.Map // *fasthttp.Request in flight → its context.Context, for the retry rule
}

func newFastTransport(maxConns int, timeout time.Duration) *fastTransport {
	return &fastTransport{maxConns: maxConns, timeout: timeout, hosts: map[hostKey]*fasthttp.HostClient{},
		conns: map[*trackedConn]struct{}{}}
}

type hostKey struct{ scheme, host string }

// maxAnswerBytes bounds an answer's body (License API answers are a few KB, a seed
// batch's a few hundred); a longer one fails with fasthttp.ErrBodyTooLarge. The
// client package reads as much at most (and cuts the rest off).
const maxAnswerBytes = 64 << 20

func (t *fastTransport) host(scheme, host string) (*fasthttp.HostClient, error) {
	key := hostKey{scheme, host}
	t.mu.Lock()
	defer t.mu.Unlock()
	if hc := t.hosts[key]; hc != nil {
		return hc, nil
	}
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("unsupported scheme %q", scheme)
	}
	tls := scheme == "https"
	hc := &fasthttp.HostClient{
		Addr:               hostAddr(host, tls),
		IsTLS:              tls,
		MaxConns:           t.maxConns,
		MaxConnWaitTimeout: t.timeout, // a request waits for a free connection rather than fail
		DialTimeout:        t.dial,
		// As net/http: only a GET or HEAD whose connection closed before any byte of
		// the answer (a keep-alive connection the server had just closed) is sent
		// again, once. fasthttp's own rule would also retry after a partial answer,
		// which would hide a server that breaks off its answers.
		MaxIdemponentCallAttempts: 2,
		// A request whose context ended (its connection closed by abort) is not.
		RetryIfErr: func(req *fasthttp.Request, _ int, err error) (resetTimeout, retry bool) {
			if ctx, ok := t.contexts.Load(req); !ok || ctx.(context.Context).Err() != nil {
				return false, false
			}
			return false, err == io.EOF && (req.Header.IsGet() || req.Header.IsHead())
		},
		// An answer is read whole into memory: a bound.
		MaxResponseBodySize: maxAnswerBytes,
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
	if err := r.Context().Err(); err != nil {
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
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if err := t.exchange(r.Context(), time.Time{}, hc, req, resp); err != nil {
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

// exchange sends req on hc (one of this transport's) and reads the whole answer into
// resp: RoundTrip's core, and what the measured requests use without net/http's
// types. The earlier of deadline and ctx's deadline bounds it, the transport's
// timeout where neither is set (a deadline passed as it is spares a request a
// context and a timer of its own). ctx cancelled while the request is in flight
// aborts every connection (see fastTransport).
func (t *fastTransport) exchange(ctx context.Context, deadline time.Time, hc *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	if deadline.IsZero() {
		deadline = time.Now().Add(t.timeout)
	}
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.Canceled) { // not a deadline, which DoDeadline keeps
			t.abort()
		}
	})
	t.contexts.Store(req, ctx)
	err := hc.DoDeadline(req, resp, deadline)
	t.contexts.Delete(req)
	stop()
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return fmt.Errorf("no free connection in time: %w", context.DeadlineExceeded)
	case errors.Is(err, fasthttp.ErrTimeout): // the deadline passed, as a context's would
		return fmt.Errorf("no answer in time: %w", context.DeadlineExceeded)
	default:
		return err
	}
}

// dial opens a connection to addr (IPv4 or IPv6) and tracks it until it is closed.
func (t *fastTransport) dial(addr string, timeout time.Duration) (net.Conn, error) {
	c, err := (&net.Dialer{Timeout: min(timeout, 5*time.Second), KeepAlive: 30 * time.Second}).Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, t: t}
	t.connsMu.Lock()
	t.conns[tc] = struct{}{}
	t.connsMu.Unlock()
	return tc, nil
}

// abort closes every open connection: the requests on them fail at once.
func (t *fastTransport) abort() {
	for _, c := range lockedCollect(&t.connsMu, maps.Keys(t.conns)) {
		c.Close()
	}
}

// lockedCollect collects seq while holding mu, so that what is done with the items
// (closing connections, which takes mu again) happens after it is released.
func lockedCollect[T any](mu *sync.Mutex, seq iter.Seq[T]) []T {
	mu.Lock()
	defer mu.Unlock()
	return slices.Collect(seq)
}

// trackedConn is a connection of the transport, forgotten when closed.
type trackedConn struct {
	net.Conn
	t *fastTransport
}

func (c *trackedConn) Close() error {
	c.t.connsMu.Lock()
	delete(c.t.conns, c)
	c.t.connsMu.Unlock()
	return c.Conn.Close()
}

// CloseIdleConnections closes every host's idle connections (http.Client calls it).
func (t *fastTransport) CloseIdleConnections() {
	for _, hc := range lockedCollect(&t.mu, maps.Values(t.hosts)) {
		hc.CloseIdleConnections()
	}
}
