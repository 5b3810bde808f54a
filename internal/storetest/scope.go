package storetest

import (
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

var scopeTests = []test{
	{"Lookups", testScopeLookups},
	{"Lists", testScopeLists},
	{"Writes", testScopeWrites},
}

// Two tenants with identical names everywhere (short code "app", store id "order-1",
// key "KEY-1", user "user@example.com", hardware id "hw-1"): company a asks for b's
// rows by id and by name.

func testScopeLookups(t *testing.T, e *env) {
	a, b := e.tenant("a"), e.tenant("b")
	cid := a.Company.ID
	notFound := []struct {
		name  string
		write bool
		fn    func(tx licensing.Tx) error
	}{
		{"Product", false, func(tx licensing.Tx) error { _, err := tx.Product(e.ctx, cid, b.Product.ID); return err }},
		{"Order", false, func(tx licensing.Tx) error { _, err := tx.Order(e.ctx, cid, b.Order.ID); return err }},
		{"License", false, func(tx licensing.Tx) error { _, err := tx.License(e.ctx, cid, b.License.ID); return err }},
		{"LockLicense", true, func(tx licensing.Tx) error { _, err := tx.LockLicense(e.ctx, cid, b.License.ID); return err }},
		{"Device", false, func(tx licensing.Tx) error { _, err := tx.Device(e.ctx, cid, b.Device.ID); return err }},
		{"APIKeyInfo", false, func(tx licensing.Tx) error { _, err := tx.APIKeyInfo(e.ctx, cid, b.APIKey.ID); return err }},
	}
	for _, tc := range notFound {
		run := e.st.Read
		if tc.write {
			run = e.st.Write
		}
		isErr(t, tc.name+" of another company", run(e.ctx, tc.fn), licensing.ErrNoRows)
	}

	e.read(func(tx licensing.Tx) error {
		p, err := tx.ProductByCode(e.ctx, cid, "app")
		if err != nil {
			return err
		}
		equal(t, "ProductByCode", p, a.Product)
		o, err := tx.OrderByStoreID(e.ctx, cid, "order-1")
		if err != nil {
			return err
		}
		equal(t, "OrderByStoreID", o, a.Order)
		ls, err := tx.LicensesByKey(e.ctx, cid, a.Product.ID, "KEY-1")
		if err != nil {
			return err
		}
		equal(t, "LicensesByKey", ls, []licensing.License{a.License})
		if ls, err = tx.LicensesByKey(e.ctx, cid, b.Product.ID, "KEY-1"); err != nil {
			return err
		}
		if len(ls) != 0 {
			t.Errorf("LicensesByKey(a, b's product) = %s, want none", show(ls))
		}
		lu, err := tx.LicensesByUser(e.ctx, cid, a.Product.ID, "user@example.com")
		if err != nil {
			return err
		}
		equal(t, "LicensesByUser", lu, []licensing.LicenseWithUser{{License: a.License, User: a.User}})
		if lu, err = tx.LicensesByUser(e.ctx, cid, b.Product.ID, "user@example.com"); err != nil {
			return err
		}
		if len(lu) != 0 {
			t.Errorf("LicensesByUser(a, b's product) = %s, want none", show(lu))
		}
		return nil
	})
}

func testScopeLists(t *testing.T, e *env) {
	a, b := e.tenant("a"), e.tenant("b")
	e.device(b.Company.ID, b.License.ID, "hw-bl", true, true) // b has a blacklisted device, a none
	only := func(name string, got []int64, want ...int64) {
		t.Helper()
		if want == nil {
			want = []int64{}
		}
		equal(t, name, got, want)
	}
	cid := a.Company.ID
	page := licensing.Page{Limit: 100}
	e.read(func(tx licensing.Tx) error {
		ps, n, err := tx.ListProducts(e.ctx, cid, page)
		if err != nil {
			return err
		}
		only("ListProducts", ids(ps), a.Product.ID)
		if n != 1 {
			t.Errorf("ListProducts total = %d, want 1", n)
		}

		for _, f := range []struct {
			name string
			f    licensing.LicenseFilter
			want []int64
		}{
			{"no filter", licensing.LicenseFilter{}, []int64{a.License.ID}},
			{"license_key", licensing.LicenseFilter{LicenseKey: "KEY-1"}, []int64{a.License.ID}},
			{"product_short_code", licensing.LicenseFilter{ProductShortCode: "app"}, []int64{a.License.ID}},
		} {
			f.f.Page = page
			ls, n, err := tx.ListLicenses(e.ctx, cid, f.f)
			if err != nil {
				return err
			}
			only("ListLicenses "+f.name, ids(ls), f.want...)
			if n != int64(len(f.want)) {
				t.Errorf("ListLicenses %s total = %d, want %d", f.name, n, len(f.want))
			}
		}

		for _, f := range []struct {
			name string
			f    licensing.DeviceFilter
			want []int64
		}{
			{"no filter", licensing.DeviceFilter{}, []int64{a.Device.ID}},
			{"own license_id", licensing.DeviceFilter{LicenseID: a.License.ID}, []int64{a.Device.ID}},
			{"other company's license_id", licensing.DeviceFilter{LicenseID: b.License.ID}, nil},
			{"hardware_id", licensing.DeviceFilter{HardwareID: "hw-1"}, []int64{a.Device.ID}},
			{"other company's hardware_id", licensing.DeviceFilter{HardwareID: "hw-bl"}, nil},
			{"blacklisted=true", licensing.DeviceFilter{Blacklisted: ptr(true)}, nil},
			{"blacklisted=false", licensing.DeviceFilter{Blacklisted: ptr(false)}, []int64{a.Device.ID}},
		} {
			f.f.Page = page
			ds, n, err := tx.ListDevices(e.ctx, cid, f.f)
			if err != nil {
				return err
			}
			only("ListDevices "+f.name, ids(ds), f.want...)
			if n != int64(len(f.want)) {
				t.Errorf("ListDevices %s total = %d, want %d", f.name, n, len(f.want))
			}
		}
		return nil
	})
}

func testScopeWrites(t *testing.T, e *env) {
	a, b := e.tenant("a"), e.tenant("b")
	cid := a.Company.ID

	isErr(t, "RevokeAPIKey of another company", e.st.Write(e.ctx, func(tx licensing.Tx) error {
		_, err := tx.RevokeAPIKey(e.ctx, cid, b.APIKey.ID)
		return err
	}), licensing.ErrNoRows)
	equal(t, "b's api key", e.getAPIKey(b.APIKey.Key), b.APIKey)

	isErr(t, "UpdateLicense of another company", e.st.Write(e.ctx, func(tx licensing.Tx) error {
		l := b.License
		l.CompanyID = cid
		l.Enabled, l.MaxActivations, l.UpdatedAt = false, 99, at(99)
		return tx.UpdateLicense(e.ctx, &l)
	}), licensing.ErrNoRows)
	equal(t, "b's license", e.getLicense(b.Company.ID, b.License.ID), b.License)

	isErr(t, "UpdateDevice of another company", e.st.Write(e.ctx, func(tx licensing.Tx) error {
		d := b.Device
		d.CompanyID = cid
		d.Blacklisted, d.Active, d.UpdatedAt = true, false, at(99)
		return tx.UpdateDevice(e.ctx, &d)
	}), licensing.ErrNoRows)
	equal(t, "b's device", e.getDevice(b.Company.ID, b.Device.ID), b.Device)

	// a's own rows are untouched too.
	equal(t, "a's api key", e.getAPIKey(a.APIKey.Key), a.APIKey)
	equal(t, "a's license", e.getLicense(cid, a.License.ID), a.License)
	equal(t, "a's device", e.getDevice(cid, a.Device.ID), a.Device)
}
