package httpkit

import (
	"encoding/json"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

// What a body's \u escapes hold. A lone surrogate is broken UTF-8 (encoding/json would
// read it as U+FFFD); a pair, an escaped backslash before "u", and U+FFFD itself are
// text. NUL is a character JSON carries only escaped; the same six characters after an
// escaped backslash are text.
func TestEscapes(t *testing.T) {
	for _, tt := range []struct {
		json      string
		lone, nul bool
	}{
		{`{"a":"\ud800"}`, true, false},
		{`{"a":"\uDBFFx"}`, true, false},
		{`{"a":"\udc00"}`, true, false},
		{`{"a":"\ude00\ud83d"}`, true, false},
		{`{"a":"\ud83d\u0041"}`, true, false},
		{`{"a":"\ud83d\ud83d"}`, true, false},
		{`{"a":"\ud83d\n"}`, true, false},
		{`{"\udfff":"x"}`, true, false},
		{`{"a":"x\\\udc00"}`, true, false},
		{`{"a":"\ud83d\u0000"}`, true, true},
		{`{"a":"\ud83d\ude00"}`, false, false},
		{`{"a":"\uD83D\uDE00 \ufffd \u00e9"}`, false, false},
		{`{"a":"\\ud800"}`, false, false},
		{`{"a":"\"\\\/\b\f\n\r\t"}`, false, false},
		{`{"a":"\ud7ff\ue000"}`, false, false},
		{`{"a":"plain"}`, false, false},
		{`{"a":"x\u0000y"}`, false, true},
		{`{"\u0000":"x"}`, false, true},
		{`{"a":"\ud83d\ude00\u0000"}`, false, true},
		{`{"a":"\\u0000"}`, false, false},
		{`{"a":"\\\u0000"}`, false, true},
		{`{"a":"\u00001"}`, false, true},
		{`{"a":"\u0001"}`, false, false},
	} {
		if !json.Valid([]byte(tt.json)) {
			t.Fatalf("%s: not valid JSON", tt.json)
		}
		err := CheckSurrogates([]byte(tt.json))
		if tt.lone != (licensing.ErrorCode(err) == licensing.EInvalidJSON) || (!tt.lone && err != nil) {
			t.Errorf("CheckSurrogates(%s) = %v, want invalid_json %v", tt.json, err, tt.lone)
		}
		if got := EscapesNUL([]byte(tt.json)); got != tt.nul {
			t.Errorf("EscapesNUL(%s) = %v, want %v", tt.json, got, tt.nul)
		}
	}
}
