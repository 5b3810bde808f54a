package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// Report is the machine-readable form of a Result (the --json output).
type Report struct {
	Workload     string            `json:"workload"`
	Interrupted  bool              `json:"interrupted,omitempty"` // stopped before its time (Ctrl-C): the figures cover the part that ran
	Variables    int               `json:"variables,omitempty"`
	Targets      []string          `json:"targets"`
	Devices      int               `json:"devices"`
	Concurrency  int               `json:"concurrency"`
	Product      string            `json:"product"`
	SeedSeconds  float64           `json:"seed_s"`
	Preseeded    bool              `json:"preseeded,omitempty"` // a fleet seeded before the run (--fleet); seed_s is 0
	Elapsed      float64           `json:"elapsed_s"`
	Requests     int64             `json:"requests"`
	Warmup       int64             `json:"warmup_requests,omitempty"` // sent before the measured time, not counted
	RPS          float64           `json:"rps"`
	LatencyMS    LatencyReport     `json:"latency_ms"`
	ErrorCount   int64             `json:"error_count"`
	Errors       map[string]int64  `json:"errors"`
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	Signatures   SignatureReport   `json:"signatures"`
	// Rate is the paced rate asked for; LatencyFromDueMS the latencies measured
	// from when each request was due (paced runs only).
	Rate             float64        `json:"rate,omitempty"`
	LatencyFromDueMS *LatencyReport `json:"latency_from_due_ms,omitempty"`
	// Ops breaks a run of several kinds of request down by kind.
	Ops         map[string]OpReport `json:"ops,omitempty"`
	Server      []ProcReport        `json:"server,omitempty"`
	ServerTotal *ProcTotalReport    `json:"server_total,omitempty"`
	BenchCores  *float64            `json:"bench_cores,omitempty"` // CPU the load generator itself used
	Baselines   *BaselinesReport    `json:"baselines,omitempty"`
	VsBaselines *VsBaselinesReport  `json:"vs_baselines,omitempty"`
}

// OpReport is one kind of request of a run.
type OpReport struct {
	Requests   int64           `json:"requests"`
	RPS        float64         `json:"rps"`
	LatencyMS  LatencyReport   `json:"latency_ms"`
	ErrorCount int64           `json:"error_count"`
	Signatures SignatureReport `json:"signatures"`
}

// ProcReport is one server process's use of the machine during the run.
type ProcReport struct {
	PID        int     `json:"pid"`
	CPUSeconds float64 `json:"cpu_s"`
	Cores      float64 `json:"cores"` // average cores busy: cpu_s / elapsed
	// PeakRSSMiB is the peak resident set during the run (ProcUsage.PeakRSS):
	// the largest sampled VmRSS, or VmHWM if it rose during the run and is larger.
	PeakRSSMiB     float64 `json:"peak_rss_mib"`
	VmHWMStartMiB  float64 `json:"vm_hwm_start_mib"`
	VmHWMEndMiB    float64 `json:"vm_hwm_end_mib"`
	VmRSSEndMiB    float64 `json:"vm_rss_end_mib"`
	VmRSSMaxMiB    float64 `json:"vm_rss_max_mib"` // largest sampled VmRSS
	ElapsedSeconds float64 `json:"elapsed_s"`
}

// ProcTotalReport sums the server processes.
type ProcTotalReport struct {
	Cores      float64 `json:"cores"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
}

// BaselinesReport is the machine's ceilings measured in the same run.
type BaselinesReport struct {
	SignLimit *SignLimitReport `json:"sign_limit,omitempty"`
	HTTPLimit *HTTPLimitReport `json:"http_limit,omitempty"`
}

// SignLimitReport is the RSA-2048 signing rate of all cores.
type SignLimitReport struct {
	PerSecond    float64 `json:"signatures_per_s"`
	Signatures   int64   `json:"signatures"`
	Goroutines   int     `json:"goroutines"`
	MessageBytes int     `json:"message_bytes"`
	Elapsed      float64 `json:"elapsed_s"`
}

// HTTPLimitReport is GET /healthz at the run's concurrency.
type HTTPLimitReport struct {
	Concurrency int               `json:"concurrency"`
	Elapsed     float64           `json:"elapsed_s"`
	Requests    int64             `json:"requests"`
	RPS         float64           `json:"rps"`
	LatencyMS   LatencyReport     `json:"latency_ms"`
	ErrorCount  int64             `json:"error_count"`
	Errors      map[string]int64  `json:"errors"`
	Server      []ProcReport      `json:"server,omitempty"`
	ServerTotal *ProcTotalReport  `json:"server_total,omitempty"`
	BenchCores  *float64          `json:"bench_cores,omitempty"`
	Samples     map[string]string `json:"error_samples,omitempty"`
}

// VsBaselinesReport is the run's req/s as a multiple of each baseline.
type VsBaselinesReport struct {
	SignLimit float64 `json:"sign_limit,omitempty"`
	HTTPLimit float64 `json:"http_limit,omitempty"`
}

// LatencyReport holds latency quantiles in milliseconds.
type LatencyReport struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// SignatureReport counts the sampled signature checks.
type SignatureReport struct {
	Sampled  int64 `json:"sampled"`
	Verified int64 `json:"verified"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func mib(b int64) float64 { return round(float64(b)/(1<<20), 1) }

func latencyReport(h *Histogram) LatencyReport {
	return LatencyReport{
		P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)),
		P99: ms(h.Quantile(0.99)), Max: ms(h.Max()), Mean: ms(h.Mean()),
	}
}

func procReports(us []ProcUsage) ([]ProcReport, *ProcTotalReport) {
	if len(us) == 0 {
		return nil, nil
	}
	out := make([]ProcReport, len(us))
	var tot ProcTotalReport
	for i, u := range us {
		out[i] = ProcReport{PID: u.PID, CPUSeconds: round(u.CPU().Seconds(), 2), Cores: round(u.Cores(), 2),
			PeakRSSMiB: mib(u.PeakRSS()), VmHWMStartMiB: mib(u.Start.HWM), VmHWMEndMiB: mib(u.End.HWM),
			VmRSSEndMiB: mib(u.End.RSS), VmRSSMaxMiB: mib(u.MaxRSS), ElapsedSeconds: round(u.End.At.Sub(u.Start.At).Seconds(), 3)}
		tot.Cores += u.Cores()
		tot.PeakRSSMiB += float64(u.PeakRSS()) / (1 << 20)
	}
	tot.Cores, tot.PeakRSSMiB = round(tot.Cores, 2), round(tot.PeakRSSMiB, 1)
	return out, &tot
}

func selfCores(u *ProcUsage) *float64 {
	if u == nil {
		return nil
	}
	c := round(u.Cores(), 2)
	return &c
}

// Report summarises the baselines.
func (b *Baselines) Report() *BaselinesReport {
	if b == nil {
		return nil
	}
	var r BaselinesReport
	if s := b.Sign; s != nil {
		r.SignLimit = &SignLimitReport{PerSecond: round(s.PerSecond(), 1), Signatures: s.Signatures, Goroutines: s.Goroutines,
			MessageBytes: s.MessageBytes, Elapsed: round(s.Elapsed.Seconds(), 3)}
	}
	if h := b.HTTP; h != nil {
		r.HTTPLimit = &HTTPLimitReport{Concurrency: h.Concurrency, Elapsed: round(h.Elapsed.Seconds(), 3), Requests: h.Requests,
			RPS: round(h.RPS(), 1), LatencyMS: latencyReport(&h.Latency), ErrorCount: h.ErrorCount(), Errors: h.Errors,
			Samples: h.ErrorSamples, BenchCores: selfCores(h.Self)}
		r.HTTPLimit.Server, r.HTTPLimit.ServerTotal = procReports(h.Server)
	}
	return &r
}

// WriteJSON writes the baselines as one JSON object {"baselines": …} and a newline.
func (b *Baselines) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		Baselines *BaselinesReport `json:"baselines"`
	}{b.Report()})
}

// WriteText writes the baselines as a short table.
func (b *Baselines) WriteText(w io.Writer) error {
	var sb strings.Builder
	b.writeText(&sb)
	_, err := io.WriteString(w, sb.String())
	return err
}

func (b *Baselines) writeText(sb *strings.Builder) {
	r := b.Report()
	row := func(k, format string, a ...any) { fmt.Fprintf(sb, "%-12s "+format+"\n", append([]any{k}, a...)...) }
	if s := r.SignLimit; s != nil {
		row("sign-limit", "%.1f RSA-2048 signatures/s (%d goroutines, %d-byte message, %.1fs)", s.PerSecond, s.Goroutines, s.MessageBytes, s.Elapsed)
	}
	if h := r.HTTPLimit; h != nil {
		row("http-limit", "%.1f GET /healthz req/s (concurrency %d, %.1fs, p50 %.2fms, p99 %.2fms, %d errors)",
			h.RPS, h.Concurrency, h.Elapsed, h.LatencyMS.P50, h.LatencyMS.P99, h.ErrorCount)
		for _, p := range h.Server {
			row("", "server pid %d: %.2f cores, peak RSS %.1f MiB", p.PID, p.Cores, p.PeakRSSMiB)
		}
		for c, n := range h.Errors {
			row("", "  %-22s %8d  %.120s", c, n, h.Samples[c])
		}
	}
}

func round(f float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(f*p) / p
}

// Report summarises r.
func (r *Result) Report() Report {
	rep := Report{
		Workload: r.Workload, Interrupted: r.Interrupted, Variables: r.Variables, Targets: r.Targets, Devices: r.Devices,
		Concurrency: r.Concurrency, Product: r.Product, SeedSeconds: round(r.SeedTime.Seconds(), 3), Preseeded: r.Preseeded,
		Elapsed: round(r.Elapsed.Seconds(), 3), Requests: r.Requests, Warmup: r.WarmupRequests, RPS: round(r.RPS(), 1),
		LatencyMS:  latencyReport(&r.Latency),
		ErrorCount: r.ErrorCount(), Errors: r.Errors, ErrorSamples: r.ErrorSamples,
		Signatures: SignatureReport{Sampled: r.Sampled, Verified: r.Verified},
		Rate:       r.Rate, BenchCores: selfCores(r.Self), Baselines: r.Baselines.Report(),
	}
	if r.Rate > 0 {
		l := latencyReport(&r.FromSchedule)
		rep.LatencyFromDueMS = &l
	}
	if len(r.Ops) > 1 {
		rep.Ops = map[string]OpReport{}
		for name, o := range r.Ops {
			var rps float64
			if r.Elapsed > 0 {
				rps = round(float64(o.Requests-o.Errors)/r.Elapsed.Seconds(), 1) // as Result.RPS
			}
			rep.Ops[name] = OpReport{Requests: o.Requests, RPS: rps, LatencyMS: latencyReport(&o.Latency), ErrorCount: o.Errors,
				Signatures: SignatureReport{Sampled: o.Sampled, Verified: o.Verified}}
		}
	}
	rep.Server, rep.ServerTotal = procReports(r.Server)
	if b := r.Baselines; b != nil {
		var vs VsBaselinesReport
		if s := b.Sign.PerSecond(); s > 0 {
			vs.SignLimit = round(r.RPS()/s, 3)
		}
		if b.HTTP != nil && b.HTTP.RPS() > 0 {
			vs.HTTPLimit = round(r.RPS()/b.HTTP.RPS(), 3)
		}
		rep.VsBaselines = &vs
	}
	return rep
}

// WriteJSON writes the report as one JSON object and a newline.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(r.Report())
}

// WriteText writes the report as a short table.
func (r *Result) WriteText(w io.Writer) error {
	rep := r.Report()
	var b strings.Builder
	row := func(k, format string, a ...any) { fmt.Fprintf(&b, "%-12s "+format+"\n", append([]any{k}, a...)...) }
	wl := rep.Workload
	if rep.Variables > 0 {
		wl += fmt.Sprintf(" (%d variables/request)", rep.Variables)
	}
	row("workload", "%s", wl)
	if rep.Interrupted {
		row("interrupted", "yes: the figures cover only the part that ran")
	}
	row("targets", "%s", strings.Join(rep.Targets, " "))
	if rep.Preseeded {
		row("devices", "%d (product %s, seeded before the run)", rep.Devices, rep.Product)
	} else {
		row("devices", "%d (product %s, seeded in %.1fs)", rep.Devices, rep.Product, rep.SeedSeconds)
	}
	row("concurrency", "%d", rep.Concurrency)
	row("elapsed", "%.2fs", rep.Elapsed)
	if rep.Warmup > 0 {
		row("requests", "%d (after %d warm-up requests, not counted)", rep.Requests, rep.Warmup)
	} else {
		row("requests", "%d", rep.Requests)
	}
	row("req/s", "%.1f", rep.RPS)
	l := rep.LatencyMS
	row("latency", "p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms", l.P50, l.P90, l.P99, l.Max)
	if d := rep.LatencyFromDueMS; d != nil {
		row("paced", "%.1f req/s asked; latency from due time p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms",
			rep.Rate, d.P50, d.P90, d.P99, d.Max)
	}
	row("signatures", "%d sampled, %d verified", rep.Signatures.Sampled, rep.Signatures.Verified)
	if len(rep.Ops) > 0 {
		names := make([]string, 0, len(rep.Ops))
		for n := range rep.Ops {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool { return rep.Ops[names[i]].Requests > rep.Ops[names[j]].Requests })
		for i, n := range names {
			o := rep.Ops[n]
			k := ""
			if i == 0 {
				k = "by request"
			}
			row(k, "%-15s %8d  %8.1f req/s  p50 %.2fms  p99 %.2fms  %d errors  %d/%d signatures verified",
				n, o.Requests, o.RPS, o.LatencyMS.P50, o.LatencyMS.P99, o.ErrorCount, o.Signatures.Verified, o.Signatures.Sampled)
		}
	}
	for _, p := range rep.Server {
		row("server", "pid %d: %.2f cores (%.2fs CPU), peak RSS %.1f MiB (VmHWM %.1f → %.1f MiB, VmRSS max %.1f MiB)",
			p.PID, p.Cores, p.CPUSeconds, p.PeakRSSMiB, p.VmHWMStartMiB, p.VmHWMEndMiB, p.VmRSSMaxMiB)
	}
	if rep.BenchCores != nil {
		row("bench", "%.2f cores (this load generator)", *rep.BenchCores)
	}
	if r.Baselines != nil {
		r.Baselines.writeText(&b)
	}
	if v := rep.VsBaselines; v != nil {
		row("vs baselines", "%.3f × sign-limit, %.3f × http-limit", v.SignLimit, v.HTTPLimit)
	}
	row("errors", "%d", rep.ErrorCount)
	codes := make([]string, 0, len(rep.Errors))
	for c := range rep.Errors {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if rep.Errors[codes[i]] != rep.Errors[codes[j]] {
			return rep.Errors[codes[i]] > rep.Errors[codes[j]]
		}
		return codes[i] < codes[j]
	})
	for _, c := range codes {
		fmt.Fprintf(&b, "  %-24s %8d  %.120s\n", c, rep.Errors[c], rep.ErrorSamples[c])
	}
	_, err := io.WriteString(w, b.String())
	return err
}
