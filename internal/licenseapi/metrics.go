package licenseapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the License API's Prometheus series.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, s *signer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "licensor_license_api_requests_total",
			Help: "License API requests by endpoint and answer (ok or the wire error code).",
		}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "licensor_license_api_request_seconds",
			Help:    "License API request latency by endpoint.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"endpoint"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency,
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "licensor_signatures_made_total",
				Help: "Response signatures computed (RSA/ECDSA operations).",
			}, func() float64 { return float64(s.made.Load()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "licensor_signatures_reused_total",
				Help: "Response signatures served from the cache of byte-identical bodies.",
			}, func() float64 { return float64(s.reused.Load()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "licensor_signatures_recalled_total",
				Help: "Response signatures recalled from the database (a device's unchanged answer signed before).",
			}, func() float64 { return float64(s.recalled.Load()) }))
	}
	return m
}

// recorder remembers the wire code a response answered with.
type recorder struct {
	http.ResponseWriter
	code string
}

// observe wraps one request: it counts it under its endpoint (or "unknown" for paths
// that are no endpoint, so clients cannot grow the label set) and its answer.
func (m *metrics) observe(w http.ResponseWriter, r *http.Request, known func(string) bool, serve func(http.ResponseWriter, *http.Request)) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, code: "ok"}
	serve(rec, r)
	endpoint := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, Prefix), "/")
	if !known(endpoint) {
		endpoint = "unknown"
	}
	m.requests.WithLabelValues(endpoint, rec.code).Inc()
	m.latency.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
}
