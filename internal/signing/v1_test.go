package signing

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
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
		{"letters Unicode 16 and 17 added", "HW-\u1C89\uA7CB\U00010D50", "\U00016EB8", "", "", "hw-\u1C8A\u0264\U00010D70#\U00016ED3#"},
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

// TestLowerAddedAsUnicode17: addedLower maps each of its code points as x/text/cases'
// Unicode 17.0 tables do, and changes nothing those tables lowercase. (Built with Go 1.26
// the tables are 15.0's; TestV1MessageLowercasesAsJavaScript then checks every code point.)
func TestLowerAddedAsUnicode17(t *testing.T) {
	if cases.UnicodeVersion != "17.0.0" {
		t.Skipf("x/text/cases holds Unicode %s tables", cases.UnicodeVersion)
	}
	c := cases.Lower(language.Und)
	for _, a := range addedLower {
		for r := a.lo; r <= a.hi; r++ {
			if got := c.String(string(r)); got != string(r+a.delta) {
				t.Errorf("%U: cases lowercases to %q, addedLower to %q", r, got, string(r+a.delta))
			}
		}
	}
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		if l := c.String(string(r)); strings.Map(lowerAdded, l) != l {
			t.Errorf("%U: addedLower changes %q, its lowercase", r, l)
		}
	}
}
