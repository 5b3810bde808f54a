package licenseapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/licensor/licensor/internal/licensing"
)

func bodyParams(t *testing.T, body string) *params {
	t.Helper()
	p := &params{}
	if err := json.Unmarshal([]byte(body), &p.body); err != nil {
		t.Fatal(err)
	}
	return p
}

// Values are stored as JavaScript's String(v) gives them.
func TestVariablesStringification(t *testing.T) {
	tests := []struct{ json, want string }{
		{`"text"`, "text"},
		{`""`, ""},
		{`true`, "true"},
		{`false`, "false"},
		{`1`, "1"},
		{`1.50`, "1.5"},
		{`1.0`, "1"},
		{`-0`, "0"},
		{`0.1`, "0.1"},
		{`1e21`, "1e+21"},
		{`1e20`, "100000000000000000000"},
		{`1E-7`, "1e-7"},
		{`0.000001`, "0.000001"},
		{`-12.25`, "-12.25"},
		{`9007199254740993`, "9007199254740992"},
		{`"<&>\u2028"`, "<&>\u2028"},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			vs, err := bodyParams(t, `{"variables":{"v":`+tt.json+`}}`).variables()
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != 1 || vs[0].Value != tt.want {
				t.Fatalf("got %+v, want value %q", vs, tt.want)
			}
		})
	}
}

func TestVariablesRejected(t *testing.T) {
	for _, v := range []string{`{}`, `{"a":1}`, `[]`, `[1]`, `null`, `1e400`, `"a\u0000b"`} {
		t.Run(v, func(t *testing.T) {
			_, err := bodyParams(t, `{"variables":{"bad_one":`+v+`}}`).variables()
			if licensing.ErrorCode(err) != licensing.EValidation {
				t.Fatalf("err = %v, want validation_error", err)
			}
		})
	}
	for _, v := range []string{`[]`, `"x"`, `1`, `true`} {
		t.Run("variables="+v, func(t *testing.T) {
			_, err := bodyParams(t, `{"variables":`+v+`}`).variables()
			if licensing.ErrorCode(err) != licensing.EValidation {
				t.Fatalf("err = %v, want validation_error", err)
			}
		})
	}
}

// JSON.parse keeps a duplicated name at its first position with its last value.
func TestVariablesOrderAndDuplicates(t *testing.T) {
	vs, err := bodyParams(t, `{"variables":{"b":"1","a":"2","b":"3","c":"4"}}`).variables()
	if err != nil {
		t.Fatal(err)
	}
	want := []licensing.VarInput{{Name: "b", Value: "3"}, {Name: "a", Value: "2"}, {Name: "c", Value: "4"}}
	if len(vs) != len(want) {
		t.Fatalf("got %+v", vs)
	}
	for i := range want {
		if vs[i] != want[i] {
			t.Fatalf("got %+v, want %+v", vs, want)
		}
	}
}

func TestIdentityKinds(t *testing.T) {
	for _, tt := range []struct {
		body, code string // code "": accepted
	}{
		{`{"hardware_id":"h","product":"p","license_key":"K"}`, ""},
		{`{"hardware_id":"h","product":"p","username":"u@x.com","password":"pw"}`, ""},
		{`{"hardware_id":"h","product":"p","license_key":"","username":"u@x.com"}`, ""},
		{`{"hardware_id":"h","product":"p","license_key":null,"username":"u@x.com"}`, ""},
		{`{"hardware_id":"h","product":"p","license_key":"K","username":"u@x.com","password":"pw"}`, licensing.EValidation},
		{`{"hardware_id":"h","license_key":"K","username":"u@x.com"}`, licensing.EMissingParameters},
	} {
		t.Run(tt.body, func(t *testing.T) {
			_, err := bodyParams(t, tt.body).identity()
			if got := licensing.ErrorCode(err); (err == nil) != (tt.code == "") || (err != nil && got != tt.code) {
				t.Fatalf("err = %v, want code %q", err, tt.code)
			}
		})
	}
}

func TestLicenseID(t *testing.T) {
	tests := []struct {
		body string
		want int64
		ok   bool
	}{
		{`{}`, 0, true},
		{`{"license_id":null}`, 0, true},
		{`{"license_id":7}`, 7, true},
		{`{"license_id":7.0}`, 7, true},
		{`{"license_id":0}`, 0, false},
		{`{"license_id":-3}`, 0, false},
		{`{"license_id":1.5}`, 0, false},
		{`{"license_id":"7"}`, 0, false},
		{`{"license_id":1e300}`, 0, false},
		{`{"license_id":true}`, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			got, err := bodyParams(t, tt.body).licenseID()
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("got %d, %v; want %d ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
}

// A query license_id is a JSON number's decimal text, nothing ParseFloat alone accepts.
func TestLicenseIDQuery(t *testing.T) {
	tests := []struct {
		query string
		want  int64
		ok    bool
	}{
		{"", 0, true},
		{"license_id=7", 7, true},
		{"license_id=7.0", 7, true},
		{"license_id=7e0", 7, true},
		{"license_id=", 0, false},
		{"license_id=0x1p3", 0, false},
		{"license_id=0x7", 0, false},
		{"license_id=1_0", 0, false},
		{"license_id=Inf", 0, false},
		{"license_id=NaN", 0, false},
		{"license_id=%2B7", 0, false},
		{"license_id=+7", 0, false},
		{"license_id=07", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/v4/check_license?"+tt.query, nil)
			p, err := readParams(r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.licenseID()
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("got %d, %v; want %d ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
}

// A query parameter given twice is refused rather than one of its values picked.
func TestQueryDuplicateRefused(t *testing.T) {
	for _, q := range []string{"product=a&product=b", "product=a&product=a", "license_id=1&license_id=2", "x=1&x=1"} {
		r := httptest.NewRequest("GET", "/api/v4/check_license?hardware_id=h&"+q, nil)
		_, err := readParams(r)
		var e *licensing.Error
		if !errors.As(err, &e) || e.Code != licensing.EValidation || e.Field == "" {
			t.Errorf("%s: err = %v, want a validation_error naming the field", q, err)
		}
	}
	r := httptest.NewRequest("GET", "/api/v4/check_license?product=a&hardware_id=h&license_key=k", nil)
	if _, err := readParams(r); err != nil {
		t.Errorf("distinct names: %v", err)
	}
}

// A body cut short of its Content-Length is the client's invalid_json, not an internal error.
func TestTruncatedBody(t *testing.T) {
	r := httptest.NewRequest("POST", "/api/v4/track_device_variables", io.MultiReader(strings.NewReader(`{"product":"p"`), iotest.ErrReader(io.ErrUnexpectedEOF)))
	_, err := readParams(r)
	if licensing.ErrorCode(err) != licensing.EInvalidJSON {
		t.Fatalf("err = %v, want invalid_json", err)
	}
}

// plainVariablesSeeds: variables objects as heartbeats send them, and the ones the
// plain reader must leave to encoding/json.
var plainVariablesSeeds = []struct {
	in    string
	plain bool
}{
	{`{}`, true},
	{`{"os":"linux","app_ver":"1.2.3"}`, true},
	{` { "a" : "1" , "b":"2" } `, true},
	{`{"a":"1","b":"2","a":"3"}`, true},
	{`{"é 😀":"✓","":""}`, true},
	{`{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8","i":"9","j":"10","k":"11","l":"12","m":"13","n":"14","o":"15","p":"16","q":"17","a":"x","q":"y","r":"18"}`, true},
	{`{"a":1}`, false},
	{`{"a":true}`, false},
	{`{"a":null}`, false},
	{`{"a":"x\"y"}`, false},
	{`{"a\u0000":"x"}`, false},
	{`{"a":"\u00e9"}`, false},
	{`{"a":{"b":"c"}}`, false},
	{`{"a":["b"]}`, false},
	{`{"a":1e400}`, false},
	{`{"a":"1",}`, false},
	{`{"a" "1"}`, false},
	{"{\"a\":\"tab\there\"}", false},
}

func TestPlainVariables(t *testing.T) {
	for _, c := range plainVariablesSeeds {
		_, ok := plainVariables([]byte(c.in))
		if ok != c.plain {
			t.Errorf("%s: plain %v, want %v", c.in, ok, c.plain)
		}
		checkPlainVariables(t, []byte(c.in))
	}
}

// checkPlainVariables: where plainVariables reads raw, encoding/json's path reads the
// same variables from it, in the same order.
func checkPlainVariables(t *testing.T, raw []byte) {
	t.Helper()
	got, ok := plainVariables(raw)
	if !ok {
		return
	}
	want, err := decodeVariables(raw)
	if err != nil {
		t.Fatalf("%q: plain reader read %v, encoding/json refuses it: %v", raw, got, err)
	}
	if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
		t.Fatalf("%q: plain reader %v, encoding/json %v", raw, got, want)
	}
}

func FuzzPlainVariables(f *testing.F) {
	for _, c := range plainVariablesSeeds {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// variables only ever sees a value of a valid JSON object body.
		var m map[string]json.RawMessage
		if json.Unmarshal(append(append([]byte(`{"variables":`), raw...), '}'), &m) != nil || !utf8.Valid(raw) {
			return
		}
		checkPlainVariables(t, m["variables"])
	})
}

// plainBodySeeds: bodies as the SDKs send them, and the ones the plain reader must
// leave to encoding/json.
var plainBodySeeds = []struct {
	in    string
	plain bool
}{
	{`{}`, true},
	{`{"hardware_id":"h","product":"app","license_key":"KEY-1"}`, true},
	{` { "hardware_id" : "h" , "variables" : { "os" : "linux" , "os" : "mac" } } `, true},
	{`{"product":"app","variables":{},"hostname":"é 😀"}`, true},
	{`{"a":"1","a":"2"}`, false},
	{`{"license_id":3}`, false},
	{`{"is_vm":true}`, false},
	{`{"os_ver":null}`, false},
	{`{"hardware_id":"x\"y"}`, false},
	{`{"hardware_id":"\u0000"}`, false},
	{`{"variables":{"a":1}}`, false},
	{`{"variables":{"a":{"b":"c"}}}`, false},
	{`{"variables":["a"]}`, false},
	{`{"a":"1",}`, false},
	{`{"a":"1"}x`, false},
	{`{"a":"1"`, false},
	{"{\"a\":\"tab\there\"}", false},
	{`[]`, false},
	{`null`, false},
}

func TestPlainBody(t *testing.T) {
	for _, c := range plainBodySeeds {
		_, ok := plainBody([]byte(c.in))
		if ok != c.plain {
			t.Errorf("%s: plain %v, want %v", c.in, ok, c.plain)
		}
		checkPlainBody(t, []byte(c.in))
	}
}

// checkPlainBody: where plainBody reads b, json.Unmarshal reads the same map from it,
// and every string parameter reads as encoding/json decodes it.
func checkPlainBody(t *testing.T, b []byte) {
	t.Helper()
	got, ok := plainBody(b)
	if !ok {
		return
	}
	var want map[string]json.RawMessage
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%q: plain reader read %v, encoding/json refuses it: %v", b, got, err)
	}
	if len(got) != len(want) {
		t.Fatalf("%q: plain reader %d members, encoding/json %d", b, len(got), len(want))
	}
	for name, raw := range want {
		if !bytes.Equal(got[name], raw) {
			t.Fatalf("%q: member %q: plain reader %s, encoding/json %s", b, name, got[name], raw)
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			continue
		}
		if v, err := (&params{body: got}).str(name); err == nil && v != s {
			t.Fatalf("%q: member %q reads %q, encoding/json %q", b, name, v, s)
		}
	}
}

func FuzzPlainBody(f *testing.F) {
	for _, c := range plainBodySeeds {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) { // readParams refuses it before
			return
		}
		checkPlainBody(t, b)
	})
}
