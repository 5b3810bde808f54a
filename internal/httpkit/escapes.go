package httpkit

import (
	"bytes"
	"iter"
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

// EscapesNUL reports whether the valid JSON text b holds a NUL character (which JSON
// can carry only as the escape \u0000; an escaped backslash before "u0000" is text).
func EscapesNUL(b []byte) bool {
	for _, unit := range unicodeEscapes(b) {
		if unit == 0 {
			return true
		}
	}
	return false
}

// loneSurrogate reports whether the valid JSON text b escapes a UTF-16 surrogate that
// is not half of a pair (\ud800 alone, \udc00 first).
func loneSurrogate(b []byte) bool {
	high := -1 // where the escape a pending high half must be followed by begins
	for at, unit := range unicodeEscapes(b) {
		if high >= 0 && (at != high || unit < 0xdc00 || unit > 0xdfff) {
			return true // a high half not followed at once by a low half
		}
		switch {
		case high >= 0: // the low half of a pair
			high = -1
		case utf16.IsSurrogate(rune(unit)) && unit >= 0xdc00: // a low half first
			return true
		case utf16.IsSurrogate(rune(unit)): // a high half: its low half must follow
			high = at + 6
		}
	}
	return high >= 0
}

// unicodeEscapes yields, in order, where each \uXXXX escape of the valid JSON text b
// begins and the UTF-16 code unit it stands for. Backslashes occur only in strings,
// each beginning an escape; the other escapes (\" \\ \/ \b …) are skipped whole.
func unicodeEscapes(b []byte) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		for i := 0; i < len(b); {
			j := bytes.IndexByte(b[i:], '\\')
			if j < 0 || i+j+1 >= len(b) {
				return
			}
			i += j
			if b[i+1] != 'u' {
				i += 2
				continue
			}
			unit := hex4(b, i+2)
			if unit < 0 || !yield(i, unit) {
				return
			}
			i += 6
		}
	}
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
