package bulkseed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/loadgen"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/internal/postgres"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/internal/sqlite"
)

// countingStore counts write transactions.
type countingStore struct {
	licensing.Store
	writes atomic.Int64
}

func (s *countingStore) Write(ctx context.Context, fn func(licensing.Tx) error) error {
	s.writes.Add(1)
	return s.Store.Write(ctx, fn)
}

type env struct {
	st      *countingStore
	svc     *licensing.Service
	company int64
}

func newEnv(t *testing.T, st licensing.Store) *env {
	t.Helper()
	t.Cleanup(func() { st.Close() })
	cs := &countingStore{Store: st}
	svc := licensing.NewService(cs)
	cr, err := svc.Init(context.Background(), "acme", signing.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	return &env{st: cs, svc: svc, company: cr.CompanyID}
}

func TestSeedSQLite(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	testSeed(t, newEnv(t, st))
}

func TestSeedPostgres(t *testing.T) {
	st, err := postgres.Open(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	testSeed(t, newEnv(t, st))
}

func TestSeedAcrossStatementsSQLite(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	testSeedAcrossStatements(t, newEnv(t, st))
}

func TestSeedAcrossStatementsPostgres(t *testing.T) {
	st, err := postgres.Open(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	testSeedAcrossStatements(t, newEnv(t, st))
}

// testSeedAcrossStatements: one batch larger than a bulk statement holds (the stores
// split licenses after 2,184 rows, devices after 1,724) wires every device, variable
// and audit entry to its own license; a batch with a key repeated, or with a key the
// company has under another product, is refused whole.
func testSeedAcrossStatements(t *testing.T, e *env) {
	ctx := context.Background()
	const n = 2200
	if _, err := Seed(ctx, e.svc, Config{CompanyID: e.company, Product: "big", Devices: n, Variables: 2, Batch: n}); err != nil {
		t.Fatal(err)
	}
	e.read(t, func(tx licensing.Tx) error {
		prod, err := tx.ProductByCode(ctx, e.company, "big")
		if err != nil {
			return err
		}
		for _, i := range []int{0, 1723, 1724, 2183, 2184, n - 1} {
			key, hw := loadgen.FleetLicenseKey("big", i), loadgen.FleetHardwareID("big", i)
			ls, err := tx.LicensesByKey(ctx, e.company, prod.ID, key)
			if err != nil || len(ls) != 1 {
				t.Fatalf("license %s: %v %+v", key, err, ls)
			}
			d, err := tx.DeviceByHardwareID(ctx, ls[0].ID, hw)
			if err != nil {
				t.Fatalf("device %s on license %s: %v", hw, key, err)
			}
			if vars, err := tx.Variables(ctx, d.ID); err != nil || len(vars) != 2 || vars[1].Value != "steady-1" {
				t.Errorf("variables of %s: %v %+v", hw, err, vars)
			}
			for _, obj := range []struct {
				typ    string
				id     int64
				action string
				want   string // in the entry's after view
			}{{"license", ls[0].ID, licensing.AuditLicenseCreate, `"license_key":"` + key + `"`},
				{"device", d.ID, licensing.AuditDeviceActivate, fmt.Sprintf(`"license_id":%d,`, ls[0].ID)}} {
				es, _, err := tx.ListAudit(ctx, e.company, licensing.AuditFilter{Page: licensing.Page{Limit: 10}, ObjectType: obj.typ, ObjectID: obj.id})
				if err != nil || len(es) != 1 || es[0].Action != obj.action || !strings.Contains(string(es[0].After), obj.want) {
					t.Errorf("audit of %s %d: %v %+v", obj.typ, obj.id, err, es)
				}
			}
		}
		return nil
	})

	// Refused whole: nothing written, the error names the field.
	count := func() (licenses, audits int64) {
		e.read(t, func(tx licensing.Tx) (err error) {
			if _, licenses, err = tx.ListLicenses(ctx, e.company, licensing.LicenseFilter{Page: licensing.Page{Limit: 1}}); err != nil {
				return err
			}
			_, audits, err = tx.ListAudit(ctx, e.company, licensing.AuditFilter{Page: licensing.Page{Limit: 1}})
			return err
		})
		return
	}
	if _, err := e.svc.CreateProduct(ctx, e.company, licensing.ProductInput{Name: "other", ShortCode: "other"}); err != nil {
		t.Fatal(err)
	}
	l0, a0 := count()
	fresh := func(i int) licensing.SeedDevice {
		return licensing.SeedDevice{LicenseKey: fmt.Sprintf("OTHER-%d", i), HardwareID: fmt.Sprintf("hw-%d", i)}
	}
	for _, tc := range []struct {
		name, field string
		devs        []licensing.SeedDevice
	}{
		{"a key twice in the batch", "licenses[2].key", []licensing.SeedDevice{fresh(0), fresh(1), fresh(0)}},
		{"a key of another product", "licenses", append([]licensing.SeedDevice{fresh(0), fresh(1)},
			licensing.SeedDevice{LicenseKey: loadgen.FleetLicenseKey("big", n-1), HardwareID: "hw-x"})},
	} {
		_, err := e.svc.SeedActivated(ctx, e.company, "other", tc.devs)
		var le *licensing.Error
		if !errors.As(err, &le) || le.Code != licensing.EValidation || le.Field != tc.field {
			t.Errorf("%s: %v, want a validation error of %s", tc.name, err, tc.field)
		}
		if l, a := count(); l != l0 || a != a0 {
			t.Errorf("%s: %d licenses and %d audit entries after, want %d and %d", tc.name, l, a, l0, a0)
		}
	}
}

func (e *env) read(t *testing.T, fn func(licensing.Tx) error) {
	t.Helper()
	if err := e.st.Read(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func testSeed(t *testing.T, e *env) {
	ctx := context.Background()
	const n, v = 25, 3
	var progress bytes.Buffer
	cfg := Config{CompanyID: e.company, Product: "fleet", Devices: n, Variables: v, Batch: 10, Progress: &progress}
	res, err := Seed(ctx, e.svc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.ProductCreated || res.Created != n || res.Existing != 0 || res.Batches != 3 {
		t.Fatalf("result %+v", res)
	}
	if lines := strings.Count(progress.String(), "seed: devices "); lines != 3 {
		t.Fatalf("%d progress lines, want one per batch:\n%s", lines, progress.String())
	}

	// Every row, through the store.
	var prod licensing.Product
	orders := map[int64]bool{}
	devices := make([]licensing.Device, n)
	e.read(t, func(tx licensing.Tx) error {
		var err error
		if prod, err = tx.ProductByCode(ctx, e.company, "fleet"); err != nil {
			return err
		}
		if prod.AuthorizationMethod != licensing.AuthLicenseKey || prod.Name != "licensor seed fleet" {
			t.Errorf("product %+v", prod)
		}
		for i := range n {
			key, hw := loadgen.FleetLicenseKey("fleet", i), loadgen.FleetHardwareID("fleet", i)
			ls, err := tx.LicensesByKey(ctx, e.company, prod.ID, key)
			if err != nil || len(ls) != 1 {
				t.Fatalf("license %s: %v %+v", key, err, ls)
			}
			l := ls[0]
			if !l.Enabled || !l.Active || l.IsTrial || l.MaxActivations != 1 || l.AllowUnlimitedActivations || l.TimesActivated != 1 ||
				l.TransferCount != 0 || l.ValidityPeriod != nil || l.LicenseType != licensing.TypePerpetual {
				t.Errorf("license %s: %+v", key, l)
			}
			if _, err := tx.Order(ctx, e.company, l.OrderID); err != nil {
				t.Errorf("order of %s: %v", key, err)
			}
			orders[l.OrderID] = true
			d, err := tx.DeviceByHardwareID(ctx, l.ID, hw)
			if err != nil {
				t.Fatalf("device %s: %v", hw, err)
			}
			if !d.Active || d.Blacklisted || d.TimeActivated == nil || d.TimeDeactivated != nil || d.LastCheck != nil || d.LicenseUserID != 0 {
				t.Errorf("device %s: %+v", hw, d)
			}
			if n, err := tx.CountActiveDevices(ctx, l.ID); err != nil || n != 1 {
				t.Errorf("active devices of %s: %d, %v", key, n, err)
			}
			vars, err := tx.Variables(ctx, d.ID)
			if err != nil || len(vars) != v {
				t.Fatalf("variables of %s: %v %+v", hw, err, vars)
			}
			for j, vr := range vars {
				if name, value := loadgen.SteadyVariable(j); vr.Name != name || vr.Value != value {
					t.Errorf("variable %d of %s: %s = %q", j, hw, vr.Name, vr.Value)
				}
			}
			devices[i] = d
		}
		return nil
	})
	if len(orders) != 3 {
		t.Errorf("%d orders, want one per batch", len(orders))
	}
	auditCount := func(action string) int64 {
		var c int64
		e.read(t, func(tx licensing.Tx) (err error) {
			_, c, err = tx.ListAudit(ctx, e.company, licensing.AuditFilter{Page: licensing.Page{Limit: 1}, Action: action})
			return err
		})
		return c
	}
	for action, want := range map[string]int64{licensing.AuditProductCreate: 1, licensing.AuditOrderCreate: 3,
		licensing.AuditLicenseCreate: n, licensing.AuditDeviceActivate: n} {
		if got := auditCount(action); got != want {
			t.Errorf("%d %s audit entries, want %d", got, action, want)
		}
	}

	// The License API accepts a seeded device, and steady tracking writes nothing.
	id := licensing.Identity{Product: "fleet", HardwareID: loadgen.FleetHardwareID("fleet", n-1), LicenseKey: loadgen.FleetLicenseKey("fleet", n-1)}
	if st, err := e.svc.Check(ctx, e.company, id); err != nil || st.Device.ID != devices[n-1].ID {
		t.Fatalf("check a seeded device: %v", err)
	}
	steady := make([]licensing.VarInput, 2) // the bench may send fewer than were seeded
	for j := range steady {
		steady[j].Name, steady[j].Value = loadgen.SteadyVariable(j)
	}
	var before []licensing.Variable
	e.read(t, func(tx licensing.Tx) (err error) { before, err = tx.Variables(ctx, devices[n-1].ID); return err })
	w0 := e.st.writes.Load()
	if _, err := e.svc.TrackVariables(ctx, e.company, id, steady); err != nil {
		t.Fatalf("track-steady on a seeded device: %v", err)
	}
	if w := e.st.writes.Load() - w0; w != 0 {
		t.Errorf("track-steady on a seeded device ran %d write transactions", w)
	}
	var after []licensing.Variable
	e.read(t, func(tx licensing.Tx) (err error) { after, err = tx.Variables(ctx, devices[n-1].ID); return err })
	if !reflect.DeepEqual(before, after) {
		t.Errorf("track-steady changed the variables:\n%+v\n%+v", before, after)
	}

	// Resuming: seeded indexes are checked and skipped, the rest created.
	cfg.Devices = n + 7
	res, err = Seed(ctx, e.svc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.ProductCreated || res.Created != 7 || res.Existing != n || res.Batches != 2 { // 25–29 and 30–31
		t.Fatalf("resumed: %+v", res)
	}
	// A run whose settings the seeded licenses do not match refuses and writes nothing.
	w0 = e.st.writes.Load()
	cfg.Variables = v + 1
	if _, err := Seed(ctx, e.svc, cfg); err == nil || !strings.Contains(err.Error(), "no variable var3") || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("seed over licenses with fewer variables: %v", err)
	}
	if w := e.st.writes.Load() - w0; w != 0 {
		t.Errorf("a refused seed ran %d write transactions", w)
	}
	// A license with a seed's key on a device the seed did not make stops it too.
	if _, err := e.svc.CreateProduct(ctx, e.company, licensing.ProductInput{Name: "x", ShortCode: "taken"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateOrder(ctx, e.company, licensing.OrderInput{Items: []licensing.OrderItem{{ProductCode: "taken",
		Licenses: []licensing.LicenseInput{{Key: loadgen.FleetLicenseKey("taken", 1)}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Seed(ctx, e.svc, Config{CompanyID: e.company, Product: "taken", Devices: 3, Variables: 1}); err == nil ||
		!strings.Contains(err.Error(), "TAKEN-0000001") {
		t.Fatalf("seed over a license made by create_order: %v", err)
	}

	// A user-based product, a missing company: refused.
	if _, err := e.svc.CreateProduct(ctx, e.company, licensing.ProductInput{Name: "u", ShortCode: "users", AuthorizationMethod: licensing.AuthUser}); err != nil {
		t.Fatal(err)
	}
	if _, err := Seed(ctx, e.svc, Config{CompanyID: e.company, Product: "users", Devices: 1}); err == nil || !strings.Contains(err.Error(), "key-based") {
		t.Fatalf("seed a user-based product: %v", err)
	}
	if _, err := Seed(ctx, e.svc, Config{CompanyID: e.company + 100, Product: "fleet", Devices: 1}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("seed a missing company: %v", err)
	}
}

// A seeded device is what create_order plus activate_license leave: same license and
// device fields, same variables, same audit entries (but for ids, names, times and actor).
func TestSeedLeavesWhatTheAPIWould(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, st)
	if _, err := Seed(ctx, e.svc, Config{CompanyID: e.company, Product: "seeded", Devices: 1, Variables: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateProduct(ctx, e.company, licensing.ProductInput{Name: "api", ShortCode: "api"}); err != nil {
		t.Fatal(err)
	}
	key, hw := loadgen.FleetLicenseKey("api", 0), loadgen.FleetHardwareID("api", 0)
	if _, err := e.svc.CreateOrder(ctx, e.company, licensing.OrderInput{Items: []licensing.OrderItem{{ProductCode: "api",
		Licenses: []licensing.LicenseInput{{Key: key, MaxActivations: 1}}}}}); err != nil {
		t.Fatal(err)
	}
	vars := make([]licensing.VarInput, 2)
	for j := range vars {
		vars[j].Name, vars[j].Value = loadgen.SteadyVariable(j)
	}
	if _, err := e.svc.Activate(ctx, e.company, licensing.ActivateRequest{Identity: licensing.Identity{Product: "api", HardwareID: hw, LicenseKey: key},
		Variables: vars}); err != nil {
		t.Fatal(err)
	}

	type state struct {
		License licensing.License
		Device  licensing.Device
		Vars    []licensing.Variable
		Audit   map[string]map[string]any // action → after, normalised
	}
	load := func(code string) state {
		var s state
		e.read(t, func(tx licensing.Tx) error {
			p, err := tx.ProductByCode(ctx, e.company, code)
			if err != nil {
				return err
			}
			ls, err := tx.LicensesByKey(ctx, e.company, p.ID, loadgen.FleetLicenseKey(code, 0))
			if err != nil || len(ls) != 1 {
				t.Fatalf("%s: %v %+v", code, err, ls)
			}
			if s.Device, err = tx.DeviceByHardwareID(ctx, ls[0].ID, loadgen.FleetHardwareID(code, 0)); err != nil {
				return err
			}
			if s.Vars, err = tx.Variables(ctx, s.Device.ID); err != nil {
				return err
			}
			s.Audit = map[string]map[string]any{}
			for _, obj := range []struct {
				typ string
				id  int64
			}{{"license", ls[0].ID}, {"device", s.Device.ID}} {
				es, _, err := tx.ListAudit(ctx, e.company, licensing.AuditFilter{Page: licensing.Page{Limit: 10}, ObjectType: obj.typ, ObjectID: obj.id})
				if err != nil {
					return err
				}
				for _, en := range es {
					if en.Before != nil {
						t.Errorf("%s %s: before %s", code, en.Action, en.Before)
					}
					var after map[string]any
					if err := json.Unmarshal(en.After, &after); err != nil {
						return err
					}
					for _, k := range []string{"id", "product_id", "order_id", "license_id", "license_key", "hardware_id", "time_activated"} {
						delete(after, k)
					}
					s.Audit[en.Action] = after
				}
			}
			s.License = ls[0]
			return nil
		})
		// What differs by construction: ids, names, times.
		l, d := &s.License, &s.Device
		if l.CreatedAt.IsZero() || d.TimeActivated == nil || d.CreatedAt.IsZero() {
			t.Errorf("%s: times not set: %+v %+v", code, l, d)
		}
		l.ID, l.ProductID, l.OrderID, l.LicenseKey = 0, 0, 0, ""
		l.CreatedAt, l.UpdatedAt = time.Time{}, time.Time{}
		d.ID, d.LicenseID, d.HardwareID, d.TimeActivated, d.CreatedAt, d.UpdatedAt = 0, 0, "", nil, time.Time{}, time.Time{}
		for j := range s.Vars {
			s.Vars[j].ID, s.Vars[j].DeviceID, s.Vars[j].CreatedAt = 0, 0, time.Time{}
		}
		return s
	}
	seeded, api := load("seeded"), load("api")
	if !reflect.DeepEqual(seeded, api) {
		t.Fatalf("seeded:\n%+v\nthrough the API:\n%+v", seeded, api)
	}
	if len(api.Audit) != 2 {
		t.Fatalf("audit entries %v, want license.create and device.activate", api.Audit)
	}
}
