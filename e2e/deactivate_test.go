package e2e

import (
	"testing"
)

func TestDeactivateLicense(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	l := f.keyLicense(1)
	id1, id2 := f.keyID(l, "hw-d1"), f.keyID(l, "hw-d2")
	f.activate(id1)
	if _, err := f.c.TrackDeviceVariables(ctx(), trackReq(id1, "kept", "yes")); err != nil {
		t.Fatal(err)
	}
	_, err := f.c.ActivateLicense(ctx(), activateReq(id2))
	wantAPIErr(t, "second device on one seat", err, 400, "license_activated_max_times")

	// The raw answer is the text license_deactivated.
	r, err := f.c.Do(ctx(), "POST", "deactivate_license", nil, deactReq(id1))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || string(r.Body) != "license_deactivated" {
		t.Fatalf("deactivate: HTTP %d %q, want 200 license_deactivated", r.Status, r.Body)
	}
	if m := f.getLicense(l.ID); m.TimesActivated != 0 {
		t.Errorf("times_activated %d after deactivation", m.TimesActivated)
	}
	// The seat is free; taking it on another device is a transfer.
	a2 := f.activate(id2)
	if a2.TimesActivated != 1 || a2.TransferCount != 1 {
		t.Errorf("times_activated %d transfer_count %d, want 1 1", a2.TimesActivated, a2.TransferCount)
	}
	// The deactivated device is gone for device-scoped calls, twice deactivating fails.
	_, err = f.c.CheckLicense(ctx(), checkReq(id1))
	wantAPIErr(t, "check deactivated device", err, 400, "device_not_found")
	err = f.c.DeactivateLicense(ctx(), deactReq(id1))
	wantAPIErr(t, "deactivate twice", err, 400, "device_not_found")
	_, err = f.c.GetDeviceVariables(ctx(), id1)
	wantAPIErr(t, "variables of deactivated device", err, 400, "device_not_found")

	// Coming back: hw-d2 leaves, hw-d1 returns and finds its variables.
	if err := f.c.DeactivateLicense(ctx(), deactReq(id2)); err != nil {
		t.Fatal(err)
	}
	back := f.activate(id1)
	// Back on a device known before is a transfer too (A→B→A counts twice).
	if back.TransferCount != 2 {
		t.Errorf("transfer_count %d after hw-d1 → hw-d2 → hw-d1, want 2", back.TransferCount)
	}
	if m := f.getLicense(l.ID); m.TransferCount != 2 {
		t.Errorf("management view: transfer_count %d, want 2", m.TransferCount)
	}
	vs, err := f.c.GetDeviceVariables(ctx(), id1)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Variable != "kept" || vs[0].Value != "yes" || vs[0].DeviceID != back.DeviceID {
		t.Errorf("variables after re-activation %+v", vs)
	}
	if n := len(f.devices(l.ID)); n != 2 {
		t.Errorf("%d device rows, want 2 (one per hardware_id)", n)
	}
}

func TestDeactivateUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "user")
	email := uniq("deact") + "@example.com"
	f.userLicense(email, "pw", 1)
	if _, err := f.c.ActivateLicense(ctx(), activateUser(f, "hw-du", email, "pw")); err != nil {
		t.Fatal(err)
	}
	// No password is needed to deactivate.
	if err := f.c.DeactivateLicense(ctx(), deactReq(userID(f, "hw-du", email))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.ActivateLicense(ctx(), activateUser(f, "hw-du2", email, "pw")); err != nil {
		t.Errorf("seat not freed: %v", err)
	}
}

func TestDeactivateErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	p := f.product.ShortCode
	fresh := f.keyLicense(1)
	act := f.keyLicense(2)
	f.activate(f.keyID(act, "hw-ok"))
	bl := f.activate(f.keyID(act, "hw-bl"))
	f.blacklist(bl.DeviceID)
	dis := f.keyLicense(1)
	f.activate(f.keyID(dis, "hw-ok"))
	f.setEnabled(dis.ID, false)
	before := f.getLicense(act.ID).TimesActivated
	for _, tc := range []struct {
		name string
		body any
		code string
	}{
		{"invalid json", []byte(`{`), "invalid_json"},
		{"no hardware_id", map[string]any{"product": p, "license_key": *act.LicenseKey}, "missing_parameters"},
		{"no product", map[string]any{"hardware_id": "hw-ok", "license_key": *act.LicenseKey}, "missing_parameters"},
		{"unknown product", map[string]any{"product": "no-such", "hardware_id": "hw-ok", "license_key": *act.LicenseKey}, "unknown_product"},
		{"no license_key", map[string]any{"product": p, "hardware_id": "hw-ok"}, "license_key_required"},
		{"unknown key", map[string]any{"product": p, "hardware_id": "hw-ok", "license_key": "NOPE-NOPE-NOPE-NOPE"}, "license_not_found"},
		{"never activated", map[string]any{"product": p, "hardware_id": "hw-ok", "license_key": *fresh.LicenseKey}, "license_not_active"},
		{"disabled", map[string]any{"product": p, "hardware_id": "hw-ok", "license_key": *dis.LicenseKey}, "license_not_enabled"},
		{"blacklisted", map[string]any{"product": p, "hardware_id": "hw-bl", "license_key": *act.LicenseKey}, "blacklisted"},
		{"unknown device", map[string]any{"product": p, "hardware_id": "hw-none", "license_key": *act.LicenseKey}, "device_not_found"},
	} {
		r, err := f.c.Do(ctx(), "POST", "deactivate_license", nil, tc.body)
		if err != nil {
			t.Fatal(err)
		}
		wantRespErr(t, tc.name, r, 400, tc.code)
	}
	if m := f.getLicense(act.ID); m.TimesActivated != before {
		t.Errorf("failed deactivations changed times_activated from %d to %d", before, m.TimesActivated)
	}
}
