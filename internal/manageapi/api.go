// Package manageapi serves the management API (/api/v1/): products, orders, licenses,
// devices, device variables and API keys of the company whose management key is sent
// as `Authorization: Api-Key <key>`.
package manageapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/licensor/licensor/internal/httpkit"
	"github.com/licensor/licensor/internal/jsoncanon"
	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/ratelimit"
)

// Prefix is where the management API lives.
const Prefix = "/api/v1/"

const maxBody = 1 << 20

// Handler serves /api/v1/.
type Handler struct {
	svc     *licensing.Service
	log     *slog.Logger
	routes  *http.ServeMux
	handler http.Handler             // serve behind panic recovery
	limit   ratelimit.CompanyLimiter // per-company request limit (nil: none)
}

// LimitCompanies limits each company's authenticated requests with l (nil: no limit).
// Call it before the handler serves.
func (h *Handler) LimitCompanies(l ratelimit.CompanyLimiter) { h.limit = l }

type companyKey struct{}

// handlerFunc answers with a status and a value to encode, or an error.
type handlerFunc func(r *http.Request, companyID int64) (int, any, error)

// New returns the management API handler.
func New(svc *licensing.Service, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{svc: svc, log: log, routes: http.NewServeMux()}
	for pattern, fn := range map[string]handlerFunc{
		"GET /api/v1/products/{$}":                  h.listProducts,
		"POST /api/v1/products/{$}":                 h.createProduct,
		"GET /api/v1/products/{id}/{$}":             h.getProduct,
		"POST /api/v1/orders/create_order/{$}":      h.createOrder,
		"GET /api/v1/licenses/{$}":                  h.listLicenses,
		"GET /api/v1/licenses/{id}/{$}":             h.getLicense,
		"PATCH /api/v1/licenses/{id}/{$}":           h.patchLicense,
		"POST /api/v1/licenses/{id}/enable/{$}":     h.enableLicense(true),
		"POST /api/v1/licenses/{id}/disable/{$}":    h.enableLicense(false),
		"POST /api/v1/licenses/{id}/reset/{$}":      h.resetLicense,
		"GET /api/v1/devices/{$}":                   h.listDevices,
		"GET /api/v1/devices/{id}/{$}":              h.getDevice,
		"POST /api/v1/devices/{id}/blacklist/{$}":   h.blacklist(true),
		"POST /api/v1/devices/{id}/unblacklist/{$}": h.blacklist(false),
		"POST /api/v1/devices/{id}/reset/{$}":       h.resetDevice,
		"GET /api/v1/device-variables/{$}":          h.listVariables,
		"GET /api/v1/api-keys/{$}":                  h.listAPIKeys,
		"POST /api/v1/api-keys/{$}":                 h.createAPIKey,
		"POST /api/v1/api-keys/{id}/revoke/{$}":     h.revokeAPIKey,
		"GET /api/v1/audit-log/{$}":                 h.listAudit,
	} {
		h.routes.Handle(pattern, h.wrap(fn))
	}
	h.handler = httpkit.Recover(h.log, http.HandlerFunc(h.serve), h.writeError)
	return h
}

var methods = []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete}

// ServeHTTP answers unknown paths with 404 and known paths with the wrong method with
// 405, both in the API's JSON error shape.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.handler.ServeHTTP(w, r)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	// Every path ends with a slash, as DRF's do. One without it, or with an empty, "."
	// or ".." segment, is not found: http.ServeMux would redirect it, in HTML, and
	// clients follow a redirect with a POST's method and body.
	if p := r.URL.Path; !strings.HasSuffix(p, "/") || path.Clean(p)+"/" != p {
		h.writeError(w, r, licensing.Errorf(licensing.ENotFound, "Not found. Management API paths end with a slash and have no empty, . or .. segments."))
		return
	}
	if _, pattern := h.routes.Handler(r); pattern != "" {
		h.routes.ServeHTTP(w, r)
		return
	}
	var allowed []string
	for _, m := range methods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := h.routes.Handler(probe); p != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) == 0 {
		h.writeError(w, r, licensing.Errorf(licensing.ENotFound, "Not found."))
		return
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	h.writeError(w, r, licensing.Errorf(licensing.EMethodNotAllowed, "Method %q not allowed.", r.Method))
}

func (h *Handler) wrap(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := h.authenticate(r)
		if err != nil {
			h.writeError(w, r, httpkit.AsError(h.log, r, err))
			return
		}
		companyID := key.CompanyID
		if e := ratelimit.Company(h.limit, w, companyID); e != nil {
			h.writeError(w, r, e)
			return
		}
		// A body is read only as JSON and only when declared so (DRF answers a body no
		// parser of its reads with 415 too). Checked before any route runs, so one that
		// reads no body refuses an undeclared one all the same and nothing is half done;
		// a request without a body needs no Content-Type.
		if r.ContentLength != 0 {
			if err := httpkit.CheckContentType(r, httpkit.IsJSON); err != nil {
				h.writeError(w, r, httpkit.AsError(h.log, r, err))
				return
			}
		}
		// A query string net/url cannot parse (a bad %-escape, a ';' separator) would
		// lose the pairs it cannot read: a filter or page the client sent would be left
		// out and the answer would list more than was asked for.
		if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
			h.writeError(w, r, licensing.Errorf(licensing.EValidation, "The query string is malformed: an invalid %%-escape, or a ';' between parameters."))
			return
		}
		r = r.WithContext(licensing.WithActor(r.Context(), licensing.ManagementActor(key.ID)))
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		status, v, err := fn(r, companyID)
		if err != nil {
			h.writeError(w, r, httpkit.AsError(h.log, r, err))
			return
		}
		body, err := jsoncanon.Marshal(v)
		if err != nil {
			h.writeError(w, r, httpkit.AsError(h.log, r, err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	})
}

func (h *Handler) authenticate(r *http.Request) (licensing.ManagementKey, error) {
	var none licensing.ManagementKey
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return none, licensing.Errorf(licensing.EUnauthorized, "Authentication credentials were not provided.")
	}
	if len(vals) > 1 {
		return none, licensing.Errorf(licensing.EUnauthorized, "More than one Authorization header.")
	}
	scheme, key, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Api-Key") {
		return none, licensing.Errorf(licensing.EUnauthorized, "Authorization must be `Api-Key <key>`.")
	}
	return h.svc.AuthenticateManagement(r.Context(), strings.TrimSpace(key))
}

// errorBody is the management API's error shape.
type errorBody struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Field  string `json:"field,omitempty"`
}

// WriteError lets the server answer in this API's error shape.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, e *licensing.Error) {
	h.writeError(w, r, e)
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, e *licensing.Error) {
	status := httpkit.Status(e.Code)
	body, _ := jsoncanon.Marshal(errorBody{status, e.Code, e.Message, e.Field})
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Api-Key")
	}
	w.WriteHeader(status)
	w.Write(body)
}

// decode reads a JSON object body into dst; type errors name the field.
func decode(r *http.Request, dst any, optional bool) error {
	b, err := httpkit.ReadBody(r)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		if optional {
			return nil
		}
		return licensing.Errorf(licensing.EInvalidJSON, "request body is empty; a JSON object is required")
	}
	if !utf8.Valid(b) {
		return licensing.Errorf(licensing.EInvalidJSON, "request body is not valid UTF-8")
	}
	if !json.Valid(b) {
		return licensing.Errorf(licensing.EInvalidJSON, "request body is not valid JSON")
	}
	if err := httpkit.CheckSurrogates(b); err != nil {
		return err
	}
	if httpkit.EscapesNUL(b) {
		return licensing.Errorf(licensing.EValidation, "NUL characters are not allowed")
	}
	if rawType(b) != "an object" {
		return licensing.Errorf(licensing.EInvalidJSON, "request body must be a JSON object")
	}
	return decodeValue("", b, reflect.ValueOf(dst).Elem())
}

// typeError is the validation error for a value of the wrong JSON type at field: it names
// the JSON types expected and sent, never a Go type.
func typeError(field string, want reflect.Type, sent json.RawMessage) *licensing.Error {
	expected, got := jsonType(want), rawType(sent)
	if got == "a number" && strings.HasPrefix(expected, "a number") {
		got = "a number with a fraction or out of range" // the literal itself may be long
	}
	return licensing.FieldError(field, "%s: expected %s, got %s", field, expected, got)
}

// jsonType names the JSON type a Go value decodes from.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a number (an integer)"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another JSON type"
}

// rawType names the JSON type of a valid JSON value.
func rawType(v json.RawMessage) string {
	switch b := bytes.TrimSpace(v); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '{':
		return "an object"
	case b[0] == '[':
		return "an array"
	case b[0] == '"':
		return "a string"
	case b[0] == 't' || b[0] == 'f':
		return "a boolean"
	case b[0] == 'n':
		return "null"
	}
	return "a number"
}

// pathID reads a positive integer path value.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, licensing.Errorf(licensing.ENotFound, "Not found.")
	}
	return id, nil
}

// queryID reads an optional positive integer query parameter.
func queryID(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, licensing.FieldError(name, "%s must be a positive integer", name)
	}
	return id, nil
}

// queryText reads a text filter, refusing what no stored value can be (broken UTF-8,
// NUL) rather than letting the database reject it as a server error.
func queryText(r *http.Request, name string) (string, error) {
	v := r.URL.Query().Get(name)
	if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 || len(v) > 1024 {
		return "", licensing.FieldError(name, "%s must be valid UTF-8 text without NUL, at most 1024 bytes", name)
	}
	return v, nil
}

// maxOffset keeps offset+limit far from integer overflow.
const maxOffset = 1 << 40

// page reads limit (default 20, at most 100) and offset. A limit above 100 is read as
// 100 however many digits it has, one beyond int's range included.
func page(r *http.Request) (licensing.Page, error) {
	p := licensing.Page{Limit: 20}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if errors.Is(err, strconv.ErrRange) && n > 0 {
			err = nil // n is the largest int
		}
		if err != nil || n < 1 {
			return p, licensing.FieldError("limit", "limit must be a positive integer")
		}
		p.Limit = min(n, 100)
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxOffset {
			return p, licensing.FieldError("offset", "offset must be an integer from 0 to %d", maxOffset)
		}
		p.Offset = n
	}
	return p, nil
}

// listBody is the DRF pagination envelope.
type listBody[T any] struct {
	Count    int64   `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []T     `json:"results"`
}

func paged[T any](r *http.Request, p licensing.Page, total int64, results []T) listBody[T] {
	link := func(offset int) *string {
		q := r.URL.Query()
		q.Set("limit", strconv.Itoa(p.Limit))
		q.Set("offset", strconv.Itoa(offset))
		s := fmt.Sprintf("%s://%s%s?%s", httpkit.Scheme(r), r.Host, r.URL.Path, q.Encode())
		return &s
	}
	b := listBody[T]{Count: total, Results: results}
	if b.Results == nil {
		b.Results = []T{}
	}
	if int64(p.Offset+p.Limit) < total {
		b.Next = link(p.Offset + p.Limit)
	}
	if p.Offset > 0 {
		b.Previous = link(max(p.Offset-p.Limit, 0))
	}
	return b
}

// drfTime is the management API's timestamp format (no fraction).
func drfTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func drfTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := drfTime(*t)
	return &s
}

// parseTime accepts "2006-01-02 15:04:05", "2006-01-02" and RFC 3339, read as UTC. The
// UTC year must be 1–9999: an offset can push 9999-12-31 or 0000-01-01 outside the range
// RFC 3339 (and encoding/json's time encoding) can write.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if y := t.UTC().Year(); y < 1 || y > 9999 {
				return time.Time{}, errors.New("year out of range")
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("invalid time")
}
