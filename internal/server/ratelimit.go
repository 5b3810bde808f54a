package server

import (
	"crypto/sha256"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/ratelimit"
)

// limiters are the server's four request limits; a nil one is off.
type limiters struct {
	ip      *ratelimit.Keyed[netip.Prefix] // per client address (IPv6: per /64)
	auth    *ratelimit.Keyed[[32]byte]     // per SHA-256 of the Authorization values
	license ratelimit.CompanyLimiter       // License API, per company
	manage  ratelimit.CompanyLimiter       // management API, per company
	refused *prometheus.CounterVec         // requests answered 429, by limit
}

func newLimiters(l ratelimit.Limits, reg prometheus.Registerer, now func() time.Time) *limiters {
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "licensor_rate_limited_total",
		Help: "Requests answered 429 by a rate limit, by limit (ip, authorization, company_license, company_manage).",
	}, []string{"limit"})
	reg.MustRegister(refused)
	for _, name := range []string{"ip", "authorization", "company_license", "company_manage"} {
		refused.WithLabelValues(name) // exported as 0 from the start
	}
	ls := &limiters{
		ip:      ratelimit.New[netip.Prefix](ratelimit.Config{N: l.IP, Per: ratelimit.IPWindow, Now: now}),
		auth:    ratelimit.New[[32]byte](ratelimit.Config{N: l.Authorization, Per: ratelimit.AuthorizationWindow, Now: now}),
		refused: refused,
	}
	// Interfaces stay nil (not a typed nil) when a limit is off.
	if c := ratelimit.New[int64](ratelimit.Config{N: l.CompanyLicense, Per: ratelimit.CompanyWindow, Now: now}); c != nil {
		ls.license = counted{c, refused.WithLabelValues("company_license")}
	}
	if c := ratelimit.New[int64](ratelimit.Config{N: l.CompanyManage, Per: ratelimit.CompanyWindow, Now: now}); c != nil {
		ls.manage = counted{c, refused.WithLabelValues("company_manage")}
	}
	return ls
}

// counted is a per-company limit that counts its refusals.
type counted struct {
	l       *ratelimit.Keyed[int64]
	refused prometheus.Counter
}

func (c counted) Allow(companyID int64) (bool, time.Duration) {
	ok, wait := c.l.Allow(companyID)
	if !ok {
		c.refused.Inc()
	}
	return ok, wait
}

// clientKey is the limit key of a request's client address: the address itself, or for
// IPv6 its /64, which one host or site normally holds whole. ok is false if RemoteAddr
// (already resolved through trusted proxies) is no IP address.
func clientKey(r *http.Request) (netip.Prefix, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Prefix{}, false
	}
	a := ap.Addr().Unmap()
	bits := a.BitLen()
	if a.Is6() {
		bits = 64
	}
	p, err := a.Prefix(bits)
	return p, err == nil
}

// authKey is the limit key of a request's Authorization header: a SHA-256 of its values,
// so no secret is kept. ok is false without one.
func authKey(r *http.Request) ([32]byte, bool) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return [32]byte{}, false
	}
	h := sha256.New()
	for _, v := range vals {
		h.Write([]byte(v))
		h.Write([]byte{0})
	}
	var k [32]byte
	h.Sum(k[:0])
	return k, true
}

// limit applies the per-address and per-Authorization limits before next (one of the
// APIs) runs, so a refused request costs no authentication and no database work; it is
// answered 429 in the API's error shape by writeError.
func (ls *limiters) limit(next http.Handler, writeError func(http.ResponseWriter, *http.Request, *licensing.Error)) http.Handler {
	if ls.ip == nil && ls.auth == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e := ls.check(w, r); e != nil {
			writeError(w, r, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// check takes a token from the request's address and Authorization buckets; if either
// is empty it returns the rate_limited error, with Retry-After set on w.
func (ls *limiters) check(w http.ResponseWriter, r *http.Request) *licensing.Error {
	if ls.ip != nil {
		if k, ok := clientKey(r); ok {
			if ok, wait := ls.ip.Allow(k); !ok {
				ls.refused.WithLabelValues("ip").Inc()
				return ratelimit.Refuse(w, wait, "this client address")
			}
		}
	}
	if ls.auth != nil {
		if k, ok := authKey(r); ok {
			if ok, wait := ls.auth.Allow(k); !ok {
				ls.refused.WithLabelValues("authorization").Inc()
				return ratelimit.Refuse(w, wait, "this Authorization value")
			}
		}
	}
	return nil
}
