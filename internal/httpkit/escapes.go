package httpkit

import (
	"bytes"
	"strconv"
	"unicode/utf16"

	"github.com/licensor/licensor/internal/licensing"
)

// CheckSurrogates refuses, as invalid_json, a request body (valid JSON) that escapes a
// UTF-16 surrogate that is not half of a pair ("\ud800", "\udc00", "\ud800\u0041").
// encoding/json reads one as U+FFFD, so distinct values (two hardware_ids, two product
// names) would be stored as one text the client never sent: it is broken UTF-8 written
// as an escape, refused as the raw bytes already are.
func CheckSurrogates(body []byte) error {
	if loneSurrogate(body) {
		return licensing.Errorf(licensing.EInvalidJSON, "request body is not valid UTF-8: it escapes a lone UTF-16 surrogate")
	}
	return nil
}

// loneSurrogate reports whether the valid JSON text b escapes a UTF-16 surrogate that
// is not half of a pair (\ud800 alone, \udc00 first).
func loneSurrogate(b []byte) bool {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\\')
		if j < 0 {
			return false
		}
		i += j
		if i+1 < len(b) && b[i+1] != 'u' {
			i += 2 // \" \\ \/ \b …: the character after the backslash is not one of ours
			continue
		}
		r := hex4(b, i+2)
		if r < 0 {
			return false
		}
		i += 6
		switch {
		case utf16.IsSurrogate(rune(r)) && r >= 0xdc00: // a low half first
			return true
		case utf16.IsSurrogate(rune(r)): // a high half: its low half must follow
			if i+1 >= len(b) || b[i] != '\\' || b[i+1] != 'u' {
				return true
			}
			if lo := hex4(b, i+2); lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 is the value of the four hex digits of a \u escape at b[i:] (-1 if b ends first,
// which valid JSON never does).
func hex4(b []byte, i int) int {
	if i+4 > len(b) {
		return -1
	}
	v, err := strconv.ParseUint(string(b[i:i+4]), 16, 16)
	if err != nil {
		return -1
	}
	return int(v)
}
