package licensing_test

import (
	"reflect"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

// TestCheckQuickPathMatchesFullPath: Check, GetVariables and an unchanged Track answer
// from one statement once the product (and for Check the order) is cached
// (quickDevice, deviceVariables). In every state they can meet, a warm Service must
// answer exactly as a cold one, which takes the full transactional path.
func TestCheckQuickPathMatchesFullPath(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	other := e.product(licensing.AuthLicenseKey)
	l := e.keyLicense(p.ShortCode, "Q-1", 5)
	e.activate(keyID(p.ShortCode, "Q-1", "hw-ok"), licensing.VarInput{Name: "b", Value: "2"}, licensing.VarInput{Name: "a", Value: "1"})
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
		same(t, name, got, want, gotErr, wantErr)
		cold = licensing.NewService(e.svc.Store(), licensing.WithClock(e.clock.Now))
		wantVars, wantErr := cold.GetVariables(e.ctx, e.cid, id)
		gotVars, gotErr := e.svc.GetVariables(e.ctx, e.cid, id)
		same(t, name+" (get variables)", gotVars, wantVars, gotErr, wantErr)
		cold = licensing.NewService(e.svc.Store(), licensing.WithClock(e.clock.Now))
		unchanged := []licensing.VarInput{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}
		wantTrack, wantErr := cold.Track(e.ctx, e.cid, id, unchanged)
		gotTrack, gotErr := e.svc.Track(e.ctx, e.cid, id, unchanged)
		same(t, name+" (track)", gotTrack, wantTrack, gotErr, wantErr)
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

// same fails t unless a warm and a cold answer agree: the same error code, or equal values.
func same[T any](t *testing.T, name string, got, want T, gotErr, wantErr error) {
	t.Helper()
	if licensing.ErrorCode(gotErr) != licensing.ErrorCode(wantErr) || (gotErr == nil) != (wantErr == nil) {
		t.Errorf("%s: warm %v, cold %v", name, gotErr, wantErr)
	} else if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Errorf("%s: warm %+v\ncold %+v", name, got, want)
	}
}
