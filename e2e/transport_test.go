package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/licensor/licensor/client"
)

func TestHealthz(t *testing.T) {
	t.Parallel()
	resp, err := http.Get(shared.root + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
}

// TestLicenseAPITransportErrors: unknown paths, wrong methods and oversized
// bodies still answer with the {status, code, message} body.
func TestLicenseAPITransportErrors(t *testing.T) {
	t.Parallel()
	s := shared
	c := s.client(t)
	f := newFixture(t, s, "license-key")
	l := f.keyLicense(1)
	id := f.keyID(l, "hw-transport")
	f.activate(id)

	for _, tc := range []struct {
		name, method, endpoint string
		body                   any
		status                 int
		code                   string
	}{
		{"unknown endpoint", "GET", "no_such_endpoint", nil, 404, "not_found"},
		{"unknown endpoint POST", "POST", "no_such_endpoint", map[string]any{}, 404, "not_found"},
		{"nested unknown", "GET", "check_license/extra", nil, 404, "not_found"},
		{"GET activate_license", "GET", "activate_license", nil, 405, ""},
		{"GET deactivate_license", "GET", "deactivate_license", nil, 405, ""},
		{"GET track_device_variables", "GET", "track_device_variables", nil, 405, ""},
		{"POST check_license", "POST", "check_license", map[string]any{}, 405, ""},
		{"POST get_device_variables", "POST", "get_device_variables", map[string]any{}, 405, ""},
		{"DELETE track_device_variables", "DELETE", "track_device_variables", nil, 405, ""},
		{"PUT activate_license", "PUT", "activate_license", map[string]any{}, 405, ""},
	} {
		r, err := c.Do(ctx(), tc.method, tc.endpoint, id.Query(), tc.body)
		if err != nil {
			t.Fatal(err)
		}
		wantRespErr(t, tc.name, r, tc.status, tc.code)
	}

	// Unknown paths without any authorization, outside /api/v4 too.
	for _, p := range []string{"/api/v4/nope", "/nope", "/api/v5/check_license"} {
		resp, err := http.Get(s.root + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantRespErr(t, "GET "+p, &client.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, 404, "not_found")
	}

	// A body over 1 MiB.
	big := `{"product":"` + f.product.ShortCode + `","hardware_id":"hw-transport","license_key":"` + *l.LicenseKey +
		`","variables":{"x":"` + strings.Repeat("a", 1<<20) + `"}}`
	for _, ep := range []string{"track_device_variables", "activate_license", "deactivate_license"} {
		r, err := c.Do(ctx(), "POST", ep, nil, []byte(big))
		if err != nil {
			t.Fatal(err)
		}
		wantRespErr(t, "1 MiB body to "+ep, r, 413, "")
	}
	// Just under the limit is judged on its content (variable value too long).
	under := `{"product":"` + f.product.ShortCode + `","hardware_id":"hw-transport","license_key":"` + *l.LicenseKey +
		`","variables":{"x":"` + strings.Repeat("a", 1<<20-200) + `"}}`
	r, err := c.Do(ctx(), "POST", "track_device_variables", nil, []byte(under))
	if err != nil {
		t.Fatal(err)
	}
	wantRespErr(t, "body just under 1 MiB", r, 400, "validation_error")
	// The device is still fine afterwards.
	if _, err := c.CheckLicense(ctx(), checkReq(id)); err != nil {
		t.Errorf("check after oversized requests: %v", err)
	}
}

// TestLicenseAPIContentTypes: success JSON is served as JSON; deactivation is text.
func TestLicenseAPIContentTypes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	l := f.keyLicense(1)
	id := f.keyID(l, "hw-ct")
	r, err := f.c.Do(ctx(), "POST", "activate_license", nil, activateReq(id))
	if err != nil || r.Status != 200 {
		t.Fatalf("activate: %v %+v", err, r)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("activate Content-Type %q", ct)
	}
	if len(r.Body) > 0 && r.Body[len(r.Body)-1] == '\n' {
		t.Errorf("activation body ends with a newline")
	}
	r, err = f.c.Do(ctx(), "GET", "check_license", id.Query(), nil)
	if err != nil || r.Status != 200 {
		t.Fatalf("check: %v %+v", err, r)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("check Content-Type %q", ct)
	}
	r, err = f.c.Do(ctx(), "GET", "check_license", map[string][]string{"product": {"x"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q", ct)
	}
}
