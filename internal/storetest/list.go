package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

var listTests = []test{
	{"Products", testListProducts},
	{"Licenses", testListLicenses},
	{"Devices", testListDevices},
	{"APIKeys", testListAPIKeys},
}

// pages are the (limit, offset) pairs every list is read with, beyond one big page.
var pages = []licensing.Page{{Limit: 1}, {Limit: 4}, {Limit: 4, Offset: 4}, {Limit: 4, Offset: 8}, {Limit: 5, Offset: 3}, {Limit: 10, Offset: 1000}}

// window is what page p of want (all matching ids, ascending) must contain.
func window(want []int64, p licensing.Page) []int64 {
	lo := min(p.Offset, len(want))
	hi := min(p.Offset+p.Limit, len(want))
	return append([]int64{}, want[lo:hi]...)
}

// checkList compares one listing with the full expected id list: rows ordered by id,
// the right window for the page, the total counting every match.
func checkList(t *testing.T, name string, p licensing.Page, gotIDs []int64, total int64, want []int64) {
	t.Helper()
	equal(t, fmt.Sprintf("%s limit %d offset %d", name, p.Limit, p.Offset), gotIDs, window(want, p))
	if total != int64(len(want)) {
		t.Errorf("%s limit %d offset %d: total %d, want %d", name, p.Limit, p.Offset, total, len(want))
	}
}

func testListProducts(t *testing.T, e *env) {
	a, b := e.company("a"), e.company("b")
	var want []int64
	for i := range 13 {
		want = append(want, e.product(a.ID, fmt.Sprint("p", i), licensing.AuthLicenseKey).ID)
		if i%4 == 0 { // interleave another company's rows
			e.product(b.ID, fmt.Sprint("p", i), licensing.AuthLicenseKey)
		}
	}
	for _, p := range append(pages, licensing.Page{Limit: 100}) {
		var got []licensing.Product
		var n int64
		e.read(func(tx licensing.Tx) (err error) { got, n, err = tx.ListProducts(e.ctx, a.ID, p); return err })
		checkList(t, "ListProducts", p, ids(got), n, want)
	}
}

func testListLicenses(t *testing.T, e *env) {
	a, b := e.company("a"), e.company("b")
	alpha := e.product(a.ID, "alpha", licensing.AuthLicenseKey)
	beta := e.product(a.ID, "beta", licensing.AuthLicenseKey)
	users := e.product(a.ID, "users", licensing.AuthUser)
	bAlpha := e.product(b.ID, "alpha", licensing.AuthLicenseKey)
	oa, ob := e.order(a.ID, "o"), e.order(b.ID, "o")

	type row struct {
		id      int64
		key     string
		product string
	}
	var rows []row
	for i := range 12 {
		p := alpha
		if i%3 == 0 {
			p = beta
		}
		key := fmt.Sprintf("K-%02d", i)
		rows = append(rows, row{e.license(a.ID, p.ID, oa.ID, key).ID, key, p.ShortCode})
		if i%5 == 0 {
			e.license(b.ID, bAlpha.ID, ob.ID, key)
		}
	}
	for range 2 {
		rows = append(rows, row{e.license(a.ID, users.ID, oa.ID, "").ID, "", users.ShortCode})
	}

	filters := []licensing.LicenseFilter{
		{},
		{LicenseKey: "K-04"},
		{LicenseKey: "k-04"}, // keys compare exactly
		{LicenseKey: "K-99"},
		{ProductShortCode: "alpha"},
		{ProductShortCode: "beta"},
		{ProductShortCode: "users"},
		{ProductShortCode: "gamma"},
		{LicenseKey: "K-03", ProductShortCode: "beta"},
		{LicenseKey: "K-04", ProductShortCode: "beta"},
	}
	for _, f := range filters {
		var want []int64
		for _, r := range rows {
			if (f.LicenseKey == "" || r.key == f.LicenseKey) && (f.ProductShortCode == "" || r.product == f.ProductShortCode) {
				want = append(want, r.id)
			}
		}
		name := fmt.Sprintf("ListLicenses key=%q product=%q", f.LicenseKey, f.ProductShortCode)
		for _, p := range append(pages, licensing.Page{Limit: 100}) {
			f.Page = p
			var got []licensing.License
			var n int64
			e.read(func(tx licensing.Tx) (err error) { got, n, err = tx.ListLicenses(e.ctx, a.ID, f); return err })
			checkList(t, name, p, ids(got), n, want)
		}
	}
}

func testListDevices(t *testing.T, e *env) {
	a, b := e.company("a"), e.company("b")
	p := e.product(a.ID, "app", licensing.AuthLicenseKey)
	bp := e.product(b.ID, "app", licensing.AuthLicenseKey)
	o, bo := e.order(a.ID, "o"), e.order(b.ID, "o")
	l1, l2, l3 := e.license(a.ID, p.ID, o.ID, "L1"), e.license(a.ID, p.ID, o.ID, "L2"), e.license(a.ID, p.ID, o.ID, "L3")
	bl := e.license(b.ID, bp.ID, bo.ID, "L1")

	type row struct {
		id, license int64
		hw          string
		blacklisted bool
	}
	var rows []row
	add := func(l licensing.License, hw string, blacklisted bool) {
		d := e.device(a.ID, l.ID, hw, !blacklisted, blacklisted)
		rows = append(rows, row{d.ID, l.ID, hw, blacklisted})
	}
	for i := range 6 {
		add(l1, fmt.Sprint("h", i), i%3 == 1)
		if i < 3 {
			add(l2, fmt.Sprint("h", i), i == 2)
		}
		if i%2 == 0 {
			e.device(b.ID, bl.ID, fmt.Sprint("h", i), true, i == 0)
		}
	}

	filters := []licensing.DeviceFilter{
		{},
		{LicenseID: l1.ID},
		{LicenseID: l2.ID},
		{LicenseID: l3.ID},
		{HardwareID: "h0"},
		{HardwareID: "h5"},
		{HardwareID: "H0"},
		{Blacklisted: ptr(true)},
		{Blacklisted: ptr(false)},
		{LicenseID: l1.ID, HardwareID: "h1"},
		{LicenseID: l2.ID, HardwareID: "h5"},
		{LicenseID: l1.ID, Blacklisted: ptr(true)},
		{HardwareID: "h2", Blacklisted: ptr(false)},
		{LicenseID: l2.ID, HardwareID: "h2", Blacklisted: ptr(true)},
	}
	for _, f := range filters {
		var want []int64
		for _, r := range rows {
			if (f.LicenseID == 0 || r.license == f.LicenseID) && (f.HardwareID == "" || r.hw == f.HardwareID) &&
				(f.Blacklisted == nil || r.blacklisted == *f.Blacklisted) {
				want = append(want, r.id)
			}
		}
		bl := "any"
		if f.Blacklisted != nil {
			bl = fmt.Sprint(*f.Blacklisted)
		}
		name := fmt.Sprintf("ListDevices license=%d hardware_id=%q blacklisted=%s", f.LicenseID, f.HardwareID, bl)
		for _, p := range append(pages, licensing.Page{Limit: 100}) {
			f.Page = p
			var got []licensing.Device
			var n int64
			e.read(func(tx licensing.Tx) (err error) { got, n, err = tx.ListDevices(e.ctx, a.ID, f); return err })
			checkList(t, name, p, ids(got), n, want)
		}
	}
}

// testListAPIKeys: a company's keys by id, revoked ones with the time of their first
// api_key.revoke audit entry (none for a key whose revocation was not recorded, nor for
// one not revoked whatever the log says).
func testListAPIKeys(t *testing.T, e *env) {
	a, b := e.company("a"), e.company("b")
	var want []licensing.APIKeyInfo
	for i := range 13 {
		want = append(want, e.apiKey(a.ID).Info())
		if i%4 == 0 { // interleave another company's rows
			e.apiKey(b.ID)
		}
	}
	revoke := func(k *licensing.APIKeyInfo, entries ...int) {
		e.write(func(tx licensing.Tx) error {
			if _, err := tx.RevokeAPIKey(e.ctx, a.ID, k.ID); err != nil {
				return err
			}
			for _, n := range entries {
				err := tx.AppendAudit(e.ctx, &licensing.AuditEntry{CompanyID: a.ID, At: at(n), Actor: "cli",
					Action: licensing.AuditAPIKeyRevoke, ObjectType: "api_key", ObjectID: k.ID})
				if err != nil {
					return err
				}
			}
			return nil
		})
		k.Revoked = true
		if len(entries) > 0 {
			k.RevokedAt = ptr(at(slices.Min(entries)))
		}
	}
	revoke(&want[1], 100)
	revoke(&want[2], 300, 200) // an older version recorded two: the first counts
	revoke(&want[3])           // revoked before the audit log existed
	e.write(func(tx licensing.Tx) error {
		// Entries that are not this key's revocation: another action, another object
		// type with the same id, another company's log.
		for _, en := range []licensing.AuditEntry{
			{CompanyID: a.ID, Action: licensing.AuditAPIKeyCreate, ObjectType: "api_key", ObjectID: want[4].ID},
			{CompanyID: a.ID, Action: licensing.AuditAPIKeyRevoke, ObjectType: "license", ObjectID: want[5].ID},
			{CompanyID: b.ID, Action: licensing.AuditAPIKeyRevoke, ObjectType: "api_key", ObjectID: want[6].ID},
		} {
			en.At, en.Actor = at(400), "cli"
			if err := tx.AppendAudit(e.ctx, &en); err != nil {
				return err
			}
		}
		return nil
	})
	var wantIDs []int64
	for _, k := range want {
		wantIDs = append(wantIDs, k.ID)
	}
	for _, p := range append(pages, licensing.Page{Limit: 100}) {
		var got []licensing.APIKeyInfo
		var n int64
		e.read(func(tx licensing.Tx) (err error) { got, n, err = tx.ListAPIKeys(e.ctx, a.ID, p); return err })
		checkList(t, "ListAPIKeys", p, ids(got), n, wantIDs)
		if p.Limit == 100 {
			equal(t, "ListAPIKeys rows", got, want)
		}
	}
	for _, k := range want[:4] {
		var got licensing.APIKeyInfo
		e.read(func(tx licensing.Tx) (err error) { got, err = tx.APIKeyInfo(e.ctx, a.ID, k.ID); return err })
		equal(t, "APIKeyInfo", got, k)
	}
}
