// Package jsonplain reads the plain subset of JSON without reflection: strings with no
// escape sequence, no control character and valid UTF-8, and integers that fit int64.
// It is for hot paths whose input is nearly always that plain (the variables arrays the
// databases write, the variables object of a track request); every method reports
// whether the input was plain, and a caller that gets false decodes the same bytes with
// encoding/json, whose answer stays the reference.
package jsonplain

import (
	"strconv"
	"unicode/utf8"
)

// Scanner reads b from its start.
type Scanner struct {
	b []byte
	i int
}

// New returns a Scanner of b.
func New(b []byte) *Scanner { return &Scanner{b: b} }

func (s *Scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// Consume consumes c, after any white space, if it is next.
func (s *Scanner) Consume(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// Peek returns the next byte after any white space, without consuming it; ok is false
// at the end.
func (s *Scanner) Peek() (c byte, ok bool) {
	s.space()
	if s.i == len(s.b) {
		return 0, false
	}
	return s.b[s.i], true
}

// Offset is how many bytes have been read: after Peek, where the next value starts;
// after a value, where it ends.
func (s *Scanner) Offset() int { return s.i }

// End reports whether only white space is left.
func (s *Scanner) End() bool {
	s.space()
	return s.i == len(s.b)
}

// Text reads a plain string.
func (s *Scanner) Text() (string, bool) {
	if !s.Consume('"') {
		return "", false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			t := s.b[start:s.i]
			s.i++
			if !utf8.Valid(t) {
				return "", false
			}
			return string(t), true
		case c == '\\' || c < 0x20:
			return "", false
		}
		s.i++
	}
	return "", false
}

// Integer reads an integer in JSON's grammar (no fraction, no exponent, no leading
// zero) that fits int64.
func (s *Scanner) Integer() (int64, bool) {
	s.space()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	if s.i == digits || (s.b[digits] == '0' && s.i-digits > 1) {
		return 0, false
	}
	if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, false
	}
	v, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}
