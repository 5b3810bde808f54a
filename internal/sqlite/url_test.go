package sqlite

import (
	"strings"
	"testing"
)

// ParseURL reads the path and the two options, and refuses what it cannot honour
// rather than drop it: an unknown (misspelt) option, one given twice, a bad value.
func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url, path string
		opts      Options
		err       string // part of the error; "" for none
	}{
		{url: "sqlite:l.db", path: "l.db"},
		{url: "sqlite:///var/lib/l.db", path: "/var/lib/l.db"},
		{url: "sqlite:l.db?synchronous=full", path: "l.db", opts: Options{Synchronous: "full"}},
		{url: "sqlite:l.db?max_batch=1&synchronous=normal", path: "l.db", opts: Options{Synchronous: "normal", MaxBatch: 1}},
		{url: "sqlite:l.db?synchronus=full", err: `unknown option "synchronus"`},
		{url: "sqlite:l.db?bogus=1", err: `unknown option "bogus"`},
		{url: "sqlite:l.db?synchronous=full&synchronous=normal", err: "given 2 times"},
		{url: "sqlite:l.db?max_batch=0", err: "max_batch must be"},
		{url: "sqlite:l.db?max_batch=%zz", err: "options"},
		{url: "sqlite:?synchronous=full", err: "no path"},
		{url: "postgres://x", err: "not a sqlite URL"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			path, opts, err := ParseURL(tc.url)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseURL = %q, %+v, %v; want an error with %q", path, opts, err, tc.err)
				}
				return
			}
			if err != nil || path != tc.path || opts != tc.opts {
				t.Fatalf("ParseURL = %q, %+v, %v; want %q, %+v", path, opts, err, tc.path, tc.opts)
			}
		})
	}
}
