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
			return cases.Lower(language.Und).String(s)
		}
	}
	return strings.ToLower(s)
}
