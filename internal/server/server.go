// Package server wires the two APIs and the health probe into one http.Handler and
// runs it with production timeouts and graceful shutdown.
package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/licensor/licensor/internal/licenseapi"
	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/manageapi"
	"github.com/licensor/licensor/internal/ratelimit"
)

// Config configures a Server.
type Config struct {
	Log           *slog.Logger
	ProbeInterval time.Duration // how often /healthz's database probe runs
	ShutdownGrace time.Duration // how long SIGTERM waits for in-flight requests
	MaxBody       int64         // largest License API request body (0: the default)
	// TrustedProxies are the load balancers whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
	// RateLimits are the request limits (zero: all off).
	RateLimits ratelimit.Limits
	// The HTTP server's timeouts and header limit (0: the Default… constants).
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int

	clock func() time.Time // the rate limits' clock (nil: time.Now); for tests
}

// The HTTP server's defaults: a client has ReadHeaderTimeout to send its request line
// and headers, ReadTimeout for the whole request including its body, the server has
// WriteTimeout once the request is read to send its answer, and an idle keep-alive
// connection is closed after IdleTimeout. Larger headers are answered 431.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
)

// Server is licensor's HTTP server.
type Server struct {
	svc     *licensing.Service
	cfg     Config
	license *licenseapi.Handler
	manage  *manageapi.Handler
	healthy atomic.Bool
	metrics *prometheus.Registry
	limits  *limiters
}

// New returns a Server for svc.
func New(svc *licensing.Service, cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = 2 * time.Second
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 30 * time.Second
	}
	orDefault(&cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	orDefault(&cfg.ReadTimeout, DefaultReadTimeout)
	orDefault(&cfg.WriteTimeout, DefaultWriteTimeout)
	orDefault(&cfg.IdleTimeout, DefaultIdleTimeout)
	orDefault(&cfg.MaxHeaderBytes, DefaultMaxHeaderBytes)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	observeWriteBatches(svc.Store(), reg)
	observeWriteRetries(svc.Store(), reg, cfg.Log)
	limits := newLimiters(cfg.RateLimits, reg, cfg.clock)
	manage := manageapi.New(svc, cfg.Log)
	manage.LimitCompanies(limits.manage)
	return &Server{
		svc:     svc,
		cfg:     cfg,
		license: licenseapi.New(svc, licenseapi.Config{Log: cfg.Log, MaxBody: cfg.MaxBody, Metrics: reg, CompanyLimit: limits.license}),
		manage:  manage,
		metrics: reg,
		limits:  limits,
	}
}

// observeWriteBatches exports the sizes of the store's group-commit batches (SQLite)
// as licensor_write_batch_size.
func observeWriteBatches(st licensing.Store, reg *prometheus.Registry) {
	b, ok := st.(interface{ ObserveWriteBatches(func(int)) })
	if !ok {
		return
	}
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "licensor_write_batch_size",
		Help:    "Write transactions committed together in one group-commit batch.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
	})
	reg.MustRegister(h)
	b.ObserveWriteBatches(func(n int) { h.Observe(float64(n)) })
}

// observeWriteRetries counts, as licensor_write_retries_total by SQLSTATE, and logs the
// write transactions the database aborted and the store ran again (PostgreSQL: a
// deadlock between instances), which would otherwise leave no trace.
func observeWriteRetries(st licensing.Store, reg *prometheus.Registry, log *slog.Logger) {
	r, ok := st.(interface{ ObserveWriteRetries(func(string)) })
	if !ok {
		return
	}
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "licensor_write_retries_total",
		Help: "Write transactions the database aborted (deadlock, serialization failure) and that were run again, by SQLSTATE.",
	}, []string{"sqlstate"})
	reg.MustRegister(c)
	for _, code := range []string{"40P01", "40001"} { // shown as 0 before the first
		c.WithLabelValues(code)
	}
	r.ObserveWriteRetries(func(code string) {
		c.WithLabelValues(code).Inc()
		log.Warn("the database aborted a write transaction; running it again", "sqlstate", code)
	})
}

// orDefault sets a value that is not positive to def.
func orDefault[T time.Duration | int](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Handler routes /api/v4/…, /api/v1/…, /healthz and GET /metrics by their path as
// sent; anything else is a JSON 404. (http.ServeMux would answer a path with "//",
// "." or ".." segments, or an API's prefix without its slash, with a redirect that
// clients follow with the method and body of a POST, and in HTML.)
func (s *Server) Handler() http.Handler {
	license := s.limits.limit(s.license, s.license.WriteError)
	manage := s.limits.limit(s.manage, s.manage.WriteError)
	metrics := promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{})
	return realIP(s.cfg.TrustedProxies, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, licenseapi.Prefix):
			license.ServeHTTP(w, r)
		case strings.HasPrefix(p, manageapi.Prefix):
			manage.ServeHTTP(w, r)
		case p == "/healthz":
			s.health(w, r)
		case p == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			metrics.ServeHTTP(w, r)
		case p == "/metrics":
			w.Header().Set("Allow", "GET, HEAD")
			s.license.WriteError(w, r, licensing.Errorf(licensing.EMethodNotAllowed, "/metrics does not allow %s; use GET", r.Method))
		default:
			s.license.WriteError(w, r, licensing.Errorf(licensing.ENotFound, "API path %s does not exist", p))
		}
	}))
}

// answerWithin gives each answer d from when its request has been read: at once for a
// request without a body, when its body ends otherwise. A body never read to its end
// keeps net/http's write deadline, the outer bound.
func answerWithin(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if r.Body == nil || r.Body == http.NoBody {
			rc.SetWriteDeadline(time.Now().Add(d))
		} else {
			r.Body = &deadlineAtEOF{ReadCloser: r.Body, set: func() { rc.SetWriteDeadline(time.Now().Add(d)) }}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineAtEOF calls set once, when its body has been read to its end.
type deadlineAtEOF struct {
	io.ReadCloser
	set  func()
	done bool
}

func (b *deadlineAtEOF) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		b.set()
	}
	return n, err
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !s.healthy.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"unavailable"}`))
		return
	}
	w.Write([]byte(`{"status":"ok"}`))
}

// probe pings the database in the background so /healthz costs no round trip.
func (s *Server) probe(ctx context.Context) {
	check := func() {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		err := s.svc.Store().Ping(pctx)
		if err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn("database probe failed", "err", err)
		}
		s.healthy.Store(err == nil)
	}
	check()
	t := time.NewTicker(s.cfg.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			check()
		}
	}
}

// Serve answers on ln until ctx is cancelled, then drains in-flight requests.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           answerWithin(s.cfg.WriteTimeout, s.Handler()),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		// net/http counts its write timeout from the end of the headers, the body's
		// reading included: ReadTimeout + WriteTimeout is the outer bound, so that a
		// body still arriving at ReadTimeout gets its 408 (with the two equal, the
		// write deadline had passed by then and the connection closed without an
		// answer); answerWithin gives each answer WriteTimeout once its request is read.
		WriteTimeout:   s.cfg.ReadTimeout + s.cfg.WriteTimeout,
		IdleTimeout:    s.cfg.IdleTimeout,
		MaxHeaderBytes: s.cfg.MaxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn),
	}
	pctx, stopProbe := context.WithCancel(context.Background())
	defer stopProbe()
	go s.probe(pctx)

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.cfg.Log.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer cancel()
	err := hs.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return err
}
