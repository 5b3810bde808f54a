package licensing_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/sqlite"
)

// t0 is where every test clock starts.
var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable clock, safe for the concurrent tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is one service on a fresh SQLite database with one initialised company.
type env struct {
	t     testing.TB
	ctx   context.Context
	svc   *licensing.Service
	clock *clock
	creds licensing.Credentials
	cid   int64         // the company made by Init
	seq   *atomic.Int64 // shared by every with() copy
}

// newEnv opens a SQLite store in t.TempDir() and initialises a company.
func newEnv(t testing.TB, opts ...licensing.Option) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvOn(t, st, opts...)
}

// newEnvOn is newEnv on a store of the caller's.
func newEnvOn(t testing.TB, st licensing.Store, opts ...licensing.Option) *env {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: t0}
	svc := licensing.NewService(st, append([]licensing.Option{licensing.WithClock(c.Now)}, opts...)...)
	creds, err := svc.Init(ctx, "c", "rsa-2048")
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	return &env{t: t, ctx: ctx, svc: svc, clock: c, creds: creds, cid: creds.CompanyID, seq: new(atomic.Int64)}
}

// with returns the same env reporting to t (a subtest), so helpers fail the right test.
func (e *env) with(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

// uniq returns a name unique within the env, so subtests can share one database.
func (e *env) uniq(prefix string) string { return fmt.Sprintf("%s-%d", prefix, e.seq.Add(1)) }

// product creates a product of the env's company; method is licensing.AuthLicenseKey or AuthUser.
func (e *env) product(method string) licensing.Product {
	e.t.Helper()
	code := e.uniq("p")
	p, err := e.svc.CreateProduct(e.ctx, e.cid, licensing.ProductInput{Name: code, ShortCode: code, AuthorizationMethod: method})
	if err != nil {
		e.t.Fatalf("create product: %v", err)
	}
	return p
}

// license creates one license of product code in its own order.
func (e *env) license(code string, li licensing.LicenseInput) licensing.License {
	e.t.Helper()
	o, err := e.svc.CreateOrder(e.ctx, e.cid, licensing.OrderInput{StoreID: e.uniq("o"),
		Items: []licensing.OrderItem{{ProductCode: code, Licenses: []licensing.LicenseInput{li}}}})
	if err != nil {
		e.t.Fatalf("create order: %v", err)
	}
	return o.Licenses[0].License
}

// keyLicense creates a key-based license with an explicit key and max_activations.
func (e *env) keyLicense(code, key string, max int64) licensing.License {
	e.t.Helper()
	return e.license(code, licensing.LicenseInput{Key: key, MaxActivations: max})
}

// userLicense creates a user-based license with one user and max_activations.
func (e *env) userLicense(code, email, password string, max int64) licensing.License {
	e.t.Helper()
	return e.license(code, licensing.LicenseInput{MaxActivations: max, Users: []licensing.UserInput{{Email: email, Password: password}}})
}

// keyID names a key-based license on a device.
func keyID(product, key, hw string) licensing.Identity {
	return licensing.Identity{Product: product, LicenseKey: key, HardwareID: hw}
}

// userID names a user-based license on a device.
func userID(product, user, password, hw string) licensing.Identity {
	return licensing.Identity{Product: product, Username: user, Password: password, HardwareID: hw}
}

func (e *env) activate(id licensing.Identity, vars ...licensing.VarInput) licensing.LicenseState {
	e.t.Helper()
	st, err := e.svc.Activate(e.ctx, e.cid, licensing.ActivateRequest{Identity: id, Variables: vars})
	if err != nil {
		e.t.Fatalf("activate %+v: %v", id, err)
	}
	return st
}

func (e *env) deactivate(id licensing.Identity) {
	e.t.Helper()
	if err := e.svc.Deactivate(e.ctx, e.cid, id, nil); err != nil {
		e.t.Fatalf("deactivate %+v: %v", id, err)
	}
}

func (e *env) blacklist(deviceID int64) {
	e.t.Helper()
	if _, err := e.svc.SetBlacklisted(e.ctx, e.cid, deviceID, true); err != nil {
		e.t.Fatalf("blacklist: %v", err)
	}
}

func (e *env) disable(licenseID int64) {
	e.t.Helper()
	off := false
	if _, err := e.svc.UpdateLicense(e.ctx, e.cid, licenseID, licensing.LicensePatch{Enabled: &off}); err != nil {
		e.t.Fatalf("disable: %v", err)
	}
}

func (e *env) reset(licenseID int64) {
	e.t.Helper()
	if _, err := e.svc.ResetLicense(e.ctx, e.cid, licenseID); err != nil {
		e.t.Fatalf("reset: %v", err)
	}
}

// lic re-reads a license.
func (e *env) lic(id int64) licensing.License {
	e.t.Helper()
	d, err := e.svc.License(e.ctx, e.cid, id)
	if err != nil {
		e.t.Fatalf("license %d: %v", id, err)
	}
	return d.License
}

// devices returns every device of a license, ordered by id.
func (e *env) devices(licenseID int64) []licensing.Device {
	e.t.Helper()
	ds, _, err := e.svc.ListDevices(e.ctx, e.cid, licensing.DeviceFilter{LicenseID: licenseID, Page: licensing.Page{Limit: 10000}})
	if err != nil {
		e.t.Fatalf("list devices: %v", err)
	}
	return ds
}

// activeDevices counts a license's active devices.
func (e *env) activeDevices(licenseID int64) int64 {
	e.t.Helper()
	var n int64
	for _, d := range e.devices(licenseID) {
		if d.Active {
			n++
		}
	}
	return n
}

// device returns the license's device for hardwareID.
func (e *env) device(licenseID int64, hw string) licensing.Device {
	e.t.Helper()
	for _, d := range e.devices(licenseID) {
		if d.HardwareID == hw {
			return d
		}
	}
	e.t.Fatalf("no device %q on license %d", hw, licenseID)
	return licensing.Device{}
}

// vars returns a device's variables as name → value.
func (e *env) vars(deviceID int64) map[string]string {
	e.t.Helper()
	vs, err := e.svc.DeviceVariables(e.ctx, e.cid, deviceID)
	if err != nil {
		e.t.Fatalf("device variables: %v", err)
	}
	m := map[string]string{}
	for _, v := range vs {
		if _, dup := m[v.Name]; dup {
			e.t.Errorf("variable %q stored twice on device %d", v.Name, deviceID)
		}
		m[v.Name] = v.Value
	}
	return m
}

// wantCode fails unless err carries the wire code want ("" means no error).
func wantCode(t testing.TB, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v (code %s)", err, licensing.ErrorCode(err))
		}
		return
	}
	if err == nil {
		t.Fatalf("got no error, want %s", want)
	}
	if got := licensing.ErrorCode(err); got != want {
		t.Fatalf("got %s (%v), want %s", got, err, want)
	}
}

// names returns the variable names in order.
func names(vs []licensing.Variable) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Name
	}
	return out
}

func ptr[T any](v T) *T { return &v }
