package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
)

// Strings that have tripped stores before: non-ASCII in several planes, quotes, SQL
// comment markers, backslashes, trailing spaces.
const (
	unicodeName = "Ünïcødé 製品 🚀 'single' \"double\" \\ back ;-- "
	unicodeKey  = "ключ-🔑-ÄÖÜ"
	longText    = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
)

var roundTripTests = []test{
	{"Company", testCompanyRoundTrip},
	{"APIKey", testAPIKeyRoundTrip},
	{"ManagementKey", testManagementKeyRoundTrip},
	{"Secrets", testSecretsRoundTrip},
	{"DeviceSignatures", testDeviceSignatures},
	{"Product", testProductRoundTrip},
	{"Order", testOrderRoundTrip},
	{"License", testLicenseRoundTrip},
	{"UpdateLicense", testUpdateLicense},
	{"LicenseUser", testLicenseUserRoundTrip},
	{"Device", testDeviceRoundTrip},
	{"UpdateDevice", testUpdateDevice},
	{"DeviceCounters", testDeviceCounters},
	{"UserDeviceCounts", testUserDeviceCounts},
	{"TimePrecision", testTimePrecision},
	{"LargeIDs", testLargeIDs},
	{"BulkInserts", testBulkInserts},
}

func testCompanyRoundTrip(t *testing.T, e *env) {
	cases := []struct {
		name string
		c    licensing.Company
	}{
		{"plain", licensing.Company{Name: "Acme", SigningKeyPEM: longText, PublicKeyPEM: "pub", CreatedAt: at(0)}},
		{"empty strings, epoch", licensing.Company{CreatedAt: time.UnixMilli(0).UTC()}},
		{"unicode, before 1970", licensing.Company{Name: unicodeName, SigningKeyPEM: unicodeKey, PublicKeyPEM: unicodeName, CreatedAt: time.UnixMilli(-1_234_567).UTC()}},
		{"far future", licensing.Company{Name: "Future", CreatedAt: time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)}},
	}
	for i, tc := range cases {
		c := tc.c
		e.write(func(tx licensing.Tx) error { return tx.CreateCompany(e.ctx, &c) })
		if c.ID == 0 {
			t.Fatalf("%s: CreateCompany left ID 0", tc.name)
		}
		var got licensing.Company
		var n int64
		e.read(func(tx licensing.Tx) (err error) {
			if got, err = tx.Company(e.ctx, c.ID); err != nil {
				return err
			}
			n, err = tx.CompanyCount(e.ctx)
			return err
		})
		equal(t, tc.name, got, c)
		if n != int64(i+1) {
			t.Errorf("%s: CompanyCount = %d, want %d", tc.name, n, i+1)
		}
	}
}

func testAPIKeyRoundTrip(t *testing.T, e *env) {
	c := e.company("c")
	cases := []licensing.APIKey{
		{Key: "k-plain", SharedKey: "s", CreatedAt: at(1)},
		{Key: "k-readonly", SharedKey: "s", ReadOnly: true, CreatedAt: at(2)},
		{Key: "k-revoked", SharedKey: "s", Revoked: true, CreatedAt: at(3)},
		{Key: "k-both", SharedKey: "s", ReadOnly: true, Revoked: true, CreatedAt: at(4)},
		{Key: unicodeKey, SharedKey: "", CreatedAt: at(5)},
		{Key: "k-unicode-shared", SharedKey: unicodeName, CreatedAt: at(6)},
	}
	for _, k := range cases {
		k.CompanyID = c.ID
		e.write(func(tx licensing.Tx) error { return tx.CreateAPIKey(e.ctx, &k) })
		if k.ID == 0 {
			t.Fatalf("%s: CreateAPIKey left ID 0", k.Key)
		}
		equal(t, "APIKeyByKey "+k.Key, e.getAPIKey(k.Key), k)
	}

	// APIKeyInfo is the key without its shared key.
	k := cases[1]
	k.CompanyID = c.ID
	k.ID = e.getAPIKey(k.Key).ID
	info := func(id int64) licensing.APIKeyInfo {
		var i licensing.APIKeyInfo
		e.read(func(tx licensing.Tx) (err error) { i, err = tx.APIKeyInfo(e.ctx, c.ID, id); return err })
		return i
	}
	equal(t, "APIKeyInfo", info(k.ID), k.Info())

	// Revoking sets only revoked; revoking again is not an error and reports no change.
	revoked := func(id int64) bool {
		var r bool
		e.read(func(tx licensing.Tx) (err error) { r, err = tx.APIKeyRevoked(e.ctx, id); return err })
		return r
	}
	if revoked(k.ID) {
		t.Errorf("APIKeyRevoked(%d) before RevokeAPIKey: true", k.ID)
	}
	for i, want := range []bool{true, false} {
		var changed bool
		e.write(func(tx licensing.Tx) (err error) { changed, err = tx.RevokeAPIKey(e.ctx, c.ID, k.ID); return err })
		if changed != want {
			t.Errorf("RevokeAPIKey #%d reported changed %v, want %v", i+1, changed, want)
		}
	}
	k.Revoked = true
	equal(t, "after RevokeAPIKey", e.getAPIKey(k.Key), k)
	equal(t, "APIKeyInfo after RevokeAPIKey", info(k.ID), k.Info())
	if !revoked(k.ID) {
		t.Errorf("APIKeyRevoked(%d) after RevokeAPIKey: false", k.ID)
	}
	if got := e.getAPIKey(cases[0].Key); got.Revoked || revoked(got.ID) {
		t.Errorf("RevokeAPIKey(%d) also revoked key %d", k.ID, got.ID)
	}
}

// testDeviceSignatures: one signature per (device, slot), replaced by a later put;
// ErrNoRows for none; binary digests round-trip exactly; one of a device that does not
// exist is dropped, one of no slot refused.
func testDeviceSignatures(t *testing.T, e *env) {
	get := func(device int64, slot int) (licensing.DeviceSignature, error) {
		var all []licensing.DeviceSignature
		err := e.st.ReadSingle(e.ctx, func(tx licensing.Tx) (err error) {
			all, err = tx.DeviceSignatures(e.ctx, device)
			return err
		})
		for i, s := range all {
			if i > 0 && all[i-1].Slot >= s.Slot {
				t.Fatalf("DeviceSignatures not ordered by slot: %+v", all)
			}
			if s.Slot == slot {
				return s, err
			}
		}
		if err == nil {
			err = licensing.ErrNoRows
		}
		return licensing.DeviceSignature{}, err
	}
	tn := e.tenant(e.uniq("memo"))
	devs := []int64{tn.Device.ID}
	for i := range 149 {
		devs = append(devs, e.device(tn.Company.ID, tn.License.ID, fmt.Sprint("memo-hw-", i), true, false).ID)
	}
	first := devs[0]
	if _, err := get(first, 1); !errors.Is(err, licensing.ErrNoRows) {
		t.Fatalf("missing signature: %v", err)
	}
	digest := make([]byte, 32)
	for i := range digest {
		digest[i] = byte(255 - i)
	}
	var sigs []licensing.DeviceSignature
	for _, d := range devs {
		sigs = append(sigs, licensing.DeviceSignature{DeviceID: d, Slot: licensing.SlotLicenseSignature, Digest: digest, Signature: fmt.Sprint("sig-", d)},
			licensing.DeviceSignature{DeviceID: d, Slot: licensing.SlotCheck, Digest: digest[:16], Signature: fmt.Sprint("body-", d)})
	}
	sigs = append(sigs, licensing.DeviceSignature{DeviceID: devs[len(devs)-1] + 1000, Slot: 1, Digest: digest, Signature: "no such device"})
	e.write(func(tx licensing.Tx) error { return tx.PutDeviceSignatures(e.ctx, sigs) })
	for _, want := range []licensing.DeviceSignature{sigs[0], sigs[1], sigs[len(sigs)-2]} {
		got, err := get(want.DeviceID, want.Slot)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "DeviceSignature", got, want)
	}
	if _, err := get(devs[len(devs)-1]+1000, 1); !errors.Is(err, licensing.ErrNoRows) {
		t.Errorf("a signature of a device that does not exist: %v", err)
	}
	for _, slot := range []int{licensing.SlotTrack, licensing.SlotVariables} {
		s := licensing.DeviceSignature{DeviceID: first, Slot: slot, Digest: []byte{byte(slot)}, Signature: fmt.Sprint("slot-", slot)}
		e.write(func(tx licensing.Tx) error { return tx.PutDeviceSignatures(e.ctx, []licensing.DeviceSignature{s}) })
		if got, err := get(first, slot); err != nil || got.Signature != s.Signature {
			t.Errorf("slot %d: %+v, %v", slot, got, err)
		}
	}
	repl := licensing.DeviceSignature{DeviceID: first, Slot: 1, Digest: []byte{0, 1, 2}, Signature: "newer"}
	e.write(func(tx licensing.Tx) error { return tx.PutDeviceSignatures(e.ctx, []licensing.DeviceSignature{repl}) })
	got, err := get(first, 1)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "replaced DeviceSignature", got, repl)
	if other, _ := get(first, 2); other.Signature != fmt.Sprint("body-", first) {
		t.Errorf("another slot changed: %+v", other)
	}
	// A device's memo is not its data: every other column is as it was.
	equal(t, "device after its signatures", e.getDevice(tn.Company.ID, first), tn.Device)
	for _, slot := range []int{0, licensing.SlotVariables + 1} {
		bad := []licensing.DeviceSignature{{DeviceID: first, Slot: slot, Digest: digest, Signature: "x"}}
		if err := e.st.Write(e.ctx, func(tx licensing.Tx) error { return tx.PutDeviceSignatures(e.ctx, bad) }); err == nil {
			t.Errorf("slot %d: stored", slot)
		}
	}
}

// testSecretsRoundTrip: Secrets lists every signing key and shared key with its owner,
// sorted by kind and id, and SetSecret rewrites exactly one.
func testSecretsRoundTrip(t *testing.T, e *env) {
	var c1, c2 licensing.Company
	for i, c := range []*licensing.Company{&c1, &c2} {
		*c = licensing.Company{Name: "c", SigningKeyPEM: fmt.Sprintf("signing-%d", i), PublicKeyPEM: fmt.Sprintf("pub-%d", i), CreatedAt: at(0)}
		e.write(func(tx licensing.Tx) error { return tx.CreateCompany(e.ctx, c) })
	}
	k1 := licensing.APIKey{CompanyID: c1.ID, Key: "ak-1", SharedKey: unicodeName, CreatedAt: at(1)}
	k2 := licensing.APIKey{CompanyID: c2.ID, Key: "ak-2", SharedKey: "shared-2", CreatedAt: at(2)}
	for _, k := range []*licensing.APIKey{&k1, &k2} {
		e.write(func(tx licensing.Tx) error { return tx.CreateAPIKey(e.ctx, k) })
	}
	list := func() (out []licensing.StoredSecret) {
		e.read(func(tx licensing.Tx) (err error) {
			out, err = tx.Secrets(e.ctx)
			return err
		})
		return out
	}
	want := []licensing.StoredSecret{
		{Kind: licensing.SecretSharedKey, ID: k1.ID, Owner: "ak-1", Value: unicodeName},
		{Kind: licensing.SecretSharedKey, ID: k2.ID, Owner: "ak-2", Value: "shared-2"},
		{Kind: licensing.SecretSigningKey, ID: c1.ID, Owner: "pub-0", Value: "signing-0"},
		{Kind: licensing.SecretSigningKey, ID: c2.ID, Owner: "pub-1", Value: "signing-1"},
	}
	equal(t, "Secrets", list(), want)

	want[1].Value = "sealed:v1:abc"
	want[2].Value = longText
	e.write(func(tx licensing.Tx) error {
		if err := tx.SetSecret(e.ctx, want[1]); err != nil {
			return err
		}
		return tx.SetSecret(e.ctx, want[2])
	})
	equal(t, "Secrets after SetSecret", list(), want)
	if got := e.getAPIKey("ak-2"); got.SharedKey != "sealed:v1:abc" {
		t.Errorf("APIKeyByKey after SetSecret: shared key %q", got.SharedKey)
	}
	var missing error
	e.write(func(tx licensing.Tx) error {
		missing = tx.SetSecret(e.ctx, licensing.StoredSecret{Kind: licensing.SecretSharedKey, ID: k2.ID + 1000, Value: "x"})
		return nil
	})
	if !errors.Is(missing, licensing.ErrNoRows) {
		t.Errorf("SetSecret of a missing row: %v, want ErrNoRows", missing)
	}
}

func testManagementKeyRoundTrip(t *testing.T, e *env) {
	c := e.company("c")
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	cases := []licensing.ManagementKey{
		{Prefix: "pfx1", SecretHash: every, CreatedAt: at(1)},
		{Prefix: "pfx2", SecretHash: []byte{0}, Revoked: true, CreatedAt: at(2)},
		{Prefix: unicodeKey, SecretHash: []byte("\xff\xfe"), CreatedAt: at(3)},
	}
	for _, k := range cases {
		k.CompanyID = c.ID
		e.write(func(tx licensing.Tx) error { return tx.CreateManagementKey(e.ctx, &k) })
		if k.ID == 0 {
			t.Fatalf("%s: CreateManagementKey left ID 0", k.Prefix)
		}
		var got licensing.ManagementKey
		e.read(func(tx licensing.Tx) (err error) { got, err = tx.ManagementKeyByPrefix(e.ctx, k.Prefix); return err })
		equal(t, "ManagementKeyByPrefix "+k.Prefix, got, k)
	}
}

func testProductRoundTrip(t *testing.T, e *env) {
	c := e.company("c")
	cases := []licensing.Product{
		{Name: "Key app", ShortCode: "key-app", AuthorizationMethod: licensing.AuthLicenseKey, CreatedAt: at(1), UpdatedAt: at(2)},
		{Name: "User app", ShortCode: "user-app", AuthorizationMethod: licensing.AuthUser, CreatedAt: at(3), UpdatedAt: at(3)},
		{Name: unicodeName, ShortCode: unicodeKey, AuthorizationMethod: licensing.AuthLicenseKey, CreatedAt: at(4), UpdatedAt: at(5)},
		{Name: "", ShortCode: "no-name", AuthorizationMethod: licensing.AuthUser, CreatedAt: at(6), UpdatedAt: at(7)},
	}
	var all []licensing.Product
	for _, p := range cases {
		p.CompanyID = c.ID
		e.write(func(tx licensing.Tx) error { return tx.CreateProduct(e.ctx, &p) })
		all = append(all, p)
		if p.ID == 0 {
			t.Fatalf("%s: CreateProduct left ID 0", p.ShortCode)
		}
		var byID, byCode licensing.Product
		e.read(func(tx licensing.Tx) (err error) {
			if byID, err = tx.Product(e.ctx, c.ID, p.ID); err != nil {
				return err
			}
			byCode, err = tx.ProductByCode(e.ctx, c.ID, p.ShortCode)
			return err
		})
		equal(t, "Product "+p.ShortCode, byID, p)
		equal(t, "ProductByCode "+p.ShortCode, byCode, p)
	}
	var listed []licensing.Product
	e.read(func(tx licensing.Tx) (err error) {
		listed, _, err = tx.ListProducts(e.ctx, c.ID, licensing.Page{Limit: 100})
		return err
	})
	equal(t, "ListProducts", listed, all)
}

func testOrderRoundTrip(t *testing.T, e *env) {
	c := e.company("c")
	cases := []licensing.Order{
		{StoreID: "order-1", CustomerEmail: "buyer@example.com", CreatedAt: at(1)},
		{StoreID: "order-2", CustomerEmail: "", CreatedAt: at(2)},
		{StoreID: unicodeKey, CustomerEmail: "jürgen@exämple.de", CreatedAt: at(3)},
	}
	for _, o := range cases {
		o.CompanyID = c.ID
		e.write(func(tx licensing.Tx) error { return tx.CreateOrder(e.ctx, &o) })
		if o.ID == 0 {
			t.Fatalf("%s: CreateOrder left ID 0", o.StoreID)
		}
		var byID, byStore licensing.Order
		e.read(func(tx licensing.Tx) (err error) {
			if byID, err = tx.Order(e.ctx, c.ID, o.ID); err != nil {
				return err
			}
			byStore, err = tx.OrderByStoreID(e.ctx, c.ID, o.StoreID)
			return err
		})
		equal(t, "Order "+o.StoreID, byID, o)
		equal(t, "OrderByStoreID "+o.StoreID, byStore, o)
	}
}

func testLicenseRoundTrip(t *testing.T, e *env) {
	c := e.company("c")
	p := e.product(c.ID, "app", licensing.AuthLicenseKey)
	o := e.order(c.ID, "o")
	cases := []struct {
		name string
		l    licensing.License
	}{
		{"key, perpetual, no expiry", licensing.License{LicenseKey: "AAAA-BBBB", LicenseType: licensing.TypePerpetual,
			Enabled: true, Active: true, MaxActivations: 1, CreatedAt: at(1), UpdatedAt: at(2)}},
		{"no key, every flag flipped, expiry", licensing.License{LicenseKey: "", LicenseType: licensing.TypeTimeLimited,
			IsTrial: true, AllowUnlimitedActivations: true, ValidityPeriod: ptr(at(1000)), CreatedAt: at(3), UpdatedAt: at(3)}},
		{"second keyless license", licensing.License{LicenseType: licensing.TypeSubscription, Enabled: true, CreatedAt: at(4), UpdatedAt: at(4)}},
		{"int64 fields near 2^53", licensing.License{LicenseKey: "BIG", LicenseType: licensing.TypeSubscription, Enabled: true,
			MaxActivations: maxID, TimesActivated: maxID - 1, TransferCount: maxID - 2,
			ValidityPeriod: ptr(time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)), CreatedAt: at(5), UpdatedAt: at(6)}},
		{"unicode key, expiry before 1970", licensing.License{LicenseKey: unicodeKey, LicenseType: licensing.TypePerpetual,
			ValidityPeriod: ptr(time.UnixMilli(-86_400_001).UTC()), CreatedAt: at(7), UpdatedAt: at(8)}},
	}
	for _, tc := range cases {
		l := tc.l
		l.CompanyID, l.ProductID, l.OrderID = c.ID, p.ID, o.ID
		e.write(func(tx licensing.Tx) error { return tx.CreateLicense(e.ctx, &l) })
		if l.ID == 0 {
			t.Fatalf("%s: CreateLicense left ID 0", tc.name)
		}
		equal(t, tc.name+": License", e.getLicense(c.ID, l.ID), l)
		var locked licensing.License
		e.write(func(tx licensing.Tx) (err error) { locked, err = tx.LockLicense(e.ctx, c.ID, l.ID); return err })
		equal(t, tc.name+": LockLicense", locked, l)
		if l.LicenseKey == "" {
			continue
		}
		var byKey, listed []licensing.License
		e.read(func(tx licensing.Tx) (err error) {
			if byKey, err = tx.LicensesByKey(e.ctx, c.ID, p.ID, l.LicenseKey); err != nil {
				return err
			}
			listed, _, err = tx.ListLicenses(e.ctx, c.ID, licensing.LicenseFilter{LicenseKey: l.LicenseKey})
			return err
		})
		equal(t, tc.name+": LicensesByKey", byKey, []licensing.License{l})
		equal(t, tc.name+": ListLicenses by key", listed, []licensing.License{l})
	}
}

func testUpdateLicense(t *testing.T, e *env) {
	c := e.company("c")
	p := e.product(c.ID, "app", licensing.AuthLicenseKey)
	o := e.order(c.ID, "o")
	l := e.license(c.ID, p.ID, o.ID, "KEY")
	other := e.license(c.ID, p.ID, o.ID, "OTHER")

	// The fields the domain changes, each to a new value.
	steps := []struct {
		name   string
		change func(l *licensing.License)
	}{
		{"flags off, counters up, expiry set", func(l *licensing.License) {
			l.Enabled, l.Active, l.AllowUnlimitedActivations = false, false, true
			l.MaxActivations, l.TimesActivated, l.TransferCount = 7, 2, 3
			l.ValidityPeriod = ptr(at(500))
		}},
		{"expiry removed, flags on", func(l *licensing.License) {
			l.Enabled, l.Active, l.AllowUnlimitedActivations = true, true, false
			l.ValidityPeriod = nil
		}},
		{"counters to zero and near 2^53", func(l *licensing.License) {
			l.MaxActivations, l.TimesActivated, l.TransferCount = maxID, 0, maxID
		}},
	}
	for i, s := range steps {
		s.change(&l)
		l.UpdatedAt = at(100 + i)
		e.write(func(tx licensing.Tx) error { return tx.UpdateLicense(e.ctx, &l) })
		equal(t, s.name, e.getLicense(c.ID, l.ID), l)
	}
	equal(t, "untouched license", e.getLicense(c.ID, other.ID), other)
}

func testLicenseUserRoundTrip(t *testing.T, e *env) {
	c := e.company("c")
	p := e.product(c.ID, "users", licensing.AuthUser)
	p2 := e.product(c.ID, "users-2", licensing.AuthUser)
	o := e.order(c.ID, "o")
	l1 := e.license(c.ID, p.ID, o.ID, "")
	l2 := e.license(c.ID, p.ID, o.ID, "")
	l3 := e.license(c.ID, p2.ID, o.ID, "")

	mk := func(l licensing.License, email, hash string, ms int) licensing.LicenseUser {
		u := licensing.LicenseUser{CompanyID: c.ID, LicenseID: l.ID, Email: email, PasswordHash: hash, CreatedAt: at(ms)}
		e.write(func(tx licensing.Tx) error { return tx.CreateLicenseUser(e.ctx, &u) })
		if u.ID == 0 {
			t.Fatalf("%s: CreateLicenseUser left ID 0", email)
		}
		return u
	}
	a := mk(l1, "anna@example.com", "$argon2id$v=19$m=65536,t=1,p=4$salt$hash", 1)
	j := mk(l1, "jürgen@exämple.de", "", 2)
	a2 := mk(l2, "anna@example.com", "other-hash", 3)
	mk(l3, "anna@example.com", "third", 4)

	var users1, users2, none []licensing.LicenseUser
	var byAnna, byJurgen, byMissing []licensing.LicenseWithUser
	e.read(func(tx licensing.Tx) (err error) {
		if users1, err = tx.LicenseUsers(e.ctx, l1.ID); err != nil {
			return err
		}
		if users2, err = tx.LicenseUsers(e.ctx, l2.ID); err != nil {
			return err
		}
		if none, err = tx.LicenseUsers(e.ctx, l3.ID+1000); err != nil {
			return err
		}
		if byAnna, err = tx.LicensesByUser(e.ctx, c.ID, p.ID, "anna@example.com"); err != nil {
			return err
		}
		if byJurgen, err = tx.LicensesByUser(e.ctx, c.ID, p.ID, "jürgen@exämple.de"); err != nil {
			return err
		}
		byMissing, err = tx.LicensesByUser(e.ctx, c.ID, p.ID, "nobody@example.com")
		return err
	})
	equal(t, "LicenseUsers(l1) ordered by id", users1, []licensing.LicenseUser{a, j})
	equal(t, "LicenseUsers(l2)", users2, []licensing.LicenseUser{a2})
	if len(none) != 0 {
		t.Errorf("LicenseUsers of a missing license = %s", show(none))
	}
	// Only the product asked for, ordered by license id.
	equal(t, "LicensesByUser anna", byAnna, []licensing.LicenseWithUser{{License: l1, User: a}, {License: l2, User: a2}})
	equal(t, "LicensesByUser jürgen", byJurgen, []licensing.LicenseWithUser{{License: l1, User: j}})
	if len(byMissing) != 0 {
		t.Errorf("LicensesByUser of a missing user = %s", show(byMissing))
	}

}

// deviceCases are devices covering every field: nil and set time pointers, both
// booleans, empty and unicode strings, with and without a license user.
func deviceCases(userID int64) []licensing.Device {
	return []licensing.Device{
		{HardwareID: "hw-empty", CreatedAt: at(1), UpdatedAt: at(1)},
		{HardwareID: "hw-full", LicenseUserID: userID, Active: true, Blacklisted: true, TransferPending: true,
			Info: licensing.DeviceInfo{OSVer: "Windows 11 23H2", Hostname: "wörkstation-東京", IP: "10.0.0.1",
				MACAddress: "00:1A:2B:3C:4D:5E", AppVer: "1.2.3", SDKVer: "4.5.6", IsVM: true, VMInfo: "KVM 🚀"},
			ExternalIP: "2001:db8::1", TimeActivated: ptr(at(10)), TimeDeactivated: ptr(at(11)), LastCheck: ptr(at(12)),
			CreatedAt: at(2), UpdatedAt: at(3)},
		{HardwareID: unicodeKey, Active: true, Info: licensing.DeviceInfo{Hostname: unicodeName},
			TimeActivated: ptr(at(20)), LastCheck: ptr(time.UnixMilli(-5).UTC()), CreatedAt: at(4), UpdatedAt: at(5)},
		{HardwareID: "", TimeDeactivated: ptr(at(30)), CreatedAt: at(6), UpdatedAt: at(7)},
	}
}

func testDeviceRoundTrip(t *testing.T, e *env) {
	c := e.company("c")
	p := e.product(c.ID, "app", licensing.AuthUser)
	o := e.order(c.ID, "o")
	l := e.license(c.ID, p.ID, o.ID, "")
	u := e.user(c.ID, l.ID, "u@example.com")
	for _, d := range deviceCases(u.ID) {
		d.CompanyID, d.LicenseID = c.ID, l.ID
		e.write(func(tx licensing.Tx) error { return tx.CreateDevice(e.ctx, &d) })
		if d.ID == 0 {
			t.Fatalf("%q: CreateDevice left ID 0", d.HardwareID)
		}
		var byHW licensing.Device
		var listed []licensing.Device
		e.read(func(tx licensing.Tx) (err error) {
			if byHW, err = tx.DeviceByHardwareID(e.ctx, l.ID, d.HardwareID); err != nil {
				return err
			}
			listed, _, err = tx.ListDevices(e.ctx, c.ID, licensing.DeviceFilter{LicenseID: l.ID, HardwareID: d.HardwareID})
			return err
		})
		equal(t, d.HardwareID+": Device", e.getDevice(c.ID, d.ID), d)
		equal(t, d.HardwareID+": DeviceByHardwareID", byHW, d)
		if d.HardwareID != "" { // an empty filter means "any hardware_id"
			equal(t, d.HardwareID+": ListDevices by hardware_id", listed, []licensing.Device{d})
		}
	}
}

func testUpdateDevice(t *testing.T, e *env) {
	c := e.company("c")
	p := e.product(c.ID, "app", licensing.AuthUser)
	o := e.order(c.ID, "o")
	l := e.license(c.ID, p.ID, o.ID, "")
	u := e.user(c.ID, l.ID, "u@example.com")
	cases := deviceCases(u.ID)
	empty, full := cases[0], cases[1]
	empty.CompanyID, empty.LicenseID = c.ID, l.ID
	full.CompanyID, full.LicenseID = c.ID, l.ID
	e.write(func(tx licensing.Tx) error {
		if err := tx.CreateDevice(e.ctx, &empty); err != nil {
			return err
		}
		return tx.CreateDevice(e.ctx, &full)
	})
	// Swap the mutable state of the two devices: every field goes set→unset or unset→set.
	a, b := empty, full
	a.LicenseUserID, b.LicenseUserID = full.LicenseUserID, empty.LicenseUserID
	a.Active, b.Active = full.Active, empty.Active
	a.Blacklisted, b.Blacklisted = full.Blacklisted, empty.Blacklisted
	a.TransferPending, b.TransferPending = full.TransferPending, empty.TransferPending
	a.Info, b.Info = full.Info, empty.Info
	a.ExternalIP, b.ExternalIP = full.ExternalIP, empty.ExternalIP
	a.TimeActivated, b.TimeActivated = full.TimeActivated, empty.TimeActivated
	a.TimeDeactivated, b.TimeDeactivated = full.TimeDeactivated, empty.TimeDeactivated
	// LastCheck is the one field UpdateDevice leaves alone: only TouchDeviceCheck moves it.
	a.LastCheck, b.LastCheck = full.LastCheck, empty.LastCheck
	a.UpdatedAt, b.UpdatedAt = at(100), at(101)
	e.write(func(tx licensing.Tx) error {
		if err := tx.UpdateDevice(e.ctx, &a); err != nil {
			return err
		}
		return tx.UpdateDevice(e.ctx, &b)
	})
	a.LastCheck, b.LastCheck = empty.LastCheck, full.LastCheck
	equal(t, "empty device after update", e.getDevice(c.ID, a.ID), a)
	equal(t, "full device after update", e.getDevice(c.ID, b.ID), b)
}

func testDeviceCounters(t *testing.T, e *env) {
	c := e.company("c")
	p := e.product(c.ID, "app", licensing.AuthLicenseKey)
	o := e.order(c.ID, "o")
	l := e.license(c.ID, p.ID, o.ID, "K1")
	l2 := e.license(c.ID, p.ID, o.ID, "K2")
	d1 := e.device(c.ID, l.ID, "a", true, false)
	d2 := e.device(c.ID, l.ID, "b", true, true) // blacklisted devices keep their seat
	d3 := licensing.Device{CompanyID: c.ID, LicenseID: l.ID, HardwareID: "c", TimeActivated: ptr(at(40)),
		TimeDeactivated: ptr(at(50)), CreatedAt: at(40), UpdatedAt: at(50)}
	// d5 and d6: inactive, transfer pending (d6 blacklisted too); d7 another license's.
	d5, d6, d7 := d3, d3, d3
	d5.HardwareID, d5.TransferPending = "e", true
	d6.HardwareID, d6.TransferPending, d6.Blacklisted = "f", true, true
	d7.LicenseID, d7.HardwareID, d7.TransferPending = l2.ID, "g", true
	e.write(func(tx licensing.Tx) error {
		for _, d := range []*licensing.Device{&d3, &d5, &d6, &d7} {
			if err := tx.CreateDevice(e.ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	d4 := e.device(c.ID, l2.ID, "a", true, false)

	count := func(licenseID int64) int64 {
		t.Helper()
		var n int64
		e.read(func(tx licensing.Tx) (err error) { n, err = tx.CountActiveDevices(e.ctx, licenseID); return err })
		return n
	}
	if n := count(l.ID); n != 2 {
		t.Errorf("CountActiveDevices = %d, want 2", n)
	}

	// TouchDeviceCheck sets last_check only, and never moves it back.
	e.write(func(tx licensing.Tx) error { return tx.TouchDeviceCheck(e.ctx, d1.ID, at(300)) })
	e.write(func(tx licensing.Tx) error { return tx.TouchDeviceCheck(e.ctx, d1.ID, at(200)) })
	d1.LastCheck = ptr(at(300))
	equal(t, "after TouchDeviceCheck", e.getDevice(c.ID, d1.ID), d1)

	// TransferPendingDevice finds the license's marked device with the lowest id.
	pending := func(licenseID int64) (licensing.Device, error) {
		t.Helper()
		var d licensing.Device
		err := e.st.Read(e.ctx, func(tx licensing.Tx) (err error) { d, err = tx.TransferPendingDevice(e.ctx, licenseID); return err })
		return d, err
	}
	if d, err := pending(l.ID); err != nil {
		t.Errorf("TransferPendingDevice: %v", err)
	} else {
		equal(t, "TransferPendingDevice", d, d5)
	}
	if d, err := pending(l2.ID); err != nil {
		t.Errorf("TransferPendingDevice of the other license: %v", err)
	} else {
		equal(t, "TransferPendingDevice of the other license", d, d7)
	}
	if d, err := pending(l2.ID + 1000); !errors.Is(err, licensing.ErrNoRows) {
		t.Errorf("TransferPendingDevice of a missing license = %+v, %v; want ErrNoRows", d, err)
	}

	// DeactivateDevices deactivates the license's active devices and clears its marks,
	// nothing else.
	e.write(func(tx licensing.Tx) error { return tx.DeactivateDevices(e.ctx, l.ID, at(400)) })
	for _, d := range []*licensing.Device{&d1, &d2} {
		d.Active, d.TimeDeactivated, d.UpdatedAt = false, ptr(at(400)), at(400)
	}
	d5.TransferPending, d6.TransferPending = false, false
	equal(t, "active device after DeactivateDevices", e.getDevice(c.ID, d1.ID), d1)
	equal(t, "blacklisted device after DeactivateDevices", e.getDevice(c.ID, d2.ID), d2)
	equal(t, "inactive device after DeactivateDevices", e.getDevice(c.ID, d3.ID), d3)
	equal(t, "transfer pending device after DeactivateDevices", e.getDevice(c.ID, d5.ID), d5)
	equal(t, "blacklisted transfer pending device after DeactivateDevices", e.getDevice(c.ID, d6.ID), d6)
	equal(t, "other license's device after DeactivateDevices", e.getDevice(c.ID, d4.ID), d4)
	equal(t, "other license's transfer pending device after DeactivateDevices", e.getDevice(c.ID, d7.ID), d7)
	if d, err := pending(l.ID); !errors.Is(err, licensing.ErrNoRows) {
		t.Errorf("TransferPendingDevice after DeactivateDevices = %+v, %v; want ErrNoRows", d, err)
	}
	if n := count(l.ID); n != 0 {
		t.Errorf("CountActiveDevices after DeactivateDevices = %d, want 0", n)
	}
	if n := count(l2.ID); n != 1 {
		t.Errorf("CountActiveDevices of the other license = %d, want 1", n)
	}
	if n := count(l2.ID + 1000); n != 0 {
		t.Errorf("CountActiveDevices of a missing license = %d, want 0", n)
	}
}

// testUserDeviceCounts: CountActiveUserDevices counts the license's active devices
// (blacklisted ones keep their seat) that the user activated, no one else's.
func testUserDeviceCounts(t *testing.T, e *env) {
	c := e.company("c")
	p := e.product(c.ID, "app", licensing.AuthUser)
	o := e.order(c.ID, "o")
	l := e.license(c.ID, p.ID, o.ID, "K1")
	l2 := e.license(c.ID, p.ID, o.ID, "K2")
	alice := e.user(c.ID, l.ID, "alice@example.com")
	bob := e.user(c.ID, l.ID, "bob@example.com")
	idle := e.user(c.ID, l.ID, "idle@example.com")
	alice2 := e.user(c.ID, l2.ID, "alice@example.com") // the same email on another license
	devices := []struct {
		licenseID, userID   int64
		hw                  string
		active, blacklisted bool
	}{
		{l.ID, alice.ID, "a1", true, false},
		{l.ID, alice.ID, "a2", true, true},
		{l.ID, alice.ID, "a3", false, false},
		{l.ID, bob.ID, "b1", true, false},
		{l.ID, 0, "n1", true, false},
		{l2.ID, alice2.ID, "a1", true, false},
		{l2.ID, alice2.ID, "a2", true, false},
		{l2.ID, alice2.ID, "a3", true, false},
	}
	e.write(func(tx licensing.Tx) error {
		for _, dv := range devices {
			d := licensing.Device{CompanyID: c.ID, LicenseID: dv.licenseID, LicenseUserID: dv.userID, HardwareID: dv.hw,
				Active: dv.active, Blacklisted: dv.blacklisted, TimeActivated: ptr(at(9)), CreatedAt: at(9), UpdatedAt: at(9)}
			if err := tx.CreateDevice(e.ctx, &d); err != nil {
				return err
			}
		}
		return nil
	})
	cases := []struct {
		name              string
		licenseID, userID int64
		want              int64
	}{
		{"active and blacklisted, not inactive", l.ID, alice.ID, 2},
		{"another user of the license", l.ID, bob.ID, 1},
		{"a user with no device", l.ID, idle.ID, 0},
		{"the same email on another license", l2.ID, alice2.ID, 3},
		{"a user of another license", l.ID, alice2.ID, 0},
		{"a missing license", l2.ID + 1000, alice.ID, 0},
		{"a missing user", l.ID, alice2.ID + 1000, 0},
	}
	for _, tc := range cases {
		var n int64
		e.read(func(tx licensing.Tx) (err error) {
			n, err = tx.CountActiveUserDevices(e.ctx, tc.licenseID, tc.userID)
			return err
		})
		if n != tc.want {
			t.Errorf("%s: CountActiveUserDevices = %d, want %d", tc.name, n, tc.want)
		}
	}
}

// testTimePrecision: times are kept to the millisecond (truncated, like Service.Now)
// and come back in UTC whatever zone they went in with.
func testTimePrecision(t *testing.T, e *env) {
	c := e.company("c")
	p := e.product(c.ID, "app", licensing.AuthLicenseKey)
	o := e.order(c.ID, "o")
	l := e.license(c.ID, p.ID, o.ID, "K")
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	ins := []time.Time{
		time.Date(2025, 6, 7, 8, 9, 10, 123_456_789, time.UTC),
		time.Date(2025, 6, 7, 8, 9, 10, 999_999_999, zone),
		time.Date(1969, 12, 31, 23, 59, 59, 999_500_000, time.UTC), // -0.5 ms
		time.Now(), // carries a monotonic reading
	}
	for i, in := range ins {
		want := in.Truncate(time.Millisecond).UTC()
		d := licensing.Device{CompanyID: c.ID, LicenseID: l.ID, HardwareID: e.uniq("hw"),
			TimeActivated: &in, TimeDeactivated: &in, LastCheck: &in, CreatedAt: in, UpdatedAt: in}
		e.write(func(tx licensing.Tx) error { return tx.CreateDevice(e.ctx, &d) })
		got := e.getDevice(c.ID, d.ID)
		for name, v := range map[string]time.Time{"time_activated": *got.TimeActivated, "time_deactivated": *got.TimeDeactivated,
			"last_check": *got.LastCheck, "created_at": got.CreatedAt, "updated_at": got.UpdatedAt} {
			if v != want { // == also checks the location is UTC
				t.Errorf("case %d %s: stored %s, read back %s, want %s", i, name, in.Format(time.RFC3339Nano), v.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
			}
		}
	}
}

// testLargeIDs: ids up to 2^53-1 (the largest a JavaScript client reads exactly) go
// through every lookup and reference. Rows with such ids are inserted with raw SQL.
func testLargeIDs(t *testing.T, e *env) {
	db := e.db()
	const cid, pid, lid = maxID, maxID - 1, maxID - 2
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO companies (id, name, signing_key_pem, public_key_pem, created_at) VALUES ($1, $2, $3, $4, $5)`,
			[]any{cid, "big", "priv", "pub", at(1).UnixMilli()}},
		{`INSERT INTO products (id, company_id, name, short_code, authorization_method, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			[]any{pid, cid, "Big", "big", licensing.AuthUser, at(2).UnixMilli(), at(3).UnixMilli()}},
	} {
		if _, err := db.ExecContext(e.ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	o := e.order(cid, "big-order")
	if _, err := db.ExecContext(e.ctx, `INSERT INTO licenses (id, company_id, product_id, order_id, license_key, license_type, enabled, active, is_trial,
		max_activations, allow_unlimited_activations, times_activated, transfer_count, validity_period, created_at, updated_at)
		VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13, $14)`,
		lid, cid, pid, o.ID, licensing.TypePerpetual, true, true, false, maxID, false, 0, 0, at(4).UnixMilli(), at(5).UnixMilli()); err != nil {
		t.Fatalf("insert license: %v", err)
	}
	wantC := licensing.Company{ID: cid, Name: "big", SigningKeyPEM: "priv", PublicKeyPEM: "pub", CreatedAt: at(1)}
	wantP := licensing.Product{ID: pid, CompanyID: cid, Name: "Big", ShortCode: "big", AuthorizationMethod: licensing.AuthUser, CreatedAt: at(2), UpdatedAt: at(3)}
	wantL := licensing.License{ID: lid, CompanyID: cid, ProductID: pid, OrderID: o.ID, LicenseType: licensing.TypePerpetual,
		Enabled: true, Active: true, MaxActivations: maxID, CreatedAt: at(4), UpdatedAt: at(5)}
	u := e.user(cid, lid, "big@example.com")
	d := e.device(cid, lid, "hw", true, false)
	vars := []licensing.Variable{{Name: "v", Value: "1", CreatedAt: at(6)}}
	e.write(func(tx licensing.Tx) error { return tx.UpsertVariables(e.ctx, d.ID, vars) })

	var gotC licensing.Company
	var gotP, gotPC licensing.Product
	var gotL, gotLocked licensing.License
	var byUser []licensing.LicenseWithUser
	var listedL []licensing.License
	var listedD []licensing.Device
	var byHW licensing.Device
	var gotO licensing.Order
	e.write(func(tx licensing.Tx) (err error) {
		if gotC, err = tx.Company(e.ctx, cid); err != nil {
			return err
		}
		if gotP, err = tx.Product(e.ctx, cid, pid); err != nil {
			return err
		}
		if gotPC, err = tx.ProductByCode(e.ctx, cid, "big"); err != nil {
			return err
		}
		if gotO, err = tx.Order(e.ctx, cid, o.ID); err != nil {
			return err
		}
		if gotL, err = tx.License(e.ctx, cid, lid); err != nil {
			return err
		}
		if gotLocked, err = tx.LockLicense(e.ctx, cid, lid); err != nil {
			return err
		}
		if byUser, err = tx.LicensesByUser(e.ctx, cid, pid, "big@example.com"); err != nil {
			return err
		}
		if listedL, _, err = tx.ListLicenses(e.ctx, cid, licensing.LicenseFilter{ProductShortCode: "big"}); err != nil {
			return err
		}
		if listedD, _, err = tx.ListDevices(e.ctx, cid, licensing.DeviceFilter{LicenseID: lid}); err != nil {
			return err
		}
		byHW, err = tx.DeviceByHardwareID(e.ctx, lid, "hw")
		return err
	})
	equal(t, "Company", gotC, wantC)
	equal(t, "Product", gotP, wantP)
	equal(t, "ProductByCode", gotPC, wantP)
	equal(t, "Order", gotO, o)
	equal(t, "License", gotL, wantL)
	equal(t, "LockLicense", gotLocked, wantL)
	equal(t, "LicensesByUser", byUser, []licensing.LicenseWithUser{{License: wantL, User: u}})
	equal(t, "ListLicenses", listedL, []licensing.License{wantL})
	equal(t, "ListDevices", listedD, []licensing.Device{d})
	equal(t, "DeviceByHardwareID", byHW, d)
	equal(t, "Device", e.getDevice(cid, d.ID), d)
}
