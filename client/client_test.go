package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	docSharedKey = "kw4qSnpSwXzgiv5yxYpZZmFEd9QAeiKTQ6OuyMja"
	docDate      = "Tue, 07 Jun 2011 20:51:35 GMT"
	// docSignature was computed independently, with both
	//   printf 'licenseSpring\ndate: Tue, 07 Jun 2011 20:51:35 GMT' | openssl dgst -sha256 -hmac 'kw4qSnpSwXzgiv5yxYpZZmFEd9QAeiKTQ6OuyMja' -binary | base64
	// and node's crypto.createHmac (TestSignDocExampleNode recomputes it with node).
	docSignature = "UDysfR6MndUZReo07Y9r+vErn8vSxrnQ5ulit18iJ/Q="
)

func TestSignDocExample(t *testing.T) {
	if got := Sign(docSharedKey, docDate); got != docSignature {
		t.Fatalf("Sign = %q, want %q", got, docSignature)
	}
}

func TestSignDocExampleNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH; the hard-coded value in TestSignDocExample still applies")
	}
	script := `const c=require("crypto");process.stdout.write(c.createHmac("sha256",process.argv[1]).update("licenseSpring\ndate: "+process.argv[2]).digest("base64"))`
	out, err := exec.Command(node, "-e", script, docSharedKey, docDate).Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	if got := Sign(docSharedKey, docDate); got != string(out) {
		t.Fatalf("Sign = %q, node computes %q", got, out)
	}
}

var authRe = regexp.MustCompile(`^algorithm="hmac-sha256",headers="date",signature="([A-Za-z0-9+/=]+)",apikey="([^"]+)"$`)

func TestAuthHeaders(t *testing.T) {
	key := rsaKey(t)
	c, err := New("http://example.invalid", "3fcc5deb-86d6-4b2a-933c-97666984bc2d", docSharedKey, pubPEM(t, &key.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	// A non-UTC time must be rendered in GMT.
	at := time.Date(2011, 6, 7, 22, 51, 35, 0, time.FixedZone("CEST", 2*3600))
	date, auth := c.AuthHeaders(at)
	if date != docDate {
		t.Fatalf("date = %q, want %q", date, docDate)
	}
	m := authRe.FindStringSubmatch(auth)
	if m == nil {
		t.Fatalf("authorization %q does not match %s", auth, authRe)
	}
	if m[1] != docSignature || m[2] != "3fcc5deb-86d6-4b2a-933c-97666984bc2d" {
		t.Fatalf("authorization %q: signature %q apikey %q", auth, m[1], m[2])
	}
	// Cached value of the same second and a fresh value for the next.
	if d2, a2 := c.AuthHeaders(at); d2 != date || a2 != auth {
		t.Fatal("same second gave different headers")
	}
	d3, a3 := c.AuthHeaders(at.Add(time.Second))
	if d3 == date || a3 == auth || authRe.FindStringSubmatch(a3)[1] != Sign(docSharedKey, d3) {
		t.Fatalf("next second: %q %q", d3, a3)
	}
}

func TestNew(t *testing.T) {
	key := rsaKey(t)
	pub := pubPEM(t, &key.PublicKey)
	for _, tc := range []struct{ in, want string }{
		{"http://h:1", "http://h:1/api/v4"},
		{"http://h:1/", "http://h:1/api/v4"},
		{"http://h:1/api/v4", "http://h:1/api/v4"},
		{"http://h:1/api/v4/", "http://h:1/api/v4"},
		{"https://h/prefix", "https://h/prefix/api/v4"},
	} {
		c, err := New(tc.in, "k", "s", pub)
		if err != nil || c.BaseURL() != tc.want {
			t.Errorf("New(%q): base %v, err %v; want %q", tc.in, c, err, tc.want)
		}
	}
	bad := []struct {
		name, url, key, shared string
		pem                    []byte
	}{
		{"no pem", "http://h", "k", "s", []byte("nope")},
		{"private key", "http://h", "k", "s", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})},
		{"p384", "http://h", "k", "s", pubPEM(t, &mustECDSA(t, elliptic.P384()).PublicKey)},
		{"relative url", "/api/v4", "k", "s", pub},
		{"empty api key", "http://h", "", "s", pub},
		{"empty shared key", "http://h", "k", "", pub},
	}
	for _, tc := range bad {
		if _, err := New(tc.url, tc.key, tc.shared, tc.pem); err == nil {
			t.Errorf("%s: New succeeded", tc.name)
		}
	}
	// PKCS#1 RSA public keys and ECDSA P-256 SPKI are accepted.
	pk1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})
	if _, err := New("http://h", "k", "s", pk1); err != nil {
		t.Errorf("PKCS#1: %v", err)
	}
	if _, err := New("http://h", "k", "s", pubPEM(t, &mustECDSA(t, elliptic.P256()).PublicKey)); err != nil {
		t.Errorf("P-256: %v", err)
	}
}

// fakeServer is a License API double that signs with a given key and lets each
// test tamper with what it sends.
type fakeServer struct {
	t      *testing.T
	signer crypto.Signer
	now    time.Time

	mu   sync.Mutex
	reqs []*recorded

	// respond returns status, body, and whether/how to sign the body.
	respond func(r *recorded) (status int, body []byte, sig string)
}

type recorded struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

func (f *fakeServer) sign(msg []byte) string {
	sum := sha256.Sum256(msg)
	sig, err := f.signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		f.t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec := &recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: b}
	f.mu.Lock()
	f.reqs = append(f.reqs, rec)
	f.mu.Unlock()
	status, body, sig := f.respond(rec)
	if sig != "" {
		w.Header().Set("LicenseSignature", sig)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func (f *fakeServer) last() *recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[len(f.reqs)-1]
}

func newFake(t *testing.T, signer crypto.Signer) (*fakeServer, *Client) {
	t.Helper()
	f := &fakeServer{t: t, signer: signer, now: time.Date(2025, 7, 4, 11, 1, 35, 0, time.UTC)}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, "api-key-1", "shared-1", pubPEM(t, signer.Public()), WithHTTPClient(srv.Client()), WithClock(func() time.Time { return f.now }))
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func licenseBody(f *fakeServer, hw, id string, validity *string) []byte {
	v := "null"
	vs := ""
	if validity != nil {
		v = `"` + *validity + `"`
		vs = *validity
	}
	sig := f.sign([]byte(strings.ToLower(hw + "#" + id + "#" + vs)))
	return []byte(`{"id":1750853542919019,"license_key":"AB12-CD34-EF56-GH78","license_type":"perpetual","is_trial":false,"validity_period":` + v +
		`,"max_activations":2,"allow_unlimited_activations":false,"times_activated":1,"transfer_count":0,"is_expired":false,"device_id":1751361422033009,"hardware_id":"` + hw +
		`","product_details":{"product_id":7,"product_name":"P","short_code":"p","authorization_method":"license-key"},"company":{"id":276},"license_signature":"` + sig +
		`","request":"activation","active":true}`)
}

func TestActivateLicenseSignatures(t *testing.T) {
	validity := "2030-01-01T00:00:00.000Z"
	signers := map[string]crypto.Signer{"rsa": rsaKey(t), "ecdsa-p256": mustECDSA(t, elliptic.P256())}
	for name, signer := range signers {
		t.Run(name, func(t *testing.T) {
			cases := []struct {
				name     string
				validity *string
				tamper   func(f *fakeServer, body []byte) ([]byte, string)
				wantErr  error
			}{
				{"good null validity", nil, nil, nil},
				{"good validity", &validity, nil, nil},
				{"header missing", nil, func(f *fakeServer, b []byte) ([]byte, string) { return b, "" }, ErrResponseSignatureMissing},
				{"header over other body", nil, func(f *fakeServer, b []byte) ([]byte, string) {
					return b, f.sign(append([]byte(nil), append(b, ' ')...))
				}, ErrResponseSignatureInvalid},
				{"header not base64", nil, func(f *fakeServer, b []byte) ([]byte, string) { return b, "!!!" }, ErrResponseSignatureInvalid},
				{"body changed after signing", nil, func(f *fakeServer, b []byte) ([]byte, string) {
					sig := f.sign(b)
					return []byte(strings.Replace(string(b), `"times_activated":1`, `"times_activated":0`, 1)), sig
				}, ErrResponseSignatureInvalid},
				{"license_signature missing", nil, func(f *fakeServer, b []byte) ([]byte, string) {
					b = regexp.MustCompile(`"license_signature":"[^"]*",`).ReplaceAll(b, nil)
					return b, f.sign(b)
				}, ErrLicenseSignatureMissing},
				{"license_signature for other validity", &validity, func(f *fakeServer, b []byte) ([]byte, string) {
					other := f.sign([]byte("hw-1#ab12-cd34-ef56-gh78#"))
					b = regexp.MustCompile(`"license_signature":"[^"]*"`).ReplaceAll(b, []byte(`"license_signature":"`+other+`"`))
					return b, f.sign(b)
				}, ErrLicenseSignatureInvalid},
				{"license_signature not lowercased", nil, func(f *fakeServer, b []byte) ([]byte, string) {
					other := f.sign([]byte("hw-1#AB12-CD34-EF56-GH78#"))
					b = regexp.MustCompile(`"license_signature":"[^"]*"`).ReplaceAll(b, []byte(`"license_signature":"`+other+`"`))
					return b, f.sign(b)
				}, ErrLicenseSignatureInvalid},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					f, c := newFake(t, signer)
					f.respond = func(r *recorded) (int, []byte, string) {
						b := licenseBody(f, "HW-1", "AB12-CD34-EF56-GH78", tc.validity)
						if tc.tamper == nil {
							return 200, b, f.sign(b)
						}
						b, s := tc.tamper(f, b)
						return 200, b, s
					}
					l, err := c.ActivateLicense(context.Background(), ActivateRequest{
						Identity:  Identity{Product: "p", HardwareID: "HW-1", LicenseKey: "AB12-CD34-EF56-GH78"},
						Variables: Vars{{"b", 1}, {"a", "<&>"}},
					})
					if tc.wantErr != nil {
						if !errors.Is(err, tc.wantErr) {
							t.Fatalf("err = %v, want %v", err, tc.wantErr)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if l.ID != 1750853542919019 || l.DeviceID != 1751361422033009 || !l.Active || l.Request != "activation" || len(l.Raw) == 0 {
						t.Fatalf("license %+v", l)
					}
					req := f.last()
					if req.Method != "POST" || req.Path != "/api/v4/activate_license" || req.Header.Get("Content-Type") != "application/json" {
						t.Fatalf("request %s %s %v", req.Method, req.Path, req.Header)
					}
					want := `{"product":"p","hardware_id":"HW-1","license_key":"AB12-CD34-EF56-GH78","variables":{"b":1,"a":"<&>"}}`
					if string(req.Body) != want {
						t.Fatalf("body %s\nwant %s", req.Body, want)
					}
					checkAuth(t, req, "api-key-1", "shared-1", f.now)
				})
			}
		})
	}
}

func checkAuth(t *testing.T, r *recorded, apiKey, shared string, now time.Time) {
	t.Helper()
	date := r.Header.Get("Date")
	if date != now.UTC().Format(http.TimeFormat) {
		t.Errorf("Date %q", date)
	}
	m := authRe.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil || m[1] != Sign(shared, date) || m[2] != apiKey {
		t.Errorf("Authorization %q", r.Header.Get("Authorization"))
	}
}

func TestCheckLicenseUsername(t *testing.T) {
	f, c := newFake(t, rsaKey(t))
	validity := "2030-01-01T00:00:00.000Z"
	f.respond = func(r *recorded) (int, []byte, string) {
		// v1 uses the username before the first "|", lowercased.
		sig := f.sign([]byte("hw-9#user@example.com#" + strings.ToLower(validity)))
		b := []byte(`{"id":5,"license_key":null,"validity_period":"` + validity + `","license_active":true,"license_enabled":true,"is_expired":false,"device_id":77,"license_signature":"` + sig + `"}`)
		return 200, b, f.sign(b)
	}
	l, err := c.CheckLicense(context.Background(), CheckRequest{Identity{Product: "p", HardwareID: "HW-9", Username: "User@Example.com|DSE2", LicenseID: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if !l.LicenseActive || !l.LicenseEnabled || l.DeviceID != 77 || l.LicenseKey != nil {
		t.Fatalf("%+v", l)
	}
	req := f.last()
	if req.Method != "GET" || req.Path != "/api/v4/check_license" || len(req.Body) != 0 {
		t.Fatalf("%s %s body %q", req.Method, req.Path, req.Body)
	}
	if req.Query != "hardware_id=HW-9&license_id=5&product=p&username=User%40Example.com%7CDSE2" {
		t.Fatalf("query %q", req.Query)
	}
	checkAuth(t, req, "api-key-1", "shared-1", f.now)
}

func TestAPIErrors(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		body      string
		wantAPI   *APIError
		malformed bool
	}{
		{"license_not_found", 400, `{"status":400,"code":"license_not_found","message":"License not found"}`, &APIError{400, "license_not_found", "License not found"}, false},
		{"not_found 404", 404, `{"status":404,"code":"not_found","message":""}`, &APIError{404, "not_found", ""}, false},
		{"order_id_exists 409", 409, `{"code":"order_id_exists","message":"m","status":409}`, &APIError{409, "order_id_exists", "m"}, false},
		{"html", 502, `<html>bad gateway</html>`, nil, true},
		{"empty", 500, ``, nil, true},
		{"extra key", 400, `{"status":400,"code":"x","message":"m","detail":"d"}`, nil, true},
		{"missing message", 400, `{"status":400,"code":"x"}`, nil, true},
		{"status string", 400, `{"status":"400","code":"x","message":"m"}`, nil, true},
		{"status mismatch", 400, `{"status":401,"code":"x","message":"m"}`, nil, true},
		{"null code", 400, `{"status":400,"code":null,"message":"m"}`, nil, true},
		{"array", 400, `[]`, nil, true},
		{"drf shape", 401, `{"detail":"Authentication credentials were not provided."}`, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newFake(t, rsaKey(t))
			f.respond = func(*recorded) (int, []byte, string) { return tc.status, []byte(tc.body), "" }
			_, err := c.CheckLicense(context.Background(), CheckRequest{Identity{Product: "p", HardwareID: "h", LicenseKey: "k"}})
			var ae *APIError
			if tc.malformed {
				if !errors.Is(err, ErrMalformedError) || errors.As(err, &ae) {
					t.Fatalf("err = %v, want ErrMalformedError", err)
				}
				return
			}
			if !errors.As(err, &ae) || *ae != *tc.wantAPI {
				t.Fatalf("err = %#v, want %#v", err, tc.wantAPI)
			}
			// The same for the unsigned deactivate_license path.
			if err := c.DeactivateLicense(context.Background(), DeactivateRequest{Identity: Identity{Product: "p", HardwareID: "h", LicenseKey: "k"}}); !errors.As(err, &ae) || *ae != *tc.wantAPI {
				t.Fatalf("deactivate err = %v", err)
			}
		})
	}
}

func TestDeactivateLicense(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{"license_deactivated", true},
		{`"license_deactivated"`, true},
		{"license_deactivated\n", true},
		{"ok", false},
		{`{"status":"license_deactivated"}`, false},
	} {
		f, c := newFake(t, rsaKey(t))
		f.respond = func(*recorded) (int, []byte, string) { return 200, []byte(tc.body), "" }
		err := c.DeactivateLicense(context.Background(), DeactivateRequest{Identity: Identity{Product: "p", HardwareID: "h", Username: "u@x"}})
		if (err == nil) != tc.ok {
			t.Errorf("body %q: err %v", tc.body, err)
		}
		if req := f.last(); req.Method != "POST" || req.Path != "/api/v4/deactivate_license" || string(req.Body) != `{"product":"p","hardware_id":"h","username":"u@x"}` {
			t.Errorf("request %s %s %s", req.Method, req.Path, req.Body)
		}
	}
}

func TestDeviceVariables(t *testing.T) {
	f, c := newFake(t, rsaKey(t))
	var track, get []byte
	track = []byte(`[{"variable":"z","value":"1.5","device_id":9,"created_at":1751626895123},{"variable":"a","value":"true","device_id":9,"created_at":1751626895123}]`)
	get = []byte(`[{"id":1,"created_at":"2025-07-04T11:01:35.123Z","variable":"z","value":"1.5","device_id":9}]`)
	f.respond = func(r *recorded) (int, []byte, string) {
		if r.Path == "/api/v4/track_device_variables" {
			return 200, track, f.sign(track)
		}
		return 200, get, f.sign(get)
	}
	id := Identity{Product: "p", HardwareID: "h", LicenseKey: "k"}
	vs, err := c.TrackDeviceVariables(context.Background(), TrackRequest{Identity: id, Variables: Vars{{"z", json.Number("1.50")}, {"a", true}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0] != (TrackedVariable{"z", "1.5", 9, 1751626895123}) {
		t.Fatalf("%+v", vs)
	}
	if b := string(f.last().Body); b != `{"product":"p","hardware_id":"h","license_key":"k","variables":{"z":1.50,"a":true}}` {
		t.Fatalf("body %s", b)
	}
	dv, err := c.GetDeviceVariables(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(dv) != 1 || dv[0] != (DeviceVariable{1, "2025-07-04T11:01:35.123Z", "z", "1.5", 9}) {
		t.Fatalf("%+v", dv)
	}
	if r := f.last(); r.Method != "GET" || r.Query != "hardware_id=h&license_key=k&product=p" {
		t.Fatalf("%s %s", r.Method, r.Query)
	}
	// A tampered array is rejected.
	get = []byte(`[]`)
	f.respond = func(r *recorded) (int, []byte, string) { return 200, get, f.sign([]byte(`[ ]`)) }
	if _, err := c.GetDeviceVariables(context.Background(), id); !errors.Is(err, ErrResponseSignatureInvalid) {
		t.Fatalf("err %v", err)
	}
	// A non-array is unexpected.
	f.respond = func(r *recorded) (int, []byte, string) { b := []byte(`{}`); return 200, b, f.sign(b) }
	if _, err := c.TrackDeviceVariables(context.Background(), TrackRequest{Identity: id}); !errors.Is(err, ErrUnexpectedResponse) {
		t.Fatalf("err %v", err)
	}
	if b := string(f.last().Body); !strings.HasSuffix(b, `"variables":{}}`) {
		t.Fatalf("nil Vars body %s", b)
	}
}

func TestDoVerbatimBody(t *testing.T) {
	f, c := newFake(t, rsaKey(t))
	f.respond = func(*recorded) (int, []byte, string) {
		return 400, []byte(`{"status":400,"code":"invalid_json","message":"m"}`), ""
	}
	r, err := c.Do(context.Background(), "POST", "/track_device_variables", nil, []byte(`{bad`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 400 || string(f.last().Body) != `{bad` || f.last().Path != "/api/v4/track_device_variables" {
		t.Fatalf("%d %s", r.Status, f.last().Body)
	}
	var ae *APIError
	if err := ErrorOf(r); !errors.As(err, &ae) || ae.Code != "invalid_json" {
		t.Fatalf("%v", err)
	}
	// Marshalled bodies keep <>& and carry no trailing newline.
	if _, err := c.Do(context.Background(), "POST", "x", nil, map[string]string{"a": "<&>"}); err != nil {
		t.Fatal(err)
	}
	if b := string(f.last().Body); b != `{"a":"<&>"}` {
		t.Fatalf("%q", b)
	}
}

func TestVarsMarshal(t *testing.T) {
	b, err := marshalNoHTML(Vars{{"10", 1}, {"2", false}, {"\u2028<", "x"}})
	if err != nil {
		t.Fatal(err)
	}
	// Order is kept; Go escapes U+2028 (harmless in a request).
	if string(b) != `{"10":1,"2":false,"\u2028<":"x"}` {
		t.Fatalf("%s", b)
	}
	if _, err := json.Marshal(Vars{{"bad", json.Number("1.2.3")}}); err == nil {
		t.Fatal("invalid number accepted")
	}
	if got := VarsFromMap(map[string]any{"b": 1, "a": 2}); got[0].Name != "a" || got[1].Name != "b" {
		t.Fatalf("%v", got)
	}
}

func TestLicenseSigningString(t *testing.T) {
	// Reference §6.1 example.
	got := LicenseSigningString("A53F-0CBC-EC01", "FUH3-4E7A-LZJL-7JTP", "", "2019-06-15T00:00:00.000Z")
	if got != "a53f-0cbc-ec01#fuh3-4e7a-lzjl-7jtp#2019-06-15t00:00:00.000z" {
		t.Fatal(got)
	}
	if got := LicenseSigningString("H", "", "A@B.c|x|y", ""); got != "h#a@b.c#" {
		t.Fatal(got)
	}
}

// helpers

var (
	rsaOnce sync.Once
	rsaPriv *rsa.PrivateKey
)

func rsaKey(t *testing.T) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		var err error
		rsaPriv, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
	})
	return rsaPriv
}

func mustECDSA(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pubPEM(t *testing.T, pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestReadBody: a body is read whole whatever its Content-Length says, up to maxBody,
// and a Content-Length with no body behind it makes no buffer larger than maxPresize.
func TestReadBody(t *testing.T) {
	for _, c := range []struct {
		name string
		cl   int64
		body string
	}{
		{"as announced", 5, "hello"},
		{"no length", -1, "hello"},
		{"empty", 0, ""},
		{"announced, never sent", maxBody - 1, "x"},
		{"announced past maxBody", 1 << 40, "x"},
	} {
		b, err := readBody(&http.Response{ContentLength: c.cl, Body: io.NopCloser(strings.NewReader(c.body))})
		if err != nil || string(b) != c.body {
			t.Errorf("%s: %q, %v", c.name, b, err)
		}
		if cap(b) > maxPresize+bytes.MinRead {
			t.Errorf("%s: a buffer of %d bytes for %d", c.name, cap(b), len(b))
		}
	}
}
