package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/licensor/licensor/client"
)

// TestLicenseAPIAuth is the table of License API authorization outcomes
// (reference §2). Each case sends check_license (GET) and track_device_variables
// (POST) for a license that is activated on the device, so only the
// authorization decides the answer.
func TestLicenseAPIAuth(t *testing.T) {
	t.Parallel()
	s := shared
	f := newFixture(t, s, "license-key")
	l := f.keyLicense(1)
	id := f.keyID(l, "hw-auth")
	f.activate(id)

	// A revoked key of the same company.
	var rk struct {
		ID        int64  `json:"id"`
		APIKey    string `json:"api_key"`
		SharedKey string `json:"shared_key"`
	}
	f.m.call("POST", "/api/v1/api-keys/", nil, 201, &rk)
	f.m.call("POST", fmt.Sprintf("/api/v1/api-keys/%d/revoke/", rk.ID), nil, 200, nil)

	now := time.Now()
	date := now.UTC().Format(http.TimeFormat)
	apiKey, shared := s.creds.APIKey, s.creds.SharedKey
	sig := client.Sign(shared, date)
	at := func(d time.Time) string { return d.UTC().Format(http.TimeFormat) }
	std := func(sig, key string) string {
		return `algorithm="hmac-sha256",headers="date",signature="` + sig + `",apikey="` + key + `"`
	}

	cases := []struct {
		name   string
		date   string // "" = no Date header
		auth   string // "" = no Authorization header
		status int    // 200 = accepted
		code   string
	}{
		{"valid", date, std(sig, apiKey), 200, ""},
		{"python apiKey spelling", date, `algorithm="hmac-sha256",headers="date",signature="` + sig + `",apiKey="` + apiKey + `"`, 200, ""},
		{"reordered with spaces", date, `apikey="` + apiKey + `", signature="` + sig + `", headers="date", algorithm="hmac-sha256"`, 200, ""},
		{"upper-case key names", date, `Algorithm="hmac-sha256",Headers="date",Signature="` + sig + `",ApiKey="` + apiKey + `"`, 200, ""},
		{"14 minutes old", at(now.Add(-14 * time.Minute)), std(client.Sign(shared, at(now.Add(-14*time.Minute))), apiKey), 200, ""},
		{"14 minutes ahead", at(now.Add(14 * time.Minute)), std(client.Sign(shared, at(now.Add(14*time.Minute))), apiKey), 200, ""},

		{"no headers", "", "", 400, "missing_headers"},
		{"no Date", "", std(sig, apiKey), 400, "missing_headers"},
		{"no Authorization", date, "", 400, "missing_headers"},
		{"no signature param", date, `algorithm="hmac-sha256",headers="date",apikey="` + apiKey + `"`, 400, "authorization_missing_params"},
		{"no apikey param", date, `algorithm="hmac-sha256",headers="date",signature="` + sig + `"`, 400, "authorization_missing_params"},
		{"no algorithm param", date, `headers="date",signature="` + sig + `",apikey="` + apiKey + `"`, 400, "authorization_missing_params"},
		{"no headers param", date, `algorithm="hmac-sha256",signature="` + sig + `",apikey="` + apiKey + `"`, 400, "authorization_missing_params"},
		{"rsa algorithm", date, `algorithm="rsa-sha256",headers="date",signature="` + sig + `",apikey="` + apiKey + `"`, 400, "hmac_required"},
		{"headers not date", date, `algorithm="hmac-sha256",headers="date host",signature="` + sig + `",apikey="` + apiKey + `"`, 400, "authorization_invalid_headers"},
		{"headers request-target", date, `algorithm="hmac-sha256",headers="(request-target)",signature="` + sig + `",apikey="` + apiKey + `"`, 400, "authorization_invalid_headers"},
		{"unknown api key", date, std(sig, "00000000-0000-4000-8000-000000000000"), 400, "invalid_api_key"},
		{"wrong signature", date, std(client.Sign("not-the-shared-key", date), apiKey), 400, "signature_mismatch"},
		{"signature of other date", date, std(client.Sign(shared, at(now.Add(-time.Second))), apiKey), 400, "signature_mismatch"},
		{"signature not base64", date, std("%%%", apiKey), 400, "signature_mismatch"},
		{"revoked key", date, std(client.Sign(rk.SharedKey, date), rk.APIKey), 400, "revoked_api_key"},
		{"16 minutes old", at(now.Add(-16 * time.Minute)), std(client.Sign(shared, at(now.Add(-16*time.Minute))), apiKey), 400, "date_header_diff"},
		{"16 minutes ahead", at(now.Add(16 * time.Minute)), std(client.Sign(shared, at(now.Add(16*time.Minute))), apiKey), 400, "date_header_diff"},
		{"garbage Date", "yesterday-ish", std(client.Sign(shared, "yesterday-ish"), apiKey), 400, ""},
		{"RFC 3339 Date", now.UTC().Format(time.RFC3339), std(client.Sign(shared, now.UTC().Format(time.RFC3339)), apiKey), 400, ""},
		{"empty Authorization params", date, `algorithm="",headers="",signature="",apikey=""`, 400, ""},
		{"Authorization not key=value", date, "hmac " + sig, 400, ""},
		{"a day old", at(now.Add(-24 * time.Hour)), std(client.Sign(shared, at(now.Add(-24*time.Hour))), apiKey), 400, "date_header_diff"},
	}
	trackBody, _ := json.Marshal(trackReq(id, "auth", "1"))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.date != "" {
				h["Date"] = tc.date
			}
			if tc.auth != "" {
				h["Authorization"] = tc.auth
			}
			get := rawLicenseAPI(t, s, "GET", "check_license", id.Query(), nil, h)
			h["Content-Type"] = "application/json"
			post := rawLicenseAPI(t, s, "POST", "track_device_variables", nil, trackBody, h)
			for _, r := range []struct {
				what string
				resp *client.Response
			}{{"check_license", get}, {"track_device_variables", post}} {
				if tc.status == 200 {
					if r.resp.Status != 200 {
						t.Errorf("%s: HTTP %d %s, want 200", r.what, r.resp.Status, r.resp.Body)
					} else if err := f.c.VerifyResponse(r.resp); err != nil {
						t.Errorf("%s: %v", r.what, err)
					}
					continue
				}
				wantRespErr(t, r.what, r.resp, tc.status, tc.code)
				if r.resp.Header.Get("LicenseSignature") != "" {
					t.Logf("%s: error response carries LicenseSignature (harmless)", r.what)
				}
			}
		})
	}
}

// TestLicenseAPIAuthBeforeParams: authorization is decided before the request
// is validated or any product looked up.
func TestLicenseAPIAuthBeforeParams(t *testing.T) {
	t.Parallel()
	s := shared
	bad := s.clientWith(t, s.creds.APIKey, "wrong-shared-key")
	good := s.client(t)
	for _, tc := range []struct {
		name     string
		method   string
		endpoint string
		body     any
		q        map[string][]string
	}{
		{"check without params", "GET", "check_license", nil, nil},
		{"check unknown product", "GET", "check_license", nil, map[string][]string{"product": {"nope"}, "hardware_id": {"h"}, "license_key": {"k"}}},
		{"activate invalid json", "POST", "activate_license", []byte(`{`), nil},
		{"track empty body", "POST", "track_device_variables", []byte(``), nil},
		{"get vars without params", "GET", "get_device_variables", nil, nil},
		{"deactivate bad variables", "POST", "deactivate_license", map[string]any{"variables": []int{1}}, nil},
	} {
		r, err := bad.Do(ctx(), tc.method, tc.endpoint, tc.q, tc.body)
		if err != nil {
			t.Fatal(err)
		}
		wantRespErr(t, tc.name+" (bad signature)", r, 400, "signature_mismatch")
		// With good auth the same request fails on its content instead.
		r, err = good.Do(ctx(), tc.method, tc.endpoint, tc.q, tc.body)
		if err != nil {
			t.Fatal(err)
		}
		if e := client.ErrorOf(r); e == nil {
			t.Errorf("%s: good auth: HTTP %d, want an error", tc.name, r.Status)
		} else if ae, ok := e.(*client.APIError); !ok || ae.Code == "signature_mismatch" {
			t.Errorf("%s: good auth: %v", tc.name, e)
		}
	}
}

// TestLicenseAPIClockSkewViaClient drives the date window through the Go client's clock.
func TestLicenseAPIClockSkewViaClient(t *testing.T) {
	t.Parallel()
	s := shared
	f := newFixture(t, s, "license-key")
	l := f.keyLicense(1)
	id := f.keyID(l, "hw-skew")
	for _, tc := range []struct {
		skew time.Duration
		ok   bool
	}{
		{-20 * time.Minute, false}, {-10 * time.Minute, true}, {0, true}, {10 * time.Minute, true}, {20 * time.Minute, false},
	} {
		c := s.client(t, client.WithClock(func() time.Time { return time.Now().Add(tc.skew) }))
		_, err := c.ActivateLicense(ctx(), activateReq(id))
		if tc.ok && err != nil {
			t.Errorf("skew %v: %v", tc.skew, err)
		}
		if !tc.ok {
			wantAPIErr(t, fmt.Sprintf("skew %v", tc.skew), err, 400, "date_header_diff")
		}
	}
}
