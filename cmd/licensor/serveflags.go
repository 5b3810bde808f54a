package main

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/licensor/licensor/internal/ratelimit"
	"github.com/licensor/licensor/internal/server"
)

// protection is serve's abuse protection: rate limits, HTTP timeouts, header limit.
type protection struct {
	fs                            *flag.FlagSet
	preset                        *string
	companyLicense, companyManage *int
	ip, authorization             *int
	readHeader, read, write, idle *time.Duration
	maxHeaderBytes                *int
	limits                        ratelimit.Limits // set by check
}

// protectionFlags registers the flags on fs; call check after fs.Parse.
func protectionFlags(fs *flag.FlagSet) *protection {
	p := &protection{fs: fs}
	p.preset = fs.String("rate-limits", env("LICENSOR_RATE_LIMITS", "off"),
		"rate-limit preset: off, or licensespring (LicenseSpring's documented limits: per company 18000 License API and 2400 management API requests/min, per client IP 200/10 s, per Authorization value 50/s); the --rate-… flags override it")
	p.companyLicense = fs.Int("rate-company-license", 0, "License API requests per company per minute (0: off; default from --rate-limits)")
	p.companyManage = fs.Int("rate-company-manage", 0, "management API requests per company per minute (0: off; default from --rate-limits)")
	p.ip = fs.Int("rate-ip", 0, "API requests per client IP (IPv6: per /64) per 10 seconds (0: off; default from --rate-limits)")
	p.authorization = fs.Int("rate-authorization", 0, "API requests per Authorization header value per second (0: off; default from --rate-limits)")
	p.readHeader = fs.Duration("read-header-timeout", server.DefaultReadHeaderTimeout, "time a client has to send a request's headers")
	p.read = fs.Duration("read-timeout", server.DefaultReadTimeout, "time a client has to send a whole request, body included (late: 408)")
	p.write = fs.Duration("write-timeout", server.DefaultWriteTimeout, "time the server has to answer once a request is read")
	p.idle = fs.Duration("idle-timeout", server.DefaultIdleTimeout, "how long an idle keep-alive connection stays open")
	p.maxHeaderBytes = fs.Int("max-header-bytes", server.DefaultMaxHeaderBytes, "largest request headers in bytes (larger: 431)")
	return p
}

// check validates the parsed flags and resolves the rate limits.
func (p *protection) check() error {
	switch *p.preset {
	case "off", "":
		p.limits = ratelimit.Limits{}
	case "licensespring":
		p.limits = ratelimit.LicenseSpring
	default:
		return fmt.Errorf("--rate-limits %q: want off or licensespring", *p.preset)
	}
	set := map[string]bool{}
	p.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, o := range []struct {
		name string
		v    *int
		dst  *int
	}{
		{"rate-company-license", p.companyLicense, &p.limits.CompanyLicense},
		{"rate-company-manage", p.companyManage, &p.limits.CompanyManage},
		{"rate-ip", p.ip, &p.limits.IP},
		{"rate-authorization", p.authorization, &p.limits.Authorization},
	} {
		if *o.v < 0 {
			return fmt.Errorf("--%s must not be negative", o.name)
		}
		if set[o.name] {
			*o.dst = *o.v
		}
	}
	if *p.readHeader <= 0 || *p.read <= 0 || *p.write <= 0 || *p.idle <= 0 || *p.maxHeaderBytes <= 0 {
		return errors.New("timeouts and --max-header-bytes must be positive")
	}
	return nil
}

// apply adds the protection settings to c.
func (p *protection) apply(c server.Config) server.Config {
	c.RateLimits = p.limits
	c.ReadHeaderTimeout, c.ReadTimeout, c.WriteTimeout, c.IdleTimeout = *p.readHeader, *p.read, *p.write, *p.idle
	c.MaxHeaderBytes = *p.maxHeaderBytes
	return c
}
