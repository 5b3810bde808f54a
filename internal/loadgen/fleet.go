package loadgen

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/licensor/licensor/client"
)

// The names of a seeded fleet. Seed (through the APIs) and `licensor seed` (straight
// into the database) give device i of product code these names, so a bench run with
// Config.Fleet can drive a fleet either of them made.

// FleetLicenseKey is the license key of device i of product code.
func FleetLicenseKey(code string, i int) string {
	return strings.ToUpper(code) + fmt.Sprintf("-%07d", i)
}

// FleetHardwareID is the hardware id of device i of product code.
func FleetHardwareID(code string, i int) string { return fmt.Sprintf("%s-hw-%07d", code, i) }

// SteadyVariable is the i-th variable a seeded device holds: name var{i} and the value
// track-steady sends, so steady tracking of a seeded fleet never writes.
func SteadyVariable(i int) (name, value string) { return "var" + strconv.Itoa(i), steadyValue(i) }

// FleetDevices returns devices 0…n-1 of product code.
func FleetDevices(code string, n int) []Device {
	devs := make([]Device, n)
	for i := range devs {
		devs[i] = newDevice(i, code, FleetLicenseKey(code, i), FleetHardwareID(code, i))
	}
	return devs
}

// existingFleet is Seed with Config.Fleet: the fleet's first Config.Devices devices,
// seeded before (e.g. by `licensor seed`). It sends no management call; it only checks,
// through the License API, that the first and the last device are active and hold
// what the workload's activation would have given them, so a wrong --fleet or
// --devices fails here instead of as a run of errors.
func (b *Bench) existingFleet(ctx context.Context) (*Fleet, error) {
	code := b.cfg.Fleet
	f := &Fleet{Product: code, Devices: FleetDevices(code, b.cfg.Devices), Preseeded: true}
	probe := []*Device{&f.Devices[0]}
	if len(f.Devices) > 1 {
		probe = append(probe, &f.Devices[len(f.Devices)-1])
	}
	for _, d := range probe {
		if err := b.probeDevice(ctx, d); err != nil {
			return nil, fmt.Errorf("fleet %s: device %d (license %s, hardware id %s): %w", code, d.Index, d.LicenseKey, d.HardwareID, err)
		}
	}
	fmt.Fprintf(b.progress, "seed: using the seeded fleet %s, devices 0–%d (devices %d and %d checked)\n",
		code, len(f.Devices)-1, probe[0].Index, probe[len(probe)-1].Index)
	return f, nil
}

// probeDevice checks that d is active and holds the workload's activation variables.
func (b *Bench) probeDevice(ctx context.Context, d *Device) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	have, err := b.targets[0].cl.GetDeviceVariables(ctx, d.identity())
	if ae := (*client.APIError)(nil); errors.As(err, &ae) && fleetMissing[ae.Code] {
		return fmt.Errorf("%w (was the fleet seeded with `licensor seed --product %s --devices N`, N ≥ %d?)", err, b.cfg.Fleet, b.cfg.Devices)
	} else if err != nil {
		return err // wrong keys, a signature that does not verify, the target down: not a question of seeding
	}
	want := b.wl.ActivationVars(d)
	got := make(map[string]string, len(have))
	for _, v := range have {
		got[v.Variable] = v.Value
	}
	for _, v := range want {
		if s, ok := got[v.Name]; !ok {
			return fmt.Errorf("the device has no variable %s, which workload %s sends (seed with --variables ≥ %d, or run with fewer)", v.Name, b.wl.Name(), len(want))
		} else if s != fmt.Sprint(v.Value) {
			return fmt.Errorf("variable %s is %q, not %q as workload %s needs", v.Name, s, v.Value, b.wl.Name())
		}
	}
	if ev, ok := b.wl.(exactVariables); ok && ev.ExactVariables() && len(have) != len(want) {
		return fmt.Errorf("the device holds %d variables; workload %s expects exactly --variables %d", len(have), b.wl.Name(), len(want))
	}
	return nil
}

// fleetMissing are the License API's answers to a probe of a device the fleet does not have.
var fleetMissing = map[string]bool{"unknown_product": true, "license_not_found": true, "device_not_found": true}

// exactVariables is implemented by workloads that need a device to hold exactly its
// activation variables and no more (get-variables checks every answer lists them all).
type exactVariables interface{ ExactVariables() bool }

// errFleetOwnDevices is New's answer to Config.Fleet with a workload that changes the
// activation state of devices of its own.
var errFleetOwnDevices = errors.New("changes the activation state of devices of its own, so it needs a fleet seeded for it: run it without --fleet")
