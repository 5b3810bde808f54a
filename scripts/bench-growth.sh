#!/usr/bin/env bash
# bench-growth.sh — check and track-steady on a large seeded fleet against a 1,000-device
# fleet, both on SQLite, in one session. The large fleet is first driven for WARMUP
# (unmeasured) so that every device has been answered once — as in production, where
# each device heartbeats again and again — and the measured run then sees second visits,
# whose signatures come from the per-device memo rather than from a new signature.
#
# Settings: DEVICES=100000 VARIABLES=10 SIGNING_KEY=rsa-2048 WARMUP=240s DURATION=10s
#   CONCURRENCY=64 PORT=18801
set -Eeuo pipefail
DEVICES=${DEVICES:-100000}
VARIABLES=${VARIABLES:-10}
SIGNING_KEY=${SIGNING_KEY:-rsa-2048}
WARMUP=${WARMUP:-240s}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-64}
PORT=${PORT:-18801}
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench-common.sh"

# fleet N WARMUP: seed N devices on a fresh database, serve it, run check then
# track-steady, each after WARMUP; one line per workload.
fleet() {
	local n=$1 warm=$2 dir=$tmp/f$1 db="sqlite:$tmp/f$1/l.db" creds
	mkdir -p "$dir"
	init_db "$tmp/licensor" "$db" "$dir"
	local t0=$SECONDS
	"$tmp/licensor" seed --db "$db" --product fleet --devices "$n" --variables "$VARIABLES" >/dev/null 2>&1
	echo "seeded $n devices in $((SECONDS - t0)) s" >&2
	start_server "$tmp/licensor" "$db" "$dir"
	local wl out
	for wl in check track-steady; do
		out=$(bench --fleet fleet --devices "$n" --workload "$wl" --variables 5 --warmup "$warm" --server-pid "$pid")
		printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$wl" "$(jq .rps <<<"$out")" "$(jq .latency_ms.p99 <<<"$out")" "$(jq '.server[0].peak_rss_mib // .server[0].rss_peak_mib // 0' <<<"$out")"
	done
	curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^licensor_signatures_(made|reused|recalled)_total' >&2
	stop_server
	rm -rf "$dir"
}

echo "signing key $SIGNING_KEY, C=$CONCURRENCY, $DURATION measured; large fleet warm-up $WARMUP" >&2
printf 'devices\tworkload\treq/s\tp99 ms\tpeak RSS MiB\n'
fleet 1000 3s
fleet "$DEVICES" "$WARMUP"
fleet 1000 3s
