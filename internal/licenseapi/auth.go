package licenseapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/licensor/licensor/internal/licensing"
)

// MaxDateSkew is how far the Date header may be from server time, either way.
const MaxDateSkew = 15 * time.Minute

// authParams are the key="value" pairs of an HMAC Authorization header.
type authParams struct {
	algorithm, headers, signature, apiKey string
}

// parseAuthorization reads `algorithm="hmac-sha256",headers="date",signature="…",apikey="…"`:
// key names case-insensitive, any order, optional white space around pairs.
func parseAuthorization(v string) (authParams, *licensing.Error) {
	var p authParams
	malformed := func() *licensing.Error { // made only when needed: this runs on every request
		return licensing.Errorf(licensing.EAuthInvalidHeader, "Authorization header is malformed")
	}
	rest := strings.TrimSpace(v)
	for rest != "" {
		name, after, ok := strings.Cut(rest, "=")
		if !ok {
			return p, malformed()
		}
		name = strings.ToLower(strings.TrimSpace(name))
		after = strings.TrimLeft(after, " \t")
		if !strings.HasPrefix(after, `"`) {
			return p, malformed()
		}
		end := strings.IndexByte(after[1:], '"')
		if end < 0 {
			return p, malformed()
		}
		val := after[1 : 1+end]
		rest = strings.TrimLeft(after[2+end:], " \t")
		if rest != "" {
			if rest[0] != ',' {
				return p, malformed()
			}
			rest = strings.TrimLeft(rest[1:], " \t")
		}
		switch name {
		case "algorithm":
			p.algorithm = val
		case "headers":
			p.headers = val
		case "signature":
			p.signature = val
		case "apikey":
			p.apiKey = val
		}
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"algorithm", p.algorithm}, {"headers", p.headers}, {"signature", p.signature}, {"apikey", p.apiKey}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return p, licensing.Errorf(licensing.EAuthMissingParams, "Some parameters are missing in authorization: %s", strings.Join(missing, ", "))
	}
	if !strings.EqualFold(p.algorithm, "hmac-sha256") {
		return p, licensing.Errorf(licensing.EHMACRequired, "hmac is required algorithm")
	}
	if !strings.EqualFold(strings.TrimSpace(p.headers), "date") {
		return p, licensing.Errorf(licensing.EAuthInvalidHeader, "Invalid headers value in authorization: only \"date\" is signed")
	}
	return p, nil
}

// signDate is the HMAC of the Date header value under a shared key (reference §2).
func signDate(sharedKey, date string) []byte {
	m := hmac.New(sha256.New, []byte(sharedKey))
	m.Write([]byte("licenseSpring\ndate: "))
	m.Write([]byte(date))
	return m.Sum(nil)
}

// dateMACs keeps, for each API key, the HMAC of the last Date value it was sent
// with. Every request an app sends within one second carries the same Date, so the
// MAC is computed once per key and second rather than once per request (an HMAC is
// four SHA-256 blocks and five allocations: 6 % of a check's handler time). One entry
// per API key that authenticated a request; the entry is replaced, not added to, when
// the Date changes.
type dateMACs struct{ m sync.Map } // API key id → *dateMAC

type dateMAC struct {
	sharedKey, date string
	mac             []byte
}

// of returns the HMAC of date under key's shared key.
func (c *dateMACs) of(key licensing.APIKey, date string) []byte {
	if v, ok := c.m.Load(key.ID); ok {
		d := v.(*dateMAC)
		if d.date == date && subtle.ConstantTimeCompare([]byte(d.sharedKey), []byte(key.SharedKey)) == 1 {
			return d.mac
		}
	}
	mac := signDate(key.SharedKey, date)
	c.m.Store(key.ID, &dateMAC{sharedKey: key.SharedKey, date: date, mac: mac})
	return mac
}

// authenticate checks the Date and Authorization headers and returns the API key.
func (h *Handler) authenticate(r *http.Request) (licensing.APIKey, error) {
	dates, auths := r.Header.Values("Date"), r.Header.Values("Authorization")
	if len(dates) == 0 || len(auths) == 0 || dates[0] == "" || auths[0] == "" {
		var missing []string
		if len(dates) == 0 || dates[0] == "" {
			missing = append(missing, "Date")
		}
		if len(auths) == 0 || auths[0] == "" {
			missing = append(missing, "Authorization")
		}
		return licensing.APIKey{}, licensing.Errorf(licensing.EMissingHeaders, "Some headers are missing: %s", strings.Join(missing, ", "))
	}
	if len(auths) > 1 {
		return licensing.APIKey{}, licensing.Errorf(licensing.EAuthInvalidHeader, "more than one Authorization header")
	}
	if len(dates) > 1 {
		return licensing.APIKey{}, licensing.Errorf(licensing.EDateHeaderDiff, "more than one Date header")
	}
	p, perr := parseAuthorization(auths[0])
	if perr != nil {
		return licensing.APIKey{}, perr
	}
	// A key that cannot be one is refused before the lookup (PostgreSQL rejects broken
	// UTF-8 and NUL in parameters, which must not become a 500).
	if len(p.apiKey) > 128 || !utf8.ValidString(p.apiKey) || strings.IndexByte(p.apiKey, 0) >= 0 {
		return licensing.APIKey{}, licensing.ErrInvalidAPIKey()
	}
	date, err := http.ParseTime(dates[0])
	if err != nil {
		return licensing.APIKey{}, licensing.Errorf(licensing.EDateHeaderDiff, "Date header is not an RFC 7231 date")
	}
	key, err := h.svc.APIKeyByKey(r.Context(), p.apiKey)
	if err != nil {
		return key, err
	}
	given, err := base64.StdEncoding.DecodeString(p.signature)
	if err != nil || subtle.ConstantTimeCompare(given, h.macs.of(key, dates[0])) != 1 {
		return key, licensing.Errorf(licensing.ESignatureMismatch, "Signature does not match")
	}
	if key.Revoked {
		return key, licensing.ErrRevokedAPIKey()
	}
	if skew := h.now().Sub(date); skew > MaxDateSkew || skew < -MaxDateSkew {
		return key, licensing.Errorf(licensing.EDateHeaderDiff, "Date header differs from server time by more than 15 minutes")
	}
	return key, nil
}
