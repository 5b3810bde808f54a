package manageapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/licensor/licensor/internal/httpkit"
	"github.com/licensor/licensor/internal/jsoncanon"
	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/internal/sqlite"
)

// manageCodes are the wire codes the management API answers with.
var manageCodes = map[string]bool{
	licensing.ENotFound: true, licensing.EMethodNotAllowed: true, licensing.EValidation: true, licensing.EInvalidJSON: true,
	licensing.ERequestTooLarge: true, licensing.EUnauthorized: true, licensing.EOrderIDExists: true, licensing.EConflict: true,
	licensing.EUnsupportedMedia: true,
}

// fuzzServer is an in-memory management API on a temporary SQLite database: products
// "app" (id 1) and user-based "upp", licenses 1–3 of order "o-1", device 1 ("h1", on license 1) holding two
// variables, and a second company whose objects must stay out of reach.
type fuzzServer struct {
	h       http.Handler
	svc     *licensing.Service
	company int64  // the first company
	key     string // its management key
	logs    *bytes.Buffer
}

func newFuzzServer(f *testing.F) *fuzzServer {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "m.db"), sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	svc := licensing.NewService(st)
	a, err := svc.Init(ctx, "a", signing.ECDSAP256)
	if err != nil {
		f.Fatal(err)
	}
	b, err := svc.CreateCompany(ctx, "b", signing.ECDSAP256)
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range []int64{a.CompanyID, b.CompanyID} {
		if _, err := svc.CreateProduct(ctx, c, licensing.ProductInput{Name: "App", ShortCode: "app"}); err != nil {
			f.Fatal(err)
		}
	}
	if _, err := svc.CreateProduct(ctx, a.CompanyID, licensing.ProductInput{Name: "Users", ShortCode: "upp", AuthorizationMethod: licensing.AuthUser}); err != nil {
		f.Fatal(err)
	}
	if _, err := svc.CreateOrder(ctx, a.CompanyID, licensing.OrderInput{StoreID: "o-1", Items: []licensing.OrderItem{{ProductCode: "app",
		Licenses: []licensing.LicenseInput{{Key: "KEY-1", MaxActivations: 5}, {Key: "KEY-2"}, {}}}}}); err != nil {
		f.Fatal(err)
	}
	if _, err := svc.CreateOrder(ctx, b.CompanyID, licensing.OrderInput{Items: []licensing.OrderItem{{ProductCode: "app",
		Licenses: []licensing.LicenseInput{{Key: "B-KEY"}}}}}); err != nil {
		f.Fatal(err)
	}
	id := licensing.Identity{HardwareID: "h1", Product: "app", LicenseKey: "KEY-1"}
	if _, err := svc.Activate(ctx, a.CompanyID, licensing.ActivateRequest{Identity: id}); err != nil {
		f.Fatal(err)
	}
	if _, err := svc.TrackVariables(ctx, a.CompanyID, id, []licensing.VarInput{{Name: "v1", Value: "a"}, {Name: "v2", Value: "b"}}); err != nil {
		f.Fatal(err)
	}
	s := &fuzzServer{svc: svc, company: a.CompanyID, key: a.ManagementKey, logs: new(bytes.Buffer)}
	s.h = New(svc, slog.New(slog.NewTextHandler(s.logs, nil)))
	return s
}

// request parses a raw HTTP/1.1 request the way the server would; nil if the server's
// own parser would refuse it before any handler runs.
func (s *fuzzServer) request(method, target, auth string, body []byte) *http.Request {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: licensor.test\r\nContent-Length: %d\r\n", method, target, len(body))
	if auth != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", auth)
	}
	b.WriteString("\r\n")
	b.Write(body)
	r, err := http.ReadRequest(bufio.NewReader(&b))
	if err != nil || r.Method != method || r.Header.Get("Authorization") != auth {
		return nil
	}
	return r
}

// serve sends r and checks the answer: never 5xx; redirects (the router cleaning a path)
// name where to go; an error is exactly {status,code,detail,field?} with a documented
// code and its status; a success is a canonical JSON object. It returns the decoded
// success body (nil for errors and redirects).
func (s *fuzzServer) serve(t *testing.T, r *http.Request) map[string]any {
	t.Helper()
	s.logs.Reset()
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	body := w.Body.Bytes()
	if w.Code >= 500 {
		t.Fatalf("%s %s: status %d %s\nlog: %s", r.Method, r.URL, w.Code, body, s.logs)
	}
	if w.Code >= 300 && w.Code < 400 {
		if w.Header().Get("Location") == "" {
			t.Fatalf("%s %s: redirect %d without Location", r.Method, r.URL, w.Code)
		}
		return nil
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: %d with Content-Type %q", r.Method, r.URL, w.Code, ct)
	}
	if canon, err := jsoncanon.Canonicalize(body); err != nil || !bytes.Equal(canon, body) {
		t.Fatalf("%s %s: body is not canonical JSON (%v): %q", r.Method, r.URL, err, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		t.Fatalf("%s %s: %d body is not a JSON object: %q", r.Method, r.URL, w.Code, body)
	}
	if w.Code < 300 {
		return m
	}
	code, _ := m["code"].(string)
	detail, _ := m["detail"].(string)
	field, hasField := m["field"]
	if fs, _ := field.(string); hasField && fs == "" {
		t.Fatalf("error body %s: field is not a non-empty string", body)
	}
	want := 3
	if hasField {
		want = 4
	}
	if len(m) != want || m["status"] != float64(w.Code) || code == "" || detail == "" {
		t.Fatalf("error body %s is not exactly {status,code,detail,field?} for HTTP %d", body, w.Code)
	}
	if goTypeRe.MatchString(detail) {
		t.Fatalf("error body %s names a Go type", body)
	}
	if fs, _ := field.(string); hasField && !fieldPathRe.MatchString(fs) {
		t.Fatalf("error body %s: field is not a path like items[0].licenses[1].key", body)
	}
	if !manageCodes[code] {
		t.Fatalf("undocumented code %q in %s", code, body)
	}
	if httpkit.Status(code) != w.Code {
		t.Fatalf("code %s answered with %d, table says %d", code, w.Code, httpkit.Status(code))
	}
	if w.Code == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
	return nil
}

var (
	// goTypeRe finds what only a Go type name has.
	goTypeRe = regexp.MustCompile(`struct \{|json:|\[\][a-z*]|map\[|\bu?int(8|16|32|64)?\b|\bfloat(32|64)\b|\bGo\b`)
	// fieldPathRe is the one form of an error's field: members after a dot, array
	// indices in brackets.
	fieldPathRe = regexp.MustCompile(`^[a-z_]+(\[[0-9]+\])*(\.[a-z_]+(\[[0-9]+\])*)*$`)
)

// ---- query strings of the list endpoints

var listPaths = []string{"/api/v1/products/", "/api/v1/licenses/", "/api/v1/devices/", "/api/v1/device-variables/", "/api/v1/api-keys/"}

// FuzzManageQuery: list filters and pagination. page, queryText and queryID either refuse
// with a validation error naming the parameter or return values within their limits;
// the whole request never answers 5xx, and a list is the DRF envelope with at most
// limit results whose next/previous links decode to valid pages.
func FuzzManageQuery(f *testing.F) {
	for _, s := range []struct {
		route uint8
		query string
	}{
		{0, ""}, {0, "limit=1"}, {0, "limit=1&offset=1"}, {0, "limit=0"}, {0, "limit=-1"}, {0, "limit=101"},
		{0, "limit=99999999999999999999"}, {0, "offset=1099511627776"}, {0, "offset=1099511627777"},
		{0, "offset=-0"}, {0, "limit=+5"}, {0, "limit=1_0"}, {0, "limit=0x10"}, {0, "limit=%zz"}, {0, "limit=1;offset=2"},
		{1, "license_key=KEY-1"}, {1, "license_key=%FF"}, {1, "product_short_code=app&limit=1&offset=1"},
		{1, "license_key=" + strings.Repeat("k", 1025)}, {1, "license_key=a%00b"}, {1, "license_key=KEY-1&license_key=x"},
		{2, "hardware_id=h1&license=1&blacklisted=false"}, {2, "license=0"}, {2, "license=-1"}, {2, "license=1e3"},
		{2, "blacklisted=T"}, {2, "blacklisted=yes"}, {2, "hardware_id=%C3%A9%F0%9F%98%80"},
		{3, "device=1"}, {3, "device=1&limit=1&offset=1"}, {3, "device=1&offset=1099511627776"}, {3, "device=99"}, {3, ""},
		{3, "device=9223372036854775808"}, {4, ""}, {4, "limit=1&offset=1"}, {4, "offset=1099511627777"},
	} {
		f.Add(s.route, s.query)
	}
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, route uint8, rawQuery string) {
		path := listPaths[int(route)%len(listPaths)]
		r := s.request(http.MethodGet, path+"?"+rawQuery, "Api-Key "+s.key, nil)
		if r == nil {
			return
		}
		pg, err := page(r)
		if err != nil {
			checkFieldError(t, err, "limit", "offset")
		} else if pg.Limit < 1 || pg.Limit > 100 || pg.Offset < 0 || pg.Offset > maxOffset {
			t.Fatalf("page(%q) = %+v", rawQuery, pg)
		}
		for _, name := range []string{"license_key", "product_short_code", "hardware_id"} {
			v, err := queryText(r, name)
			if err != nil {
				checkFieldError(t, err, name)
			} else if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 || len(v) > 1024 {
				t.Fatalf("queryText(%q, %s) = %q", rawQuery, name, v)
			}
		}
		for _, name := range []string{"license", "device"} {
			id, err := queryID(r, name)
			if err != nil {
				checkFieldError(t, err, name)
			} else if id < 0 {
				t.Fatalf("queryID(%q, %s) = %d", rawQuery, name, id)
			}
		}
		m := s.serve(t, r)
		if m == nil {
			return
		}
		results, ok := m["results"].([]any)
		if len(m) != 4 || !ok || m["count"] == nil {
			t.Fatalf("list body %v is not {count,next,previous,results}", m)
		}
		if err != nil || len(results) > pg.Limit {
			t.Fatalf("%q: %d results for page %+v (page error %v)", rawQuery, len(results), pg, err)
		}
		for _, rel := range []string{"next", "previous"} {
			link, isString := m[rel].(string)
			if m[rel] == nil {
				continue
			}
			u, err := url.Parse(link)
			if !isString || err != nil || u.Path != path {
				t.Fatalf("%s link %v (%v)", rel, m[rel], err)
			}
			lr := httptest.NewRequest(http.MethodGet, u.RequestURI(), nil)
			if lp, err := page(lr); err != nil || lp.Limit != pg.Limit {
				t.Fatalf("%s link %q decodes to %+v, %v", rel, link, lp, err)
			}
		}
	})
}

// checkFieldError: a validation error naming one of fields.
func checkFieldError(t *testing.T, err error, fields ...string) {
	t.Helper()
	var e *licensing.Error
	if !errors.As(err, &e) || e.Code != licensing.EValidation || e.Message == "" {
		t.Fatalf("not a validation error: %#v", err)
	}
	for _, f := range fields {
		if e.Field == f {
			return
		}
	}
	t.Fatalf("validation error names %q, want one of %v", e.Field, fields)
}

// ---- paths and methods

var fuzzMethods = []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete, http.MethodHead, http.MethodOptions}

// FuzzManagePath: any method on any path under /api/v1/ (ids in paths included) never
// answers 5xx and keeps the error shape; objects of the other company stay not_found.
func FuzzManagePath(f *testing.F) {
	for _, s := range []struct {
		method uint8
		path   string
	}{
		{0, "products/"}, {0, "products/1/"}, {0, "products/2/"}, {0, "products/0/"}, {0, "products/-1/"},
		{0, "products/9223372036854775807/"}, {0, "products/9223372036854775808/"}, {0, "products/1e3/"}, {0, "products/%31/"},
		{0, "licenses/1/"}, {0, "licenses/4/"}, {2, "licenses/1/"}, {1, "licenses/1/enable/"}, {1, "licenses/2/disable/"},
		{1, "licenses/3/reset/"}, {0, "devices/1/"}, {1, "devices/1/blacklist/"}, {1, "devices/1/unblacklist/"}, {1, "devices/1/reset/"},
		{1, "api-keys/"}, {0, "api-keys/"}, {0, "api-keys/?limit=1&offset=1"}, {1, "api-keys/1/revoke/"}, {1, "api-keys/99/revoke/"}, {0, "device-variables/?device=1"},
		{0, "products"}, {0, "products//1/"}, {0, "products/../licenses/"}, {0, "./products/"}, {3, "products/"},
		{4, "licenses/1/"}, {5, "products/"}, {6, "products/"}, {0, "nope/"}, {0, ""}, {0, "products/1/x/"},
		{0, "products/%2F/"}, {0, "products/%00/"}, {0, "products/\xff/"},
	} {
		f.Add(s.method, s.path)
	}
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, method uint8, path string) {
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		r := s.request(m, "/api/v1/"+path, "Api-Key "+s.key, []byte(`{}`))
		if r == nil {
			return
		}
		r.Header.Set("Content-Type", "application/json")
		s.serve(t, r)
	})
}

// ---- JSON bodies

var bodyRoutes = []struct{ method, path string }{
	{http.MethodPost, "/api/v1/products/"},
	{http.MethodPost, "/api/v1/orders/create_order/"},
	{http.MethodPatch, "/api/v1/licenses/2/"},
	{http.MethodPost, "/api/v1/api-keys/"},
}

// FuzzManageBody: the JSON body decoders of product creation, order creation, license
// patching and API-key creation never answer 5xx, refuse with a documented code (type
// errors naming the field), and whatever they accept is stored within the limits:
// identifiers of at most 255 bytes, valid UTF-8, no NUL.
func FuzzManageBody(f *testing.F) {
	for _, s := range []struct {
		route uint8
		body  string
	}{
		{0, `{"product_name":"Other","short_code":"other"}`},
		{0, `{"product_name":"U","short_code":"u","authorization_method":"user"}`},
		{0, `{"product_name":"x","short_code":"app"}`}, {0, `{"product_name":5}`}, {0, `{"product_name":"a\u0000"}`},
		{0, `{"product_name":"` + strings.Repeat("é", 128) + `","short_code":"s"}`},
		{0, `{"product_name":"\ud800","short_code":"\udc00x"}`}, {0, `[]`}, {0, `null`}, {0, `"x"`}, {0, ``}, {0, "{\"a\":\"\xff\"}"},
		{1, `{"id":"o-2","customer":{"email":"c@example.com"},"items":[{"product_code":"app","licenses":[{"key":"AAAA-1","max_activations":3,"validity_period":"2030-01-31 00:00:00"},{}]}]}`},
		{1, `{"id":"o-1","items":[{"product_code":"app","licenses":[{}]}]}`},
		{1, `{"id":12345,"items":[{"product_code":"app","licenses":[{"license_type":"subscription","validity_period":"2030-01-31"}]}]}`},
		{1, `{"id":1e400,"items":[{"product_code":"app","licenses":[{}]}]}`},
		{1, `{"id":{},"items":[]}`}, {1, `{"items":[{"product_code":"app","licenses":[{"max_activations":-1}]}]}`},
		{1, `{"items":[{"product_code":"app","licenses":[{"max_activations":1.5}]}]}`},
		{1, `{"items":[{"product_code":"app","licenses":[{"validity_period":"2030-02-30"}]}]}`},
		{1, `{"items":[{"product_code":"app","licenses":[{"validity_period":"+10000-01-01T00:00:00Z"}]}]}`},
		{1, `{"items":[{"product_code":"app","licenses":[{"key":"` + strings.Repeat("k", 256) + `"}]}]}`},
		{1, `{"items":[{"product_code":"zzz","licenses":[{}]}]}`}, {1, `{"items":[{"product_code":"app","licenses":[{"users":[{"email":"x"}]}]}]}`},
		{1, `{"items":[{"product_code":"app","licenses":[{"license_type":"consumption"}]}]}`},
		{1, `{"items":[{"product_code":"upp","licenses":[{"users":[{"email":"A@x.test"},{"email":"a@x.test "}]}]}]}`},
		{1, `{"items":[{"product_code":"upp","licenses":[{"users":[{"email":"b@x.test"}]},{"users":[{"email":"B@x.test"}]}]},{"product_code":"upp","licenses":[{"users":[{"email":"b@x.test"}]}]}]}`},
		{1, `{"items":[{"product_code":"upp","licenses":[{"key":"K","users":[{"email":"c@x.test"}]}]}]}`},
		{1, `{"items":[{"product_code":"upp","licenses":[{}]}]}`},
		{1, `{"items":[{"product_code":"app","licenses":[{"key":"DUP"},{"key":"DUP"}]}]}`},
		{2, `{"max_activations":5,"validity_period":null}`}, {2, `{"enabled":false}`}, {2, `{"enabled":true,"allow_unlimited_activations":true}`},
		{2, `{"max_activations":-1}`}, {2, `{"max_activations":9223372036854775808}`}, {2, `{"validity_period":"soon"}`},
		{2, `{"validity_period":"2030-01-31T00:00:00+14:00"}`}, {2, `{"validity_period":"0000-01-01"}`}, {2, `{"validity_period":"9999-12-31T23:59:59-14:00"}`},
		{2, `{"validity_period":"0000-01-01T00:00:00+14:00"}`}, {2, `{}`},
		{3, ``}, {3, `{"read_only":true}`}, {3, `{"read_only":"yes"}`}, {3, `  `},
	} {
		f.Add(s.route, []byte(s.body))
	}
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := bodyRoutes[int(route)%len(bodyRoutes)]
		r := httptest.NewRequest(rt.method, rt.path, bytes.NewReader(body))
		r.Header.Set("Authorization", "Api-Key "+s.key)
		r.Header.Set("Content-Type", "application/json")
		m := s.serve(t, r)
		if m == nil {
			return
		}
		checkStored := func(what string, v any, limit int) {
			t.Helper()
			if v == nil {
				return
			}
			str, ok := v.(string)
			if !ok || !utf8.ValidString(str) || strings.IndexByte(str, 0) >= 0 || len(str) > limit {
				t.Fatalf("%s stored as %#v (limit %d bytes)", what, v, limit)
			}
		}
		switch int(route) % len(bodyRoutes) {
		case 0:
			checkStored("product_name", m["product_name"], 255)
			checkStored("short_code", m["short_code"], 255)
		case 1:
			checkStored("store_id", m["store_id"], 255)
			lics, _ := m["licenses"].([]any)
			for _, l := range lics {
				lm, _ := l.(map[string]any)
				checkStored("license_key", lm["license_key"], 255)
				if n, _ := lm["max_activations"].(float64); n < 0 {
					t.Fatalf("license stored with max_activations %v", n)
				}
			}
		case 2:
			if n, _ := m["max_activations"].(float64); n < 0 {
				t.Fatalf("license patched to max_activations %v", n)
			}
		}
	})
}

// ---- Authorization

// FuzzManageAuth: any Authorization header is either the company's key or a 401 in the
// documented shape; a broken key never reaches the database as a 5xx.
func FuzzManageAuth(f *testing.F) {
	s := newFuzzServer(f)
	prefix, secret, _ := strings.Cut(s.key, ".")
	for _, a := range []string{
		"Api-Key " + s.key, "api-key  " + s.key + " ", "Api-Key " + s.key + "x", "Api-Key " + prefix + ".", "Api-Key ." + secret,
		"Api-Key " + prefix, "Bearer " + s.key, "Api-Key", "Api-Key \xff." + secret, "Api-Key " + prefix + ".\x00",
		"Api-Key " + strings.Repeat("p", 300) + "." + secret, "Api-Key a.b.c", "",
	} {
		f.Add(a)
	}
	f.Fuzz(func(t *testing.T, auth string) {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/products/", nil)
		if auth != "" {
			r.Header["Authorization"] = []string{auth}
		}
		s.serve(t, r)
	})
}

// FuzzManageOrder builds well-formed create_order and license PATCH bodies from fuzzed
// values (the raw-body target rarely gets past the JSON grammar): store id, product code,
// key, license type, validity period, user email, max_activations. Never 5xx; what is
// accepted is stored within the limits and reads back as sent.
func FuzzManageOrder(f *testing.F) {
	for _, s := range []struct {
		storeID, product, key, licenseType, validity, email string
		maxActivations                                      int64
	}{
		{"o-9", "app", "AAAA-9", "", "2030-01-31 00:00:00", "", 3},
		{"", "app", "", "time-limited", "2030-01-31", "", 0},
		{"", "app", "", "subscription", "2030-01-31T00:00:00+14:00", "", 1},
		{"", "app", "", "", "9999-12-31T23:59:59-00:01", "", 1},
		{"", "app", "", "", "0001-01-01T00:00:00+00:01", "", 1},
		{"", "app", "", "", "2030-01-31T00:00:00.123456789Z", "", 1},
		{"", "app", "", "", "2030-13-01", "", 1},
		{"", "upp", "", "", "", "user@example.com", 1},
		{"", "upp", "", "", "", "not-an-email", 1},
		{"", "app", "KEY-1", "", "", "", 1},
		{"o-1", "app", "", "", "", "", 1},
		{strings.Repeat("s", 256), "app", "", "", "", "", 1},
		{"", "app", strings.Repeat("k", 256), "", "", "", 1},
		{"", "app", "", "consumption", "", "", -1},
		{"", "nope", "", "", "", "", 1},
		{"é\u2028", "app", "é\u2028", "", "", "", 1 << 62},
	} {
		f.Add(s.storeID, s.product, s.key, s.licenseType, s.validity, s.email, s.maxActivations)
	}
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, storeID, product, key, licenseType, validity, email string, maxActivations int64) {
		for _, v := range []string{storeID, product, key, licenseType, validity, email} {
			if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
				return // refused by the decoder; FuzzManageBody covers those bytes
			}
		}
		lic := map[string]any{"max_activations": maxActivations}
		for k, v := range map[string]string{"key": key, "license_type": licenseType, "validity_period": validity} {
			if v != "" {
				lic[k] = v
			}
		}
		if email != "" {
			lic["users"] = []any{map[string]string{"email": email, "password": "pw"}}
		}
		order := map[string]any{"items": []any{map[string]any{"product_code": product, "licenses": []any{lic}}}}
		if storeID != "" {
			order["id"] = storeID
		}
		body, err := json.Marshal(order)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, "/api/v1/orders/create_order/", bytes.NewReader(body))
		r.Header.Set("Authorization", "Api-Key "+s.key)
		r.Header.Set("Content-Type", "application/json")
		m := s.serve(t, r)
		if m == nil {
			return
		}
		if len(storeID) > 255 || len(key) > 255 || maxActivations < 0 {
			t.Fatalf("order %s accepted: %v", body, m)
		}
		if storeID != "" && m["store_id"] != storeID {
			t.Fatalf("store id %q stored as %v", storeID, m["store_id"])
		}
		lics, _ := m["licenses"].([]any)
		if len(lics) != 1 {
			t.Fatalf("order %s created %v", body, m)
		}
		l, _ := lics[0].(map[string]any)
		if key != "" && l["license_key"] != key {
			t.Fatalf("key %q stored as %v", key, l["license_key"])
		}
		// The stored validity period patches back unchanged: what the API writes, it reads.
		id, _ := l["id"].(float64)
		vp, _ := json.Marshal(map[string]any{"validity_period": l["validity_period"]})
		pr := httptest.NewRequest(http.MethodPatch, fmt.Sprintf("/api/v1/licenses/%d/", int64(id)), bytes.NewReader(vp))
		pr.Header.Set("Authorization", "Api-Key "+s.key)
		pr.Header.Set("Content-Type", "application/json")
		if pm := s.serve(t, pr); pm == nil || pm["validity_period"] != l["validity_period"] {
			t.Fatalf("PATCH %s answered %v", vp, pm)
		}
	})
}
