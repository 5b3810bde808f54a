package loadgen

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The names are a contract with `licensor seed`: pin them.
func TestFleetNames(t *testing.T) {
	if k, h := FleetLicenseKey("bench-ab12", 42), FleetHardwareID("bench-ab12", 42); k != "BENCH-AB12-0000042" || h != "bench-ab12-hw-0000042" {
		t.Fatalf("names of device 42: %q, %q", k, h)
	}
	if n, v := SteadyVariable(7); n != "var7" || v != "steady-7" {
		t.Fatalf("steady variable 7: %q = %q", n, v)
	}
	devs := FleetDevices("p", 3)
	if len(devs) != 3 || devs[2].Index != 2 || devs[2].LicenseKey != "P-0000002" || devs[2].HardwareID != "p-hw-0000002" {
		t.Fatalf("fleet devices: %+v", devs)
	}
	// track-steady sends exactly the steady variables.
	body := string(trackOp{op: "track-steady", prefix: "var", vars: 2}.request(&devs[0], 9).Body)
	if !strings.HasSuffix(body, `"variables":{"var0":"steady-0","var1":"steady-1"}}`) {
		t.Fatalf("track-steady body %s", body)
	}
}

// A run with Config.Fleet seeds nothing (it needs no management key) and drives the
// devices an earlier seed made, under the same names.
func TestFleetDrivesAnExistingFleet(t *testing.T) {
	e := newEnv(t)
	var calls atomic.Int64
	target := e.serve(t, &calls)
	cfg := e.config("track-steady", target)
	seeded := seed(t, newBench(t, cfg))

	cfg.Fleet, cfg.ManagementKey = seeded.Product, ""
	cfg.MaxRequests, cfg.Duration = 60, time.Minute // the count bound ends the run
	b := newBench(t, cfg)
	before := calls.Load()
	f := seed(t, b)
	if probes := calls.Load() - before; probes != 2 {
		t.Fatalf("a fleet run sent %d License API requests before running, want 2 probes", probes)
	}
	if !f.Preseeded || f.Product != seeded.Product || len(f.Devices) != len(seeded.Devices) {
		t.Fatalf("fleet %+v", f)
	}
	for i := range f.Devices {
		if f.Devices[i].LicenseKey != seeded.Devices[i].LicenseKey || f.Devices[i].HardwareID != seeded.Devices[i].HardwareID {
			t.Fatalf("device %d: %+v, seeded %+v", i, f.Devices[i], seeded.Devices[i])
		}
	}
	res := run(t, b, f)
	if res.Requests != 60 || res.ErrorCount() != 0 || res.Verified != res.Sampled {
		t.Fatalf("requests %d, errors %v %v, sampled %d verified %d", res.Requests, res.Errors, res.ErrorSamples, res.Sampled, res.Verified)
	}
	var text strings.Builder
	if err := res.WriteText(&text); err != nil || !strings.Contains(text.String(), "seeded before the run") || !res.Report().Preseeded {
		t.Fatalf("report: %v\n%s", err, text.String())
	}

	// A fleet smaller than --devices, one that does not exist, or one without the
	// variables the workload sends fails before the run, saying why; only a fleet
	// not found asks whether it was seeded, not wrong credentials or a wrong key.
	otherKey := []byte(newEnv(t).creds.PublicKey)
	for _, tc := range []struct {
		name string
		mut  func(*Config)
		want string
		hint bool
	}{
		{"too few devices", func(c *Config) { c.Devices = len(seeded.Devices) + 1 }, "license_not_found", true},
		{"no such fleet", func(c *Config) { c.Fleet = "nope" }, "unknown_product", true},
		{"too many variables", func(c *Config) { c.Variables = cfg.Variables + 1 }, "has no variable var3", false},
		{"get-variables wants them all", func(c *Config) { c.Workload, c.Variables = "get-variables", cfg.Variables-1 }, "expects exactly", false},
		{"wrong shared key", func(c *Config) { c.SharedKey = "wrong" }, "signature_mismatch", false},
		{"wrong public key", func(c *Config) { c.PublicKeyPEM = otherKey }, "does not verify", false},
	} {
		c := cfg
		tc.mut(&c)
		_, err := newBench(t, c).Seed(context.Background())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		} else if hint := strings.Contains(err.Error(), "was the fleet seeded"); hint != tc.hint {
			t.Errorf("%s: %v: asks whether the fleet was seeded: %v, want %v", tc.name, err, hint, tc.hint)
		}
	}
}

func TestFleetRefusesWorkloadsWithDevicesOfTheirOwn(t *testing.T) {
	e := newEnv(t)
	cfg := e.config("check", "http://127.0.0.1:1")
	cfg.Fleet, cfg.ManagementKey = "p", ""
	if _, err := New(cfg); err != nil {
		t.Fatalf("check on a fleet: %v", err)
	}
	for _, wl := range Workloads() {
		w, _ := NewWorkload(wl, WorkloadOptions{})
		if w.OwnDevices() == 0 {
			continue
		}
		cfg.Workload = wl
		_, err := New(cfg)
		if !errors.Is(err, errFleetOwnDevices) || !strings.Contains(err.Error(), "without --fleet") {
			t.Errorf("%s on a fleet: %v", wl, err)
		}
	}
	cfg.Workload, cfg.Fleet = "check", ""
	if _, err := New(cfg); err == nil {
		t.Error("no management key and no fleet: accepted")
	}
}
