package signing

import (
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// V1Message is the message of the v1 license_signature (reference §6.1):
// lowercase(hardware_id + "#" + id + "#" + validity), where id is the username up to
// its first "|" for a user-based license (username not ""), else the license key, and
// validity the validity_period as answered ("" when null). It is lowercased as the
// clients that verify it lowercase it: JavaScript's String.prototype.toLowerCase,
// Unicode's full default lowercasing, which Python's str.lower() follows too. Go's
// strings.ToLower maps each character alone and so differs from it: İ (U+0130)
// becomes "i̇" (i and a combining dot above), not "i", and a Σ that ends a word
// becomes ς, not σ.
func V1Message(hardwareID, licenseKey, username, validity string) string {
	id := licenseKey
	if username != "" {
		id, _, _ = strings.Cut(username, "|")
	}
	s := hardwareID + "#" + id + "#" + validity
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			// A Caser keeps state between calls and is not safe for concurrent use.
			return strings.Map(lowerAdded, cases.Lower(language.Und).String(s))
		}
	}
	return strings.ToLower(s)
}

// lowerAdded lowercases the code points whose lowercase Unicode 16.0 and 17.0 added, and
// leaves any other alone. x/text/cases takes its tables from the Unicode version of the
// Go toolchain that builds it: 17.0 from Go 1.27 on, but 15.0 with Go 1.26 (which go.mod
// still allows: GOTOOLCHAIN=local), where these stay uppercase and a server or client so
// built signs or checks another message than JavaScript's. Applied
// after cases.Lower, it changes nothing where the tables are 17.0: what they make of
// these code points is already lowercase. (A Σ's place in its word is still judged by
// the tables: one next to a letter or mark new in Unicode 16 or 17 may lowercase as σ
// where JavaScript gives ς, or the reverse, with Go 1.26.)
func lowerAdded(r rune) rune {
	if r < addedLower[0].lo {
		return r
	}
	for _, a := range addedLower {
		if a.lo <= r && r <= a.hi {
			return r + a.delta
		}
	}
	return r
}

// addedLower lists the lowercase mappings Unicode 16.0 and 17.0 added to 15.0's: each code
// point from lo to hi lowercases to itself + delta. Sorted by lo.
var addedLower = []struct{ lo, hi, delta rune }{
	{0x1C89, 0x1C89, 1},               // Cyrillic Extended-C
	{0xA7CB, 0xA7CB, 0x0264 - 0xA7CB}, // Latin Extended-D: → ɤ
	{0xA7CC, 0xA7CC, 1},
	{0xA7CE, 0xA7CE, 1},
	{0xA7D2, 0xA7D2, 1},
	{0xA7D4, 0xA7D4, 1},
	{0xA7DA, 0xA7DA, 1},
	{0xA7DC, 0xA7DC, 0x019B - 0xA7DC}, // → ƛ
	{0x10D50, 0x10D65, 0x20},          // Garay
	{0x16EA0, 0x16EB8, 0x1B},          // Beria Erfe
}
