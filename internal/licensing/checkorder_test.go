package licensing_test

import (
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
)

// deviceOps are the device-scoped License API calls. probe is a variable name the call
// sends when it accepts variables, so a refused call can be shown to have written nothing.
var deviceOps = []struct {
	name string
	call func(e *env, id licensing.Identity, probe string) error
}{
	{"TrackVariables", func(e *env, id licensing.Identity, probe string) error {
		_, err := e.svc.TrackVariables(e.ctx, e.cid, id, []licensing.VarInput{{Name: probe, Value: "1"}})
		return err
	}},
	{"GetVariables", func(e *env, id licensing.Identity, _ string) error {
		_, err := e.svc.GetVariables(e.ctx, e.cid, id)
		return err
	}},
	{"Check", func(e *env, id licensing.Identity, _ string) error {
		_, err := e.svc.Check(e.ctx, e.cid, id)
		return err
	}},
	{"Deactivate", func(e *env, id licensing.Identity, probe string) error {
		return e.svc.Deactivate(e.ctx, e.cid, id, []licensing.VarInput{{Name: probe, Value: "1"}})
	}},
}

// deviceSnapshot is what a refused call must leave as it was.
type deviceSnapshot struct {
	active, blacklisted bool
	lastCheck           bool
	vars                int
}

// snapshot records the devices with the given hardware ids.
func (e *env) snapshot(hws ...string) map[int64]deviceSnapshot {
	e.t.Helper()
	m := map[int64]deviceSnapshot{}
	for _, hw := range hws {
		ds, _, err := e.svc.ListDevices(e.ctx, e.cid, licensing.DeviceFilter{HardwareID: hw, Page: licensing.Page{Limit: 1000}})
		if err != nil {
			e.t.Fatalf("list devices: %v", err)
		}
		for _, d := range ds {
			m[d.ID] = deviceSnapshot{active: d.Active, blacklisted: d.Blacklisted, lastCheck: d.LastCheck != nil, vars: len(e.vars(d.ID))}
		}
	}
	return m
}

// TestDeviceScopedCheckOrder proves the documented order of the device-scoped calls:
// unknown_product → identity → license_not_found → license_not_active →
// license_not_enabled → blacklisted → device_not_found. Every case also violates every
// rule after the one it expects, so swapping two checks fails a case.
func TestDeviceScopedCheckOrder(t *testing.T) {
	e := newEnv(t)
	key, user := licensing.AuthLicenseKey, licensing.AuthUser

	cases := []struct {
		name  string
		want  string
		setup func(e *env, hw string) licensing.Identity
	}{
		{"unknown product, no identity at all", licensing.EUnknownProduct, func(e *env, hw string) licensing.Identity {
			return licensing.Identity{Product: "no-such-product", HardwareID: hw}
		}},
		{"unknown product, key of an existing license", licensing.EUnknownProduct, func(e *env, hw string) licensing.Identity {
			p := e.product(key)
			k := e.uniq("K")
			e.keyLicense(p.ShortCode, k, 1)
			e.activate(keyID(p.ShortCode, k, hw))
			return keyID("no-such-product", k, hw)
		}},
		{"key product without license_key (username sent instead)", licensing.ELicenseKeyReq, func(e *env, hw string) licensing.Identity {
			p := e.product(key)
			e.keyLicense(p.ShortCode, e.uniq("K"), 1)
			return licensing.Identity{Product: p.ShortCode, Username: "u@example.com", HardwareID: hw}
		}},
		{"user product without username (license_key sent instead)", licensing.EMissingParameters, func(e *env, hw string) licensing.Identity {
			p := e.product(user)
			e.userLicense(p.ShortCode, "u@example.com", "pw", 1)
			return licensing.Identity{Product: p.ShortCode, LicenseKey: "K", HardwareID: hw}
		}},
		{"wrong license_key", licensing.ELicenseNotFound, func(e *env, hw string) licensing.Identity {
			p := e.product(key)
			k := e.uniq("K")
			e.keyLicense(p.ShortCode, k, 1)
			e.activate(keyID(p.ShortCode, k, hw))
			return keyID(p.ShortCode, k+"-wrong", hw)
		}},
		{"license_key of another product's active license", licensing.ELicenseNotFound, func(e *env, hw string) licensing.Identity {
			p, q := e.product(key), e.product(key)
			e.keyLicense(p.ShortCode, e.uniq("K"), 1)
			k := e.uniq("K")
			e.keyLicense(q.ShortCode, k, 1)
			e.activate(keyID(q.ShortCode, k, hw))
			return keyID(p.ShortCode, k, hw)
		}},
		{"wrong username", licensing.ELicenseNotFound, func(e *env, hw string) licensing.Identity {
			p := e.product(user)
			e.userLicense(p.ShortCode, "a@example.com", "pw", 1)
			e.activate(userID(p.ShortCode, "a@example.com", "pw", hw))
			return userID(p.ShortCode, "b@example.com", "", hw)
		}},
		{"username of another product's active license", licensing.ELicenseNotFound, func(e *env, hw string) licensing.Identity {
			p, q := e.product(user), e.product(user)
			e.userLicense(p.ShortCode, "a@example.com", "pw", 1)
			e.userLicense(q.ShortCode, "b@example.com", "pw", 1)
			e.activate(userID(q.ShortCode, "b@example.com", "pw", hw))
			return userID(p.ShortCode, "b@example.com", "", hw)
		}},
		{"license_id of another license (key); own license inactive and disabled", licensing.ELicenseNotFound, func(e *env, hw string) licensing.Identity {
			p := e.product(key)
			k1, k2 := e.uniq("K"), e.uniq("K")
			l1 := e.keyLicense(p.ShortCode, k1, 1)
			e.disable(l1.ID)
			l2 := e.keyLicense(p.ShortCode, k2, 1)
			e.activate(keyID(p.ShortCode, k2, hw))
			id := keyID(p.ShortCode, k1, hw)
			id.LicenseID = l2.ID
			return id
		}},
		{"license_id of another user's license; own license inactive and disabled", licensing.ELicenseNotFound, func(e *env, hw string) licensing.Identity {
			p := e.product(user)
			l1 := e.userLicense(p.ShortCode, "a@example.com", "pw", 1)
			e.disable(l1.ID)
			l2 := e.userLicense(p.ShortCode, "b@example.com", "pw", 1)
			e.activate(userID(p.ShortCode, "b@example.com", "pw", hw))
			id := userID(p.ShortCode, "a@example.com", "", hw)
			id.LicenseID = l2.ID
			return id
		}},
		{"never activated, disabled", licensing.ELicenseNotActive, func(e *env, hw string) licensing.Identity {
			p := e.product(key)
			k := e.uniq("K")
			l := e.keyLicense(p.ShortCode, k, 1)
			e.disable(l.ID)
			return keyID(p.ShortCode, k, hw)
		}},
		{"never activated, disabled, user-based", licensing.ELicenseNotActive, func(e *env, hw string) licensing.Identity {
			p := e.product(user)
			l := e.userLicense(p.ShortCode, "a@example.com", "pw", 1)
			e.disable(l.ID)
			return userID(p.ShortCode, "a@example.com", "", hw)
		}},
		{"reset license, disabled, device blacklisted", licensing.ELicenseNotActive, func(e *env, hw string) licensing.Identity {
			p := e.product(key)
			k := e.uniq("K")
			l := e.keyLicense(p.ShortCode, k, 1)
			st := e.activate(keyID(p.ShortCode, k, hw))
			e.blacklist(st.Device.ID)
			e.reset(l.ID)
			e.disable(l.ID)
			return keyID(p.ShortCode, k, hw)
		}},
		{"disabled, device blacklisted and deactivated", licensing.ELicenseNotEnabled, func(e *env, hw string) licensing.Identity {
			p := e.product(key)
			k := e.uniq("K")
			l := e.keyLicense(p.ShortCode, k, 1)
			st := e.activate(keyID(p.ShortCode, k, hw))
			e.deactivate(keyID(p.ShortCode, k, hw))
			e.blacklist(st.Device.ID)
			e.disable(l.ID)
			return keyID(p.ShortCode, k, hw)
		}},
		{"disabled, device blacklisted and active, user-based", licensing.ELicenseNotEnabled, func(e *env, hw string) licensing.Identity {
			p := e.product(user)
			l := e.userLicense(p.ShortCode, "a@example.com", "pw", 1)
			st := e.activate(userID(p.ShortCode, "a@example.com", "pw", hw))
			e.blacklist(st.Device.ID)
			e.disable(l.ID)
			return userID(p.ShortCode, "a@example.com", "", hw)
		}},
		{"disabled, no device", licensing.ELicenseNotEnabled, func(e *env, hw string) licensing.Identity {
			p := e.product(key)
			k := e.uniq("K")
			l := e.keyLicense(p.ShortCode, k, 2)
			e.activate(keyID(p.ShortCode, k, hw+"-other"))
			e.disable(l.ID)
			return keyID(p.ShortCode, k, hw)
		}},
		{"blacklisted active device", licensing.EBlacklisted, func(e *env, hw string) licensing.Identity {
			p := e.product(key)
			k := e.uniq("K")
			e.keyLicense(p.ShortCode, k, 1)
			st := e.activate(keyID(p.ShortCode, k, hw))
			e.blacklist(st.Device.ID)
			return keyID(p.ShortCode, k, hw)
		}},
		{"blacklisted deactivated device", licensing.EBlacklisted, func(e *env, hw string) licensing.Identity {
			p := e.product(key)
			k := e.uniq("K")
			e.keyLicense(p.ShortCode, k, 1)
			st := e.activate(keyID(p.ShortCode, k, hw))
			e.deactivate(keyID(p.ShortCode, k, hw))
			e.blacklist(st.Device.ID)
			return keyID(p.ShortCode, k, hw)
		}},
		{"blacklisted deactivated device, user-based", licensing.EBlacklisted, func(e *env, hw string) licensing.Identity {
			p := e.product(user)
			e.userLicense(p.ShortCode, "a@example.com", "pw", 1)
			st := e.activate(userID(p.ShortCode, "a@example.com", "pw", hw))
			e.deactivate(userID(p.ShortCode, "a@example.com", "", hw))
			e.blacklist(st.Device.ID)
			return userID(p.ShortCode, "a@example.com", "", hw)
		}},
		{"no device for the hardware_id", licensing.EDeviceNotFound, func(e *env, hw string) licensing.Identity {
			p := e.product(key)
			k := e.uniq("K")
			e.keyLicense(p.ShortCode, k, 1)
			e.activate(keyID(p.ShortCode, k, hw+"-other"))
			return keyID(p.ShortCode, k, hw)
		}},
		{"device only on another license of the product", licensing.EDeviceNotFound, func(e *env, hw string) licensing.Identity {
			p := e.product(key)
			k1, k2 := e.uniq("K"), e.uniq("K")
			e.keyLicense(p.ShortCode, k1, 1)
			e.keyLicense(p.ShortCode, k2, 1)
			e.activate(keyID(p.ShortCode, k1, hw+"-other"))
			e.activate(keyID(p.ShortCode, k2, hw))
			return keyID(p.ShortCode, k1, hw)
		}},
		{"deactivated device", licensing.EDeviceNotFound, func(e *env, hw string) licensing.Identity {
			p := e.product(key)
			k := e.uniq("K")
			e.keyLicense(p.ShortCode, k, 1)
			e.activate(keyID(p.ShortCode, k, hw))
			e.deactivate(keyID(p.ShortCode, k, hw))
			return keyID(p.ShortCode, k, hw)
		}},
		{"deactivated device, user-based", licensing.EDeviceNotFound, func(e *env, hw string) licensing.Identity {
			p := e.product(user)
			e.userLicense(p.ShortCode, "a@example.com", "pw", 1)
			e.activate(userID(p.ShortCode, "a@example.com", "pw", hw))
			e.deactivate(userID(p.ShortCode, "a@example.com", "", hw))
			return userID(p.ShortCode, "a@example.com", "", hw)
		}},
		{"ok, key", "", func(e *env, hw string) licensing.Identity {
			p := e.product(key)
			k := e.uniq("K")
			e.keyLicense(p.ShortCode, k, 1)
			e.activate(keyID(p.ShortCode, k, hw))
			return keyID(p.ShortCode, k, hw)
		}},
		{"ok, key with its own license_id", "", func(e *env, hw string) licensing.Identity {
			p := e.product(key)
			k := e.uniq("K")
			l := e.keyLicense(p.ShortCode, k, 1)
			e.activate(keyID(p.ShortCode, k, hw))
			id := keyID(p.ShortCode, k, hw)
			id.LicenseID = l.ID
			return id
		}},
		{"ok, user without password", "", func(e *env, hw string) licensing.Identity {
			p := e.product(user)
			e.userLicense(p.ShortCode, "a@example.com", "pw", 1)
			e.activate(userID(p.ShortCode, "a@example.com", "pw", hw))
			return userID(p.ShortCode, "a@example.com", "", hw)
		}},
		{"ok, username in another case", "", func(e *env, hw string) licensing.Identity {
			p := e.product(user)
			e.userLicense(p.ShortCode, "a@example.com", "pw", 1)
			e.activate(userID(p.ShortCode, "a@example.com", "pw", hw))
			return userID(p.ShortCode, "A@Example.COM", "", hw)
		}},
		{"ok, username with a |suffix", "", func(e *env, hw string) licensing.Identity {
			p := e.product(user)
			e.userLicense(p.ShortCode, "a@example.com", "pw", 1)
			e.activate(userID(p.ShortCode, "a@example.com|sso-1", "pw", hw))
			return userID(p.ShortCode, "a@example.com|other", "", hw)
		}},
		{"username with only a |suffix", licensing.ELicenseNotFound, func(e *env, hw string) licensing.Identity {
			p := e.product(user)
			e.userLicense(p.ShortCode, "a@example.com", "pw", 1)
			e.activate(userID(p.ShortCode, "a@example.com", "pw", hw))
			return userID(p.ShortCode, "|a@example.com", "", hw)
		}},
		{"ok, disabled license's re-enabled", "", func(e *env, hw string) licensing.Identity {
			p := e.product(key)
			k := e.uniq("K")
			l := e.keyLicense(p.ShortCode, k, 1)
			e.activate(keyID(p.ShortCode, k, hw))
			e.disable(l.ID)
			if _, err := e.svc.UpdateLicense(e.ctx, e.cid, l.ID, licensing.LicensePatch{Enabled: ptr(true)}); err != nil {
				e.t.Fatal(err)
			}
			return keyID(p.ShortCode, k, hw)
		}},
	}
	for _, tc := range cases {
		for _, op := range deviceOps {
			t.Run(tc.name+"/"+op.name, func(t *testing.T) {
				t.Parallel()
				e := e.with(t)
				hw := e.uniq("hw")
				id := tc.setup(e, hw)
				if tc.want == "" {
					wantCode(t, op.call(e, id, e.uniq("probe")), "")
					return
				}
				before := e.snapshot(hw, hw+"-other")
				wantCode(t, op.call(e, id, e.uniq("probe")), tc.want)
				after := e.snapshot(hw, hw+"-other")
				if len(after) != len(before) {
					t.Errorf("refused %s changed the devices: %v → %v", op.name, before, after)
				}
				for dev, b := range before {
					if a := after[dev]; a != b {
						t.Errorf("refused %s changed device %d: %+v → %+v", op.name, dev, b, a)
					}
				}
			})
		}
	}
}

func TestCheck(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthUser)
	l := e.userLicense(p.ShortCode, "u@example.com", "pw", 2)
	st := e.activate(userID(p.ShortCode, "u@example.com", "pw", "hw"), licensing.VarInput{Name: "v", Value: "1"})
	if st.Device.LastCheck != nil {
		t.Errorf("last_check %v before any check", st.Device.LastCheck)
	}

	e.clock.Advance(time.Minute)
	at := e.clock.Now()
	chk, err := e.svc.Check(e.ctx, e.cid, userID(p.ShortCode, "u@example.com", "", "hw"))
	wantCode(t, err, "")
	if chk.License.ID != l.ID || chk.Product.ID != p.ID || chk.Order.ID != l.OrderID || chk.Device.ID != st.Device.ID {
		t.Errorf("check answered license %d product %d order %d device %d, want %d %d %d %d",
			chk.License.ID, chk.Product.ID, chk.Order.ID, chk.Device.ID, l.ID, p.ID, l.OrderID, st.Device.ID)
	}
	if chk.User == nil || chk.User.Email != "u@example.com" || chk.License.TimesActivated != 1 || !chk.License.Active {
		t.Errorf("check answered user %+v times_activated %d active %v", chk.User, chk.License.TimesActivated, chk.License.Active)
	}
	if chk.Device.LastCheck == nil || !chk.Device.LastCheck.Equal(at) {
		t.Errorf("answered last_check %v, want %v", chk.Device.LastCheck, at)
	}
	if d := e.device(l.ID, "hw"); d.LastCheck == nil || !d.LastCheck.Equal(at) {
		t.Errorf("stored last_check %v, want %v", d.LastCheck, at)
	}
	if got := e.lic(l.ID).TimesActivated; got != 1 {
		t.Errorf("check changed times_activated to %d", got)
	}

	// Variables stay with the device across deactivation and re-activation.
	e.deactivate(userID(p.ShortCode, "u@example.com", "", "hw"))
	e.activate(userID(p.ShortCode, "u@example.com", "pw", "hw"))
	vs, err := e.svc.GetVariables(e.ctx, e.cid, userID(p.ShortCode, "u@example.com", "", "hw"))
	wantCode(t, err, "")
	if len(vs) != 1 || vs[0].Name != "v" || vs[0].Value != "1" || !vs[0].CreatedAt.Equal(t0) {
		t.Errorf("variables after re-activation %+v, want v=1 from %v", vs, t0)
	}
}

// Products are cached once found, never as missing: a product created after a lookup
// missed it is found by the next call (on any instance, since nothing is cached on a miss).
func TestUnknownProductIsNotCached(t *testing.T) {
	e := newEnv(t)
	id := keyID("late", "K-LATE", "hw")
	_, err := e.svc.Check(e.ctx, e.cid, id)
	wantCode(t, err, licensing.EUnknownProduct)
	if _, err := e.svc.CreateProduct(e.ctx, e.cid, licensing.ProductInput{Name: "Late", ShortCode: "late"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Check(e.ctx, e.cid, id)
	wantCode(t, err, licensing.ELicenseNotFound)
}
