package loadgen

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licensor/licensor/client"
)

// Fleet is what Seed created: a product and one activated device per license.
type Fleet struct {
	Product  string
	Devices  []Device
	SeedTime time.Duration
	// Preseeded: the fleet was seeded before the run (Config.Fleet), not by Seed.
	Preseeded bool
}

// mgmtTimeout bounds one management call (a batch of licenses is one transaction).
const mgmtTimeout = 60 * time.Second

// Seed creates a product with a fresh short code, Config.Devices licenses of one
// activation each (create_order in batches of Config.BatchSize) and activates
// one device on each through the License API with Config.Concurrency workers,
// verifying every activation answer. Any failure aborts the seeding. With
// Config.Fleet it seeds nothing and returns that fleet's first Config.Devices devices
// (see existingFleet).
func (b *Bench) Seed(ctx context.Context) (*Fleet, error) {
	if b.wl == nil {
		return nil, errNoWorkload
	}
	if b.cfg.Fleet != "" {
		return b.existingFleet(ctx)
	}
	start := time.Now()
	var rnd [4]byte
	rand.Read(rnd[:])
	code := "bench-" + hex.EncodeToString(rnd[:])
	if err := b.manage(ctx, 0, "products/", map[string]string{"product_name": "licensor bench " + code, "short_code": code}); err != nil {
		return nil, fmt.Errorf("seed: create product: %w", err)
	}
	f := &Fleet{Product: code, Devices: FleetDevices(code, b.cfg.Devices)}

	type lic struct {
		Key            string `json:"key"`
		MaxActivations int    `json:"max_activations"`
	}
	type item struct {
		ProductCode string `json:"product_code"`
		Licenses    []lic  `json:"licenses"`
	}
	for n, lo := 0, 0; lo < len(f.Devices); n, lo = n+1, lo+b.cfg.BatchSize {
		hi := min(lo+b.cfg.BatchSize, len(f.Devices))
		it := item{ProductCode: code, Licenses: make([]lic, 0, hi-lo)}
		for _, d := range f.Devices[lo:hi] {
			it.Licenses = append(it.Licenses, lic{Key: d.LicenseKey, MaxActivations: 1})
		}
		if err := b.manage(ctx, n, "orders/create_order/", map[string][]item{"items": {it}}); err != nil {
			return nil, fmt.Errorf("seed: create licenses %d–%d: %w", lo, hi-1, err)
		}
	}
	fmt.Fprintf(b.progress, "seed: product %s, %d licenses created in %.1fs\n", code, len(f.Devices), time.Since(start).Seconds())

	if err := b.activateAll(ctx, f); err != nil {
		return nil, err
	}
	f.SeedTime = time.Since(start)
	fmt.Fprintf(b.progress, "seed: %d devices activated, seeding took %.1fs\n", len(f.Devices), f.SeedTime.Seconds())
	return f, nil
}

func (b *Bench) activateAll(ctx context.Context, f *Fleet) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		next, done, failed atomic.Int64
		wg                 sync.WaitGroup
	)
	stopProgress := b.startProgress("seed: activate", &done, &failed)
	defer stopProgress()
	for range min(b.cfg.Concurrency, len(f.Devices)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(len(f.Devices)) {
					return
				}
				d := &f.Devices[i]
				cl := b.targets[i%int64(len(b.targets))].cl
				actx, acancel := context.WithTimeout(ctx, b.cfg.Timeout)
				_, err := cl.ActivateLicense(actx, client.ActivateRequest{Identity: d.identity(), Variables: b.wl.ActivationVars(d)})
				acancel()
				if err != nil && ctx.Err() != nil {
					return // cut short (Ctrl-C, another activation failed): not a failure of its own
				}
				if err != nil {
					failed.Add(1)
					cancel(fmt.Errorf("seed: activate %s on %s: %w", d.LicenseKey, d.HardwareID, err))
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return context.Cause(ctx)
}

// manage POSTs a JSON body to the management API of target n (round-robin) and
// expects 200 or 201.
func (b *Bench) manage(ctx context.Context, n int, path string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, mgmtTimeout)
	defer cancel()
	u := b.cfg.Targets[n%len(b.cfg.Targets)] + "/api/v1/" + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Api-Key "+b.cfg.ManagementKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	io.Copy(io.Discard, resp.Body) // so the connection is reused
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		var e struct {
			Code    string `json:"code"`
			Detail  string `json:"detail"`  // the management API's errors
			Message string `json:"message"` // the server's, for a path no API has
		}
		if json.Unmarshal(rb, &e) == nil && e.Code != "" {
			return fmt.Errorf("POST %s: HTTP %d %s: %s", u, resp.StatusCode, e.Code, cmp.Or(e.Detail, e.Message))
		}
		return fmt.Errorf("POST %s: HTTP %d: %.200q", u, resp.StatusCode, rb)
	}
	return nil
}
