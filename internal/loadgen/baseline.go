package loadgen

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Baselines are the ceilings a workload's throughput is compared with, measured
// on the load generator's machine in the same run.
type Baselines struct {
	// Sign is the machine's RSA-2048 signing rate: what a License API whose every
	// answer needed a fresh signature could at best reach on this machine.
	Sign *SignLimit
	// HTTP is GET /healthz on the targets at the run's concurrency and duration:
	// the HTTP stack and the load generator with no database and no signature.
	HTTP *Result
}

// DefaultSignDuration is how long MeasureSignLimit signs by default.
const DefaultSignDuration = 3 * time.Second

// signMessageBytes is about the size of a License API answer that gets signed.
const signMessageBytes = 600

// SignLimit is what MeasureSignLimit measured.
type SignLimit struct {
	Signatures   int64
	Elapsed      time.Duration
	Goroutines   int
	MessageBytes int
}

// PerSecond is signatures per second over all goroutines.
func (s *SignLimit) PerSecond() float64 {
	if s == nil || s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Signatures) / s.Elapsed.Seconds()
}

// MeasureSignLimit signs a ~600-byte message the way licensor signs answers
// (SHA-256, RSA PKCS #1 v1.5, a freshly generated 2048-bit key) from GOMAXPROCS
// goroutines for d (0: DefaultSignDuration) and counts the signatures.
func MeasureSignLimit(ctx context.Context, d time.Duration) (*SignLimit, error) {
	if d <= 0 {
		d = DefaultSignDuration
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("sign-limit: generate key: %w", err)
	}
	msg := make([]byte, signMessageBytes)
	for i := range msg {
		msg[i] = 'a' + byte(i%26)
	}
	n := runtime.GOMAXPROCS(0)
	var (
		count    atomic.Int64
		wg       sync.WaitGroup
		firstErr error
		once     sync.Once
		last     []byte
	)
	start := time.Now()
	deadline := start.Add(d)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sig []byte
			for ctx.Err() == nil && time.Now().Before(deadline) {
				sum := sha256.Sum256(msg)
				s, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				sig = s
				count.Add(1)
			}
			if g == 0 {
				last = sig
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return nil, fmt.Errorf("sign-limit: %w", firstErr)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sign-limit interrupted: %w", err)
	}
	// The loop must have produced real signatures, not errors or nothing.
	sum := sha256.Sum256(msg)
	if last == nil || rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], last) != nil {
		return nil, errors.New("sign-limit: no valid signature produced")
	}
	return &SignLimit{Signatures: count.Load(), Elapsed: elapsed, Goroutines: n, MessageBytes: len(msg)}, nil
}

// HTTPLimit sends GET /healthz to the targets (round-robin) from Concurrency
// workers for Duration, as fast as they go, and reports it like a workload
// ("http-limit"); anything but 200 is an error. licensor answers /healthz from
// memory, so this is the HTTP path alone, as loaded by this machine.
func (b *Bench) HTTPLimit(ctx context.Context) (*Result, error) {
	var rr atomic.Uint64
	res, err := b.drive(ctx, "http-limit", false, 0, func(w *worker) step {
		return func(ctx context.Context, due time.Time) bool {
			t := b.targets[(rr.Add(1)-1)%uint64(len(b.targets))]
			t0 := time.Now()
			status, err := b.get(ctx, t0.Add(b.cfg.Timeout), t)
			t1 := time.Now()
			if err != nil && ctx.Err() != nil {
				return false
			}
			var code, msg string
			switch {
			case err != nil:
				code, msg = "transport_error", err.Error()
				var ne net.Error
				if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
					code = "timeout"
				}
			case status != http.StatusOK:
				code, msg = fmt.Sprintf("http_%d", status), fmt.Sprintf("GET %s: HTTP %d", t.healthz, status)
			}
			w.count("healthz", t1.Sub(t0), due, t1, code, msg)
			return true
		}
	})
	if res != nil {
		res.Workload = "http-limit"
	}
	return res, err
}

// MeasureBaselines measures the sign limit for signFor (0: DefaultSignDuration),
// then the HTTP limit.
func (b *Bench) MeasureBaselines(ctx context.Context, signFor time.Duration) (*Baselines, error) {
	fmt.Fprintf(b.progress, "sign-limit: RSA-2048 signatures from %d goroutines\n", runtime.GOMAXPROCS(0))
	s, err := MeasureSignLimit(ctx, signFor)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(b.progress, "sign-limit: %.0f signatures/s\n", s.PerSecond())
	h, err := b.HTTPLimit(ctx)
	if err != nil {
		return nil, fmt.Errorf("http-limit: %w", err)
	}
	if n := h.ErrorCount(); n > 0 {
		// A ceiling measured with failures is no ceiling: every ratio to it would be wrong.
		code := slices.Sorted(maps.Keys(h.Errors))[0]
		return nil, fmt.Errorf("http-limit: %d of %d GET /healthz requests failed (%s: %s)", n, h.Requests, code, h.ErrorSamples[code])
	}
	fmt.Fprintf(b.progress, "http-limit: %.0f GET /healthz req/s at concurrency %d, %d errors\n", h.RPS(), h.Concurrency, h.ErrorCount())
	return &Baselines{Sign: s, HTTP: h}, nil
}
