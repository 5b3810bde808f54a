package licensing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
)

func TestActivateFirst(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	l := e.keyLicense(p.ShortCode, "FIRS-TACT-IVAT-ION1", 3)
	if got := e.lic(l.ID); got.Active || got.TimesActivated != 0 || !got.Enabled {
		t.Fatalf("new license: active=%v times_activated=%d enabled=%v, want false 0 true", got.Active, got.TimesActivated, got.Enabled)
	}
	info := licensing.DeviceInfo{OSVer: "linux", Hostname: "box", IP: "10.0.0.1", MACAddress: "aa:bb", AppVer: "1.0", SDKVer: "go", IsVM: true, VMInfo: "kvm"}
	st, err := e.svc.Activate(e.ctx, e.cid, licensing.ActivateRequest{Identity: keyID(p.ShortCode, "FIRS-TACT-IVAT-ION1", "hw"), Info: info, ExternalIP: "203.0.113.9"})
	wantCode(t, err, "")
	if !st.License.Active || st.License.TimesActivated != 1 {
		t.Errorf("answer: active=%v times_activated=%d, want true 1", st.License.Active, st.License.TimesActivated)
	}
	if st.Product.ID != p.ID || st.Order.ID != l.OrderID || st.User != nil {
		t.Errorf("answer names product %d order %d user %v, want %d %d nil", st.Product.ID, st.Order.ID, st.User, p.ID, l.OrderID)
	}
	if got := e.lic(l.ID); !got.Active || got.TimesActivated != 1 {
		t.Errorf("stored: active=%v times_activated=%d, want true 1", got.Active, got.TimesActivated)
	}
	d := e.device(l.ID, "hw")
	if d.ID != st.Device.ID || !d.Active || d.Blacklisted || d.LicenseID != l.ID {
		t.Errorf("device %+v, want active, not blacklisted, id %d on license %d", d, st.Device.ID, l.ID)
	}
	if d.TimeActivated == nil || !d.TimeActivated.Equal(t0) {
		t.Errorf("time_activated %v, want %v", d.TimeActivated, t0)
	}
	if d.Info != info || d.ExternalIP != "203.0.113.9" {
		t.Errorf("device info %+v %q, want %+v %q", d.Info, d.ExternalIP, info, "203.0.113.9")
	}

	// Re-activation keeps the seat and the device, and refreshes what the client reports.
	e.clock.Advance(time.Minute)
	info.AppVer = "2.0"
	st2, err := e.svc.Activate(e.ctx, e.cid, licensing.ActivateRequest{Identity: keyID(p.ShortCode, "FIRS-TACT-IVAT-ION1", "hw"), Info: info})
	wantCode(t, err, "")
	if st2.Device.ID != st.Device.ID || st2.License.TimesActivated != 1 {
		t.Errorf("re-activation: device %d times_activated %d, want %d 1", st2.Device.ID, st2.License.TimesActivated, st.Device.ID)
	}
	if d := e.device(l.ID, "hw"); d.Info.AppVer != "2.0" || !d.TimeActivated.Equal(t0) {
		t.Errorf("re-activation: app_ver %q time_activated %v, want 2.0 %v", d.Info.AppVer, d.TimeActivated, t0)
	}
	if n := len(e.devices(l.ID)); n != 1 {
		t.Errorf("%d device rows, want 1", n)
	}
}

// TestActivationSeats plays activate (a) / deactivate (d) sequences and checks, after every
// step, the answer, times_activated, the number of active devices, and that a hardware_id
// keeps its device row.
func TestActivationSeats(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	type step struct {
		op    byte // 'a' activate, 'd' deactivate
		hw    string
		want  string
		seats int64 // times_activated afterwards
	}
	ok := ""
	cases := []struct {
		name      string
		max       int64
		unlimited bool
		steps     []step
	}{
		{"first activation", 1, false, []step{{'a', "1", ok, 1}}},
		{"re-activation is idempotent", 1, false, []step{{'a', "1", ok, 1}, {'a', "1", ok, 1}, {'a', "1", ok, 1}}},
		{"max_activations", 2, false, []step{
			{'a', "1", ok, 1}, {'a', "2", ok, 2}, {'a', "3", licensing.EMaxActivations, 2},
			{'a', "1", ok, 2}, // an active device re-activates on a full license
			{'a', "3", licensing.EMaxActivations, 2}}},
		{"deactivated device re-activates when a seat is free", 1, false, []step{
			{'a', "1", ok, 1}, {'d', "1", ok, 0}, {'a', "2", ok, 1},
			{'a', "1", licensing.EMaxActivations, 1}, // its old row takes no seat
			{'d', "2", ok, 0}, {'a', "1", ok, 1}}},
		{"deactivate frees the seat", 2, false, []step{
			{'a', "1", ok, 1}, {'a', "2", ok, 2}, {'d', "1", ok, 1}, {'a', "3", ok, 2}, {'d', "3", ok, 1}, {'d', "2", ok, 0}}},
		{"deactivating twice", 1, false, []step{{'a', "1", ok, 1}, {'d', "1", ok, 0}, {'d', "1", licensing.EDeviceNotFound, 0}}},
		{"max_activations 0: no device activates", 0, false, []step{{'a', "1", licensing.EMaxActivations, 0}}},
		{"unlimited activations", 1, true, []step{{'a', "1", ok, 1}, {'a', "2", ok, 2}, {'a', "3", ok, 3}, {'d', "2", ok, 2}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			k := e.uniq("K")
			l := e.license(p.ShortCode, licensing.LicenseInput{Key: k, MaxActivations: tc.max, AllowUnlimitedActivations: tc.unlimited})
			ids := map[string]int64{}
			for i, s := range tc.steps {
				id := keyID(p.ShortCode, k, s.hw)
				var err error
				if s.op == 'a' {
					var st licensing.LicenseState
					st, err = e.svc.Activate(e.ctx, e.cid, licensing.ActivateRequest{Identity: id})
					if err == nil {
						if prev, seen := ids[s.hw]; seen && prev != st.Device.ID {
							t.Errorf("step %d: hardware_id %s got device %d, had %d", i, s.hw, st.Device.ID, prev)
						}
						ids[s.hw] = st.Device.ID
						if st.License.TimesActivated != s.seats || !st.Device.Active {
							t.Errorf("step %d: answer times_activated=%d device active=%v, want %d true", i, st.License.TimesActivated, st.Device.Active, s.seats)
						}
					}
				} else {
					err = e.svc.Deactivate(e.ctx, e.cid, id, nil)
				}
				if got := licensing.ErrorCode(err); err != nil && got != s.want || err == nil && s.want != "" {
					t.Fatalf("step %d %c %s: got %v, want %q", i, s.op, s.hw, err, s.want)
				}
				got := e.lic(l.ID)
				if n := e.activeDevices(l.ID); got.TimesActivated != s.seats || n != s.seats {
					t.Fatalf("step %d %c %s: times_activated=%d active devices=%d, want %d", i, s.op, s.hw, got.TimesActivated, n, s.seats)
				}
				if n := len(e.devices(l.ID)); n != len(ids) {
					t.Fatalf("step %d: %d device rows for %d hardware ids", i, n, len(ids))
				}
			}
		})
	}
}

// TestActivationTransfers plays sequences of activate (a), deactivate (d), blacklist (b),
// license reset (r) and device reset (R) and checks transfer_count after every step, in
// the activation's answer and as stored: a deactivation marks its device transfer
// pending; an activation that takes a seat clears its own device's mark and counts
// nothing, or else clears another device's mark and counts a transfer (reference §7.1,
// §11).
func TestActivationTransfers(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	type step struct {
		op        byte
		hw        string
		want      string // the activation's error code
		transfers int64  // transfer_count afterwards
	}
	ok := ""
	cases := []struct {
		name  string
		max   int64
		steps []step
	}{
		{"A→B", 1, []step{{'a', "A", ok, 0}, {'d', "A", ok, 0}, {'a', "B", ok, 1}}},
		{"A→B→A", 1, []step{{'a', "A", ok, 0}, {'d', "A", ok, 0}, {'a', "B", ok, 1}, {'d', "B", ok, 1}, {'a', "A", ok, 2}}},
		{"A→A", 1, []step{{'a', "A", ok, 0}, {'d', "A", ok, 0}, {'a', "A", ok, 0}, {'d', "A", ok, 0}, {'a', "A", ok, 0}}},
		{"A→A clears the pending transfer", 2, []step{{'a', "A", ok, 0}, {'d', "A", ok, 0}, {'a', "A", ok, 0}, {'a', "B", ok, 0}}},
		{"two seats: A, B active, A leaves, C comes", 2, []step{
			{'a', "A", ok, 0}, {'a', "B", ok, 0}, {'d', "A", ok, 0}, {'a', "C", ok, 1}, {'a', "A", licensing.EMaxActivations, 1},
			{'d', "B", ok, 1}, {'a', "A", ok, 2}}},
		{"activations without a deactivation never count", 3, []step{
			{'a', "A", ok, 0}, {'a', "B", ok, 0}, {'a', "A", ok, 0}, {'a', "C", ok, 0}}},
		{"re-activating an active device leaves the transfer pending", 2, []step{
			{'a', "A", ok, 0}, {'a', "B", ok, 0}, {'d', "A", ok, 0}, {'a', "B", ok, 0}, {'a', "C", ok, 1}}},
		{"two seats: A and B leave and come back", 2, []step{
			{'a', "A", ok, 0}, {'a', "B", ok, 0}, {'d', "A", ok, 0}, {'d', "B", ok, 0}, {'a', "A", ok, 0}, {'a', "B", ok, 0}}},
		{"two seats: A and B leave, B comes back first", 2, []step{
			{'a', "A", ok, 0}, {'a', "B", ok, 0}, {'d', "A", ok, 0}, {'d', "B", ok, 0}, {'a', "B", ok, 0}, {'a', "A", ok, 0}}},
		{"two seats: A and B leave, C and D come", 2, []step{
			{'a', "A", ok, 0}, {'a', "B", ok, 0}, {'d', "A", ok, 0}, {'d', "B", ok, 0}, {'a', "C", ok, 1}, {'a', "D", ok, 2},
			{'a', "E", licensing.EMaxActivations, 2}}},
		{"two seats: A and B leave, A comes back, C comes", 2, []step{
			{'a', "A", ok, 0}, {'a', "B", ok, 0}, {'d', "A", ok, 0}, {'d', "B", ok, 0}, {'a', "A", ok, 0}, {'a', "C", ok, 1}}},
		// C takes the lowest marked device's (A's) mark, so A then counts as another
		// device than B: a previously known one (§7.1).
		{"two seats: A and B leave, C comes, then A", 2, []step{
			{'a', "A", ok, 0}, {'a', "B", ok, 0}, {'d', "A", ok, 0}, {'d', "B", ok, 0}, {'a', "C", ok, 1}, {'a', "A", ok, 2}}},
		{"three seats: one deactivation, one transfer", 3, []step{
			{'a', "A", ok, 0}, {'a', "B", ok, 0}, {'a', "C", ok, 0}, {'d', "B", ok, 0}, {'a', "D", ok, 1}, {'d', "A", ok, 1},
			{'a', "B", ok, 2}, {'a', "A", licensing.EMaxActivations, 2}}},
		{"one transfer per deactivation", 2, []step{
			{'a', "A", ok, 0}, {'d', "A", ok, 0}, {'a', "B", ok, 1}, {'a', "C", ok, 1}}},
		{"a refused activation leaves the transfer pending", 1, []step{
			{'a', "A", ok, 0}, {'a', "B", licensing.EMaxActivations, 0}, {'d', "A", ok, 0}, {'b', "A", ok, 0},
			{'a', "A", licensing.EBlacklisted, 0}, {'a', "B", ok, 1}}},
		{"a reset clears the pending transfer", 1, []step{{'a', "A", ok, 0}, {'d', "A", ok, 0}, {'r', "", ok, 0}, {'a', "B", ok, 0}}},
		{"a reset counts no transfer", 1, []step{
			{'a', "A", ok, 0}, {'d', "A", ok, 0}, {'a', "B", ok, 1}, {'r', "", ok, 1}, {'a', "A", ok, 1}}},
		{"a reset clears every device's pending transfer", 2, []step{
			{'a', "A", ok, 0}, {'a', "B", ok, 0}, {'d', "A", ok, 0}, {'d', "B", ok, 0}, {'r', "", ok, 0}, {'a', "C", ok, 0}, {'a', "D", ok, 0}}},
		{"a device reset leaves no transfer pending", 1, []step{
			{'a', "A", ok, 0}, {'R', "A", ok, 0}, {'a', "B", ok, 0}, {'R', "B", ok, 0}, {'a', "A", ok, 0}}},
		{"a device reset leaves another device's transfer pending", 2, []step{
			{'a', "A", ok, 0}, {'a', "B", ok, 0}, {'d', "A", ok, 0}, {'R', "B", ok, 0}, {'a', "C", ok, 1}, {'a', "D", ok, 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			k := e.uniq("K")
			l := e.keyLicense(p.ShortCode, k, tc.max)
			for i, s := range tc.steps {
				id := keyID(p.ShortCode, k, s.hw)
				switch s.op {
				case 'a':
					st, err := e.svc.Activate(e.ctx, e.cid, licensing.ActivateRequest{Identity: id})
					if got := licensing.ErrorCode(err); err != nil && got != s.want || err == nil && s.want != "" {
						t.Fatalf("step %d %c %s: got %v, want %q", i, s.op, s.hw, err, s.want)
					}
					if err == nil && st.License.TransferCount != s.transfers {
						t.Errorf("step %d %c %s: answer transfer_count %d, want %d", i, s.op, s.hw, st.License.TransferCount, s.transfers)
					}
				case 'd':
					e.deactivate(id)
				case 'b':
					e.blacklist(e.device(l.ID, s.hw).ID)
				case 'r':
					e.reset(l.ID)
				case 'R':
					if _, err := e.svc.ResetDevice(e.ctx, e.cid, e.device(l.ID, s.hw).ID); err != nil {
						t.Fatalf("step %d %c %s: %v", i, s.op, s.hw, err)
					}
				}
				if got := e.lic(l.ID).TransferCount; got != s.transfers {
					t.Fatalf("step %d %c %s: transfer_count %d, want %d", i, s.op, s.hw, got, s.transfers)
				}
			}
		})
	}
}

// TestActivateRefusals checks each refusal of Activate, built so that it also breaks every
// rule checked after it, and that a refusal takes no seat and makes no device.
func TestActivateRefusals(t *testing.T) {
	e := newEnv(t)
	key, user := licensing.AuthLicenseKey, licensing.AuthUser
	past := t0.Add(-time.Hour)
	expire := func(e *env, licenseID int64) {
		e.t.Helper()
		if _, err := e.svc.UpdateLicense(e.ctx, e.cid, licenseID, licensing.LicensePatch{ValidityPeriod: ptr(&past)}); err != nil {
			e.t.Fatal(err)
		}
	}
	// fullWithBlacklisted makes a license whose only seat is taken by hw+"-other" and
	// whose device for hw is blacklisted and inactive.
	fullWithBlacklisted := func(e *env, id func(hw string) licensing.Identity, hw string) {
		e.t.Helper()
		st := e.activate(id(hw))
		e.deactivate(id(hw))
		e.activate(id(hw + "-other"))
		e.blacklist(st.Device.ID)
	}
	tooMany := make([]licensing.VarInput, licensing.DefaultLimits.MaxVariablesPerCall+1)
	for i := range tooMany {
		tooMany[i] = licensing.VarInput{Name: fmt.Sprint("v", i), Value: "x"}
	}

	cases := []struct {
		name  string
		want  string
		vars  []licensing.VarInput
		setup func(e *env, hw string) (licensing.Identity, int64) // identity, license to watch (0: none)
	}{
		{"invalid variables before any lookup", licensing.EValidation, tooMany, func(e *env, hw string) (licensing.Identity, int64) {
			return licensing.Identity{Product: "no-such-product", HardwareID: hw}, 0
		}},
		{"unknown product", licensing.EUnknownProduct, nil, func(e *env, hw string) (licensing.Identity, int64) {
			return licensing.Identity{Product: "no-such-product", HardwareID: hw}, 0
		}},
		{"key product without license_key", licensing.ELicenseKeyReq, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(key)
			l := e.keyLicense(p.ShortCode, e.uniq("K"), 1)
			return licensing.Identity{Product: p.ShortCode, Username: "u@example.com", Password: "pw", HardwareID: hw}, l.ID
		}},
		{"user product without username", licensing.EMissingParameters, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(user)
			l := e.userLicense(p.ShortCode, "u@example.com", "pw", 1)
			return licensing.Identity{Product: p.ShortCode, LicenseKey: "K", Password: "pw", HardwareID: hw}, l.ID
		}},
		{"user product without password", licensing.EMissingParameters, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(user)
			l := e.userLicense(p.ShortCode, "u@example.com", "pw", 1)
			return userID(p.ShortCode, "u@example.com", "", hw), l.ID
		}},
		{"wrong license_key", licensing.ELicenseNotFound, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(key)
			k := e.uniq("K")
			l := e.keyLicense(p.ShortCode, k, 1)
			return keyID(p.ShortCode, k+"-wrong", hw), l.ID
		}},
		{"wrong password; license disabled, expired, blacklisted, full", licensing.ELicenseNotFound, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(user)
			l := e.userLicense(p.ShortCode, "u@example.com", "pw", 1)
			fullWithBlacklisted(e, func(hw string) licensing.Identity { return userID(p.ShortCode, "u@example.com", "pw", hw) }, hw)
			expire(e, l.ID)
			e.disable(l.ID)
			return userID(p.ShortCode, "u@example.com", "wrong", hw), l.ID
		}},
		{"wrong username", licensing.ELicenseNotFound, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(user)
			l := e.userLicense(p.ShortCode, "u@example.com", "pw", 1)
			return userID(p.ShortCode, "v@example.com", "pw", hw), l.ID
		}},
		{"license_id of another license", licensing.ELicenseNotFound, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(key)
			k := e.uniq("K")
			l := e.keyLicense(p.ShortCode, k, 1)
			other := e.keyLicense(p.ShortCode, e.uniq("K"), 1)
			id := keyID(p.ShortCode, k, hw)
			id.LicenseID = other.ID
			return id, l.ID
		}},
		{"disabled; also expired, blacklisted, full", licensing.ELicenseNotEnabled, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(key)
			k := e.uniq("K")
			l := e.keyLicense(p.ShortCode, k, 1)
			fullWithBlacklisted(e, func(hw string) licensing.Identity { return keyID(p.ShortCode, k, hw) }, hw)
			expire(e, l.ID)
			e.disable(l.ID)
			return keyID(p.ShortCode, k, hw), l.ID
		}},
		{"disabled, never activated", licensing.ELicenseNotEnabled, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(key)
			k := e.uniq("K")
			l := e.keyLicense(p.ShortCode, k, 1)
			e.disable(l.ID)
			return keyID(p.ShortCode, k, hw), l.ID
		}},
		{"disabled, active device re-activating", licensing.ELicenseNotEnabled, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(key)
			k := e.uniq("K")
			l := e.keyLicense(p.ShortCode, k, 1)
			e.activate(keyID(p.ShortCode, k, hw))
			e.disable(l.ID)
			return keyID(p.ShortCode, k, hw), l.ID
		}},
		{"expired; also blacklisted, full", licensing.ELicenseExpired, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(key)
			k := e.uniq("K")
			l := e.keyLicense(p.ShortCode, k, 1)
			fullWithBlacklisted(e, func(hw string) licensing.Identity { return keyID(p.ShortCode, k, hw) }, hw)
			expire(e, l.ID)
			return keyID(p.ShortCode, k, hw), l.ID
		}},
		{"expired at creation", licensing.ELicenseExpired, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(key)
			k := e.uniq("K")
			l := e.license(p.ShortCode, licensing.LicenseInput{Key: k, MaxActivations: 1, ValidityPeriod: &past})
			return keyID(p.ShortCode, k, hw), l.ID
		}},
		{"expired, user-based", licensing.ELicenseExpired, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(user)
			l := e.license(p.ShortCode, licensing.LicenseInput{MaxActivations: 1, ValidityPeriod: &past,
				Users: []licensing.UserInput{{Email: "u@example.com", Password: "pw"}}})
			return userID(p.ShortCode, "u@example.com", "pw", hw), l.ID
		}},
		{"blacklisted inactive device; also full", licensing.EBlacklisted, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(key)
			k := e.uniq("K")
			l := e.keyLicense(p.ShortCode, k, 1)
			fullWithBlacklisted(e, func(hw string) licensing.Identity { return keyID(p.ShortCode, k, hw) }, hw)
			return keyID(p.ShortCode, k, hw), l.ID
		}},
		{"blacklisted active device", licensing.EBlacklisted, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(key)
			k := e.uniq("K")
			l := e.keyLicense(p.ShortCode, k, 1)
			st := e.activate(keyID(p.ShortCode, k, hw))
			e.blacklist(st.Device.ID)
			return keyID(p.ShortCode, k, hw), l.ID
		}},
		{"full", licensing.EMaxActivations, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(key)
			k := e.uniq("K")
			l := e.keyLicense(p.ShortCode, k, 2)
			e.activate(keyID(p.ShortCode, k, hw+"-a"))
			e.activate(keyID(p.ShortCode, k, hw+"-b"))
			return keyID(p.ShortCode, k, hw), l.ID
		}},
		{"full, user-based", licensing.EMaxActivations, nil, func(e *env, hw string) (licensing.Identity, int64) {
			p := e.product(user)
			l := e.userLicense(p.ShortCode, "u@example.com", "pw", 1)
			e.activate(userID(p.ShortCode, "u@example.com", "pw", hw+"-a"))
			return userID(p.ShortCode, "u@example.com", "pw", hw), l.ID
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := e.with(t)
			hw := e.uniq("hw")
			id, licID := tc.setup(e, hw)
			var before licensing.License
			var devices int
			if licID != 0 {
				before, devices = e.lic(licID), len(e.devices(licID))
			}
			_, err := e.svc.Activate(e.ctx, e.cid, licensing.ActivateRequest{Identity: id, Variables: tc.vars})
			wantCode(t, err, tc.want)
			if licID == 0 {
				return
			}
			after := e.lic(licID)
			if after.TimesActivated != before.TimesActivated || after.Active != before.Active || len(e.devices(licID)) != devices {
				t.Errorf("refused activation changed the license: times_activated %d→%d, active %v→%v, devices %d→%d",
					before.TimesActivated, after.TimesActivated, before.Active, after.Active, devices, len(e.devices(licID)))
			}
		})
	}
}

func TestActivateExpiryFollowsClock(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	until := t0.Add(time.Hour)
	l := e.license(p.ShortCode, licensing.LicenseInput{Key: "VALI-DITY-PERI-OD01", MaxActivations: 5, ValidityPeriod: &until})
	id := func(hw string) licensing.Identity { return keyID(p.ShortCode, "VALI-DITY-PERI-OD01", hw) }

	e.clock.Advance(time.Hour - time.Millisecond)
	e.activate(id("1"))
	e.clock.Advance(2 * time.Millisecond)
	_, err := e.svc.Activate(e.ctx, e.cid, licensing.ActivateRequest{Identity: id("2")})
	wantCode(t, err, licensing.ELicenseExpired)
	_, err = e.svc.Activate(e.ctx, e.cid, licensing.ActivateRequest{Identity: id("1")})
	wantCode(t, err, licensing.ELicenseExpired)

	// Extending the validity period lets activations through again.
	later := until.Add(24 * time.Hour)
	if _, err := e.svc.UpdateLicense(e.ctx, e.cid, l.ID, licensing.LicensePatch{ValidityPeriod: ptr(&later)}); err != nil {
		t.Fatal(err)
	}
	e.activate(id("2"))
	// So does removing it.
	e.clock.Advance(48 * time.Hour)
	if _, err := e.svc.UpdateLicense(e.ctx, e.cid, l.ID, licensing.LicensePatch{ValidityPeriod: ptr[*time.Time](nil)}); err != nil {
		t.Fatal(err)
	}
	e.activate(id("3"))
	if got := e.lic(l.ID).TimesActivated; got != 3 {
		t.Errorf("times_activated %d, want 3", got)
	}
}

func TestActivateUserBased(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthUser)
	code := p.ShortCode
	// alice holds three licenses of the product: l1 and l2 with password "pw",
	// l3 with password "other".
	l1 := e.userLicense(code, "alice@example.com", "pw", 5)
	l2 := e.userLicense(code, "alice@example.com", "pw", 5)
	l3 := e.userLicense(code, "alice@example.com", "other", 5)
	solo := e.userLicense(code, "bob@example.com", "bobpw", 1)

	t.Run("password", func(t *testing.T) {
		e := e.with(t)
		_, err := e.svc.Activate(e.ctx, e.cid, licensing.ActivateRequest{Identity: userID(code, "bob@example.com", "wrong", "b1")})
		wantCode(t, err, licensing.ELicenseNotFound)
		_, err = e.svc.Activate(e.ctx, e.cid, licensing.ActivateRequest{Identity: userID(code, "bob@example.com", "", "b1")})
		wantCode(t, err, licensing.EMissingParameters)
		if n := len(e.devices(solo.ID)); n != 0 {
			t.Fatalf("%d devices after refused activations", n)
		}
		st := e.activate(userID(code, "BOB@example.com", "bobpw", "b1"))
		if st.License.ID != solo.ID || st.User == nil || st.User.Email != "bob@example.com" {
			t.Fatalf("activated license %d user %+v, want %d bob@example.com", st.License.ID, st.User, solo.ID)
		}
		if st.Device.LicenseUserID != st.User.ID {
			t.Errorf("device license_user_id %d, want %d", st.Device.LicenseUserID, st.User.ID)
		}
	})

	// Each case activates a fresh hardware_id, after optional preparation.
	cases := []struct {
		name      string
		password  string
		licenseID int64
		prepare   func(e *env, hw string)
		want      int64 // 0: license_not_found
		newSeat   bool
	}{
		{"lowest id without license_id", "pw", 0, nil, l1.ID, true},
		{"license_id selects", "pw", l2.ID, nil, l2.ID, true},
		{"license_id with another license's password", "pw", l3.ID, nil, 0, false},
		{"password selects among licenses", "other", 0, nil, l3.ID, true},
		{"license with an active device for the hardware_id is preferred", "pw", 0, func(e *env, hw string) {
			id := userID(code, "alice@example.com", "pw", hw)
			id.LicenseID = l2.ID
			e.activate(id)
		}, l2.ID, false},
		{"a deactivated device is not preferred", "pw", 0, func(e *env, hw string) {
			id := userID(code, "alice@example.com", "pw", hw)
			id.LicenseID = l2.ID
			e.activate(id)
			e.deactivate(id)
		}, l1.ID, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			hw := e.uniq("hw")
			if tc.prepare != nil {
				tc.prepare(e, hw)
			}
			seats := map[int64]int64{}
			for _, l := range []int64{l1.ID, l2.ID, l3.ID} {
				seats[l] = e.lic(l).TimesActivated
			}
			id := userID(code, "alice@example.com", tc.password, hw)
			id.LicenseID = tc.licenseID
			st, err := e.svc.Activate(e.ctx, e.cid, licensing.ActivateRequest{Identity: id})
			if tc.want == 0 {
				wantCode(t, err, licensing.ELicenseNotFound)
				return
			}
			wantCode(t, err, "")
			if st.License.ID != tc.want {
				t.Fatalf("activated license %d, want %d", st.License.ID, tc.want)
			}
			if d := e.device(tc.want, hw); !d.Active {
				t.Errorf("device not active on license %d", tc.want)
			}
			// The device-scoped calls resolve the same license without license_id.
			chk, err := e.svc.Check(e.ctx, e.cid, userID(code, "alice@example.com", "", hw))
			wantCode(t, err, "")
			if chk.License.ID != tc.want {
				t.Errorf("check resolved license %d, want %d", chk.License.ID, tc.want)
			}
			for l, n := range seats {
				got := e.lic(l).TimesActivated
				if l == tc.want && tc.newSeat {
					n++
				}
				if got != n {
					t.Errorf("license %d times_activated %d, want %d", l, got, n)
				}
			}
		})
	}
}

// TestUserActivations: a user-based answer counts the user's active devices on the
// license at the time of the answer: the seat just taken included, a deactivated device
// not, another user's devices on the same license not.
func TestUserActivations(t *testing.T) {
	e := newEnv(t)
	code := e.product(licensing.AuthUser).ShortCode
	l := e.license(code, licensing.LicenseInput{MaxActivations: 10, Users: []licensing.UserInput{
		{Email: "alice@example.com", Password: "apw"}, {Email: "bob@example.com", Password: "bpw"}}})
	alice := func(hw string) licensing.Identity {
		id := userID(code, "alice@example.com", "apw", hw)
		id.LicenseID = l.ID
		return id
	}
	bob := func(hw string) licensing.Identity {
		id := userID(code, "bob@example.com", "bpw", hw)
		id.LicenseID = l.ID
		return id
	}
	steps := []struct {
		name string
		op   string // activate, check or deactivate
		id   licensing.Identity
		want int64 // the answer's UserActivations (activate and check)
	}{
		{"alice's first device", "activate", alice("a1"), 1},
		{"check with one device", "check", alice("a1"), 1},
		{"alice's second device", "activate", alice("a2"), 2},
		{"re-activating takes no new seat", "activate", alice("a1"), 2},
		{"check with two devices", "check", alice("a2"), 2},
		{"bob's device: alice's do not count", "activate", bob("b1"), 1},
		{"check for bob", "check", bob("b1"), 1},
		{"alice's count leaves bob's out", "check", alice("a1"), 2},
		{"alice deactivates a2", "deactivate", alice("a2"), 0},
		{"check after the deactivation", "check", alice("a1"), 1},
		{"bob's count is unchanged", "check", bob("b1"), 1},
		{"a2 back", "activate", alice("a2"), 2},
		{"alice deactivates both", "deactivate", alice("a1"), 0},
		{"alice deactivates a2 again", "deactivate", alice("a2"), 0},
		{"bob's count after alice left", "check", bob("b1"), 1},
		{"alice from zero", "activate", alice("a3"), 1},
	}
	for _, s := range steps {
		var st licensing.LicenseState
		var err error
		switch s.op {
		case "activate":
			st, err = e.svc.Activate(e.ctx, e.cid, licensing.ActivateRequest{Identity: s.id})
		case "check":
			st, err = e.svc.Check(e.ctx, e.cid, s.id)
		case "deactivate":
			if err := e.svc.Deactivate(e.ctx, e.cid, s.id, nil); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if st.User == nil || st.User.Email != s.id.Username {
			t.Fatalf("%s: user %+v, want %s", s.name, st.User, s.id.Username)
		}
		if st.UserActivations != s.want {
			t.Errorf("%s: UserActivations %d, want %d", s.name, st.UserActivations, s.want)
		}
	}

	// A key-based answer has no user and counts nothing.
	kp := e.product(licensing.AuthLicenseKey)
	e.keyLicense(kp.ShortCode, "K-USERACTS", 2)
	id := keyID(kp.ShortCode, "K-USERACTS", "k1")
	if st := e.activate(id); st.User != nil || st.UserActivations != 0 {
		t.Errorf("key-based activation: user %+v, UserActivations %d", st.User, st.UserActivations)
	}
	if st, err := e.svc.Check(e.ctx, e.cid, id); err != nil || st.User != nil || st.UserActivations != 0 {
		t.Errorf("key-based check: user %+v, UserActivations %d, %v", st.User, st.UserActivations, err)
	}
}

func TestActivateStoresVariables(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	l := e.keyLicense(p.ShortCode, "VARS-AT-ACTIVATION", 1)
	id := keyID(p.ShortCode, "VARS-AT-ACTIVATION", "hw")

	st := e.activate(id, licensing.VarInput{Name: "os", Value: "linux"}, licensing.VarInput{Name: "cores", Value: "8"})
	if got := names(st.Variables); len(got) != 2 || got[0] != "os" || got[1] != "cores" {
		t.Fatalf("activation answer variables %v, want [os cores]", got)
	}
	e.clock.Advance(time.Second)
	st = e.activate(id, licensing.VarInput{Name: "cores", Value: "16"}, licensing.VarInput{Name: "gpu", Value: "none"})
	want := map[string]string{"os": "linux", "cores": "16", "gpu": "none"}
	if got := e.vars(st.Device.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	if got := names(st.Variables); fmt.Sprint(got) != "[os cores gpu]" {
		t.Errorf("re-activation answer variables %v, want every variable of the device [os cores gpu]", got)
	}
	vs, err := e.svc.GetVariables(e.ctx, e.cid, id)
	wantCode(t, err, "")
	for _, v := range vs {
		wantAt := t0
		if v.Name != "os" {
			wantAt = t0.Add(time.Second)
		}
		if !v.CreatedAt.Equal(wantAt) || v.DeviceID != st.Device.ID {
			t.Errorf("%s: created_at %v device %d, want %v %d", v.Name, v.CreatedAt, v.DeviceID, wantAt, st.Device.ID)
		}
	}
	if e.lic(l.ID).TimesActivated != 1 {
		t.Errorf("variables changed the seat count")
	}
}

// With write-behind, Check buffers last-check stamps and a flush writes the latest one.
func TestCheckStampsWrittenBehind(t *testing.T) {
	e := newEnv(t, licensing.WithCheckStampInterval(time.Hour))
	p := e.product(licensing.AuthLicenseKey)
	e.keyLicense(p.ShortCode, "K-STAMP", 1)
	id := keyID(p.ShortCode, "K-STAMP", "hw-stamp")
	d := e.activate(id).Device
	for range 2 {
		e.clock.Advance(time.Minute)
		if _, err := e.svc.Check(e.ctx, e.cid, id); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.device(d.LicenseID, "hw-stamp").LastCheck; got != nil {
		t.Fatalf("last_check written before the flush: %v", got)
	}
	if err := e.svc.FlushCheckStamps(e.ctx); err != nil {
		t.Fatal(err)
	}
	got := e.device(d.LicenseID, "hw-stamp").LastCheck
	if want := e.clock.Now().UTC().Truncate(time.Millisecond); got == nil || !got.Equal(want) {
		t.Fatalf("last_check %v, want %v", got, want)
	}
	// Run's final flush writes what is left when its context ends.
	e.clock.Advance(time.Minute)
	if _, err := e.svc.Check(e.ctx, e.cid, id); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	e.svc.RunCheckStamps(ctx)
	if got := e.device(d.LicenseID, "hw-stamp").LastCheck; got == nil || !got.Equal(e.clock.Now().UTC().Truncate(time.Millisecond)) {
		t.Fatalf("final flush: last_check %v", got)
	}
}
