package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/licensor/licensor/internal/loadgen"
)

const benchUsage = `usage: licensor bench --target URL[,URL…] (--management-key K | --fleet CODE) --api-key A --shared-key S
                     --public-key FILE --workload W --devices D --concurrency C --duration T
                     [--variables V] [--max-requests N] [--sample-every N] [--timeout T] [--rate R] [--warmup T] [--seed N]
                     [--baselines [--sign-duration T]] [--server-pid PID[,PID…]] [--fail-on-error] [--json]
                     [--cpuprofile FILE]

Seeds a fresh product with D licenses through the management API, activates one
device on each, then sends workload W from C concurrent keep-alive connections for T,
spreading requests round-robin over the targets (several instances on one database).
Prints requests, req/s, latency quantiles and errors by code (text, or one JSON object
with --json) to stdout and one progress line per second to stderr. req/s counts the
answers without error: requests that failed are in the errors, not in the rate.

--fleet CODE seeds nothing: the run drives devices 0…D-1 of a fleet written before by
` + "`licensor seed --product CODE`" + ` (no management key needed; its first and last device
are checked first). Workloads that change the activation state of devices of their
own (activate-churn, mixed) are refused with --fleet.

--rate paces the run to R requests/s over all connections (open loop; latencies are
also reported from each request's due time). --warmup runs the workload unpaced
for T, e.g. to fill the server's signature cache; the measured T (and its pacing)
begins once every warm-up request has its answer. --baselines first measures this machine's
RSA-2048 signatures/s on all cores and the targets' GET /healthz req/s at C for T, and
reports the workload's req/s as a multiple of each (--workload none: baselines only);
a /healthz request that fails fails the run, as a ceiling measured with errors is none.
--server-pid samples a server process on this machine (/proc): average cores used and
peak RSS during the run. --fail-on-error exits non-zero if any request failed or any
sampled signature did not verify. --cpuprofile writes the load generator's own CPU
profile of the run, warm-up included (go tool pprof): what it costs the machine it shares.`

// cmdBench is the load generator: `licensor bench`.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, benchUsage)
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	targets := fs.String("target", "", "comma-separated server roots, e.g. http://127.0.0.1:8080 (required)")
	mk := fs.String("management-key", "", "management key, for seeding (required without --fleet, except with --workload none)")
	fleetCode := fs.String("fleet", "", "short code of a fleet seeded by licensor seed: drive its devices instead of seeding")
	apiKey := fs.String("api-key", "", "License API key (required)")
	sharedKey := fs.String("shared-key", "", "License API shared key (required)")
	pubFile := fs.String("public-key", "", "PEM file of the public key responses are verified with (required)")
	workload := fs.String("workload", "track-changing", "one of "+strings.Join(loadgen.Workloads(), ", ")+"; none (with --baselines): baselines only")
	devices := fs.Int("devices", 1000, "licenses to seed, one activated device each (--fleet: devices of the fleet to drive)")
	concurrency := fs.Int("concurrency", 16, "concurrent requests (one keep-alive connection each)")
	duration := fs.Duration("duration", 10*time.Second, "how long to drive the workload")
	variables := fs.Int("variables", loadgen.DefaultVariables, "variables per track_device_variables request")
	maxRequests := fs.Int64("max-requests", 0, "stop after this many requests even before --duration (0: no limit)")
	sampleEvery := fs.Int("sample-every", loadgen.DefaultSampleEvery, "verify signatures of each worker's first answer and every n-th after")
	timeout := fs.Duration("timeout", loadgen.DefaultTimeout, "per-request timeout")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	rate := fs.Float64("rate", 0, "pace the run to this many requests/s over all connections (0: as fast as possible)")
	warmup := fs.Duration("warmup", 0, "run the workload this long, unpaced, before the measured --duration (not counted)")
	seed := fs.Uint64("seed", 1, "seed of the workloads' randomness (mixed: which request comes next)")
	baselines := fs.Bool("baselines", false, "first measure the sign-limit and http-limit baselines and report the run against them")
	signFor := fs.Duration("sign-duration", loadgen.DefaultSignDuration, "how long --baselines measures RSA signing")
	var pids pidList
	fs.Var(&pids, "server-pid", "a server process on this machine to sample (repeatable or comma-separated)")
	failOnError := fs.Bool("fail-on-error", false, "exit non-zero if any request failed or any sampled signature did not verify")
	cpuProfile := fs.String("cpuprofile", "", "write the load generator's CPU profile of the run to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *targets == "" || (*mk == "" && *fleetCode == "" && *workload != "none") || *apiKey == "" || *sharedKey == "" || *pubFile == "" {
		fs.Usage()
		return errors.New("bench: --target, --management-key (or --fleet; --workload none seeds nothing), --api-key, --shared-key and --public-key are required")
	}
	if *variables < 1 || *sampleEvery < 1 || *timeout <= 0 || *signFor <= 0 {
		return errors.New("bench: --variables, --sample-every, --timeout and --sign-duration must be positive")
	}
	if *rate < 0 || *warmup < 0 {
		return errors.New("bench: --rate and --warmup must not be negative")
	}
	wl := *workload
	if wl == "none" {
		if !*baselines {
			return errors.New("bench: --workload none needs --baselines")
		}
		wl = ""
	}
	pem, err := os.ReadFile(*pubFile)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	var urls []string
	for t := range strings.SplitSeq(*targets, ",") {
		if t = strings.TrimSpace(t); t != "" {
			urls = append(urls, t)
		}
	}
	b, err := loadgen.New(loadgen.Config{
		Targets: urls, ManagementKey: *mk, APIKey: *apiKey, SharedKey: *sharedKey, PublicKeyPEM: pem,
		Workload: wl, Devices: *devices, Concurrency: *concurrency, Duration: *duration,
		Variables: *variables, MaxRequests: *maxRequests, SampleEvery: *sampleEvery, Timeout: *timeout,
		Progress: stderr, Rate: *rate, Warmup: *warmup, Seed: *seed, ServerPIDs: pids, Fleet: *fleetCode,
	})
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer b.Close()
	var bl *loadgen.Baselines
	if *baselines {
		if bl, err = b.MeasureBaselines(ctx, *signFor); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if wl == "" {
			if *asJSON {
				err = bl.WriteJSON(stdout)
			} else {
				err = bl.WriteText(stdout)
			}
			if err != nil {
				return err
			}
			return failures(*failOnError, bl, nil)
		}
	}
	fleet, err := b.Seed(ctx)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	res, runErr := b.Run(ctx, fleet)
	if err := stopProfile(); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("cpu profile: %w", err))
	}
	if res != nil {
		res.Baselines = bl
		if *asJSON {
			err = res.WriteJSON(stdout)
		} else {
			err = res.WriteText(stdout)
		}
		if err != nil {
			return err
		}
	}
	if runErr != nil {
		return fmt.Errorf("bench: %w", runErr)
	}
	return failures(*failOnError, bl, res)
}

// failures is the --fail-on-error verdict: an error when on and a request of the
// baselines or the run failed or a sampled signature did not verify.
func failures(on bool, bl *loadgen.Baselines, res *loadgen.Result) error {
	if !on {
		return nil
	}
	var msgs []string
	if bl != nil && bl.HTTP != nil && bl.HTTP.ErrorCount() > 0 {
		msgs = append(msgs, fmt.Sprintf("http-limit: %d of %d requests failed", bl.HTTP.ErrorCount(), bl.HTTP.Requests))
	}
	if res != nil {
		if n := res.ErrorCount(); n > 0 {
			msgs = append(msgs, fmt.Sprintf("%s: %d of %d requests failed", res.Workload, n, res.Requests))
		}
		if res.Verified != res.Sampled {
			msgs = append(msgs, fmt.Sprintf("%s: %d of %d sampled signatures did not verify", res.Workload, res.Sampled-res.Verified, res.Sampled))
		}
	}
	if len(msgs) > 0 {
		return fmt.Errorf("bench: --fail-on-error: %s", strings.Join(msgs, "; "))
	}
	return nil
}

// pidList is the repeatable, comma-separated --server-pid flag.
type pidList []int

func (p *pidList) String() string {
	if p == nil {
		return ""
	}
	s := make([]string, len(*p))
	for i, pid := range *p {
		s[i] = strconv.Itoa(pid)
	}
	return strings.Join(s, ",")
}

func (p *pidList) Set(v string) error {
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil || pid < 1 {
			return fmt.Errorf("%q is not a process id", f)
		}
		*p = append(*p, pid)
	}
	return nil
}

// startCPUProfile starts profiling this process into path ("": nothing) and returns
// the function that stops it and closes the file.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
