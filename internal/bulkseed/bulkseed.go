// Package bulkseed fills a database with a load-test fleet straight through the
// licensing domain (`licensor seed`): a key-based product and N licenses of one
// activation, each with one active device holding V variables, named as the load
// generator names them (loadgen.FleetLicenseKey, loadgen.FleetHardwareID,
// loadgen.SteadyVariable), so `licensor bench --fleet CODE` can drive them. It writes
// what create_order and activate_license would, audit entries included, in one
// transaction per batch instead of two HTTP calls and transactions per device.
//
// Seeding is resumable: a batch commits whole or not at all, and a run over a product
// that already has licenses skips every index whose license exists, after checking it
// is what a seed leaves (enabled and active, its device active, its variables set); an
// index whose license differs stops the run, so nothing is half-overwritten.
package bulkseed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/loadgen"
)

// DefaultBatch is the devices per transaction when Config.Batch is 0.
const DefaultBatch = 10000

// Config is one seeding run.
type Config struct {
	CompanyID   int64
	Product     string // short code; the product is created (key-based) if missing
	ProductName string // name of a product created here ("": "licensor seed " + Product)
	Devices     int    // indexes 0…Devices-1
	Variables   int    // variables var0… per device, with the values track-steady sends
	Batch       int    // devices per transaction (0: DefaultBatch)
	Progress    io.Writer
}

// Result is what a run did.
type Result struct {
	Product        string
	ProductCreated bool
	Created        int // devices (with their licenses) created by this run
	Existing       int // indexes skipped because an earlier run had seeded them
	Batches        int // transactions committed
	Elapsed        time.Duration
}

// Seed runs cfg against svc's store.
func Seed(ctx context.Context, svc *licensing.Service, cfg Config) (Result, error) {
	res := Result{Product: cfg.Product}
	switch {
	case cfg.CompanyID < 1:
		return res, errors.New("company id must be positive")
	case cfg.Product == "":
		return res, errors.New("a product short code is required")
	case cfg.Devices < 1:
		return res, errors.New("devices must be at least 1")
	case cfg.Variables < 0:
		return res, errors.New("variables must not be negative")
	case cfg.Batch < 0:
		return res, errors.New("batch must not be negative")
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.ProductName == "" {
		cfg.ProductName = "licensor seed " + cfg.Product
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	start := time.Now()
	st := svc.Store()

	prod, created, err := ensureProduct(ctx, svc, cfg)
	if err != nil {
		return res, err
	}
	res.ProductCreated = created
	// A product with no licenses yet needs no per-index lookups.
	var have int64
	if !created {
		err = st.Read(ctx, func(tx licensing.Tx) (err error) {
			_, have, err = tx.ListLicenses(ctx, cfg.CompanyID, licensing.LicenseFilter{Page: licensing.Page{Limit: 1}, ProductShortCode: cfg.Product})
			return err
		})
		if err != nil {
			return res, fmt.Errorf("count licenses: %w", err)
		}
	}
	if created {
		fmt.Fprintf(progress, "seed: created key-based product %s (id %d)\n", cfg.Product, prod.ID)
	} else {
		fmt.Fprintf(progress, "seed: product %s (id %d) exists with %d licenses; indexes already seeded are checked and skipped\n", cfg.Product, prod.ID, have)
	}

	vars := make([]licensing.VarInput, cfg.Variables)
	for i := range vars {
		vars[i].Name, vars[i].Value = loadgen.SteadyVariable(i)
	}
	for lo := 0; lo < cfg.Devices; lo += cfg.Batch {
		hi := min(lo+cfg.Batch, cfg.Devices)
		t0 := time.Now()
		todo := make([]licensing.SeedDevice, 0, hi-lo)
		for i := lo; i < hi; i++ {
			todo = append(todo, licensing.SeedDevice{LicenseKey: loadgen.FleetLicenseKey(cfg.Product, i),
				HardwareID: loadgen.FleetHardwareID(cfg.Product, i), Variables: vars})
		}
		if have > 0 {
			if todo, err = skipSeeded(ctx, st, cfg, prod, todo); err != nil {
				return res, err
			}
			res.Existing += hi - lo - len(todo)
		}
		if len(todo) > 0 {
			if _, err := svc.SeedActivated(ctx, cfg.CompanyID, cfg.Product, todo); err != nil {
				if ctx.Err() != nil {
					return res, fmt.Errorf("devices %d–%d: %w (devices before %d are seeded; run the same command again to resume)", lo, hi-1, err, lo)
				}
				return res, fmt.Errorf("devices %d–%d: %w", lo, hi-1, err)
			}
			res.Created += len(todo)
			res.Batches++
		}
		el := time.Since(start)
		rate := float64(len(todo)) / max(time.Since(t0).Seconds(), 1e-9)
		left := ""
		if hi < cfg.Devices {
			left = fmt.Sprintf(", ~%.0fs left", el.Seconds()/float64(hi)*float64(cfg.Devices-hi))
		}
		fmt.Fprintf(progress, "seed: devices %d–%d: %d created, %d existed, %.2fs (%.0f devices/s); %d of %d done in %.1fs%s\n",
			lo, hi-1, len(todo), hi-lo-len(todo), time.Since(t0).Seconds(), rate, hi, cfg.Devices, el.Seconds(), left)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// ensureProduct returns the product, creating it (key-based, through the service, so
// audited) when missing; an existing product must be key-based.
func ensureProduct(ctx context.Context, svc *licensing.Service, cfg Config) (licensing.Product, bool, error) {
	var p licensing.Product
	var companyErr error
	err := svc.Store().Read(ctx, func(tx licensing.Tx) error {
		if _, err := tx.Company(ctx, cfg.CompanyID); errors.Is(err, licensing.ErrNoRows) {
			companyErr = fmt.Errorf("company %d does not exist (run `licensor init` first, or pass --company)", cfg.CompanyID)
			return companyErr
		} else if err != nil {
			companyErr = fmt.Errorf("company: %w", err)
			return companyErr
		}
		var err error
		p, err = tx.ProductByCode(ctx, cfg.CompanyID, cfg.Product)
		return err
	})
	if companyErr != nil {
		return p, false, companyErr
	}
	created := false
	if errors.Is(err, licensing.ErrNoRows) {
		p, err = svc.CreateProduct(ctx, cfg.CompanyID, licensing.ProductInput{Name: cfg.ProductName, ShortCode: cfg.Product,
			AuthorizationMethod: licensing.AuthLicenseKey})
		created = err == nil
	}
	if err != nil {
		return p, false, fmt.Errorf("product %s: %w", cfg.Product, err)
	}
	if p.AuthorizationMethod != licensing.AuthLicenseKey {
		return p, false, fmt.Errorf("product %s exists with authorization method %s; only a key-based product can be seeded", cfg.Product, p.AuthorizationMethod)
	}
	return p, created, nil
}

// skipSeeded drops from todo every index whose license exists, after checking that
// it is as a seed leaves it; a license that is not stops the run.
func skipSeeded(ctx context.Context, st licensing.Store, cfg Config, prod licensing.Product, todo []licensing.SeedDevice) ([]licensing.SeedDevice, error) {
	rest := todo[:0:0]
	err := st.Read(ctx, func(tx licensing.Tx) error {
		for _, sd := range todo {
			ls, err := tx.LicensesByKey(ctx, cfg.CompanyID, prod.ID, sd.LicenseKey)
			if err != nil {
				return fmt.Errorf("license %s: %w", sd.LicenseKey, err)
			}
			if len(ls) == 0 {
				rest = append(rest, sd)
				continue
			}
			if err := checkSeeded(ctx, tx, ls[0], sd); err != nil {
				return fmt.Errorf("license %s exists but %v: it was not seeded by `licensor seed` with these settings; "+
					"refusing to overwrite it (seed another --product)", sd.LicenseKey, err)
			}
		}
		return nil
	})
	return rest, err
}

func checkSeeded(ctx context.Context, tx licensing.Tx, l licensing.License, sd licensing.SeedDevice) error {
	if !l.Enabled || !l.Active || l.TimesActivated != 1 || l.MaxActivations != 1 || l.ValidityPeriod != nil {
		return fmt.Errorf("is not an enabled, active, perpetual license of one activation")
	}
	d, err := tx.DeviceByHardwareID(ctx, l.ID, sd.HardwareID)
	if errors.Is(err, licensing.ErrNoRows) {
		return fmt.Errorf("has no device %s", sd.HardwareID)
	} else if err != nil {
		return err
	}
	if !d.Active || d.Blacklisted {
		return fmt.Errorf("its device %s is not active", sd.HardwareID)
	}
	have, err := tx.Variables(ctx, d.ID)
	if err != nil {
		return err
	}
	got := make(map[string]string, len(have))
	for _, v := range have {
		got[v.Name] = v.Value
	}
	for _, v := range sd.Variables {
		if s, ok := got[v.Name]; !ok {
			return fmt.Errorf("its device has no variable %s", v.Name)
		} else if s != v.Value {
			return fmt.Errorf("its device's variable %s is %q, not %q", v.Name, s, v.Value)
		}
	}
	return nil
}
