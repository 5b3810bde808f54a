// Package jsoncanon encodes JSON exactly as JavaScript re-serialises it.
//
// License API clients verify the response signature either over the raw body (Python) or
// over JSON.stringify(JSON.parse(body)) (Node), so the server must emit bytes B with
// JSON.stringify(JSON.parse(B)) == B and sign B (reference §6.4). That fixes:
//
//   - compact form, no trailing newline;
//   - object keys: integer-like keys ("0".."4294967294") first in ascending numeric order,
//     then the others in insertion order (struct declaration order, Object order; Go maps have
//     no order, so their other keys are sorted); a duplicate key keeps the position of its
//     first occurrence and the value of its last;
//   - numbers printed like Number.prototype.toString (shortest round trip, "1e+21", "1e-7",
//     -0 as 0); integers beyond 2^53-1 and NaN/±Inf are errors, not silent rounding;
//   - strings: only `"`, `\` and U+0000–U+001F are escaped (\b \t \n \f \r, else lowercase
//     \u00xx); `/ < > &` and U+2028/U+2029 stay raw; invalid UTF-8 becomes U+FFFD.
//
// Marshal follows encoding/json's struct tags (name, "-", omitempty, omitzero, string) and
// Marshaler/TextMarshaler interfaces, with two deliberate differences: nil slices and maps
// encode as [] and {} (the wire format never has null arrays or objects; use a nil pointer
// for null), and []byte is refused instead of base64-encoded.
package jsoncanon

import (
	"errors"
	"strconv"
)

var (
	// ErrUnsupportedType reports a Go type with no JavaScript-canonical encoding.
	ErrUnsupportedType = errors.New("jsoncanon: unsupported type")
	// ErrUnsupportedValue reports a value JavaScript cannot carry exactly (NaN, ±Inf,
	// integers beyond 2^53-1, numbers overflowing float64) or a reference cycle.
	ErrUnsupportedValue = errors.New("jsoncanon: unsupported value")
)

// SyntaxError reports input that JSON.parse would reject (or that is not valid UTF-8).
type SyntaxError struct {
	Offset int // byte offset in the input
	msg    string
}

func (e *SyntaxError) Error() string {
	return "jsoncanon: invalid JSON at offset " + strconv.Itoa(e.Offset) + ": " + e.msg
}

// maxDepth bounds nesting, the same limit encoding/json's decoder applies; it also turns
// a reference cycle in Marshal into an error instead of a stack overflow.
const maxDepth = 10000
