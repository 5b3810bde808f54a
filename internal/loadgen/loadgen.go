// Package loadgen drives a License API load against one or more running licensor
// instances and measures it: it seeds a product, licenses and activated devices
// through the public APIs (or takes a fleet `licensor seed` wrote straight into the
// database, Config.Fleet), then sends a workload from C concurrent keep-alive
// connections for a fixed time, spreading requests round-robin over the targets,
// verifying response signatures on a sample, and reports throughput, latency
// quantiles and errors by wire code. Optionally it paces requests to a target
// rate, measures the machine's baselines (RSA signatures/s, GET /healthz req/s)
// and samples the CPU and memory of server processes on the same machine.
//
// It only ever sends to the configured target URLs (no proxy from the
// environment, no redirects followed), and every run is bounded in time, in
// request count (Config.MaxRequests) and per request (Config.Timeout).
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licensor/licensor/client"
)

// Defaults for the zero values of Config.
const (
	DefaultSampleEvery = 50
	DefaultTimeout     = 10 * time.Second
	DefaultBatchSize   = 500
	DefaultVariables   = 5
)

// Config describes a benchmark.
type Config struct {
	Targets       []string // server roots, e.g. http://127.0.0.1:8080 (several instances: requests alternate)
	ManagementKey string   // for seeding through /api/v1 (not needed with Fleet, or without a Workload)
	APIKey        string
	SharedKey     string
	PublicKeyPEM  []byte // the key response signatures are verified with
	Workload      string // see Workloads(); "" for a Bench that only measures baselines
	Devices       int    // licenses seeded, one device activated on each
	Concurrency   int    // workers, each with one request in flight
	Duration      time.Duration
	Variables     int           // variables per track request (0: DefaultVariables)
	MaxRequests   int64         // stop after this many requests even before Duration (0: no count bound)
	SampleEvery   int           // verify the signatures of each worker's first signed 200 answer and every n-th after (0: DefaultSampleEvery)
	Timeout       time.Duration // per request (0: DefaultTimeout)
	BatchSize     int           // licenses per create_order call (0: DefaultBatchSize)
	Progress      io.Writer     // one line per second while seeding and running (nil: silent)
	// Rate paces the run to this many requests per second across all workers
	// (open loop: request k is due at start + k/Rate, whenever workers are free);
	// 0 sends as fast as the workers can.
	Rate float64
	// Warmup runs the workload this long, unpaced, before the measured Duration;
	// requests sent during it are not counted (MaxRequests counts them).
	Warmup time.Duration
	// Seed seeds the workloads' randomness (the mixed workload's choice of request).
	Seed uint64
	// ServerPIDs are server processes on this machine whose CPU time and memory
	// are sampled (from /proc) at the start and end of a run.
	ServerPIDs []int
	// Fleet, when set, is the short code of a product seeded before (by `licensor
	// seed`, or by an earlier Seed): Seed creates nothing and the run drives devices
	// 0…Devices-1 of that fleet (names: FleetLicenseKey, FleetHardwareID). No
	// management key is needed. Workloads with devices of their own (OwnDevices > 0)
	// are refused: they would change the fleet's activation state.
	Fleet string
}

// Bench runs a Config. Create it with New; Close releases its connections.
type Bench struct {
	cfg      Config
	wl       Workload
	tr       *fastTransport
	hc       *http.Client // on tr: seeding, and the client package's calls
	targets  []*target    // one per Config.Targets entry, in order
	progress io.Writer
}

// New validates cfg and prepares the HTTP clients.
func New(cfg Config) (*Bench, error) {
	if len(cfg.Targets) == 0 {
		return nil, errors.New("at least one target URL is required")
	}
	cfg.Targets = slices.Clone(cfg.Targets)
	urls := make([]*url.URL, len(cfg.Targets))
	for i, t := range cfg.Targets {
		u, err := url.Parse(t)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("target %q is not an http(s) URL", t)
		}
		if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(t, "#") {
			// Paths are appended to a target as it is written: they would land in its query.
			return nil, fmt.Errorf("target %q has a query or fragment: give the server's root URL", t)
		}
		cfg.Targets[i], urls[i] = strings.TrimRight(t, "/"), u
	}
	switch {
	case cfg.APIKey == "" || cfg.SharedKey == "":
		return nil, errors.New("api key and shared key are required")
	case cfg.ManagementKey == "" && cfg.Fleet == "" && cfg.Workload != "":
		return nil, errors.New("a management key is required (for seeding), unless a seeded fleet is given")
	case cfg.Devices < 1:
		return nil, errors.New("devices must be at least 1")
	case cfg.Concurrency < 1:
		return nil, errors.New("concurrency must be at least 1")
	case cfg.Duration <= 0:
		return nil, errors.New("duration must be positive")
	case cfg.MaxRequests < 0 || cfg.Variables < 0 || cfg.SampleEvery < 0 || cfg.Timeout < 0 || cfg.BatchSize < 0:
		return nil, errors.New("max requests, variables, sample interval, timeout and batch size must not be negative")
	case cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0):
		return nil, errors.New("rate must be a non-negative number")
	case cfg.Warmup < 0:
		return nil, errors.New("warm-up must not be negative")
	}
	for _, pid := range cfg.ServerPIDs {
		if pid < 1 {
			return nil, fmt.Errorf("server pid %d is not a process id", pid)
		}
		// Now, not after seeding (which may take minutes) or the baselines.
		if _, err := SampleProc(pid); err != nil {
			return nil, fmt.Errorf("sample server: %w", err)
		}
	}
	cfg.ServerPIDs = slices.Clone(cfg.ServerPIDs)
	if cfg.Variables == 0 {
		cfg.Variables = DefaultVariables
	}
	if cfg.SampleEvery == 0 {
		cfg.SampleEvery = DefaultSampleEvery
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	var wl Workload
	if cfg.Workload != "" { // "": baselines only
		var err error
		if wl, err = NewWorkload(cfg.Workload, WorkloadOptions{Variables: cfg.Variables}); err != nil {
			return nil, err
		}
	}
	if cfg.Fleet != "" && ownDevices(wl) > 0 {
		return nil, fmt.Errorf("workload %s %w", wl.Name(), errFleetOwnDevices)
	}
	if n := ownDevices(wl); n > 0 && cfg.Devices < n*cfg.Concurrency {
		return nil, fmt.Errorf("workload %s needs %d devices of its own per worker: devices must be at least %d × concurrency %d",
			wl.Name(), n, n, cfg.Concurrency)
	}
	// One transport for everything: keep-alive connections are reused across
	// requests, one per worker and target and a few to spare.
	tr := newFastTransport(cfg.Concurrency+4, cfg.Timeout)
	hc := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	b := &Bench{cfg: cfg, wl: wl, tr: tr, hc: hc, progress: cfg.Progress}
	if b.progress == nil {
		b.progress = io.Discard
	}
	for i, t := range cfg.Targets {
		c, err := client.New(t, cfg.APIKey, cfg.SharedKey, cfg.PublicKeyPEM, client.WithHTTPClient(hc))
		if err != nil {
			return nil, err
		}
		thc, err := tr.host(urls[i].Scheme, urls[i].Host)
		if err != nil {
			return nil, err
		}
		b.targets = append(b.targets, &target{healthz: t + "/healthz", cl: c, host: thc})
	}
	return b, nil
}

func ownDevices(wl Workload) int {
	if wl == nil {
		return 0
	}
	return wl.OwnDevices()
}

// errNoWorkload is what Seed and Run answer a Bench made without a workload.
var errNoWorkload = errors.New("no workload configured")

// Close closes idle connections.
func (b *Bench) Close() { b.hc.CloseIdleConnections() }

// Result is what a run measured.
type Result struct {
	Workload    string
	Interrupted bool // the run's context ended before its time: the figures cover the part that ran
	Targets     []string
	Devices     int
	Concurrency int
	Variables   int // 0 for workloads without variables
	Product     string
	SeedTime    time.Duration
	Preseeded   bool    // the run drove a fleet seeded before it (Config.Fleet)
	Rate        float64 // the paced rate asked for (0: unpaced)

	Elapsed  time.Duration // first request sent to last answer received
	Requests int64         // answered or failed; requests cut short by cancellation are not counted
	// WarmupRequests were answered or failed during Config.Warmup: the server
	// saw them, the figures above do not count them.
	WarmupRequests int64
	Latency        Histogram // of every counted request, errors included, from send to answer
	// FromSchedule is, for paced runs, each request's latency from the time it was
	// due to its answer: it includes waiting for a free worker, so a server that
	// falls behind the rate shows here (no coordinated omission).
	FromSchedule Histogram
	Errors       map[string]int64
	// ErrorSamples holds the first message seen for each error code.
	ErrorSamples map[string]string
	Sampled      int64 // 200 answers whose signatures were checked
	Verified     int64 // of those, the ones that verified
	// Ops breaks the requests down by what they did (Request.Op).
	Ops map[string]*OpResult

	Server []ProcUsage // the processes of Config.ServerPIDs
	Self   *ProcUsage  // the load generator itself (nil where /proc is missing)

	Baselines *Baselines // set by the caller when measured in the same run, for the ratios
}

// OpResult is one kind of request of a run.
type OpResult struct {
	Requests int64
	Errors   int64
	Sampled  int64
	Verified int64
	Latency  Histogram
}

// RPS is answers without error per second over the elapsed time: a fast wrong answer
// (or a refused connection) is no answer, and a run whose requests fail reports what
// was served, not what was sent.
func (r *Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests-r.ErrorCount()) / r.Elapsed.Seconds()
}

// ErrorCount is the number of failed requests.
func (r *Result) ErrorCount() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Clean reports whether no request failed and every sampled signature verified.
func (r *Result) Clean() bool { return r.ErrorCount() == 0 && r.Verified == r.Sampled }

// worker is the private state of one goroutine of a run.
type worker struct {
	id        int
	hist      Histogram
	sched     Histogram
	ops       map[string]*OpResult
	errors    map[string]int64
	samples   map[string]string
	sampled   int64
	verified  int64
	requests  int64
	sampleDue bool
	done      *atomic.Int64 // shared: requests counted, for progress
	failed    *atomic.Int64 // shared: of those, failed
}

func newWorker(id int, done, failed *atomic.Int64) *worker {
	return &worker{id: id, ops: map[string]*OpResult{}, errors: map[string]int64{}, samples: map[string]string{},
		sampleDue: true, done: done, failed: failed}
}

// reset forgets what the worker counted (the warm-up).
func (w *worker) reset() { *w = *newWorker(w.id, w.done, w.failed) }

func (w *worker) op(name string) *OpResult {
	o := w.ops[name]
	if o == nil {
		o = &OpResult{}
		w.ops[name] = o
	}
	return o
}

// count records one request after it was judged: latency from send and, for
// paced runs, from when it was due; code "" for success.
func (w *worker) count(op string, lat time.Duration, due, answered time.Time, code, msg string) {
	w.requests++
	w.hist.Record(lat)
	if !due.IsZero() {
		w.sched.Record(answered.Sub(due))
	}
	o := w.op(op)
	o.Requests++
	o.Latency.Record(lat)
	w.done.Add(1)
	if code != "" {
		o.Errors++
		w.errors[code]++
		if _, ok := w.samples[code]; !ok {
			w.samples[code] = msg
		}
		w.failed.Add(1)
	}
}

// step sends one request of worker w; due is when the pacer scheduled it (zero:
// unpaced). It returns false when the request was cut short by cancellation,
// which ends the worker and is not a measurement.
type step func(ctx context.Context, due time.Time) bool

// pacer hands out send times start + k/rate to all workers of a run.
type pacer struct {
	start    time.Time
	interval float64 // nanoseconds
	next     atomic.Int64
}

// wait blocks until the next free slot is due and returns it; false when the
// slot is at or after deadline or ctx ended first.
func (p *pacer) wait(ctx context.Context, t *time.Timer, deadline time.Time) (time.Time, bool) {
	k := p.next.Add(1) - 1
	due := p.start.Add(time.Duration(float64(k) * p.interval))
	if !due.Before(deadline) {
		return due, false
	}
	if d := time.Until(due); d > 0 {
		t.Reset(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return due, false
		case <-t.C:
		}
	}
	return due, true
}

// drive runs Concurrency workers until Duration passed, MaxRequests were sent
// or ctx ended, pacing them when paced and Config.Rate is set, and merges what
// they counted. newStep makes each worker's request function. With a warmup,
// the workers first run that long unpaced; requests sent during it are not
// counted, and the measured time, the pacing and the process samples start once
// every worker has had the answer to its last warm-up request.
func (b *Bench) drive(ctx context.Context, phase string, paced bool, warmup time.Duration, newStep func(w *worker) step) (*Result, error) {
	cfg := b.cfg
	var (
		issued       atomic.Int64 // requests started, against MaxRequests
		warmed       atomic.Int64 // requests counted during the warm-up
		done, failed atomic.Int64
		workers      = make([]*worker, cfg.Concurrency)
		wg           sync.WaitGroup
	)
	for i := range workers {
		workers[i] = newWorker(i, &done, &failed)
	}
	steps := make([]step, len(workers))
	for i, w := range workers {
		steps[i] = newStep(w)
	}
	for _, pid := range cfg.ServerPIDs { // fail before sending anything
		if _, err := SampleProc(pid); err != nil {
			return nil, fmt.Errorf("sample server: %w", err)
		}
	}

	// The measured time begins once every worker has its last warm-up answer: a
	// warm-up at full speed leaves up to Concurrency requests queued in the server,
	// and a paced run that began while they drain would count that queue against
	// its first tenth of a second (enough to set its p99 at 80 % of the peak).
	var (
		begin              = make(chan struct{}) // closed when the measured time begins
		warming            sync.WaitGroup        // workers still in the warm-up
		measureFrom, until time.Time             // written before begin is closed
		pace               *pacer
		// The process samples span the measured time: they start right before it.
		procs, self      *procWatch
		procErr, selfErr error = nil, errors.New("not sampled")
	)
	startMeasuring := func() {
		if ctx.Err() == nil {
			procs, procErr = watchProcs(cfg.ServerPIDs)
			self, selfErr = watchProcs([]int{os.Getpid()})
		}
		measureFrom = time.Now()
		until = measureFrom.Add(cfg.Duration)
		if paced && cfg.Rate > 0 {
			// Pacing starts with the measurement: a paced warm-up on a cold server
			// would pile up overdue slots for the measured time to catch up.
			pace = &pacer{start: measureFrom, interval: float64(time.Second) / cfg.Rate}
		}
		close(begin)
		if warmup > 0 {
			fmt.Fprintf(b.progress, "%s: warm-up answered, measuring for %v\n", phase, cfg.Duration)
		}
	}
	// warm sends worker i's warm-up requests until warmEnd; false when the worker is
	// done (ctx ended, MaxRequests reached, a request cut short).
	warmEnd := time.Now().Add(warmup)
	warm := func(i int) bool {
		for time.Now().Before(warmEnd) {
			if ctx.Err() != nil || (cfg.MaxRequests > 0 && issued.Add(1) > cfg.MaxRequests) || !steps[i](ctx, time.Time{}) {
				return false
			}
		}
		return true
	}
	if warmup > 0 {
		fmt.Fprintf(b.progress, "%s: warming up for %v (not measured)\n", phase, warmup)
		warming.Add(len(workers))
	} else {
		startMeasuring()
	}
	stopProgress := b.startProgress(phase, &done, &failed)
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if warmup > 0 {
				more := warm(i)
				warmed.Add(w.requests)
				w.reset() // what was sent before is warm-up
				warming.Done()
				if !more {
					return
				}
				select {
				case <-begin:
				case <-ctx.Done():
					return
				}
			}
			var timer *time.Timer
			if pace != nil {
				timer = time.NewTimer(time.Hour)
				timer.Stop()
			}
			for {
				if ctx.Err() != nil || !time.Now().Before(until) {
					return
				}
				if cfg.MaxRequests > 0 && issued.Add(1) > cfg.MaxRequests {
					return
				}
				var due time.Time
				if pace != nil {
					var ok bool
					if due, ok = pace.wait(ctx, timer, until); !ok {
						return
					}
				}
				if !steps[i](ctx, due) {
					return
				}
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	if warmup > 0 {
		warming.Wait() // every worker leaves the warm-up, ctx ending included: its requests end with it
		startMeasuring()
	}
	<-finished
	elapsed := time.Since(measureFrom)
	stopProgress()

	res := &Result{Elapsed: elapsed, Concurrency: cfg.Concurrency, Targets: cfg.Targets, WarmupRequests: warmed.Load(),
		Errors: map[string]int64{}, ErrorSamples: map[string]string{}, Ops: map[string]*OpResult{}}
	if pace != nil {
		res.Rate = cfg.Rate
	}
	for _, w := range workers {
		res.Requests += w.requests
		res.Latency.Merge(&w.hist)
		res.FromSchedule.Merge(&w.sched)
		res.Sampled += w.sampled
		res.Verified += w.verified
		for code, n := range w.errors {
			res.Errors[code] += n
			if _, ok := res.ErrorSamples[code]; !ok {
				res.ErrorSamples[code] = w.samples[code]
			}
		}
		for name, o := range w.ops {
			m := res.Ops[name]
			if m == nil {
				m = &OpResult{}
				res.Ops[name] = m
			}
			m.Requests += o.Requests
			m.Errors += o.Errors
			m.Sampled += o.Sampled
			m.Verified += o.Verified
			m.Latency.Merge(&o.Latency)
		}
	}
	// interrupted is the answer to a run whose ctx ended before its time.
	interrupted := func(err error) (*Result, error) {
		res.Interrupted = true
		return res, fmt.Errorf("run interrupted: %w", err)
	}
	if err := ctx.Err(); err != nil {
		if procs != nil {
			procs.stop()
		}
		if selfErr == nil {
			self.stop()
		}
		return interrupted(err)
	}
	if selfErr == nil {
		if u, err := self.stop(); err == nil {
			res.Self = &u[0]
		}
	}
	if procErr != nil {
		return res, fmt.Errorf("sample server: %w", procErr)
	}
	var err error
	if res.Server, err = procs.stop(); err != nil {
		return res, fmt.Errorf("sample server: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return interrupted(err)
	}
	return res, nil
}

// partition returns worker w's devices: w, w+C, w+2C, … of devs; when there are
// fewer devices than workers, the workers without one share all of them (in
// turn from device w mod len(devs)), unless exclusive.
func partition(devs []Device, w, c int, exclusive bool) []*Device {
	var own []*Device
	for i := w; i < len(devs); i += c {
		own = append(own, &devs[i])
	}
	if len(own) > 0 || exclusive {
		return own
	}
	for k := range devs {
		own = append(own, &devs[(w+k)%len(devs)])
	}
	return own
}

// Run drives the workload against fleet's devices for Config.Duration (or until
// ctx ends or MaxRequests were sent) and reports. Requests are sent by
// Concurrency workers, each with a Session of the workload over its share of
// the devices (see partition).
func (b *Bench) Run(ctx context.Context, fleet *Fleet) (*Result, error) {
	if b.wl == nil {
		return nil, errNoWorkload
	}
	if len(fleet.Devices) == 0 {
		return nil, errors.New("no devices to run against")
	}
	cfg := b.cfg
	need := b.wl.OwnDevices()
	if need > 0 && len(fleet.Devices) < need*cfg.Concurrency {
		return nil, fmt.Errorf("workload %s needs %d devices of its own per worker: %d devices for %d workers",
			b.wl.Name(), need, len(fleet.Devices), cfg.Concurrency)
	}
	var rr atomic.Uint64 // round-robin over targets
	c := uint64(cfg.Concurrency)
	res, err := b.drive(ctx, "run", true, cfg.Warmup, func(w *worker) step {
		sess := b.wl.NewSession(w.id, partition(fleet.Devices, w.id, cfg.Concurrency, need > 0), cfg.Seed)
		var n uint64
		return func(ctx context.Context, due time.Time) bool {
			d, req := sess.Next(n*c + uint64(w.id))
			n++
			t := b.targets[(rr.Add(1)-1)%uint64(len(b.targets))]
			t0 := time.Now()
			resp, err := b.send(ctx, t0.Add(cfg.Timeout), t, &req)
			t1 := time.Now()
			if err != nil && ctx.Err() != nil {
				return false // cut short by cancellation: not a measurement
			}
			if (w.requests+1)%int64(cfg.SampleEvery) == 0 {
				w.sampleDue = true // stays due until a signed 200 answer is checked
			}
			code, msg := b.judge(w, t.cl, d, &req, resp, err)
			sess.Answered(code)
			w.count(req.Op, t1.Sub(t0), due, t1, code, msg)
			return true
		}
	})
	if res != nil {
		res.Workload, res.Devices, res.Product, res.SeedTime = b.wl.Name(), len(fleet.Devices), fleet.Product, fleet.SeedTime
		res.Preseeded = fleet.Preseeded
		if vc, ok := b.wl.(variableCounter); ok {
			res.Variables = vc.VariablesPerRequest()
		}
	}
	return res, err
}

// judge returns the error code of one answer ("" for success), verifying
// signatures when a sample is due, and the body of every unsigned answer.
func (b *Bench) judge(w *worker, cl *client.Client, d *Device, req *Request, resp answer, err error) (code, msg string) {
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return "timeout", err.Error()
		}
		return "transport_error", err.Error()
	}
	if resp.status != http.StatusOK {
		if e, perr := client.ParseAPIError(resp.body); perr == nil {
			return e.Code, e.Message
		}
		return fmt.Sprintf("http_%d", resp.status), fmt.Sprintf("HTTP %d: %.200q", resp.status, resp.body)
	}
	if req.Unsigned {
		if req.Verify != nil {
			if err := req.Verify(cl, d, resp.body); err != nil {
				return "unexpected_response", err.Error()
			}
		}
		return "", ""
	}
	if !w.sampleDue {
		return "", ""
	}
	w.sampleDue = false
	w.sampled++
	op := w.op(req.Op)
	op.Sampled++
	if err := cl.VerifyResponse(resp.response()); err != nil {
		return "bad_signature", err.Error()
	}
	if req.Verify != nil {
		if err := req.Verify(cl, d, resp.body); err != nil {
			if errors.Is(err, client.ErrLicenseSignatureInvalid) || errors.Is(err, client.ErrLicenseSignatureMissing) {
				return "bad_signature", err.Error()
			}
			return "unexpected_response", err.Error()
		}
	}
	w.verified++
	op.Verified++
	return "", ""
}

// startProgress prints one line per second to the progress writer until the
// returned function is called.
func (b *Bench) startProgress(phase string, done, failed *atomic.Int64) (stop func()) {
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		start := time.Now()
		var last int64
		lastAt := start
		line := func(now time.Time) {
			n := done.Load()
			rate := float64(n-last) / max(now.Sub(lastAt).Seconds(), 1e-9)
			fmt.Fprintf(b.progress, "%s %4.0fs  %8.0f req/s  %10d total  %6d errors\n",
				phase, now.Sub(start).Seconds(), rate, n, failed.Load())
			last, lastAt = n, now
		}
		for {
			select {
			case <-quit:
				if now := time.Now(); now.Sub(lastAt) >= 100*time.Millisecond {
					line(now) // the last partial second, so a short run still reports
				}
				return
			case now := <-t.C:
				line(now)
			}
		}
	}()
	return func() { close(quit); <-finished }
}
