package httpkit

import (
	"encoding/json"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

// A lone surrogate escape is broken UTF-8 (encoding/json would read it as U+FFFD); a
// pair, an escaped backslash before "u", and U+FFFD itself are text.
func TestCheckSurrogates(t *testing.T) {
	for _, tt := range []struct {
		json string
		lone bool
	}{
		{`{"a":"\ud800"}`, true},
		{`{"a":"\uDBFFx"}`, true},
		{`{"a":"\udc00"}`, true},
		{`{"a":"\ude00\ud83d"}`, true},
		{`{"a":"\ud83d\u0041"}`, true},
		{`{"a":"\ud83d\ud83d"}`, true},
		{`{"a":"\ud83d\n"}`, true},
		{`{"\udfff":"x"}`, true},
		{`{"a":"x\\\udc00"}`, true},
		{`{"a":"\ud83d\ude00"}`, false},
		{`{"a":"\uD83D\uDE00 \ufffd \u00e9"}`, false},
		{`{"a":"\\ud800"}`, false},
		{`{"a":"\"\\\/\b\f\n\r\t"}`, false},
		{`{"a":"\ud7ff\ue000"}`, false},
		{`{"a":"plain"}`, false},
	} {
		if !json.Valid([]byte(tt.json)) {
			t.Fatalf("%s: not valid JSON", tt.json)
		}
		err := CheckSurrogates([]byte(tt.json))
		if tt.lone != (licensing.ErrorCode(err) == licensing.EInvalidJSON) || (!tt.lone && err != nil) {
			t.Errorf("CheckSurrogates(%s) = %v, want invalid_json %v", tt.json, err, tt.lone)
		}
	}
}

// NUL is a character JSON carries only escaped; the same six characters after an
// escaped backslash are text.
func TestEscapesNUL(t *testing.T) {
	for _, tt := range []struct {
		json string
		nul  bool
	}{
		{`{"a":"x\u0000y"}`, true},
		{`{"\u0000":"x"}`, true},
		{`{"a":"\ud83d\ude00\u0000"}`, true},
		{`{"a":"\\u0000"}`, false},
		{`{"a":"\\\u0000"}`, true},
		{`{"a":"\u00001"}`, true},
		{`{"a":"\u0001"}`, false},
		{`{"a":"plain"}`, false},
	} {
		if !json.Valid([]byte(tt.json)) {
			t.Fatalf("%s: not valid JSON", tt.json)
		}
		if got := EscapesNUL([]byte(tt.json)); got != tt.nul {
			t.Errorf("EscapesNUL(%s) = %v, want %v", tt.json, got, tt.nul)
		}
	}
}
