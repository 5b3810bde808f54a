package licensing_test

import (
	"reflect"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

// TestCheckQuickPathMatchesFullPath: Check answers from one statement once the product
// and order are cached (quickDevice). In every state a check can meet, a warm Service
// must answer exactly as a cold one, which takes the full transactional path.
func TestCheckQuickPathMatchesFullPath(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	other := e.product(licensing.AuthLicenseKey)
	l := e.keyLicense(p.ShortCode, "Q-1", 5)
	e.activate(keyID(p.ShortCode, "Q-1", "hw-ok"))
	e.activate(keyID(p.ShortCode, "Q-1", "hw-off"))
	e.deactivate(keyID(p.ShortCode, "Q-1", "hw-off"))
	e.blacklist(e.activate(keyID(p.ShortCode, "Q-1", "hw-bl")).Device.ID)

	// Warm the caches (product, order) through one successful check.
	if _, err := e.svc.Check(e.ctx, e.cid, keyID(p.ShortCode, "Q-1", "hw-ok")); err != nil {
		t.Fatal(err)
	}
	compare := func(t *testing.T, name string, id licensing.Identity) {
		t.Helper()
		cold := licensing.NewService(e.svc.Store(), licensing.WithClock(e.clock.Now))
		want, wantErr := cold.Check(e.ctx, e.cid, id)
		got, gotErr := e.svc.Check(e.ctx, e.cid, id)
		if licensing.ErrorCode(gotErr) != licensing.ErrorCode(wantErr) || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("%s: warm %v, cold %v", name, gotErr, wantErr)
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s: warm %+v\ncold %+v", name, got, want)
		}
	}
	withID := func(id licensing.Identity, licenseID int64) licensing.Identity { id.LicenseID = licenseID; return id }
	cases := []struct {
		name string
		id   licensing.Identity
	}{
		{"active device", keyID(p.ShortCode, "Q-1", "hw-ok")},
		{"active device, its license id", withID(keyID(p.ShortCode, "Q-1", "hw-ok"), l.ID)},
		{"active device, another license id", withID(keyID(p.ShortCode, "Q-1", "hw-ok"), l.ID+1)},
		{"deactivated device", keyID(p.ShortCode, "Q-1", "hw-off")},
		{"blacklisted device", keyID(p.ShortCode, "Q-1", "hw-bl")},
		{"unknown device", keyID(p.ShortCode, "Q-1", "hw-none")},
		{"unknown key", keyID(p.ShortCode, "Q-2", "hw-ok")},
		{"no key", keyID(p.ShortCode, "", "hw-ok")},
		{"other product", keyID(other.ShortCode, "Q-1", "hw-ok")},
		{"unknown product", keyID("nope", "Q-1", "hw-ok")},
	}
	for _, tc := range cases {
		compare(t, tc.name, tc.id)
	}
	e.disable(l.ID)
	for _, tc := range cases {
		compare(t, "disabled license: "+tc.name, tc.id)
	}
}
