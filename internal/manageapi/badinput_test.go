package manageapi_test

import (
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// A literal null body is not an empty object: it creates and changes nothing.
func TestNullBodyRefused(t *testing.T) {
	f := newFixture(t)
	mk := f.a.ManagementKey
	f.must(mk, "POST", "/api/v1/products/", `{"product_name":"App","short_code":"app"}`, 201)
	o := f.must(mk, "POST", "/api/v1/orders/create_order/", order, 201)
	id := int64(o["licenses"].([]any)[0].(map[string]any)["id"].(float64))
	for _, c := range []struct{ method, path string }{
		{"POST", "/api/v1/products/"},
		{"POST", "/api/v1/orders/create_order/"},
		{"PATCH", "/api/v1/licenses/" + itoa(id) + "/"},
		{"POST", "/api/v1/api-keys/"},
	} {
		if m := f.must(mk, c.method, c.path, " null ", 400); m["code"] != "invalid_json" {
			t.Errorf("%s %s null: %v, want invalid_json", c.method, c.path, m)
		}
	}
}

// A count above 2^53-1 is refused before anything is stored: the canonical encoder
// could not send it back, so the license would answer 500 from then on.
func TestMaxActivationsAboveSafeInteger(t *testing.T) {
	f := newFixture(t)
	mk := f.a.ManagementKey
	f.must(mk, "POST", "/api/v1/products/", `{"product_name":"App","short_code":"app"}`, 201)
	o := f.must(mk, "POST", "/api/v1/orders/create_order/", order, 201)
	id := itoa(int64(o["licenses"].([]any)[0].(map[string]any)["id"].(float64)))
	for _, v := range []string{"9007199254740992", "4611686018427387904", "9223372036854775807"} {
		if m := f.must(mk, "PATCH", "/api/v1/licenses/"+id+"/", `{"max_activations":`+v+`}`, 400); m["field"] != "max_activations" {
			t.Errorf("patch %s: %v", v, m)
		}
		body := `{"items":[{"product_code":"app","licenses":[{"max_activations":` + v + `}]}]}`
		if m := f.must(mk, "POST", "/api/v1/orders/create_order/", body, 400); m["field"] != "items[0].licenses[0].max_activations" {
			t.Errorf("order %s: %v", v, m)
		}
	}
	f.must(mk, "PATCH", "/api/v1/licenses/"+id+"/", `{"max_activations":9007199254740991}`, 200)
	if l := f.must(mk, "GET", "/api/v1/licenses/"+id+"/", "", 200); l["max_activations"] != float64(9007199254740991) {
		t.Errorf("license after the largest safe count: %v", l)
	}
	if p := f.must(mk, "GET", "/api/v1/licenses/", "", 200); p["count"] != float64(2) {
		t.Errorf("licenses after refused orders: %v, want the 2 of the first order", p["count"])
	}
}

// A body cut short of its Content-Length is the client's invalid_json, not an internal error.
func TestTruncatedBodyRefused(t *testing.T) {
	f := newFixture(t)
	r := httptest.NewRequest("POST", "/api/v1/products/", io.MultiReader(strings.NewReader(`{"product_name":"A`), iotest.ErrReader(io.ErrUnexpectedEOF)))
	r.Header.Set("Authorization", "Api-Key "+f.a.ManagementKey)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	if w.Code != 400 || !strings.Contains(w.Body.String(), `"invalid_json"`) {
		t.Fatalf("status %d %s, want 400 invalid_json", w.Code, w.Body)
	}
}

// A body must be declared application/json (any case, parameters allowed) on every
// route: anything else is 415 in the management error shape and changes nothing. A
// request without a body needs no Content-Type.
func TestContentType(t *testing.T) {
	f := newFixture(t)
	mk := f.a.ManagementKey
	f.must(mk, "POST", "/api/v1/products/", `{"product_name":"App","short_code":"app"}`, 201)
	o := f.must(mk, "POST", "/api/v1/orders/create_order/", order, 201)
	lic := "/api/v1/licenses/" + itoa(int64(o["licenses"].([]any)[0].(map[string]any)["id"].(float64))) + "/"
	product := func(code string) string { return `{"product_name":"P","short_code":"` + code + `"}` }
	tests := []struct {
		name, method, path, body, contentType string
		status                                int
	}{
		{"json", "POST", "/api/v1/products/", product("p1"), "application/json", 201},
		{"json with charset", "POST", "/api/v1/products/", product("p2"), "application/json; charset=utf-8", 201},
		{"upper case, no space", "POST", "/api/v1/products/", product("p3"), "Application/JSON;Charset=UTF-8", 201},
		{"text/plain", "POST", "/api/v1/products/", product("t1"), "text/plain", 415},
		{"none", "POST", "/api/v1/products/", product("t2"), "", 415},
		{"form", "POST", "/api/v1/products/", product("t3"), "application/x-www-form-urlencoded", 415},
		{"multipart", "POST", "/api/v1/products/", product("t4"), "multipart/form-data; boundary=b", 415},
		{"+json", "POST", "/api/v1/products/", product("t5"), "application/vnd.api+json", 415},
		{"jsonx", "POST", "/api/v1/products/", product("t6"), "application/jsonx", 415},
		{"order as text", "POST", "/api/v1/orders/create_order/", `{"items":[{"product_code":"app","licenses":[{}]}]}`, "text/plain", 415},
		{"patch as text", "PATCH", lic, `{"enabled":false}`, "text/plain", 415},
		{"api key as text", "POST", "/api/v1/api-keys/", `{"read_only":true}`, "text/plain", 415},
		{"body on a route that reads none", "POST", lic + "disable/", `{}`, "text/plain", 415},
		{"api key without a body", "POST", "/api/v1/api-keys/", ``, "", 201},
		{"list without a body", "GET", "/api/v1/products/", ``, "", 200},
		{"no key: 401 first", "POST", "/api/v1/products/", product("t7"), "text/plain", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := mk
			if tt.status == 401 {
				key = ""
			}
			code, m := f.callAs(key, tt.method, tt.path, tt.body, tt.contentType)
			if code != tt.status {
				t.Fatalf("status %d, want %d: %v", code, tt.status, m)
			}
			if code == 415 && (m["status"] != float64(415) || m["code"] != "unsupported_media_type" || m["detail"] == "" || len(m) != 3) {
				t.Errorf("error body %v", m)
			}
		})
	}
	// Nothing refused was stored.
	if p := f.must(mk, "GET", "/api/v1/products/", "", 200); p["count"] != float64(4) {
		t.Errorf("%v products, want app, p1, p2, p3", p["count"])
	}
	if l := f.must(mk, "GET", lic, "", 200); l["enabled"] != true {
		t.Errorf("license changed by a refused request: %v", l)
	}
}

// A value of the wrong JSON type is named by its field's path — members after a dot,
// array indices in brackets, as every other error names a field — and by the JSON types
// expected and sent, never a Go type.
func TestTypeErrors(t *testing.T) {
	f := newFixture(t)
	mk := f.a.ManagementKey
	f.must(mk, "POST", "/api/v1/products/", `{"product_name":"App","short_code":"app"}`, 201)
	o := f.must(mk, "POST", "/api/v1/orders/create_order/", order, 201)
	lic := "/api/v1/licenses/" + itoa(int64(o["licenses"].([]any)[0].(map[string]any)["id"].(float64))) + "/"
	const orders = "/api/v1/orders/create_order/"
	// item wraps licenses (a JSON array's members) in an order of product app.
	item := func(licenses string) string {
		return `{"items":[{"product_code":"app","licenses":[` + licenses + `]}]}`
	}
	tests := []struct {
		name, method, path, body string
		field, detail            string // detail "": any
	}{
		{"product name a number", "POST", "/api/v1/products/", `{"product_name":5,"short_code":"x"}`,
			"product_name", "product_name: expected a string, got a number"},
		{"product name a number, in capitals", "POST", "/api/v1/products/", `{"PRODUCT_NAME":5,"short_code":"x"}`,
			"product_name", "product_name: expected a string, got a number"},
		{"items an object", "POST", orders, `{"id":"n16","items":{}}`,
			"items", "items: expected an array, got an object"},
		{"item a number", "POST", orders, `{"items":[1]}`,
			"items[0]", "items[0]: expected an object, got a number"},
		{"licenses a string", "POST", orders, `{"items":[{"product_code":"app","licenses":"x"}]}`,
			"items[0].licenses", "items[0].licenses: expected an array, got a string"},
		{"max_activations a string", "POST", orders, item(`{},{"max_activations":"x"}`),
			"items[0].licenses[1].max_activations", "items[0].licenses[1].max_activations: expected a number (an integer), got a string"},
		{"max_activations a fraction", "POST", orders, item(`{"max_activations":1.5}`),
			"items[0].licenses[0].max_activations", "items[0].licenses[0].max_activations: expected a number (an integer), got a number with a fraction or out of range"},
		{"max_activations 2^63", "POST", orders, item(`{"max_activations":9223372036854775808}`),
			"items[0].licenses[0].max_activations", "items[0].licenses[0].max_activations: expected a number (an integer), got a number with a fraction or out of range"},
		{"a member spelled in capitals", "POST", orders, `{"ITEMS":[{"product_code":"app","Licenses":[{},{"Max_Activations":"x"}]}]}`,
			"items[0].licenses[1].max_activations", "items[0].licenses[1].max_activations: expected a number (an integer), got a string"},
		{"second item a string", "POST", orders, `{"items":[{"product_code":"app","licenses":[{}]},"x"]}`,
			"items[1]", "items[1]: expected an object, got a string"},
		{"max_activations above 2^53-1", "POST", orders, item(`{},{"max_activations":9007199254740992}`),
			"items[0].licenses[1].max_activations", ""},
		{"max_activations negative", "POST", orders, item(`{},{"max_activations":-1}`),
			"items[0].licenses[1].max_activations", ""},
		{"user email a number", "POST", orders, item(`{"users":[{"email":5}]}`),
			"items[0].licenses[0].users[0].email", "items[0].licenses[0].users[0].email: expected a string, got a number"},
		{"validity_period a number", "POST", orders, item(`{},{"validity_period":5}`),
			"items[0].licenses[1].validity_period", "items[0].licenses[1].validity_period: expected a string (a date) or null, got a number"},
		{"validity_period not a date", "POST", orders, item(`{"validity_period":"2030-13-01"}`),
			"items[0].licenses[0].validity_period", ""},
		{"is_trial a string", "POST", orders, item(`{"is_trial":"yes"}`),
			"items[0].licenses[0].is_trial", "items[0].licenses[0].is_trial: expected a boolean, got a string"},
		{"customer a string", "POST", orders, `{"customer":"x","items":[]}`,
			"customer", "customer: expected an object, got a string"},
		{"customer email a boolean", "POST", orders, `{"customer":{"email":true},"items":[]}`,
			"customer.email", "customer.email: expected a string, got a boolean"},
		{"id a boolean", "POST", orders, `{"id":true,"items":[]}`,
			"id", "id: expected a string or a number, got a boolean"},
		{"enabled a string", "PATCH", lic, `{"enabled":"yes"}`,
			"enabled", "enabled: expected a boolean, got a string"},
		{"max_activations an array", "PATCH", lic, `{"max_activations":[]}`,
			"max_activations", "max_activations: expected a number (an integer), got an array"},
		{"validity_period an object", "PATCH", lic, `{"validity_period":{}}`,
			"validity_period", "validity_period: expected a string (a date) or null, got an object"},
		{"read_only a number", "POST", "/api/v1/api-keys/", `{"read_only":1}`,
			"read_only", "read_only: expected a boolean, got a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := f.must(mk, tt.method, tt.path, tt.body, 400)
			if m["code"] != "validation_error" || m["field"] != tt.field || (tt.detail != "" && m["detail"] != tt.detail) {
				t.Errorf("got %v\nwant field %q detail %q", m, tt.field, tt.detail)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A query string with a pair net/url cannot read (a bad %-escape, a ';' separator) is
// refused on every route: read without that pair, a filter or page the client sent
// would be left out and the list would answer more than was asked for.
func TestMalformedQueryRefused(t *testing.T) {
	f := newFixture(t)
	mk := f.a.ManagementKey
	f.must(mk, "POST", "/api/v1/products/", `{"product_name":"App","short_code":"app"}`, 201)
	f.must(mk, "POST", "/api/v1/orders/create_order/", order, 201)
	tests := []struct {
		name, method, path, body string
		status                   int
		count                    float64 // of a 200 list
	}{
		{"filter with a bad escape", "GET", "/api/v1/licenses/?license_key=%zz", ``, 400, 0},
		{"filter with a cut escape", "GET", "/api/v1/licenses/?license_key=AAAA-1%", ``, 400, 0},
		{"filter followed by ;", "GET", "/api/v1/licenses/?license_key=AAAA-1;x", ``, 400, 0},
		{"limit followed by ;", "GET", "/api/v1/licenses/?limit=1;", ``, 400, 0},
		{"a bad pair beside a good filter", "GET", "/api/v1/licenses/?license_key=AAAA-1&x=%g0", ``, 400, 0},
		{"a route that reads no query", "GET", "/api/v1/products/1/?x=%zz", ``, 400, 0},
		{"a change", "POST", "/api/v1/products/?x=;", `{"product_name":"B","short_code":"b"}`, 400, 0},
		{"well-formed escapes", "GET", "/api/v1/licenses/?license_key=AAAA%2D1", ``, 200, 1},
		{"an encoded ; in a value", "GET", "/api/v1/licenses/?license_key=AAAA-1%3Bx", ``, 200, 0},
		{"an empty pair", "GET", "/api/v1/licenses/?&license_key=AAAA-1&", ``, 200, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, m := f.call(mk, tt.method, tt.path, tt.body)
			if code != tt.status {
				t.Fatalf("status %d, want %d: %v", code, tt.status, m)
			}
			if tt.status == 400 && (m["code"] != "validation_error" || m["status"] != float64(400) || m["detail"] == "" || len(m) != 3) {
				t.Errorf("error body %v", m)
			}
			if tt.status == 200 && m["count"] != tt.count {
				t.Errorf("count %v, want %v", m["count"], tt.count)
			}
		})
	}
	if p := f.must(mk, "GET", "/api/v1/products/", "", 200); p["count"] != float64(1) {
		t.Errorf("%v products, want app alone", p["count"])
	}
}
