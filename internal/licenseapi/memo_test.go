package licenseapi_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/licensor/licensor/internal/licenseapi"
	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/storetest"
)

// TestSignaturesRememberedPerDevice: a handler that has never seen a device's answers
// (a restart, or a fleet larger than its cache) recalls their signatures from the
// database instead of signing them again, and answers the same bytes, caching an
// answer recalled twice; an answer that changed is signed afresh.
func TestSignaturesRememberedPerDevice(t *testing.T) {
	f := newFixture(t)
	if w := f.do("POST", "/api/v4/activate_license", activateBody, nil); w.Code != 200 {
		t.Fatalf("activate: %d %s", w.Code, w.Body)
	}
	checkPath := "/api/v4/check_license?hardware_id=hw-1&product=app&license_key=KEY-1"
	trackBody := `{"hardware_id":"hw-1","product":"app","license_key":"KEY-1","variables":{"seats":"3"}}`
	varsPath := "/api/v4/get_device_variables?hardware_id=hw-1&product=app&license_key=KEY-1"
	type answer struct{ body, sig string }
	first := map[string]answer{}
	send := func(name string) *httptest.ResponseRecorder {
		switch name {
		case "check":
			return f.do("GET", checkPath, "", nil)
		case "track":
			return f.do("POST", "/api/v4/track_device_variables", trackBody, nil)
		default:
			return f.do("GET", varsPath, "", nil)
		}
	}
	for _, name := range []string{"check", "track", "vars"} {
		w := send(name)
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", name, w.Code, w.Body)
		}
		first[name] = answer{w.Body.String(), w.Header().Get("LicenseSignature")}
	}

	// A fresh handler: empty signature cache, same database.
	reg := prometheus.NewRegistry()
	f.h = licenseapi.New(f.svc, licenseapi.Config{Now: func() time.Time { return f.now }, Metrics: reg})
	counter := func(name string) float64 { t.Helper(); return counterValue(t, reg, name) }
	// Four answers (check's license_signature and body, track, get-variables): the
	// first round recalls each, the second recalls each again and so caches it, the
	// third finds each in the cache.
	for round, want := range [][3]float64{{0, 4, 0}, {0, 8, 0}, {0, 8, 4}} {
		for _, name := range []string{"check", "track", "vars"} {
			w := send(name)
			if w.Code != 200 || w.Body.String() != first[name].body || w.Header().Get("LicenseSignature") != first[name].sig {
				t.Fatalf("%s after restart: %d, answer or signature differs", name, w.Code)
			}
		}
		made, recalled, reused := counter("licensor_signatures_made_total"), counter("licensor_signatures_recalled_total"), counter("licensor_signatures_reused_total")
		if [3]float64{made, recalled, reused} != want {
			t.Fatalf("after restart, round %d: %v signatures made, %v recalled, %v reused; want %v", round+1, made, recalled, reused, want)
		}
	}
	// A changed answer is signed, not recalled.
	w := f.do("POST", "/api/v4/track_device_variables", strings.Replace(trackBody, `"3"`, `"4"`, 1), nil)
	if w.Code != 200 || counter("licensor_signatures_made_total") != 1 {
		t.Fatalf("changed track: %d, made %v", w.Code, counter("licensor_signatures_made_total"))
	}
}

// TestRecallFoldedIntoDeviceRead: behind a signature cache that keeps nothing (as for a
// fleet larger than the cache), every check recalls its device's remembered
// signatures. Once that is the rule, the device read of check, track and
// get-variables (one statement each) brings the signatures along: no statement of the
// recall's own, the same answers and signatures, nothing signed.
func TestRecallFoldedIntoDeviceRead(t *testing.T) {
	f := newFixture(t)
	if w := f.do("POST", "/api/v4/activate_license", activateBody, nil); w.Code != 200 {
		t.Fatalf("activate: %d %s", w.Code, w.Body)
	}
	paths := map[string][2]string{
		"check": {"GET", "/api/v4/check_license?hardware_id=hw-1&product=app&license_key=KEY-1"},
		"track": {"POST", "/api/v4/track_device_variables"},
		"vars":  {"GET", "/api/v4/get_device_variables?hardware_id=hw-1&product=app&license_key=KEY-1"},
	}
	trackBody := `{"hardware_id":"hw-1","product":"app","license_key":"KEY-1","variables":{"seats":"3"}}`
	send := func(name string) *httptest.ResponseRecorder {
		body := ""
		if name == "track" {
			body = trackBody
		}
		return f.do(paths[name][0], paths[name][1], body, nil)
	}
	first := map[string][2]string{}
	for _, name := range []string{"track", "check", "vars"} {
		w := send(name)
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", name, w.Code, w.Body)
		}
		first[name] = [2]string{w.Body.String(), w.Header().Get("LicenseSignature")}
	}

	st := &storetest.Counting{Store: f.svc.Store()}
	clock := func() time.Time { return f.now }
	svc := licensing.NewService(st, licensing.WithClock(clock), licensing.WithCheckStampInterval(time.Hour))
	reg := prometheus.NewRegistry()
	f.h = licenseapi.New(svc, licenseapi.Config{Now: clock, Metrics: reg, SignatureCache: 1})
	// More checks than the folding decision's window (1,024 device reads).
	for i := range 1100 {
		if w := send("check"); w.Code != 200 || w.Header().Get("LicenseSignature") != first["check"][1] {
			t.Fatalf("check %d: %d %s", i, w.Code, w.Body)
		}
	}
	for name, want := range map[string]int64{"check": 1, "track": 1, "vars": 1} {
		before := st.Singles.Load()
		w := send(name)
		if w.Code != 200 || w.Body.String() != first[name][0] || w.Header().Get("LicenseSignature") != first[name][1] {
			t.Fatalf("%s: %d, answer or signature differs", name, w.Code)
		}
		if n := st.Singles.Load() - before; n != want {
			t.Errorf("%s: %d one-statement reads, want %d (its device read, the recall folded into it)", name, n, want)
		}
	}
	if made := counterValue(t, reg, "licensor_signatures_made_total"); made != 0 {
		t.Errorf("%v signatures made, want 0", made)
	}
}

// counterValue is the value of counter name in reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
