package e2e

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/licensor/licensor/client"
)

// activation fields every activate_license answer carries (reference §7, activation variant).
var activationKeys = []string{"id", "license_key", "device_id", "hardware_id", "request", "active", "is_expired",
	"times_activated", "max_activations", "validity_period", "product_details", "company", "license_signature"}

func TestActivateKeyBased(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	l := f.order(lic{maxActivations: 2, validity: "2030-01-01 00:00:00"}).Licenses[0]
	id := f.keyID(l, "HW-Act-1")
	a, err := f.c.ActivateLicense(ctx(), activateKeyFull(f, l, "HW-Act-1"))
	if err != nil {
		t.Fatal(err) // includes LicenseSignature header and v1 license_signature checks
	}
	hasKeys(t, "activation", a.Raw, activationKeys)
	if a.ID != l.ID || a.LicenseKey == nil || *a.LicenseKey != *l.LicenseKey || a.DeviceID <= 0 || a.HardwareID != "HW-Act-1" ||
		a.Request != "activation" || !a.Active || a.IsExpired || a.TimesActivated != 1 || a.MaxActivations != 2 {
		t.Errorf("activation %s", a.Raw)
	}
	if a.ValidityPeriod == nil || *a.ValidityPeriod != "2030-01-01T00:00:00.000Z" {
		t.Errorf("validity_period %v, want 2030-01-01T00:00:00.000Z", a.ValidityPeriod)
	}
	if a.Company.ID != shared.creds.CompanyID {
		t.Errorf("company %+v, want %d", a.Company, shared.creds.CompanyID)
	}
	if pd := a.ProductDetails; pd.ProductID != f.product.ID || pd.ShortCode != f.product.ShortCode || pd.ProductName != f.product.ProductName || pd.AuthorizationMethod != "license-key" {
		t.Errorf("product_details %+v", pd)
	}
	if a.DeviceID >= 1<<53 || a.ID >= 1<<53 {
		t.Errorf("ids above 2^53: %d %d", a.ID, a.DeviceID)
	}
	if m := f.getLicense(l.ID); !m.Active || m.TimesActivated != 1 {
		t.Errorf("management view after activation: active %v times_activated %d", m.Active, m.TimesActivated)
	}

	// Re-activation on the same device is idempotent.
	a2 := f.activate(id)
	if a2.DeviceID != a.DeviceID || a2.TimesActivated != 1 {
		t.Errorf("re-activation: device %d (was %d), times_activated %d", a2.DeviceID, a.DeviceID, a2.TimesActivated)
	}
	if m := f.getLicense(l.ID); m.TimesActivated != 1 {
		t.Errorf("re-activation consumed a seat: times_activated %d", m.TimesActivated)
	}
	if n := len(f.devices(l.ID)); n != 1 {
		t.Errorf("%d device rows after re-activation, want 1", n)
	}
	// It sent no device fields: the ones the first activation reported stay.
	if d := f.deviceByHW(l.ID, "HW-Act-1"); d.OS != "Linux 6.1" || d.Hostname != "build-box" || d.IP != "10.0.0.7" ||
		d.MACAddress != "00:11:22:33:44:55" || d.AppVer != "1.2.3" || d.SDKBuildVersion != "e2e-sdk 0.1" || !d.IsVM || d.VMInfo != "kvm" {
		t.Errorf("device after a re-activation without device fields: %+v", d)
	}

	// Second device takes the second seat; a third is refused.
	a3 := f.activate(f.keyID(l, "HW-Act-2"))
	if a3.TimesActivated != 2 || a3.DeviceID == a.DeviceID {
		t.Errorf("second device: %s", a3.Raw)
	}
	_, err = f.c.ActivateLicense(ctx(), activateReq(f.keyID(l, "HW-Act-3")))
	wantAPIErr(t, "third device on 2 seats", err, 400, "license_activated_max_times")
	// ...but the devices holding seats can still re-activate.
	f.activate(id)
	if m := f.getLicense(l.ID); m.TimesActivated != 2 {
		t.Errorf("times_activated %d, want 2", m.TimesActivated)
	}

	// A disabled license refuses even the devices that hold a seat.
	f.setEnabled(l.ID, false)
	_, err = f.c.ActivateLicense(ctx(), activateReq(id))
	wantAPIErr(t, "re-activation of a disabled license", err, 400, "license_not_enabled")
	_, err = f.c.CheckLicense(ctx(), checkReq(id))
	wantAPIErr(t, "check of a disabled license", err, 400, "license_not_enabled")
	f.setEnabled(l.ID, true)

	// Raising max_activations via the management API frees room.
	f.m.call("PATCH", fmt.Sprintf("/api/v1/licenses/%d/", l.ID), map[string]any{"max_activations": 3}, 200, nil)
	f.activate(f.keyID(l, "HW-Act-3"))
}

func TestActivateUserBased(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "user")
	email := uniq("user") + "@Example.com"
	l := f.userLicense(email, "correct horse", 1)
	a, err := f.c.ActivateLicense(ctx(), activateUser(f, "hw-user-1", email, "correct horse"))
	if err != nil {
		t.Fatal(err) // v1 signature computed over the username
	}
	hasKeys(t, "user activation", a.Raw, []string{"id", "device_id", "hardware_id", "request", "active", "is_expired",
		"times_activated", "max_activations", "validity_period", "product_details", "company", "license_signature"})
	if a.ID != l.ID || (a.LicenseKey != nil && *a.LicenseKey != "") || a.ProductDetails.AuthorizationMethod != "user" || a.TimesActivated != 1 {
		t.Errorf("user activation %s", a.Raw)
	}
	// The license_id pin works.
	pinned := activateUser(f, "hw-user-1", email, "correct horse")
	pinned.LicenseID = l.ID
	if _, err := f.c.ActivateLicense(ctx(), pinned); err != nil {
		t.Errorf("activation with license_id: %v", err)
	}

	for _, tc := range []struct {
		name   string
		req    client.ActivateRequest
		status int
		code   string
	}{
		{"wrong password", activateUser(f, "hw-user-2", email, "wrong"), 400, "license_not_found"},
		{"empty password", activateUser(f, "hw-user-2", email, ""), 400, ""},
		{"unknown user", activateUser(f, "hw-user-2", "nobody@example.com", "correct horse"), 400, "license_not_found"},
		{"no username", client.ActivateRequest{Identity: client.Identity{Product: f.product.ShortCode, HardwareID: "hw-user-2"}, Password: "x"}, 400, "missing_parameters"},
		{"other license_id", func() client.ActivateRequest {
			r := activateUser(f, "hw-user-2", email, "correct horse")
			r.LicenseID = 999999999999
			return r
		}(), 400, "license_not_found"},
		{"second device on one seat", activateUser(f, "hw-user-2", email, "correct horse"), 400, "license_activated_max_times"},
	} {
		_, err := f.c.ActivateLicense(ctx(), tc.req)
		if tc.code == "" {
			var ae *client.APIError
			if !asAPIErr(err, &ae) || ae.Status != 400 {
				t.Errorf("%s: %v, want a 400 error", tc.name, err)
			}
			continue
		}
		wantAPIErr(t, tc.name, err, tc.status, tc.code)
	}
}

func TestActivateErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	ok := f.keyLicense(1)
	disabled := f.keyLicense(1)
	f.setEnabled(disabled.ID, false)
	expired := f.order(lic{validity: "2020-01-01 00:00:00"}).Licenses[0]
	black := f.keyLicense(2)
	bd := f.activate(f.keyID(black, "hw-black"))
	f.blacklist(bd.DeviceID)

	p := f.product.ShortCode
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"unknown product", map[string]any{"product": "no-such-product", "hardware_id": "h", "license_key": *ok.LicenseKey}, 400, "unknown_product"},
		{"unknown key", map[string]any{"product": p, "hardware_id": "h", "license_key": "NOPE-NOPE-NOPE-NOPE"}, 400, "license_not_found"},
		{"key of another product", map[string]any{"product": newFixture(t, shared, "license-key").product.ShortCode, "hardware_id": "h", "license_key": *ok.LicenseKey}, 400, "license_not_found"},
		{"no license_key", map[string]any{"product": p, "hardware_id": "h"}, 400, "license_key_required"},
		{"no hardware_id", map[string]any{"product": p, "license_key": *ok.LicenseKey}, 400, "missing_parameters"},
		{"empty hardware_id", map[string]any{"product": p, "hardware_id": "", "license_key": *ok.LicenseKey}, 400, "missing_parameters"},
		{"no product", map[string]any{"hardware_id": "h", "license_key": *ok.LicenseKey}, 400, "missing_parameters"},
		{"invalid json", []byte(`{"product":`), 400, "invalid_json"},
		{"json array", []byte(`[]`), 400, ""},
		{"hardware_id number", map[string]any{"product": p, "hardware_id": 5, "license_key": *ok.LicenseKey}, 400, "validation_error"},
		{"variables not object", map[string]any{"product": p, "hardware_id": "h", "license_key": *ok.LicenseKey, "variables": []string{"a"}}, 400, "validation_error"},
		{"variable value object", map[string]any{"product": p, "hardware_id": "h", "license_key": *ok.LicenseKey, "variables": map[string]any{"a": map[string]any{}}}, 400, "validation_error"},
		{"disabled", map[string]any{"product": p, "hardware_id": "h", "license_key": *disabled.LicenseKey}, 400, "license_not_enabled"},
		{"expired", map[string]any{"product": p, "hardware_id": "h", "license_key": *expired.LicenseKey}, 400, "license_expired"},
		{"blacklisted device", map[string]any{"product": p, "hardware_id": "hw-black", "license_key": *black.LicenseKey}, 400, "blacklisted"},
	} {
		r, err := f.c.Do(ctx(), "POST", "activate_license", nil, tc.body)
		if err != nil {
			t.Fatal(err)
		}
		wantRespErr(t, tc.name, r, tc.status, tc.code)
	}
	// Failed activations took no seat.
	for _, l := range []mlicense{ok, disabled, expired} {
		if m := f.getLicense(l.ID); m.TimesActivated != 0 || m.Active {
			t.Errorf("license %d after failed activations: %+v", l.ID, m)
		}
	}
	// Another device on the blacklisted device's license still works.
	f.activate(f.keyID(black, "hw-white"))
	// Re-enabling the disabled license allows activation.
	f.setEnabled(disabled.ID, true)
	f.activate(f.keyID(disabled, "h"))
	// Moving the expiry into the future allows activation.
	f.m.call("PATCH", fmt.Sprintf("/api/v1/licenses/%d/", expired.ID), map[string]any{"validity_period": "2031-02-03T04:05:06Z"}, 200, nil)
	a := f.activate(f.keyID(expired, "h"))
	if a.ValidityPeriod == nil || *a.ValidityPeriod != "2031-02-03T04:05:06.000Z" || a.IsExpired {
		t.Errorf("validity after PATCH: %v, is_expired %v", a.ValidityPeriod, a.IsExpired)
	}
}

func TestActivateStoresVariables(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	l := f.keyLicense(1)
	id := f.keyID(l, "hw-actvars")
	req := activateReq(id)
	req.Variables = client.Vars{{Name: "os", Value: "linux"}, {Name: "cores", Value: json.Number("8")}, {Name: "gpu", Value: false}}
	a, err := f.c.ActivateLicense(ctx(), req)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := f.c.GetDeviceVariables(ctx(), id)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range vs {
		got[v.Variable] = v.Value
		if v.DeviceID != a.DeviceID {
			t.Errorf("variable %s device_id %d, want %d", v.Variable, v.DeviceID, a.DeviceID)
		}
	}
	if len(vs) != 3 || got["os"] != "linux" || got["cores"] != "8" || got["gpu"] != "false" {
		t.Errorf("variables after activation %+v", vs)
	}
}

func asAPIErr(err error, target **client.APIError) bool {
	ae, ok := err.(*client.APIError)
	if ok {
		*target = ae
	}
	return ok
}
