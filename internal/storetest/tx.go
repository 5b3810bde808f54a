package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
)

var txTests = []test{
	{"Ping", testPing},
	{"ReadSeesCommittedWrites", testReadSeesCommitted},
	{"ErrorRollsBackEverything", testRollback},
	{"PanicRollsBackAndReleases", testPanicRollback},
	{"ReadIsReadOnly", testReadOnly},
	{"CancelledContext", testCancelledContext},
	{"ReadSingle", testReadSingle},
	{"DeviceByLicenseKey", testDeviceByLicenseKey},
}

// testReadSingle: a one-statement lookup outside a transaction sees committed writes,
// maps a missing row to ErrNoRows, and works again and again (prepared statements).
func testReadSingle(t *testing.T, e *env) {
	k := e.apiKey(e.company("c").ID)
	for i := range 3 {
		var got licensing.APIKey
		if err := e.st.ReadSingle(e.ctx, func(tx licensing.Tx) (err error) {
			got, err = tx.APIKeyByKey(e.ctx, k.Key)
			return err
		}); err != nil {
			t.Fatalf("ReadSingle %d: %v", i, err)
		}
		equal(t, "ReadSingle APIKeyByKey", got, k)
		err := e.st.ReadSingle(e.ctx, func(tx licensing.Tx) error {
			_, err := tx.APIKeyByKey(e.ctx, "missing")
			return err
		})
		if !errors.Is(err, licensing.ErrNoRows) {
			t.Fatalf("ReadSingle of a missing key: %v", err)
		}
	}
	e.write(func(tx licensing.Tx) error { _, err := tx.RevokeAPIKey(e.ctx, k.CompanyID, k.ID); return err })
	var got licensing.APIKey
	if err := e.st.ReadSingle(e.ctx, func(tx licensing.Tx) (err error) {
		got, err = tx.APIKeyByKey(e.ctx, k.Key)
		return err
	}); err != nil || !got.Revoked {
		t.Fatalf("ReadSingle after a revoke: %+v, %v", got, err)
	}
}

func testPing(t *testing.T, e *env) {
	if err := e.st.Ping(e.ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testReadSeesCommitted(t *testing.T, e *env) {
	tn := e.tenant("a")
	cid := tn.Company.ID
	for i := range 3 {
		l := tn.License
		l.TimesActivated, l.UpdatedAt = int64(i+1), at(100+i)
		e.write(func(tx licensing.Tx) error { return tx.UpdateLicense(e.ctx, &l) })
		equal(t, "license read after commit", e.getLicense(cid, l.ID), l)
		p := e.product(cid, e.uniq("p"), licensing.AuthLicenseKey)
		var got licensing.Product
		e.read(func(tx licensing.Tx) (err error) { got, err = tx.ProductByCode(e.ctx, cid, p.ShortCode); return err })
		equal(t, "product read after commit", got, p)
	}
}

var errBoom = errors.New("boom")

// testRollback: a Write whose fn fails leaves no trace of anything it did, while it
// ran it saw its own writes, and its error comes back to the caller.
func testRollback(t *testing.T, e *env) {
	a := e.tenant("a")
	cid := a.Company.ID
	var newKey string
	err := e.st.Write(e.ctx, func(tx licensing.Tx) error {
		c := licensing.Company{Name: "doomed", CreatedAt: at(1)}
		if err := tx.CreateCompany(e.ctx, &c); err != nil {
			return err
		}
		k := licensing.APIKey{CompanyID: cid, Key: "doomed-key", SharedKey: "s", CreatedAt: at(1)}
		if err := tx.CreateAPIKey(e.ctx, &k); err != nil {
			return err
		}
		newKey = k.Key
		if err := tx.CreateManagementKey(e.ctx, &licensing.ManagementKey{CompanyID: cid, Prefix: "doomed", SecretHash: []byte{1}, CreatedAt: at(1)}); err != nil {
			return err
		}
		p := licensing.Product{CompanyID: cid, Name: "doomed", ShortCode: "doomed", AuthorizationMethod: licensing.AuthLicenseKey, CreatedAt: at(1), UpdatedAt: at(1)}
		if err := tx.CreateProduct(e.ctx, &p); err != nil {
			return err
		}
		if got, err := tx.ProductByCode(e.ctx, cid, "doomed"); err != nil || got.ID != p.ID {
			t.Errorf("a write transaction does not see its own insert: %s, %v", show(got), err)
		}
		o := licensing.Order{CompanyID: cid, StoreID: "doomed", CreatedAt: at(1)}
		if err := tx.CreateOrder(e.ctx, &o); err != nil {
			return err
		}
		l := licensing.License{CompanyID: cid, ProductID: p.ID, OrderID: o.ID, LicenseKey: "DOOMED", LicenseType: licensing.TypePerpetual, CreatedAt: at(1), UpdatedAt: at(1)}
		if err := tx.CreateLicense(e.ctx, &l); err != nil {
			return err
		}
		if err := tx.CreateLicenseUser(e.ctx, &licensing.LicenseUser{CompanyID: cid, LicenseID: a.License.ID, Email: "doomed@example.com", CreatedAt: at(1)}); err != nil {
			return err
		}
		if err := tx.CreateDevice(e.ctx, &licensing.Device{CompanyID: cid, LicenseID: a.License.ID, HardwareID: "doomed", Active: true, CreatedAt: at(1), UpdatedAt: at(1)}); err != nil {
			return err
		}
		if err := tx.UpsertVariables(e.ctx, a.Device.ID, []licensing.Variable{{Name: "doomed", Value: "1", CreatedAt: at(1)}}); err != nil {
			return err
		}
		if _, err := tx.RevokeAPIKey(e.ctx, cid, a.APIKey.ID); err != nil {
			return err
		}
		ul := a.License
		ul.Enabled, ul.TimesActivated, ul.UpdatedAt = false, 3, at(50)
		if err := tx.UpdateLicense(e.ctx, &ul); err != nil {
			return err
		}
		if got, err := tx.License(e.ctx, cid, ul.ID); err != nil || got.TimesActivated != 3 {
			t.Errorf("a write transaction does not see its own update: %s, %v", show(got), err)
		}
		ud := a.Device
		ud.Blacklisted, ud.UpdatedAt = true, at(50)
		if err := tx.UpdateDevice(e.ctx, &ud); err != nil {
			return err
		}
		if err := tx.TouchDeviceCheck(e.ctx, a.Device.ID, at(60)); err != nil {
			return err
		}
		if err := tx.DeactivateDevices(e.ctx, a.License.ID, at(70)); err != nil {
			return err
		}
		return errBoom
	})
	isErr(t, "Write", err, errBoom)

	equal(t, "api key", e.getAPIKey(a.APIKey.Key), a.APIKey)
	equal(t, "license", e.getLicense(cid, a.License.ID), a.License)
	equal(t, "device", e.getDevice(cid, a.Device.ID), a.Device)
	e.read(func(tx licensing.Tx) error {
		if n, err := tx.CompanyCount(e.ctx); err != nil || n != 1 {
			t.Errorf("CompanyCount = %d, %v; want 1", n, err)
		}
		if _, err := tx.APIKeyByKey(e.ctx, newKey); !errors.Is(err, licensing.ErrNoRows) {
			t.Errorf("rolled-back api key: %v", err)
		}
		if _, err := tx.ManagementKeyByPrefix(e.ctx, "doomed"); !errors.Is(err, licensing.ErrNoRows) {
			t.Errorf("rolled-back management key: %v", err)
		}
		if _, err := tx.ProductByCode(e.ctx, cid, "doomed"); !errors.Is(err, licensing.ErrNoRows) {
			t.Errorf("rolled-back product: %v", err)
		}
		if _, err := tx.OrderByStoreID(e.ctx, cid, "doomed"); !errors.Is(err, licensing.ErrNoRows) {
			t.Errorf("rolled-back order: %v", err)
		}
		if ls, n, err := tx.ListLicenses(e.ctx, cid, licensing.LicenseFilter{Page: licensing.Page{Limit: 10}}); err != nil || n != 1 {
			t.Errorf("licenses after rollback: %s, total %d, %v", show(ls), n, err)
		}
		if us, err := tx.LicenseUsers(e.ctx, a.License.ID); err != nil || len(us) != 1 {
			t.Errorf("license users after rollback: %s, %v", show(us), err)
		}
		if ds, n, err := tx.ListDevices(e.ctx, cid, licensing.DeviceFilter{Page: licensing.Page{Limit: 10}}); err != nil || n != 1 {
			t.Errorf("devices after rollback: %s, total %d, %v", show(ds), n, err)
		}
		if vs, err := tx.Variables(e.ctx, a.Device.ID); err != nil || len(vs) != 0 {
			t.Errorf("variables after rollback: %s, %v", show(vs), err)
		}
		return nil
	})

	// A domain error comes back as itself, so the HTTP layers can read its code.
	err = e.st.Write(e.ctx, func(licensing.Tx) error { return licensing.Errorf(licensing.EConflict, "no") })
	var le *licensing.Error
	if !errors.As(err, &le) || le.Code != licensing.EConflict {
		t.Errorf("Write returned %v, want the *licensing.Error fn returned", err)
	}
	err = e.st.Read(e.ctx, func(licensing.Tx) error { return errBoom })
	isErr(t, "Read", err, errBoom)
}

// testPanicRollback: a panic in fn propagates, and the transaction it interrupted is
// rolled back at once, not left holding the writer (SQLite) or the license row lock
// (PostgreSQL) until its context ends. Here that context ends only when the test does
// (so that a failing store can still be closed).
func testPanicRollback(t *testing.T, e *env) {
	a := e.tenant("a")
	cid := a.Company.ID
	pctx, pcancel := context.WithCancel(context.Background())
	defer pcancel()
	func() {
		defer func() {
			if v := recover(); v != errBoom {
				t.Errorf("recovered %v, want the panic value from fn", v)
			}
		}()
		e.st.Write(pctx, func(tx licensing.Tx) error {
			if _, err := tx.LockLicense(pctx, cid, a.License.ID); err != nil {
				return err
			}
			if err := tx.CreateProduct(pctx, &licensing.Product{CompanyID: cid, Name: "x", ShortCode: "panicked",
				AuthorizationMethod: licensing.AuthLicenseKey, CreatedAt: at(1), UpdatedAt: at(1)}); err != nil {
				return err
			}
			panic(errBoom)
		})
	}()

	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
	defer cancel()
	err := e.st.Write(ctx, func(tx licensing.Tx) error {
		l, err := tx.LockLicense(ctx, cid, a.License.ID)
		if err != nil {
			return err
		}
		l.TimesActivated = 1
		return tx.UpdateLicense(ctx, &l)
	})
	if err != nil {
		t.Fatalf("write after a panicked write: %v (the panicked transaction still holds the writer or the license lock)", err)
	}
	err = e.st.Read(e.ctx, func(tx licensing.Tx) error { _, err := tx.ProductByCode(e.ctx, cid, "panicked"); return err })
	isErr(t, "product written before the panic", err, licensing.ErrNoRows)
}

// testReadOnly: a Read transaction cannot write (stores may run reads unserialised).
func testReadOnly(t *testing.T, e *env) {
	a := e.tenant("a")
	err := e.st.Read(e.ctx, func(tx licensing.Tx) error {
		return tx.CreateProduct(e.ctx, &licensing.Product{CompanyID: a.Company.ID, Name: "x", ShortCode: "in-read",
			AuthorizationMethod: licensing.AuthLicenseKey, CreatedAt: at(1), UpdatedAt: at(1)})
	})
	if err == nil {
		t.Errorf("CreateProduct inside Read succeeded")
	}
	err = e.st.Read(e.ctx, func(tx licensing.Tx) error { _, err := tx.ProductByCode(e.ctx, a.Company.ID, "in-read"); return err })
	isErr(t, "product written inside Read", err, licensing.ErrNoRows)
	// The store still works after the refused write.
	e.product(a.Company.ID, "after-read", licensing.AuthLicenseKey)
}

func testCancelledContext(t *testing.T, e *env) {
	a := e.tenant("a")
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	for name, run := range map[string]func(context.Context, func(licensing.Tx) error) error{"Read": e.st.Read, "Write": e.st.Write} {
		err := run(ctx, func(tx licensing.Tx) error {
			_, err := tx.CompanyCount(ctx)
			return err
		})
		if err == nil {
			t.Errorf("%s with a cancelled context succeeded", name)
		}
	}
	err := e.st.Write(ctx, func(tx licensing.Tx) error {
		return tx.CreateProduct(ctx, &licensing.Product{CompanyID: a.Company.ID, Name: "x", ShortCode: "cancelled",
			AuthorizationMethod: licensing.AuthLicenseKey, CreatedAt: at(1), UpdatedAt: at(1)})
	})
	if err == nil {
		t.Errorf("Write with a cancelled context succeeded")
	}
	err = e.st.Read(e.ctx, func(tx licensing.Tx) error { _, err := tx.ProductByCode(e.ctx, a.Company.ID, "cancelled"); return err })
	isErr(t, "product written with a cancelled context", err, licensing.ErrNoRows)
	// The store still works afterwards.
	e.product(a.Company.ID, "after-cancel", licensing.AuthLicenseKey)
}

// testDeviceByLicenseKey: the one-statement license+device read (ReadSingle) returns
// the same rows as the separate lookups (but the device's last check, which it leaves
// out), reports the API key asked about, and finds nothing across companies, products,
// keys or hardware ids.
func testDeviceByLicenseKey(t *testing.T, e *env) {
	a, b := e.tenant("a"), e.tenant("b")
	revokedKey := e.apiKey(a.Company.ID)
	e.write(func(tx licensing.Tx) error { _, err := tx.RevokeAPIKey(e.ctx, a.Company.ID, revokedKey.ID); return err })
	e.write(func(tx licensing.Tx) error { return tx.TouchDeviceCheck(e.ctx, a.Device.ID, at(50)) })
	if e.getDevice(a.Company.ID, a.Device.ID).LastCheck == nil {
		t.Fatal("the device has no last check after TouchDeviceCheck")
	}
	// keyedDevice is the device as DeviceByLicenseKey reads it.
	keyedDevice := func(companyID, id int64) licensing.Device {
		d := e.getDevice(companyID, id)
		d.LastCheck = nil
		return d
	}
	get := func(q licensing.LicenseDeviceQuery) (licensing.LicenseDevice, error) {
		var ld licensing.LicenseDevice
		err := e.st.ReadSingle(e.ctx, func(tx licensing.Tx) (err error) { ld, err = tx.DeviceByLicenseKey(e.ctx, q); return err })
		return ld, err
	}
	q := licensing.LicenseDeviceQuery{CompanyID: a.Company.ID, ProductID: a.Product.ID, LicenseKey: "KEY-1", HardwareID: "hw-1"}
	for _, tc := range []struct {
		name           string
		apiKey         int64
		found, revoked bool
	}{
		{"no key asked", 0, false, false},
		{"active key", a.APIKey.ID, true, false},
		{"revoked key", revokedKey.ID, true, true},
		{"missing key", revokedKey.ID + 1000, false, false},
		{"another company's key", b.APIKey.ID, false, false},
	} {
		q := q
		q.APIKeyID = tc.apiKey
		ld, err := get(q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		equal(t, tc.name+": license", ld.License, e.getLicense(a.Company.ID, a.License.ID))
		equal(t, tc.name+": device", ld.Device, keyedDevice(a.Company.ID, a.Device.ID))
		if ld.APIKeyFound != tc.found || ld.APIKeyRevoked != tc.revoked {
			t.Errorf("%s: found %v revoked %v, want %v %v", tc.name, ld.APIKeyFound, ld.APIKeyRevoked, tc.found, tc.revoked)
		}
	}
	other := e.product(a.Company.ID, "other", licensing.AuthLicenseKey)
	for name, mod := range map[string]func(*licensing.LicenseDeviceQuery){
		"other company":     func(q *licensing.LicenseDeviceQuery) { q.CompanyID = b.Company.ID + 1000 },
		"company b's ids":   func(q *licensing.LicenseDeviceQuery) { q.CompanyID = b.Company.ID },
		"other product":     func(q *licensing.LicenseDeviceQuery) { q.ProductID = other.ID },
		"other key":         func(q *licensing.LicenseDeviceQuery) { q.LicenseKey = "KEY-2" },
		"other hardware id": func(q *licensing.LicenseDeviceQuery) { q.HardwareID = "hw-2" },
		"hardware id case":  func(q *licensing.LicenseDeviceQuery) { q.HardwareID = "HW-1" },
	} {
		q := q
		mod(&q)
		if _, err := get(q); !errors.Is(err, licensing.ErrNoRows) {
			t.Errorf("%s: %v, want ErrNoRows", name, err)
		}
	}

	// Remembered signatures asked for come along, of the asked slots only, in slot
	// order, whichever slots the device has; another device's never do; a slot that
	// does not exist is an error.
	sig := func(dev int64, slot int) licensing.DeviceSignature {
		return licensing.DeviceSignature{DeviceID: dev, Slot: slot, Digest: []byte{byte(dev), byte(slot), 0xff, 0}, Signature: fmt.Sprintf("sig-%d-%d", dev, slot)}
	}
	e.write(func(tx licensing.Tx) error {
		return tx.PutDeviceSignatures(e.ctx, []licensing.DeviceSignature{sig(a.Device.ID, 1), sig(a.Device.ID, 3), sig(b.Device.ID, 2)})
	})
	for _, tc := range []struct {
		recall []int
		want   []licensing.DeviceSignature
	}{
		{nil, nil},
		{[]int{2}, nil},
		{[]int{1, 2}, []licensing.DeviceSignature{sig(a.Device.ID, 1)}},
		{[]int{3, 1}, []licensing.DeviceSignature{sig(a.Device.ID, 1), sig(a.Device.ID, 3)}},
		{[]int{1, 2, 3, 4}, []licensing.DeviceSignature{sig(a.Device.ID, 1), sig(a.Device.ID, 3)}},
		{[]int{4}, nil},
	} {
		q := q
		q.APIKeyID, q.Recall = a.APIKey.ID, tc.recall
		ld, err := get(q)
		if err != nil {
			t.Fatalf("recall %v: %v", tc.recall, err)
		}
		equal(t, fmt.Sprintf("recall %v: signatures", tc.recall), ld.Signatures, tc.want)
		equal(t, fmt.Sprintf("recall %v: device", tc.recall), ld.Device, keyedDevice(a.Company.ID, a.Device.ID))
		if !ld.APIKeyFound || ld.APIKeyRevoked {
			t.Errorf("recall %v: key found %v revoked %v", tc.recall, ld.APIKeyFound, ld.APIKeyRevoked)
		}
	}
	for _, bad := range [][]int{{0}, {1, licensing.SlotVariables + 1}} {
		q := q
		q.Recall = bad
		if _, err := get(q); err == nil {
			t.Errorf("recall %v: no error", bad)
		}
	}
	q.CompanyID, q.Recall = b.Company.ID, []int{2}
	if _, err := get(q); !errors.Is(err, licensing.ErrNoRows) {
		t.Errorf("company b, recall: %v, want ErrNoRows", err)
	}

	// The device's variables come along as Variables reads them, whatever their text;
	// none for a device without; not asked for, none.
	e.write(func(tx licensing.Tx) error {
		return tx.UpsertVariables(e.ctx, a.Device.ID, []licensing.Variable{
			{Name: "z-first", Value: "1", CreatedAt: at(5)},
			{Name: `quote " back \\ slash`, Value: "line\nbreak\ttab \u0001 ☃ 𝄞", CreatedAt: at(6)},
			{Name: "empty", Value: "", CreatedAt: at(7)},
			{Name: "a-last", Value: "9007199254740993", CreatedAt: at(8)},
			{Name: "far", Value: "1e5", CreatedAt: time.UnixMilli(253402300799999).UTC()}, // 9999-12-31
		})
	})
	wantVars := func(deviceID int64) (vs []licensing.Variable) {
		e.read(func(tx licensing.Tx) (err error) { vs, err = tx.Variables(e.ctx, deviceID); return err })
		return vs
	}
	for _, tc := range []struct {
		name   string
		q      licensing.LicenseDeviceQuery
		device int64
	}{
		{"variables", licensing.LicenseDeviceQuery{CompanyID: a.Company.ID, ProductID: a.Product.ID, LicenseKey: "KEY-1", HardwareID: "hw-1", Variables: true}, a.Device.ID},
		{"variables and recall", licensing.LicenseDeviceQuery{APIKeyID: a.APIKey.ID, CompanyID: a.Company.ID, ProductID: a.Product.ID, LicenseKey: "KEY-1", HardwareID: "hw-1", Variables: true, Recall: []int{1, 3}}, a.Device.ID},
		{"no variables", licensing.LicenseDeviceQuery{CompanyID: b.Company.ID, ProductID: b.Product.ID, LicenseKey: "KEY-1", HardwareID: "hw-1", Variables: true}, b.Device.ID},
	} {
		ld, err := get(tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := wantVars(tc.device)
		if tc.device == a.Device.ID && len(want) != 5 {
			t.Fatalf("%s: %d variables stored, want 5", tc.name, len(want))
		}
		equal(t, tc.name, ld.Variables, want)
		equal(t, tc.name+": device", ld.Device, keyedDevice(ld.Device.CompanyID, tc.device))
	}
	q = licensing.LicenseDeviceQuery{CompanyID: a.Company.ID, ProductID: a.Product.ID, LicenseKey: "KEY-1", HardwareID: "hw-1"}
	if ld, err := get(q); err != nil || ld.Variables != nil {
		t.Errorf("variables not asked for: %+v, %v", ld.Variables, err)
	}

	// Under the license lock, in a write transaction: the same answer as without, or
	// errors.ErrUnsupported from a store that cannot take the lock in one statement
	// (then for every query); a miss is still ErrNoRows where it can answer.
	unlocked, err := get(q)
	if err != nil {
		t.Fatal(err)
	}
	var locked licensing.LicenseDevice
	var lockErr, missErr error
	e.write(func(tx licensing.Tx) error {
		lq := q
		lq.Lock, lq.Variables = true, true
		locked, lockErr = tx.DeviceByLicenseKey(e.ctx, lq)
		lq.HardwareID = "hw-missing"
		_, missErr = tx.DeviceByLicenseKey(e.ctx, lq)
		return nil
	})
	switch {
	case errors.Is(lockErr, errors.ErrUnsupported):
		if !errors.Is(missErr, errors.ErrUnsupported) {
			t.Errorf("locked miss: %v, want ErrUnsupported as for the hit", missErr)
		}
	case lockErr != nil:
		t.Errorf("locked read: %v", lockErr)
	default:
		equal(t, "locked: license", locked.License, unlocked.License)
		equal(t, "locked: device", locked.Device, unlocked.Device)
		equal(t, "locked: variables", locked.Variables, wantVars(a.Device.ID))
		if !errors.Is(missErr, licensing.ErrNoRows) {
			t.Errorf("locked miss: %v, want ErrNoRows", missErr)
		}
	}
}
