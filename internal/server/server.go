// Package server wires the two APIs and the health probe into one http.Handler and
// runs it with production timeouts and graceful shutdown.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/licensor/licensor/internal/licenseapi"
	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/manageapi"
)

// Config configures a Server.
type Config struct {
	Log           *slog.Logger
	ProbeInterval time.Duration // how often /healthz's database probe runs
	ShutdownGrace time.Duration // how long SIGTERM waits for in-flight requests
	MaxBody       int64         // largest License API request body (0: the default)
	// TrustedProxies are the load balancers whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
}

// Server is licensor's HTTP server.
type Server struct {
	svc     *licensing.Service
	cfg     Config
	license *licenseapi.Handler
	manage  *manageapi.Handler
	healthy atomic.Bool
	metrics *prometheus.Registry
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
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Server{
		svc:     svc,
		cfg:     cfg,
		license: licenseapi.New(svc, licenseapi.Config{Log: cfg.Log, MaxBody: cfg.MaxBody, Metrics: reg}),
		manage:  manageapi.New(svc, cfg.Log),
		metrics: reg,
	}
}

// Handler routes /api/v4/, /api/v1/ and /healthz; anything else is a JSON 404.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(licenseapi.Prefix, s.license)
	mux.Handle(manageapi.Prefix, s.manage)
	mux.HandleFunc("/healthz", s.health)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.license.WriteError(w, r, licensing.Errorf(licensing.ENotFound, "API path %s does not exist", r.URL.Path))
	})
	return realIP(s.cfg.TrustedProxies, mux)
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
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn),
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
