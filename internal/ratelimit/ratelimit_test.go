package ratelimit

import (
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
)

// clock is a manual clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestOffIsNil(t *testing.T) {
	for _, c := range []Config{{N: 0, Per: time.Second}, {N: -1, Per: time.Second}, {N: 5, Per: 0}} {
		l := New[string](c)
		if l != nil {
			t.Fatalf("New(%+v) = %v, want nil", c, l)
		}
		for range 1000 {
			if ok, _ := l.Allow("k"); !ok {
				t.Fatalf("nil limiter refused")
			}
		}
		if l.Len() != 0 {
			t.Fatal("nil limiter has keys")
		}
	}
}

// step is one Allow call at an offset from the previous one.
type step struct {
	after  time.Duration // clock advance before the call
	n      int           // how many calls
	ok     bool          // what each must answer
	retry  time.Duration // if !ok: the wait the last call reports (0: not checked)
	header int           // if !ok: its Retry-After seconds (0: not checked)
}

func TestBucket(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		per   time.Duration
		steps []step
	}{
		{"burst of N, then refused", 5, time.Second, []step{
			{0, 5, true, 0, 0},
			{0, 1, false, 200 * time.Millisecond, 1},
		}},
		{"one token per window/N", 5, time.Second, []step{
			{0, 5, true, 0, 0},
			{100 * time.Millisecond, 1, false, 100 * time.Millisecond, 1},
			{100 * time.Millisecond, 1, true, 0, 0},
			{0, 1, false, 200 * time.Millisecond, 1},
		}},
		{"full refill after one window", 5, time.Second, []step{
			{0, 5, true, 0, 0},
			{time.Second, 5, true, 0, 0},
			{0, 1, false, 0, 0},
		}},
		{"bucket never holds more than N", 3, time.Second, []step{
			{time.Hour, 3, true, 0, 0},
			{0, 1, false, 0, 0},
		}},
		{"LicenseSpring per IP: 200 per 10 s", 200, 10 * time.Second, []step{
			{0, 200, true, 0, 0},
			{0, 1, false, 50 * time.Millisecond, 1},
			{50 * time.Millisecond, 1, true, 0, 0},
		}},
		{"slow window rounds Retry-After up", 2, time.Minute, []step{
			{0, 2, true, 0, 0},
			{0, 1, false, 30 * time.Second, 30},
			{29*time.Second + 500*time.Millisecond, 1, false, 500 * time.Millisecond, 1},
			{500 * time.Millisecond, 1, true, 0, 0},
		}},
		{"partial token: 1 per 7 s, 2.5 s in", 1, 7 * time.Second, []step{
			{0, 1, true, 0, 0},
			{2500 * time.Millisecond, 1, false, 4500 * time.Millisecond, 5},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			l := New[string](Config{N: tt.n, Per: tt.per, Now: c.now})
			for i, s := range tt.steps {
				c.advance(s.after)
				var ok bool
				var wait time.Duration
				for j := 0; j < s.n; j++ {
					ok, wait = l.Allow("k")
					if ok != s.ok {
						t.Fatalf("step %d call %d: ok=%v, want %v", i, j, ok, s.ok)
					}
				}
				if ok && wait != 0 {
					t.Fatalf("step %d: allowed with wait %v", i, wait)
				}
				if !ok {
					if wait <= 0 {
						t.Fatalf("step %d: refused with wait %v", i, wait)
					}
					if s.retry != 0 && (wait < s.retry-time.Millisecond || wait > s.retry+time.Millisecond) {
						t.Fatalf("step %d: wait %v, want %v", i, wait, s.retry)
					}
					if s.header != 0 && RetryAfter(wait) != s.header {
						t.Fatalf("step %d: Retry-After %d, want %d", i, RetryAfter(wait), s.header)
					}
				}
			}
		})
	}
}

func TestRefusedCallsDoNotSpendTokens(t *testing.T) {
	c := newClock()
	l := New[string](Config{N: 2, Per: time.Second, Now: c.now})
	l.Allow("k")
	l.Allow("k")
	for range 100 {
		if ok, _ := l.Allow("k"); ok {
			t.Fatal("allowed on an empty bucket")
		}
	}
	c.advance(500 * time.Millisecond) // one token back, however often it was refused
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("refused after the refill")
	}
}

func TestKeysAreIndependent(t *testing.T) {
	c := newClock()
	l := New[int64](Config{N: 3, Per: time.Minute, Now: c.now})
	for range 3 {
		l.Allow(1)
	}
	if ok, _ := l.Allow(1); ok {
		t.Fatal("key 1 not limited")
	}
	for range 3 {
		if ok, _ := l.Allow(2); !ok {
			t.Fatal("key 2 limited by key 1's use")
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		wait time.Duration
		want int
	}{
		{0, 1},
		{time.Nanosecond, 1},
		{999 * time.Millisecond, 1},
		{time.Second, 1},
		{time.Second + time.Nanosecond, 2},
		{1500 * time.Millisecond, 2},
		{59*time.Second + time.Millisecond, 60},
		{time.Minute, 60},
	} {
		if got := RetryAfter(tt.wait); got != tt.want {
			t.Errorf("RetryAfter(%v) = %d, want %d", tt.wait, got, tt.want)
		}
	}
}

// A flood of distinct keys keeps at most MaxKeys of them; a forgotten key starts again
// with a full bucket, and recently used keys are the ones kept.
func TestBoundedKeys(t *testing.T) {
	c := newClock()
	const maxKeys = 256
	l := New[int](Config{N: 1, Per: time.Hour, MaxKeys: maxKeys, Now: c.now})
	for i := range 20_000 {
		if ok, _ := l.Allow(i); !ok {
			t.Fatalf("fresh key %d refused", i)
		}
		if n := l.Len(); n > maxKeys {
			t.Fatalf("%d keys remembered, at most %d allowed", n, maxKeys)
		}
	}
	if n := l.Len(); n < maxKeys/2 {
		t.Fatalf("only %d keys remembered of %d", n, maxKeys)
	}
	// The most recent key is still limited; the first one was forgotten.
	if ok, _ := l.Allow(19_999); ok {
		t.Fatal("most recent key forgotten")
	}
	if ok, _ := l.Allow(0); !ok {
		t.Fatal("oldest key still remembered")
	}
}

func TestDefaultMaxKeys(t *testing.T) {
	l := New[int](Config{N: 1, Per: time.Second})
	for i := range DefaultMaxKeys + 5000 {
		l.Allow(i)
	}
	if n := l.Len(); n > DefaultMaxKeys || n < DefaultMaxKeys*3/4 {
		t.Fatalf("%d keys remembered, want about %d", n, DefaultMaxKeys)
	}
}

// Many goroutines on a few keys get exactly the burst between them: no lost or double
// counted tokens.
func TestConcurrent(t *testing.T) {
	c := newClock() // frozen: no refill during the test
	const burst, keys, workers, calls = 100, 4, 16, 200
	l := New[int](Config{N: burst, Per: time.Hour, Now: c.now})
	var allowed [keys]atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				k := (w + i) % keys
				if ok, wait := l.Allow(k); ok {
					allowed[k].Add(1)
				} else if wait <= 0 {
					t.Errorf("refused with wait %v", wait)
				}
			}
		}()
	}
	wg.Wait()
	for k := range keys {
		if got := allowed[k].Load(); got != burst {
			t.Errorf("key %d: %d allowed, want %d", k, got, burst)
		}
	}
}

type fixed struct {
	ok   bool
	wait time.Duration
	got  int64
}

func (f *fixed) Allow(id int64) (bool, time.Duration) { f.got = id; return f.ok, f.wait }

func TestCompany(t *testing.T) {
	w := httptest.NewRecorder()
	if e := Company(nil, w, 7); e != nil {
		t.Fatalf("nil limiter: %v", e)
	}
	if e := Company(&fixed{ok: true}, w, 7); e != nil || w.Header().Get("Retry-After") != "" {
		t.Fatalf("allowed: %v, Retry-After %q", e, w.Header().Get("Retry-After"))
	}
	f := &fixed{wait: 1200 * time.Millisecond}
	e := Company(f, w, 7)
	if e == nil || e.Code != licensing.ERateLimited || f.got != 7 {
		t.Fatalf("refused: %v (company %d)", e, f.got)
	}
	if got := w.Header().Get("Retry-After"); got != "2" {
		t.Fatalf("Retry-After %q, want 2", got)
	}
}
