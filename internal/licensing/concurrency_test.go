package licensing_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

func TestConcurrentActivationsRespectMax(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	l := e.keyLicense(p.ShortCode, "RACE-RACE-RACE-0001", 5)

	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = e.svc.Activate(e.ctx, e.cid, licensing.ActivateRequest{Identity: keyID(p.ShortCode, "RACE-RACE-RACE-0001", fmt.Sprint("hw-", i))})
		})
	}
	close(start)
	wg.Wait()

	ok := 0
	for i, err := range errs {
		switch licensing.ErrorCode(err) {
		case licensing.EInternal:
			if err != nil {
				t.Errorf("activation %d: %v", i, err)
				continue
			}
			ok++
		case licensing.EMaxActivations:
		default:
			t.Errorf("activation %d: %v", i, err)
		}
	}
	if ok != 5 {
		t.Errorf("%d activations succeeded, want 5", ok)
	}
	if got, active := e.lic(l.ID).TimesActivated, e.activeDevices(l.ID); got != 5 || active != 5 {
		t.Errorf("times_activated %d, active devices %d, want 5", got, active)
	}
}

func TestConcurrentTrackVariables(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	e.keyLicense(p.ShortCode, "RACE-VARS-0000-0001", 1)
	id := keyID(p.ShortCode, "RACE-VARS-0000-0001", "hw")
	dev := e.activate(id).Device.ID

	const workers, each = 20, 10
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			vars := make([]licensing.VarInput, each)
			for i := range vars {
				vars[i] = licensing.VarInput{Name: fmt.Sprintf("w%d-v%d", w, i), Value: fmt.Sprint(w)}
			}
			out, err := e.svc.TrackVariables(e.ctx, e.cid, id, vars)
			if err != nil {
				t.Errorf("worker %d: %v", w, err)
				return
			}
			for i, v := range out {
				if v.Name != vars[i].Name || v.Value != vars[i].Value || v.ID == 0 {
					t.Errorf("worker %d answer[%d] = %+v, want %+v with an id", w, i, v, vars[i])
				}
			}
		})
	}
	close(start)
	wg.Wait()

	vs, err := e.svc.DeviceVariables(e.ctx, e.cid, dev)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, v := range vs {
		if seen[v.Name] {
			t.Errorf("variable %q stored twice", v.Name)
		}
		seen[v.Name] = true
	}
	for w := range workers {
		for i := range each {
			if n := fmt.Sprintf("w%d-v%d", w, i); !seen[n] {
				t.Errorf("variable %s missing", n)
			}
		}
	}
	if len(vs) != workers*each {
		t.Errorf("%d variables stored, want %d", len(vs), workers*each)
	}
}

// TestConcurrentActivateDeactivate races activations and deactivations of a few
// hardware_ids; the seat counter must end equal to the active devices and never pass max.
func TestConcurrentActivateDeactivate(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	l := e.keyLicense(p.ShortCode, "RACE-FLIP-0000-0001", 2)

	const workers, rounds = 8, 12
	hws := []string{"hw-a", "hw-a", "hw-a", "hw-b", "hw-b", "hw-c", "hw-c", "hw-a"}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			id := keyID(p.ShortCode, "RACE-FLIP-0000-0001", hws[w])
			for r := range rounds {
				var err error
				if (w+r)%2 == 0 {
					_, err = e.svc.Activate(e.ctx, e.cid, licensing.ActivateRequest{Identity: id})
				} else {
					err = e.svc.Deactivate(e.ctx, e.cid, id, nil)
				}
				switch licensing.ErrorCode(err) {
				case licensing.EMaxActivations, licensing.EDeviceNotFound, licensing.ELicenseNotActive:
				case licensing.EInternal:
					if err != nil {
						t.Errorf("worker %d round %d: %v", w, r, err)
					}
				default:
					t.Errorf("worker %d round %d: %v", w, r, err)
				}
			}
		})
	}
	close(start)
	wg.Wait()

	got := e.lic(l.ID)
	active := e.activeDevices(l.ID)
	if got.TimesActivated != active || active > 2 {
		t.Errorf("times_activated %d, active devices %d (max 2)", got.TimesActivated, active)
	}
	if n := len(e.devices(l.ID)); n > 3 {
		t.Errorf("%d device rows for 3 hardware ids", n)
	}
}
