package main

import (
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
)

// serve's garbage-collector defaults. The server's live heap is small (bounded caches)
// and it allocates a few KiB per request, so with Go's default GOGC=100 it collects
// many times a second; at 400 the collector's share of the CPU falls enough for check
// and track-steady to gain 15–20 % in alternating A/B runs (docs/performance.md), for
// about 15 MiB more RSS. The soft memory limit keeps the heap goal inside the RSS
// budget when the live heap grows (large fleets fill the signature caches): the
// collector then runs more often instead. GOGC and GOMEMLIMIT, when set, win, as they
// do for any Go program.
const (
	serveGCPercent   = 400
	serveMemoryLimit = 160 << 20
)

// tuneGC applies serve's defaults where the environment sets nothing, and logs the
// settings in force.
func tuneGC(log *slog.Logger) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
	percent, limit := gcInForce()
	limitText := "none"
	if limit != math.MaxInt64 {
		limitText = slog.Int64Value(limit>>20).String() + "MiB"
	}
	log.Info("garbage collector", "gc_percent", percent, "memory_limit", limitText)
}

// gcInForce returns the runtime's GOGC percent (-1: off) and memory limit in bytes.
func gcInForce() (percent, limit int64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64())
}
