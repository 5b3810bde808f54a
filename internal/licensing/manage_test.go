package licensing_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
)

func wantField(t testing.TB, err error, code, field string) {
	t.Helper()
	wantCode(t, err, code)
	var le *licensing.Error
	if errors.As(err, &le); le.Field != field {
		t.Fatalf("error %v names field %q, want %q", err, le.Field, field)
	}
}

func TestCreateProduct(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.CreateProduct(e.ctx, e.cid, licensing.ProductInput{Name: "A", ShortCode: "dup"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		in    licensing.ProductInput
		field string // "" means accepted
	}{
		{"duplicate short_code", licensing.ProductInput{Name: "B", ShortCode: "dup"}, "short_code"},
		{"empty name", licensing.ProductInput{Name: " ", ShortCode: "x1"}, "product_name"},
		{"empty short_code", licensing.ProductInput{Name: "X"}, "short_code"},
		{"long short_code", licensing.ProductInput{Name: "X", ShortCode: strings.Repeat("s", 256)}, "short_code"},
		{"unknown authorization method", licensing.ProductInput{Name: "X", ShortCode: "x2", AuthorizationMethod: "sso"}, "authorization_method"},
		{"user-based", licensing.ProductInput{Name: "X", ShortCode: "x3", AuthorizationMethod: licensing.AuthUser}, ""},
		{"default is key-based", licensing.ProductInput{Name: "X", ShortCode: "x4"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := e.svc.CreateProduct(e.ctx, e.cid, tc.in)
			if tc.field != "" {
				wantField(t, err, licensing.EValidation, tc.field)
				return
			}
			wantCode(t, err, "")
			want := tc.in.AuthorizationMethod
			if want == "" {
				want = licensing.AuthLicenseKey
			}
			got, err := e.svc.Product(e.ctx, e.cid, p.ID)
			wantCode(t, err, "")
			if got.ShortCode != tc.in.ShortCode || got.AuthorizationMethod != want || !got.CreatedAt.Equal(t0) {
				t.Errorf("stored %+v", got)
			}
		})
	}
	if _, n, _ := e.svc.ListProducts(e.ctx, e.cid, licensing.Page{}); n != 3 {
		t.Errorf("%d products, want 3", n)
	}
}

func TestCreateOrder(t *testing.T) {
	e := newEnv(t)
	kp := e.product(licensing.AuthLicenseKey)
	up := e.product(licensing.AuthUser)
	keyItem := func(lis ...licensing.LicenseInput) licensing.OrderItem {
		return licensing.OrderItem{ProductCode: kp.ShortCode, Licenses: lis}
	}
	if _, err := e.svc.CreateOrder(e.ctx, e.cid, licensing.OrderInput{StoreID: "taken", Items: []licensing.OrderItem{keyItem(licensing.LicenseInput{Key: "TAKE-NKEY"})}}); err != nil {
		t.Fatal(err)
	}

	t.Run("refusals", func(t *testing.T) {
		cases := []struct {
			name, code, field string
			in                licensing.OrderInput
		}{
			{"duplicate store id", licensing.EOrderIDExists, "id", licensing.OrderInput{StoreID: "taken", Items: []licensing.OrderItem{keyItem(licensing.LicenseInput{})}}},
			{"no items", licensing.EValidation, "items", licensing.OrderInput{StoreID: "o-1"}},
			{"customer email too long", licensing.EValidation, "customer.email", licensing.OrderInput{StoreID: "o-1b", CustomerEmail: strings.Repeat("a", 250) + "@x.io",
				Items: []licensing.OrderItem{keyItem(licensing.LicenseInput{})}}},
			{"customer email without @", licensing.EValidation, "customer.email", licensing.OrderInput{StoreID: "o-1c", CustomerEmail: "notanemail",
				Items: []licensing.OrderItem{keyItem(licensing.LicenseInput{})}}},
			{"a key of white space", licensing.EValidation, "items[0].licenses[1].key", licensing.OrderInput{StoreID: "o-1d",
				Items: []licensing.OrderItem{keyItem(licensing.LicenseInput{Key: "ROLL-BACK-0003"}, licensing.LicenseInput{Key: " \t "})}}},
			{"unknown product", licensing.EValidation, "items[1].product_code", licensing.OrderInput{StoreID: "o-2",
				Items: []licensing.OrderItem{keyItem(licensing.LicenseInput{Key: "ROLL-BACK-0001"}), {ProductCode: "nope", Licenses: []licensing.LicenseInput{{}}}}}},
			{"duplicate key", licensing.EValidation, "items[0].licenses[1].key", licensing.OrderInput{StoreID: "o-3",
				Items: []licensing.OrderItem{keyItem(licensing.LicenseInput{Key: "ROLL-BACK-0002"}, licensing.LicenseInput{Key: "TAKE-NKEY"})}}},
			{"negative max_activations", licensing.EValidation, "items[0].licenses[0].max_activations", licensing.OrderInput{StoreID: "o-4",
				Items: []licensing.OrderItem{keyItem(licensing.LicenseInput{MaxActivations: -1})}}},
			{"users on a key-based product", licensing.EValidation, "items[0].licenses[0].users", licensing.OrderInput{StoreID: "o-5",
				Items: []licensing.OrderItem{keyItem(licensing.LicenseInput{Users: []licensing.UserInput{{Email: "a@example.com"}}})}}},
			{"key on a user-based product", licensing.EValidation, "items[0].licenses[0].key", licensing.OrderInput{StoreID: "o-6",
				Items: []licensing.OrderItem{{ProductCode: up.ShortCode, Licenses: []licensing.LicenseInput{{Key: "K", Users: []licensing.UserInput{{Email: "a@example.com"}}}}}}}},
			{"user-based license without users", licensing.EValidation, "items[0].licenses[0].users", licensing.OrderInput{StoreID: "o-7",
				Items: []licensing.OrderItem{{ProductCode: up.ShortCode, Licenses: []licensing.LicenseInput{{}}}}}},
			{"invalid email", licensing.EValidation, "items[0].licenses[0].users[0].email", licensing.OrderInput{StoreID: "o-8",
				Items: []licensing.OrderItem{{ProductCode: up.ShortCode, Licenses: []licensing.LicenseInput{{Users: []licensing.UserInput{{Email: "nope"}}}}}}}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.svc.CreateOrder(e.ctx, e.cid, tc.in)
				wantField(t, err, tc.code, tc.field)
			})
		}
		// A refused order leaves nothing behind: its store id and keys stay free.
		for _, id := range []string{"o-2", "o-3"} {
			if _, err := e.svc.CreateOrder(e.ctx, e.cid, licensing.OrderInput{StoreID: id, Items: []licensing.OrderItem{keyItem(licensing.LicenseInput{})}}); err != nil {
				t.Errorf("store id %s of a refused order: %v", id, err)
			}
		}
		for _, k := range []string{"ROLL-BACK-0001", "ROLL-BACK-0002", "ROLL-BACK-0003"} {
			if ls, _, _ := e.svc.ListLicenses(e.ctx, e.cid, licensing.LicenseFilter{LicenseKey: k}); len(ls) != 0 {
				t.Errorf("license %s of a refused order exists", k)
			}
		}
	})

	t.Run("generated keys and store ids", func(t *testing.T) {
		o, err := e.svc.CreateOrder(e.ctx, e.cid, licensing.OrderInput{Items: []licensing.OrderItem{keyItem(make([]licensing.LicenseInput, 20)...)}})
		wantCode(t, err, "")
		if !strings.HasPrefix(o.Order.StoreID, "licensor_") {
			t.Errorf("generated store id %q", o.Order.StoreID)
		}
		re := regexp.MustCompile(`^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$`)
		seen := map[string]bool{}
		for _, l := range o.Licenses {
			if !re.MatchString(l.LicenseKey) {
				t.Errorf("generated key %q does not look like XXXX-XXXX-XXXX-XXXX", l.LicenseKey)
			}
			if seen[l.LicenseKey] {
				t.Errorf("generated key %q twice", l.LicenseKey)
			}
			seen[l.LicenseKey] = true
			// Seats as given (none here); the wire's default of one is the API's.
			if l.MaxActivations != 0 || l.LicenseType != licensing.TypePerpetual || !l.Enabled || l.Active {
				t.Errorf("defaults: max %d type %q enabled %v active %v", l.MaxActivations, l.LicenseType, l.Enabled, l.Active)
			}
		}
	})

	t.Run("a cancelled request hashes no more passwords and creates nothing", func(t *testing.T) {
		ctx, cancel := context.WithCancel(e.ctx)
		cancel()
		_, err := e.svc.CreateOrder(ctx, e.cid, licensing.OrderInput{StoreID: "gone-order",
			Items: []licensing.OrderItem{{ProductCode: up.ShortCode, Licenses: []licensing.LicenseInput{{Users: []licensing.UserInput{{Email: "gone@example.com"}}}}}}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("CreateOrder with its request gone: %v", err)
		}
		if _, err := e.svc.CreateOrder(e.ctx, e.cid, licensing.OrderInput{StoreID: "gone-order", Items: []licensing.OrderItem{keyItem(licensing.LicenseInput{})}}); err != nil {
			t.Errorf("the store id of the abandoned order: %v", err)
		}
	})

	t.Run("a key's surrounding white space is dropped", func(t *testing.T) {
		o, err := e.svc.CreateOrder(e.ctx, e.cid, licensing.OrderInput{StoreID: "pad-order", CustomerEmail: "c@example.com",
			Items: []licensing.OrderItem{keyItem(licensing.LicenseInput{Key: " \tPAD-KEY-1\n"})}})
		wantCode(t, err, "")
		if k := o.Licenses[0].LicenseKey; k != "PAD-KEY-1" {
			t.Errorf("stored key %q, want PAD-KEY-1", k)
		}
	})

	t.Run("generated password works once shown", func(t *testing.T) {
		o, err := e.svc.CreateOrder(e.ctx, e.cid, licensing.OrderInput{Items: []licensing.OrderItem{{ProductCode: up.ShortCode,
			Licenses: []licensing.LicenseInput{{MaxActivations: 2, Users: []licensing.UserInput{{Email: " Gen@Example.com "}, {Email: "set@example.com", Password: "given"}}}}}}})
		wantCode(t, err, "")
		us := o.Licenses[0].Users
		if len(us) != 2 || us[0].Email != "gen@example.com" || us[0].InitialPassword == "" || us[1].InitialPassword != "" {
			t.Fatalf("users %+v: want normalised email, generated password shown only when generated", us)
		}
		if strings.Contains(us[0].PasswordHash, us[0].InitialPassword) {
			t.Errorf("password stored in clear")
		}
		e := e.with(t)
		e.activate(userID(up.ShortCode, "gen@example.com", us[0].InitialPassword, "hw"))
		e.activate(userID(up.ShortCode, "set@example.com", "given", "hw2"))
		d, err := e.svc.License(e.ctx, e.cid, o.Licenses[0].ID)
		wantCode(t, err, "")
		for _, u := range d.Users {
			if u.InitialPassword != "" {
				t.Errorf("initial password shown again for %s", u.Email)
			}
		}
	})
}

func TestResetLicense(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	l := e.keyLicense(p.ShortCode, "RESE-TLIC-ENSE-0001", 3)
	id := func(hw string) licensing.Identity { return keyID(p.ShortCode, "RESE-TLIC-ENSE-0001", hw) }
	for _, hw := range []string{"1", "2", "3"} {
		e.activate(id(hw), licensing.VarInput{Name: "hw", Value: hw})
	}
	d, err := e.svc.ResetLicense(e.ctx, e.cid, l.ID)
	wantCode(t, err, "")
	if d.TimesActivated != 0 || d.Active {
		t.Errorf("answer: times_activated %d active %v, want 0 false", d.TimesActivated, d.Active)
	}
	if got := e.lic(l.ID); got.TimesActivated != 0 || got.Active {
		t.Errorf("stored: times_activated %d active %v, want 0 false", got.TimesActivated, got.Active)
	}
	for _, dev := range e.devices(l.ID) {
		if dev.Active || dev.TimeDeactivated == nil {
			t.Errorf("device %s still active after reset", dev.HardwareID)
		}
		if len(e.vars(dev.ID)) != 1 {
			t.Errorf("device %s lost its variables", dev.HardwareID)
		}
	}
	_, err = e.svc.Check(e.ctx, e.cid, id("1"))
	wantCode(t, err, licensing.ELicenseNotActive)
	// Every seat is free again.
	for _, hw := range []string{"4", "5", "1"} {
		e.activate(id(hw))
	}
	if got := e.lic(l.ID); got.TimesActivated != 3 || !got.Active {
		t.Errorf("after re-activation: times_activated %d active %v, want 3 true", got.TimesActivated, got.Active)
	}
}

// TestResetDevice: a device reset frees that one device's seat, blacklisted or not (the
// device stays blacklisted), records device.reset, and is a no-op on an inactive device.
func TestResetDevice(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	cases := []struct {
		name        string
		blacklist   bool // blacklisted before the reset
		deactivated bool // deactivated (through the License API) before the reset
	}{
		{"active device", false, false},
		{"blacklisted device", true, false},
		{"inactive device", false, true},
		{"inactive blacklisted device", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			key := e.uniq("RESET-DEVICE")
			l := e.keyLicense(p.ShortCode, key, 2)
			e.activate(keyID(p.ShortCode, key, "other"))
			dev := e.activate(keyID(p.ShortCode, key, "hw")).Device
			if tc.deactivated {
				e.deactivate(keyID(p.ShortCode, key, "hw"))
			}
			if tc.blacklist {
				e.blacklist(dev.ID)
				// The License API cannot free a blacklisted device's seat.
				wantCode(t, e.svc.Deactivate(e.ctx, e.cid, keyID(p.ShortCode, key, "hw"), nil), licensing.EBlacklisted)
			}
			before := e.device(l.ID, "hw")
			e.clock.Advance(time.Minute)
			_, err := e.svc.ResetDevice(e.ctx, e.cid, dev.ID)
			wantCode(t, err, "")
			got := e.device(l.ID, "hw")
			if got.Active || got.Blacklisted != tc.blacklist {
				t.Errorf("device after reset: active %v blacklisted %v, want false %v", got.Active, got.Blacklisted, tc.blacklist)
			}
			wantDeactivated := e.clock.Now()
			if tc.deactivated {
				wantDeactivated = *before.TimeDeactivated
			}
			if got.TimeDeactivated == nil || !got.TimeDeactivated.Equal(wantDeactivated) {
				t.Errorf("time_deactivated %v, want %v", got.TimeDeactivated, wantDeactivated)
			}
			if other := e.device(l.ID, "other"); !other.Active {
				t.Error("the license's other device was deactivated too")
			}
			if got := e.lic(l.ID); got.TimesActivated != 1 || got.TimesActivated != e.activeDevices(l.ID) {
				t.Errorf("times_activated %d, want 1 (the other device)", got.TimesActivated)
			}
			resets, n, err := e.svc.AuditLog(e.ctx, e.cid, licensing.AuditFilter{Page: licensing.Page{Limit: 10},
				ObjectType: "device", ObjectID: dev.ID, Action: licensing.AuditDeviceReset})
			wantCode(t, err, "")
			if tc.deactivated {
				if n != 0 {
					t.Errorf("resetting an inactive device recorded %d entries", n)
				}
			} else if n != 1 || !strings.Contains(string(resets[0].Before), `"active":true`) ||
				!strings.Contains(string(resets[0].After), `"active":false`) || resets[0].Actor != licensing.ActorCLI {
				t.Errorf("audit entries %d: %+v", n, resets)
			}
			// The freed seat is usable; a blacklisted device still cannot take it.
			_, err = e.svc.Activate(e.ctx, e.cid, licensing.ActivateRequest{Identity: keyID(p.ShortCode, key, "hw")})
			if tc.blacklist {
				wantCode(t, err, licensing.EBlacklisted)
				e.activate(keyID(p.ShortCode, key, "third"))
			} else {
				wantCode(t, err, "")
			}
			// Reset the re-activated device again, then once more while inactive: the
			// count stays that of the active devices.
			if !tc.blacklist {
				_, err = e.svc.ResetDevice(e.ctx, e.cid, dev.ID)
				wantCode(t, err, "")
				_, err = e.svc.ResetDevice(e.ctx, e.cid, dev.ID)
				wantCode(t, err, "")
				if got := e.lic(l.ID); got.TimesActivated != 1 {
					t.Errorf("times_activated after two more resets %d, want 1", got.TimesActivated)
				}
			}
		})
	}
	_, err := e.svc.ResetDevice(e.ctx, e.cid, 1<<40)
	wantCode(t, err, licensing.ENotFound)
}

// TestCompanyIsolation checks that no call made for one company sees or changes
// another company's rows.
func TestCompanyIsolation(t *testing.T) {
	e := newEnv(t)
	credsB, err := e.svc.CreateCompany(e.ctx, "b", "rsa-2048")
	wantCode(t, err, "")
	b := e.with(t)
	b.cid = credsB.CompanyID
	a := e

	// Both companies sell a product with the same short code and a license with the same key.
	for _, x := range []*env{a, b} {
		if _, err := x.svc.CreateProduct(x.ctx, x.cid, licensing.ProductInput{Name: "Same", ShortCode: "same"}); err != nil {
			t.Fatal(err)
		}
		x.keyLicense("same", "SAME-SAME-SAME-SAME", 1)
	}
	pb := b.product(licensing.AuthLicenseKey)
	lb := b.keyLicense(pb.ShortCode, "ONLY-INBB-0000-0001", 1)
	stB := b.activate(keyID(pb.ShortCode, "ONLY-INBB-0000-0001", "hw"), licensing.VarInput{Name: "v", Value: "1"})
	apiB, err := b.svc.CreateAPIKey(b.ctx, b.cid, false)
	wantCode(t, err, "")

	// A's view of B's ids.
	calls := []struct {
		name string
		call func() error
	}{
		{"Product", func() error { _, err := a.svc.Product(a.ctx, a.cid, pb.ID); return err }},
		{"License", func() error { _, err := a.svc.License(a.ctx, a.cid, lb.ID); return err }},
		{"UpdateLicense", func() error {
			_, err := a.svc.UpdateLicense(a.ctx, a.cid, lb.ID, licensing.LicensePatch{Enabled: ptr(false)})
			return err
		}},
		{"ResetLicense", func() error { _, err := a.svc.ResetLicense(a.ctx, a.cid, lb.ID); return err }},
		{"Device", func() error { _, err := a.svc.Device(a.ctx, a.cid, stB.Device.ID); return err }},
		{"SetBlacklisted", func() error { _, err := a.svc.SetBlacklisted(a.ctx, a.cid, stB.Device.ID, true); return err }},
		{"ResetDevice", func() error { _, err := a.svc.ResetDevice(a.ctx, a.cid, stB.Device.ID); return err }},
		{"DeviceVariables", func() error { _, err := a.svc.DeviceVariables(a.ctx, a.cid, stB.Device.ID); return err }},
		{"RevokeAPIKey", func() error { _, err := a.svc.RevokeAPIKey(a.ctx, a.cid, apiB.ID); return err }},
		{"Company", func() error { _, err := a.svc.Company(a.ctx, 999); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) { wantCode(t, c.call(), licensing.ENotFound) })
	}
	if ls, n, _ := a.svc.ListLicenses(a.ctx, a.cid, licensing.LicenseFilter{ProductShortCode: pb.ShortCode}); n != 0 || len(ls) != 0 {
		t.Errorf("A lists %d of B's licenses", n)
	}
	if ds, n, _ := a.svc.ListDevices(a.ctx, a.cid, licensing.DeviceFilter{LicenseID: lb.ID}); n != 0 || len(ds) != 0 {
		t.Errorf("A lists %d of B's devices", n)
	}
	if ps, _, _ := a.svc.ListProducts(a.ctx, a.cid, licensing.Page{}); len(ps) != 1 {
		t.Errorf("A lists %d products, want its own 1", len(ps))
	}

	// License API calls for A never reach B's product.
	_, err = a.svc.Check(a.ctx, a.cid, keyID(pb.ShortCode, "ONLY-INBB-0000-0001", "hw"))
	wantCode(t, err, licensing.EUnknownProduct)
	_, err = a.svc.Activate(a.ctx, a.cid, licensing.ActivateRequest{Identity: keyID(pb.ShortCode, "ONLY-INBB-0000-0001", "hw2")})
	wantCode(t, err, licensing.EUnknownProduct)
	// The same short code and key in A name A's license only.
	stA := a.activate(keyID("same", "SAME-SAME-SAME-SAME", "hw"))
	_, err = b.svc.Check(b.ctx, b.cid, keyID("same", "SAME-SAME-SAME-SAME", "hw"))
	wantCode(t, err, licensing.ELicenseNotActive)
	if stA.License.CompanyID != a.cid || stA.Device.CompanyID != a.cid {
		t.Errorf("A's activation made rows of company %d/%d", stA.License.CompanyID, stA.Device.CompanyID)
	}

	// B's rows are as they were.
	d, err := b.svc.Device(b.ctx, b.cid, stB.Device.ID)
	wantCode(t, err, "")
	if !d.Active || d.Blacklisted {
		t.Errorf("B's device changed: active %v blacklisted %v", d.Active, d.Blacklisted)
	}
	if l := b.lic(lb.ID); !l.Enabled || l.TimesActivated != 1 {
		t.Errorf("B's license changed: enabled %v times_activated %d", l.Enabled, l.TimesActivated)
	}
	if k, err := b.svc.APIKeyByKey(b.ctx, apiB.Key); err != nil || k.Revoked {
		t.Errorf("B's api key: %+v %v", k, err)
	}
}

func TestAuthenticateManagement(t *testing.T) {
	e := newEnv(t)
	credsB, err := e.svc.CreateCompany(e.ctx, "b", "rsa-2048")
	wantCode(t, err, "")
	key := e.creds.ManagementKey
	prefix, secret, _ := strings.Cut(key, ".")
	flip := func(s string) string {
		c := byte('A')
		if s[len(s)-1] == 'A' {
			c = 'B'
		}
		return s[:len(s)-1] + string(c)
	}
	_, secretB, _ := strings.Cut(credsB.ManagementKey, ".")
	cases := []struct {
		name string
		key  string
		want int64 // 0: unauthorized
	}{
		{"key from Init", key, e.cid},
		{"key from CreateCompany", credsB.ManagementKey, credsB.CompanyID},
		{"tampered secret", prefix + "." + flip(secret), 0},
		{"truncated secret", prefix + "." + secret[:len(secret)-1], 0},
		{"another company's secret", prefix + "." + secretB, 0},
		{"unknown prefix", flip(prefix) + "." + secret, 0},
		{"no dot", prefix + secret, 0},
		{"empty secret", prefix + ".", 0},
		{"empty", "", 0},
		{"api key", e.creds.APIKey, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.svc.AuthenticateManagement(e.ctx, tc.key)
			if tc.want == 0 {
				wantCode(t, err, licensing.EUnauthorized)
				return
			}
			wantCode(t, err, "")
			if got.CompanyID != tc.want || got.ID == 0 {
				t.Errorf("company %d (key %d), want %d", got.CompanyID, got.ID, tc.want)
			}
		})
	}
}

func TestInitOnce(t *testing.T) {
	e := newEnv(t)
	_, err := e.svc.Init(e.ctx, "again", "rsa-2048")
	if !errors.Is(err, licensing.ErrAlreadyInitialised) {
		t.Errorf("second Init: %v, want ErrAlreadyInitialised", err)
	}
	k, err := e.svc.APIKeyByKey(e.ctx, e.creds.APIKey)
	wantCode(t, err, "")
	if k.CompanyID != e.cid || k.SharedKey != e.creds.SharedKey || k.Revoked || k.ReadOnly {
		t.Errorf("api key %+v does not match the credentials", k)
	}
	if pub, err := e.svc.PublicKey(e.ctx, e.cid); err != nil || pub != e.creds.PublicKey || !strings.Contains(pub, "PUBLIC KEY") {
		t.Errorf("public key %q, %v", pub, err)
	}
}

func TestPasswordHashing(t *testing.T) {
	h1, err := licensing.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	h2, err := licensing.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if h1 == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	if strings.Contains(h1, "correct horse") {
		t.Error("hash contains the password")
	}
	parts := strings.Split(h1, "$")
	cases := []struct {
		name, hash, password string
		want                 bool
	}{
		{"round trip", h1, "correct horse", true},
		{"second salt", h2, "correct horse", true},
		{"wrong password", h1, "correct horsE", false},
		{"empty password", h1, "", false},
		{"empty hash", "", "correct horse", false},
		{"other scheme", "bcrypt$" + strings.Join(parts[1:], "$"), "correct horse", false},
		{"zero iterations", strings.Join([]string{parts[0], "0", parts[2], parts[3]}, "$"), "correct horse", false},
		{"fewer iterations", strings.Join([]string{parts[0], "1000", parts[2], parts[3]}, "$"), "correct horse", false},
		{"other salt", strings.Join([]string{parts[0], parts[1], strings.Split(h2, "$")[2], parts[3]}, "$"), "correct horse", false},
		{"bad base64", strings.Join([]string{parts[0], parts[1], "!!", parts[3]}, "$"), "correct horse", false},
		{"missing part", strings.Join(parts[:3], "$"), "correct horse", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := licensing.VerifyPassword(tc.hash, tc.password); got != tc.want {
				t.Errorf("VerifyPassword = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestNoOpChangesRecordNothing: a change to what a license or device already is answers
// as a change would and records no audit entry (as a repeated revocation or reset does).
func TestNoOpChangesRecordNothing(t *testing.T) {
	e := newEnv(t)
	code := e.product(licensing.AuthLicenseKey).ShortCode
	l := e.keyLicense(code, e.uniq("NOOP"), 2)
	e.activate(licensing.Identity{Product: code, LicenseKey: l.LicenseKey, HardwareID: "hw-noop"})
	dev := e.devices(l.ID)[0]
	entries := func(objectType string, id int64) int64 {
		t.Helper()
		_, n, err := e.svc.AuditLog(e.ctx, e.cid, licensing.AuditFilter{Page: licensing.Page{Limit: 1}, ObjectType: objectType, ObjectID: id})
		wantCode(t, err, "")
		return n
	}
	on, off, two, three := true, false, int64(2), int64(3)
	for _, tc := range []struct {
		name  string
		patch licensing.LicensePatch
		added int64 // audit entries
	}{
		{"enable an enabled license", licensing.LicensePatch{Enabled: &on}, 0},
		{"an empty patch", licensing.LicensePatch{}, 0},
		{"the same max_activations", licensing.LicensePatch{MaxActivations: &two}, 0},
		{"a new max_activations", licensing.LicensePatch{MaxActivations: &three}, 1},
		{"disable", licensing.LicensePatch{Enabled: &off}, 1},
		{"disable again", licensing.LicensePatch{Enabled: &off}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := entries("license", l.ID)
			_, err := e.svc.UpdateLicense(e.ctx, e.cid, l.ID, tc.patch)
			wantCode(t, err, "")
			if got := entries("license", l.ID) - n; got != tc.added {
				t.Errorf("%d audit entries added, want %d", got, tc.added)
			}
		})
	}
	for _, tc := range []struct {
		name  string
		on    bool
		added int64
	}{{"blacklist", true, 1}, {"blacklist again", true, 0}, {"clear", false, 1}, {"clear again", false, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			n := entries("device", dev.ID)
			d, err := e.svc.SetBlacklisted(e.ctx, e.cid, dev.ID, tc.on)
			wantCode(t, err, "")
			if d.Blacklisted != tc.on {
				t.Errorf("answered blacklisted %v", d.Blacklisted)
			}
			if got := entries("device", dev.ID) - n; got != tc.added {
				t.Errorf("%d audit entries added, want %d", got, tc.added)
			}
		})
	}
}
