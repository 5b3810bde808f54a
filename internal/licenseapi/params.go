package licenseapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/licensor/licensor/internal/httpkit"
	"github.com/licensor/licensor/internal/jsoncanon"
	"github.com/licensor/licensor/internal/jsonplain"
	"github.com/licensor/licensor/internal/licensing"
)

// maxFieldLen bounds every scalar string field (characters); variables have their own limits.
const maxFieldLen = 1024

// maxIdentifierLen bounds the fields that are looked up through an index (hardware_id,
// product, license_key, username): 255 characters stay under PostgreSQL's b-tree entry
// limit (~2.7 kB) even in four-byte UTF-8.
const maxIdentifierLen = 255

var identifiers = map[string]bool{"hardware_id": true, "product": true, "license_key": true, "username": true}

// params is a request's parameters: a JSON object body (POST) or the query (GET).
type params struct {
	body  map[string]json.RawMessage
	query url.Values
	raw   []byte
}

// readParams decodes the request: the query for GET, a JSON object body otherwise.
func readParams(r *http.Request) (*params, error) {
	if r.Method == http.MethodGet {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, licensing.Errorf(licensing.EValidation, "query string is malformed")
		}
		for name, vs := range q {
			for _, v := range vs {
				if !utf8.ValidString(name) || !utf8.ValidString(v) {
					return nil, licensing.Errorf(licensing.EValidation, "query string is not valid UTF-8")
				}
			}
			// Which of two values counts would be a guess (Fastify, the reference server,
			// turns a repeated name into an array that fails its string schema).
			if len(vs) > 1 {
				return nil, licensing.FieldError(name, "%s is given more than once", truncate(name))
			}
		}
		return &params{query: q}, nil
	}
	if err := httpkit.CheckContentType(r, sdkMediaType); err != nil {
		return nil, err
	}
	body, err := httpkit.ReadBody(r)
	if err != nil {
		return nil, err // *http.MaxBytesError → 413; a truncated body → invalid_json
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, licensing.Errorf(licensing.EInvalidJSON, "request body is empty; a JSON object is required")
	}
	if !utf8.Valid(body) {
		return nil, licensing.Errorf(licensing.EInvalidJSON, "request body is not valid UTF-8")
	}
	p := &params{raw: body}
	if m, ok := plainBody(body); ok {
		p.body = m
		return p, nil
	}
	if err := json.Unmarshal(body, &p.body); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, licensing.Errorf(licensing.EInvalidJSON, "request body must be a JSON object")
		}
		return nil, licensing.Errorf(licensing.EInvalidJSON, "request body is not valid JSON")
	}
	if p.body == nil { // the literal null
		return nil, licensing.Errorf(licensing.EInvalidJSON, "request body must be a JSON object")
	}
	if err := httpkit.CheckSurrogates(body); err != nil {
		return nil, err
	}
	return p, nil
}

// sdkMediaType is the License API's lenience with what its clients send: application/json
// or any +json type, text/plain (the SDKs' offline requests, reference §1) or no
// Content-Type at all.
func sdkMediaType(mt string) bool {
	return mt == "" || httpkit.IsJSON(mt) || mt == "text/plain" || strings.HasSuffix(mt, "+json")
}

// plainBody reads a body that is an object whose members are plain strings or objects
// of plain strings (jsonplain), each name once, as the SDKs send their requests, into
// the map json.Unmarshal makes of it; ok is false for anything else (a number, a
// boolean, null, an escape, a name given twice), which readParams then decodes with
// encoding/json as it always has.
func plainBody(b []byte) (m map[string]json.RawMessage, ok bool) {
	d := jsonplain.New(b)
	if !d.Consume('{') {
		return nil, false
	}
	m = make(map[string]json.RawMessage, 8)
	if d.Consume('}') {
		return m, d.End()
	}
	for {
		name, ok := d.Text()
		if !ok || !d.Consume(':') {
			return nil, false
		}
		if _, dup := m[name]; dup {
			return nil, false
		}
		c, _ := d.Peek()
		start := d.Offset()
		switch c {
		case '"':
			_, ok = d.Text()
		case '{':
			ok = plainObject(d)
		default:
			ok = false
		}
		if !ok {
			return nil, false
		}
		m[name] = b[start:d.Offset():d.Offset()]
		if d.Consume('}') {
			return m, d.End()
		}
		if !d.Consume(',') {
			return nil, false
		}
	}
}

// plainObject reads an object of plain strings (a name may repeat: plainVariables
// reads it as JSON.parse would).
func plainObject(d *jsonplain.Scanner) bool {
	if !d.Consume('{') {
		return false
	}
	if d.Consume('}') {
		return true
	}
	for {
		if _, ok := d.Text(); !ok || !d.Consume(':') {
			return false
		}
		if _, ok := d.Text(); !ok {
			return false
		}
		if d.Consume('}') {
			return true
		}
		if !d.Consume(',') {
			return false
		}
	}
}

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// str returns a string parameter; absent or null is "". Wrong types, NUL bytes and
// over-long values are validation errors naming the field.
func (p *params) str(name string) (string, error) {
	var s string
	if p.body != nil {
		raw, ok := p.body[name]
		if !ok || isNull(raw) {
			return "", nil
		}
		if raw[0] != '"' {
			return "", licensing.FieldError(name, "%s must be a string", name)
		}
		if bytes.IndexByte(raw, '\\') < 0 {
			// Every value in body is valid JSON (readParams): a string without an
			// escape is the bytes between its quotes.
			s = string(raw[1 : len(raw)-1])
		} else if err := json.Unmarshal(raw, &s); err != nil {
			return "", licensing.FieldError(name, "%s must be a string", name)
		}
	} else {
		s = p.query.Get(name)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", licensing.FieldError(name, "%s must not contain NUL characters", name)
	}
	limit := maxFieldLen
	if identifiers[name] {
		limit = maxIdentifierLen
	}
	if utf8.RuneCountInString(s) > limit {
		return "", licensing.FieldError(name, "%s is longer than %d characters", name, limit)
	}
	return s, nil
}

// licenseID returns the optional license_id: a positive integer below 2^53.
func (p *params) licenseID() (int64, error) {
	const name = "license_id"
	bad := func() error { return licensing.FieldError(name, "license_id must be a positive integer") }
	var text string
	if p.body != nil {
		raw, ok := p.body[name]
		if !ok || isNull(raw) {
			return 0, nil
		}
		text = string(raw)
	} else {
		if !p.query.Has(name) {
			return 0, nil
		}
		text = p.query.Get(name)
	}
	// Only a JSON number's decimal syntax: ParseFloat alone also takes "0x1p4", "1_0", "Inf".
	if !json.Valid([]byte(text)) {
		return 0, bad()
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f != math.Trunc(f) || f < 1 || f > 1<<53-1 {
		return 0, bad()
	}
	return int64(f), nil
}

// boolean returns an optional boolean (JSON true/false, or query text "true"/"false").
func (p *params) boolean(name string) (bool, error) {
	bad := func() error { return licensing.FieldError(name, "%s must be a boolean", name) }
	if p.body != nil {
		raw, ok := p.body[name]
		if !ok || isNull(raw) {
			return false, nil
		}
		switch string(raw) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return false, bad()
	}
	switch p.query.Get(name) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, bad()
}

// present reports whether a parameter was sent and is not null.
func (p *params) present(name string) bool {
	if p.body != nil {
		raw, ok := p.body[name]
		return ok && !isNull(raw)
	}
	return p.query.Get(name) != ""
}

// identity reads product, hardware_id, license_key, username, license_id; missing
// product/hardware_id (and any names in alsoRequired) are reported together.
func (p *params) identity(alsoRequired ...string) (licensing.Identity, error) {
	var id licensing.Identity
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{{"hardware_id", &id.HardwareID}, {"product", &id.Product}, {"license_key", &id.LicenseKey}, {"username", &id.Username}, {"password", &id.Password}} {
		if *f.dst, err = p.str(f.name); err != nil {
			return id, err
		}
	}
	if id.LicenseID, err = p.licenseID(); err != nil {
		return id, err
	}
	var missing []string
	for _, name := range append([]string{"hardware_id", "product"}, alsoRequired...) {
		if !p.present(name) || (name == "hardware_id" && id.HardwareID == "") || (name == "product" && id.Product == "") {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return id, licensing.MissingParameters(missing...)
	}
	// The reference's schemas take one kind of identity (a oneOf): a key, or a user.
	if id.LicenseKey != "" && id.Username != "" {
		return id, licensing.FieldError("username", "license_key and username cannot be sent together: a license is key-based or user-based")
	}
	return id, nil
}

// variables reads the optional `variables` object in JavaScript's order (the position
// of a name's first occurrence, the value of its last), each value turned into the
// string JavaScript's String(v) gives.
func (p *params) variables() ([]licensing.VarInput, error) {
	raw, ok := p.body["variables"]
	if !ok || isNull(raw) {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, licensing.FieldError("variables", "variables must be a JSON object")
	}
	if out, ok := plainVariables(raw); ok {
		return out, nil
	}
	return decodeVariables(raw)
}

// decodeVariables reads any variables object with encoding/json: values that are
// strings, numbers (as JavaScript's String prints them) or booleans.
func decodeVariables(raw []byte) ([]licensing.VarInput, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // {
		return nil, licensing.Errorf(licensing.EInvalidJSON, "variables is not valid JSON")
	}
	var out []licensing.VarInput
	index := map[string]int{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, licensing.Errorf(licensing.EInvalidJSON, "variables is not valid JSON")
		}
		name := t.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, licensing.Errorf(licensing.EInvalidJSON, "variables is not valid JSON")
		}
		value, verr := jsString(name, v)
		if verr != nil {
			return nil, verr
		}
		if strings.IndexByte(name, 0) >= 0 || strings.IndexByte(value, 0) >= 0 {
			return nil, licensing.FieldError("variables", "variable %q: NUL characters are not allowed", name)
		}
		if i, seen := index[name]; seen {
			out[i].Value = value
			continue
		}
		index[name] = len(out)
		out = append(out, licensing.VarInput{Name: name, Value: value})
	}
	return out, nil
}

// plainVariables reads a variables object whose every name and value is a plain
// string (jsonplain), as heartbeats send them, the way variables does: a name given
// twice keeps its first place and its last value. ok is false for anything else (a
// number, a boolean, an escape), which variables then decodes with encoding/json and
// answers as it always has.
func plainVariables(raw []byte) (out []licensing.VarInput, ok bool) {
	d := jsonplain.New(raw)
	if !d.Consume('{') {
		return nil, false
	}
	if d.Consume('}') {
		return nil, d.End()
	}
	var index map[string]int
	for {
		name, ok := d.Text()
		if !ok || !d.Consume(':') {
			return nil, false
		}
		value, ok := d.Text()
		if !ok {
			return nil, false
		}
		i, seen := -1, false
		if index != nil {
			i, seen = index[name]
		} else {
			for j := range out { // few variables: a scan beats a map until there are many
				if out[j].Name == name {
					i, seen = j, true
					break
				}
			}
		}
		if seen {
			out[i].Value = value
		} else {
			out = append(out, licensing.VarInput{Name: name, Value: value})
			if len(out) == 16 {
				index = make(map[string]int, 32)
				for j, v := range out {
					index[v.Name] = j
				}
			} else if index != nil {
				index[name] = len(out) - 1
			}
		}
		if d.Consume('}') {
			return out, d.End()
		}
		if !d.Consume(',') {
			return nil, false
		}
	}
}

// jsString is JavaScript's String(v) for the scalar JSON values a variable may hold.
func jsString(name string, v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsInf(f, 0) {
			return "", licensing.FieldError("variables", "variable %q: number %s is out of range", truncate(name), v)
		}
		return jsoncanon.FormatNumber(f)
	}
	return "", licensing.FieldError("variables", "variable %q: value must be a string, number or boolean", truncate(name))
}

func truncate(s string) string {
	if len(s) <= 64 {
		return s
	}
	for i := 64; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return ""
}

// deviceInfo reads the device fields clients report at activation, and which of them
// the request left out: absent or null (as present reads them; an empty string is a
// value, sent).
func (p *params) deviceInfo() (d licensing.DeviceInfo, omitted licensing.InfoFields, err error) {
	for _, f := range []struct {
		name  string
		dst   *string
		field licensing.InfoFields
	}{
		{"os_ver", &d.OSVer, licensing.InfoOSVer}, {"hostname", &d.Hostname, licensing.InfoHostname}, {"ip", &d.IP, licensing.InfoIP},
		{"mac_address", &d.MACAddress, licensing.InfoMACAddress}, {"app_ver", &d.AppVer, licensing.InfoAppVer},
		{"sdk_ver", &d.SDKVer, licensing.InfoSDKVer}, {"vm_info", &d.VMInfo, licensing.InfoVMInfo},
	} {
		if *f.dst, err = p.str(f.name); err != nil {
			return d, 0, err
		}
		if !p.present(f.name) {
			omitted |= f.field
		}
	}
	if d.IsVM, err = p.boolean("is_vm"); err != nil {
		return d, 0, err
	}
	if !p.present("is_vm") {
		omitted |= licensing.InfoIsVM
	}
	return d, omitted, nil
}
