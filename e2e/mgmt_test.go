package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	keyRe     = regexp.MustCompile(`^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$`)
	mgmtTSRe  = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`)
	isoMsZRe  = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	validity0 = regexp.MustCompile(`^2030-01-01T00:00:00(\.0+)?Z$`)
)

func TestMgmtAuth(t *testing.T) {
	t.Parallel()
	s := shared
	for _, tc := range []struct{ name, auth string }{
		{"none", ""},
		{"unknown key", "Api-Key nope.nope"},
		{"wrong secret", "Api-Key " + strings.SplitN(s.creds.ManagementKey, ".", 2)[0] + ".wrong"},
		{"bearer scheme", "Bearer " + s.creds.ManagementKey},
		{"license api key", "Api-Key " + s.creds.APIKey},
	} {
		for _, ep := range []struct{ method, path string }{
			{"GET", "/api/v1/products/"},
			{"POST", "/api/v1/products/"},
			{"GET", "/api/v1/licenses/"},
			{"GET", "/api/v1/devices/"},
			{"POST", "/api/v1/api-keys/"},
		} {
			st, b := rawMgmt(t, s.root, tc.auth, ep.method, ep.path, map[string]any{"product_name": "x", "short_code": uniq("noauth"), "authorization_method": "user"})
			checkMgmtErr(t, tc.name+" "+ep.method+" "+ep.path, st, b, 401, "", "")
		}
	}
}

// TestMgmtTransportErrors: unknown paths, wrong methods and bad bodies answer
// with the management error body.
func TestMgmtTransportErrors(t *testing.T) {
	t.Parallel()
	m := shared.mgmt(t)
	m.wantErr("GET", "/api/v1/no-such-resource/", nil, 404, "", "")
	m.wantErr("GET", "/api/v1/products/not-a-number/", nil, 404, "", "")
	m.wantErr("DELETE", "/api/v1/products/", nil, 405, "", "")
	m.wantErr("PUT", "/api/v1/orders/create_order/", map[string]any{}, 405, "", "")
	m.wantErr("GET", "/api/v1/orders/create_order/", nil, 405, "", "")
	m.wantErr("POST", "/api/v1/orders/create_order/", []byte(`{"items":`), 400, "", "")
}

// TestMgmtContentType: a body is read only when declared application/json, in any case
// and with parameters such as charset; anything else, or no Content-Type (curl -d sends
// a form's), is 415 in the management error shape.
func TestMgmtContentType(t *testing.T) {
	t.Parallel()
	m := shared.mgmt(t)
	for _, tc := range []struct {
		name, contentType string
		status            int
	}{
		{"json", "application/json", 201},
		{"json with charset", "application/json; charset=utf-8", 201},
		{"upper case, no space", "APPLICATION/JSON;CHARSET=UTF-8", 201},
		{"text/plain", "text/plain", 415},
		{"none", "", 415},
		{"form, as curl -d sends", "application/x-www-form-urlencoded", 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"product_name":"CT","short_code":%q}`, uniq("ct"))
			req, err := http.NewRequest("POST", m.root+"/api/v1/products/", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Api-Key "+m.key)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if tc.status == 415 {
				checkMgmtErr(t, "POST /api/v1/products/ as "+tc.contentType, resp.StatusCode, b, 415, "unsupported_media_type", "")
			} else if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
		})
	}
}

func TestMgmtProducts(t *testing.T) {
	t.Parallel()
	m := shared.mgmt(t)
	code := uniq("prod")
	var p product
	b := m.call("POST", "/api/v1/products/", map[string]any{"product_name": "My Product", "short_code": code, "authorization_method": "user"}, 201, &p)
	wantKeys(t, "product", b, []string{"id", "product_name", "short_code", "authorization_method", "created_at", "updated_at"})
	if p.ID <= 0 || p.ProductName != "My Product" || p.ShortCode != code || p.AuthorizationMethod != "user" {
		t.Errorf("created %+v", p)
	}
	if !mgmtTSRe.MatchString(p.CreatedAt) || !mgmtTSRe.MatchString(p.UpdatedAt) {
		t.Errorf("timestamps %q %q", p.CreatedAt, p.UpdatedAt)
	}
	var g product
	m.call("GET", fmt.Sprintf("/api/v1/products/%d/", p.ID), nil, 200, &g)
	if g != p {
		t.Errorf("GET %+v, want %+v", g, p)
	}
	var all page[product]
	m.call("GET", "/api/v1/products/?limit=1000", nil, 200, &all)
	found := false
	for _, x := range all.Results {
		found = found || x.ID == p.ID
	}
	if !found || all.Count < 1 {
		t.Errorf("product %d not listed (count %d)", p.ID, all.Count)
	}
	m.wantErr("GET", "/api/v1/products/999999999999/", nil, 404, "", "")

	// Duplicate short code in the same company.
	st, body := m.do("POST", "/api/v1/products/", map[string]any{"product_name": "Again", "short_code": code, "authorization_method": "user"})
	if st != 400 && st != 409 {
		t.Errorf("duplicate short_code: status %d %s, want 400 or 409", st, body)
	} else {
		checkMgmtErr(t, "duplicate short_code", st, body, st, "", "")
	}

	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"missing product_name", map[string]any{"short_code": uniq("v"), "authorization_method": "user"}, "product_name"},
		{"missing short_code", map[string]any{"product_name": "x", "authorization_method": "user"}, "short_code"},
		{"bad authorization_method", map[string]any{"product_name": "x", "short_code": uniq("v"), "authorization_method": "license_key"}, "authorization_method"},
		{"short_code wrong type", map[string]any{"product_name": "x", "short_code": 5, "authorization_method": "user"}, ""},
	} {
		m.wantErr("POST", "/api/v1/products/", tc.body, 400, "", tc.field)
	}
	m.wantErr("POST", "/api/v1/products/", []byte(`{"product_name":`), 400, "", "")
}

// TestMgmtOrderFieldErrors: errors in an order name their field in one form, members
// after a dot and array indices in brackets, whether the decoder or the domain found them,
// and type errors name JSON types, not Go ones.
func TestMgmtOrderFieldErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	item := func(licenses string) []byte {
		return []byte(`{"items":[{"product_code":"` + f.product.ShortCode + `","licenses":[` + licenses + `]}]}`)
	}
	for _, tc := range []struct {
		name   string
		body   []byte
		field  string
		detail string // "": any
	}{
		{"items an object", []byte(`{"id":"n16","items":{}}`), "items", "items: expected an array, got an object"},
		{"max_activations a string", item(`{},{"max_activations":"x"}`), "items[0].licenses[1].max_activations",
			"items[0].licenses[1].max_activations: expected a number (an integer), got a string"},
		{"max_activations negative", item(`{},{"max_activations":-1}`), "items[0].licenses[1].max_activations", ""},
		{"key too long", item(`{},{"key":"` + strings.Repeat("K", 256) + `"}`), "items[0].licenses[1].key", ""},
		{"validity_period a number", item(`{"validity_period":5}`), "items[0].licenses[0].validity_period",
			"items[0].licenses[0].validity_period: expected a string (a date) or null, got a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := f.m.wantErr("POST", "/api/v1/orders/create_order/", tc.body, 400, "validation_error", tc.field)
			if tc.detail != "" && e.Detail != tc.detail {
				t.Errorf("detail %q, want %q", e.Detail, tc.detail)
			}
		})
	}
}

func TestMgmtCreateOrder(t *testing.T) {
	t.Parallel()
	fk := newFixture(t, shared, "license-key")
	fu := newFixture(t, shared, "user")
	m := fk.m
	store := uniq("store-")
	explicit := "E2E1-" + strings.ToUpper(uniq("K")) + "-AAAA-BBBB"
	var o orderResp
	b := m.call("POST", "/api/v1/orders/create_order/", map[string]any{
		"id":       store,
		"customer": map[string]any{"email": "buyer@example.com"},
		"items": []any{
			map[string]any{"product_code": fk.product.ShortCode, "licenses": []any{
				map[string]any{"max_activations": 3, "license_type": "perpetual", "validity_period": "2030-01-01 00:00:00"},
				map[string]any{"key": explicit, "max_activations": 1, "license_type": "perpetual", "validity_period": nil},
				map[string]any{"max_activations": 1, "license_type": "perpetual", "validity_period": "2030-01-01T00:00:00Z"},
			}},
			map[string]any{"product_code": fu.product.ShortCode, "licenses": []any{
				map[string]any{"users": []any{map[string]any{"email": "with-pw@example.com", "password": "s3cret!"}, map[string]any{"email": "no-pw@example.com"}}, "max_activations": 2, "license_type": "perpetual"},
			}},
		},
	}, 201, &o)
	wantKeys(t, "order", b, []string{"id", "store_id", "licenses"})
	if o.ID <= 0 || o.StoreID != store || len(o.Licenses) != 4 {
		t.Fatalf("order %+v", o)
	}
	gen, exp, iso, usr := o.Licenses[0], o.Licenses[1], o.Licenses[2], o.Licenses[3]
	raw := licenseObjects(t, b)
	for i := range raw {
		wantKeys(t, fmt.Sprintf("license %d", i), raw[i], licenseKeys)
	}
	if gen.LicenseKey == nil || !keyRe.MatchString(*gen.LicenseKey) {
		t.Errorf("generated key %v", gen.LicenseKey)
	}
	if exp.LicenseKey == nil || *exp.LicenseKey != explicit {
		t.Errorf("explicit key %v, want %s", exp.LicenseKey, explicit)
	}
	if *gen.LicenseKey == *iso.LicenseKey {
		t.Error("two generated keys are equal")
	}
	if usr.LicenseKey != nil {
		t.Errorf("user-based license has key %q", *usr.LicenseKey)
	}
	for _, l := range o.Licenses {
		if l.Order != o.ID || l.OrderStoreID == nil || *l.OrderStoreID != store || l.LicenseType != "perpetual" ||
			!l.Enabled || l.Active || l.IsTrial || l.TimesActivated != 0 || l.TransferCount != 0 {
			t.Errorf("license %+v", l)
		}
		if !mgmtTSRe.MatchString(l.CreatedAt) || !mgmtTSRe.MatchString(l.UpdatedAt) {
			t.Errorf("timestamps %q %q", l.CreatedAt, l.UpdatedAt)
		}
	}
	if gen.Product != fk.product.ID || gen.ProductShortCode != fk.product.ShortCode || usr.Product != fu.product.ID || usr.ProductShortCode != fu.product.ShortCode {
		t.Errorf("product refs %d/%s %d/%s", gen.Product, gen.ProductShortCode, usr.Product, usr.ProductShortCode)
	}
	if gen.MaxActivations != 3 || exp.MaxActivations != 1 || usr.MaxActivations != 2 {
		t.Errorf("max_activations %d %d %d", gen.MaxActivations, exp.MaxActivations, usr.MaxActivations)
	}
	if gen.ValidityPeriod == nil || !validity0.MatchString(*gen.ValidityPeriod) || iso.ValidityPeriod == nil || !validity0.MatchString(*iso.ValidityPeriod) || exp.ValidityPeriod != nil {
		t.Errorf("validity_period %v %v %v", gen.ValidityPeriod, iso.ValidityPeriod, exp.ValidityPeriod)
	}
	if len(usr.LicenseUsers) != 2 {
		t.Fatalf("license_users %+v", usr.LicenseUsers)
	}
	withPW, noPW := usr.LicenseUsers[0], usr.LicenseUsers[1]
	if withPW.Email != "with-pw@example.com" || withPW.InitialPassword != nil {
		t.Errorf("user with password: %+v", withPW)
	}
	if noPW.Email != "no-pw@example.com" || noPW.InitialPassword == nil || len(*noPW.InitialPassword) < 8 {
		t.Errorf("user without password: %+v (want initial_password)", noPW)
	}
	if len(gen.LicenseUsers) != 0 {
		t.Errorf("key-based license_users %+v", gen.LicenseUsers)
	}

	// initial_password is shown once; both users can activate with their passwords.
	got := fk.getLicense(usr.ID)
	wantKeys(t, "GET license", m.call("GET", fmt.Sprintf("/api/v1/licenses/%d/", usr.ID), nil, 200, nil), licenseKeys)
	for _, u := range got.LicenseUsers {
		if u.InitialPassword != nil {
			t.Errorf("GET license shows initial_password for %s", u.Email)
		}
	}
	if _, err := fu.c.ActivateLicense(ctx(), activateUser(fu, "hw-o1", "with-pw@example.com", "s3cret!")); err != nil {
		t.Errorf("activate with given password: %v", err)
	}
	if noPW.InitialPassword != nil {
		if _, err := fu.c.ActivateLicense(ctx(), activateUser(fu, "hw-o2", "no-pw@example.com", *noPW.InitialPassword)); err != nil {
			t.Errorf("activate with initial_password: %v", err)
		}
	}
	// Explicit key works on the License API.
	fk.activate(fk.keyID(exp, "hw-explicit"))

	// Duplicate store id.
	m.wantErr("POST", "/api/v1/orders/create_order/", map[string]any{
		"id": store, "customer": map[string]any{"email": "x@example.com"},
		"items": []any{map[string]any{"product_code": fk.product.ShortCode, "licenses": []any{map[string]any{"max_activations": 1, "license_type": "perpetual"}}}},
	}, 409, "order_id_exists", "")
	// Omitted store id is allowed (twice).
	for i := 0; i < 2; i++ {
		var o2 orderResp
		m.call("POST", "/api/v1/orders/create_order/", map[string]any{
			"customer": map[string]any{"email": "x@example.com"},
			"items":    []any{map[string]any{"product_code": fk.product.ShortCode, "licenses": []any{map[string]any{"max_activations": 1, "license_type": "perpetual"}}}},
		}, 201, &o2)
		if len(o2.Licenses) != 1 || !keyRe.MatchString(*o2.Licenses[0].LicenseKey) {
			t.Errorf("order without id: %+v", o2)
		}
	}
	// Bad orders.
	m.wantErr("POST", "/api/v1/orders/create_order/", map[string]any{
		"id": uniq("store-"), "customer": map[string]any{"email": "x@example.com"},
		"items": []any{map[string]any{"product_code": "no-such-product", "licenses": []any{map[string]any{"max_activations": 1}}}},
	}, 400, "", "")
	// Reusing an explicit key for the same product is rejected.
	st, body := m.do("POST", "/api/v1/orders/create_order/", map[string]any{
		"id": uniq("store-"), "customer": map[string]any{"email": "x@example.com"},
		"items": []any{map[string]any{"product_code": fk.product.ShortCode, "licenses": []any{map[string]any{"key": explicit, "max_activations": 1}}}},
	})
	if st != 400 && st != 409 {
		t.Errorf("duplicate license key: status %d %s, want 400 or 409", st, body)
	} else {
		checkMgmtErr(t, "duplicate license key", st, body, st, "", "")
	}
}

// licenseObjects returns the raw license objects of a create_order answer.
func licenseObjects(t *testing.T, order []byte) [][]byte {
	t.Helper()
	var o struct {
		Licenses []json.RawMessage `json:"licenses"`
	}
	if err := json.Unmarshal(order, &o); err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, len(o.Licenses))
	for i, l := range o.Licenses {
		out[i] = l
	}
	return out
}

func TestMgmtLicenses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	m := f.m
	o := f.order(lic{maxActivations: 2}, lic{}, lic{}, lic{}, lic{})
	l := o.Licenses[0]

	// Filter by key and by product, paginate.
	var byKey page[mlicense]
	m.call("GET", "/api/v1/licenses/?license_key="+*l.LicenseKey, nil, 200, &byKey)
	if byKey.Count != 1 || len(byKey.Results) != 1 || byKey.Results[0].ID != l.ID {
		t.Errorf("filter by key: %+v", byKey)
	}
	var p1, p2, p3 page[mlicense]
	m.call("GET", "/api/v1/licenses/?product_short_code="+f.product.ShortCode+"&limit=2&offset=0", nil, 200, &p1)
	m.call("GET", "/api/v1/licenses/?product_short_code="+f.product.ShortCode+"&limit=2&offset=2", nil, 200, &p2)
	m.call("GET", "/api/v1/licenses/?product_short_code="+f.product.ShortCode+"&limit=2&offset=4", nil, 200, &p3)
	if p1.Count != 5 || len(p1.Results) != 2 || p1.Next == nil || p1.Previous != nil {
		t.Errorf("page 1: count %d, %d results, next %v, previous %v", p1.Count, len(p1.Results), p1.Next, p1.Previous)
	}
	if p2.Count != 5 || len(p2.Results) != 2 || p2.Next == nil || p2.Previous == nil {
		t.Errorf("page 2: count %d, %d results, next %v, previous %v", p2.Count, len(p2.Results), p2.Next, p2.Previous)
	}
	if p3.Count != 5 || len(p3.Results) != 1 || p3.Next != nil || p3.Previous == nil {
		t.Errorf("page 3: count %d, %d results, next %v, previous %v", p3.Count, len(p3.Results), p3.Next, p3.Previous)
	}
	seen := map[int64]bool{}
	for _, pg := range [][]mlicense{p1.Results, p2.Results, p3.Results} {
		for _, x := range pg {
			if seen[x.ID] {
				t.Errorf("license %d on two pages", x.ID)
			}
			seen[x.ID] = true
		}
	}
	if len(seen) != 5 {
		t.Errorf("pages cover %d licenses, want 5", len(seen))
	}
	wantKeys(t, "paged envelope", m.call("GET", "/api/v1/licenses/?product_short_code="+f.product.ShortCode, nil, 200, nil), []string{"count", "next", "previous", "results"})

	// PATCH.
	var patched mlicense
	m.call("PATCH", fmt.Sprintf("/api/v1/licenses/%d/", l.ID), map[string]any{"max_activations": 7, "validity_period": "2030-01-01T00:00:00Z"}, 200, &patched)
	if patched.MaxActivations != 7 || patched.ValidityPeriod == nil || !validity0.MatchString(*patched.ValidityPeriod) {
		t.Errorf("patched %+v", patched)
	}
	m.call("PATCH", fmt.Sprintf("/api/v1/licenses/%d/", l.ID), map[string]any{"enabled": false, "validity_period": nil}, 200, &patched)
	if patched.Enabled || patched.ValidityPeriod != nil || patched.MaxActivations != 7 {
		t.Errorf("patched %+v", patched)
	}
	if g := f.getLicense(l.ID); g.Enabled || g.MaxActivations != 7 {
		t.Errorf("GET after PATCH %+v", g)
	}
	m.wantErr("PATCH", fmt.Sprintf("/api/v1/licenses/%d/", l.ID), map[string]any{"max_activations": "many"}, 400, "", "max_activations")
	m.wantErr("PATCH", fmt.Sprintf("/api/v1/licenses/%d/", l.ID), map[string]any{"max_activations": -1}, 400, "", "max_activations")
	m.wantErr("PATCH", fmt.Sprintf("/api/v1/licenses/%d/", l.ID), map[string]any{"validity_period": "tomorrow"}, 400, "", "validity_period")
	m.wantErr("PATCH", fmt.Sprintf("/api/v1/licenses/%d/", l.ID), []byte(`not json`), 400, "", "")
	m.wantErr("GET", "/api/v1/licenses/999999999999/", nil, 404, "", "")

	// enable / disable / reset.
	f.setEnabled(l.ID, true)
	f.setEnabled(l.ID, false)
	f.setEnabled(l.ID, true)
	f.activate(f.keyID(l, "hw-r1"))
	f.activate(f.keyID(l, "hw-r2"))
	if g := f.getLicense(l.ID); !g.Active || g.TimesActivated != 2 {
		t.Errorf("after two activations: active %v times_activated %d", g.Active, g.TimesActivated)
	}
	var reset mlicense
	m.call("POST", fmt.Sprintf("/api/v1/licenses/%d/reset/", l.ID), nil, 200, &reset)
	if reset.Active || reset.TimesActivated != 0 {
		t.Errorf("after reset: active %v times_activated %d", reset.Active, reset.TimesActivated)
	}
	for _, d := range f.devices(l.ID) {
		if d.DeviceActive {
			t.Errorf("device %s still active after reset", d.HardwareID)
		}
	}
	_, err := f.c.CheckLicense(ctx(), checkReq(f.keyID(l, "hw-r1")))
	wantAPIErr(t, "check after reset", err, 400, "license_not_active")
	// The seats are free again.
	f.activate(f.keyID(l, "hw-r3"))
	f.activate(f.keyID(l, "hw-r1"))
	if g := f.getLicense(l.ID); g.TimesActivated != 2 || !g.Active {
		t.Errorf("after re-activation: %+v", g)
	}
	for _, a := range []string{"enable", "disable", "reset"} {
		m.wantErr("POST", fmt.Sprintf("/api/v1/licenses/999999999999/%s/", a), nil, 404, "", "")
	}
}

func TestMgmtDevices(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	m := f.m
	l := f.keyLicense(2)
	act, err := f.c.ActivateLicense(ctx(), activateKeyFull(f, l, "HW-dev-1"))
	if err != nil {
		t.Fatal(err)
	}
	var pg page[device]
	b := m.call("GET", fmt.Sprintf("/api/v1/devices/?license=%d", l.ID), nil, 200, &pg)
	if pg.Count != 1 || len(pg.Results) != 1 {
		t.Fatalf("devices %s", b)
	}
	d := pg.Results[0]
	if d.ID != act.DeviceID || d.License != l.ID || d.HardwareID != "HW-dev-1" || !d.DeviceActive || d.Blacklisted ||
		d.OS != "Linux 6.1" || d.Hostname != "build-box" || d.IP != "10.0.0.7" || d.MACAddress != "00:11:22:33:44:55" ||
		d.AppVer != "1.2.3" || d.SDKBuildVersion != "e2e-sdk 0.1" || !d.IsVM || d.VMInfo != "kvm" || d.ExternalIP != "127.0.0.1" {
		t.Errorf("device %+v", d)
	}
	if d.TimeActivated == nil || d.TimeDeactivated != nil || !mgmtTSRe.MatchString(d.CreatedAt) {
		t.Errorf("device times %v %v %q", d.TimeActivated, d.TimeDeactivated, d.CreatedAt)
	}
	var one device
	b = m.call("GET", fmt.Sprintf("/api/v1/devices/%d/", d.ID), nil, 200, &one)
	wantKeys(t, "device", b, deviceKeys)
	if one.ID != d.ID || one.HardwareID != d.HardwareID {
		t.Errorf("GET device %+v", one)
	}
	var byHW page[device]
	m.call("GET", fmt.Sprintf("/api/v1/devices/?license=%d&hardware_id=nope", l.ID), nil, 200, &byHW)
	if byHW.Count != 0 {
		t.Errorf("hardware_id filter: %+v", byHW)
	}
	f.deviceByHW(l.ID, "HW-dev-1")
	m.wantErr("GET", "/api/v1/devices/999999999999/", nil, 404, "", "")

	// check_license records last_check, written behind within about a second.
	if _, err := f.c.CheckLicense(ctx(), checkReq(f.keyID(l, "HW-dev-1"))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.deviceByHW(l.ID, "HW-dev-1").LastCheck == nil {
		if time.Now().After(deadline) {
			t.Fatal("last_check not set within 5 s of check_license")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Blacklist / unblacklist.
	f.blacklist(d.ID)
	if d := f.deviceByHW(l.ID, "HW-dev-1"); !d.Blacklisted {
		t.Error("blacklisted false after blacklist")
	}
	var bl page[device]
	m.call("GET", fmt.Sprintf("/api/v1/devices/?license=%d&blacklisted=true", l.ID), nil, 200, &bl)
	if bl.Count != 1 || len(bl.Results) != 1 || bl.Results[0].ID != d.ID {
		t.Errorf("blacklisted=true filter: %+v", bl)
	}
	_, err = f.c.CheckLicense(ctx(), checkReq(f.keyID(l, "HW-dev-1")))
	wantAPIErr(t, "check blacklisted", err, 400, "blacklisted")
	var msg struct{ Message string }
	m.call("POST", fmt.Sprintf("/api/v1/devices/%d/unblacklist/", d.ID), nil, 200, &msg)
	if msg.Message != "Device unblacklisted." {
		t.Errorf("unblacklist message %q", msg.Message)
	}
	if _, err := f.c.CheckLicense(ctx(), checkReq(f.keyID(l, "HW-dev-1"))); err != nil {
		t.Errorf("check after unblacklist: %v", err)
	}
	m.wantErr("POST", "/api/v1/devices/999999999999/blacklist/", nil, 404, "", "")

	// Deactivation is visible.
	if err := f.c.DeactivateLicense(ctx(), deactReq(f.keyID(l, "HW-dev-1"))); err != nil {
		t.Fatal(err)
	}
	if d := f.deviceByHW(l.ID, "HW-dev-1"); d.DeviceActive || d.TimeDeactivated == nil {
		t.Errorf("after deactivation: active %v time_deactivated %v", d.DeviceActive, d.TimeDeactivated)
	}
}

// TestMgmtDeviceReset: POST /devices/{id}/reset/ frees that device's seat — the only way
// to free a blacklisted device's, which stays blacklisted — and answers the same for an
// inactive device, changing nothing.
func TestMgmtDeviceReset(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	for _, tc := range []struct {
		name                   string
		blacklist, deactivated bool
	}{
		{"active", false, false},
		{"blacklisted", true, false},
		{"inactive", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := f.keyLicense(2)
			f.activate(f.keyID(l, "hw-stays"))
			f.activate(f.keyID(l, "hw-reset"))
			if tc.deactivated {
				if err := f.c.DeactivateLicense(ctx(), deactReq(f.keyID(l, "hw-reset"))); err != nil {
					t.Fatal(err)
				}
			}
			d := f.deviceByHW(l.ID, "hw-reset")
			if tc.blacklist {
				f.blacklist(d.ID)
				err := f.c.DeactivateLicense(ctx(), deactReq(f.keyID(l, "hw-reset")))
				wantAPIErr(t, "deactivate a blacklisted device", err, 400, "blacklisted")
			}
			var msg struct{ Message string }
			b := f.m.call("POST", fmt.Sprintf("/api/v1/devices/%d/reset/", d.ID), nil, 200, &msg)
			wantKeys(t, "reset answer", b, []string{"message"})
			if msg.Message != "Device reset and license updated." {
				t.Errorf("reset message %q", msg.Message)
			}
			got := f.deviceByHW(l.ID, "hw-reset")
			if got.DeviceActive || got.Blacklisted != tc.blacklist || got.TimeDeactivated == nil {
				t.Errorf("device after reset: active %v blacklisted %v time_deactivated %v", got.DeviceActive, got.Blacklisted, got.TimeDeactivated)
			}
			if tc.deactivated && *got.TimeDeactivated != *d.TimeDeactivated {
				t.Errorf("resetting an inactive device moved time_deactivated from %s to %s", *d.TimeDeactivated, *got.TimeDeactivated)
			}
			if !f.deviceByHW(l.ID, "hw-stays").DeviceActive {
				t.Error("the license's other device was deactivated too")
			}
			if lic := f.getLicense(l.ID); lic.TimesActivated != 1 {
				t.Errorf("times_activated %d after reset, want 1", lic.TimesActivated)
			}
			resets := auditLog(f.m, url.Values{"object_type": {"device"}, "object_id": {fmt.Sprint(d.ID)}, "action": {"device.reset"}})
			want := int64(1) // an inactive device's reset records nothing
			if tc.deactivated {
				want = 0
			}
			if resets.Count != want {
				t.Errorf("device.reset entries %d, want %d", resets.Count, want)
			} else if want == 1 && (field(t, resets.Results[0].Before, "active") != true || field(t, resets.Results[0].After, "active") != false ||
				!strings.HasPrefix(resets.Results[0].Actor, "management_key:")) {
				t.Errorf("device.reset entry %+v", resets.Results[0])
			}
			// The seat is free: a new device takes it; a blacklisted one still cannot.
			_, err := f.c.ActivateLicense(ctx(), activateReq(f.keyID(l, "hw-reset")))
			if tc.blacklist {
				wantAPIErr(t, "activate the reset blacklisted device", err, 400, "blacklisted")
				f.activate(f.keyID(l, "hw-new"))
			} else if err != nil {
				t.Errorf("activate the reset device: %v", err)
			}
		})
	}
	f.m.wantErr("POST", "/api/v1/devices/999999999999/reset/", nil, 404, "not_found", "")
}

func TestMgmtDeviceVariables(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	l := f.keyLicense(1)
	id := f.keyID(l, "hw-mv")
	act := f.activate(id)
	if _, err := f.c.TrackDeviceVariables(ctx(), trackReq(id, "a", "1", "b", true)); err != nil {
		t.Fatal(err)
	}
	var pg page[struct {
		ID        int64  `json:"id"`
		CreatedAt string `json:"created_at"`
		Variable  string `json:"variable"`
		Value     string `json:"value"`
		Device    int64  `json:"device"`
	}]
	b := f.m.call("GET", fmt.Sprintf("/api/v1/device-variables/?device=%d", act.DeviceID), nil, 200, &pg)
	if pg.Count != 2 || len(pg.Results) != 2 {
		t.Fatalf("device variables %s", b)
	}
	got := map[string]string{}
	for _, v := range pg.Results {
		if v.Device != act.DeviceID || v.ID <= 0 || !mgmtTSRe.MatchString(v.CreatedAt) {
			t.Errorf("variable %+v", v)
		}
		got[v.Variable] = v.Value
	}
	if got["a"] != "1" || got["b"] != "true" {
		t.Errorf("variables %v", got)
	}
	var rs struct {
		Results []json.RawMessage `json:"results"`
	}
	json.Unmarshal(b, &rs)
	wantKeys(t, "device variable", rs.Results[0], []string{"id", "created_at", "variable", "value", "device"})
}

func TestMgmtAPIKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	m := f.m
	l := f.keyLicense(3)

	var k struct {
		ID        int64  `json:"id"`
		APIKey    string `json:"api_key"`
		SharedKey string `json:"shared_key"`
		ReadOnly  bool   `json:"read_only"`
		Revoked   bool   `json:"revoked"`
		CreatedAt string `json:"created_at"`
	}
	b := m.call("POST", "/api/v1/api-keys/", nil, 201, &k)
	wantKeys(t, "api key", b, []string{"id", "api_key", "shared_key", "read_only", "revoked", "revoked_at", "created_at"})
	if k.ID <= 0 || k.APIKey == "" || k.SharedKey == "" || k.ReadOnly || k.Revoked || k.APIKey == shared.creds.APIKey {
		t.Fatalf("api key %+v", k)
	}
	c2 := shared.clientWith(t, k.APIKey, k.SharedKey)
	if _, err := c2.ActivateLicense(ctx(), activateReq(f.keyID(l, "hw-k1"))); err != nil {
		t.Fatalf("activate with new key: %v", err)
	}
	// The new key's shared key is not interchangeable with the first key's.
	mixed := shared.clientWith(t, k.APIKey, shared.creds.SharedKey)
	_, err := mixed.CheckLicense(ctx(), checkReq(f.keyID(l, "hw-k1")))
	wantAPIErr(t, "new api key with old shared key", err, 400, "signature_mismatch")

	// A revocation answers the key without its shared key; revoking it again answers the
	// same and records nothing more. The audit entry has the key before and after.
	revoke := fmt.Sprintf("/api/v1/api-keys/%d/revoke/", k.ID)
	var revoked struct {
		RevokedAt string `json:"revoked_at"`
	}
	rev := m.call("POST", revoke, nil, 200, &revoked)
	wantKeys(t, "revoked api key", rev, apiKeyListKeys)
	if !mgmtTSRe.MatchString(revoked.RevokedAt) || revoked.RevokedAt < k.CreatedAt {
		t.Errorf("revoked_at %q, created_at %q", revoked.RevokedAt, k.CreatedAt)
	}
	want := fmt.Sprintf(`{"id":%d,"api_key":%q,"read_only":false,"revoked":true,"revoked_at":%q,"created_at":%q}`,
		k.ID, k.APIKey, revoked.RevokedAt, k.CreatedAt)
	if string(rev) != want {
		t.Errorf("revoke answered %s, want %s", rev, want)
	}
	if again := m.call("POST", revoke, nil, 200, nil); string(again) != string(rev) {
		t.Errorf("second revoke answered %s, first %s", again, rev)
	}
	entries := auditLog(m, url.Values{"object_type": {"api_key"}, "object_id": {fmt.Sprint(k.ID)}, "action": {"api_key.revoke"}})
	if entries.Count != 1 {
		t.Fatalf("%d api_key.revoke entries after two revocations, want 1", entries.Count)
	}
	if e := entries.Results[0]; field(t, e.Before, "revoked") != false || field(t, e.After, "revoked") != true ||
		field(t, e.Before, "api_key") != k.APIKey || field(t, e.Before, "read_only") != false {
		t.Errorf("revoke entry before %s after %s", e.Before, e.After)
	}
	_, err = c2.CheckLicense(ctx(), checkReq(f.keyID(l, "hw-k1")))
	wantAPIErr(t, "check with revoked key", err, 400, "revoked_api_key")
	_, err = c2.ActivateLicense(ctx(), activateReq(f.keyID(l, "hw-k2")))
	wantAPIErr(t, "activate with revoked key", err, 400, "revoked_api_key")
	// The original key is unaffected.
	if _, err := f.c.CheckLicense(ctx(), checkReq(f.keyID(l, "hw-k1"))); err != nil {
		t.Errorf("original key after revoking another: %v", err)
	}
	m.wantErr("POST", "/api/v1/api-keys/999999999999/revoke/", nil, 404, "", "")

	// A read-only key may read but not activate (reference §2, read_only_api_key).
	var ro struct {
		APIKey    string `json:"api_key"`
		SharedKey string `json:"shared_key"`
		ReadOnly  bool   `json:"read_only"`
	}
	m.call("POST", "/api/v1/api-keys/", map[string]any{"read_only": true}, 201, &ro)
	if !ro.ReadOnly {
		t.Fatalf("read_only key %+v", ro)
	}
	cro := shared.clientWith(t, ro.APIKey, ro.SharedKey)
	if _, err := cro.CheckLicense(ctx(), checkReq(f.keyID(l, "hw-k1"))); err != nil {
		t.Errorf("check with read-only key: %v", err)
	}
	_, err = cro.ActivateLicense(ctx(), activateReq(f.keyID(l, "hw-k3")))
	wantAPIErr(t, "activate with read-only key", err, 400, "read_only_api_key")

	// The list shows every key of the company as the revocation answers it, revoked
	// ones included, and never a secret.
	listed := map[string][]byte{}
	for next := "/api/v1/api-keys/?limit=2"; next != ""; {
		var pg page[json.RawMessage]
		b := m.call("GET", next, nil, 200, &pg)
		for _, secret := range []string{k.SharedKey, ro.SharedKey, shared.creds.SharedKey, shared.creds.ManagementKey, "shared_key"} {
			if strings.Contains(string(b), secret) {
				t.Fatalf("api key list shows %q: %s", secret, b)
			}
		}
		for _, r := range pg.Results {
			wantKeys(t, "listed api key", r, apiKeyListKeys)
			var lk struct {
				APIKey string `json:"api_key"`
			}
			json.Unmarshal(r, &lk)
			listed[lk.APIKey] = r
		}
		next = ""
		if pg.Next != nil {
			u, err := url.Parse(*pg.Next)
			if err != nil {
				t.Fatal(err)
			}
			next = u.RequestURI()
		}
	}
	if string(listed[k.APIKey]) != string(rev) {
		t.Errorf("revoked key listed as %s, revoke answered %s", listed[k.APIKey], rev)
	}
	var lro struct {
		ReadOnly  bool    `json:"read_only"`
		Revoked   bool    `json:"revoked"`
		RevokedAt *string `json:"revoked_at"`
	}
	if err := json.Unmarshal(listed[ro.APIKey], &lro); err != nil || !lro.ReadOnly || lro.Revoked || lro.RevokedAt != nil {
		t.Errorf("read-only key listed as %s", listed[ro.APIKey])
	}
	if listed[shared.creds.APIKey] == nil {
		t.Errorf("the company's first key is not listed (%d keys)", len(listed))
	}
}

// apiKeyListKeys are what the management API shows of a License API key after its creation.
var apiKeyListKeys = []string{"id", "api_key", "read_only", "revoked", "revoked_at", "created_at"}
