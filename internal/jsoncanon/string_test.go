package jsoncanon

import "testing"

func TestMarshalStringEscaping(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", `""`},
		{"plain", "hello", `"hello"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"short escapes", "\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"other controls lowercase hex", "\x00\x01\x0b\x0e\x1a\x1f", `"\u0000\u0001\u000b\u000e\u001a\u001f"`},
		{"DEL stays raw", "\x7f", "\"\x7f\""},
		{"slash and html stay raw", "</script>&<>", `"</script>&<>"`},
		{"line and paragraph separators stay raw", "a\u2028b\u2029c", "\"a\u2028b\u2029c\""},
		{"non-ASCII raw", "é€😀", `"é€😀"`},
		{"BOM and U+FFFD raw", "\ufeff\ufffd", "\"\ufeff\ufffd\""},
		{"invalid byte becomes U+FFFD", "a\xffb", "\"a\ufffdb\""},
		{"truncated sequence", "\xe2\x82", "\"\ufffd\ufffd\""},
		{"encoded surrogate is invalid UTF-8", "\xed\xa0\x80", "\"\ufffd\ufffd\ufffd\""},
		{"overlong encoding", "\xc0\xaf", "\"\ufffd\ufffd\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			if err != nil || string(got) != tt.want {
				t.Errorf("Marshal(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestCanonicalizeStringEscaping(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unicode escape of printable decoded", `"\u00e9\u0041"`, `"éA"`},
		{"uppercase hex accepted", `"\u00E9"`, `"é"`},
		{"escaped slash decoded", `"a\/b"`, `"a/b"`},
		{"short escapes kept", `"\b\f\n\r\t\"\\"`, `"\b\f\n\r\t\"\\"`},
		{"control via \\u re-escaped", `"\u0008\u000C\u001F\u0000"`, `"\b\f\u001f\u0000"`},
		{"quote and backslash via \\u", `"\u0022\u005C"`, `"\"\\"`},
		{"DEL via \\u raw", `"\u007f"`, "\"\x7f\""},
		{"U+2028 via \\u raw", `"\u2028\u2029"`, "\"\u2028\u2029\""},
		{"surrogate pair joins", `"\ud83d\ude00"`, `"😀"`},
		{"surrogate pair uppercase", `"\uD83D\uDE00"`, `"😀"`},
		{"lone high surrogate stays escaped lowercase", `"\uD800"`, `"\ud800"`},
		{"lone low surrogate", `"\udc00x"`, `"\udc00x"`},
		{"high then non-surrogate", `"\ud800\u0041"`, `"\ud800A"`},
		{"high then raw char", `"\ud800é"`, `"\ud800é"`},
		{"high high low", `"\ud800\ud800\udc00"`, `"\ud800𐀀"`},
		{"low high", `"\udc00\ud800"`, `"\udc00\ud800"`},
		{"raw non-ASCII kept", `"é😀 </>"`, `"é😀 </>"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonicalize([]byte(tt.in))
			if err != nil || string(got) != tt.want {
				t.Errorf("Canonicalize(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}
