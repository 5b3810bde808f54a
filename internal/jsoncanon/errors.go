package jsoncanon

import "strings"

// pathError locates an encoding error inside the value, e.g. `.features[2].expiry`.
type pathError struct {
	rev []string // path segments, innermost first
	err error
}

func withPath(err error, seg string) error {
	if pe, ok := err.(*pathError); ok {
		pe.rev = append(pe.rev, seg)
		return pe
	}
	return &pathError{rev: []string{seg}, err: err}
}

func (e *pathError) Error() string {
	var b strings.Builder
	b.WriteString("jsoncanon: at ")
	for i := len(e.rev) - 1; i >= 0; i-- {
		b.WriteString(e.rev[i])
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.err.Error(), "jsoncanon: "))
	return b.String()
}

func (e *pathError) Unwrap() error { return e.err }
