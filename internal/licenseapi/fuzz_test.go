package licenseapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/licensor/licensor/internal/httpkit"
	"github.com/licensor/licensor/internal/jsoncanon"
	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/signing"
	"github.com/licensor/licensor/internal/sqlite"
)

// ---- Authorization header

var authSeeds = []string{
	`algorithm="hmac-sha256",headers="date",signature="c2ln",apikey="key-1"`,
	` apikey="key-1" , signature = "c2ln",headers="date",  algorithm="hmac-sha256" `,
	`ALGORITHM="HMAC-SHA256",HEADERS=" Date ",SIGNATURE="c2ln",APIKEY="key-1"`,
	"algorithm=\t\"hmac-sha256\"\t,\theaders=\"date\",signature=\"a=b,c\",apikey=\"k=\\\"\"",
	`algorithm="hmac-sha256",headers="date",signature="x",apikey="a",apikey="b",other="z"`,
	`algorithm="hmac-sha256",headers="date",signature="",apikey="key-1"`,
	`algorithm="rsa-sha256",headers="date",signature="c2ln",apikey="key-1"`,
	`algorithm="hmac-sha256",headers="date host",signature="c2ln",apikey="key-1"`,
	`algorithm=hmac-sha256,headers="date"`,
	`algorithm="hmac-sha256,headers="date"`,
	`algorithm="hmac-sha256" x headers="date"`,
	`algorithm="hmac-sha256",,headers="date"`,
	`Bearer abc`, `Api-Key abc`, ``, `=`, `=""`, `""`, `a="`, `,`, "\xff=\"\xfe\"",
	"algorithm=\"hmac-sha256\",headers=\"date\",signature=\"c2ln\",apikey=\"\x00\"",
}

// FuzzParseAuthorization: parseAuthorization never panics; it refuses with one of the
// three documented authorization codes, or accepts four non-empty values with the HMAC
// algorithm and headers="date" — and then the values, written back in canonical form,
// in another order with other spacing or with upper-case names, parse to the same values.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range authSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		p, err := parseAuthorization(header)
		if err != nil {
			switch err.Code {
			case licensing.EAuthInvalidHeader, licensing.EAuthMissingParams, licensing.EHMACRequired:
			default:
				t.Fatalf("parseAuthorization(%q): undocumented code %q", header, err.Code)
			}
			if err.Message == "" {
				t.Fatalf("parseAuthorization(%q): error without message", header)
			}
			return
		}
		if p.algorithm == "" || p.headers == "" || p.signature == "" || p.apiKey == "" {
			t.Fatalf("parseAuthorization(%q) accepted an empty value: %+v", header, p)
		}
		if !strings.EqualFold(p.algorithm, "hmac-sha256") || !strings.EqualFold(strings.TrimSpace(p.headers), "date") {
			t.Fatalf("parseAuthorization(%q) accepted %+v", header, p)
		}
		for variant := 0; variant < 3; variant++ {
			again := formatAuthorization(p, variant)
			q, err := parseAuthorization(again)
			if err != nil || q != p {
				t.Fatalf("%q parsed to %+v; written back as %q it parses to %+v, %v", header, p, again, q, err)
			}
		}
	})
}

// formatAuthorization writes p back: 0 canonical, 1 reversed with spaces and tabs,
// 2 upper-case names in SDK order.
func formatAuthorization(p authParams, variant int) string {
	pairs := [][2]string{{"algorithm", p.algorithm}, {"headers", p.headers}, {"signature", p.signature}, {"apikey", p.apiKey}}
	var b strings.Builder
	switch variant {
	case 1:
		b.WriteString(" \t")
		for i := len(pairs) - 1; i >= 0; i-- {
			b.WriteString(pairs[i][0] + ` = "` + pairs[i][1] + `"`)
			if i > 0 {
				b.WriteString(" \t, ")
			}
		}
		b.WriteString("\t ")
	default:
		for i, kv := range pairs {
			if i > 0 {
				b.WriteByte(',')
			}
			name := kv[0]
			if variant == 2 {
				name = strings.ToUpper(name)
			}
			b.WriteString(name + `="` + kv[1] + `"`)
		}
	}
	return b.String()
}

// TestParseAuthorizationLongInput: the parser is one pass over the header, so megabyte
// headers built to make a careless parser rescan (many pairs, long runs of '=' or
// quotes, an unterminated quote, long white space) finish in linear time: a quadratic
// parser would take hours on these, far beyond the test timeout.
func TestParseAuthorizationLongInput(t *testing.T) {
	const n = 1 << 20
	valid := `algorithm="hmac-sha256",headers="date",signature="c2ln",apikey="key-1"`
	tests := []struct {
		name, header string
		code         string
	}{
		{"many pairs", strings.Repeat(`a="b",`, n/6) + valid, ""},
		{"many upper-case pairs", strings.Repeat(`ABC="D", `, n/9) + valid, ""},
		{"long value", `apikey="` + strings.Repeat("k", n) + `",` + valid, ""},
		{"long white space", strings.Repeat(" ", n) + valid + strings.Repeat("\t", n), ""},
		{"equals signs", strings.Repeat("=", n), licensing.EAuthInvalidHeader},
		{"quotes", strings.Repeat(`"`, n), licensing.EAuthInvalidHeader},
		{"empty pairs", strings.Repeat(`="",`, n/4) + `=""`, licensing.EAuthMissingParams},
		{"unterminated", `a="` + strings.Repeat(`,b=`, n/3), licensing.EAuthInvalidHeader},
		{"no equals", strings.Repeat("a", n), licensing.EAuthInvalidHeader},
		{"commas", `a=""` + strings.Repeat(",", n), licensing.EAuthInvalidHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseAuthorization(tt.header)
			switch {
			case tt.code == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.code != "" && (err == nil || err.Code != tt.code):
				t.Fatalf("err = %v, want code %s", err, tt.code)
			}
		})
	}
}

// ---- Request decoding (params.go)

// FuzzDecodeQuery: a GET query string is either refused with a documented code or
// decoded into fields within the documented limits.
func FuzzDecodeQuery(f *testing.F) {
	for _, q := range []string{
		"hardware_id=h&product=app&license_key=KEY-1",
		"hardware_id=h&product=app&username=u%40example.com&password=pw&license_id=12",
		"hardware_id=%FF&product=app", "hardware_id=%00&product=app", "hardware_id=%zz", "a;b=c",
		"hardware_id=" + strings.Repeat("%F0%9F%98%80", 256) + "&product=app",
		"hardware_id=h&product=app&license_id=0x10", "hardware_id=h&product=app&license_id=1e3",
		"hardware_id=h&product=app&license_id=9007199254740992", "hardware_id=h&product=app&license_id=NaN",
		"hardware_id=h&product=app&license_id=-1", "hardware_id=h&product=app&license_id=1.5",
		"hardware_id=&product=", "hardware_id=h&hardware_id=i&product=app&is_vm=yes", "",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest(http.MethodGet, "/api/v4/check_license", nil)
		r.URL.RawQuery = rawQuery
		checkDecoded(t, r)
	})
}

// FuzzDecodeBody: a POST body (any Content-Type) is either refused with a documented
// code or decoded into fields within the documented limits.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []struct{ ct, body string }{
		{"application/json", `{"hardware_id":"h","product":"app","license_key":"KEY-1"}`},
		{"application/json; charset=utf-8", `{"hardware_id":"h","product":"app","license_key":"KEY-1","variables":{"10":"<&>","2":true,"n":1e21,"n":-0}}`},
		{"text/plain", `{"hardware_id":"h","product":"app","username":"u@example.com","password":"pw","license_id":3}`},
		{"application/vnd.api+json", `{"hardware_id":"h","product":"app","os_ver":null,"vm_info":null,"is_vm":true}`},
		{"application/x-www-form-urlencoded", `hardware_id=h`},
		{"", `{"hardware_id":"\u0000","product":"app"}`},
		{"", `{"hardware_id":"\ud800","product":"app"}`},
		{"", `{"hardware_id":5,"product":"app"}`},
		{"", `{"hardware_id":"h","product":"app","license_id":"5"}`},
		{"", `{"hardware_id":"h","product":"app","license_id":1e400}`},
		{"", `{"hardware_id":"h","product":"app","license_id":9007199254740991}`},
		{"", `{"hardware_id":"h","product":"app","variables":{"a":{}}}`},
		{"", `{"hardware_id":"h","product":"app","variables":{"\u0000":"x"}}`},
		{"", `{"hardware_id":"h","product":"app","variables":{"x":1e400}}`},
		{"", `{"hardware_id":"h","product":"app","variables":[]}`},
		{"", `{"hardware_id":"h","product":"app","is_vm":"true"}`},
		{"", `{"hardware_id":"` + strings.Repeat("é", 256) + `","product":"app"}`},
		{"", `{"hardware_id":"h","product":"app","hostname":"` + strings.Repeat("x", 1025) + `"}`},
		{"", "{\"hardware_id\":\"\xff\"}"},
		{"", `null`}, {"", `[]`}, {"", ` `}, {"", `{`}, {"", `"x"`}, {"", `{"a":1}x`},
	} {
		f.Add(s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/v4/activate_license", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		checkDecoded(t, r)
	})
}

// decodeCodes are the codes request decoding may answer with.
var decodeCodes = map[string]bool{
	licensing.EValidation: true, licensing.EMissingParameters: true, licensing.EInvalidJSON: true, licensing.EUnsupportedMedia: true,
}

// checkDecoded runs every decoding step an endpoint runs and checks each outcome.
func checkDecoded(t *testing.T, r *http.Request) {
	t.Helper()
	p, err := readParams(r)
	if err != nil {
		checkDecodeError(t, "readParams", err)
		return
	}
	for _, also := range [][]string{nil, {"variables"}} {
		id, err := p.identity(also...)
		if err != nil {
			checkDecodeError(t, "identity", err)
			continue
		}
		if id.HardwareID == "" || id.Product == "" {
			t.Fatalf("identity without hardware_id or product accepted: %+v", id)
		}
		if len(also) > 0 && !p.present("variables") {
			t.Fatalf("identity(variables) accepted a request without variables")
		}
		checkField(t, "hardware_id", id.HardwareID, maxIdentifierLen)
		checkField(t, "product", id.Product, maxIdentifierLen)
		checkField(t, "license_key", id.LicenseKey, maxIdentifierLen)
		checkField(t, "username", id.Username, maxIdentifierLen)
		checkField(t, "password", id.Password, maxFieldLen)
		if id.LicenseID < 0 || id.LicenseID > 1<<53-1 {
			t.Fatalf("license_id %d out of range", id.LicenseID)
		}
	}
	if d, omitted, err := p.deviceInfo(); err != nil {
		checkDecodeError(t, "deviceInfo", err)
	} else {
		for name, v := range map[string]string{"os_ver": d.OSVer, "hostname": d.Hostname, "ip": d.IP, "mac_address": d.MACAddress,
			"app_ver": d.AppVer, "sdk_ver": d.SDKVer, "vm_info": d.VMInfo} {
			checkField(t, name, v, maxFieldLen)
		}
		// A field left out reads as its zero value (what a new device stores).
		for f, zero := range map[licensing.InfoFields]bool{licensing.InfoOSVer: d.OSVer == "", licensing.InfoHostname: d.Hostname == "",
			licensing.InfoIP: d.IP == "", licensing.InfoMACAddress: d.MACAddress == "", licensing.InfoAppVer: d.AppVer == "",
			licensing.InfoSDKVer: d.SDKVer == "", licensing.InfoIsVM: !d.IsVM, licensing.InfoVMInfo: d.VMInfo == ""} {
			if omitted&f != 0 && !zero {
				t.Fatalf("field %08b left out but read as a value: %+v", f, d)
			}
		}
	}
	vars, err := p.variables()
	if err != nil {
		checkDecodeError(t, "variables", err)
		return
	}
	seen := map[string]bool{}
	for _, v := range vars {
		if seen[v.Name] {
			t.Fatalf("variable %q decoded twice", v.Name)
		}
		seen[v.Name] = true
		checkField(t, "variable name", v.Name, -1)
		checkField(t, "variable value", v.Value, -1)
	}
}

// checkField: valid UTF-8, no NUL, at most limit characters (limit < 0: no limit here).
func checkField(t *testing.T, name, v string, limit int) {
	t.Helper()
	if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
		t.Fatalf("%s decoded to %q: invalid UTF-8 or NUL", name, v)
	}
	if limit >= 0 && utf8.RuneCountInString(v) > limit {
		t.Fatalf("%s decoded to %d characters, limit %d", name, utf8.RuneCountInString(v), limit)
	}
}

func checkDecodeError(t *testing.T, step string, err error) {
	t.Helper()
	var e *licensing.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: foreign error %T %v", step, err, err)
	}
	if !decodeCodes[e.Code] || e.Message == "" {
		t.Fatalf("%s: error %q %q is not a documented decoding error", step, e.Code, e.Message)
	}
	if e.Field != "" && e.Code != licensing.EValidation && e.Code != licensing.EMissingParameters {
		t.Fatalf("%s: field %q on a %s error", step, e.Field, e.Code)
	}
}

// ---- The whole handler

// apiCodes are the wire codes the License API documents and licensor produces.
var apiCodes = map[string]bool{}

func init() {
	for _, c := range []string{
		licensing.ENotFound, licensing.EMethodNotAllowed, licensing.EValidation, licensing.EMissingHeaders,
		licensing.EMissingParameters, licensing.EInvalidJSON, licensing.ERequestTooLarge, licensing.EUnsupportedMedia,
		licensing.ELicenseKeyReq, licensing.EDateHeaderDiff, licensing.EAuthInvalidHeader, licensing.EAuthMissingParams,
		licensing.EHMACRequired, licensing.ESignatureMismatch, licensing.EInvalidAPIKey, licensing.ERevokedAPIKey,
		licensing.EReadOnlyAPIKey, licensing.EUnknownProduct, licensing.ELicenseNotFound, licensing.ELicenseNotEnabled,
		licensing.ELicenseNotActive, licensing.ELicenseExpired, licensing.EDeviceNotFound, licensing.EBlacklisted,
		licensing.EMaxActivations,
	} {
		apiCodes[c] = true
	}
}

type fuzzRoute struct{ name, method string }

var fuzzRoutes = []fuzzRoute{
	{"activate_license", http.MethodPost},
	{"deactivate_license", http.MethodPost},
	{"check_license", http.MethodGet},
	{"track_device_variables", http.MethodPost},
	{"get_device_variables", http.MethodGet},
}

// fuzzServer is an in-memory License API on a temporary SQLite database: products "app"
// (key-based: KEY-1 with room for many activations and device h0 active on it, KEY-1MAX
// with one) and "upp"
// (user-based: u@example.com / pw), an ECDSA company key for cheap signatures.
type fuzzServer struct {
	h       http.Handler
	creds   licensing.Credentials
	now     time.Time
	logs    *bytes.Buffer
	readKey licensing.APIKey
}

func newFuzzServer(f *testing.F) *fuzzServer {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	s := &fuzzServer{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC), logs: new(bytes.Buffer)}
	clock := func() time.Time { return s.now }
	svc := licensing.NewService(st, licensing.WithClock(clock))
	if s.creds, err = svc.Init(ctx, "acme", signing.ECDSAP256); err != nil {
		f.Fatal(err)
	}
	c := s.creds.CompanyID
	if s.readKey, err = svc.CreateAPIKey(ctx, c, true); err != nil {
		f.Fatal(err)
	}
	if _, err := svc.CreateProduct(ctx, c, licensing.ProductInput{Name: "App", ShortCode: "app"}); err != nil {
		f.Fatal(err)
	}
	if _, err := svc.CreateProduct(ctx, c, licensing.ProductInput{Name: "Users", ShortCode: "upp", AuthorizationMethod: licensing.AuthUser}); err != nil {
		f.Fatal(err)
	}
	if _, err := svc.CreateOrder(ctx, c, licensing.OrderInput{Items: []licensing.OrderItem{
		{ProductCode: "app", Licenses: []licensing.LicenseInput{{Key: "KEY-1", MaxActivations: 1 << 30}, {Key: "KEY-1MAX", MaxActivations: 1}}},
		{ProductCode: "upp", Licenses: []licensing.LicenseInput{{MaxActivations: 1 << 30, Users: []licensing.UserInput{{Email: "u@example.com", Password: "pw"}}}}},
	}}); err != nil {
		f.Fatal(err)
	}
	if _, err := svc.Activate(ctx, c, licensing.ActivateRequest{Identity: licensing.Identity{HardwareID: "h0", Product: "app", LicenseKey: "KEY-1"}}); err != nil {
		f.Fatal(err)
	}
	s.h = New(svc, Config{Now: clock, Log: slog.New(slog.NewTextHandler(s.logs, nil))})
	return s
}

func (s *fuzzServer) authorization(apiKey, sharedKey string) (date, auth string) {
	date = s.now.Format(http.TimeFormat)
	m := hmac.New(sha256.New, []byte(sharedKey))
	m.Write([]byte("licenseSpring\ndate: " + date))
	sig := base64.StdEncoding.EncodeToString(m.Sum(nil))
	return date, `algorithm="hmac-sha256",headers="date",signature="` + sig + `",apikey="` + apiKey + `"`
}

// serve sends r and checks the answer: never 5xx; an error is exactly
// {status,code,message} with a documented code and its status; a success is the
// endpoint's documented shape, signed and JavaScript-canonical.
func (s *fuzzServer) serve(t *testing.T, r *http.Request, route string) *httptest.ResponseRecorder {
	t.Helper()
	s.logs.Reset()
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	body := w.Body.Bytes()
	if w.Code >= 500 {
		t.Fatalf("%s %s?%s: status %d %s\nlog: %s", r.Method, r.URL.Path, r.URL.RawQuery, w.Code, body, s.logs)
	}
	if w.Code != http.StatusOK {
		checkErrorBody(t, w.Code, w.Header(), body)
		return w
	}
	if route == "deactivate_license" {
		if string(body) != "license_deactivated" {
			t.Fatalf("deactivate answered %q", body)
		}
		return w
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("success with Content-Type %q", ct)
	}
	if canon, err := jsoncanon.Canonicalize(body); err != nil || !bytes.Equal(canon, body) {
		t.Fatalf("success body is not JavaScript-canonical (%v): %q", err, body)
	}
	if err := signing.Verify(s.creds.PublicKey, body, w.Header().Get("LicenseSignature")); err != nil {
		t.Fatalf("LicenseSignature: %v", err)
	}
	switch route {
	case "activate_license", "check_license":
		var lic struct {
			ID               int64   `json:"id"`
			LicenseSignature string  `json:"license_signature"`
			HardwareID       *string `json:"hardware_id"`
		}
		if err := json.Unmarshal(body, &lic); err != nil || lic.ID == 0 || lic.LicenseSignature == "" {
			t.Fatalf("license body %q (%v)", body, err)
		}
		if lic.HardwareID != nil {
			checkField(t, "hardware_id", *lic.HardwareID, maxIdentifierLen)
		}
	case "track_device_variables", "get_device_variables":
		var vs []struct {
			Variable *string `json:"variable"`
			Value    *string `json:"value"`
			DeviceID int64   `json:"device_id"`
		}
		if err := json.Unmarshal(body, &vs); err != nil {
			t.Fatalf("variables body %q: %v", body, err)
		}
		for _, v := range vs {
			if v.Variable == nil || v.Value == nil || v.DeviceID == 0 {
				t.Fatalf("variable without name, value or device: %q", body)
			}
			checkField(t, "variable", *v.Variable, licensing.DefaultLimits.MaxVariableName)
			checkField(t, "value", *v.Value, licensing.DefaultLimits.MaxVariableValue)
		}
	default:
		t.Fatalf("200 for %s", route)
	}
	return w
}

func checkErrorBody(t *testing.T, status int, h http.Header, body []byte) {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("status %d: error body is not a JSON object: %q", status, body)
	}
	code, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	if len(e) != 3 || e["status"] != float64(status) || code == "" || msg == "" {
		t.Fatalf("status %d: error body %s is not exactly {status,code,message}", status, body)
	}
	if !apiCodes[code] {
		t.Fatalf("status %d: undocumented code %q in %s", status, code, body)
	}
	if httpkit.Status(code) != status {
		t.Fatalf("code %s answered with %d, table says %d", code, status, httpkit.Status(code))
	}
	if h.Get("LicenseSignature") != "" {
		t.Fatalf("error %s carries a LicenseSignature", code)
	}
}

// FuzzLicenseAPI drives the whole handler with correctly signed requests: route picks the
// endpoint (its own method; a high bit selects the other method or the read-only key),
// query is the raw query string, contentType and body the POST body.
func FuzzLicenseAPI(f *testing.F) {
	const (
		id     = `"hardware_id":"h1","product":"app","license_key":"KEY-1"`
		userID = `"hardware_id":"h2","product":"upp","username":"u@example.com","password":"pw"`
	)
	for _, s := range []struct {
		route       uint8
		query, ct   string
		body        string
		description string
	}{
		{0, "", "application/json", `{` + id + `,"os_ver":"x","is_vm":false,"variables":{"10":"<&>","2":true,"name":"\u2028é"}}`, "activate"},
		{0, "", "application/json", `{` + userID + `}`, "activate user"},
		{0, "", "", `{"hardware_id":"h3","product":"app","license_key":"KEY-1MAX"}`, "activate max"},
		{0, "", "text/plain", `{"hardware_id":"` + strings.Repeat("é", 255) + `","product":"app","license_key":"KEY-1"}`, "activate long hw"},
		{0, "", "", `{"hardware_id":"h1","product":"app","license_key":"KEY-1","license_id":1}`, "activate license_id"},
		{0, "", "", `{"hardware_id":"h1","product":"nope","license_key":"KEY-1"}`, "unknown product"},
		{0, "", "", `{"hardware_id":"h1","product":"app","license_key":"NOPE"}`, "unknown key"},
		{0, "", "", `{"hardware_id":"h1","product":"upp","username":"u@example.com","password":"wrong"}`, "bad password"},
		{2, "hardware_id=h1&product=app&license_key=KEY-1", "", "", "check"},
		{2, "hardware_id=h2&product=upp&username=u%40example.com", "", "", "check user"},
		{2, "hardware_id=%FF&product=app&license_key=KEY-1", "", "", "check bad utf-8"},
		{2, "hardware_id=h1&product=app&license_key=KEY-1&license_id=0x1", "", "", "check hex license_id"},
		{3, "", "", `{` + id + `,"variables":{"a":"1","b":2,"c":false,"a":1e21}}`, "track"},
		{3, "", "", `{` + id + `,"variables":{"` + strings.Repeat("n", 256) + `":"v"}}`, "track long name"},
		{3, "", "", `{` + id + `,"variables":{"x":null}}`, "track null"},
		{4, "hardware_id=h1&product=app&license_key=KEY-1", "", "", "get variables"},
		{0x80, "", "", `{` + id + `}`, "activate with GET"},
		{0x82, "hardware_id=h1&product=app&license_key=KEY-1", "", `{` + id + `}`, "check with POST"},
		{0x40, "", "", `{` + id + `}`, "activate with read-only key"},
		{0x42, "hardware_id=h1&product=app&license_key=KEY-1", "", "", "check with read-only key"},
		{3, "", "multipart/form-data", `{}`, "media type"},
		{1, "", "application/json", `{` + id + `,"variables":{"a":"b"}}`, "deactivate"},
		{1, "", "application/json", `{` + id + `}`, "deactivate again"},
	} {
		f.Add(s.route, s.query, s.ct, []byte(s.body))
	}
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, route uint8, query, contentType string, body []byte) {
		rt := fuzzRoutes[int(route&0x3f)%len(fuzzRoutes)]
		method := rt.method
		if route&0x80 != 0 {
			method = map[string]string{http.MethodGet: http.MethodPost, http.MethodPost: http.MethodGet}[method]
		}
		r := httptest.NewRequest(method, Prefix+rt.name, bytes.NewReader(body))
		r.URL.RawQuery = query
		apiKey, shared := s.creds.APIKey, s.creds.SharedKey
		if route&0x40 != 0 {
			apiKey, shared = s.readKey.Key, s.readKey.SharedKey
		}
		date, auth := s.authorization(apiKey, shared)
		r.Header.Set("Date", date)
		r.Header.Set("Authorization", auth)
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		s.serve(t, r, rt.name)
	})
}

// FuzzLicenseAPIAuth drives the handler's authentication with arbitrary Date and
// Authorization headers (the API key reaches the database lookup): never 5xx, always
// the documented error shape.
func FuzzLicenseAPIAuth(f *testing.F) {
	s := newFuzzServer(f)
	date, auth := s.authorization(s.creds.APIKey, s.creds.SharedKey)
	_, readAuth := s.authorization(s.readKey.Key, s.readKey.SharedKey)
	_, wrong := s.authorization(s.creds.APIKey, "not-the-shared-key")
	f.Add(date, auth)
	f.Add(date, readAuth)
	f.Add(date, wrong)
	f.Add(s.now.Add(-16*time.Minute).Format(http.TimeFormat), auth)
	f.Add("Mon, 01 Jun 2026 12:00:00 GMT", auth)
	f.Add("2026-06-01T12:00:00Z", auth)
	f.Add("", auth)
	f.Add(date, "")
	f.Add(date, strings.Replace(auth, s.creds.APIKey, strings.Repeat("k", 129), 1))
	f.Add(date, strings.Replace(auth, s.creds.APIKey, "\xff\x00", 1))
	f.Add(date, strings.Replace(auth, s.creds.APIKey, "00000000-0000-4000-8000-000000000000", 1))
	for _, a := range authSeeds {
		f.Add(date, a)
	}
	f.Fuzz(func(t *testing.T, date, auth string) {
		r := httptest.NewRequest(http.MethodGet, Prefix+"check_license?hardware_id=h0&product=app&license_key=KEY-1", nil)
		if date != "" {
			r.Header["Date"] = []string{date}
		}
		if auth != "" {
			r.Header["Authorization"] = []string{auth}
		}
		s.serve(t, r, "check_license")
	})
}

// FuzzLicenseAPIFields drives the handler with well-formed requests whose field values are
// fuzzed (the raw-body target rarely gets past the JSON grammar): POST bodies are JSON
// objects, GET parameters a correctly encoded query. Besides the checks of serve: an
// answered activation echoes the hardware_id it was sent, and only values within the
// limits (valid UTF-8, no NUL, at most 255 characters) are ever answered with 200.
func FuzzLicenseAPIFields(f *testing.F) {
	for _, s := range []struct {
		route                            uint8
		hw, product, key, user, password string
		licenseID                        int64
		varName, varValue                string
	}{
		{0, "h1", "app", "KEY-1", "", "", 0, "a", "b"},
		{0, "H-É-ß-İ", "app", "KEY-1", "", "", 0, "10", "<&>\u2028"},
		{0, "h2", "upp", "", "u@example.com", "pw", 0, "", ""},
		{0, "h2", "upp", "", "U@EXAMPLE.COM|x", "pw", 0, "", ""},
		{0, "h1", "app", "key-1", "", "", 1, "", ""},
		{0, "h1", "app", "KEY-1", "", "", 9007199254740992, "", ""},
		{0, "h1", "APP", "KEY-1", "", "", -1, "", ""},
		{0, strings.Repeat("é", 256), "app", "KEY-1", "", "", 0, "", ""},
		{0, "h\x00", "app", "KEY-1", "", "", 0, "", ""},
		{0, "h\xff", "app", "KEY-1", "", "", 0, "", ""},
		{2, "h1", "app", "KEY-1", "", "", 0, "", ""},
		{2, "h2", "upp", "", "u@example.com", "", 0, "", ""},
		{2, "h1\xff", "app", "KEY-1", "", "", 0, "", ""},
		{3, "h1", "app", "KEY-1", "", "", 0, "v\x00", "x"},
		{3, "h1", "app", "KEY-1", "", "", 0, strings.Repeat("n", 256), "x"},
		{3, "h1", "app", "KEY-1", "", "", 0, "n", strings.Repeat("v", 4097)},
		{4, "h1", "app", "KEY-1", "", "", 0, "", ""},
		{1, "h1", "app", "KEY-1", "", "", 0, "", ""},
	} {
		f.Add(s.route, s.hw, s.product, s.key, s.user, s.password, s.licenseID, s.varName, s.varValue)
	}
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, route uint8, hw, product, key, user, password string, licenseID int64, varName, varValue string) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		fields := map[string]string{"hardware_id": hw, "product": product, "license_key": key, "username": user, "password": password}
		var r *http.Request
		if rt.method == http.MethodGet {
			q := url.Values{}
			for k, v := range fields {
				if v != "" {
					q.Set(k, v)
				}
			}
			if licenseID != 0 {
				q.Set("license_id", strconv.FormatInt(licenseID, 10))
			}
			r = httptest.NewRequest(rt.method, Prefix+rt.name+"?"+q.Encode(), nil)
		} else {
			for _, v := range []string{hw, product, key, user, password, varName, varValue} {
				if !utf8.ValidString(v) {
					return // encoding/json would replace the bytes; FuzzLicenseAPI sends broken UTF-8
				}
			}
			body := map[string]any{}
			for k, v := range fields {
				if v != "" {
					body[k] = v
				}
			}
			if licenseID != 0 {
				body["license_id"] = licenseID
			}
			if varName != "" || route&0x80 != 0 {
				body["variables"] = map[string]string{varName: varValue}
			}
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			r = httptest.NewRequest(rt.method, Prefix+rt.name, bytes.NewReader(b))
			r.Header.Set("Content-Type", "application/json")
		}
		date, auth := s.authorization(s.creds.APIKey, s.creds.SharedKey)
		r.Header.Set("Date", date)
		r.Header.Set("Authorization", auth)
		w := s.serve(t, r, rt.name)
		if w.Code != http.StatusOK {
			return
		}
		for k, v := range fields {
			limit := maxIdentifierLen
			if k == "password" {
				limit = maxFieldLen
			}
			checkField(t, k+" answered with 200", v, limit)
		}
		if rt.name == "activate_license" {
			var lic struct {
				HardwareID string `json:"hardware_id"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &lic); err != nil || lic.HardwareID != hw {
				t.Fatalf("activation of %q answered hardware_id %q (%v)", hw, lic.HardwareID, err)
			}
		}
	})
}
