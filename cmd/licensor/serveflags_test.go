package main

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/ratelimit"
	"github.com/licensor/licensor/internal/server"
)

func TestProtectionFlags(t *testing.T) {
	t.Setenv("LICENSOR_RATE_LIMITS", "")
	ls := ratelimit.LicenseSpring
	tests := []struct {
		args []string
		want ratelimit.Limits
		err  bool
	}{
		{nil, ratelimit.Limits{}, false},
		{[]string{"--rate-limits", "off"}, ratelimit.Limits{}, false},
		{[]string{"--rate-limits", "licensespring"}, ls, false},
		{[]string{"--rate-limits", "licensespring", "--rate-ip", "0"}, ratelimit.Limits{CompanyLicense: ls.CompanyLicense, CompanyManage: ls.CompanyManage, Authorization: ls.Authorization}, false},
		{[]string{"--rate-limits", "licensespring", "--rate-company-license", "1800"}, ratelimit.Limits{CompanyLicense: 1800, CompanyManage: 2400, IP: 200, Authorization: 50}, false},
		{[]string{"--rate-ip", "20", "--rate-authorization", "5", "--rate-company-manage", "7"}, ratelimit.Limits{IP: 20, Authorization: 5, CompanyManage: 7}, false},
		{[]string{"--rate-limits", "enterprise"}, ratelimit.Limits{}, true},
		{[]string{"--rate-ip", "-1"}, ratelimit.Limits{}, true},
		{[]string{"--read-timeout", "0s"}, ratelimit.Limits{}, true},
		{[]string{"--max-header-bytes", "0"}, ratelimit.Limits{}, true},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		p := protectionFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		err := p.check()
		if (err != nil) != tt.err {
			t.Fatalf("%v: err %v, want error %v", tt.args, err, tt.err)
		}
		if err == nil && p.limits != tt.want {
			t.Fatalf("%v: limits %+v, want %+v", tt.args, p.limits, tt.want)
		}
	}

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	p := protectionFlags(fs)
	fs.Parse([]string{"--read-header-timeout", "2s", "--idle-timeout", "1m", "--max-header-bytes", "8192"})
	if err := p.check(); err != nil {
		t.Fatal(err)
	}
	c := p.apply(server.Config{MaxBody: 5})
	if c.ReadHeaderTimeout != 2*time.Second || c.IdleTimeout != time.Minute || c.MaxHeaderBytes != 8192 ||
		c.ReadTimeout != server.DefaultReadTimeout || c.WriteTimeout != server.DefaultWriteTimeout || c.MaxBody != 5 {
		t.Fatalf("apply: %+v", c)
	}
}
