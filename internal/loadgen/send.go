package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/licensor/licensor/client"
)

// target is one server the load goes to: the License API client for it (its base
// URL, Authorization headers and public key) and the transport's connections to its
// host.
type target struct {
	healthz string // its GET /healthz URL
	cl      *client.Client
	host    *fasthttp.HostClient
}

// answer is what judging a measured request needs of its answer.
type answer struct {
	status    int
	signature string // the LicenseSignature header ("" when none)
	body      []byte
}

// response returns a as the client package's Response, for its verifier.
func (a answer) response() *client.Response {
	h := http.Header{}
	if a.signature != "" {
		h.Set("LicenseSignature", a.signature)
	}
	return &client.Response{Status: a.status, Header: h, Body: a.body}
}

// send sends a workload's request to t, to be answered by deadline, as
// client.Client.Do would (the same URL, Date, Authorization, Accept and Content-Type
// headers, the body as it is; the Date of this machine's clock, the endpoint given
// without a leading slash), built on fasthttp's types straight away. Through
// net/http's, each request had its URL printed and parsed twice, its headers and its
// answer's copied between two kinds of maps and its body read through a reader: a
// fifth to a quarter of the load generator's CPU a request (check, track-steady),
// taken from the server it shares the machine with.
func (b *Bench) send(ctx context.Context, deadline time.Time, t *target, r *Request) (answer, error) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	u := t.cl.BaseURL() + "/" + r.Endpoint
	if r.Query != "" {
		u += "?" + r.Query
	}
	req.SetRequestURI(u)
	req.Header.SetMethod(r.Method)
	date, auth := t.cl.AuthHeaders(time.Now())
	req.Header.Set("Date", date)
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "application/json")
	if r.Body != nil {
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(r.Body)
	}
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if err := b.tr.exchange(ctx, deadline, t.host, req, resp); err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", r.Method, u, err)
	}
	return answer{status: resp.StatusCode(), signature: headerValue(&resp.Header, "LicenseSignature"),
		body: bytes.Clone(resp.Body())}, nil
}

// get sends GET /healthz to t, to be answered by deadline, and reads the whole
// answer, so that the connection is reused; it returns the status.
func (b *Bench) get(ctx context.Context, deadline time.Time, t *target) (int, error) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(t.healthz)
	req.Header.SetMethod(http.MethodGet)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if err := b.tr.exchange(ctx, deadline, t.host, req, resp); err != nil {
		return 0, fmt.Errorf("GET %s: %w", t.healthz, err)
	}
	return resp.StatusCode(), nil
}

// headerValue is the first value of the header name, whatever its case (the
// transport keeps header names as received).
func headerValue(h *fasthttp.ResponseHeader, name string) string {
	for k, v := range h.All() {
		if strings.EqualFold(string(k), name) {
			return string(v)
		}
	}
	return ""
}
