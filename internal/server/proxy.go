package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/licensor/licensor/internal/httpkit"
)

// ParseTrustedProxies reads a comma-separated list of CIDRs or single addresses.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func trusted(a netip.Addr, proxies []netip.Prefix) bool {
	for _, p := range proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// realIP replaces r.RemoteAddr with the client's address from X-Forwarded-For, but only
// when the connection comes from a trusted proxy: walking the list from the right, the
// first address that is not itself a trusted proxy is the client. Anyone else's
// X-Forwarded-For is ignored, so a client cannot choose its recorded external IP. From
// a trusted proxy, X-Forwarded-Proto also names the scheme the client used
// (httpkit.Scheme), for the links an answer holds (the management API's pages).
func realIP(proxies []netip.Prefix, next http.Handler) http.Handler {
	if len(proxies) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if scheme := forwardedScheme(r, proxies); scheme != "" {
			r = httpkit.WithScheme(r, scheme)
		}
		if ip, ok := clientFromForwarded(r, proxies); ok {
			r2 := *r
			r2.RemoteAddr = net.JoinHostPort(ip.String(), "0")
			r = &r2
		}
		next.ServeHTTP(w, r)
	})
}

func clientFromForwarded(r *http.Request, proxies []netip.Prefix) (netip.Addr, bool) {
	if !fromTrusted(r, proxies) {
		return netip.Addr{}, false
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, false
		}
		a = a.Unmap()
		if !trusted(a, proxies) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// forwardedScheme is the last X-Forwarded-Proto value (http or https) of a request from
// a trusted proxy: the one the nearest proxy set or appended, as X-Forwarded-For is
// read from the right, so a client cannot choose it by sending its own; "" for
// anything else.
func forwardedScheme(r *http.Request, proxies []netip.Prefix) string {
	if !fromTrusted(r, proxies) {
		return ""
	}
	vs := r.Header.Values("X-Forwarded-Proto")
	if len(vs) == 0 {
		return ""
	}
	last := vs[len(vs)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	switch s := strings.ToLower(strings.TrimSpace(last)); s {
	case "http", "https":
		return s
	}
	return ""
}

// fromTrusted reports whether the connection's peer is a trusted proxy.
func fromTrusted(r *http.Request, proxies []netip.Prefix) bool {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && trusted(peer.Addr().Unmap(), proxies)
}
