package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/server"
)

// serveReal runs e behind the real server loop (which starts the database probe,
// so GET /healthz answers 200) on a loopback port.
func (e *env) serveReal(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(e.svc, server.Config{Log: slog.New(slog.DiscardHandler), ShutdownGrace: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	target := "http://" + ln.Addr().String()
	requireLoopback(t, target)
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(target + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return target
			}
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("server never became healthy: %v", err)
		}
	}
}

func TestSignLimit(t *testing.T) {
	s, err := MeasureSignLimit(context.Background(), 700*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// RSA-2048 signing takes ~0.5–5 ms per core on anything that runs these tests.
	perCore := s.PerSecond() / float64(s.Goroutines)
	if s.Goroutines != runtime.GOMAXPROCS(0) || s.MessageBytes != 600 || perCore < 20 || perCore > 20_000 ||
		s.Elapsed < 700*time.Millisecond || s.Elapsed > 2*time.Second {
		t.Fatalf("sign-limit %+v: %.0f/s, %.0f/s per goroutine", s, s.PerSecond(), perCore)
	}
	t.Logf("sign-limit: %.0f signatures/s on %d goroutines", s.PerSecond(), s.Goroutines)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := MeasureSignLimit(ctx, time.Second); err == nil {
		t.Fatal("cancelled sign-limit succeeded")
	}
}

// TestBaselinesAndServerSampling measures both baselines against an in-process
// server, then a check run reported against them; the server is this test
// process, so its /proc numbers must show the work.
func TestBaselinesAndServerSampling(t *testing.T) {
	e := newEnv(t)
	cfg := e.config("check", e.serveReal(t))
	cfg.ServerPIDs = []int{os.Getpid()}
	var progress bytes.Buffer
	cfg.Progress = &progress
	b := newBench(t, cfg)
	bl, err := b.MeasureBaselines(context.Background(), 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if bl.Sign.PerSecond() <= 0 {
		t.Fatalf("sign-limit %+v", bl.Sign)
	}
	h := bl.HTTP
	if h.Workload != "http-limit" || h.ErrorCount() != 0 || h.Requests == 0 || h.Latency.Count() != uint64(h.Requests) ||
		h.Ops["healthz"] == nil || h.Ops["healthz"].Requests != h.Requests || h.Concurrency != cfg.Concurrency {
		t.Fatalf("http-limit: requests %d, errors %v %v, ops %v", h.Requests, h.Errors, h.ErrorSamples, opCounts(h))
	}
	// A trivial handler on loopback: well over a hundred a second, answers in well under a second.
	// (Elapsed may fall a few microseconds short of Duration: the deadline timer and the
	// elapsed clock are read separately.)
	if h.RPS() < 100 || h.Elapsed < cfg.Duration-10*time.Millisecond || h.Elapsed > cfg.Duration+time.Second || h.Latency.Quantile(0.5) > time.Second {
		t.Fatalf("http-limit %.0f req/s over %v, p50 %v", h.RPS(), h.Elapsed, h.Latency.Quantile(0.5))
	}
	if len(h.Server) != 1 || h.Server[0].CPU() <= 0 || h.Server[0].PeakRSS() <= 0 {
		t.Fatalf("server usage during http-limit: %+v", h.Server)
	}

	res := run(t, b, seed(t, b))
	res.Baselines = bl
	if !res.Clean() {
		t.Fatalf("errors %v", res.Errors)
	}
	if len(res.Server) != 1 {
		t.Fatalf("server usage %+v", res.Server)
	}
	u := res.Server[0]
	wall := u.End.At.Sub(u.Start.At)
	if u.PID != os.Getpid() || u.CPU() <= 0 || u.Cores() <= 0 || u.Cores() > float64(runtime.NumCPU())+0.5 ||
		wall < cfg.Duration || u.PeakRSS() <= 0 || u.End.HWM < u.Start.HWM || u.MaxRSS < u.End.RSS {
		t.Fatalf("server usage %+v: cpu %v over %v, %.2f cores", u, u.CPU(), wall, u.Cores())
	}
	if res.Self == nil || res.Self.CPU() <= 0 {
		t.Fatalf("own usage %+v", res.Self)
	}

	rep := res.Report()
	v := rep.VsBaselines
	if v == nil || math.Abs(v.SignLimit-res.RPS()/bl.Sign.PerSecond()) > 0.01 || math.Abs(v.HTTPLimit-res.RPS()/h.RPS()) > 0.01 {
		t.Fatalf("vs baselines %+v; rps %.1f, sign %.1f, http %.1f", v, res.RPS(), bl.Sign.PerSecond(), h.RPS())
	}
	if rep.ServerTotal == nil || rep.ServerTotal.Cores <= 0 || rep.ServerTotal.PeakRSSMiB <= 0 || rep.Baselines.HTTPLimit.RPS <= 0 {
		t.Fatalf("report %+v", rep)
	}
	var txt bytes.Buffer
	if err := res.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sign-limit", "http-limit", "× sign-limit", "server       pid", "cores"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, txt.String())
		}
	}
	var js bytes.Buffer
	if err := bl.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var only struct {
		Baselines BaselinesReport `json:"baselines"`
	}
	if err := json.Unmarshal(js.Bytes(), &only); err != nil || only.Baselines.SignLimit == nil || only.Baselines.HTTPLimit == nil {
		t.Fatalf("baselines JSON %s: %v", js.String(), err)
	}
	if !strings.Contains(progress.String(), "http-limit") {
		t.Fatalf("progress:\n%s", progress.String())
	}
	t.Logf("sign-limit %.0f/s, http-limit %.0f req/s, check %.0f req/s; server %.2f cores, peak RSS %.1f MiB",
		bl.Sign.PerSecond(), h.RPS(), res.RPS(), u.Cores(), float64(u.PeakRSS())/(1<<20))
}

// A target whose /healthz does not answer 200 (the bare handler has no
// database probe running, so it reports unavailable): every request is an error,
// none counts as served, and the baselines fail.
func TestHTTPLimitCountsUnhealthyAnswers(t *testing.T) {
	e := newEnv(t)
	cfg := e.config("check", e.serve(t, nil))
	cfg.Duration = 200 * time.Millisecond
	res, err := newBench(t, cfg).HTTPLimit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors["http_503"] != res.Requests {
		t.Fatalf("requests %d, errors %v", res.Requests, res.Errors)
	}
	if res.RPS() != 0 {
		t.Errorf("req/s %.1f with every answer an error, want 0: a failed request is not served", res.RPS())
	}
	// As a baseline it is refused, not reported as a ceiling to divide by.
	_, err = newBench(t, cfg).MeasureBaselines(context.Background(), 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "GET /healthz requests failed (http_503") {
		t.Fatalf("baselines against an unhealthy target: %v", err)
	}
}

func TestBaselinesOnlyBench(t *testing.T) {
	e := newEnv(t)
	cfg := e.config("", e.serve(t, nil))
	b := newBench(t, cfg)
	if _, err := b.Seed(context.Background()); err == nil {
		t.Fatal("seeded without a workload")
	}
	if _, err := b.Run(context.Background(), &Fleet{Devices: []Device{{}}}); err == nil {
		t.Fatal("ran without a workload")
	}
}

// TestRatePacesTheRun asks for a rate far below what the server does and
// expects to get it (±25 %) over two seconds, with latencies from due times.
func TestRatePacesTheRun(t *testing.T) {
	e := newEnv(t)
	cfg := e.config("check", e.serve(t, nil))
	cfg.Rate, cfg.Duration = 150, 2*time.Second
	b := newBench(t, cfg)
	res := run(t, b, seed(t, b))
	if res.ErrorCount() != 0 {
		t.Fatalf("errors %v", res.Errors)
	}
	if got := res.RPS(); math.Abs(got-cfg.Rate)/cfg.Rate > 0.25 {
		t.Fatalf("paced at %.0f req/s: got %.1f (%d requests in %v)", cfg.Rate, got, res.Requests, res.Elapsed)
	}
	if res.Rate != cfg.Rate || res.FromSchedule.Count() != uint64(res.Requests) || res.FromSchedule.Quantile(0.5) <= 0 {
		t.Fatalf("rate %v, from-due latencies %d of %d", res.Rate, res.FromSchedule.Count(), res.Requests)
	}
	rep := res.Report()
	if rep.Rate != cfg.Rate || rep.LatencyFromDueMS == nil {
		t.Fatalf("report rate %v, from-due %+v", rep.Rate, rep.LatencyFromDueMS)
	}
	t.Logf("asked %.0f req/s, got %.1f; p99 %v (from due time %v)", cfg.Rate, res.RPS(),
		res.Latency.Quantile(0.99), res.FromSchedule.Quantile(0.99))

	// Unpaced runs have no due times.
	cfg.Rate, cfg.Duration, cfg.MaxRequests = 0, time.Minute, 50
	res = run(t, newBench(t, cfg), seed(t, b))
	if res.Rate != 0 || res.FromSchedule.Count() != 0 || res.Report().LatencyFromDueMS != nil {
		t.Fatalf("unpaced run: rate %v, %d from-due latencies", res.Rate, res.FromSchedule.Count())
	}
}

func TestPacerIsOpenLoop(t *testing.T) {
	// A pacer whose start is in the past hands out overdue slots at once (a
	// backlog is caught up, not dropped), and none at or after the deadline.
	start := time.Now().Add(-time.Second)
	p := &pacer{start: start, interval: float64(100 * time.Millisecond)}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	t0 := time.Now()
	for k := range 10 {
		due, ok := p.wait(context.Background(), timer, start.Add(2*time.Second))
		if !ok || !due.Equal(start.Add(time.Duration(k)*100*time.Millisecond)) {
			t.Fatalf("slot %d: %v %v", k, due, ok)
		}
	}
	if time.Since(t0) > 500*time.Millisecond { // waiting for each would take 1s
		t.Fatalf("overdue slots waited %v", time.Since(t0))
	}
	if _, ok := p.wait(context.Background(), timer, start.Add(time.Second)); ok {
		t.Fatal("slot at the deadline handed out")
	}
}

// TestWarmupIsNotMeasured: the server sees the warm-up's requests, the result
// does not, and a churning session carries on across the boundary.
func TestWarmupIsNotMeasured(t *testing.T) {
	for _, wl := range []string{"check", "activate-churn"} {
		t.Run(wl, func(t *testing.T) {
			e := newEnv(t)
			var served atomic.Int64
			cfg := e.config(wl, e.serve(t, &served))
			cfg.Warmup, cfg.Duration, cfg.Rate = time.Second, 400*time.Millisecond, 200
			b := newBench(t, cfg)
			f := seed(t, b)
			before := served.Load()
			res := run(t, b, f)
			sent := served.Load() - before
			if res.ErrorCount() != 0 {
				t.Fatalf("errors %v %v", res.Errors, res.ErrorSamples)
			}
			// An unpaced warm-up, then at most ~80 measured requests at 200/s
			// (fewer on a loaded machine). Every request the server saw is
			// either measured or warm-up.
			if res.Requests < 10 || res.Requests > 120 || res.WarmupRequests < 1 || sent != res.Requests+res.WarmupRequests {
				t.Fatalf("measured %d requests after %d warm-up ones, server saw %d", res.Requests, res.WarmupRequests, sent)
			}
			if rep := res.Report(); rep.Warmup != res.WarmupRequests {
				t.Fatalf("report warm-up %d, result %d", rep.Warmup, res.WarmupRequests)
			}
			// Counting the warm-up in would make it 1.4 s or more.
			if res.Elapsed < 350*time.Millisecond || res.Elapsed > 1200*time.Millisecond {
				t.Fatalf("elapsed %v, want the measured 400ms", res.Elapsed)
			}
		})
	}
}

// TestMeasuredTimeWaitsForWarmupAnswers: no measured request is sent while a warm-up
// request is still unanswered, so a server's warm-up backlog is not counted against
// the measured time (a paced run's p99 would include it).
func TestMeasuredTimeWaitsForWarmupAnswers(t *testing.T) {
	e := newEnv(t)
	const hold = 700 * time.Millisecond
	var (
		armed   atomic.Bool
		held    atomic.Bool
		mu      sync.Mutex
		arrived []time.Time // License API requests after arming; the first is held
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if armed.Load() && strings.HasPrefix(r.URL.Path, "/api/v4/") {
			mu.Lock()
			arrived = append(arrived, time.Now())
			mu.Unlock()
			if held.CompareAndSwap(false, true) {
				time.Sleep(hold)
			}
		}
		e.h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := e.config("check", srv.URL)
	cfg.Warmup, cfg.Duration, cfg.Rate = 150*time.Millisecond, 300*time.Millisecond, 200
	b := newBench(t, cfg)
	f := seed(t, b)
	armed.Store(true)
	res := run(t, b, f)
	if res.ErrorCount() != 0 || res.Requests == 0 || res.WarmupRequests == 0 {
		t.Fatalf("measured %d after %d warm-up requests; errors %v", res.Requests, res.WarmupRequests, res.Errors)
	}
	mu.Lock()
	defer mu.Unlock()
	// The warm-up ends 150 ms after the held request came; the others' last warm-up
	// requests are answered at once. Nothing may come between then (with 200 ms to
	// spare) and the held request's answer.
	t0 := arrived[0]
	for _, at := range arrived[1:] {
		if d := at.Sub(t0); d > 350*time.Millisecond && d < hold {
			t.Fatalf("a request came %v after the held warm-up request, before its answer at %v", d, hold)
		}
	}
}
