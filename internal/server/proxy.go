package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
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
// a trusted proxy, X-Forwarded-Proto (http or https) also becomes r.URL.Scheme: the
// scheme the client used, for the links an answer holds (the management API's pages).
func realIP(proxies []netip.Prefix, next http.Handler) http.Handler {
	if len(proxies) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, ok := clientFromForwarded(r, proxies)
		scheme := forwardedScheme(r, proxies)
		if ok || scheme != "" {
			r2 := *r
			if ok {
				r2.RemoteAddr = net.JoinHostPort(ip.String(), "0")
			}
			if scheme != "" {
				u := *r.URL
				u.Scheme = scheme
				r2.URL = &u
			}
			r = &r2
		}
		next.ServeHTTP(w, r)
	})
}

// forwardedScheme is the first X-Forwarded-Proto value, http or https, of a request from
// a trusted proxy; "" for anything else.
func forwardedScheme(r *http.Request, proxies []netip.Prefix) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !trusted(peer.Addr().Unmap(), proxies) {
		return ""
	}
	first, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	switch s := strings.ToLower(strings.TrimSpace(first)); s {
	case "http", "https":
		return s
	}
	return ""
}

func clientFromForwarded(r *http.Request, proxies []netip.Prefix) (netip.Addr, bool) {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !trusted(peer.Addr().Unmap(), proxies) {
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
