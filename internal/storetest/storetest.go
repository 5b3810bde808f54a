// Package storetest is the conformance suite every licensing.Store passes. A store's
// test file calls Run with a function that opens a fresh, empty, migrated store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, open, storetest.WithReopen(openReopenable))
//	}
//
// Every subtest opens its own store through that function, so subtests share nothing
// and a failure names one behaviour. The suite talks to the store only through
// licensing.Store and licensing.Tx, except where it needs raw SQL (ids near 2^53,
// schema_migrations): there it uses the store's DB() *sql.DB when it has one.
package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
)

// Opener opens a fresh, empty, migrated store and closes it when t ends.
type Opener func(t *testing.T) licensing.Store

// Reopenable opens a fresh, empty, migrated store (closed when t ends) and also returns
// a function that opens that same database again, as a restarted process would. The
// suite closes the stores that function returns.
type Reopenable func(t *testing.T) (licensing.Store, func(context.Context) (licensing.Store, error))

// Option adds optional parts to the suite.
type Option func(*suite)

// WithReopen enables the migration checks, which need to open one database twice.
func WithReopen(r Reopenable) Option { return func(s *suite) { s.reopen = r } }

type suite struct {
	open   Opener
	reopen Reopenable
}

// Run runs the conformance suite against the stores open makes.
func Run(t *testing.T, open Opener, opts ...Option) {
	s := &suite{open: open}
	for _, o := range opts {
		o(s)
	}
	groups := []struct {
		name  string
		tests []test
	}{
		{"RoundTrip", roundTripTests},
		{"Errors", errorTests},
		{"Scope", scopeTests},
		{"List", listTests},
		{"Variables", variableTests},
		{"Tx", txTests},
		{"Concurrency", concurrencyTests},
		{"Audit", auditTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, s.env(t)) })
			}
		})
	}
	t.Run("Migrations", func(t *testing.T) {
		if s.reopen == nil {
			t.Skip("migration checks skipped: pass storetest.WithReopen to run them")
		}
		for _, tc := range migrationTests {
			t.Run(tc.name, func(t *testing.T) { tc.fn(t, s.reopen) })
		}
	})
}

type test struct {
	name string
	fn   func(t *testing.T, e *env)
}

// env is one fresh store plus the helpers the tests share.
type env struct {
	t   *testing.T
	ctx context.Context
	st  licensing.Store
	seq int
}

func (s *suite) env(t *testing.T) *env {
	return &env{t: t, ctx: context.Background(), st: s.open(t)}
}

// dber is what both SQL stores offer for copying and tests.
type dber interface{ DB() *sql.DB }

// db returns the store's *sql.DB, or skips the test when it has none.
func (e *env) db() *sql.DB {
	e.t.Helper()
	d, ok := e.st.(dber)
	if !ok {
		e.t.Skipf("%T has no DB() *sql.DB", e.st)
	}
	return d.DB()
}

// write runs fn in a Write transaction and fails the test on error.
func (e *env) write(fn func(tx licensing.Tx) error) {
	e.t.Helper()
	if err := e.st.Write(e.ctx, fn); err != nil {
		e.t.Fatalf("write: %v", err)
	}
}

// read runs fn in a Read transaction and fails the test on error.
func (e *env) read(fn func(tx licensing.Tx) error) {
	e.t.Helper()
	if err := e.st.Read(e.ctx, fn); err != nil {
		e.t.Fatalf("read: %v", err)
	}
}

// uniq returns a name unique within the env.
func (e *env) uniq(prefix string) string {
	e.seq++
	return fmt.Sprintf("%s-%d", prefix, e.seq)
}

// t0 is a millisecond-precise UTC instant; every stored time in the suite derives from it.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

// at returns t0 plus n milliseconds.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

func ptr[T any](v T) *T { return &v }

// maxID is the largest integer a JavaScript client reads exactly (2^53-1).
const maxID = 1<<53 - 1

func (e *env) company(name string) licensing.Company {
	e.t.Helper()
	c := licensing.Company{Name: name, CreatedAt: at(1), SigningKeyPEM: "priv-" + name, PublicKeyPEM: "pub-" + name}
	e.write(func(tx licensing.Tx) error { return tx.CreateCompany(e.ctx, &c) })
	return c
}

func (e *env) apiKey(companyID int64) licensing.APIKey {
	e.t.Helper()
	k := licensing.APIKey{CompanyID: companyID, Key: e.uniq("api"), SharedKey: "shared", CreatedAt: at(2)}
	e.write(func(tx licensing.Tx) error { return tx.CreateAPIKey(e.ctx, &k) })
	return k
}

func (e *env) product(companyID int64, code, method string) licensing.Product {
	e.t.Helper()
	p := licensing.Product{CompanyID: companyID, Name: "Product " + code, ShortCode: code, AuthorizationMethod: method, CreatedAt: at(3), UpdatedAt: at(4)}
	e.write(func(tx licensing.Tx) error { return tx.CreateProduct(e.ctx, &p) })
	return p
}

func (e *env) order(companyID int64, storeID string) licensing.Order {
	e.t.Helper()
	o := licensing.Order{CompanyID: companyID, StoreID: storeID, CustomerEmail: "buyer@example.com", CreatedAt: at(5)}
	e.write(func(tx licensing.Tx) error { return tx.CreateOrder(e.ctx, &o) })
	return o
}

func (e *env) license(companyID, productID, orderID int64, key string) licensing.License {
	e.t.Helper()
	l := licensing.License{CompanyID: companyID, ProductID: productID, OrderID: orderID, LicenseKey: key,
		LicenseType: licensing.TypePerpetual, Enabled: true, Active: true, MaxActivations: 3, CreatedAt: at(6), UpdatedAt: at(7)}
	e.write(func(tx licensing.Tx) error { return tx.CreateLicense(e.ctx, &l) })
	return l
}

func (e *env) user(companyID, licenseID int64, email string) licensing.LicenseUser {
	e.t.Helper()
	u := licensing.LicenseUser{CompanyID: companyID, LicenseID: licenseID, Email: email, PasswordHash: "hash-" + email, CreatedAt: at(8)}
	e.write(func(tx licensing.Tx) error { return tx.CreateLicenseUser(e.ctx, &u) })
	return u
}

func (e *env) device(companyID, licenseID int64, hw string, active, blacklisted bool) licensing.Device {
	e.t.Helper()
	d := licensing.Device{CompanyID: companyID, LicenseID: licenseID, HardwareID: hw, Active: active, Blacklisted: blacklisted,
		TimeActivated: ptr(at(9)), CreatedAt: at(9), UpdatedAt: at(9)}
	e.write(func(tx licensing.Tx) error { return tx.CreateDevice(e.ctx, &d) })
	return d
}

// tenant is one company with one row of each kind, all named alike across tenants so
// scoping tests can ask one company for another's names.
type tenant struct {
	Company licensing.Company
	APIKey  licensing.APIKey
	Product licensing.Product
	Order   licensing.Order
	License licensing.License
	User    licensing.LicenseUser
	Device  licensing.Device
}

func (e *env) tenant(name string) tenant {
	e.t.Helper()
	var tn tenant
	tn.Company = e.company(name)
	cid := tn.Company.ID
	tn.APIKey = e.apiKey(cid)
	tn.Product = e.product(cid, "app", licensing.AuthLicenseKey)
	tn.Order = e.order(cid, "order-1")
	tn.License = e.license(cid, tn.Product.ID, tn.Order.ID, "KEY-1")
	tn.User = e.user(cid, tn.License.ID, "user@example.com")
	tn.Device = e.device(cid, tn.License.ID, "hw-1", true, false)
	return tn
}

// getLicense, getDevice and getAPIKey re-read a row in a fresh Read transaction.
func (e *env) getLicense(companyID, id int64) licensing.License {
	e.t.Helper()
	var l licensing.License
	e.read(func(tx licensing.Tx) (err error) { l, err = tx.License(e.ctx, companyID, id); return err })
	return l
}

func (e *env) getDevice(companyID, id int64) licensing.Device {
	e.t.Helper()
	var d licensing.Device
	e.read(func(tx licensing.Tx) (err error) { d, err = tx.Device(e.ctx, companyID, id); return err })
	return d
}

func (e *env) getAPIKey(key string) licensing.APIKey {
	e.t.Helper()
	var k licensing.APIKey
	e.read(func(tx licensing.Tx) (err error) { k, err = tx.APIKeyByKey(e.ctx, key); return err })
	return k
}

// equal fails the test unless got and want are deeply equal (times must be UTC and
// millisecond-exact; nil and non-nil time pointers differ).
func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %s\n want %s", what, show(got), show(want))
	}
}

// show renders a value with pointers followed (time pointers print as times).
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	if string(b) == "null" {
		return fmt.Sprintf("%#v", v) // tells a nil slice from an empty one
	}
	return string(b)
}

// isErr fails the test unless errors.Is(err, target).
func isErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// ids returns the IDs of rows in order.
func ids[T any](rows []T) []int64 {
	out := []int64{}
	for _, r := range rows {
		out = append(out, reflect.ValueOf(r).FieldByName("ID").Int())
	}
	return out
}
