package signing

import (
	"encoding/json"
	"os"
	"testing"
	"unicode/utf8"
)

func TestV1Message(t *testing.T) {
	for _, c := range []struct {
		name, hw, key, user, validity, want string
	}{
		{"reference example", "A53F-EC01", "FUH3-4E7A-LZJL-7JTP", "", "2019-06-15T00:00:00.000Z",
			"a53f-ec01#fuh3-4e7a-lzjl-7jtp#2019-06-15t00:00:00.000z"},
		{"no validity", "HW-1", "KEY", "", "", "hw-1#key#"},
		{"user-based: the username", "hw", "", "User@Example.com", "", "hw#user@example.com#"},
		{"user-based: the username up to its first |", "hw", "", "User@Example.com|DSE2|x", "", "hw#user@example.com#"},
		{"dotted capital I", "HW-İSTANBUL", "KEY", "", "", "hw-i\u0307stanbul#key#"},
		{"final sigma", "ΟΔΟΣ", "ΚΛΕΙΔΙ-Σ", "", "", "οδος#κλειδι-σ#"},
		{"sigma before the separator ends a word", "ΑΣ", "K", "", "", "ας#k#"},
		{"lone sigma", "Σ", "K", "", "", "σ#k#"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := V1Message(c.hw, c.key, c.user, c.validity); got != c.want {
				t.Errorf("V1Message(%q, %q, %q, %q) = %q, want %q", c.hw, c.key, c.user, c.validity, got, c.want)
			}
		})
	}
}

// TestV1MessageLowercasesAsJavaScript compares the lowercasing with what
// testdata/js-lowercase.js recorded from JavaScript's toLowerCase: every code point
// alone, and strings where a Σ's place in its word decides.
func TestV1MessageLowercasesAsJavaScript(t *testing.T) {
	b, err := os.ReadFile("testdata/js-lowercase.json")
	if err != nil {
		t.Fatal(err)
	}
	var js struct {
		Single  [][2]any    `json:"single"`
		Context [][2]string `json:"context"`
	}
	if err := json.Unmarshal(b, &js); err != nil {
		t.Fatal(err)
	}
	changed := map[rune]string{}
	for _, p := range js.Single {
		changed[rune(p[0].(float64))] = p[1].(string)
	}
	if len(changed) < 1400 {
		t.Fatalf("testdata holds %d changed code points; regenerate it", len(changed))
	}
	wrong := 0
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		s := string(r)
		want, ok := changed[r]
		if !ok {
			want = s
		}
		if got := V1Message(s, "", "", ""); got != want+"##" {
			if wrong++; wrong <= 10 {
				t.Errorf("%U: lowercased to %q, JavaScript gives %q", r, got[:len(got)-2], want)
			}
		}
	}
	for _, p := range js.Context {
		if got := V1Message(p[0], "", "", ""); got != p[1]+"##" {
			t.Errorf("%q: lowercased to %q, JavaScript gives %q", p[0], got[:len(got)-2], p[1])
		}
	}
}
