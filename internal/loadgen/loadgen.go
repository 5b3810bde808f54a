// Package loadgen drives a License API load against one or more running licensor
// instances and measures it: it seeds a product, licenses and activated devices
// through the public APIs, then sends a workload from C concurrent keep-alive
// connections for a fixed time, spreading requests round-robin over the targets,
// verifying response signatures on a sample, and reports throughput, latency
// quantiles and errors by wire code.
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
	"net"
	"net/http"
	"net/url"
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
	ManagementKey string   // for seeding through /api/v1
	APIKey        string
	SharedKey     string
	PublicKeyPEM  []byte // the key response signatures are verified with
	Workload      string // see Workloads()
	Devices       int    // licenses seeded, one device activated on each
	Concurrency   int    // workers, each with one request in flight
	Duration      time.Duration
	Variables     int           // variables per track request (0: DefaultVariables)
	MaxRequests   int64         // stop after this many requests even before Duration (0: no count bound)
	SampleEvery   int           // verify the signatures of each worker's first 200 and every n-th after (0: DefaultSampleEvery)
	Timeout       time.Duration // per request (0: DefaultTimeout)
	BatchSize     int           // licenses per create_order call (0: DefaultBatchSize)
	Progress      io.Writer     // one line per second while seeding and running (nil: silent)
}

// Bench runs a Config. Create it with New; Close releases its connections.
type Bench struct {
	cfg      Config
	wl       Workload
	hc       *http.Client
	clients  []*client.Client // one per target, sharing hc
	progress io.Writer
}

// New validates cfg and prepares the HTTP clients.
func New(cfg Config) (*Bench, error) {
	if len(cfg.Targets) == 0 {
		return nil, errors.New("at least one target URL is required")
	}
	cfg.Targets = slices.Clone(cfg.Targets)
	for i, t := range cfg.Targets {
		u, err := url.Parse(t)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("target %q is not an http(s) URL", t)
		}
		cfg.Targets[i] = strings.TrimRight(t, "/")
	}
	switch {
	case cfg.ManagementKey == "" || cfg.APIKey == "" || cfg.SharedKey == "":
		return nil, errors.New("management key, api key and shared key are required")
	case cfg.Devices < 1:
		return nil, errors.New("devices must be at least 1")
	case cfg.Concurrency < 1:
		return nil, errors.New("concurrency must be at least 1")
	case cfg.Duration <= 0:
		return nil, errors.New("duration must be positive")
	case cfg.MaxRequests < 0 || cfg.Variables < 0 || cfg.SampleEvery < 0 || cfg.Timeout < 0 || cfg.BatchSize < 0:
		return nil, errors.New("max requests, variables, sample interval, timeout and batch size must not be negative")
	}
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
	wl, err := NewWorkload(cfg.Workload, WorkloadOptions{Variables: cfg.Variables})
	if err != nil {
		return nil, err
	}
	// One transport for everything: keep-alive connections are reused across
	// requests, at least one idle slot per worker and target.
	tr := &http.Transport{
		Proxy:                 nil, // only ever talk to the targets themselves
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          (cfg.Concurrency + 4) * len(cfg.Targets),
		MaxIdleConnsPerHost:   cfg.Concurrency + 4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	hc := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	b := &Bench{cfg: cfg, wl: wl, hc: hc, progress: cfg.Progress}
	if b.progress == nil {
		b.progress = io.Discard
	}
	for _, t := range cfg.Targets {
		c, err := client.New(t, cfg.APIKey, cfg.SharedKey, cfg.PublicKeyPEM, client.WithHTTPClient(hc))
		if err != nil {
			return nil, err
		}
		b.clients = append(b.clients, c)
	}
	return b, nil
}

// Close closes idle connections.
func (b *Bench) Close() { b.hc.CloseIdleConnections() }

// Result is what a run measured.
type Result struct {
	Workload    string
	Targets     []string
	Devices     int
	Concurrency int
	Variables   int // 0 for workloads without variables
	Product     string
	SeedTime    time.Duration

	Elapsed  time.Duration // first request sent to last answer received
	Requests int64         // answered or failed; requests cut short by cancellation are not counted
	Latency  Histogram     // of every counted request, errors included
	Errors   map[string]int64
	// ErrorSamples holds the first message seen for each error code.
	ErrorSamples map[string]string
	Sampled      int64 // 200 answers whose signatures were checked
	Verified     int64 // of those, the ones that verified
}

// RPS is requests per second over the elapsed time.
func (r *Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// ErrorCount is the number of failed requests.
func (r *Result) ErrorCount() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// worker is the private state of one goroutine of a run.
type worker struct {
	id        int
	hist      Histogram
	errors    map[string]int64
	samples   map[string]string
	sampled   int64
	verified  int64
	requests  int64
	sampleDue bool
}

func (w *worker) fail(code, msg string) {
	w.errors[code]++
	if _, ok := w.samples[code]; !ok {
		w.samples[code] = msg
	}
}

// Run drives the workload against fleet's devices for Config.Duration (or until
// ctx ends or MaxRequests were sent) and reports. Requests are sent by
// Concurrency workers; worker w uses the devices w, w+C, w+2C, … in turn (all of
// them share when there are fewer devices than workers).
func (b *Bench) Run(ctx context.Context, fleet *Fleet) (*Result, error) {
	if len(fleet.Devices) == 0 {
		return nil, errors.New("no devices to run against")
	}
	cfg := b.cfg
	var (
		issued   atomic.Int64  // requests started, against MaxRequests
		rr       atomic.Uint64 // round-robin over targets
		done     atomic.Int64  // requests counted, for progress
		failed   atomic.Int64
		workers  = make([]*worker, cfg.Concurrency)
		wg       sync.WaitGroup
		start    = time.Now()
		deadline = start.Add(cfg.Duration)
	)
	stopProgress := b.startProgress("run", &done, &failed)
	for i := range workers {
		w := &worker{id: i, errors: map[string]int64{}, samples: map[string]string{}, sampleDue: true}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.work(ctx, w, fleet, deadline, &issued, &rr, &done, &failed)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()

	res := &Result{
		Workload: b.wl.Name(), Targets: cfg.Targets, Devices: len(fleet.Devices), Concurrency: cfg.Concurrency,
		Product: fleet.Product, SeedTime: fleet.SeedTime, Elapsed: elapsed,
		Errors: map[string]int64{}, ErrorSamples: map[string]string{},
	}
	if vc, ok := b.wl.(variableCounter); ok {
		res.Variables = vc.VariablesPerRequest()
	}
	for _, w := range workers {
		res.Requests += w.requests
		res.Latency.Merge(&w.hist)
		res.Sampled += w.sampled
		res.Verified += w.verified
		for code, n := range w.errors {
			res.Errors[code] += n
			if _, ok := res.ErrorSamples[code]; !ok {
				res.ErrorSamples[code] = w.samples[code]
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("run interrupted: %w", err)
	}
	return res, nil
}

func (b *Bench) work(ctx context.Context, w *worker, fleet *Fleet, deadline time.Time, issued *atomic.Int64, rr *atomic.Uint64, done, failed *atomic.Int64) {
	cfg := b.cfg
	devs := fleet.Devices
	c := uint64(cfg.Concurrency)
	// This worker's share of the devices: w.id, w.id+C, …
	var own uint64
	if len(devs) > w.id {
		own = (uint64(len(devs)) - uint64(w.id) + c - 1) / c
	}
	for n := uint64(0); ; n++ {
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return
		}
		if cfg.MaxRequests > 0 && issued.Add(1) > cfg.MaxRequests {
			return
		}
		var d *Device
		if own > 0 {
			d = &devs[uint64(w.id)+(n%own)*c]
		} else {
			d = &devs[(uint64(w.id)+n)%uint64(len(devs))]
		}
		req := b.wl.Request(d, n*c+uint64(w.id))
		cl := b.clients[(rr.Add(1)-1)%uint64(len(b.clients))]

		var body any
		if req.Body != nil {
			body = req.Body
		}
		rctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		t0 := time.Now()
		resp, err := cl.Do(rctx, req.Method, req.Endpoint, req.Query, body)
		lat := time.Since(t0)
		cancel()
		if err != nil && ctx.Err() != nil {
			return // cut short by cancellation: not a measurement
		}
		w.requests++
		if w.requests%int64(cfg.SampleEvery) == 0 {
			w.sampleDue = true // stays due until a 200 answer is checked
		}
		w.hist.Record(lat)
		done.Add(1)
		if code, msg := b.judge(w, cl, d, resp, err); code != "" {
			w.fail(code, msg)
			failed.Add(1)
		}
	}
}

// judge returns the error code of one answer ("" for success), verifying
// signatures when a sample is due.
func (b *Bench) judge(w *worker, cl *client.Client, d *Device, resp *client.Response, err error) (code, msg string) {
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return "timeout", err.Error()
		}
		return "transport_error", err.Error()
	}
	if resp.Status != http.StatusOK {
		if e, perr := client.ParseAPIError(resp.Body); perr == nil {
			return e.Code, e.Message
		}
		return fmt.Sprintf("http_%d", resp.Status), fmt.Sprintf("HTTP %d: %.200q", resp.Status, resp.Body)
	}
	if !w.sampleDue {
		return "", ""
	}
	w.sampleDue = false
	w.sampled++
	if err := cl.VerifyResponse(resp); err != nil {
		return "bad_signature", err.Error()
	}
	if err := b.wl.VerifyBody(cl, d, resp.Body); err != nil {
		if errors.Is(err, client.ErrLicenseSignatureInvalid) || errors.Is(err, client.ErrLicenseSignatureMissing) {
			return "bad_signature", err.Error()
		}
		return "unexpected_response", err.Error()
	}
	w.verified++
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
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				n := done.Load()
				fmt.Fprintf(b.progress, "%s %4.0fs  %8d req/s  %10d total  %6d errors\n",
					phase, now.Sub(start).Seconds(), n-last, n, failed.Load())
				last = n
			}
		}
	}()
	return func() { close(quit); <-finished }
}
