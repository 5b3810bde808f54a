package main

import (
	"bytes"
	"log/slog"
	"runtime/debug"
	"strings"
	"testing"
)

// TestTuneGC: serve's defaults apply only where GOGC and GOMEMLIMIT are unset.
func TestTuneGC(t *testing.T) {
	oldPercent, oldLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(oldPercent); debug.SetMemoryLimit(oldLimit) })
	const userPercent, userLimit = 123, 300 << 20
	for _, tc := range []struct {
		name                   string
		gogc, gomemlimit       string
		wantPercent, wantLimit int64
	}{
		{"neither set", "", "", serveGCPercent, serveMemoryLimit},
		{"GOGC set", "123", "", userPercent, serveMemoryLimit},
		{"GOMEMLIMIT set", "", "300MiB", serveGCPercent, userLimit},
		{"both set", "123", "300MiB", userPercent, userLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// What the runtime would have parsed from the environment at start.
			debug.SetGCPercent(userPercent)
			debug.SetMemoryLimit(userLimit)
			t.Setenv("GOGC", tc.gogc)
			t.Setenv("GOMEMLIMIT", tc.gomemlimit)
			var logs bytes.Buffer
			tuneGC(slog.New(slog.NewTextHandler(&logs, nil)))
			if p, l := gcInForce(); p != tc.wantPercent || l != tc.wantLimit {
				t.Fatalf("in force: percent %d limit %d, want %d %d", p, l, tc.wantPercent, tc.wantLimit)
			}
			if !strings.Contains(logs.String(), "garbage collector") {
				t.Fatalf("not logged: %q", logs.String())
			}
		})
	}
}
