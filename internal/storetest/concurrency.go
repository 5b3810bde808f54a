package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
)

// The concurrency tests run the domain rules (licensing.Service) on the store: the
// rules read, decide and write inside one transaction and rely on LockLicense and
// LockTenants to make that safe.
var concurrencyTests = []test{
	{"LockLicenseNoLostUpdates", testLockLicenseSerialises},
	{"LockTenants", testLockTenants},
	{"ActivateRespectsMax", testConcurrentActivate},
	{"TrackVariables", testConcurrentTrackVariables},
	{"ActivateDeactivate", testConcurrentActivateDeactivate},
	{"Init", testConcurrentInit},
	{"RevokeAPIKey", testConcurrentRevokeAPIKey},
}

// race runs n copies of fn at once and waits for them.
func race(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// testLockLicenseSerialises: read-modify-write under LockLicense loses no update.
func testLockLicenseSerialises(t *testing.T, e *env) {
	a := e.tenant("a")
	const workers, each = 10, 5
	race(workers, func(int) {
		for range each {
			err := e.st.Write(e.ctx, func(tx licensing.Tx) error {
				l, err := tx.LockLicense(e.ctx, a.Company.ID, a.License.ID)
				if err != nil {
					return err
				}
				l.TransferCount++
				return tx.UpdateLicense(e.ctx, &l)
			})
			if err != nil {
				t.Errorf("increment: %v", err)
			}
		}
	})
	if got := e.getLicense(a.Company.ID, a.License.ID).TransferCount; got != workers*each {
		t.Errorf("transfer_count = %d after %d locked increments", got, workers*each)
	}
}

// testLockTenants: check-then-create under LockTenants creates one company. (The
// Init test below races the same rule through the Service, but its window is too
// narrow to catch a missing lock reliably.)
func testLockTenants(t *testing.T, e *env) {
	race(8, func(i int) {
		err := e.st.Write(e.ctx, func(tx licensing.Tx) error {
			if err := tx.LockTenants(e.ctx); err != nil {
				return err
			}
			n, err := tx.CompanyCount(e.ctx)
			if err != nil || n > 0 {
				return err
			}
			time.Sleep(20 * time.Millisecond) // widen the window an unserialised store would lose in
			return tx.CreateCompany(e.ctx, &licensing.Company{Name: fmt.Sprint("c", i), CreatedAt: at(1)})
		})
		if err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	})
	var n int64
	e.read(func(tx licensing.Tx) (err error) { n, err = tx.CompanyCount(e.ctx); return err })
	if n != 1 {
		t.Errorf("CompanyCount = %d after concurrent check-then-create, want 1", n)
	}
}

// service initialises a company on the env's store and creates a key-based product
// "app" with one license per key, max_activations as given.
func (e *env) service(max int64, keys ...string) (*licensing.Service, int64) {
	e.t.Helper()
	svc := licensing.NewService(e.st)
	cr, err := svc.Init(e.ctx, "c", "ecdsa-p256") // RSA key generation would dominate the run time
	if err != nil {
		e.t.Fatalf("init: %v", err)
	}
	if _, err := svc.CreateProduct(e.ctx, cr.CompanyID, licensing.ProductInput{Name: "App", ShortCode: "app"}); err != nil {
		e.t.Fatalf("create product: %v", err)
	}
	var ls []licensing.LicenseInput
	for _, k := range keys {
		ls = append(ls, licensing.LicenseInput{Key: k, MaxActivations: max})
	}
	if _, err := svc.CreateOrder(e.ctx, cr.CompanyID, licensing.OrderInput{StoreID: "o",
		Items: []licensing.OrderItem{{ProductCode: "app", Licenses: ls}}}); err != nil {
		e.t.Fatalf("create order: %v", err)
	}
	return svc, cr.CompanyID
}

// seats returns a license's times_activated, its active devices and all its devices.
func (e *env) seats(companyID int64, key string) (licensing.License, int64, []licensing.Device) {
	e.t.Helper()
	var l licensing.License
	var active int64
	var ds []licensing.Device
	e.read(func(tx licensing.Tx) error {
		ls, _, err := tx.ListLicenses(e.ctx, companyID, licensing.LicenseFilter{LicenseKey: key})
		if err != nil || len(ls) != 1 {
			return fmt.Errorf("license %s: %d found, %v", key, len(ls), err)
		}
		l = ls[0]
		if active, err = tx.CountActiveDevices(e.ctx, l.ID); err != nil {
			return err
		}
		ds, _, err = tx.ListDevices(e.ctx, companyID, licensing.DeviceFilter{LicenseID: l.ID, Page: licensing.Page{Limit: 1000}})
		return err
	})
	return l, active, ds
}

func keyIdentity(key, hw string) licensing.Identity {
	return licensing.Identity{Product: "app", LicenseKey: key, HardwareID: hw}
}

func testConcurrentActivate(t *testing.T, e *env) {
	const n, max = 40, 5
	svc, cid := e.service(max, "RACE")
	errs := make([]error, n)
	race(n, func(i int) {
		_, errs[i] = svc.Activate(e.ctx, cid, licensing.ActivateRequest{Identity: keyIdentity("RACE", fmt.Sprint("hw-", i))})
	})
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case licensing.ErrorCode(err) == licensing.EMaxActivations:
		default:
			t.Errorf("activation %d: %v", i, err)
		}
	}
	if ok != max {
		t.Errorf("%d of %d concurrent activations succeeded, want %d", ok, n, max)
	}
	l, active, ds := e.seats(cid, "RACE")
	if l.TimesActivated != max || active != max || len(ds) != max {
		t.Errorf("times_activated %d, active devices %d, device rows %d; want %d each", l.TimesActivated, active, len(ds), max)
	}
}

func testConcurrentTrackVariables(t *testing.T, e *env) {
	const workers, each = 20, 10
	svc, cid := e.service(1, "VARS")
	id := keyIdentity("VARS", "hw")
	st, err := svc.Activate(e.ctx, cid, licensing.ActivateRequest{Identity: id})
	if err != nil {
		t.Fatalf("activate: %v", err)
	}
	race(workers, func(w int) {
		vars := make([]licensing.VarInput, each)
		for i := range vars {
			vars[i] = licensing.VarInput{Name: fmt.Sprintf("w%d-v%d", w, i), Value: fmt.Sprint(w)}
		}
		out, err := svc.TrackVariables(e.ctx, cid, id, vars)
		if err != nil {
			t.Errorf("worker %d: %v", w, err)
			return
		}
		for i, v := range out {
			if v.Name != vars[i].Name || v.Value != vars[i].Value || v.ID == 0 {
				t.Errorf("worker %d answer[%d] = %s, want %+v with an id", w, i, show(v), vars[i])
			}
		}
	})
	var vs []licensing.Variable
	e.read(func(tx licensing.Tx) (err error) { vs, err = tx.Variables(e.ctx, st.Device.ID); return err })
	seen := map[string]bool{}
	for _, v := range vs {
		if seen[v.Name] {
			t.Errorf("variable %q stored twice", v.Name)
		}
		seen[v.Name] = true
	}
	for w := range workers {
		for i := range each {
			if name := fmt.Sprintf("w%d-v%d", w, i); !seen[name] {
				t.Errorf("variable %s missing", name)
			}
		}
	}
	if len(vs) != workers*each {
		t.Errorf("%d variables stored, want %d", len(vs), workers*each)
	}
}

// testConcurrentActivateDeactivate races activations and deactivations of three
// hardware_ids on a two-seat license: the seat counter ends equal to the active devices,
// never above the maximum, with one row per hardware_id.
func testConcurrentActivateDeactivate(t *testing.T, e *env) {
	const max = 2
	svc, cid := e.service(max, "FLIP")
	hws := []string{"hw-a", "hw-a", "hw-a", "hw-b", "hw-b", "hw-c", "hw-c", "hw-a"}
	const rounds = 12
	race(len(hws), func(w int) {
		id := keyIdentity("FLIP", hws[w])
		for r := range rounds {
			var err error
			if (w+r)%2 == 0 {
				_, err = svc.Activate(e.ctx, cid, licensing.ActivateRequest{Identity: id})
			} else {
				err = svc.Deactivate(e.ctx, cid, id, nil)
			}
			switch {
			case err == nil:
			case licensing.ErrorCode(err) == licensing.EMaxActivations, licensing.ErrorCode(err) == licensing.EDeviceNotFound,
				licensing.ErrorCode(err) == licensing.ELicenseNotActive: // deactivation before the first activation
			default:
				t.Errorf("worker %d round %d: %v", w, r, err)
			}
		}
	})
	l, active, ds := e.seats(cid, "FLIP")
	if l.TimesActivated != active || active > max {
		t.Errorf("times_activated %d, active devices %d (max %d)", l.TimesActivated, active, max)
	}
	seen := map[string]bool{}
	for _, d := range ds {
		if seen[d.HardwareID] {
			t.Errorf("two device rows for %s", d.HardwareID)
		}
		seen[d.HardwareID] = true
	}
	if len(ds) > 3 {
		t.Errorf("%d device rows for 3 hardware ids", len(ds))
	}
}

func testConcurrentInit(t *testing.T, e *env) {
	const n = 8
	svc := licensing.NewService(e.st)
	errs := make([]error, n)
	race(n, func(i int) { _, errs[i] = svc.Init(e.ctx, fmt.Sprint("c", i), "ecdsa-p256") })
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, licensing.ErrAlreadyInitialised):
		default:
			t.Errorf("init %d: %v", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent Inits succeeded, want 1", ok, n)
	}
	var count int64
	e.read(func(tx licensing.Tx) (err error) { count, err = tx.CompanyCount(e.ctx); return err })
	if count != 1 {
		t.Errorf("CompanyCount = %d after concurrent Init, want 1", count)
	}
}

// testConcurrentRevokeAPIKey: of concurrent revocations of one key, exactly one reports
// the change (the domain records it once).
func testConcurrentRevokeAPIKey(t *testing.T, e *env) {
	a := e.tenant("a")
	const n = 8
	changed := make([]bool, n)
	errs := make([]error, n)
	race(n, func(i int) {
		errs[i] = e.st.Write(e.ctx, func(tx licensing.Tx) (err error) {
			changed[i], err = tx.RevokeAPIKey(e.ctx, a.Company.ID, a.APIKey.ID)
			return err
		})
	})
	n1 := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("revocation %d: %v", i, errs[i])
		}
		if changed[i] {
			n1++
		}
	}
	if n1 != 1 {
		t.Errorf("%d of %d concurrent revocations reported the change, want 1", n1, n)
	}
	if !e.getAPIKey(a.APIKey.Key).Revoked {
		t.Error("the key is not revoked")
	}
}
