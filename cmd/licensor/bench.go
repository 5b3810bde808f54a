package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/licensor/licensor/internal/loadgen"
)

const benchUsage = `usage: licensor bench --target URL[,URL…] --management-key K --api-key A --shared-key S
                     --public-key FILE --workload W --devices D --concurrency C --duration T
                     [--variables V] [--max-requests N] [--sample-every N] [--json]

Seeds a fresh product with D licenses through the management API, activates one
device on each, then sends workload W from C concurrent keep-alive connections for T,
spreading requests round-robin over the targets (several instances on one database).
Prints requests, req/s, latency quantiles and errors by code (text, or one JSON object
with --json) to stdout and one progress line per second to stderr.`

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
	mk := fs.String("management-key", "", "management key, for seeding (required)")
	apiKey := fs.String("api-key", "", "License API key (required)")
	sharedKey := fs.String("shared-key", "", "License API shared key (required)")
	pubFile := fs.String("public-key", "", "PEM file of the public key responses are verified with (required)")
	workload := fs.String("workload", "track-changing", "one of "+strings.Join(loadgen.Workloads(), ", "))
	devices := fs.Int("devices", 1000, "licenses to seed, one activated device each")
	concurrency := fs.Int("concurrency", 16, "concurrent requests (one keep-alive connection each)")
	duration := fs.Duration("duration", 10*time.Second, "how long to drive the workload")
	variables := fs.Int("variables", loadgen.DefaultVariables, "variables per track_device_variables request")
	maxRequests := fs.Int64("max-requests", 0, "stop after this many requests even before --duration (0: no limit)")
	sampleEvery := fs.Int("sample-every", loadgen.DefaultSampleEvery, "verify signatures of each worker's first answer and every n-th after")
	timeout := fs.Duration("timeout", loadgen.DefaultTimeout, "per-request timeout")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}
	if *targets == "" || *mk == "" || *apiKey == "" || *sharedKey == "" || *pubFile == "" {
		fs.Usage()
		return errors.New("bench: --target, --management-key, --api-key, --shared-key and --public-key are required")
	}
	if *variables < 1 || *sampleEvery < 1 || *timeout <= 0 {
		return errors.New("bench: --variables, --sample-every and --timeout must be positive")
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
		Workload: *workload, Devices: *devices, Concurrency: *concurrency, Duration: *duration,
		Variables: *variables, MaxRequests: *maxRequests, SampleEvery: *sampleEvery, Timeout: *timeout,
		Progress: stderr,
	})
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer b.Close()
	fleet, err := b.Seed(ctx)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	res, runErr := b.Run(ctx, fleet)
	if res != nil {
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
	return nil
}
