package jsoncanon

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCanonicalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"literals", `[true,false,null]`, `[true,false,null]`},
		{"whitespace removed", " \t\r\n{ \"a\" :\n[ 1 , 2 ] ,\"b\":{ } , \"c\" : [ ] }\n", `{"a":[1,2],"b":{},"c":[]}`},
		{"top-level scalar", `"x"`, `"x"`},
		{"top-level number", ` 42 `, `42`},
		{"1.0", `1.0`, `1`},
		{"exponent", `1E3`, `1000`},
		{"exponent with plus and leading zeros", `1e+007`, `10000000`},
		{"negative zero", `-0`, `0`},
		{"negative zero float", `-0.0e5`, `0`},
		{"small", `0.0000001`, `1e-7`},
		{"1e-6 stays decimal", `1e-6`, `0.000001`},
		{"1e21", `1e21`, `1e+21`},
		{"1e20", `100000000000000000000`, `100000000000000000000`},
		{"integer beyond 2^53 is rounded like JS", `12345678901234567890`, `12345678901234567000`},
		{"fifteen digits kept verbatim", `-999999999999999`, `-999999999999999`},
		{"sixteen digits", `9007199254740993`, `9007199254740992`},
		{"long mantissa", `123456789012345678901234567890`, `1.2345678901234568e+29`},
		{"underflow becomes 0", `1e-400`, `0`},
		{"negative underflow becomes 0", `-1e-400`, `0`},
		{"denormal", `4e-324`, `5e-324`},
		{"max float", `1.7976931348623157e308`, `1.7976931348623157e+308`},
		{"trailing fraction zeros", `2.50000`, `2.5`},
		{"nesting", `{"a":[{"b":[[],{}]},-1.5e-10]}`, `{"a":[{"b":[[],{}]},-1.5e-10]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonicalize([]byte(tt.in))
			if err != nil || string(got) != tt.want {
				t.Errorf("Canonicalize(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestCanonicalizeErrors(t *testing.T) {
	syntax := []struct{ name, in string }{
		{"empty", ``},
		{"only space", "  \n"},
		{"unclosed object", `{`},
		{"unclosed array", `[1`},
		{"trailing comma in array", `[1,]`},
		{"trailing comma in object", `{"a":1,}`},
		{"missing colon", `{"a" 1}`},
		{"missing value", `{"a":}`},
		{"non-string key", `{1:2}`},
		{"single quotes", `'a'`},
		{"leading zero", `01`},
		{"bare minus", `-`},
		{"dot without digits", `1.`},
		{"leading dot", `.5`},
		{"plus sign", `+1`},
		{"empty exponent", `1e`},
		{"NaN", `NaN`},
		{"Infinity", `-Infinity`},
		{"truncated literal", `tru`},
		{"wrong literal", `nul1`},
		{"capitalised literal", `True`},
		{"bad escape", `"\x"`},
		{"short unicode escape", `"\u12"`},
		{"non-hex unicode escape", `"\u12g4"`},
		{"raw control char", "\"a\x01\""},
		{"raw newline", "\"a\nb\""},
		{"unterminated string", `"abc`},
		{"backslash at end", `"abc\`},
		{"invalid UTF-8", "\"\xff\""},
		{"invalid UTF-8 in key", "{\"\xc3\":1}"},
		{"raw encoded surrogate", "\"\xed\xa0\x80\""},
		{"two values", `1 2`},
		{"trailing garbage", `[1]x`},
		{"comment", `[1] // no`},
		{"vertical tab is not space", "\v1"},
		{"BOM", "\ufeff1"},
		{"too deep", strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)},
	}
	for _, tt := range syntax {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonicalize([]byte(tt.in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("Canonicalize(%q) = %q, %v; want *SyntaxError", tt.in, got, err)
			}
		})
	}
	for _, in := range []string{`1e400`, `-1e400`, `[1.8e308]`, `{"a":123456789e305}`} {
		if got, err := Canonicalize([]byte(in)); !errors.Is(err, ErrUnsupportedValue) {
			t.Errorf("Canonicalize(%q) = %q, %v; want ErrUnsupportedValue (float64 overflow)", in, got, err)
		}
	}
}

func TestCanonicalizeMaxDepth(t *testing.T) {
	in := strings.Repeat(`{"a":[`, maxDepth/2) + strings.Repeat(`]}`, maxDepth/2)
	got, err := Canonicalize([]byte(in))
	if err != nil || string(got) != in {
		t.Fatalf("depth %d: err %v", maxDepth, err)
	}
	if !json.Valid(got) {
		t.Fatalf("encoding/json rejects depth %d; the limits must agree", maxDepth)
	}
}

func TestAppendCanonicalizeKeepsDstOnError(t *testing.T) {
	dst := []byte("prefix")
	out, err := AppendCanonicalize(dst, []byte(`{"a":[1,2,`))
	if err == nil || string(out) != "prefix" {
		t.Fatalf("got %q, %v; want prefix and an error", out, err)
	}
	out, err = AppendCanonicalize(dst, []byte(` {"b":1,"0":2} `))
	if err != nil || string(out) != `prefix{"0":2,"b":1}` {
		t.Fatalf("got %q, %v", out, err)
	}
}
