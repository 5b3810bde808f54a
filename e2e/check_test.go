package e2e

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/licensor/licensor/client"
)

func TestCheckLicense(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	l := f.order(lic{maxActivations: 2, validity: "2030-01-01 00:00:00"}).Licenses[0]
	id := f.keyID(l, "HW-Check-1")
	a := f.activate(id)
	c, err := f.c.CheckLicense(ctx(), checkReq(id))
	if err != nil {
		t.Fatal(err) // signatures verified
	}
	hasKeys(t, "check", c.Raw, []string{"id", "license_key", "license_active", "license_enabled", "is_expired", "device_id",
		"validity_period", "times_activated", "max_activations", "product_details", "company", "license_signature",
		"is_borrowed", "borrowed_until"})
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(c.Raw, &fields); err != nil {
		t.Fatal(err)
	}
	if string(fields["is_borrowed"]) != "false" || string(fields["borrowed_until"]) != "null" {
		t.Errorf("is_borrowed %s, borrowed_until %s: want false and null (reference §7.2)", fields["is_borrowed"], fields["borrowed_until"])
	}
	var activation map[string]json.RawMessage
	if err := json.Unmarshal(a.Raw, &activation); err != nil {
		t.Fatal(err)
	}
	if _, ok := activation["borrowed_until"]; ok {
		t.Errorf("the activation answer has borrowed_until, a check field: %s", a.Raw)
	}
	// A key-based answer has no user object.
	if _, ok := activation["user"]; ok {
		t.Errorf("key-based activation has a user: %s", a.Raw)
	}
	if _, ok := fields["user"]; ok {
		t.Errorf("key-based check has a user: %s", c.Raw)
	}
	if c.ID != l.ID || !c.LicenseActive || !c.LicenseEnabled || c.IsExpired || c.DeviceID != a.DeviceID || c.TimesActivated != 1 || c.MaxActivations != 2 {
		t.Errorf("check %s", c.Raw)
	}
	if c.ValidityPeriod == nil || *c.ValidityPeriod != "2030-01-01T00:00:00.000Z" {
		t.Errorf("validity_period %v", c.ValidityPeriod)
	}
	// license_id pin and query-string booleans the SDKs send are accepted.
	q := id.Query()
	q.Set("license_id", fmt.Sprint(l.ID))
	q.Set("include_expired_features", "false")
	q.Set("sdk_ver", "e2e")
	r, err := f.c.Do(ctx(), "GET", "check_license", q, nil)
	if err != nil || r.Status != 200 {
		t.Fatalf("check with extra params: %v %s", err, r.Body)
	}
	if err := f.c.VerifyResponse(r); err != nil {
		t.Error(err)
	}
}

func TestCheckLicenseUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "user")
	email, other := uniq("checker")+"@example.com", uniq("other")+"@example.com"
	l := f.order(lic{maxActivations: 4, users: []map[string]any{{"email": email, "password": "pw-1"}, {"email": other, "password": "pw-2"}}}).Licenses[0]
	a, err := f.c.ActivateLicense(ctx(), activateUser(f, "hw-cu", email, "pw-1"))
	if err != nil {
		t.Fatal(err)
	}
	wantUserTotal(t, "first activation", a.Raw, email, 1)
	c, err := f.c.CheckLicense(ctx(), checkReq(userID(f, "hw-cu", email)))
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != l.ID || !c.LicenseActive {
		t.Errorf("check %s", c.Raw)
	}
	wantUserTotal(t, "check with one device", c.Raw, email, 1)

	// user.total_activations counts the user's active devices on the license, no
	// other user's.
	steps := []struct {
		name      string
		op        string // activate, check or deactivate
		hw, email string
		password  string
		want      int64
	}{
		{"second device", "activate", "hw-cu-2", email, "pw-1", 2},
		{"check with two devices", "check", "hw-cu", email, "", 2},
		{"the other user's device", "activate", "hw-cu-o", other, "pw-2", 1},
		{"the other user's device does not count", "check", "hw-cu-2", email, "", 2},
		{"deactivate the second device", "deactivate", "hw-cu-2", email, "", 0},
		{"check after the deactivation", "check", "hw-cu", email, "", 1},
		{"the other user's check", "check", "hw-cu-o", other, "", 1},
	}
	for _, s := range steps {
		var raw []byte
		switch s.op {
		case "activate":
			a, err := f.c.ActivateLicense(ctx(), activateUser(f, s.hw, s.email, s.password))
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			raw = a.Raw
		case "check":
			c, err := f.c.CheckLicense(ctx(), checkReq(userID(f, s.hw, s.email)))
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			raw = c.Raw
		case "deactivate":
			if err := f.c.DeactivateLicense(ctx(), client.DeactivateRequest{Identity: userID(f, s.hw, s.email)}); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			continue
		}
		wantUserTotal(t, s.name, raw, s.email, s.want)
	}
	// Check needs no password; a wrong username is not found.
	_, err = f.c.CheckLicense(ctx(), checkReq(userID(f, "hw-cu", "other@example.com")))
	wantAPIErr(t, "check unknown user", err, 400, "license_not_found")
	_, err = f.c.CheckLicense(ctx(), checkReq(client.Identity{Product: f.product.ShortCode, HardwareID: "hw-cu"}))
	wantAPIErr(t, "check without username", err, 400, "missing_parameters")
}

// wantUserTotal checks an answer's user object: its email and total_activations.
func wantUserTotal(t *testing.T, what string, raw []byte, email string, want int64) {
	t.Helper()
	var b struct {
		User *struct {
			Email            string `json:"email"`
			TotalActivations *int64 `json:"total_activations"`
		} `json:"user"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if b.User == nil || b.User.Email != email || b.User.TotalActivations == nil || *b.User.TotalActivations != want {
		t.Errorf("%s: user.total_activations, want %d for %s, in %s", what, want, email, raw)
	}
}

// TestCheckLicenseErrors follows the documented check order: params →
// unknown_product → identity → license_not_found → license_not_active →
// license_not_enabled → blacklisted → device_not_found.
func TestCheckLicenseErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	p := f.product.ShortCode
	fresh := f.keyLicense(1) // never activated
	freshDisabled := f.keyLicense(1)
	f.setEnabled(freshDisabled.ID, false)
	act := f.keyLicense(3)
	f.activate(f.keyID(act, "hw-a"))
	bl := f.activate(f.keyID(act, "hw-black"))
	f.blacklist(bl.DeviceID)
	f.activate(f.keyID(act, "hw-gone"))
	if err := f.c.DeactivateLicense(ctx(), deactReq(f.keyID(act, "hw-gone"))); err != nil {
		t.Fatal(err)
	}
	dis := f.keyLicense(2)
	disBl := f.activate(f.keyID(dis, "hw-black"))
	f.blacklist(disBl.DeviceID)
	f.setEnabled(dis.ID, false)

	key := func(l mlicense) string { return *l.LicenseKey }
	for _, tc := range []struct {
		name string
		q    map[string]string
		code string
	}{
		{"no params", map[string]string{}, "missing_parameters"},
		{"no hardware_id", map[string]string{"product": p, "license_key": key(act)}, "missing_parameters"},
		{"no product", map[string]string{"hardware_id": "hw-a", "license_key": key(act)}, "missing_parameters"},
		{"missing product beats unknown key", map[string]string{"hardware_id": "hw-a", "license_key": "NOPE"}, "missing_parameters"},
		{"unknown product", map[string]string{"product": "no-such-product", "hardware_id": "hw-a", "license_key": key(act)}, "unknown_product"},
		{"unknown product without key", map[string]string{"product": "no-such-product", "hardware_id": "hw-a"}, "unknown_product"},
		{"no license_key", map[string]string{"product": p, "hardware_id": "hw-a"}, "license_key_required"},
		{"unknown key", map[string]string{"product": p, "hardware_id": "hw-a", "license_key": "NOPE-NOPE-NOPE-NOPE"}, "license_not_found"},
		{"never activated", map[string]string{"product": p, "hardware_id": "hw-a", "license_key": key(fresh)}, "license_not_active"},
		{"never activated and disabled", map[string]string{"product": p, "hardware_id": "hw-a", "license_key": key(freshDisabled)}, "license_not_active"},
		{"disabled beats blacklisted", map[string]string{"product": p, "hardware_id": "hw-black", "license_key": key(dis)}, "license_not_enabled"},
		{"blacklisted", map[string]string{"product": p, "hardware_id": "hw-black", "license_key": key(act)}, "blacklisted"},
		{"unknown device", map[string]string{"product": p, "hardware_id": "hw-never", "license_key": key(act)}, "device_not_found"},
		{"license_id of another license", map[string]string{"product": p, "hardware_id": "hw-a", "license_key": key(act), "license_id": fmt.Sprint(fresh.ID)}, "license_not_found"},
		{"license_id not a number", map[string]string{"product": p, "hardware_id": "hw-a", "license_key": key(act), "license_id": "abc"}, "validation_error"},
		{"deactivated device", map[string]string{"product": p, "hardware_id": "hw-gone", "license_key": key(act)}, "device_not_found"},
	} {
		q := map[string][]string{}
		for k, v := range tc.q {
			q[k] = []string{v}
		}
		r, err := f.c.Do(ctx(), "GET", "check_license", q, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantRespErr(t, tc.name, r, 400, tc.code)
	}
}

// TestCheckExpired: a license that expires after activation is reported as
// expired — either 400 license_expired or a signed 200 with is_expired true
// (reference §15 open question 4 allows both).
func TestCheckExpired(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	l := f.keyLicense(1)
	id := f.keyID(l, "hw-exp")
	f.activate(id)
	f.m.call("PATCH", fmt.Sprintf("/api/v1/licenses/%d/", l.ID), map[string]any{"validity_period": "2020-01-01T00:00:00Z"}, 200, nil)
	c, err := f.c.CheckLicense(ctx(), checkReq(id))
	if err == nil {
		if !c.IsExpired || c.ValidityPeriod == nil || *c.ValidityPeriod != "2020-01-01T00:00:00.000Z" {
			t.Errorf("expired check: %s", c.Raw)
		}
		return
	}
	wantAPIErr(t, "check expired", err, 400, "license_expired")
}
