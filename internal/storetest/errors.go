package storetest

import (
	"errors"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

var errorTests = []test{
	{"MissingRows", testMissingRows},
	{"EmptyResults", testEmptyResults},
	{"Duplicates", testDuplicates},
}

// missing is an id no row has.
const missing = 987_654_321

func testMissingRows(t *testing.T, e *env) {
	tn := e.tenant("a") // so the tables are not empty
	cid := tn.Company.ID
	cases := []struct {
		name  string
		write bool
		fn    func(tx licensing.Tx) error
	}{
		{"Company", false, func(tx licensing.Tx) error { _, err := tx.Company(e.ctx, missing); return err }},
		{"APIKeyRevoked", false, func(tx licensing.Tx) error { _, err := tx.APIKeyRevoked(e.ctx, missing); return err }},
		{"APIKeyByKey", false, func(tx licensing.Tx) error { _, err := tx.APIKeyByKey(e.ctx, "no-such-key"); return err }},
		{"ManagementKeyByPrefix", false, func(tx licensing.Tx) error { _, err := tx.ManagementKeyByPrefix(e.ctx, "nopfx"); return err }},
		{"Product", false, func(tx licensing.Tx) error { _, err := tx.Product(e.ctx, cid, missing); return err }},
		{"ProductByCode", false, func(tx licensing.Tx) error { _, err := tx.ProductByCode(e.ctx, cid, "nope"); return err }},
		{"ProductByCode differs in case", false, func(tx licensing.Tx) error { _, err := tx.ProductByCode(e.ctx, cid, "APP"); return err }},
		{"Order", false, func(tx licensing.Tx) error { _, err := tx.Order(e.ctx, cid, missing); return err }},
		{"OrderByStoreID", false, func(tx licensing.Tx) error { _, err := tx.OrderByStoreID(e.ctx, cid, "nope"); return err }},
		{"License", false, func(tx licensing.Tx) error { _, err := tx.License(e.ctx, cid, missing); return err }},
		{"Device", false, func(tx licensing.Tx) error { _, err := tx.Device(e.ctx, cid, missing); return err }},
		{"DeviceByHardwareID missing hardware", false, func(tx licensing.Tx) error {
			_, err := tx.DeviceByHardwareID(e.ctx, tn.License.ID, "nope")
			return err
		}},
		{"DeviceByHardwareID missing license", false, func(tx licensing.Tx) error {
			_, err := tx.DeviceByHardwareID(e.ctx, missing, tn.Device.HardwareID)
			return err
		}},
		{"LockLicense", true, func(tx licensing.Tx) error { _, err := tx.LockLicense(e.ctx, cid, missing); return err }},
		{"RevokeAPIKey", true, func(tx licensing.Tx) error { _, err := tx.RevokeAPIKey(e.ctx, cid, missing); return err }},
		{"APIKeyInfo", false, func(tx licensing.Tx) error { _, err := tx.APIKeyInfo(e.ctx, cid, missing); return err }},
		{"UpdateLicense", true, func(tx licensing.Tx) error {
			l := tn.License
			l.ID = missing
			return tx.UpdateLicense(e.ctx, &l)
		}},
		{"UpdateDevice", true, func(tx licensing.Tx) error {
			d := tn.Device
			d.ID = missing
			return tx.UpdateDevice(e.ctx, &d)
		}},
	}
	for _, tc := range cases {
		run := e.st.Read
		if tc.write {
			run = e.st.Write
		}
		// The error must survive the transaction wrapper: callers test it with errors.Is.
		err := run(e.ctx, tc.fn)
		isErr(t, tc.name, err, licensing.ErrNoRows)
		if errors.Is(err, licensing.ErrDuplicate) {
			t.Errorf("%s: %v is also ErrDuplicate", tc.name, err)
		}
	}
}

// testEmptyResults: list and count methods answer "nothing" without an error.
func testEmptyResults(t *testing.T, e *env) {
	tn := e.tenant("a")
	empty := e.company("empty")
	cid := tn.Company.ID
	e.read(func(tx licensing.Tx) error {
		ps, n, err := tx.ListProducts(e.ctx, empty.ID, licensing.Page{Limit: 10})
		if err != nil || len(ps) != 0 || n != 0 {
			t.Errorf("ListProducts of an empty company = %d rows, total %d, %v", len(ps), n, err)
		}
		ls, n, err := tx.ListLicenses(e.ctx, empty.ID, licensing.LicenseFilter{Page: licensing.Page{Limit: 10}})
		if err != nil || len(ls) != 0 || n != 0 {
			t.Errorf("ListLicenses of an empty company = %d rows, total %d, %v", len(ls), n, err)
		}
		ds, n, err := tx.ListDevices(e.ctx, empty.ID, licensing.DeviceFilter{Page: licensing.Page{Limit: 10}})
		if err != nil || len(ds) != 0 || n != 0 {
			t.Errorf("ListDevices of an empty company = %d rows, total %d, %v", len(ds), n, err)
		}
		byKey, err := tx.LicensesByKey(e.ctx, cid, tn.Product.ID, "NO-SUCH-KEY")
		if err != nil || len(byKey) != 0 {
			t.Errorf("LicensesByKey of a missing key = %s, %v", show(byKey), err)
		}
		byKey, err = tx.LicensesByKey(e.ctx, cid, missing, tn.License.LicenseKey)
		if err != nil || len(byKey) != 0 {
			t.Errorf("LicensesByKey of a missing product = %s, %v", show(byKey), err)
		}
		byUser, err := tx.LicensesByUser(e.ctx, cid, tn.Product.ID, "nobody@example.com")
		if err != nil || len(byUser) != 0 {
			t.Errorf("LicensesByUser of a missing user = %s, %v", show(byUser), err)
		}
		us, err := tx.LicenseUsers(e.ctx, missing)
		if err != nil || len(us) != 0 {
			t.Errorf("LicenseUsers of a missing license = %s, %v", show(us), err)
		}
		vs, err := tx.Variables(e.ctx, tn.Device.ID)
		if err != nil || len(vs) != 0 {
			t.Errorf("Variables of a device without any = %s, %v", show(vs), err)
		}
		vs, err = tx.Variables(e.ctx, missing)
		if err != nil || len(vs) != 0 {
			t.Errorf("Variables of a missing device = %s, %v", show(vs), err)
		}
		n, err = tx.CountActiveDevices(e.ctx, missing)
		if err != nil || n != 0 {
			t.Errorf("CountActiveDevices of a missing license = %d, %v", n, err)
		}
		n, err = tx.CompanyCount(e.ctx)
		if err != nil || n != 2 {
			t.Errorf("CompanyCount = %d, %v; want 2", n, err)
		}
		return nil
	})
	// Writes that match nothing are not errors either.
	e.write(func(tx licensing.Tx) error {
		if err := tx.DeactivateDevices(e.ctx, missing, at(1)); err != nil {
			t.Errorf("DeactivateDevices of a missing license: %v", err)
		}
		if err := tx.UpsertVariables(e.ctx, tn.Device.ID, nil); err != nil {
			t.Errorf("UpsertVariables of nothing: %v", err)
		}
		return nil
	})
}

// testDuplicates: every unique constraint answers ErrDuplicate, leaves nothing behind
// and leaves the store usable. The per-company ones allow the same value in another
// company: tenants a and b already share short_code "app", store_id "order-1" and key
// "KEY-1" (and user email and hardware_id, each on its own license).
func testDuplicates(t *testing.T, e *env) {
	a, b := e.tenant("a"), e.tenant("b")
	cases := []struct {
		name string
		dup  func(tx licensing.Tx) error // rejected
		ok   func(tx licensing.Tx) error // the same value where it is allowed; nil: nowhere
	}{
		{"product short_code per company",
			func(tx licensing.Tx) error {
				return tx.CreateProduct(e.ctx, &licensing.Product{CompanyID: a.Company.ID, Name: "x", ShortCode: "app", AuthorizationMethod: licensing.AuthUser, CreatedAt: at(1), UpdatedAt: at(1)})
			},
			nil},
		{"order store_id per company",
			func(tx licensing.Tx) error {
				return tx.CreateOrder(e.ctx, &licensing.Order{CompanyID: a.Company.ID, StoreID: "order-1", CreatedAt: at(1)})
			},
			nil},
		{"license key per company, same product",
			func(tx licensing.Tx) error {
				return tx.CreateLicense(e.ctx, &licensing.License{CompanyID: a.Company.ID, ProductID: a.Product.ID, OrderID: a.Order.ID,
					LicenseKey: "KEY-1", LicenseType: licensing.TypePerpetual, CreatedAt: at(1), UpdatedAt: at(1)})
			},
			nil},
		{"license key per company, another product",
			func(tx licensing.Tx) error {
				p := licensing.Product{CompanyID: a.Company.ID, Name: "p2", ShortCode: "p2", AuthorizationMethod: licensing.AuthLicenseKey, CreatedAt: at(1), UpdatedAt: at(1)}
				if err := tx.CreateProduct(e.ctx, &p); err != nil {
					return err
				}
				return tx.CreateLicense(e.ctx, &licensing.License{CompanyID: a.Company.ID, ProductID: p.ID, OrderID: a.Order.ID,
					LicenseKey: "KEY-1", LicenseType: licensing.TypePerpetual, CreatedAt: at(1), UpdatedAt: at(1)})
			},
			// Keyless (user-based) licenses do not collide.
			func(tx licensing.Tx) error {
				for range 2 {
					if err := tx.CreateLicense(e.ctx, &licensing.License{CompanyID: a.Company.ID, ProductID: a.Product.ID, OrderID: a.Order.ID,
						LicenseType: licensing.TypePerpetual, CreatedAt: at(1), UpdatedAt: at(1)}); err != nil {
						return err
					}
				}
				return nil
			}},
		{"license user email per license",
			func(tx licensing.Tx) error {
				return tx.CreateLicenseUser(e.ctx, &licensing.LicenseUser{CompanyID: a.Company.ID, LicenseID: a.License.ID, Email: "user@example.com", CreatedAt: at(1)})
			},
			func(tx licensing.Tx) error {
				l := licensing.License{CompanyID: a.Company.ID, ProductID: a.Product.ID, OrderID: a.Order.ID, LicenseKey: "KEY-2",
					LicenseType: licensing.TypePerpetual, CreatedAt: at(1), UpdatedAt: at(1)}
				if err := tx.CreateLicense(e.ctx, &l); err != nil {
					return err
				}
				return tx.CreateLicenseUser(e.ctx, &licensing.LicenseUser{CompanyID: a.Company.ID, LicenseID: l.ID, Email: "user@example.com", CreatedAt: at(1)})
			}},
		{"device (license, hardware_id)",
			func(tx licensing.Tx) error {
				return tx.CreateDevice(e.ctx, &licensing.Device{CompanyID: a.Company.ID, LicenseID: a.License.ID, HardwareID: "hw-1", CreatedAt: at(1), UpdatedAt: at(1)})
			},
			func(tx licensing.Tx) error {
				l := licensing.License{CompanyID: a.Company.ID, ProductID: a.Product.ID, OrderID: a.Order.ID, LicenseKey: "KEY-3",
					LicenseType: licensing.TypePerpetual, CreatedAt: at(1), UpdatedAt: at(1)}
				if err := tx.CreateLicense(e.ctx, &l); err != nil {
					return err
				}
				return tx.CreateDevice(e.ctx, &licensing.Device{CompanyID: a.Company.ID, LicenseID: l.ID, HardwareID: "hw-1", CreatedAt: at(1), UpdatedAt: at(1)})
			}},
		{"license key per company, in bulk",
			func(tx licensing.Tx) error {
				l := licensing.License{CompanyID: a.Company.ID, ProductID: a.Product.ID, OrderID: a.Order.ID,
					LicenseType: licensing.TypePerpetual, CreatedAt: at(1), UpdatedAt: at(1)}
				ls := []licensing.License{l, l}
				ls[0].LicenseKey, ls[1].LicenseKey = "KEY-BULK", "KEY-1"
				return tx.CreateLicenses(e.ctx, ls)
			},
			nil},
		{"device (license, hardware_id), in bulk",
			func(tx licensing.Tx) error {
				d := licensing.Device{CompanyID: a.Company.ID, LicenseID: a.License.ID, CreatedAt: at(1), UpdatedAt: at(1)}
				ds := []licensing.Device{d, d}
				ds[0].HardwareID, ds[1].HardwareID = "hw-bulk", "hw-1"
				return tx.CreateDevices(e.ctx, ds)
			},
			nil},
		{"variable (device, name), in bulk",
			func(tx licensing.Tx) error {
				v := licensing.Variable{DeviceID: a.Device.ID, Name: "bulk", Value: "1", CreatedAt: at(1)}
				return tx.InsertVariables(e.ctx, []licensing.Variable{v, v})
			},
			nil},
		{"api key, same company",
			func(tx licensing.Tx) error {
				return tx.CreateAPIKey(e.ctx, &licensing.APIKey{CompanyID: a.Company.ID, Key: a.APIKey.Key, SharedKey: "s", CreatedAt: at(1)})
			},
			nil},
		{"api key, another company", // api keys identify their company: unique everywhere
			func(tx licensing.Tx) error {
				return tx.CreateAPIKey(e.ctx, &licensing.APIKey{CompanyID: b.Company.ID, Key: a.APIKey.Key, SharedKey: "s", CreatedAt: at(1)})
			},
			nil},
		{"management key prefix, another company",
			func(tx licensing.Tx) error {
				k := licensing.ManagementKey{CompanyID: a.Company.ID, Prefix: "mk", SecretHash: []byte{1}, CreatedAt: at(1)}
				if err := tx.CreateManagementKey(e.ctx, &k); err != nil {
					return err
				}
				k.CompanyID = b.Company.ID
				return tx.CreateManagementKey(e.ctx, &k)
			},
			nil},
	}
	for _, tc := range cases {
		err := e.st.Write(e.ctx, tc.dup)
		isErr(t, tc.name, err, licensing.ErrDuplicate)
		if errors.Is(err, licensing.ErrNoRows) {
			t.Errorf("%s: %v is also ErrNoRows", tc.name, err)
		}
		if tc.ok != nil {
			if err := e.st.Write(e.ctx, tc.ok); err != nil {
				t.Errorf("%s: allowed case: %v", tc.name, err)
			}
		}
	}

	// Nothing of the rejected writes remains (the "another product" case created a
	// product first, the "prefix" case a management key), and the store still writes.
	e.read(func(tx licensing.Tx) error {
		ps, _, err := tx.ListProducts(e.ctx, a.Company.ID, licensing.Page{Limit: 100})
		if err != nil {
			return err
		}
		if len(ps) != 1 {
			t.Errorf("company a has %d products after rejected writes, want 1: %s", len(ps), show(ps))
		}
		if _, err := tx.ManagementKeyByPrefix(e.ctx, "mk"); !errors.Is(err, licensing.ErrNoRows) {
			t.Errorf("management key of a rolled-back write: %v", err)
		}
		return nil
	})
	e.product(a.Company.ID, "after-duplicates", licensing.AuthLicenseKey)
}
