package e2e

import (
	"fmt"
	"sync"
	"testing"

	"github.com/licensor/licensor/client"
)

// TestConcurrentActivations: many devices racing for few seats get exactly
// max_activations of them.
func TestConcurrentActivations(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	l := f.keyLicense(3)
	const n = 24
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = f.c.ActivateLicense(ctx(), activateReq(f.keyID(l, fmt.Sprintf("hw-race-%d", i))))
		}(i)
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantAPIErr(t, fmt.Sprintf("racer %d", i), err, 400, "license_activated_max_times")
	}
	if ok != 3 {
		t.Errorf("%d activations succeeded, want 3", ok)
	}
	if m := f.getLicense(l.ID); m.TimesActivated != 3 {
		t.Errorf("times_activated %d, want 3", m.TimesActivated)
	}
	active := 0
	for _, d := range f.devices(l.ID) {
		if d.DeviceActive {
			active++
		}
	}
	if active != 3 {
		t.Errorf("%d active devices, want 3", active)
	}
}

// TestConcurrentReactivation: one device activating many times at once holds one seat.
func TestConcurrentReactivation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	l := f.keyLicense(1)
	id := f.keyID(l, "hw-same")
	const n = 16
	errs := make([]error, n)
	devs := make([]int64, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			a, err := f.c.ActivateLicense(ctx(), activateReq(id))
			errs[i] = err
			if a != nil {
				devs[i] = a.DeviceID
			}
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("activation %d: %v", i, err)
		} else if devs[i] != devs[0] {
			t.Errorf("activation %d device_id %d, activation 0 %d", i, devs[i], devs[0])
		}
	}
	if m := f.getLicense(l.ID); m.TimesActivated != 1 {
		t.Errorf("times_activated %d, want 1", m.TimesActivated)
	}
	if n := len(f.devices(l.ID)); n != 1 {
		t.Errorf("%d device rows, want 1", n)
	}
}

// TestConcurrentVariableLimit: racing writers cannot push a device past 1000 variables.
func TestConcurrentVariableLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	l := f.keyLicense(1)
	id := f.keyID(l, "hw-vrace")
	f.activate(id)
	for chunk := 0; chunk < 10; chunk++ {
		var vs client.Vars
		for i := 0; i < 99; i++ {
			vs = append(vs, client.Var{Name: fmt.Sprintf("base%d-%d", chunk, i), Value: i})
		}
		if _, err := f.c.TrackDeviceVariables(ctx(), client.TrackRequest{Identity: id, Variables: vs}); err != nil {
			t.Fatal(err)
		}
	}
	// 990 stored; 8 writers each add 5 new names: at most 2 can succeed.
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var vs client.Vars
			for i := 0; i < 5; i++ {
				vs = append(vs, client.Var{Name: fmt.Sprintf("w%d-%d", w, i), Value: "x"})
			}
			_, errs[w] = f.c.TrackDeviceVariables(ctx(), client.TrackRequest{Identity: id, Variables: vs})
		}(w)
	}
	wg.Wait()
	ok := 0
	for w, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantAPIErr(t, fmt.Sprintf("writer %d", w), err, 400, "validation_error")
	}
	all, err := f.c.GetDeviceVariables(ctx(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) > 1000 || len(all) != 990+5*ok || ok != 2 {
		t.Errorf("%d writers succeeded, %d variables stored (want 2 and 1000)", ok, len(all))
	}
}

// TestConcurrentMixedLoad: parallel checks and tracks on many devices all succeed
// (no "database is locked" leaking out as 500).
func TestConcurrentMixedLoad(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	const devices = 8
	ids := make([]client.Identity, devices)
	for i := range ids {
		l := f.keyLicense(1)
		ids[i] = f.keyID(l, fmt.Sprintf("hw-load-%d", i))
		f.activate(ids[i])
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	for i := 0; i < devices; i++ {
		wg.Add(1)
		go func(id client.Identity) {
			defer wg.Done()
			for j := 0; j < 25; j++ {
				var err error
				switch j % 3 {
				case 0:
					_, err = f.c.TrackDeviceVariables(ctx(), trackReq(id, fmt.Sprintf("n%d", j), j))
				case 1:
					_, err = f.c.CheckLicense(ctx(), checkReq(id))
				case 2:
					_, err = f.c.GetDeviceVariables(ctx(), id)
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, fmt.Errorf("%s #%d: %w", id.HardwareID, j, err))
					mu.Unlock()
				}
			}
		}(ids[i])
	}
	wg.Wait()
	for _, err := range failures {
		t.Error(err)
	}
}
