package licenseapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crypto/hmac"
	"crypto/sha256"

	"github.com/licensor/licensor/internal/licenseapi"
	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/internal/sqlite"
)

type fixture struct {
	t     testing.TB
	svc   *licensing.Service
	h     http.Handler
	creds licensing.Credentials
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureKey(t, signing.RSA2048)
}

// newFixtureKey is newFixture with a company signing key of algorithm alg.
func newFixtureKey(t testing.TB, alg string, opts ...licensing.Option) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	f.svc = licensing.NewService(st, append([]licensing.Option{licensing.WithClock(clock)}, opts...)...)
	if f.creds, err = f.svc.Init(ctx, "acme", alg); err != nil {
		t.Fatal(err)
	}
	f.h = licenseapi.New(f.svc, licenseapi.Config{Now: clock})
	c := f.creds.CompanyID
	if _, err := f.svc.CreateProduct(ctx, c, licensing.ProductInput{Name: "App", ShortCode: "app"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateOrder(ctx, c, licensing.OrderInput{Items: []licensing.OrderItem{{ProductCode: "app",
		Licenses: []licensing.LicenseInput{{Key: "KEY-1", MaxActivations: 2}}}}}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) auth(apiKey, sharedKey string, date time.Time) (string, string) {
	d := date.UTC().Format(http.TimeFormat)
	m := hmac.New(sha256.New, []byte(sharedKey))
	m.Write([]byte("licenseSpring\ndate: " + d))
	sig := base64.StdEncoding.EncodeToString(m.Sum(nil))
	return d, `algorithm="hmac-sha256",headers="date",signature="` + sig + `",apikey="` + apiKey + `"`
}

// do sends a request signed with the fixture's key unless headers override it.
func (f *fixture) do(method, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
	f.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	d, a := f.auth(f.creds.APIKey, f.creds.SharedKey, f.now)
	r.Header.Set("Date", d)
	r.Header.Set("Authorization", a)
	r.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// errorOf checks the documented error shape and returns the code.
func errorOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("error body is not JSON: %q", w.Body.String())
	}
	if len(m) != 3 || m["status"] != float64(w.Code) || w.Code < 400 {
		t.Fatalf("error body %s does not have exactly status/code/message matching HTTP %d", w.Body.String(), w.Code)
	}
	code, _ := m["code"].(string)
	if _, ok := m["message"].(string); !ok || code == "" {
		t.Fatalf("error body %s lacks code or message", w.Body.String())
	}
	return code
}

const activateBody = `{"hardware_id":"hw-1","product":"app","license_key":"KEY-1"}`

func TestAuthErrors(t *testing.T) {
	f := newFixture(t)
	k2, err := f.svc.CreateAPIKey(context.Background(), f.creds.CompanyID, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RevokeAPIKey(context.Background(), f.creds.CompanyID, k2.ID); err != nil {
		t.Fatal(err)
	}
	_, revoked := f.auth(k2.Key, k2.SharedKey, f.now)
	oldDate, oldAuth := f.auth(f.creds.APIKey, f.creds.SharedKey, f.now.Add(-16*time.Minute))
	futDate, futAuth := f.auth(f.creds.APIKey, f.creds.SharedKey, f.now.Add(16*time.Minute))
	okDate, okAuth := f.auth(f.creds.APIKey, f.creds.SharedKey, f.now.Add(-14*time.Minute))
	_, wrongShared := f.auth(f.creds.APIKey, "not-the-shared-key", f.now)
	_, unknownKey := f.auth("00000000-0000-4000-8000-000000000000", f.creds.SharedKey, f.now)
	tests := []struct {
		name   string
		hdr    map[string]string
		status int
		code   string
	}{
		{"no date", map[string]string{"Date": ""}, 400, licensing.EMissingHeaders},
		{"no authorization", map[string]string{"Authorization": ""}, 400, licensing.EMissingHeaders},
		{"missing params", map[string]string{"Authorization": `algorithm="hmac-sha256",headers="date"`}, 400, licensing.EAuthMissingParams},
		{"not hmac", map[string]string{"Authorization": `algorithm="md5",headers="date",signature="x",apikey="y"`}, 400, licensing.EHMACRequired},
		{"bad headers", map[string]string{"Authorization": `algorithm="hmac-sha256",headers="host",signature="x",apikey="y"`}, 400, licensing.EAuthInvalidHeader},
		{"unknown key", map[string]string{"Authorization": unknownKey}, 400, licensing.EInvalidAPIKey},
		{"wrong shared key", map[string]string{"Authorization": wrongShared}, 400, licensing.ESignatureMismatch},
		{"signature not base64", map[string]string{"Authorization": `algorithm="hmac-sha256",headers="date",signature="%%%",apikey="` + f.creds.APIKey + `"`}, 400, licensing.ESignatureMismatch},
		{"revoked key", map[string]string{"Authorization": revoked}, 400, licensing.ERevokedAPIKey},
		{"api key not UTF-8", map[string]string{"Authorization": "algorithm=\"hmac-sha256\",headers=\"date\",signature=\"c2ln\",apikey=\"\xff\xfe\""}, 400, licensing.EInvalidAPIKey},
		{"date 16 min old", map[string]string{"Date": oldDate, "Authorization": oldAuth}, 400, licensing.EDateHeaderDiff},
		{"date 16 min ahead", map[string]string{"Date": futDate, "Authorization": futAuth}, 400, licensing.EDateHeaderDiff},
		{"date not RFC 7231", map[string]string{"Date": "2026-06-01T12:00:00Z"}, 400, licensing.EDateHeaderDiff},
		{"date 14 min old is fine", map[string]string{"Date": okDate, "Authorization": okAuth}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do("POST", "/api/v4/activate_license", activateBody, tt.hdr)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.code != "" {
				if got := errorOf(t, w); got != tt.code {
					t.Fatalf("code %s, want %s", got, tt.code)
				}
			}
		})
	}
}

func TestReadOnlyKeyCannotWrite(t *testing.T) {
	f := newFixture(t)
	k, err := f.svc.CreateAPIKey(context.Background(), f.creds.CompanyID, true)
	if err != nil {
		t.Fatal(err)
	}
	d, a := f.auth(k.Key, k.SharedKey, f.now)
	w := f.do("POST", "/api/v4/activate_license", activateBody, map[string]string{"Date": d, "Authorization": a})
	if code := errorOf(t, w); code != licensing.EReadOnlyAPIKey {
		t.Fatalf("code %s", code)
	}
}

func TestRequestErrorsKeepTheShape(t *testing.T) {
	f := newFixture(t)
	big := `{"hardware_id":"` + strings.Repeat("a", licenseapi.DefaultMaxBody) + `"}`
	tests := []struct {
		name, method, path, body string
		ct                       string
		status                   int
		code                     string
	}{
		{"unknown path", "GET", "/api/v4/nope", "", "", 404, licensing.ENotFound},
		{"wrong method", "GET", "/api/v4/activate_license", "", "", 405, licensing.EMethodNotAllowed},
		{"too large", "POST", "/api/v4/track_device_variables", big, "", 413, licensing.ERequestTooLarge},
		{"not json", "POST", "/api/v4/track_device_variables", `{"hardware_id":`, "", 400, licensing.EInvalidJSON},
		{"empty body", "POST", "/api/v4/track_device_variables", ``, "", 400, licensing.EInvalidJSON},
		{"json array", "POST", "/api/v4/track_device_variables", `[]`, "", 400, licensing.EInvalidJSON},
		{"json null", "POST", "/api/v4/track_device_variables", `null`, "", 400, licensing.EInvalidJSON},
		{"broken utf-8", "POST", "/api/v4/track_device_variables", "{\"hardware_id\":\"\xff\xfe\"}", "", 400, licensing.EInvalidJSON},
		// encoding/json would read a lone surrogate escape as U+FFFD: \ud800 and \udc00 the same device.
		{"lone high surrogate", "POST", "/api/v4/activate_license", `{"hardware_id":"\ud800","product":"app","license_key":"KEY-1"}`, "", 400, licensing.EInvalidJSON},
		{"lone low surrogate", "POST", "/api/v4/activate_license", `{"hardware_id":"a\udc00","product":"app","license_key":"KEY-1"}`, "", 400, licensing.EInvalidJSON},
		{"high surrogate then other escape", "POST", "/api/v4/activate_license", `{"hardware_id":"\ud800\u0041","product":"app","license_key":"KEY-1"}`, "", 400, licensing.EInvalidJSON},
		{"lone surrogate in variable name", "POST", "/api/v4/track_device_variables", `{"hardware_id":"h","product":"app","license_key":"KEY-1","variables":{"\udfff":"x"}}`, "", 400, licensing.EInvalidJSON},
		{"lone surrogate in variable value", "POST", "/api/v4/track_device_variables", `{"hardware_id":"h","product":"app","license_key":"KEY-1","variables":{"x":"\ud83d"}}`, "", 400, licensing.EInvalidJSON},
		{"wrong content type", "POST", "/api/v4/track_device_variables", `{}`, "application/x-www-form-urlencoded", 415, licensing.EUnsupportedMedia},
		{"missing all", "POST", "/api/v4/track_device_variables", `{}`, "", 400, licensing.EMissingParameters},
		{"hardware_id number", "POST", "/api/v4/track_device_variables", `{"hardware_id":5,"product":"app","variables":{}}`, "", 400, licensing.EValidation},
		{"hardware_id over 255 characters", "POST", "/api/v4/track_device_variables", `{"hardware_id":"` + strings.Repeat("😀", 256) + `","product":"app","variables":{}}`, "", 400, licensing.EValidation},
		{"nul in field", "POST", "/api/v4/track_device_variables", `{"hardware_id":"a\u0000","product":"app","variables":{}}`, "", 400, licensing.EValidation},
		{"unknown product", "POST", "/api/v4/track_device_variables", `{"hardware_id":"h","product":"zzz","variables":{}}`, "", 400, licensing.EUnknownProduct},
		{"no license key", "POST", "/api/v4/track_device_variables", `{"hardware_id":"h","product":"app","variables":{}}`, "", 400, licensing.ELicenseKeyReq},
		{"variable object", "POST", "/api/v4/track_device_variables", `{"hardware_id":"h","product":"app","license_key":"KEY-1","variables":{"x":{}}}`, "", 400, licensing.EValidation},
		{"bad query license_id", "GET", "/api/v4/check_license?hardware_id=h&product=app&license_key=KEY-1&license_id=x", "", "", 400, licensing.EValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.ct != "" {
				hdr["Content-Type"] = tt.ct
			}
			w := f.do(tt.method, tt.path, tt.body, hdr)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if got := errorOf(t, w); got != tt.code {
				t.Fatalf("code %s, want %s", got, tt.code)
			}
			if w.Header().Get("LicenseSignature") != "" {
				t.Fatal("error carries a LicenseSignature")
			}
		})
	}
}

func TestSignedResponses(t *testing.T) {
	f := newFixture(t)
	w := f.do("POST", "/api/v4/activate_license", `{"hardware_id":"HW-1","product":"app","license_key":"KEY-1","variables":{"10":"<&>","2":true,"name":"\u2028é"}}`, nil)
	if w.Code != 200 {
		t.Fatalf("activate: %d %s", w.Code, w.Body)
	}
	if err := signing.Verify(f.creds.PublicKey, w.Body.Bytes(), w.Header().Get("LicenseSignature")); err != nil {
		t.Fatalf("LicenseSignature: %v", err)
	}
	var lic struct {
		LicenseSignature string `json:"license_signature"`
		DeviceID         int64  `json:"device_id"`
		Active           bool   `json:"active"`
		TimesActivated   int64  `json:"times_activated"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &lic); err != nil {
		t.Fatal(err)
	}
	if err := signing.Verify(f.creds.PublicKey, []byte("hw-1#key-1#"), lic.LicenseSignature); err != nil {
		t.Fatalf("license_signature: %v", err)
	}
	if !lic.Active || lic.TimesActivated != 1 || lic.DeviceID == 0 {
		t.Fatalf("activation body %s", w.Body)
	}
	if !strings.Contains(w.Body.String(), "\u2028") || strings.Contains(w.Body.String(), `\u003c`) {
		t.Fatalf("body is not JavaScript-canonical: %s", w.Body)
	}
	for _, path := range []string{"/api/v4/check_license?hardware_id=HW-1&product=app&license_key=KEY-1", "/api/v4/get_device_variables?hardware_id=HW-1&product=app&license_key=KEY-1"} {
		w := f.do("GET", path, "", nil)
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		if err := signing.Verify(f.creds.PublicKey, w.Body.Bytes(), w.Header().Get("LicenseSignature")); err != nil {
			t.Fatalf("%s LicenseSignature: %v", path, err)
		}
	}
	w = f.do("POST", "/api/v4/deactivate_license", `{"hardware_id":"HW-1","product":"app","license_key":"KEY-1"}`, nil)
	if w.Code != 200 || w.Body.String() != "license_deactivated" {
		t.Fatalf("deactivate: %d %q", w.Code, w.Body)
	}
}
