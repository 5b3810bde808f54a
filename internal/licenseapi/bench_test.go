package licenseapi_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/signing"
)

// Benchmarks of whole License API requests through the handler (no network), next to
// the cost of one RSA-2048 signature, their natural bound. Compare as ratios:
//
//	go test -run XXX -bench . ./internal/licenseapi/
func BenchmarkRSASign(b *testing.B) {
	priv, _, err := signing.Generate(signing.RSA2048)
	if err != nil {
		b.Fatal(err)
	}
	s, err := signing.Parse(priv)
	if err != nil {
		b.Fatal(err)
	}
	msg := []byte(`[{"variable":"a","value":"1","device_id":1,"created_at":1}]`)
	for b.Loop() {
		if _, err := s.Sign(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func benchFixture(b *testing.B) *fixture { return benchFixtureKey(b, signing.RSA2048) }

// benchFixtureKey is the fixture with the service as `licensor serve` runs it:
// last-check stamps written behind, once a second (without, every check would write
// its stamp at once, which the server never does).
func benchFixtureKey(b *testing.B, alg string) *fixture {
	f := newFixtureKey(b, alg, licensing.WithCheckStampInterval(time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	stamped := make(chan struct{})
	go func() { f.svc.RunCheckStamps(ctx); close(stamped) }()
	b.Cleanup(func() { cancel(); <-stamped })
	if w := f.do("POST", "/api/v4/activate_license", activateBody, nil); w.Code != 200 {
		b.Fatalf("activate: %d %s", w.Code, w.Body)
	}
	return f
}

func BenchmarkTrackChanging(b *testing.B) {
	f := benchFixture(b)
	i := 0
	for b.Loop() {
		i++
		w := f.do("POST", "/api/v4/track_device_variables", fmt.Sprintf(`{"hardware_id":"hw-1","product":"app","license_key":"KEY-1","variables":{"n":%d}}`, i), nil)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkTrackChangingECDSA is the load generator's track-changing request (five
// variables, every value new) with an ECDSA key, whose signature is cheap: what is left
// is mostly the write transaction.
func BenchmarkTrackChangingECDSA(b *testing.B) {
	f := benchFixtureKey(b, signing.ECDSAP256)
	i := 0
	for b.Loop() {
		i++
		body := fmt.Sprintf(`{"hardware_id":"hw-1","product":"app","license_key":"KEY-1","variables":{"os":"linux-%d","version":"1.%d","seats":"%d","build":"b%d","locale":"l%d"}}`, i, i, i, i, i)
		w := f.do("POST", "/api/v4/track_device_variables", body, nil)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkTrackSteady re-sends five unchanged variables, as the load generator's
// track-steady does.
func BenchmarkTrackSteady(b *testing.B) {
	f := benchFixture(b)
	for b.Loop() {
		w := f.do("POST", "/api/v4/track_device_variables", `{"hardware_id":"hw-1","product":"app","license_key":"KEY-1","variables":{"os":"linux","version":"1.0","seats":"3","build":"b1","locale":"en"}}`, nil)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	f := benchFixture(b)
	for b.Loop() {
		w := f.do("GET", "/api/v4/check_license?hardware_id=hw-1&product=app&license_key=KEY-1", "", nil)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkTrackChangingECDSAParallel is BenchmarkTrackChangingECDSA from 64
// goroutines at once, as the load generator's connections send it: the writes queue
// up and commit in batches (group commit). ns/op is wall time per request on all cores.
func BenchmarkTrackChangingECDSAParallel(b *testing.B) {
	f := benchFixtureKey(b, signing.ECDSAP256)
	var n atomic.Int64
	b.SetParallelism(32) // × GOMAXPROCS goroutines
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := fmt.Sprintf(`{"hardware_id":"hw-1","product":"app","license_key":"KEY-1","variables":{"os":"linux-%d","version":"1.%d","seats":"%d","build":"b%d","locale":"l%d"}}`, i, i, i, i, i)
			w := f.do("POST", "/api/v4/track_device_variables", body, nil)
			if w.Code != 200 {
				b.Errorf("%d %s", w.Code, w.Body)
				return
			}
		}
	})
}
