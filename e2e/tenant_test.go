package e2e

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/licensor/licensor/client"
)

// Tenant isolation: two companies on one server with comparable data (the same short
// codes, order ids, license keys, user emails and hardware ids where the schema allows
// it). Each company then tries every License API endpoint and every management route
// with its own credentials and the other company's identifiers; nothing of the other
// company may be read or changed.

// tnDevice is a device as the test made it.
type tnDevice struct {
	id          int64
	hw          string
	user        string // the email that activated it (user-based)
	active      bool
	blacklisted bool
}

// tnLicense is a license as the test made it.
type tnLicense struct {
	id      int64
	code    string
	key     string            // key-based
	users   map[string]string // email → password (user-based)
	enabled bool
	active  bool
	devices []*tnDevice
}

func (l *tnLicense) device(hw string) *tnDevice {
	for _, d := range l.devices {
		if d.hw == hw {
			return d
		}
	}
	return nil
}

func (l *tnLicense) emails() []string {
	es := make([]string, 0, len(l.users))
	for e := range l.users {
		es = append(es, e)
	}
	sort.Strings(es)
	return es
}

type tnProduct struct {
	id   int64
	code string
	user bool
}

// tnKey is a further License API key pair.
type tnKey struct {
	ID        int64  `json:"id"`
	APIKey    string `json:"api_key"`
	SharedKey string `json:"shared_key"`
	ReadOnly  bool   `json:"read_only"`
}

// tenant is one company with the data the test gave it.
type tenant struct {
	name     string
	mark     string // part of every string only this company owns ("tenanta")
	cr       creds
	m        mgmt
	c        *client.Client
	ro       *client.Client // read-only key
	extra    *client.Client // a second full key
	products map[string]*tnProduct
	licenses []*tnLicense
	storeIDs []string
	secrets  []string           // strings only this company owns that do not contain mark
	ids      map[string][]int64 // table → ids of this company's rows (from the database)
}

const (
	sharedKeyCode  = "shared-key"  // a key-based short code both companies use
	sharedUserCode = "shared-user" // a user-based short code both companies use
	sharedEmail    = "shared@example.com"
	sharedHW       = "hw-common"
	sameKey1       = "SAME-KEY-0001" // a key both companies have, on their own products
	sameKey2       = "SAME-KEY-0002" // a key both companies have, on the shared short code
	sameStoreID    = "order-common"
)

func newClient(t *testing.T, s *server, apiKey, sharedKey, publicKey string) *client.Client {
	t.Helper()
	c, err := client.New(s.root, apiKey, sharedKey, []byte(publicKey))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seedTenant gives a company products, orders, licenses, users, devices (active,
// deactivated, blacklisted, on a disabled license), variables and API keys.
func seedTenant(t *testing.T, s *server, name string, cr creds) *tenant {
	t.Helper()
	mark := "tenant" + strings.ToLower(name)
	tn := &tenant{name: name, mark: mark, cr: cr, m: mgmt{t, s.root, cr.ManagementKey},
		c: newClient(t, s, cr.APIKey, cr.SharedKey, cr.PublicKey), products: map[string]*tnProduct{}}
	tn.secrets = append(tn.secrets, cr.APIKey, cr.SharedKey, cr.ManagementKey)

	for _, p := range []struct{ code, method string }{
		{mark + "-key", "license-key"}, {mark + "-user", "user"}, {sharedKeyCode, "license-key"}, {sharedUserCode, "user"},
	} {
		var pr product
		tn.m.call("POST", "/api/v1/products/", map[string]any{"product_name": mark + " product " + p.code, "short_code": p.code, "authorization_method": p.method}, 201, &pr)
		tn.products[p.code] = &tnProduct{id: pr.ID, code: p.code, user: p.method == "user"}
	}

	keyLic := func(key string, max int) map[string]any {
		m := map[string]any{"license_type": "perpetual", "max_activations": max}
		if key != "" {
			m["key"] = key
		}
		return m
	}
	userLic := func(max int, emailPassword ...string) map[string]any {
		var us []any
		for i := 0; i+1 < len(emailPassword); i += 2 {
			us = append(us, map[string]any{"email": emailPassword[i], "password": emailPassword[i+1]})
		}
		return map[string]any{"license_type": "perpetual", "max_activations": max, "users": us}
	}
	item := func(code string, ls ...map[string]any) map[string]any {
		return map[string]any{"product_code": code, "licenses": ls}
	}
	order := func(storeID string, items ...map[string]any) []mlicense {
		var o orderResp
		tn.m.call("POST", "/api/v1/orders/create_order/", map[string]any{
			"id": storeID, "customer": map[string]any{"email": mark + "-customer@example.com"}, "items": items,
		}, 201, &o)
		tn.storeIDs = append(tn.storeIDs, storeID)
		return o.Licenses
	}
	record := func(ml mlicense, code string, users ...string) *tnLicense {
		l := &tnLicense{id: ml.ID, code: code, enabled: true}
		if ml.LicenseKey != nil {
			l.key = *ml.LicenseKey
		}
		if len(users) > 0 {
			l.users = map[string]string{}
			for i := 0; i+1 < len(users); i += 2 {
				l.users[users[i]] = users[i+1]
			}
		}
		tn.licenses = append(tn.licenses, l)
		return l
	}

	upper := strings.ToUpper(mark)
	o1 := order(sameStoreID,
		item(mark+"-key", keyLic(sameKey1, 4)),
		item(sharedKeyCode, keyLic("", 2), keyLic(sameKey2, 1)))
	lk1 := record(o1[0], mark+"-key")
	lk2 := record(o1[1], sharedKeyCode)
	lk3 := record(o1[2], sharedKeyCode)
	tn.secrets = append(tn.secrets, lk2.key) // generated
	userEmail, onlyEmail := mark+"-user@example.com", mark+"-only@example.com"
	o2 := order(mark+"-order-2",
		item(mark+"-user", userLic(1, userEmail, mark+"-pw-1")),
		item(sharedUserCode, userLic(2, sharedEmail, mark+"-pw-shared", onlyEmail, mark+"-pw-2")),
		item(sharedKeyCode, keyLic(upper+"-KEY-D", 1)))
	lu1 := record(o2[0], mark+"-user", userEmail, mark+"-pw-1")
	lu2 := record(o2[1], sharedUserCode, sharedEmail, mark+"-pw-shared", onlyEmail, mark+"-pw-2")
	ld := record(o2[2], sharedKeyCode)

	act := func(l *tnLicense, hw, user string, nv ...any) *tnDevice {
		t.Helper()
		req := client.ActivateRequest{
			Identity: client.Identity{Product: l.code, HardwareID: hw},
			OSVer:    mark + " os", Hostname: mark + "-host", IP: "10.0.0.1", MACAddress: "00:11:22:33:44:55",
			AppVer: mark + "-app", SDKVer: mark + "-sdk", IsVM: ptr(true), VMInfo: mark + "-vm",
			Variables: trackReq(client.Identity{}, nv...).Variables,
		}
		if user != "" {
			req.Username, req.Password = user, l.users[user]
		} else {
			req.LicenseKey = l.key
		}
		got, err := tn.c.ActivateLicense(ctx(), req)
		if err != nil {
			t.Fatalf("%s: activate %s on %s: %v", name, hw, l.code, err)
		}
		if got.Company.ID != cr.CompanyID {
			t.Fatalf("%s: activation answered for company %d", name, got.Company.ID)
		}
		d := &tnDevice{id: got.DeviceID, hw: hw, user: user, active: true}
		l.devices = append(l.devices, d)
		l.active = true
		return d
	}
	ident := func(l *tnLicense, d *tnDevice) client.Identity {
		return client.Identity{Product: l.code, HardwareID: d.hw, LicenseKey: l.key, Username: d.user}
	}

	hw1 := act(lk1, mark+"-hw-1", "", mark+"-var", mark+"-value-1")
	hw2 := act(lk1, mark+"-hw-2", "", mark+"-var", mark+"-value-bl")
	act(lk1, sharedHW, "", mark+"-var", mark+"-value-common")
	hw3 := act(lk1, mark+"-hw-3", "")
	act(lk2, mark+"-hw-s1", "", mark+"-var", mark+"-value-s1")
	act(lk2, sharedHW, "")
	act(lk3, mark+"-hw-s2", "")
	hwu1 := act(lu1, mark+"-hw-u1", userEmail, mark+"-var", mark+"-value-u1")
	act(lu2, mark+"-hw-u2", sharedEmail, mark+"-var", mark+"-value-u2")
	act(lu2, mark+"-hw-u3", onlyEmail)
	act(ld, mark+"-hw-d1", "", mark+"-var", mark+"-value-d1")

	// A blacklisted device, a deactivated device, a disabled license.
	var msg struct{ Message string }
	tn.m.call("POST", fmt.Sprintf("/api/v1/devices/%d/blacklist/", hw2.id), nil, 200, &msg)
	hw2.blacklisted = true
	if err := tn.c.DeactivateLicense(ctx(), deactReq(ident(lk1, hw3))); err != nil {
		t.Fatalf("%s: deactivate: %v", name, err)
	}
	hw3.active = false
	tn.m.call("POST", fmt.Sprintf("/api/v1/licenses/%d/disable/", ld.id), nil, 200, nil)
	ld.enabled = false

	// More variables and a last-check stamp.
	if _, err := tn.c.TrackDeviceVariables(ctx(), trackReq(ident(lk1, hw1), mark+"-var2", mark+"-value-2")); err != nil {
		t.Fatalf("%s: track: %v", name, err)
	}
	if _, err := tn.c.TrackDeviceVariables(ctx(), trackReq(ident(lu1, hwu1), mark+"-var2", mark+"-value-u1-2")); err != nil {
		t.Fatalf("%s: track: %v", name, err)
	}
	for _, id := range []client.Identity{ident(lk1, hw1), ident(lu1, hwu1)} {
		if _, err := tn.c.CheckLicense(ctx(), checkReq(id)); err != nil {
			t.Fatalf("%s: check: %v", name, err)
		}
	}

	// Further API keys: a full one, a read-only one and a revoked one.
	var extra, ro, revoked tnKey
	tn.m.call("POST", "/api/v1/api-keys/", nil, 201, &extra)
	tn.m.call("POST", "/api/v1/api-keys/", map[string]any{"read_only": true}, 201, &ro)
	tn.m.call("POST", "/api/v1/api-keys/", nil, 201, &revoked)
	tn.m.call("POST", fmt.Sprintf("/api/v1/api-keys/%d/revoke/", revoked.ID), nil, 200, nil)
	tn.extra = newClient(t, s, extra.APIKey, extra.SharedKey, cr.PublicKey)
	tn.ro = newClient(t, s, ro.APIKey, ro.SharedKey, cr.PublicKey)
	for _, k := range []tnKey{extra, ro, revoked} {
		tn.secrets = append(tn.secrets, k.APIKey, k.SharedKey)
	}
	return tn
}

// loadIDs reads the ids of every row of the company, per table, from the database.
func (tn *tenant) loadIDs(t *testing.T, s *server) {
	t.Helper()
	path := strings.TrimPrefix(s.db, "sqlite:")
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tn.ids = map[string][]int64{}
	for _, table := range []string{"products", "orders", "licenses", "license_users", "devices", "api_keys", "management_keys"} {
		rows, err := db.Query(fmt.Sprintf(`SELECT id FROM %s WHERE company_id = ? ORDER BY id`, table), tn.cr.CompanyID)
		if err != nil {
			t.Fatalf("ids of %s: %v", table, err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			tn.ids[table] = append(tn.ids[table], id)
		}
		rows.Close()
		if len(tn.ids[table]) == 0 {
			t.Fatalf("company %s has no %s", tn.name, table)
		}
	}
}

// leak returns what of the victim's data a body shows, or "".
func (tn *tenant) leak(body []byte) string {
	if bytes.Contains(bytes.ToLower(body), []byte(tn.mark)) {
		return tn.mark
	}
	for _, s := range tn.secrets {
		if bytes.Contains(body, []byte(s)) {
			return s
		}
	}
	return ""
}

// view is everything the company sees of itself through its management key.
func (tn *tenant) view(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	get := func(path string) {
		b.WriteString(path + "\n")
		b.Write(tn.m.call("GET", path, nil, 200, nil))
		b.WriteString("\n")
	}
	get("/api/v1/products/?limit=100")
	get("/api/v1/licenses/?limit=100")
	get("/api/v1/devices/?limit=100")
	get("/api/v1/audit-log/?limit=100")
	for _, id := range tn.ids["products"] {
		get(fmt.Sprintf("/api/v1/products/%d/", id))
	}
	for _, id := range tn.ids["licenses"] {
		get(fmt.Sprintf("/api/v1/licenses/%d/", id))
		get(fmt.Sprintf("/api/v1/devices/?license=%d&limit=100", id))
	}
	for _, id := range tn.ids["devices"] {
		get(fmt.Sprintf("/api/v1/devices/%d/", id))
		get(fmt.Sprintf("/api/v1/device-variables/?device=%d&limit=100", id))
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// License API attempts

var lapiEndpoints = []string{"activate_license", "deactivate_license", "check_license", "track_device_variables", "get_device_variables"}

type lapiAttempt struct {
	what                          string
	ep                            string
	code, hw, key, user, password string
	licID                         int64
}

func (a lapiAttempt) String() string {
	return fmt.Sprintf("%s %s product=%q hw=%q key=%q user=%q license_id=%d", a.what, a.ep, a.code, a.hw, a.key, a.user, a.licID)
}

func (a lapiAttempt) send(t *testing.T, c *client.Client) *client.Response {
	t.Helper()
	var r *client.Response
	var err error
	if a.ep == "check_license" || a.ep == "get_device_variables" {
		q := url.Values{"product": {a.code}, "hardware_id": {a.hw}}
		if a.key != "" {
			q.Set("license_key", a.key)
		}
		if a.user != "" {
			q.Set("username", a.user)
		}
		if a.licID != 0 {
			q.Set("license_id", fmt.Sprint(a.licID))
		}
		r, err = c.Do(ctx(), http.MethodGet, a.ep, q, nil)
	} else {
		body := map[string]any{"product": a.code, "hardware_id": a.hw, "variables": map[string]any{"attack": "x"}}
		if a.key != "" {
			body["license_key"] = a.key
		}
		if a.user != "" {
			body["username"] = a.user
		}
		if a.password != "" {
			body["password"] = a.password
		}
		if a.licID != 0 {
			body["license_id"] = a.licID
		}
		if a.ep == "activate_license" {
			body["os_ver"], body["hostname"] = "attacker os", "attacker-host"
		}
		r, err = c.Do(ctx(), http.MethodPost, a.ep, nil, body)
	}
	if err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	return r
}

// expect is the error the attacker's License API answers an attempt with, following
// licensing.resolve's order over the attacker's own data; "" when the attempt would
// reach one of the attacker's own devices (those are not cross-tenant and are skipped).
func (x *tenant) expect(t *testing.T, a lapiAttempt) string {
	t.Helper()
	p := x.products[a.code]
	if p == nil {
		return "unknown_product"
	}
	var cands []*tnLicense
	if p.user {
		email := strings.ToLower(strings.TrimSpace(a.user))
		find := func(e string) {
			for _, l := range x.licenses {
				if _, ok := l.users[e]; ok && l.code == p.code {
					cands = append(cands, l)
				}
			}
		}
		find(email)
		if base, _, cut := strings.Cut(email, "|"); len(cands) == 0 && cut && base != "" {
			find(base)
			email = base
		}
		var ls []*tnLicense
		for _, l := range cands {
			if (a.licID == 0 || l.id == a.licID) && (a.ep != "activate_license" || l.users[email] == a.password) {
				ls = append(ls, l)
			}
		}
		cands = ls
	} else {
		for _, l := range x.licenses {
			if l.code == p.code && l.key == a.key && (a.licID == 0 || l.id == a.licID) {
				cands = append(cands, l)
			}
		}
	}
	if len(cands) == 0 {
		return "license_not_found"
	}
	if len(cands) > 1 {
		t.Fatalf("test data: %s matches %d licenses of %s", a, len(cands), x.name)
	}
	l := cands[0]
	if a.ep == "activate_license" {
		return "" // would activate on the attacker's own license
	}
	d := l.device(a.hw)
	switch {
	case !l.active:
		return "license_not_active"
	case !l.enabled:
		return "license_not_enabled"
	case d == nil:
		return "device_not_found"
	case d.blacklisted:
		return "blacklisted"
	case !d.active:
		return "device_not_found"
	}
	return ""
}

// identities returns the License API identities of a license: each of its devices and
// a device it never had, each by every user (user-based).
func (l *tnLicense) identities(user bool, never string) []lapiAttempt {
	var out []lapiAttempt
	hws := []string{never}
	for _, d := range l.devices {
		hws = append(hws, d.hw)
	}
	for _, hw := range hws {
		if !user {
			out = append(out, lapiAttempt{code: l.code, hw: hw, key: l.key})
			continue
		}
		for _, e := range l.emails() {
			out = append(out, lapiAttempt{code: l.code, hw: hw, user: e, password: l.users[e]})
		}
	}
	if user && len(l.devices) > 0 {
		e := l.emails()[0]
		hw := l.devices[0].hw
		out = append(out,
			lapiAttempt{code: l.code, hw: hw, user: strings.ToUpper(e), password: l.users[e]},
			lapiAttempt{code: l.code, hw: hw, user: e + "|suffix", password: l.users[e]})
	}
	return out
}

// own is the identity of the license's first device, as its company would send it.
func (l *tnLicense) own() lapiAttempt {
	d := l.devices[0]
	return lapiAttempt{code: l.code, hw: d.hw, key: l.key, user: d.user, password: l.users[d.user]}
}

// lapiAttempts lists what attacker x tries against victim y.
func lapiAttempts(x, y *tenant) []lapiAttempt {
	var out []lapiAttempt
	add := func(what string, a lapiAttempt) {
		for _, ep := range lapiEndpoints {
			a.what, a.ep = what, ep
			out = append(out, a)
		}
	}
	// The victim's identities as they are, and pinned to the victim's license.
	for _, l := range y.licenses {
		for _, a := range l.identities(y.products[l.code].user, y.mark+"-hw-never") {
			add("victim identity", a)
			a.licID = l.id
			add("victim identity + victim license_id", a)
		}
	}
	// The attacker's own identities pinned to the victim's licenses, and with the
	// victim's hardware ids.
	var yHWs []string
	for _, l := range y.licenses {
		for _, d := range l.devices {
			if !slices.Contains(yHWs, d.hw) {
				yHWs = append(yHWs, d.hw)
			}
		}
	}
	for _, xl := range x.licenses {
		own := xl.own()
		for _, yl := range y.licenses {
			a := own
			a.licID = yl.id
			add("own identity + victim license_id", a)
		}
		for _, hw := range yHWs {
			a := own
			a.hw = hw
			add("own license + victim hardware_id", a)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// The test

type tenantRun struct {
	t        *testing.T
	s        *server
	attempts int
	skipped  int
}

// lapi sends one cross-tenant License API attempt with client c of attacker x.
func (r *tenantRun) lapi(x, y *tenant, c *client.Client, a lapiAttempt, want string) {
	r.t.Helper()
	res := a.send(r.t, c)
	r.attempts++
	r.checkLAPI(y, a.String(), res, want)
}

func (r *tenantRun) checkLAPI(y *tenant, what string, res *client.Response, want string) {
	r.t.Helper()
	if l := y.leak(res.Body); l != "" {
		r.t.Errorf("LEAK: %s: answer shows %q of company %s: %s", what, l, y.name, res.Body)
	}
	if res.Status == http.StatusOK {
		r.t.Errorf("%s: HTTP 200 %.300s, want %s", what, res.Body, want)
		return
	}
	wantRespErr(r.t, what, res, 400, want)
	if res.Signature() != "" {
		r.t.Errorf("%s: error answer carries a LicenseSignature", what)
	}
}

// lapiAll runs every License API attempt of x against y.
func (r *tenantRun) lapiAll(x, y *tenant) {
	for _, a := range lapiAttempts(x, y) {
		want := x.expect(r.t, a)
		if want == "" {
			r.skipped++
			continue
		}
		r.lapi(x, y, x.c, a, want)
		if a.what == "victim identity" {
			r.lapi(x, y, x.extra, a, want)
			if a.ep == "check_license" || a.ep == "get_device_variables" {
				r.lapi(x, y, x.ro, a, want)
			}
		}
	}
	// Key pairs do not mix across companies: x's api key with y's shared key and the
	// other way round.
	ya, xa := y.licenses[0].own(), x.licenses[0].own()
	for _, c := range []*client.Client{
		newClient(r.t, r.s, x.cr.APIKey, y.cr.SharedKey, x.cr.PublicKey),
		newClient(r.t, r.s, y.cr.APIKey, x.cr.SharedKey, x.cr.PublicKey),
	} {
		for _, ep := range lapiEndpoints {
			for _, a := range []lapiAttempt{ya, xa} {
				a.ep, a.what = ep, "mixed key pair"
				r.lapi(x, y, c, a, "signature_mismatch")
			}
		}
	}
}

// mgmtTry sends a management request of x naming one of y's ids and requires the
// answer to be status/code and byte-identical to the answer for an id no company has.
func (r *tenantRun) mgmtTry(x, y *tenant, method, pathFmt string, id int64, body any, status int, code string) {
	r.t.Helper()
	path := fmt.Sprintf(pathFmt, id)
	st, b := x.m.do(method, path, body)
	r.attempts++
	what := fmt.Sprintf("%s: %s %s %s", x.name, method, path, jsonStr(body))
	if l := y.leak(b); l != "" {
		r.t.Errorf("LEAK: %s: answer shows %q of company %s: %s", what, l, y.name, b)
	}
	if st != status {
		r.t.Errorf("%s (id of company %s): status %d, want %d; body %s", what, y.name, st, status, b)
		return
	}
	var e mgmtErr
	if err := json.Unmarshal(b, &e); err != nil || e.Code != code || e.Status != status {
		r.t.Errorf("%s: body %s, want code %s", what, b, code)
	}
	st0, b0 := x.m.do(method, fmt.Sprintf(pathFmt, int64(999999999999)), body)
	if st0 != st || !bytes.Equal(b0, b) {
		r.t.Errorf("%s: answer for company %s's id differs from the answer for an id nobody has:\n%d %s\n%d %s", what, y.name, st, b, st0, b0)
	}
}

// mgmtList lists with x's key; every row must be x's own, and count bounds the total.
func (r *tenantRun) mgmtList(x, y *tenant, path, table string, wantCount int) {
	r.t.Helper()
	st, b := x.m.do("GET", path, nil)
	r.attempts++
	what := fmt.Sprintf("%s: GET %s", x.name, path)
	if l := y.leak(b); l != "" {
		r.t.Errorf("LEAK: %s: answer shows %q of company %s: %s", what, l, y.name, b)
	}
	if st != 200 {
		r.t.Errorf("%s: status %d: %s", what, st, b)
		return
	}
	var pg page[struct {
		ID int64 `json:"id"`
	}]
	if err := json.Unmarshal(b, &pg); err != nil {
		r.t.Errorf("%s: %v: %s", what, err, b)
		return
	}
	for _, row := range pg.Results {
		if slices.Contains(y.ids[table], row.ID) {
			r.t.Errorf("LEAK: %s lists %s %d of company %s: %s", what, table, row.ID, y.name, b)
		} else if !slices.Contains(x.ids[table], row.ID) {
			r.t.Errorf("%s lists %s %d, not one of company %s's", what, table, row.ID, x.name)
		}
	}
	if int(pg.Count) != len(pg.Results) || (wantCount >= 0 && int(pg.Count) != wantCount) {
		r.t.Errorf("%s: count %d, %d results, want %d", what, pg.Count, len(pg.Results), wantCount)
	}
}

// auditTables maps the audit log's object types to tables.
var auditTables = map[string]string{"product": "products", "order": "orders", "license": "licenses", "device": "devices", "api_key": "api_keys"}

// auditList pages through x's audit log at path; every entry must be about x's own
// objects and made by x's own actors, and count bounds the total (-1: any).
func (r *tenantRun) auditList(x, y *tenant, path string, count int) int {
	r.t.Helper()
	total := 0
	for next := path; next != ""; {
		st, b := x.m.do("GET", next, nil)
		r.attempts++
		what := fmt.Sprintf("%s: GET %s", x.name, next)
		if l := y.leak(b); l != "" {
			r.t.Errorf("LEAK: %s: answer shows %q of company %s: %s", what, l, y.name, b)
		}
		if st != 200 {
			r.t.Errorf("%s: status %d: %s", what, st, b)
			return total
		}
		var pg page[struct {
			ObjectType string `json:"object_type"`
			ObjectID   int64  `json:"object_id"`
			Actor      string `json:"actor"`
		}]
		if err := json.Unmarshal(b, &pg); err != nil {
			r.t.Errorf("%s: %v: %s", what, err, b)
			return total
		}
		for _, e := range pg.Results {
			own := e.ObjectType == "company" && e.ObjectID == x.cr.CompanyID ||
				auditTables[e.ObjectType] != "" && slices.Contains(x.ids[auditTables[e.ObjectType]], e.ObjectID)
			if !own {
				r.t.Errorf("LEAK: %s shows an entry about %s %d, not one of company %s's: %s", what, e.ObjectType, e.ObjectID, x.name, b)
			}
			if id, ok := strings.CutPrefix(e.Actor, "management_key:"); ok && !slices.Contains(x.ids["management_keys"], mustInt(r.t, id)) {
				r.t.Errorf("LEAK: %s shows an entry by %s, not one of company %s's keys", what, e.Actor, x.name)
			}
		}
		total += len(pg.Results)
		if count >= 0 && int(pg.Count) != count {
			r.t.Errorf("%s: count %d, want %d", what, pg.Count, count)
		}
		next = ""
		if pg.Next != nil {
			u, err := url.Parse(*pg.Next)
			if err != nil {
				r.t.Fatalf("%s: next %q: %v", what, *pg.Next, err)
			}
			next = u.RequestURI()
		}
	}
	if count > 0 && total != count {
		r.t.Errorf("%s: %d entries over all pages, want %d", path, total, count)
	}
	return total
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not an integer: %q", s)
	}
	return n
}

// mgmtAll runs every management attempt of x against y: every route of
// internal/manageapi (and the unrouted methods and paths next to them) with y's ids.
func (r *tenantRun) mgmtAll(x, y *tenant) {
	const nf, mna = "not_found", "method_not_allowed"
	for _, id := range y.ids["products"] {
		r.mgmtTry(x, y, "GET", "/api/v1/products/%d/", id, nil, 404, nf)
		for _, m := range []string{"PATCH", "PUT", "DELETE", "POST"} {
			r.mgmtTry(x, y, m, "/api/v1/products/%d/", id, map[string]any{"product_name": "stolen"}, 405, mna)
		}
	}
	for _, id := range y.ids["licenses"] {
		r.mgmtTry(x, y, "GET", "/api/v1/licenses/%d/", id, nil, 404, nf)
		for _, body := range []map[string]any{
			{"enabled": false}, {"enabled": true}, {"max_activations": 0}, {"max_activations": 1000, "allow_unlimited_activations": true},
			{"validity_period": "2000-01-01 00:00:00"}, {"validity_period": nil}, {},
		} {
			r.mgmtTry(x, y, "PATCH", "/api/v1/licenses/%d/", id, body, 404, nf)
		}
		r.mgmtTry(x, y, "PUT", "/api/v1/licenses/%d/", id, map[string]any{"enabled": false}, 405, mna)
		r.mgmtTry(x, y, "DELETE", "/api/v1/licenses/%d/", id, nil, 405, mna)
		for _, action := range []string{"enable", "disable", "reset"} {
			r.mgmtTry(x, y, "POST", "/api/v1/licenses/%d/"+action+"/", id, nil, 404, nf)
			r.mgmtTry(x, y, "GET", "/api/v1/licenses/%d/"+action+"/", id, nil, 405, mna)
		}
		r.mgmtList(x, y, fmt.Sprintf("/api/v1/devices/?license=%d&limit=100", id), "devices", 0)
		r.mgmtList(x, y, fmt.Sprintf("/api/v1/devices/?license=%d&blacklisted=true", id), "devices", 0)
	}
	for _, id := range y.ids["devices"] {
		r.mgmtTry(x, y, "GET", "/api/v1/devices/%d/", id, nil, 404, nf)
		r.mgmtTry(x, y, "DELETE", "/api/v1/devices/%d/", id, nil, 405, mna)
		r.mgmtTry(x, y, "PATCH", "/api/v1/devices/%d/", id, map[string]any{"blacklisted": false}, 405, mna)
		for _, action := range []string{"blacklist", "unblacklist", "reset"} {
			r.mgmtTry(x, y, "POST", "/api/v1/devices/%d/"+action+"/", id, nil, 404, nf)
			r.mgmtTry(x, y, "GET", "/api/v1/devices/%d/"+action+"/", id, nil, 405, mna)
		}
		r.mgmtTry(x, y, "GET", "/api/v1/device-variables/?device=%d", id, nil, 404, nf)
		r.mgmtTry(x, y, "GET", "/api/v1/device-variables/?device=%d&limit=100&offset=0", id, nil, 404, nf)
	}
	for _, id := range y.ids["api_keys"] {
		r.mgmtTry(x, y, "POST", "/api/v1/api-keys/%d/revoke/", id, nil, 404, nf)
		r.mgmtTry(x, y, "GET", "/api/v1/api-keys/%d/revoke/", id, nil, 405, mna)
		r.mgmtTry(x, y, "DELETE", "/api/v1/api-keys/%d/", id, nil, 404, nf)
	}
	for _, id := range y.ids["orders"] {
		r.mgmtTry(x, y, "GET", "/api/v1/orders/%d/", id, nil, 404, nf)
	}

	// create_order naming y's products (and y's order id) is refused as for a product
	// nobody has, and creates nothing.
	for code, p := range y.products {
		if x.products[code] != nil {
			continue // x's own product of the same code: phase two
		}
		lic := map[string]any{"max_activations": 1}
		if p.user {
			lic["users"] = []any{map[string]any{"email": "attacker@example.com", "password": "pw"}}
		}
		for _, storeID := range y.storeIDs {
			if slices.Contains(x.storeIDs, storeID) {
				continue // x's own order id: order_id_exists, about x
			}
			for _, pc := range []string{code, "no-such-product-zz"} {
				body := map[string]any{"id": storeID, "customer": map[string]any{"email": "attacker@example.com"},
					"items": []any{map[string]any{"product_code": pc, "licenses": []any{lic}}}}
				st, b := x.m.do("POST", "/api/v1/orders/create_order/", body)
				r.attempts++
				what := fmt.Sprintf("%s: create_order %s", x.name, jsonStr(body))
				checkMgmtErr(r.t, what, st, b, 400, "validation_error", "items[0].product_code")
				if l := y.leak([]byte(strings.ReplaceAll(string(b), pc, "<sent>"))); l != "" {
					r.t.Errorf("LEAK: %s: answer shows %q: %s", what, l, b)
				}
			}
		}
	}

	// Lists show only x's rows, whatever filter names y's data.
	r.mgmtList(x, y, "/api/v1/products/?limit=100", "products", len(x.ids["products"]))
	r.mgmtList(x, y, "/api/v1/licenses/?limit=100", "licenses", len(x.ids["licenses"]))
	r.mgmtList(x, y, "/api/v1/devices/?limit=100", "devices", len(x.ids["devices"]))
	r.mgmtList(x, y, "/api/v1/devices/?blacklisted=true&limit=100", "devices", 1)
	r.mgmtList(x, y, "/api/v1/api-keys/?limit=100", "api_keys", len(x.ids["api_keys"]))
	for _, l := range y.licenses {
		if l.key != "" {
			r.mgmtList(x, y, "/api/v1/licenses/?license_key="+url.QueryEscape(l.key), "licenses", -1)
		}
		for _, d := range l.devices {
			r.mgmtList(x, y, "/api/v1/devices/?hardware_id="+url.QueryEscape(d.hw), "devices", -1)
		}
	}
	for code := range y.products {
		want := 0
		if x.products[code] != nil {
			want = -1
		}
		r.mgmtList(x, y, "/api/v1/licenses/?product_short_code="+url.QueryEscape(code), "licenses", want)
	}

	// The audit log shows only x's entries, whatever filter names y's objects.
	for typ, table := range auditTables {
		for _, id := range y.ids[table] {
			r.auditList(x, y, fmt.Sprintf("/api/v1/audit-log/?object_type=%s&object_id=%d", typ, id), 0)
		}
	}
	r.auditList(x, y, fmt.Sprintf("/api/v1/audit-log/?object_type=company&object_id=%d", y.cr.CompanyID), 0)
	for _, id := range y.ids["licenses"] {
		r.auditList(x, y, fmt.Sprintf("/api/v1/audit-log/?object_id=%d", id), -1) // may match x's objects of another type
	}
	if n := r.auditList(x, y, "/api/v1/audit-log/?limit=7", -1); n < 20 {
		r.t.Errorf("%s's audit log has %d entries; the seed made more", x.name, n)
	}
	for _, action := range []string{"device.activate", "device.deactivate", "device.blacklist", "license.update", "api_key.revoke", "company.create"} {
		r.auditList(x, y, "/api/v1/audit-log/?limit=100&action="+action, -1)
	}

	// A management key made of one company's prefix and the other's secret is refused.
	xp, _, _ := strings.Cut(x.cr.ManagementKey, ".")
	_, ys, _ := strings.Cut(y.cr.ManagementKey, ".")
	for _, key := range []string{xp + "." + ys, y.cr.APIKey, y.cr.SharedKey} {
		st, b := rawMgmt(r.t, r.s.root, "Api-Key "+key, "GET", fmt.Sprintf("/api/v1/licenses/%d/", y.ids["licenses"][0]), nil)
		r.attempts++
		checkMgmtErr(r.t, x.name+": mixed management key", st, b, 401, "unauthorized", "")
	}
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	cr, err := runCLI("company", "create", "--db", s.db, "--name", "B", "--json")
	if err != nil || cr.exit != 0 {
		t.Fatalf("company create: exit %d err %v stderr %s", cr.exit, err, cr.stderr)
	}
	credsB, err := parseCreds(cr.stdout)
	if err != nil {
		t.Fatal(err)
	}
	if credsB.CompanyID == s.creds.CompanyID {
		t.Fatalf("company B has company A's id %d", credsB.CompanyID)
	}
	a := seedTenant(t, s, "A", s.creds)
	b := seedTenant(t, s, "B", credsB)
	a.loadIDs(t, s)
	b.loadIDs(t, s)
	for _, table := range []string{"products", "licenses", "devices", "api_keys", "orders"} {
		for _, id := range a.ids[table] {
			if slices.Contains(b.ids[table], id) {
				t.Fatalf("%s id %d belongs to both companies", table, id)
			}
		}
	}

	settle()
	before := dbSnapshot(t, s)
	viewA, viewB := a.view(t), b.view(t)

	r := &tenantRun{t: t, s: s}
	for _, pair := range [][2]*tenant{{b, a}, {a, b}} {
		x, y := pair[0], pair[1]
		r.lapiAll(x, y)
		r.mgmtAll(x, y)
	}
	t.Logf("%d cross-tenant attempts (License API and management API, both directions); %d generated License API attempts skipped as they reach the attacker's own devices", r.attempts, r.skipped)

	settle()
	wantSnapshotUnchanged(t, "cross-tenant attempts", before, dbSnapshot(t, s))
	if got := a.view(t); got != viewA {
		t.Errorf("company A's own view changed:\nbefore %s\nafter  %s", viewA, got)
	}
	if got := b.view(t); got != viewB {
		t.Errorf("company B's own view changed:\nbefore %s\nafter  %s", viewB, got)
	}

	// Phase two: uniqueness is per company. B may create a product with A's short code
	// and an order with A's order id and one of A's license keys; A sees no change.
	var pb product
	b.m.call("POST", "/api/v1/products/", map[string]any{"product_name": "B copy", "short_code": a.mark + "-key"}, 201, &pb)
	ld := a.licenses[len(a.licenses)-1] // A's disabled license
	var o orderResp
	b.m.call("POST", "/api/v1/orders/create_order/", map[string]any{"id": a.storeIDs[1],
		"items": []any{map[string]any{"product_code": a.mark + "-key", "licenses": []any{map[string]any{"key": ld.key, "max_activations": 1}}}}}, 201, &o)
	if len(o.Licenses) != 1 || o.Licenses[0].ID == ld.id || o.Licenses[0].Product != pb.ID {
		t.Fatalf("B's order with A's order id and key: %+v", o)
	}
	hw := ld.devices[0].hw // A's device on that key
	_, err = b.c.CheckLicense(ctx(), checkReq(client.Identity{Product: pb.ShortCode, HardwareID: hw, LicenseKey: ld.key}))
	wantAPIErr(t, "B checks its new license on A's hardware id", err, 400, "license_not_active")
	got, err := b.c.ActivateLicense(ctx(), activateReq(client.Identity{Product: pb.ShortCode, HardwareID: hw, LicenseKey: ld.key}))
	if err != nil {
		t.Fatalf("B activates its own license with A's key and hardware id: %v", err)
	}
	if got.Company.ID != b.cr.CompanyID || got.ID != o.Licenses[0].ID || got.ProductDetails.ProductID != pb.ID || got.ProductDetails.ProductName != "B copy" {
		t.Errorf("B's activation shows another license: %s", got.Raw)
	}
	if l := a.leak(got.Raw); l != "" && l != a.mark {
		t.Errorf("LEAK: B's activation shows %q of A: %s", l, got.Raw)
	}
	if gotA := a.view(t); gotA != viewA {
		t.Errorf("company A's view changed after B reused its identifiers:\nbefore %s\nafter  %s", viewA, gotA)
	}
	// A key B creates now reaches none of A's products either.
	var nk tnKey
	b.m.call("POST", "/api/v1/api-keys/", nil, 201, &nk)
	lu1 := a.licenses[3].own()
	_, err = newClient(t, s, nk.APIKey, nk.SharedKey, b.cr.PublicKey).CheckLicense(ctx(),
		checkReq(client.Identity{Product: lu1.code, HardwareID: lu1.hw, Username: lu1.user}))
	wantAPIErr(t, "B's new key checks A's user-based license", err, 400, "unknown_product")

	// A's licenses still answer A's own calls as before.
	_, err = a.c.CheckLicense(ctx(), checkReq(client.Identity{Product: ld.code, HardwareID: hw, LicenseKey: ld.key}))
	wantAPIErr(t, "A's disabled license", err, 400, "license_not_enabled")
	lk1 := a.licenses[0]
	chk, err := a.c.CheckLicense(ctx(), checkReq(client.Identity{Product: lk1.code, HardwareID: lk1.devices[0].hw, LicenseKey: lk1.key}))
	if err != nil || chk.Company.ID != a.cr.CompanyID || chk.ID != lk1.id {
		t.Errorf("A's check after the attempts: %v %+v", err, chk)
	}
	_, err = a.c.CheckLicense(ctx(), checkReq(client.Identity{Product: lk1.code, HardwareID: lk1.devices[1].hw, LicenseKey: lk1.key}))
	wantAPIErr(t, "A's blacklisted device", err, 400, "blacklisted")

	for _, bad := range []string{"panic", "internal error"} {
		if out := s.stderr.String(); strings.Contains(out, bad) {
			t.Errorf("server output contains %q:\n%s", bad, out)
		}
	}
}

// tenantRoutes are the management routes TestTenantIsolation tries (mgmtAll).
var tenantRoutes = []string{
	"GET /api/v1/products/{$}", "POST /api/v1/products/{$}", "GET /api/v1/products/{id}/{$}",
	"POST /api/v1/orders/create_order/{$}",
	"GET /api/v1/licenses/{$}", "GET /api/v1/licenses/{id}/{$}", "PATCH /api/v1/licenses/{id}/{$}",
	"POST /api/v1/licenses/{id}/enable/{$}", "POST /api/v1/licenses/{id}/disable/{$}", "POST /api/v1/licenses/{id}/reset/{$}",
	"GET /api/v1/devices/{$}", "GET /api/v1/devices/{id}/{$}",
	"POST /api/v1/devices/{id}/blacklist/{$}", "POST /api/v1/devices/{id}/unblacklist/{$}", "POST /api/v1/devices/{id}/reset/{$}",
	"GET /api/v1/device-variables/{$}",
	"GET /api/v1/api-keys/{$}", "POST /api/v1/api-keys/{$}", "POST /api/v1/api-keys/{id}/revoke/{$}",
	"GET /api/v1/audit-log/{$}",
}

// TestTenantRoutesCovered keeps TestTenantIsolation complete: a route added to either
// API fails here until the isolation test tries it with the other company's ids.
func TestTenantRoutesCovered(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../internal/manageapi/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("manageapi sources: %v", err)
	}
	var src []byte
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, b...)
	}
	var routes []string
	for _, m := range regexp.MustCompile(`"((?:GET|POST|PATCH|PUT|DELETE) /api/v1/[^"]*)"`).FindAllSubmatch(src, -1) {
		routes = append(routes, string(m[1]))
	}
	check := func(api string, routes, covered []string) {
		if len(routes) == 0 {
			t.Fatalf("no %s routes found in the sources", api)
		}
		for _, r := range routes {
			if !slices.Contains(covered, r) {
				t.Errorf("%s route %q is not tried by TestTenantIsolation: add it to the cross-tenant attempts", api, r)
			}
		}
		for _, c := range covered {
			if !slices.Contains(routes, c) {
				t.Errorf("%s route %q is tried by TestTenantIsolation but no longer exists", api, c)
			}
		}
	}
	check("management", routes, tenantRoutes)

	b, err := os.ReadFile("../internal/licenseapi/api.go")
	if err != nil {
		t.Fatal(err)
	}
	var eps []string
	for _, m := range regexp.MustCompile(`"([a-z_]+)":\s*\{http\.Method`).FindAllSubmatch(b, -1) {
		eps = append(eps, string(m[1]))
	}
	check("License API", eps, lapiEndpoints)
}
