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
		if m := f.must(mk, "POST", "/api/v1/orders/create_order/", body, 400); m["field"] != "max_activations" {
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
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	if w.Code != 400 || !strings.Contains(w.Body.String(), `"invalid_json"`) {
		t.Fatalf("status %d %s, want 400 invalid_json", w.Code, w.Body)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
