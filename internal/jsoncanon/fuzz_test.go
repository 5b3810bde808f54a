package jsoncanon

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzCanonicalize: whatever Canonicalize accepts is valid JSON for encoding/json, means the
// same to encoding/json, and is a fixed point (canonicalizing the output changes nothing).
func FuzzCanonicalize(f *testing.F) {
	for _, seed := range []string{
		`{"b":1,"a":2,"10":3,"2":4}`,
		`{"a":1,"a":{"0":[],"x":null},"4294967295":-0.0}`,
		`[1.0,1e21,1e-7,-0,12345678901234567890,5e-324,1e-400]`,
		`"\ud83d\ude00\ud800\u0041\udc00\/\u00e9\u2028\u001f"`,
		" [ true , false , null , \"\\b\\f\\n\\r\\t\" ] ",
		"\"raw é 😀 \u2029\"",
		`{"__proto__":{"1":1},"":""}`,
		`1e400`,
		`[[[[[]]]]]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonicalize(in)
		if err != nil {
			return
		}
		if !json.Valid(in) {
			t.Fatalf("accepted input encoding/json rejects: %q", in)
		}
		if !json.Valid(out) {
			t.Fatalf("output is not valid JSON: %q -> %q", in, out)
		}
		again, err := Canonicalize(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
		// Same meaning for encoding/json (it also keeps the last duplicate, reads lone
		// surrogates as U+FFFD and -0 == 0).
		var a, b any
		if err := json.Unmarshal(in, &a); err != nil {
			t.Fatalf("encoding/json cannot decode accepted input %q: %v", in, err)
		}
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatalf("encoding/json cannot decode output %q: %v", out, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("meaning changed: %q (%#v) -> %q (%#v)", in, a, out, b)
		}
	})
}

// FuzzMarshalString: any Go string, valid UTF-8 or not, encodes to a canonical string that
// decodes to what encoding/json's own encoding decodes to (each invalid byte → U+FFFD).
func FuzzMarshalString(f *testing.F) {
	for _, seed := range []string{"", "a\"b\\c", "\x00\x1f\x7f", "</script>&\u2028\u2029", "é😀", "\xff\xed\xa0\x80\xc3"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := Marshal(s)
		if err != nil {
			t.Fatalf("Marshal(%q): %v", s, err)
		}
		again, err := Canonicalize(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Marshal(%q) = %q is not canonical: %q, %v", s, out, again, err)
		}
		std, _ := json.Marshal(s)
		var got, want string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(std, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("Marshal(%q) decodes to %q; encoding/json's to %q", s, got, want)
		}
	})
}
