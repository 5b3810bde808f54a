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
	Variables    int               `json:"variables,omitempty"`
	Targets      []string          `json:"targets"`
	Devices      int               `json:"devices"`
	Concurrency  int               `json:"concurrency"`
	Product      string            `json:"product"`
	SeedSeconds  float64           `json:"seed_s"`
	Elapsed      float64           `json:"elapsed_s"`
	Requests     int64             `json:"requests"`
	RPS          float64           `json:"rps"`
	LatencyMS    LatencyReport     `json:"latency_ms"`
	ErrorCount   int64             `json:"error_count"`
	Errors       map[string]int64  `json:"errors"`
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	Signatures   SignatureReport   `json:"signatures"`
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

func round(f float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(f*p) / p
}

// Report summarises r.
func (r *Result) Report() Report {
	return Report{
		Workload: r.Workload, Variables: r.Variables, Targets: r.Targets, Devices: r.Devices,
		Concurrency: r.Concurrency, Product: r.Product, SeedSeconds: round(r.SeedTime.Seconds(), 3),
		Elapsed: round(r.Elapsed.Seconds(), 3), Requests: r.Requests, RPS: round(r.RPS(), 1),
		LatencyMS: LatencyReport{
			P50: ms(r.Latency.Quantile(0.50)), P90: ms(r.Latency.Quantile(0.90)),
			P99: ms(r.Latency.Quantile(0.99)), Max: ms(r.Latency.Max()), Mean: ms(r.Latency.Mean()),
		},
		ErrorCount: r.ErrorCount(), Errors: r.Errors, ErrorSamples: r.ErrorSamples,
		Signatures: SignatureReport{Sampled: r.Sampled, Verified: r.Verified},
	}
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
	row("targets", "%s", strings.Join(rep.Targets, " "))
	row("devices", "%d (product %s, seeded in %.1fs)", rep.Devices, rep.Product, rep.SeedSeconds)
	row("concurrency", "%d", rep.Concurrency)
	row("elapsed", "%.2fs", rep.Elapsed)
	row("requests", "%d", rep.Requests)
	row("req/s", "%.1f", rep.RPS)
	l := rep.LatencyMS
	row("latency", "p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms", l.P50, l.P90, l.P99, l.Max)
	row("signatures", "%d sampled, %d verified", rep.Signatures.Sampled, rep.Signatures.Verified)
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
