package e2e

// The bad-input matrix: hundreds of malformed or hostile requests against every License
// API endpoint and every management endpoint. Each must be answered with a 4xx in the
// API's documented error shape — never a 5xx, never a panic — and none may change the
// database. A few hostile-looking inputs that are legitimately data (SQL text inside a
// variable value, …) are in a separate table that runs after the no-change comparison
// and checks that they round-trip verbatim (badinput_accepted_test.go).

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/client"
)

// errShape is the error body a case must be answered with.
type errShape int

const (
	licenseShape errShape = iota // License API: exactly {status, code, message}
	mgmtShape                    // management API: {status, code, detail, field?}
	// netHTTPShape: net/http itself refuses the request before any licensor handler runs
	// (malformed request line, NUL in a header, …) and answers in plain text; only the
	// 4xx status is checked.
	netHTTPShape
)

// answer is a raw HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// badCase is one malformed or hostile request.
type badCase struct {
	group  string // endpoint group, for the counts
	name   string
	shape  errShape
	status int    // exact status wanted; 0: any 4xx
	code   string // wire code wanted; "": any
	head   bool   // HEAD request: no body to check
	send   func(t *testing.T) answer
}

// badMatrix holds the fixtures the cases are built from and the cases themselves.
type badMatrix struct {
	s     *server
	hc    *http.Client
	group string
	cases []badCase

	pk, pu          string // product short codes: key-based, user-based
	pkID            int64
	key, key2       string // license keys: key is active on hw, key2 is not activated
	lkID, lk2ID     int64
	email, password string // the user of the user-based license, active on hwU
	luID            int64
	hw, hwU         string
	devID, devUID   int64
	apiKeyID        int64  // a second (unrevoked) License API key
	storeID         string // an order's store id

	// Another company's objects, for cross-tenant requests.
	other                                 creds
	otherProduct, otherKey                string
	otherLicenseID, otherDevID, otherPrID int64
}

// TestBadInputMatrix fires every malformed request at a dedicated server, checks each
// answer and that the database is unchanged, then runs the accepted-hostile table.
func TestBadInputMatrix(t *testing.T) {
	s := newServer(t)
	m := newBadMatrix(t, s)

	m.licenseAPICases()
	m.mgmtCases()
	m.rawCases()

	settle()
	before := dbSnapshot(t, s)

	perGroup := map[string]int{}
	perGroup5xx := map[string]int{}
	var n5xx int
	for _, c := range m.cases {
		perGroup[c.group]++
		t.Run(c.group+"/"+c.name, func(t *testing.T) {
			a := c.send(t)
			if a.status >= 500 {
				n5xx++
				perGroup5xx[c.group]++
			}
			checkBadAnswer(t, c, a)
		})
	}

	for _, bad := range []string{"panic", "internal error"} {
		if strings.Contains(s.stderr.String(), bad) {
			t.Errorf("server output mentions %q:\n%s", bad, s.stderr.String())
		}
	}
	settle()
	after := dbSnapshot(t, s)
	wantSnapshotUnchanged(t, fmt.Sprintf("%d rejected requests", len(m.cases)), before, after)

	groups := make([]string, 0, len(perGroup))
	for g := range perGroup {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		t.Logf("%-28s %4d inputs, %d 5xx", g, perGroup[g], perGroup5xx[g])
	}
	t.Logf("bad-input matrix: %d inputs tried, %d answered with 5xx", len(m.cases), n5xx)
	if n5xx > 0 {
		t.Errorf("%d bad inputs were answered with a 5xx", n5xx)
	}

	m.acceptedHostile(t)
	if strings.Contains(s.stderr.String(), "panic") {
		t.Errorf("server output mentions a panic:\n%s", s.stderr.String())
	}
}

// checkBadAnswer requires a 4xx in the case's documented shape.
func checkBadAnswer(t *testing.T, c badCase, a answer) {
	t.Helper()
	if a.status < 400 || a.status > 499 {
		t.Errorf("HTTP %d, want a 4xx; body %.300q", a.status, a.body)
		return
	}
	if c.status != 0 && a.status != c.status {
		t.Errorf("HTTP %d, want %d; body %.300q", a.status, c.status, a.body)
	}
	if c.head || c.shape == netHTTPShape {
		return
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json; body %.300q", ct, a.body)
	}
	var code string
	switch c.shape {
	case licenseShape:
		err := client.ErrorOf(&client.Response{Status: a.status, Header: a.header, Body: a.body})
		ae, ok := err.(*client.APIError)
		if !ok {
			t.Errorf("not the License API error shape: %v", err)
			return
		}
		code = ae.Code
	case mgmtShape:
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(a.body, &raw); err != nil {
			t.Errorf("error body is not a JSON object: %.300q", a.body)
			return
		}
		for k := range raw {
			switch k {
			case "status", "code", "detail", "field":
			default:
				t.Errorf("unexpected key %q in management error body %.300q", k, a.body)
			}
		}
		var e struct {
			Status *int    `json:"status"`
			Code   *string `json:"code"`
			Detail *string `json:"detail"`
			Field  *string `json:"field"`
		}
		if err := json.Unmarshal(a.body, &e); err != nil || e.Status == nil || e.Code == nil || e.Detail == nil ||
			*e.Status != a.status || *e.Code == "" || (raw["field"] != nil && (e.Field == nil || *e.Field == "")) {
			t.Errorf("not the management error shape {status=%d, code, detail, field?}: %.300q", a.status, a.body)
			return
		}
		code = *e.Code
		if goTypeRe.MatchString(*e.Detail) {
			t.Errorf("management error detail names a Go type: %.300q", *e.Detail)
		}
		if e.Field != nil && !fieldPathRe.MatchString(*e.Field) {
			t.Errorf("management error field %q is not a path like items[0].licenses[1].key", *e.Field)
		}
	}
	if c.code != "" && code != c.code {
		t.Errorf("code %q, want %q; body %.300q", code, c.code, a.body)
	}
}

var (
	// goTypeRe finds what only a Go type name has.
	goTypeRe = regexp.MustCompile(`struct \{|json:|\[\][a-z*]|map\[|\bu?int(8|16|32|64)?\b|\bfloat(32|64)\b|\bGo\b`)
	// fieldPathRe is the one form of a management error's field: members after a dot,
	// array indices in brackets.
	fieldPathRe = regexp.MustCompile(`^[a-z_]+(\[[0-9]+\])*(\.[a-z_]+(\[[0-9]+\])*)*$`)
)

// ---------------------------------------------------------------------------
// Fixtures

func newBadMatrix(t *testing.T, s *server) *badMatrix {
	t.Helper()
	m := &badMatrix{s: s, hc: &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}

	fk := newFixture(t, s, "license-key")
	m.pk, m.pkID = fk.product.ShortCode, fk.product.ID
	lk := fk.keyLicense(2)
	lk2 := fk.keyLicense(1)
	m.key, m.lkID, m.key2, m.lk2ID = *lk.LicenseKey, lk.ID, *lk2.LicenseKey, lk2.ID
	m.hw = "hw-bad-input"
	fk.activate(fk.keyID(lk, m.hw))
	if _, err := fk.c.TrackDeviceVariables(ctx(), trackReq(fk.keyID(lk, m.hw), "v1", "one", "v2", 2)); err != nil {
		t.Fatal(err)
	}
	m.devID = fk.deviceByHW(lk.ID, m.hw).ID

	fu := newFixture(t, s, "user")
	m.pu = fu.product.ShortCode
	m.email, m.password = uniq("user")+"@example.com", "s3cret-Pass"
	lu := fu.userLicense(m.email, m.password, 2)
	m.luID = lu.ID
	m.hwU = "hw-bad-input-user"
	if _, err := fu.c.ActivateLicense(ctx(), activateUser(fu, m.hwU, m.email, m.password)); err != nil {
		t.Fatal(err)
	}
	if _, err := fu.c.TrackDeviceVariables(ctx(), trackReq(userID(fu, m.hwU, m.email), "u1", "x")); err != nil {
		t.Fatal(err)
	}
	m.devUID = fu.deviceByHW(lu.ID, m.hwU).ID

	m.storeID = uniq("bad-existing-order-")
	fk.m.call("POST", "/api/v1/orders/create_order/", map[string]any{"id": m.storeID,
		"items": []any{map[string]any{"product_code": m.pk, "licenses": []any{map[string]any{}}}}}, 201, nil)
	var k struct {
		ID int64 `json:"id"`
	}
	fk.m.call("POST", "/api/v1/api-keys/", nil, 201, &k)
	m.apiKeyID = k.ID

	// A second company on the same server.
	r, err := runCLI("company", "create", "--name", "Other Co", "--db", s.db, "--json")
	if err != nil || r.exit != 0 {
		t.Fatalf("company create: exit %d err %v stderr %s", r.exit, err, r.stderr)
	}
	if m.other, err = parseCreds(r.stdout); err != nil {
		t.Fatal(err)
	}
	so := &server{db: s.db, root: s.root, creds: m.other}
	fo := newFixture(t, so, "license-key")
	m.otherProduct, m.otherPrID = fo.product.ShortCode, fo.product.ID
	lo := fo.keyLicense(1)
	m.otherKey, m.otherLicenseID = *lo.LicenseKey, lo.ID
	fo.activate(fo.keyID(lo, "hw-other"))
	m.otherDevID = fo.deviceByHW(lo.ID, "hw-other").ID
	return m
}

// ---------------------------------------------------------------------------
// Request builders

// hmacAuth is a valid Authorization value for date under the server's own key.
func (m *badMatrix) hmacAuth(date string) string {
	return `algorithm="hmac-sha256",headers="date",signature="` + client.Sign(m.s.creds.SharedKey, date) + `",apikey="` + m.s.creds.APIKey + `"`
}

// signedHeaders sets a valid Date and Authorization.
func (m *badMatrix) signedHeaders(h http.Header) {
	date := time.Now().UTC().Format(http.TimeFormat)
	h.Set("Date", date)
	h.Set("Authorization", m.hmacAuth(date))
}

func (m *badMatrix) do(t *testing.T, method, u string, body []byte, h http.Header) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatalf("build %s %s: %v", method, u, err)
	}
	req.Header = h
	resp, err := m.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %.200s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %.200s: read answer: %v", method, u, err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

// lreq is a License API request: valid Date and Authorization and, with a body, a JSON
// Content-Type, unless edit changes them.
type lreq struct {
	method, endpoint string
	query            string // raw query, sent verbatim
	body             []byte
	edit             func(h http.Header)
}

func (m *badMatrix) sendL(r lreq) func(t *testing.T) answer {
	return func(t *testing.T) answer {
		h := http.Header{}
		m.signedHeaders(h)
		if r.body != nil {
			h.Set("Content-Type", "application/json")
		}
		if r.edit != nil {
			r.edit(h)
		}
		u := m.s.root + "/api/v4/" + r.endpoint
		if r.query != "" {
			u += "?" + r.query
		}
		return m.do(t, r.method, u, r.body, h)
	}
}

// l adds a License API case.
func (m *badMatrix) l(name string, status int, code string, r lreq) {
	m.cases = append(m.cases, badCase{group: m.group, name: name, shape: licenseShape, status: status, code: code,
		head: r.method == http.MethodHead, send: m.sendL(r)})
}

// mg adds a management API case: a valid Api-Key and, with a body, a JSON Content-Type,
// unless edit changes them.
func (m *badMatrix) mg(name string, status int, code, method, path string, body []byte, edit func(h http.Header)) {
	m.cases = append(m.cases, badCase{group: m.group, name: name, shape: mgmtShape, status: status, code: code,
		head: method == http.MethodHead,
		send: func(t *testing.T) answer {
			h := http.Header{}
			h.Set("Authorization", "Api-Key "+m.s.creds.ManagementKey)
			if body != nil {
				h.Set("Content-Type", "application/json")
			}
			if edit != nil {
				edit(h)
			}
			return m.do(t, method, m.s.root+path, body, h)
		}})
}

// rawExchange writes req on a fresh TCP connection (half-closing it if asked) and reads
// one HTTP answer.
func (m *badMatrix) rawExchange(t *testing.T, req []byte, halfClose bool) answer {
	t.Helper()
	conn, err := net.DialTimeout("tcp", m.s.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Write(req); err != nil {
		t.Fatalf("write: %v", err)
	}
	if halfClose {
		conn.(*net.TCPConn).CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

// raw adds a case sent as raw bytes over TCP, for what net/http's client refuses to send.
func (m *badMatrix) raw(name string, shape errShape, status int, code string, req func() []byte, halfClose bool) {
	m.cases = append(m.cases, badCase{group: m.group, name: name, shape: shape, status: status, code: code,
		send: func(t *testing.T) answer { return m.rawExchange(t, req(), halfClose) }})
}

// rawAuth is the Date and Authorization header lines of a valid License API request.
func (m *badMatrix) rawAuth() string {
	date := time.Now().UTC().Format(http.TimeFormat)
	return "Date: " + date + "\r\nAuthorization: " + m.hmacAuth(date) + "\r\n"
}

// ---------------------------------------------------------------------------
// JSON helpers that keep key order and allow duplicate keys.

type kv struct{ k, v string } // v is raw JSON

type jobj []kv

// set replaces the first k (or appends it) with the raw JSON value v.
func (o jobj) set(k, v string) jobj {
	out := append(jobj(nil), o...)
	for i := range out {
		if out[i].k == k {
			out[i].v = v
			return out
		}
	}
	return append(out, kv{k, v})
}

// del drops every k.
func (o jobj) del(k string) jobj {
	var out jobj
	for _, p := range o {
		if p.k != k {
			out = append(out, p)
		}
	}
	return out
}

// add appends k even if it is already there (a duplicate key).
func (o jobj) add(k, v string) jobj { return append(append(jobj(nil), o...), kv{k, v}) }

func (o jobj) json() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(js(p.k))
		b.WriteByte(':')
		b.WriteString(p.v)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// js is s as a JSON string literal (no HTML escaping; invalid UTF-8 becomes U+FFFD).
func js(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// jsRaw is s in JSON quotes without any escaping: for invalid UTF-8 and raw control bytes.
func jsRaw(s string) string { return `"` + s + `"` }

// nested is n nested JSON arrays.
func nested(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

// nestedObj is n nested JSON objects {"a":{"a":…}}.
func nestedObj(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }

// q builds a raw query from name, value pairs in order (duplicates kept), escaping values.
func q(nv ...string) string {
	var parts []string
	for i := 0; i+1 < len(nv); i += 2 {
		parts = append(parts, url.QueryEscape(nv[i])+"="+url.QueryEscape(nv[i+1]))
	}
	return strings.Join(parts, "&")
}

var (
	long10k = strings.Repeat("n", 10000)
	kib8    = strings.Repeat("A", 8<<10)
)

// hostileStrings are SQL, shell and pattern metacharacters used as identifiers.
var hostileStrings = []struct{ name, v string }{
	{"sql or", `' OR '1'='1`},
	{"sql comment", `x'; --`},
	{"sql drop", `'); DROP TABLE licenses; --`},
	{"sql union", `' UNION SELECT api_key, shared_key FROM api_keys --`},
	{"shell subst", `$(touch /tmp/licensor-pwned)`},
	{"shell backticks", "`id`"},
	{"shell pipe", `| cat /etc/passwd`},
	{"like percent", `%`},
	{"like underscore", `____-____-____-____`},
	{"glob star", `*`},
	{"path traversal", `../../../../etc/passwd`},
	{"nosql", `{"$ne":null}`},
	{"crlf", "a\r\nX-Injected: 1"},
}

// ---------------------------------------------------------------------------
// License API cases

func (m *badMatrix) licenseAPICases() {
	keyQuery := func() []string { return []string{"product", m.pk, "hardware_id", m.hw, "license_key", m.key} }
	userQuery := func() []string { return []string{"product", m.pu, "hardware_id", m.hwU, "username", m.email} }

	// Valid bodies: each request below differs from one of them in one way.
	activateKey := jobj{{"product", js(m.pk)}, {"hardware_id", js("hw-bad-new")}, {"license_key", js(m.key2)}}
	activateUser := jobj{{"product", js(m.pu)}, {"hardware_id", js("hw-bad-new-user")}, {"username", js(m.email)}, {"password", js(m.password)}}
	deactKey := jobj{{"product", js(m.pk)}, {"hardware_id", js(m.hw)}, {"license_key", js(m.key)}}
	deactUser := jobj{{"product", js(m.pu)}, {"hardware_id", js(m.hwU)}, {"username", js(m.email)}}
	trackKey := deactKey.set("variables", `{"v1":"changed"}`)
	trackUser := deactUser.set("variables", `{"u1":"changed"}`)

	type postEP struct {
		group, endpoint string
		key, user       jobj
		fields          []string // fields the endpoint reads, beside the identity
	}
	identity := []string{"product", "hardware_id", "license_key", "username", "password", "license_id"}
	posts := []postEP{
		{"activate_license", "activate_license", activateKey, activateUser,
			[]string{"variables", "os_ver", "hostname", "ip", "mac_address", "app_ver", "sdk_ver", "vm_info", "is_vm"}},
		{"deactivate_license", "deactivate_license", deactKey, deactUser, []string{"variables"}},
		{"track_device_variables", "track_device_variables", trackKey, trackUser, []string{"variables"}},
	}

	for _, ep := range posts {
		m.group = ep.group
		post := func(name string, status int, code string, body []byte) {
			m.l(name, status, code, lreq{method: "POST", endpoint: ep.endpoint, body: body})
		}
		postH := func(name string, status int, code string, body []byte, edit func(http.Header)) {
			m.l(name, status, code, lreq{method: "POST", endpoint: ep.endpoint, body: body, edit: edit})
		}
		valid := ep.key.json()

		// Bodies that are not one JSON object.
		post("empty body", 400, "invalid_json", []byte{})
		post("white space body", 400, "invalid_json", []byte(" \n\t "))
		post("null body", 400, "invalid_json", []byte("null"))
		post("array body", 400, "invalid_json", []byte(`[`+string(valid)+`]`))
		post("string body", 400, "invalid_json", []byte(`"product"`))
		post("number body", 400, "invalid_json", []byte(`12345678901234567890`))
		post("boolean body", 400, "invalid_json", []byte(`true`))
		post("truncated JSON", 400, "invalid_json", valid[:len(valid)-3])
		post("only an opening brace", 400, "invalid_json", []byte(`{`))
		post("trailing garbage", 400, "invalid_json", append(append([]byte{}, valid...), " garbage"...))
		post("two JSON objects", 400, "invalid_json", append(append([]byte{}, valid...), valid...))
		post("byte order mark", 400, "invalid_json", append([]byte("\xef\xbb\xbf"), valid...))
		post("single quotes", 400, "invalid_json", []byte(`{'product':'`+m.pk+`'}`))
		post("comment", 400, "invalid_json", append([]byte("/* hi */"), valid...))
		post("trailing comma", 400, "invalid_json", []byte(strings.TrimSuffix(string(valid), "}")+",}"))
		post("form-encoded body as JSON", 400, "invalid_json", []byte(q("product", m.pk, "hardware_id", m.hw, "license_key", m.key)))
		post("invalid UTF-8 in a string", 400, "invalid_json", ep.key.set("hardware_id", jsRaw("hw-\xff\xfe")).json())
		post("invalid UTF-8 outside strings", 400, "invalid_json", []byte("{\xff}"))
		post("raw NUL byte in a string", 400, "invalid_json", ep.key.set("hardware_id", jsRaw("hw\x00")).json())
		post("raw NUL byte outside strings", 400, "invalid_json", append([]byte{0}, valid...))
		post("raw control character in a string", 400, "invalid_json", ep.key.set("product", jsRaw("p\x01")).json())
		post("escaped NUL in hardware_id", 400, "validation_error", ep.key.set("hardware_id", `"hw\u0000"`).json())
		post("escaped NUL in product", 400, "validation_error", ep.key.set("product", `"\u0000"`).json())
		post("10000 nested arrays as body", 400, "invalid_json", []byte(nested(10000)))
		post("100000 nested arrays as body", 400, "invalid_json", []byte(nested(100000)))
		post("10000 nested arrays as hardware_id", 400, "", ep.key.set("hardware_id", nested(10000)).json())
		post("10000 nested arrays as variables", 400, "", ep.key.set("variables", nested(10000)).json())
		post("10000 nested objects as variables", 400, "", ep.key.set("variables", nestedObj(10000)).json())
		post("body over 1 MiB", 413, "request_too_large", ep.key.set("variables", `{"x":`+js(strings.Repeat("a", 1<<20))+`}`).json())
		post("2 MiB of white space", 413, "request_too_large", append(bytes.Repeat([]byte(" "), 2<<20), valid...))

		// Content types and encodings.
		postH("form content type", 415, "unsupported_media_type", []byte(q("product", m.pk, "hardware_id", m.hw, "license_key", m.key)),
			func(h http.Header) { h.Set("Content-Type", "application/x-www-form-urlencoded") })
		postH("multipart content type", 415, "unsupported_media_type",
			[]byte("--b\r\nContent-Disposition: form-data; name=\"product\"\r\n\r\n"+m.pk+"\r\n--b--\r\n"),
			func(h http.Header) { h.Set("Content-Type", "multipart/form-data; boundary=b") })
		postH("xml content type", 415, "unsupported_media_type", []byte(`<product>`+m.pk+`</product>`),
			func(h http.Header) { h.Set("Content-Type", "application/xml") })
		postH("octet-stream content type", 415, "unsupported_media_type", valid,
			func(h http.Header) { h.Set("Content-Type", "application/octet-stream") })
		postH("jsonx content type", 415, "unsupported_media_type", valid,
			func(h http.Header) { h.Set("Content-Type", "application/jsonx") })
		postH("content type with invalid UTF-8", 415, "unsupported_media_type", valid,
			func(h http.Header) { h.Set("Content-Type", "application/\xffjson") })
		postH("8 KiB content type", 415, "unsupported_media_type", valid,
			func(h http.Header) { h.Set("Content-Type", "application/"+kib8) })
		postH("UTF-16 body", 400, "invalid_json", utf16LE(string(valid)),
			func(h http.Header) { h.Set("Content-Type", "application/json; charset=utf-16") })
		postH("gzip-encoded body", 400, "invalid_json", gzipped(valid),
			func(h http.Header) { h.Set("Content-Encoding", "gzip") })
		m.l("identity in the query, no body", 400, "invalid_json",
			lreq{method: "POST", endpoint: ep.endpoint, query: q(keyQuery()...)})

		// Missing and empty required fields.
		post("empty object", 400, "missing_parameters", []byte(`{}`))
		post("no product", 400, "missing_parameters", ep.key.del("product").json())
		post("no hardware_id", 400, "missing_parameters", ep.key.del("hardware_id").json())
		post("empty product", 400, "missing_parameters", ep.key.set("product", `""`).json())
		post("empty hardware_id", 400, "missing_parameters", ep.key.set("hardware_id", `""`).json())
		post("null product", 400, "missing_parameters", ep.key.set("product", `null`).json())
		post("null hardware_id", 400, "missing_parameters", ep.key.set("hardware_id", `null`).json())
		post("no license_key", 400, "license_key_required", ep.key.del("license_key").json())
		post("empty license_key", 400, "license_key_required", ep.key.set("license_key", `""`).json())
		post("null license_key", 400, "license_key_required", ep.key.set("license_key", `null`).json())
		post("user-based without username", 400, "", ep.user.del("username").json())
		if ep.endpoint == "track_device_variables" {
			post("no variables", 400, "missing_parameters", ep.key.del("variables").json())
			post("null variables", 400, "missing_parameters", ep.key.set("variables", "null").json())
		}
		if ep.endpoint == "activate_license" {
			post("user-based without password", 400, "missing_parameters", ep.user.del("password").json())
			post("user-based with empty password", 400, "missing_parameters", ep.user.set("password", `""`).json())
			post("user-based with null password", 400, "missing_parameters", ep.user.set("password", `null`).json())
			post("user-based with wrong password", 400, "license_not_found", ep.user.set("password", js("wrong")).json())
		}

		// Wrong JSON types in every field the endpoint reads.
		wrong := []struct{ name, v string }{
			{"number", `123`}, {"float", `1.5`}, {"boolean", `true`}, {"array", `["x"]`}, {"object", `{"$ne":null}`},
		}
		for _, f := range append(append([]string{}, identity...), ep.fields...) {
			for _, w := range wrong {
				if f == "license_id" && (w.name == "number") {
					continue // a number is license_id's type
				}
				if f == "variables" && w.name == "object" {
					continue // an object is variables' type (its values are tested below)
				}
				if f == "is_vm" && w.name == "boolean" {
					continue
				}
				base := ep.key
				if f == "username" || f == "password" {
					base = ep.user
				}
				post(fmt.Sprintf("%s as %s", f, w.name), 400, "validation_error", base.set(f, w.v).json())
			}
		}
		post("license_id as string", 400, "validation_error", ep.key.set("license_id", js(fmt.Sprint(m.lkID))).json())
		post("is_vm as string", 400, "", ep.key.set("is_vm", `"true"`).set("hardware_id", js(m.hw+"-isvm")).json())
		post("variables as string", 400, "", ep.key.set("variables", `"v1=x"`).json())

		// license_id values that are not a positive integer below 2^53, or not this license.
		for _, v := range []struct{ name, v string }{
			{"zero", "0"}, {"negative", "-1"}, {"negative zero", "-0"}, {"fraction", "1.5"}, {"tiny fraction", "1e-400"},
			{"huge exponent", "1e400"}, {"2^53", "9007199254740992"}, {"2^63", "9223372036854775808"},
			{"100 digits", strings.Repeat("9", 100)}, {"negative huge", "-1e308"},
		} {
			post("license_id "+v.name, 400, "validation_error", ep.key.set("license_id", v.v).json())
		}
		post("license_id of another license", 400, "license_not_found", ep.key.set("license_id", fmt.Sprint(m.luID)).json())
		post("license_id of another company's license", 400, "license_not_found", ep.key.set("license_id", fmt.Sprint(m.otherLicenseID)).json())

		// Over-long values.
		for _, f := range []string{"product", "hardware_id", "license_key"} {
			post("10000-character "+f, 400, "validation_error", ep.key.set(f, js(long10k)).json())
		}
		post("10000-character username", 400, "validation_error", ep.user.set("username", js(long10k)).json())
		post("10000-character password", 400, "validation_error", ep.user.set("password", js(long10k)).json())
		post("256-character multi-byte hardware_id", 400, "validation_error", ep.key.set("hardware_id", js(strings.Repeat("é", 256))).json())
		if ep.endpoint == "activate_license" {
			for _, f := range ep.fields[1:] {
				if f == "is_vm" {
					continue
				}
				post("10000-character "+f, 400, "validation_error", ep.key.set(f, js(long10k)).json())
				post("escaped NUL in "+f, 400, "validation_error", ep.key.set(f, `"a\u0000b"`).json())
			}
		}

		// Hostile identifiers: SQL, shell and pattern metacharacters never match anything.
		for _, h := range hostileStrings {
			post("product "+h.name, 400, "unknown_product", ep.key.set("product", js(h.v)).json())
			post("license_key "+h.name, 400, "license_not_found", ep.key.set("license_key", js(h.v)).json())
			post("username "+h.name, 400, "license_not_found", ep.user.set("username", js(h.v)).json())
			if ep.endpoint != "activate_license" {
				post("hardware_id "+h.name, 400, "device_not_found", ep.key.set("hardware_id", js(h.v)).json())
			}
		}
		post("license_key in lower case", 400, "license_not_found", ep.key.set("license_key", js(strings.ToLower(m.key))).json())
		post("license_key with a trailing space", 400, "license_not_found", ep.key.set("license_key", js(m.key+" ")).json())
		post("another company's product", 400, "unknown_product", ep.key.set("product", js(m.otherProduct)).set("license_key", js(m.otherKey)).json())
		post("another company's key on own product", 400, "license_not_found", ep.key.set("license_key", js(m.otherKey)).json())

		// Duplicate keys: JSON.parse and encoding/json keep the last value, which is bad here.
		post("duplicate hardware_id, last a number", 400, "validation_error", ep.key.add("hardware_id", `5`).json())
		post("duplicate product, last null", 400, "missing_parameters", ep.key.add("product", `null`).json())
		post("duplicate license_key, last wrong", 400, "license_not_found", ep.key.add("license_key", js("WRONG-WRONG-WRONG-WRONG")).json())
		post("duplicate product, last unknown", 400, "unknown_product", ep.key.add("product", js("no-such-product")).json())
		post("duplicate license_id, last negative", 400, "validation_error", ep.key.add("license_id", "-5").json())

		// Variables: wrong shapes, too many, too long.
		for _, v := range []struct{ name, v, code string }{
			{"array", `["a","b"]`, "validation_error"},
			{"number", `5`, "validation_error"},
			{"value null", `{"a":null}`, "validation_error"},
			{"value array", `{"a":[1]}`, "validation_error"},
			{"value object", `{"a":{"b":1}}`, "validation_error"},
			{"value deeply nested", `{"a":` + nested(5000) + `}`, ""},
			{"value 1e400", `{"a":1e400}`, "validation_error"},
			{"value -1e400", `{"a":-1e400}`, "validation_error"},
			{"empty name", `{"":"x"}`, "validation_error"},
			{"NUL in name", `{"a\u0000b":"x"}`, "validation_error"},
			{"NUL in value", `{"a":"x\u0000"}`, "validation_error"},
			{"10000-character name", `{` + js(long10k) + `:"x"}`, "validation_error"},
			{"10000-character value", `{"a":` + js(long10k) + `}`, "validation_error"},
			{"101 variables", manyVars(101), "validation_error"},
			{"1000 variables", manyVars(1000), "validation_error"},
			{"valid then invalid value", `{"ok":"1","bad":[]}`, "validation_error"},
			{"truncated", `{"a":"b"`, "invalid_json"},
		} {
			post("variables "+v.name, 400, v.code, ep.key.set("variables", v.v).json())
		}
	}

	// User-based specifics.
	m.group = "activate_license"
	m.l("user-based license_id of a key license", 400, "license_not_found", lreq{method: "POST", endpoint: "activate_license",
		body: activateUser.set("license_id", fmt.Sprint(m.lkID)).json()})
	m.l("username with |suffix and wrong password", 400, "license_not_found", lreq{method: "POST", endpoint: "activate_license",
		body: activateUser.set("username", js(m.email+"|x")).set("password", js("nope")).json()})

	// GET endpoints: query strings.
	for _, endpoint := range []string{"check_license", "get_device_variables"} {
		m.group = endpoint
		get := func(name string, status int, code, query string) {
			m.l(name, status, code, lreq{method: "GET", endpoint: endpoint, query: query})
		}
		with := func(name, value string) string {
			kq := keyQuery()
			for i := 0; i < len(kq); i += 2 {
				if kq[i] == name {
					kq[i+1] = value
					return q(kq...)
				}
			}
			return q(append(kq, name, value)...)
		}
		without := func(name string) string {
			var out []string
			kq := keyQuery()
			for i := 0; i < len(kq); i += 2 {
				if kq[i] != name {
					out = append(out, kq[i], kq[i+1])
				}
			}
			return q(out...)
		}
		valid := q(keyQuery()...)

		get("no query", 400, "missing_parameters", "")
		get("no product", 400, "missing_parameters", without("product"))
		get("no hardware_id", 400, "missing_parameters", without("hardware_id"))
		get("no license_key", 400, "license_key_required", without("license_key"))
		get("empty product", 400, "missing_parameters", with("product", ""))
		get("empty hardware_id", 400, "missing_parameters", with("hardware_id", ""))
		get("empty license_key", 400, "license_key_required", with("license_key", ""))
		get("names without values", 400, "missing_parameters", "product&hardware_id&license_key")
		get("user-based without username", 400, "", q("product", m.pu, "hardware_id", m.hwU))
		get("only separators", 400, "", "&&&==&")

		for _, v := range []struct{ name, v string }{
			{"zero", "0"}, {"negative", "-1"}, {"fraction", "1.5"}, {"word", "abc"}, {"empty", ""},
			{"huge exponent", "1e400"}, {"2^53", "9007199254740992"}, {"2^63", "9223372036854775808"},
			{"NaN", "NaN"}, {"Infinity", "Infinity"}, {"hex float", "0x1p0"}, {"underscores", "1_0"},
			{"leading space", " 1"}, {"JSON array", "[1]"}, {"100 digits", strings.Repeat("9", 100)},
		} {
			get("license_id "+v.name, 400, "validation_error", with("license_id", v.v))
		}
		get("license_id of another license", 400, "license_not_found", with("license_id", fmt.Sprint(m.lk2ID)))
		get("license_id of another company's license", 400, "license_not_found", with("license_id", fmt.Sprint(m.otherLicenseID)))

		for _, f := range []string{"product", "hardware_id", "license_key"} {
			get("10000-character "+f, 400, "validation_error", with(f, long10k))
			get("percent-encoded invalid UTF-8 in "+f, 400, "validation_error", with(f, "x\xff\xfe"))
			get("percent-encoded NUL in "+f, 400, "validation_error", with(f, "x\x00"))
			get("malformed escape in "+f, 400, "validation_error", valid+"&"+f+"=%zz")
		}
		get("10000-character username", 400, "validation_error", q("product", m.pu, "hardware_id", m.hwU, "username", long10k))
		get("invalid UTF-8 in a parameter name", 400, "validation_error", valid+"&%ff%fe=1")
		get("semicolon separator", 400, "validation_error", strings.ReplaceAll(valid, "&", ";"))
		get("duplicate product", 400, "validation_error", valid+"&"+q("product", "other"))
		get("duplicate hardware_id", 400, "validation_error", q("hardware_id", "hw-unknown")+"&"+valid)
		get("duplicate license_key", 400, "validation_error", valid+"&"+q("license_key", "WRONG"))
		get("duplicate license_id", 400, "validation_error", valid+"&"+q("license_id", fmt.Sprint(m.lkID), "license_id", fmt.Sprint(m.lk2ID)))
		get("unknown hardware_id", 400, "device_not_found", with("hardware_id", "hw-never-activated"))
		get("another company's product", 400, "unknown_product", q("product", m.otherProduct, "hardware_id", "hw-other", "license_key", m.otherKey))
		for _, h := range hostileStrings {
			get("product "+h.name, 400, "unknown_product", with("product", h.v))
			get("hardware_id "+h.name, 400, "device_not_found", with("hardware_id", h.v))
			get("license_key "+h.name, 400, "license_not_found", with("license_key", h.v))
		}
		for _, h := range hostileStrings[:4] {
			get("username "+h.name, 400, "license_not_found", q(append(userQuery()[:4], "username", h.v)...))
		}

		// A JSON body instead of the query: the query is what counts.
		m.l("JSON body instead of query", 400, "missing_parameters", lreq{method: "GET", endpoint: endpoint, body: deactKey.json()})
	}

	// Wrong methods and paths on every endpoint.
	m.group = "license_api_methods"
	for _, ep := range []struct{ endpoint, method string }{
		{"activate_license", "POST"}, {"deactivate_license", "POST"}, {"track_device_variables", "POST"},
		{"check_license", "GET"}, {"get_device_variables", "GET"},
	} {
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "BREW"} {
			if method == ep.method {
				continue
			}
			var body []byte
			if method != "GET" && method != "HEAD" && method != "TRACE" {
				body = deactKey.json()
			}
			m.l(method+" "+ep.endpoint, 405, "method_not_allowed", lreq{method: method, endpoint: ep.endpoint, query: q(keyQuery()...), body: body})
		}
		m.l(ep.endpoint+" with trailing path", 404, "not_found", lreq{method: ep.method, endpoint: ep.endpoint + "/x", query: q(keyQuery()...)})
		m.l(ep.endpoint+" upper case", 404, "not_found", lreq{method: ep.method, endpoint: strings.ToUpper(ep.endpoint), query: q(keyQuery()...)})
		m.l(ep.endpoint+" percent-encoded NUL in path", 404, "not_found", lreq{method: ep.method, endpoint: ep.endpoint + "%00", query: q(keyQuery()...)})
	}
	m.l("unknown endpoint", 404, "not_found", lreq{method: "GET", endpoint: "no_such_endpoint"})
	m.l("10000-character endpoint", 404, "not_found", lreq{method: "GET", endpoint: long10k})
	m.l("invalid UTF-8 endpoint", 404, "not_found", lreq{method: "GET", endpoint: "%ff%fe"})

	m.authCases()
}

// authCases abuses the Date and Authorization headers on every License API endpoint
// with an otherwise valid request.
func (m *badMatrix) authCases() {
	now := time.Now().UTC()
	signed := func(date string) func(h http.Header) {
		return func(h http.Header) {
			h.Set("Date", date)
			h.Set("Authorization", m.hmacAuth(date))
		}
	}
	authWith := func(auth string) func(h http.Header) {
		return func(h http.Header) { h.Set("Authorization", auth) }
	}
	std := func(alg, headers, sig, key string) string {
		return `algorithm="` + alg + `",headers="` + headers + `",signature="` + sig + `",apikey="` + key + `"`
	}
	// The signature of a fixed date; cases that need the current one compute it when sent.
	sigNow := func(h http.Header) string { return client.Sign(m.s.creds.SharedKey, h.Get("Date")) }
	key := m.s.creds.APIKey

	type authCase struct {
		name   string
		status int
		code   string
		edit   func(h http.Header)
	}
	cases := []authCase{
		{"no Date", 400, "missing_headers", func(h http.Header) { h.Del("Date") }},
		{"no Authorization", 400, "missing_headers", func(h http.Header) { h.Del("Authorization") }},
		{"empty Date", 400, "missing_headers", func(h http.Header) { h.Set("Date", "") }},
		{"empty Authorization", 400, "missing_headers", func(h http.Header) { h.Set("Authorization", "") }},
		{"two Authorization headers", 400, "authorization_invalid_headers", func(h http.Header) { h.Add("Authorization", h.Get("Authorization")) }},
		{"two Date headers", 400, "date_header_diff", func(h http.Header) { h.Add("Date", h.Get("Date")) }},
		{"8 KiB Authorization apikey", 400, "invalid_api_key", func(h http.Header) { h.Set("Authorization", std("hmac-sha256", "date", sigNow(h), kib8)) }},
		{"8 KiB Authorization signature", 400, "signature_mismatch", func(h http.Header) { h.Set("Authorization", std("hmac-sha256", "date", kib8, key)) }},
		{"8 KiB Authorization algorithm", 400, "hmac_required", func(h http.Header) { h.Set("Authorization", std(kib8, "date", sigNow(h), key)) }},
		{"8 KiB unknown Authorization param", 400, "authorization_missing_params", authWith(`x="` + kib8 + `"`)},
		{"8 KiB Date", 400, "date_header_diff", signed(kib8)},
		{"8 KiB unrelated header and no Date", 400, "missing_headers", func(h http.Header) { h.Set("X-Padding", kib8); h.Del("Date") }},
		{"RFC 3339 Date", 400, "date_header_diff", signed(now.Format(time.RFC3339))},
		{"Unix time Date", 400, "date_header_diff", signed(fmt.Sprint(now.Unix()))},
		{"numeric zone Date", 400, "date_header_diff", signed(now.Format(time.RFC1123Z))},
		{"EST Date", 400, "date_header_diff", signed(now.In(time.FixedZone("EST", -5*3600)).Format(time.RFC1123))},
		{"31 February Date", 400, "date_header_diff", signed("Tue, 31 Feb 2026 10:00:00 GMT")},
		{"hour 25 Date", 400, "date_header_diff", signed("Tue, 07 Jun 2011 25:61:61 GMT")},
		{"year 10000 Date", 400, "date_header_diff", signed("Sat, 01 Jan 10000 00:00:00 GMT")},
		{"year 9999 Date", 400, "date_header_diff", signed("Fri, 31 Dec 9999 23:59:59 GMT")},
		{"year 1 Date", 400, "date_header_diff", signed("Mon, 01 Jan 0001 00:00:00 GMT")},
		{"Date with trailing garbage", 400, "date_header_diff", signed(now.Format(http.TimeFormat) + " garbage")},
		{"Date with invalid UTF-8", 400, "date_header_diff", signed("Tue, 07 Jun 2011 20:51:35 GMT\xff")},
		{"rsa-sha256 algorithm", 400, "hmac_required", func(h http.Header) { h.Set("Authorization", std("rsa-sha256", "date", sigNow(h), key)) }},
		{"hmac-sha1 algorithm", 400, "hmac_required", func(h http.Header) { h.Set("Authorization", std("hmac-sha1", "date", sigNow(h), key)) }},
		{"hmac-sha512 algorithm", 400, "hmac_required", func(h http.Header) { h.Set("Authorization", std("hmac-sha512", "date", sigNow(h), key)) }},
		{"none algorithm", 400, "hmac_required", func(h http.Header) { h.Set("Authorization", std("none", "date", sigNow(h), key)) }},
		{"algorithm with a space", 400, "hmac_required", func(h http.Header) { h.Set("Authorization", std("hmac-sha256 ", "date", sigNow(h), key)) }},
		{"headers date host", 400, "authorization_invalid_headers", func(h http.Header) { h.Set("Authorization", std("hmac-sha256", "date host", sigNow(h), key)) }},
		{"unterminated quote", 400, "authorization_invalid_headers", authWith(`algorithm="hmac-sha256,headers="date`)},
		{"pairs without commas", 400, "authorization_invalid_headers", func(h http.Header) {
			h.Set("Authorization", strings.ReplaceAll(std("hmac-sha256", "date", sigNow(h), key), `",`, `" `))
		}},
		{"unquoted values", 400, "authorization_invalid_headers", func(h http.Header) {
			h.Set("Authorization", "algorithm=hmac-sha256,headers=date,signature="+sigNow(h)+",apikey="+key)
		}},
		{"Basic scheme", 400, "authorization_invalid_headers", authWith("Basic dXNlcjpwYXNz")},
		{"Bearer scheme", 400, "authorization_invalid_headers", authWith("Bearer eyJhbGciOiJub25lIn0.e30.")},
		{"management key", 400, "authorization_invalid_headers", authWith("Api-Key " + m.s.creds.ManagementKey)},
		{"apikey with invalid UTF-8", 400, "invalid_api_key", func(h http.Header) { h.Set("Authorization", std("hmac-sha256", "date", sigNow(h), "\xff\xfe")) }},
		{"apikey SQL", 400, "invalid_api_key", func(h http.Header) { h.Set("Authorization", std("hmac-sha256", "date", sigNow(h), `' OR '1'='1`)) }},
		{"apikey of another company", 400, "signature_mismatch", func(h http.Header) { h.Set("Authorization", std("hmac-sha256", "date", sigNow(h), m.other.APIKey)) }},
		{"signature unpadded base64url", 400, "signature_mismatch", func(h http.Header) {
			s := strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(sigNow(h)), "=")
			h.Set("Authorization", std("hmac-sha256", "date", s, key))
		}},
		{"signature of another date", 400, "signature_mismatch", func(h http.Header) {
			h.Set("Authorization", std("hmac-sha256", "date", client.Sign(m.s.creds.SharedKey, "Tue, 07 Jun 2011 20:51:35 GMT"), key))
		}},
		{"all params empty", 400, "authorization_missing_params", authWith(`algorithm="",headers="",signature="",apikey=""`)},
		{"duplicate apikey param, last wrong", 400, "invalid_api_key", func(h http.Header) {
			h.Set("Authorization", std("hmac-sha256", "date", sigNow(h), key)+`,apikey="00000000-0000-4000-8000-000000000000"`)
		}},
		{"1000 unknown Authorization params, no signature", 400, "authorization_missing_params", func(h http.Header) {
			h.Set("Authorization", `algorithm="hmac-sha256",headers="date",apikey="`+key+`"`+strings.Repeat(`,x="y"`, 1000))
		}},
	}
	trackBody := jobj{{"product", js(m.pk)}, {"hardware_id", js(m.hw)}, {"license_key", js(m.key)}, {"variables", `{"v1":"auth"}`}}
	deactBody := trackBody.del("variables")
	activateBody := jobj{{"product", js(m.pk)}, {"hardware_id", js("hw-bad-auth")}, {"license_key", js(m.key2)}}
	kq := q("product", m.pk, "hardware_id", m.hw, "license_key", m.key)
	for _, ep := range []lreq{
		{method: "POST", endpoint: "activate_license", body: activateBody.json()},
		{method: "POST", endpoint: "deactivate_license", body: deactBody.json()},
		{method: "POST", endpoint: "track_device_variables", body: trackBody.json()},
		{method: "GET", endpoint: "check_license", query: kq},
		{method: "GET", endpoint: "get_device_variables", query: kq},
	} {
		m.group = "auth_" + ep.endpoint
		for _, c := range cases {
			r := ep
			edit := c.edit
			r.edit = func(h http.Header) {
				if ep.body != nil {
					h.Set("Content-Type", "application/json")
				}
				edit(h)
			}
			m.l(c.name, c.status, c.code, r)
		}
	}
}

// manyVars is a variables object with n distinct names.
func manyVars(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"var%d":"x"`, i)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// gzipped is b gzip-compressed.
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// utf16LE encodes s as UTF-16 little endian with a byte order mark.
func utf16LE(s string) []byte {
	out := []byte{0xff, 0xfe}
	for _, r := range s {
		out = append(out, byte(r), byte(r>>8))
	}
	return out
}
