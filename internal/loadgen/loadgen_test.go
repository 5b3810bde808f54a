package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/server"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/internal/sqlite"
)

// env is one in-process licensor (SQLite in a temp dir) with its credentials.
type env struct {
	svc   *licensing.Service
	h     http.Handler
	creds licensing.Credentials
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := licensing.NewService(st)
	creds, err := svc.Init(ctx, "acme", signing.RSA2048)
	if err != nil {
		t.Fatal(err)
	}
	h := server.New(svc, server.Config{Log: slog.New(slog.DiscardHandler)}).Handler()
	return &env{svc: svc, h: h, creds: creds}
}

// serve starts an HTTP server for e; count, if not nil, counts License API requests.
func (e *env) serve(t *testing.T, count *atomic.Int64) string {
	t.Helper()
	h := e.h
	if count != nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/v4/") {
				count.Add(1)
			}
			e.h.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	requireLoopback(t, srv.URL)
	return srv.URL
}

// requireLoopback keeps the tests from ever sending load anywhere but this machine.
func requireLoopback(t *testing.T, target string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "::1" && u.Hostname() != "localhost") {
		t.Fatalf("test target %q is not loopback", target)
	}
}

func (e *env) config(workload string, targets ...string) Config {
	return Config{
		Targets: targets, ManagementKey: e.creds.ManagementKey, APIKey: e.creds.APIKey,
		SharedKey: e.creds.SharedKey, PublicKeyPEM: []byte(e.creds.PublicKey),
		Workload: workload, Devices: 20, Concurrency: 4, Duration: time.Second,
		Variables: 3, MaxRequests: 200_000, SampleEvery: 10, Timeout: 10 * time.Second,
	}
}

func newBench(t *testing.T, cfg Config) *Bench {
	t.Helper()
	for _, tg := range cfg.Targets {
		requireLoopback(t, tg)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func seed(t *testing.T, b *Bench) *Fleet {
	t.Helper()
	f, err := b.Seed(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func run(t *testing.T, b *Bench, f *Fleet) *Result {
	t.Helper()
	res, err := b.Run(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestWorkloadsRunCleanAndVerifySignatures(t *testing.T) {
	for _, wl := range Workloads() {
		t.Run(wl, func(t *testing.T) {
			e := newEnv(t)
			var progress bytes.Buffer
			cfg := e.config(wl, e.serve(t, nil))
			cfg.Progress = &progress
			b := newBench(t, cfg)
			f := seed(t, b)
			if len(f.Devices) != 20 {
				t.Fatalf("seeded %d devices, want 20", len(f.Devices))
			}
			res := run(t, b, f)
			if res.ErrorCount() != 0 {
				t.Fatalf("errors %v, e.g. %v", res.Errors, res.ErrorSamples)
			}
			if res.Requests == 0 || res.RPS() <= 0 || res.Latency.Count() != uint64(res.Requests) {
				t.Fatalf("requests %d, rps %.1f, latencies %d", res.Requests, res.RPS(), res.Latency.Count())
			}
			// Each worker checks its first answer, then every 10th.
			if want := int64(cfg.Concurrency); res.Sampled < want || res.Verified != res.Sampled {
				t.Fatalf("sampled %d, verified %d; want ≥ %d, all verified", res.Sampled, res.Verified, want)
			}
			if min := res.Requests / 10; res.Sampled < min {
				t.Fatalf("sampled %d of %d requests, want ≥ %d", res.Sampled, res.Requests, min)
			}
			if p50, mx := res.Latency.Quantile(0.5), res.Latency.Max(); p50 <= 0 || p50 > mx {
				t.Fatalf("p50 %v, max %v", p50, mx)
			}
			if !strings.Contains(progress.String(), "seed: 20 devices activated") || !strings.Contains(progress.String(), "req/s") {
				t.Fatalf("progress output:\n%s", progress.String())
			}
			t.Logf("%s: %d requests, %.0f req/s, p99 %v, %d signatures verified", wl, res.Requests, res.RPS(), res.Latency.Quantile(0.99), res.Verified)
		})
	}
}

func TestTrackWorkloadsStoreWhatTheySay(t *testing.T) {
	for _, tc := range []struct {
		workload string
		changed  bool
	}{{"track-changing", true}, {"track-steady", false}} {
		t.Run(tc.workload, func(t *testing.T) {
			e := newEnv(t)
			cfg := e.config(tc.workload, e.serve(t, nil))
			cfg.Devices, cfg.Concurrency, cfg.MaxRequests = 2, 1, 5
			cfg.Duration = time.Minute // the count bound ends the run
			b := newBench(t, cfg)
			f := seed(t, b)
			res := run(t, b, f)
			if res.Requests != 5 || res.ErrorCount() != 0 {
				t.Fatalf("requests %d, errors %v %v", res.Requests, res.Errors, res.ErrorSamples)
			}
			cl := b.targets[0].cl
			vs, err := cl.GetDeviceVariables(context.Background(), f.Devices[0].identity())
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != cfg.Variables {
				t.Fatalf("device has %d variables, want %d: %+v", len(vs), cfg.Variables, vs)
			}
			for _, v := range vs {
				if steady := strings.HasPrefix(v.Value, "steady-"); steady == tc.changed {
					t.Fatalf("variable %s = %q after a %s run", v.Variable, v.Value, tc.workload)
				}
			}
		})
	}
}

func TestWrongPublicKeyFailsEverySample(t *testing.T) {
	for _, wl := range []string{"track-changing", "check"} {
		t.Run(wl, func(t *testing.T) {
			e := newEnv(t)
			target := e.serve(t, nil)
			f := seed(t, newBench(t, e.config(wl, target)))
			other, err := e.svc.CreateCompany(context.Background(), "other", signing.RSA2048)
			if err != nil {
				t.Fatal(err)
			}
			cfg := e.config(wl, target)
			cfg.PublicKeyPEM = []byte(other.PublicKey)
			res := run(t, newBench(t, cfg), f)
			if res.Sampled < int64(cfg.Concurrency) || res.Verified != 0 {
				t.Fatalf("sampled %d, verified %d with the wrong key", res.Sampled, res.Verified)
			}
			if res.Errors["bad_signature"] != res.Sampled || res.ErrorCount() != res.Sampled {
				t.Fatalf("errors %v, sampled %d: every sample must be bad_signature and nothing else", res.Errors, res.Sampled)
			}
		})
	}
}

func TestRequestsAlternateBetweenTargets(t *testing.T) {
	e := newEnv(t)
	var n1, n2 atomic.Int64
	cfg := e.config("check", e.serve(t, &n1), e.serve(t, &n2))
	b := newBench(t, cfg)
	f := seed(t, b)
	a1, a2 := n1.Load(), n2.Load()
	if a1+a2 != 20 || a1 != 10 {
		t.Fatalf("activations: %d and %d, want 10 each", a1, a2)
	}
	cfg.MaxRequests, cfg.Duration = 101, time.Minute // the count bound ends the run
	res := run(t, newBench(t, cfg), f)
	r1, r2 := n1.Load()-a1, n2.Load()-a2
	if res.Requests != 101 || r1+r2 != 101 || r1-r2 > 1 || r2-r1 > 1 {
		t.Fatalf("requests %d: %d to the first target, %d to the second", res.Requests, r1, r2)
	}
	if res.ErrorCount() != 0 {
		t.Fatalf("errors %v", res.Errors)
	}
}

func TestErrorsAreCountedByCode(t *testing.T) {
	e := newEnv(t)
	target := e.serve(t, nil)
	cfg := e.config("check", target)
	cfg.MaxRequests, cfg.Duration = 7, time.Minute
	b := newBench(t, cfg)
	f := seed(t, b)
	ghost := &Fleet{Product: f.Product, Devices: []Device{newDevice(0, f.Product, "NO-SUCH-KEY", "hw-x")}}
	res := run(t, b, ghost)
	if res.Requests != 7 || res.Errors["license_not_found"] != 7 || res.Sampled != 0 {
		t.Fatalf("requests %d, errors %v, sampled %d", res.Requests, res.Errors, res.Sampled)
	}

	// A target nobody listens on: transport errors, not a hang.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	cfg = e.config("check", dead.URL)
	cfg.MaxRequests, cfg.Duration = 5, time.Minute
	res = run(t, newBench(t, cfg), f)
	if res.Requests != 5 || res.Errors["transport_error"] != 5 {
		t.Fatalf("requests %d, errors %v", res.Requests, res.Errors)
	}
}

func TestSeedFailureIsAnError(t *testing.T) {
	e := newEnv(t)
	cfg := e.config("check", e.serve(t, nil))
	cfg.ManagementKey = "wrong"
	if _, err := newBench(t, cfg).Seed(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("seed with a wrong management key: %v", err)
	}
	cfg = e.config("check", e.serve(t, nil))
	cfg.APIKey = "wrong"
	if _, err := newBench(t, cfg).Seed(context.Background()); err == nil || !strings.Contains(err.Error(), "activate") {
		t.Fatalf("seed with a wrong api key: %v", err)
	}
	// The server's answer says why, whichever of its error shapes it has:
	// {code, detail} from the management API, {code, message} for a path no API has.
	cfg = e.config("check", e.serve(t, nil)+"/prefix")
	if _, err := newBench(t, cfg).Seed(context.Background()); err == nil || !strings.Contains(err.Error(), "404 not_found: API path /prefix/api/v1/products/ does not exist") {
		t.Fatalf("seed under a path the server does not serve: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	good := Config{Targets: []string{"http://127.0.0.1:1"}, ManagementKey: "m", APIKey: "a", SharedKey: "s",
		Workload: "check", Devices: 1, Concurrency: 1, Duration: time.Second}
	e := newEnv(t)
	good.PublicKeyPEM = []byte(e.creds.PublicKey)
	if _, err := New(good); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	baselinesOnly := good
	baselinesOnly.Workload, baselinesOnly.ManagementKey = "", "" // seeds nothing
	if _, err := New(baselinesOnly); err != nil {
		t.Fatalf("baselines only, without a management key: %v", err)
	}
	for name, mut := range map[string]func(*Config){
		"no targets":     func(c *Config) { c.Targets = nil },
		"not http":       func(c *Config) { c.Targets = []string{"ftp://127.0.0.1"} },
		"query":          func(c *Config) { c.Targets = []string{"http://127.0.0.1:1?x=1"} },
		"empty query":    func(c *Config) { c.Targets = []string{"http://127.0.0.1:1/?"} },
		"fragment":       func(c *Config) { c.Targets = []string{"http://127.0.0.1:1#x"} },
		"empty fragment": func(c *Config) { c.Targets = []string{"http://127.0.0.1:1/#"} },
		"no keys":        func(c *Config) { c.SharedKey = "" },
		"no manage key":  func(c *Config) { c.ManagementKey = "" },
		"no devices":     func(c *Config) { c.Devices = 0 },
		"no concurrency": func(c *Config) { c.Concurrency = 0 },
		"no duration":    func(c *Config) { c.Duration = 0 },
		"bad workload":   func(c *Config) { c.Workload = "nope" },
		"bad public key": func(c *Config) { c.PublicKeyPEM = []byte("nope") },
		"negative rate":  func(c *Config) { c.Rate = -1 },
		"bad server pid": func(c *Config) { c.ServerPIDs = []int{0} },
		"no such server": func(c *Config) { c.ServerPIDs = []int{math.MaxInt32} }, // above any pid_max
	} {
		c := good
		c.Targets = append([]string(nil), good.Targets...)
		mut(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReportFormats(t *testing.T) {
	r := &Result{Workload: "track-changing", Variables: 5, Targets: []string{"http://127.0.0.1:1"}, Devices: 3,
		Concurrency: 2, Product: "bench-x", Elapsed: 2 * time.Second, Requests: 4,
		Errors: map[string]int64{"bad_signature": 1}, ErrorSamples: map[string]string{"bad_signature": "nope"},
		Sampled: 2, Verified: 1}
	for _, d := range []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 40 * time.Millisecond} {
		r.Latency.Record(d)
	}
	var txt bytes.Buffer
	if err := r.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	// 4 requests in 2 s, one of them failed: 1.5 answers a second.
	for _, want := range []string{"req/s        1.5", "p99 40.", "max 40.00ms", "bad_signature", "1 verified"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, txt.String())
		}
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(js.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.RPS != 1.5 || rep.Requests != 4 || rep.ErrorCount != 1 || rep.LatencyMS.Max != 40 || rep.LatencyMS.P50 < 1.9 || rep.LatencyMS.P50 > 2.1 {
		t.Fatalf("json report %s", js.String())
	}
}

// Activations cut short by a cancelled seeding (Ctrl-C) are not counted as failed
// in the progress lines: they did not fail.
func TestCancelledSeedingCountsNoErrors(t *testing.T) {
	e := newEnv(t)
	arrived := make(chan struct{}, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v4/activate_license" {
			io.Copy(io.Discard, r.Body) // so that the server sees the client close the connection
			arrived <- struct{}{}
			select { // until the load generator gives up on it
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
				t.Error("an activation's connection was left open after its seeding was cancelled")
			}
			return
		}
		e.h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := e.config("check", srv.URL)
	var progress bytes.Buffer
	cfg.Progress = &progress
	b := newBench(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for range cfg.Concurrency {
			<-arrived
		}
		time.Sleep(150 * time.Millisecond) // the progress reports a last part of a second this long
		cancel()
	}()
	if _, err := b.Seed(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("seeding cancelled: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "seed: activate") || !strings.HasSuffix(last, " 0 errors") {
		t.Fatalf("last progress line %q, want the activations' with 0 errors:\n%s", last, progress.String())
	}
}

// A run stopped before its time (Ctrl-C) returns what it measured, marked as
// interrupted in both report formats, with an error that says so.
func TestInterruptedRunSaysSo(t *testing.T) {
	e := newEnv(t)
	cfg := e.config("check", e.serve(t, nil))
	cfg.Duration = time.Minute
	b := newBench(t, cfg)
	f := seed(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err := b.Run(ctx, f)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("run cut short: err %v, want it interrupted", err)
	}
	if res == nil || !res.Interrupted || res.Requests == 0 {
		t.Fatalf("result %+v, want the requests made so far, interrupted", res)
	}
	var txt, js bytes.Buffer
	if err := res.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), "interrupted") {
		t.Errorf("text report does not say it was interrupted:\n%s", txt.String())
	}
	if err := res.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(js.Bytes(), &rep); err != nil || !rep.Interrupted {
		t.Errorf("json report %s (%v), want interrupted true", js.String(), err)
	}
}
