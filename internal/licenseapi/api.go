// Package licenseapi serves the License API v4 (/api/v4/): HMAC authentication,
// request decoding, the error envelope and signed, JavaScript-canonical responses.
package licenseapi

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/licensor/licensor/internal/httpkit"
	"github.com/licensor/licensor/internal/jsoncanon"
	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/ratelimit"
)

// Prefix is where the License API lives.
const Prefix = "/api/v4/"

// DefaultMaxBody is the largest request body accepted.
const DefaultMaxBody = 1 << 20

// Handler serves /api/v4/.
type Handler struct {
	svc     *licensing.Service
	log     *slog.Logger
	now     func() time.Time
	maxBody int64
	routes  map[string]route
	handler http.Handler // serve behind panic recovery
	signer  *signer      // signs responses, reusing signatures of identical bytes
	metrics *metrics
	limit   ratelimit.CompanyLimiter // per-company request limit (nil: none)
	macs    dateMACs                 // the Authorization HMAC of each API key's last Date
}

type route struct {
	method string
	write  bool // refused for read-only API keys
	fn     func(context.Context, *request) (any, error)
	// signs are the kinds of answer about a device the route signs (licensing.Slot…):
	// its device read may bring their remembered signatures along.
	signs []int
}

// request is one authenticated License API call.
type request struct {
	r      *http.Request
	key    licensing.APIKey
	params *params
}

// Config configures a Handler.
type Config struct {
	Log     *slog.Logger
	Now     func() time.Time
	MaxBody int64
	// SignatureCache is how many signatures to keep for reuse (0: the default).
	SignatureCache int
	// Metrics registers the API's Prometheus series (nil: not exported).
	Metrics prometheus.Registerer
	// CompanyLimit limits each company's authenticated requests (nil: no limit).
	CompanyLimit ratelimit.CompanyLimiter
}

// New returns the License API handler.
func New(svc *licensing.Service, c Config) *Handler {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBody
	}
	h := &Handler{svc: svc, log: c.Log, now: c.Now, maxBody: c.MaxBody, limit: c.CompanyLimit}
	h.signer = newSigner(c.SignatureCache, func(ctx context.Context, companyID int64) (string, error) {
		co, err := svc.Company(ctx, companyID)
		return co.SigningKeyPEM, err
	})
	h.signer.memo = svc
	h.routes = map[string]route{
		"activate_license":       {http.MethodPost, true, h.activate, nil},
		"deactivate_license":     {http.MethodPost, true, h.deactivate, nil},
		"check_license":          {http.MethodGet, false, h.check, []int{licensing.SlotLicenseSignature, licensing.SlotCheck}},
		"track_device_variables": {http.MethodPost, true, h.track, []int{licensing.SlotTrack}},
		"get_device_variables":   {http.MethodGet, false, h.getVariables, []int{licensing.SlotVariables}},
	}
	h.metrics = newMetrics(c.Metrics, h.signer)
	recovered := httpkit.Recover(h.log, http.HandlerFunc(h.serve), h.writeError)
	known := func(name string) bool { _, ok := h.routes[name]; return ok }
	h.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.metrics.observe(w, r, known, recovered.ServeHTTP)
	})
	return h
}

// ServeHTTP routes, authenticates, decodes and answers one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.handler.ServeHTTP(w, r)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, Prefix), "/")
	rt, ok := h.routes[name]
	if !ok || !strings.HasPrefix(r.URL.Path, Prefix) {
		h.writeError(w, r, licensing.Errorf(licensing.ENotFound, "API path %s does not exist", r.URL.Path))
		return
	}
	if r.Method != rt.method {
		w.Header().Set("Allow", rt.method)
		h.writeError(w, r, licensing.Errorf(licensing.EMethodNotAllowed, "%s does not allow %s; use %s", name, r.Method, rt.method))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
	ctx := r.Context()
	if rt.signs != nil {
		ctx = licensing.WithSignatureRecall(ctx, rt.signs...)
	}
	resp, companyID, err := h.call(ctx, w, r, rt)
	if err != nil {
		h.writeError(w, r, httpkit.AsError(h.log, r, err))
		return
	}
	if text, ok := resp.(textResponse); ok {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte(text))
		return
	}
	h.writeSigned(ctx, w, r, companyID, resp)
}

// call authenticates and runs one endpoint; it returns the answer and the company whose
// key signs it.
func (h *Handler) call(ctx context.Context, w http.ResponseWriter, r *http.Request, rt route) (any, int64, error) {
	key, err := h.authenticate(r)
	if err != nil {
		return nil, 0, h.svc.RecheckAPIKey(ctx, key, err)
	}
	resp, err := h.authorized(ctx, w, r, rt, key)
	if err != nil {
		// A key from the cache is checked in the operation's transactions; a request
		// refused before those asks the store whether the key is revoked.
		err = h.svc.RecheckAPIKey(ctx, key, err)
	}
	return resp, key.CompanyID, err
}

// authorized runs route rt for a request authenticated with key.
func (h *Handler) authorized(ctx context.Context, w http.ResponseWriter, r *http.Request, rt route, key licensing.APIKey) (any, error) {
	if e := ratelimit.Company(h.limit, w, key.CompanyID); e != nil {
		return nil, e
	}
	if rt.write && key.ReadOnly {
		return nil, licensing.Errorf(licensing.EReadOnlyAPIKey, "This API key is read-only")
	}
	p, err := readParams(r)
	if err != nil {
		return nil, err
	}
	return rt.fn(licensing.WithAPIKey(ctx, key), &request{r: r, key: key, params: p})
}

// textResponse is sent raw as text/plain (deactivate_license).
type textResponse string

// writeSigned encodes v canonically and sends it with its LicenseSignature header.
func (h *Handler) writeSigned(ctx context.Context, w http.ResponseWriter, r *http.Request, companyID int64, v any) {
	var sl slot
	if a, ok := v.(deviceAnswer); ok {
		v, sl = a.body, a.slot
	}
	buf := bodyBuffers.Get().(*[]byte)
	body, err := jsoncanon.AppendMarshal((*buf)[:0], v)
	defer func() {
		if cap(body) <= maxPooledBody { // a grown buffer goes back, a huge one does not
			*buf = body
			bodyBuffers.Put(buf)
		}
	}()
	if err == nil {
		var sig string
		if sig, err = h.signer.signFor(ctx, companyID, sl, body); err == nil {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("LicenseSignature", sig)
			w.Write(body)
			return
		}
	}
	h.writeError(w, r, httpkit.AsError(h.log, r, err))
}

// bodyBuffers holds the buffers answers are encoded into: nothing keeps an answer's
// bytes once they are written (the signer keeps their hash, net/http copies them).
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

const maxPooledBody = 64 << 10

// writeError sends the documented error body {"status","code","message"}.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, e *licensing.Error) {
	if rec, ok := w.(*recorder); ok {
		rec.code = e.Code
	}
	status := httpkit.Status(e.Code)
	body, err := jsoncanon.Marshal(struct {
		Status  int    `json:"status"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}{status, e.Code, e.Message})
	if err != nil {
		body = []byte(`{"status":500,"code":"internal_error","message":"Internal server error"}`)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("LicenseSignature")
	w.WriteHeader(status)
	w.Write(body)
}

// WriteError lets the server answer paths outside both APIs in the same shape.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, e *licensing.Error) {
	h.writeError(w, r, e)
}

// clientIP is the connection's remote address (proxies are handled by the server's
// trusted-proxy middleware before this runs).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
