package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/client"
)

var seq atomic.Int64

// uniq returns a name no other test in this run uses.
func uniq(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, seq.Add(1))
}

// ---------------------------------------------------------------------------
// Management API

type mgmt struct {
	t    *testing.T
	root string
	key  string
}

func (s *server) mgmt(t *testing.T) mgmt { return mgmt{t, s.root, s.creds.ManagementKey} }

// raw sends a management request with the given Authorization (empty: none).
func rawMgmt(t *testing.T, root, authorization, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case []byte:
			rd = bytes.NewReader(b)
		default:
			j, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(j)
		}
	}
	req, err := http.NewRequest(method, root+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func (m mgmt) do(method, path string, body any) (int, []byte) {
	m.t.Helper()
	return rawMgmt(m.t, m.root, "Api-Key "+m.key, method, path, body)
}

// call sends a request, requires status want and decodes the answer into out (if not nil).
func (m mgmt) call(method, path string, body any, want int, out any) []byte {
	m.t.Helper()
	st, b := m.do(method, path, body)
	if st != want {
		m.t.Fatalf("%s %s %s: status %d, want %d; body %s", method, path, jsonStr(body), st, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			m.t.Fatalf("%s %s: decode %T: %v; body %s", method, path, out, err, b)
		}
	}
	return b
}

// mgmtErr is the management API error body.
type mgmtErr struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Field  string `json:"field"`
}

// wantMgmtErr sends a request that must fail with status and code (code "" = any)
// and a well-formed management error body; field, if not "", must be named.
func (m mgmt) wantErr(method, path string, body any, status int, code, field string) mgmtErr {
	m.t.Helper()
	st, b := m.do(method, path, body)
	return checkMgmtErr(m.t, fmt.Sprintf("%s %s %s", method, path, jsonStr(body)), st, b, status, code, field)
}

func checkMgmtErr(t *testing.T, what string, st int, b []byte, status int, code, field string) mgmtErr {
	t.Helper()
	if st != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, st, status, b)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s: error body is not a JSON object: %s", what, b)
	}
	for k := range raw {
		switch k {
		case "status", "code", "detail", "field":
		default:
			t.Errorf("%s: unexpected key %q in error body %s", what, k, b)
		}
	}
	var e mgmtErr
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("%s: error body %s: %v", what, b, err)
	}
	if e.Status != status || e.Code == "" || raw["detail"] == nil {
		t.Errorf("%s: error body %s: want status %d, a code and a detail", what, b, status)
	}
	if code != "" && e.Code != code {
		t.Errorf("%s: code %q, want %q; body %s", what, e.Code, code, b)
	}
	if field != "" && e.Field != field {
		t.Errorf("%s: field %q, want %q; body %s", what, e.Field, field, b)
	}
	return e
}

type product struct {
	ID                  int64  `json:"id"`
	ProductName         string `json:"product_name"`
	ShortCode           string `json:"short_code"`
	AuthorizationMethod string `json:"authorization_method"`
	CreatedAt           string `json:"created_at"`
	UpdatedAt           string `json:"updated_at"`
}

type licenseUser struct {
	ID              int64   `json:"id"`
	Email           string  `json:"email"`
	InitialPassword *string `json:"initial_password"`
}

type mlicense struct {
	ID                        int64         `json:"id"`
	LicenseKey                *string       `json:"license_key"`
	Product                   int64         `json:"product"`
	ProductShortCode          string        `json:"product_short_code"`
	Order                     int64         `json:"order"`
	OrderStoreID              *string       `json:"order_store_id"`
	LicenseType               string        `json:"license_type"`
	Enabled                   bool          `json:"enabled"`
	Active                    bool          `json:"active"`
	IsTrial                   bool          `json:"is_trial"`
	MaxActivations            int64         `json:"max_activations"`
	AllowUnlimitedActivations bool          `json:"allow_unlimited_activations"`
	TimesActivated            int64         `json:"times_activated"`
	TransferCount             int64         `json:"transfer_count"`
	ValidityPeriod            *string       `json:"validity_period"`
	LicenseUsers              []licenseUser `json:"license_users"`
	CreatedAt                 string        `json:"created_at"`
	UpdatedAt                 string        `json:"updated_at"`
}

var licenseKeys = []string{"id", "license_key", "product", "product_short_code", "order", "order_store_id", "license_type",
	"enabled", "active", "is_trial", "max_activations", "allow_unlimited_activations", "times_activated", "transfer_count",
	"validity_period", "license_users", "created_at", "updated_at"}

type device struct {
	ID              int64   `json:"id"`
	License         int64   `json:"license"`
	HardwareID      string  `json:"hardware_id"`
	DeviceActive    bool    `json:"device_active"`
	Blacklisted     bool    `json:"blacklisted"`
	OS              string  `json:"os"`
	Hostname        string  `json:"hostname"`
	IP              string  `json:"ip"`
	ExternalIP      string  `json:"external_ip"`
	MACAddress      string  `json:"mac_address"`
	AppVer          string  `json:"app_ver"`
	SDKBuildVersion string  `json:"sdk_build_version"`
	IsVM            bool    `json:"is_vm"`
	VMInfo          string  `json:"vm_info"`
	TimeActivated   *string `json:"time_activated"`
	TimeDeactivated *string `json:"time_deactivated"`
	LastCheck       *string `json:"last_check"`
	CreatedAt       string  `json:"created_at"`
	UpdatedAt       string  `json:"updated_at"`
}

var deviceKeys = []string{"id", "license", "hardware_id", "device_active", "blacklisted", "os", "hostname", "ip", "external_ip",
	"mac_address", "app_ver", "sdk_build_version", "is_vm", "vm_info", "time_activated", "time_deactivated", "last_check",
	"created_at", "updated_at"}

type page[T any] struct {
	Count    int64   `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []T     `json:"results"`
}

type orderResp struct {
	ID       int64      `json:"id"`
	StoreID  string     `json:"store_id"`
	Licenses []mlicense `json:"licenses"`
}

// ---------------------------------------------------------------------------
// Fixtures: one product per test keeps tests on the shared server independent.

type fixture struct {
	t       *testing.T
	s       *server
	m       mgmt
	c       *client.Client
	product product
}

// newFixture creates a product with a unique short code ("license-key" or "user").
func newFixture(t *testing.T, s *server, method string) *fixture {
	t.Helper()
	f := &fixture{t: t, s: s, m: s.mgmt(t), c: s.client(t)}
	code := uniq("p")
	f.m.call("POST", "/api/v1/products/", map[string]any{"product_name": "Product " + code, "short_code": code, "authorization_method": method}, 201, &f.product)
	if f.product.ShortCode != code || f.product.ID == 0 {
		t.Fatalf("created product %+v", f.product)
	}
	return f
}

// lic describes one license to create.
type lic struct {
	key            string // explicit key
	users          []map[string]any
	maxActivations int // 0: 1
	validity       any // nil: omitted (null)
}

func (f *fixture) order(licenses ...lic) orderResp {
	f.t.Helper()
	var ls []map[string]any
	for _, l := range licenses {
		m := map[string]any{"license_type": "perpetual", "max_activations": l.maxActivations}
		if l.maxActivations == 0 {
			m["max_activations"] = 1
		}
		if l.key != "" {
			m["key"] = l.key
		}
		if l.users != nil {
			m["users"] = l.users
		}
		if l.validity != nil {
			m["validity_period"] = l.validity
		}
		ls = append(ls, m)
	}
	var o orderResp
	f.m.call("POST", "/api/v1/orders/create_order/", map[string]any{
		"id":       uniq("order-"),
		"customer": map[string]any{"email": uniq("customer") + "@example.com"},
		"items":    []any{map[string]any{"product_code": f.product.ShortCode, "licenses": ls}},
	}, 201, &o)
	if len(o.Licenses) != len(licenses) {
		f.t.Fatalf("create_order returned %d licenses, want %d", len(o.Licenses), len(licenses))
	}
	return o
}

// keyLicense creates one key-based license with maxActivations seats.
func (f *fixture) keyLicense(maxActivations int) mlicense {
	f.t.Helper()
	l := f.order(lic{maxActivations: maxActivations}).Licenses[0]
	if l.LicenseKey == nil || *l.LicenseKey == "" {
		f.t.Fatalf("key-based license without key: %+v", l)
	}
	return l
}

// userLicense creates one user-based license for email with password.
func (f *fixture) userLicense(email, password string, maxActivations int) mlicense {
	f.t.Helper()
	return f.order(lic{users: []map[string]any{{"email": email, "password": password}}, maxActivations: maxActivations}).Licenses[0]
}

// keyID is the identity of a key-based license on a device.
func (f *fixture) keyID(l mlicense, hw string) client.Identity {
	return client.Identity{Product: f.product.ShortCode, HardwareID: hw, LicenseKey: *l.LicenseKey}
}

func (f *fixture) activate(id client.Identity) *client.License {
	f.t.Helper()
	l, err := f.c.ActivateLicense(ctx(), client.ActivateRequest{Identity: id})
	if err != nil {
		f.t.Fatalf("activate %+v: %v", id, err)
	}
	return l
}

func (f *fixture) getLicense(id int64) mlicense {
	f.t.Helper()
	var l mlicense
	f.m.call("GET", fmt.Sprintf("/api/v1/licenses/%d/", id), nil, 200, &l)
	return l
}

func (f *fixture) devices(licenseID int64) []device {
	f.t.Helper()
	var p page[device]
	f.m.call("GET", fmt.Sprintf("/api/v1/devices/?license=%d", licenseID), nil, 200, &p)
	return p.Results
}

func (f *fixture) deviceByHW(licenseID int64, hw string) device {
	f.t.Helper()
	var p page[device]
	f.m.call("GET", fmt.Sprintf("/api/v1/devices/?license=%d&hardware_id=%s", licenseID, url.QueryEscape(hw)), nil, 200, &p)
	if len(p.Results) != 1 {
		f.t.Fatalf("devices of license %d with hardware_id %q: %d results, want 1", licenseID, hw, len(p.Results))
	}
	return p.Results[0]
}

func (f *fixture) blacklist(deviceID int64) {
	f.t.Helper()
	var msg struct{ Message string }
	f.m.call("POST", fmt.Sprintf("/api/v1/devices/%d/blacklist/", deviceID), nil, 200, &msg)
	if msg.Message != "Device blacklisted." {
		f.t.Fatalf("blacklist message %q", msg.Message)
	}
}

func (f *fixture) setEnabled(licenseID int64, enabled bool) {
	f.t.Helper()
	action := "disable"
	if enabled {
		action = "enable"
	}
	var l mlicense
	f.m.call("POST", fmt.Sprintf("/api/v1/licenses/%d/%s/", licenseID, action), nil, 200, &l)
	if l.Enabled != enabled {
		f.t.Fatalf("%s: license enabled = %v", action, l.Enabled)
	}
}

// ---------------------------------------------------------------------------
// License API

func ctx() context.Context { return context.Background() }

func (s *server) client(t *testing.T, opts ...client.Option) *client.Client {
	t.Helper()
	return s.clientWith(t, s.creds.APIKey, s.creds.SharedKey, opts...)
}

func (s *server) clientWith(t *testing.T, apiKey, sharedKey string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(s.root, apiKey, sharedKey, []byte(s.creds.PublicKey), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantAPIErr requires err to be an *client.APIError with status and code.
func wantAPIErr(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var ae *client.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: err = %v, want %d %s", what, err, status, code)
		return
	}
	if ae.Status != status || ae.Code != code {
		t.Errorf("%s: got %d %s (%q), want %d %s", what, ae.Status, ae.Code, ae.Message, status, code)
	}
}

// wantRespErr requires a raw response to be a well-formed error with status and code.
func wantRespErr(t *testing.T, what string, r *client.Response, status int, code string) {
	t.Helper()
	err := client.ErrorOf(r)
	if err == nil {
		t.Errorf("%s: HTTP %d %.300s, want %d %s", what, r.Status, r.Body, status, code)
		return
	}
	var ae *client.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: %v", what, err)
		return
	}
	if ae.Status != status || (code != "" && ae.Code != code) {
		t.Errorf("%s: got %d %s (%q), want %d %s", what, ae.Status, ae.Code, ae.Message, status, code)
	}
}

// rawLicenseAPI sends a License API request with exactly the given headers.
func rawLicenseAPI(t *testing.T, s *server, method, endpoint string, query url.Values, body []byte, headers map[string]string) *client.Response {
	t.Helper()
	u := s.root + "/api/v4/" + endpoint
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, endpoint, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &client.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// keysOf returns the sorted keys of a JSON object.
func keysOf(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %.300s", err, b)
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// wantKeys requires a JSON object to have exactly the keys want.
func wantKeys(t *testing.T, what string, obj []byte, want []string) {
	t.Helper()
	got := keysOf(t, obj)
	w := append([]string(nil), want...)
	sort.Strings(w)
	if strings.Join(got, ",") != strings.Join(w, ",") {
		t.Errorf("%s: keys %v\nwant %v", what, got, w)
	}
}

// hasKeys requires a JSON object to have at least the keys want.
func hasKeys(t *testing.T, what string, obj []byte, want []string) {
	t.Helper()
	got := map[string]bool{}
	for _, k := range keysOf(t, obj) {
		got[k] = true
	}
	for _, k := range want {
		if !got[k] {
			t.Errorf("%s: key %q missing in %.400s", what, k, obj)
		}
	}
}

func jsonStr(v any) string {
	if v == nil {
		return ""
	}
	if b, ok := v.([]byte); ok {
		if len(b) > 200 {
			return string(b[:200]) + "…"
		}
		return string(b)
	}
	b, _ := json.Marshal(v)
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

func ptr[T any](v T) *T { return &v }

// epochMs parses an ISO-8601 timestamp to epoch milliseconds.
func epochMs(t *testing.T, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("timestamp %q: %v", s, err)
	}
	return tm.UnixMilli()
}

func checkReq(id client.Identity) client.CheckRequest { return client.CheckRequest{Identity: id} }

func activateReq(id client.Identity) client.ActivateRequest {
	return client.ActivateRequest{Identity: id}
}

func deactReq(id client.Identity) client.DeactivateRequest {
	return client.DeactivateRequest{Identity: id}
}

// activateUser is an activation of a user-based license.
func activateUser(f *fixture, hw, username, password string) client.ActivateRequest {
	return client.ActivateRequest{Identity: client.Identity{Product: f.product.ShortCode, HardwareID: hw, Username: username}, Password: password}
}

func userID(f *fixture, hw, username string) client.Identity {
	return client.Identity{Product: f.product.ShortCode, HardwareID: hw, Username: username}
}

// activateKeyFull is an activation that reports every device field.
func activateKeyFull(f *fixture, l mlicense, hw string) client.ActivateRequest {
	return client.ActivateRequest{
		Identity: f.keyID(l, hw),
		OSVer:    "Linux 6.1", Hostname: "build-box", IP: "10.0.0.7", MACAddress: "00:11:22:33:44:55",
		AppVer: "1.2.3", SDKVer: "e2e-sdk 0.1", IsVM: ptr(true), VMInfo: "kvm",
	}
}

// trackReq builds a track request from name, value pairs (in order).
func trackReq(id client.Identity, nv ...any) client.TrackRequest {
	var vs client.Vars
	for i := 0; i+1 < len(nv); i += 2 {
		vs = append(vs, client.Var{Name: nv[i].(string), Value: nv[i+1]})
	}
	return client.TrackRequest{Identity: id, Variables: vs}
}
