package manageapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/manageapi"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/internal/sqlite"
)

type fixture struct {
	t    *testing.T
	svc  *licensing.Service
	h    http.Handler
	a, b licensing.Credentials // two companies
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, svc: licensing.NewService(st)}
	if f.a, err = f.svc.Init(ctx, "a", signing.ECDSAP256); err != nil {
		t.Fatal(err)
	}
	if f.b, err = f.svc.CreateCompany(ctx, "b", signing.ECDSAP256); err != nil {
		t.Fatal(err)
	}
	f.h = manageapi.New(f.svc, nil)
	return f
}

// call sends body (if any) as application/json.
func (f *fixture) call(key, method, path, body string) (int, map[string]any) {
	f.t.Helper()
	return f.callAs(key, method, path, body, "application/json")
}

// callAs sends body with Content-Type contentType ("": none).
func (f *fixture) callAs(key, method, path, body, contentType string) (int, map[string]any) {
	f.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if key != "" {
		r.Header.Set("Authorization", "Api-Key "+key)
	}
	if body != "" && contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		f.t.Fatalf("%s %s: body is not a JSON object: %q", method, path, w.Body)
	}
	return w.Code, m
}

func (f *fixture) must(key, method, path, body string, want int) map[string]any {
	f.t.Helper()
	code, m := f.call(key, method, path, body)
	if code != want {
		f.t.Fatalf("%s %s: status %d, want %d: %v", method, path, code, want, m)
	}
	return m
}

const order = `{"id":"o-1","customer":{"email":"c@example.com"},"items":[{"product_code":"app","licenses":[{"key":"AAAA-1","max_activations":3,"validity_period":"2030-01-31 00:00:00"},{}]}]}`

func TestLifecycle(t *testing.T) {
	f := newFixture(t)
	mk := f.a.ManagementKey
	p := f.must(mk, "POST", "/api/v1/products/", `{"product_name":"App","short_code":"app"}`, 201)
	if p["authorization_method"] != "license-key" || p["id"] == nil {
		t.Fatalf("product %v", p)
	}
	o := f.must(mk, "POST", "/api/v1/orders/create_order/", order, 201)
	lics := o["licenses"].([]any)
	if len(lics) != 2 {
		t.Fatalf("order %v", o)
	}
	first := lics[0].(map[string]any)
	if first["license_key"] != "AAAA-1" || first["validity_period"] != "2030-01-31T00:00:00Z" || first["max_activations"] != float64(3) {
		t.Fatalf("license %v", first)
	}
	if k, _ := lics[1].(map[string]any)["license_key"].(string); len(k) != 19 || strings.Count(k, "-") != 3 {
		t.Fatalf("generated key %q", k)
	}
	f.must(mk, "POST", "/api/v1/orders/create_order/", order, 409)

	id := int64(first["id"].(float64))
	l := f.must(mk, "PATCH", fmt.Sprintf("/api/v1/licenses/%d/", id), `{"max_activations":5,"validity_period":null}`, 200)
	if l["max_activations"] != float64(5) || l["validity_period"] != nil {
		t.Fatalf("patched %v", l)
	}
	if l := f.must(mk, "POST", fmt.Sprintf("/api/v1/licenses/%d/disable/", id), ``, 200); l["enabled"] != false {
		t.Fatalf("disable %v", l)
	}
	if l := f.must(mk, "POST", fmt.Sprintf("/api/v1/licenses/%d/enable/", id), ``, 200); l["enabled"] != true {
		t.Fatalf("enable %v", l)
	}
	list := f.must(mk, "GET", "/api/v1/licenses/?license_key=AAAA-1", ``, 200)
	if list["count"] != float64(1) {
		t.Fatalf("filtered list %v", list)
	}
	list = f.must(mk, "GET", "/api/v1/licenses/?product_short_code=app&limit=1", ``, 200)
	if list["count"] != float64(2) || list["next"] == nil || len(list["results"].([]any)) != 1 {
		t.Fatalf("paged list %v", list)
	}
	k := f.must(mk, "POST", "/api/v1/api-keys/", ``, 201)
	if k["api_key"] == "" || k["shared_key"] == "" || k["revoked_at"] != nil {
		t.Fatalf("api key %v", k)
	}
	rev := f.must(mk, "POST", fmt.Sprintf("/api/v1/api-keys/%d/revoke/", int64(k["id"].(float64))), ``, 200)
	if rev["revoked"] != true || rev["revoked_at"] == nil || rev["api_key"] != k["api_key"] || rev["shared_key"] != nil {
		t.Fatalf("revoked %v", rev)
	}
	// The list: the company's first key and the revoked one, by id, never a shared key.
	keys := f.must(mk, "GET", "/api/v1/api-keys/", ``, 200)
	results, _ := keys["results"].([]any)
	if keys["count"] != float64(2) || len(results) != 2 {
		t.Fatalf("api keys %v", keys)
	}
	first, second := results[0].(map[string]any), results[1].(map[string]any)
	if first["api_key"] != f.a.APIKey || first["revoked"] != false || first["revoked_at"] != nil || second["id"] != k["id"] ||
		second["revoked"] != true || second["revoked_at"] != rev["revoked_at"] || second["created_at"] != k["created_at"] {
		t.Fatalf("api keys %v", keys)
	}
	for _, r := range results {
		if len(r.(map[string]any)) != 6 {
			t.Errorf("listed key %v, want id, api_key, read_only, revoked, revoked_at, created_at", r)
		}
	}
	if page := f.must(mk, "GET", "/api/v1/api-keys/?limit=1&offset=1", ``, 200); page["next"] != nil || page["previous"] == nil ||
		len(page["results"].([]any)) != 1 {
		t.Fatalf("second page %v", page)
	}
	if other := f.must(f.b.ManagementKey, "GET", "/api/v1/api-keys/", ``, 200); other["count"] != float64(1) {
		t.Fatalf("the other company's api keys %v", other)
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	mk := f.a.ManagementKey
	f.must(mk, "POST", "/api/v1/products/", `{"product_name":"App","short_code":"app"}`, 201)
	o := f.must(mk, "POST", "/api/v1/orders/create_order/", order, 201)
	licID := int64(o["licenses"].([]any)[0].(map[string]any)["id"].(float64))
	tests := []struct {
		name, key, method, path, body string
		status                        int
		field                         string
	}{
		{"no key", "", "GET", "/api/v1/licenses/", ``, 401, ""},
		{"bad key", "nope.nope", "GET", "/api/v1/licenses/", ``, 401, ""},
		{"tampered secret", mk + "x", "GET", "/api/v1/licenses/", ``, 401, ""},
		{"unknown path", mk, "GET", "/api/v1/nope/", ``, 404, ""},
		{"wrong method", mk, "DELETE", "/api/v1/products/", ``, 405, ""},
		{"no trailing slash", mk, "GET", "/api/v1/products", ``, 404, ""},
		{"no trailing slash, POST", mk, "POST", "/api/v1/products", `{"product_name":"x","short_code":"z"}`, 404, ""},
		{"empty segment", mk, "GET", "/api/v1//products/", ``, 404, ""},
		{"dot segment", mk, "GET", "/api/v1/./products/", ``, 404, ""},
		{"dot-dot segment", mk, "GET", "/api/v1/licenses/../products/", ``, 404, ""},
		{"missing short_code", mk, "POST", "/api/v1/products/", `{"product_name":"x"}`, 400, "short_code"},
		{"duplicate short_code", mk, "POST", "/api/v1/products/", `{"product_name":"x","short_code":"app"}`, 400, "short_code"},
		{"bad auth method", mk, "POST", "/api/v1/products/", `{"product_name":"x","short_code":"y","authorization_method":"sso"}`, 400, "authorization_method"},
		{"wrong type", mk, "POST", "/api/v1/products/", `{"product_name":5,"short_code":"y"}`, 400, "product_name"},
		{"broken json", mk, "POST", "/api/v1/products/", `{"product_name":`, 400, ""},
		{"unknown product in order", mk, "POST", "/api/v1/orders/create_order/", `{"items":[{"product_code":"zzz","licenses":[{}]}]}`, 400, "items[0].product_code"},
		{"negative max_activations", mk, "PATCH", fmt.Sprintf("/api/v1/licenses/%d/", licID), `{"max_activations":-1}`, 400, "max_activations"},
		// encoding/json would read both as U+FFFD: two names the client sent as one.
		{"lone surrogate in a name", mk, "POST", "/api/v1/products/", `{"product_name":"\ud800","short_code":"lone-sur"}`, 400, ""},
		{"lone surrogate in a patch", mk, "PATCH", fmt.Sprintf("/api/v1/licenses/%d/", licID), `{"note":"a\udc00"}`, 400, ""},
		{"nul in a name", mk, "POST", "/api/v1/products/", `{"product_name":"a\u0000","short_code":"nul-1"}`, 400, ""},
		{"escaped backslash before u0000 is text", mk, "POST", "/api/v1/products/", `{"product_name":"a\\u0000","short_code":"nul-text"}`, 201, ""},
		{"bad validity", mk, "PATCH", fmt.Sprintf("/api/v1/licenses/%d/", licID), `{"validity_period":"soon"}`, 400, "validity_period"},
		{"other company's license", f.b.ManagementKey, "GET", fmt.Sprintf("/api/v1/licenses/%d/", licID), ``, 404, ""},
		{"other company's patch", f.b.ManagementKey, "PATCH", fmt.Sprintf("/api/v1/licenses/%d/", licID), `{"enabled":false}`, 404, ""},
		{"other company's reset", f.b.ManagementKey, "POST", fmt.Sprintf("/api/v1/licenses/%d/reset/", licID), ``, 404, ""},
		{"other company's list", f.b.ManagementKey, "GET", "/api/v1/licenses/?license_key=AAAA-1", ``, 200, ""},
		{"device variables need a device", mk, "GET", "/api/v1/device-variables/", ``, 400, "device"},
		{"missing device", mk, "POST", "/api/v1/devices/999/blacklist/", ``, 404, ""},
		{"missing device reset", mk, "POST", "/api/v1/devices/999/reset/", ``, 404, ""},
		{"bad limit", mk, "GET", "/api/v1/licenses/?limit=x", ``, 400, "limit"},
		{"huge offset", mk, "GET", "/api/v1/licenses/?offset=9223372036854775807", ``, 400, "offset"},
		{"broken utf-8 filter", mk, "GET", "/api/v1/licenses/?license_key=%ff", ``, 400, "license_key"},
		{"nul in filter", mk, "GET", "/api/v1/devices/?hardware_id=a%00b", ``, 400, "hardware_id"},
		{"broken utf-8 key", "\xff.abc", "GET", "/api/v1/licenses/", ``, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, m := f.call(tt.key, tt.method, tt.path, tt.body)
			if code != tt.status {
				t.Fatalf("status %d, want %d: %v", code, tt.status, m)
			}
			if code >= 400 && (m["status"] != float64(code) || m["code"] == "" || m["detail"] == "") {
				t.Fatalf("error body %v", m)
			}
			if tt.field != "" && m["field"] != tt.field {
				t.Fatalf("field %v, want %s", m["field"], tt.field)
			}
			if tt.name == "other company's list" && m["count"] != float64(0) {
				t.Fatalf("another company's licenses leaked: %v", m)
			}
		})
	}
	// Nothing the other company tried changed the license.
	l := f.must(mk, "GET", fmt.Sprintf("/api/v1/licenses/%d/", licID), ``, 200)
	if l["enabled"] != true {
		t.Fatalf("license changed by another company: %v", l)
	}
}

// max_activations in create_order: absent is LicenseSpring's one seat (none for a license
// with unlimited activations); a number sent, 0 included, is stored as sent.
func TestCreateOrderSeats(t *testing.T) {
	f := newFixture(t)
	mk := f.a.ManagementKey
	f.must(mk, "POST", "/api/v1/products/", `{"product_name":"App","short_code":"app"}`, 201)
	for i, tc := range []struct {
		license string
		want    float64
	}{
		{`{}`, 1},
		{`{"max_activations":null}`, 1},
		{`{"max_activations":0}`, 0},
		{`{"max_activations":4}`, 4},
		{`{"allow_unlimited_activations":true}`, 0},
		{`{"allow_unlimited_activations":true,"max_activations":2}`, 2},
	} {
		t.Run(tc.license, func(t *testing.T) {
			body := fmt.Sprintf(`{"id":"seats-%d","items":[{"product_code":"app","licenses":[%s]}]}`, i, tc.license)
			o := f.must(mk, "POST", "/api/v1/orders/create_order/", body, 201)
			ls, _ := o["licenses"].([]any)
			if len(ls) != 1 {
				t.Fatalf("licenses %v", o["licenses"])
			}
			if got := ls[0].(map[string]any)["max_activations"]; got != tc.want {
				t.Errorf("max_activations %v, want %v", got, tc.want)
			}
		})
	}
}
