package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/licensor/licensor/internal/httpkit"
)

func TestClientFromForwarded(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 192.168.1.5")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"untrusted peer's header is ignored", "203.0.113.9:5000", []string{"1.2.3.4"}, ""},
		{"trusted proxy, one hop", "10.1.2.3:5000", []string{"1.2.3.4"}, "1.2.3.4"},
		{"client-supplied prefix is skipped", "10.1.2.3:5000", []string{"6.6.6.6, 1.2.3.4"}, "1.2.3.4"},
		{"chain of trusted proxies", "10.1.2.3:5000", []string{"1.2.3.4, 192.168.1.5", "10.9.9.9"}, "1.2.3.4"},
		{"all hops trusted", "10.1.2.3:5000", []string{"10.2.2.2"}, ""},
		{"garbage hop", "10.1.2.3:5000", []string{"not-an-ip"}, ""},
		{"no header", "10.1.2.3:5000", nil, ""},
		{"ipv6 client", "192.168.1.5:80", []string{"2001:db8::1"}, "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got, ok := clientFromForwarded(r, proxies)
			if tt.want == "" {
				if ok {
					t.Fatalf("got %v, want the connection's address", got)
				}
				return
			}
			if !ok || got.String() != tt.want {
				t.Fatalf("got %v %v, want %s", got, ok, tt.want)
			}
		})
	}
	if _, err := ParseTrustedProxies("10.0.0.0/33"); err == nil {
		t.Fatal("bad CIDR accepted")
	}
}

func TestForwardedScheme(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, remote string
		proto        []string
		want         string // r.URL.Scheme as the next handler sees it
	}{
		{"trusted proxy, https", "10.1.2.3:5000", []string{"https"}, "https"},
		{"trusted proxy, http", "10.1.2.3:5000", []string{"HTTP"}, "http"},
		{"trusted proxy, appended to: the last", "10.1.2.3:5000", []string{"http, https"}, "https"},
		{"trusted proxy, a client's value before it", "10.1.2.3:5000", []string{"https", "http"}, "http"},
		{"trusted proxy, anything else", "10.1.2.3:5000", []string{"javascript"}, ""},
		{"trusted proxy, none", "10.1.2.3:5000", nil, ""},
		{"untrusted peer's header is ignored", "203.0.113.9:5000", []string{"https"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/v1/products/", nil)
			r.RemoteAddr = tt.remote
			r.Header.Set("X-Forwarded-For", "1.2.3.4")
			for _, v := range tt.proto {
				r.Header.Add("X-Forwarded-Proto", v)
			}
			if tt.want == "" {
				tt.want = "http" // the connection's
			}
			var got string
			realIP(proxies, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = httpkit.Scheme(r) })).
				ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Fatalf("scheme %q, want %q", got, tt.want)
			}
		})
	}
}
