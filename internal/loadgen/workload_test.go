package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// deviceState asks the management API (in-process) whether the device with
// hardware id hw is active, and for its license id. Safe from any goroutine.
func (e *env) deviceState(hw string) (active bool, licenseID int64, err error) {
	var list struct {
		Count   int `json:"count"`
		Results []struct {
			License      int64 `json:"license"`
			DeviceActive bool  `json:"device_active"`
		} `json:"results"`
	}
	if err := e.manageGet("/api/v1/devices/?hardware_id="+url.QueryEscape(hw), &list); err != nil {
		return false, 0, err
	}
	if list.Count != 1 || len(list.Results) != 1 {
		return false, 0, fmt.Errorf("devices with hardware id %s: %+v", hw, list)
	}
	return list.Results[0].DeviceActive, list.Results[0].License, nil
}

func (e *env) timesActivated(t *testing.T, licenseID int64) int64 {
	t.Helper()
	var l struct {
		TimesActivated *int64 `json:"times_activated"`
	}
	if err := e.manageGet(fmt.Sprintf("/api/v1/licenses/%d/", licenseID), &l); err != nil || l.TimesActivated == nil {
		t.Fatalf("license %d: %v %+v", licenseID, err, l)
	}
	return *l.TimesActivated
}

func (e *env) manageGet(path string, into any) error {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Api-Key "+e.creds.ManagementKey)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), into); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// TestActivateChurnDeactivatesAndReactivates watches every churn request from
// the server side: after each successful deactivation or activation it asks the
// management API for the device's state, so the test sees the states the run
// really produced, in order.
func TestActivateChurnDeactivatesAndReactivates(t *testing.T) {
	e := newEnv(t)
	var (
		mu     sync.Mutex
		states = map[string][]bool{} // hardware id → device_active after each churn request
		calls  = map[string]int{}
		errs   []error
	)
	watch := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ep := strings.TrimPrefix(r.URL.Path, "/api/v4/")
		if ep != "activate_license" && ep != "deactivate_license" {
			e.h.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var id struct {
			HardwareID string `json:"hardware_id"`
		}
		json.Unmarshal(body, &id)
		// Answer only after the state is read, so the device's next request
		// cannot overtake the reading.
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, r)
		if rec.Code == http.StatusOK {
			active, _, err := e.deviceState(id.HardwareID)
			mu.Lock()
			if err != nil {
				errs = append(errs, err)
			}
			calls[ep]++
			if ep == "deactivate_license" || len(states[id.HardwareID]) > 0 { // skip the seeding activation
				states[id.HardwareID] = append(states[id.HardwareID], active)
			}
			mu.Unlock()
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
	srv := httptest.NewServer(watch)
	t.Cleanup(srv.Close)
	requireLoopback(t, srv.URL)

	cfg := e.config("activate-churn", srv.URL)
	cfg.Devices, cfg.Concurrency, cfg.SampleEvery = 6, 3, 2
	cfg.MaxRequests, cfg.Duration = 121, time.Minute // the count bound ends the run
	b := newBench(t, cfg)
	f := seed(t, b)
	res := run(t, b, f)
	if res.Requests != 121 || res.ErrorCount() != 0 {
		t.Fatalf("requests %d, errors %v %v", res.Requests, res.Errors, res.ErrorSamples)
	}
	act, deact := res.Ops["activate"], res.Ops["deactivate"]
	if act == nil || deact == nil || act.Requests+deact.Requests != 121 || act.Requests < 40 || deact.Requests < 40 {
		t.Fatalf("ops %v", opCounts(res))
	}
	// Activation answers are signed and sampled; deactivation answers are not signed.
	if act.Sampled == 0 || act.Verified != act.Sampled || deact.Sampled != 0 || res.Sampled != act.Sampled {
		t.Fatalf("activate sampled %d verified %d, deactivate sampled %d", act.Sampled, act.Verified, deact.Sampled)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if calls["deactivate_license"] != int(deact.Requests) || calls["activate_license"] != int(act.Requests)+len(f.Devices) {
		t.Fatalf("server saw %v; bench counted %d activations (+%d seeding), %d deactivations",
			calls, act.Requests, len(f.Devices), deact.Requests)
	}
	for _, d := range f.Devices {
		seq := states[d.HardwareID]
		if len(seq) < 2 {
			t.Fatalf("device %s churned %d times, want ≥ 2 (deactivated, then re-activated)", d.HardwareID, len(seq))
		}
		for i, active := range seq {
			if want := i%2 == 1; active != want {
				t.Fatalf("device %s: state after churn request %d is active=%v, want %v (sequence %v)", d.HardwareID, i, active, want, seq)
			}
		}
		// The license's seat count follows: one seat while active, none while not.
		active, lic, err := e.deviceState(d.HardwareID)
		if err != nil {
			t.Fatal(err)
		}
		if active != seq[len(seq)-1] {
			t.Fatalf("device %s: active=%v after the run, last seen %v", d.HardwareID, active, seq[len(seq)-1])
		}
		if n, want := e.timesActivated(t, lic), map[bool]int64{true: 1, false: 0}[active]; n != want {
			t.Fatalf("device %s: license times_activated %d, device active=%v", d.HardwareID, n, active)
		}
	}
}

func TestChurnNeedsADevicePerWorker(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		workload string
		devices  int
	}{{"activate-churn", 3}, {"mixed", 7}} {
		cfg := e.config(tc.workload, "http://127.0.0.1:1")
		cfg.Devices, cfg.Concurrency = tc.devices, 4
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "devices of its own") {
			t.Errorf("%s with %d devices for 4 workers: %v", tc.workload, tc.devices, err)
		}
	}
	// A fleet too small for the workers is refused by Run too, before any request.
	cfg := e.config("activate-churn", e.serve(t, nil))
	cfg.Devices, cfg.Concurrency = 4, 4
	b := newBench(t, cfg)
	f := seed(t, b)
	f.Devices = f.Devices[:3]
	if _, err := b.Run(context.Background(), f); err == nil {
		t.Fatal("churn over 3 devices with 4 workers ran")
	}
}

func TestPartition(t *testing.T) {
	devs := make([]Device, 10)
	for i := range devs {
		devs[i].Index = i
	}
	seen := map[int]int{}
	for w := range 4 {
		for _, d := range partition(devs, w, 4, true) {
			seen[d.Index]++
			if d.Index%4 != w {
				t.Fatalf("worker %d got device %d", w, d.Index)
			}
		}
	}
	if len(seen) != 10 {
		t.Fatalf("devices covered: %v", seen)
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("device %d given to %d workers", i, n)
		}
	}
	// Fewer devices than workers: the others share, unless exclusive.
	if got := partition(devs[:2], 3, 4, true); len(got) != 0 {
		t.Fatalf("exclusive partition of 2 devices gave worker 3 %d", len(got))
	}
	got := partition(devs[:2], 3, 4, false)
	if len(got) != 2 || got[0].Index != 1 || got[1].Index != 0 {
		t.Fatalf("shared partition: %+v", got)
	}
}

// TestMixedSessionIsSeededAndKeepsChurnApart checks the mixed workload's
// request stream without a server: the same seed gives the same stream, the
// shares are as documented, and churn never touches a checked or tracked device.
func TestMixedSessionIsSeededAndKeepsChurnApart(t *testing.T) {
	wl, err := NewWorkload("mixed", WorkloadOptions{Variables: 2})
	if err != nil {
		t.Fatal(err)
	}
	devs := make([]*Device, 20)
	for i := range devs {
		d := newDevice(i, "p", fmt.Sprintf("K%d", i), fmt.Sprintf("hw%d", i))
		devs[i] = &d
	}
	stream := func(seed uint64) ([]string, map[string]map[int]bool) {
		s := wl.NewSession(3, devs, seed)
		var ops []string
		byOp := map[string]map[int]bool{}
		for n := range uint64(20_000) {
			d, req := s.Next(n)
			s.Answered("")
			ops = append(ops, req.Op)
			if byOp[req.Op] == nil {
				byOp[req.Op] = map[int]bool{}
			}
			byOp[req.Op][d.Index] = true
		}
		return ops, byOp
	}
	a, byOp := stream(7)
	b, _ := stream(7)
	c, _ := stream(8)
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatal("same seed, different streams")
	}
	if strings.Join(a, ",") == strings.Join(c, ",") {
		t.Fatal("different seeds, same stream")
	}
	count := map[string]int{}
	for _, op := range a {
		count[op]++
	}
	for op, want := range map[string]float64{"check": 0.70, "track-steady": 0.20, "track-changing": 0.05,
		"activate": 0.025, "deactivate": 0.025} {
		if got := float64(count[op]) / float64(len(a)); math.Abs(got-want) > 0.015 {
			t.Errorf("%s: %.3f of requests, want %.3f", op, got, want)
		}
	}
	churned := map[int]bool{}
	for _, op := range []string{"activate", "deactivate"} {
		for i := range byOp[op] {
			churned[i] = true
		}
	}
	for _, op := range []string{"check", "track-steady", "track-changing"} {
		for i := range byOp[op] {
			if churned[i] {
				t.Fatalf("device %d is both churned and used by %s", i, op)
			}
		}
	}
	if len(churned) != 2 { // a tenth of 20
		t.Fatalf("churned devices %v", churned)
	}
}

func TestMixedRunsCleanWithEveryKindOfRequest(t *testing.T) {
	e := newEnv(t)
	cfg := e.config("mixed", e.serve(t, nil))
	cfg.Devices, cfg.Concurrency, cfg.SampleEvery = 24, 3, 3
	cfg.MaxRequests, cfg.Duration = 3000, time.Minute
	b := newBench(t, cfg)
	f := seed(t, b)
	res := run(t, b, f)
	if res.Requests != 3000 || res.ErrorCount() != 0 {
		t.Fatalf("requests %d, errors %v %v", res.Requests, res.Errors, res.ErrorSamples)
	}
	if res.Sampled < 800 || res.Verified != res.Sampled {
		t.Fatalf("sampled %d, verified %d", res.Sampled, res.Verified)
	}
	for _, op := range []string{"check", "track-steady", "track-changing", "activate", "deactivate"} {
		o := res.Ops[op]
		if o == nil || o.Requests == 0 || o.Errors != 0 {
			t.Fatalf("%s: ops %v", op, opCounts(res))
		}
		if op != "deactivate" && (o.Sampled == 0 || o.Verified != o.Sampled) {
			t.Fatalf("%s: sampled %d, verified %d", op, o.Sampled, o.Verified)
		}
	}
	if share := float64(res.Ops["check"].Requests) / float64(res.Requests); share < 0.65 || share > 0.75 {
		t.Fatalf("check is %.2f of the requests", share)
	}
	rep := res.Report()
	if len(rep.Ops) != 5 {
		t.Fatalf("report ops %v", rep.Ops)
	}
	// Steady tracking kept the activation values, changing tracking wrote its own variables.
	vs, err := b.targets[0].cl.GetDeviceVariables(context.Background(), f.Devices[cfg.Concurrency*3].identity())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if strings.HasPrefix(v.Variable, "var") && !strings.HasPrefix(v.Value, "steady-") {
			t.Fatalf("steady variable %s = %q", v.Variable, v.Value)
		}
	}
}

func TestGetVariablesChecksWhatItReads(t *testing.T) {
	g := getVariablesOp{vars: 2}
	good := `[{"id":1,"created_at":"x","variable":"var0","value":"steady-0","device_id":1},{"id":2,"created_at":"x","variable":"var1","value":"steady-1","device_id":1}]`
	if err := g.verifyBody(nil, nil, []byte(good)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`{}`, `[]`, strings.Replace(good, "steady-1", "other", 1), strings.Replace(good, "var1", "x1", 1)} {
		if err := g.verifyBody(nil, nil, []byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// opCounts is the requests and errors of each op of res, for messages.
func opCounts(res *Result) map[string][2]int64 {
	m := map[string][2]int64{}
	for name, o := range res.Ops {
		m[name] = [2]int64{o.Requests, o.Errors}
	}
	return m
}
