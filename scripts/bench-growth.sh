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
	local n=$1 warm=$2 dir=$tmp/f$1 creds
	mkdir -p "$dir"
	creds=$("$tmp/licensor" init --db "sqlite:$dir/l.db" --json --signing-key "$SIGNING_KEY" 2>/dev/null)
	jq -r .public_key <<<"$creds" >"$dir/pub.pem"
	local t0=$SECONDS
	"$tmp/licensor" seed --db "sqlite:$dir/l.db" --product fleet --devices "$n" --variables "$VARIABLES" >/dev/null 2>&1
	echo "seeded $n devices in $((SECONDS - t0)) s" >&2
	"$tmp/licensor" serve --db "sqlite:$dir/l.db" --addr "127.0.0.1:$PORT" 2>"$dir/serve.log" &
	pid=$!
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
	local wl out
	for wl in check track-steady; do
		out=$("$tmp/licensor" bench --target "http://127.0.0.1:$PORT" --fleet fleet --devices "$n" --workload "$wl" --variables 5 \
			--api-key "$(jq -r .api_key <<<"$creds")" --shared-key "$(jq -r .shared_key <<<"$creds")" --public-key "$dir/pub.pem" \
			--concurrency "$CONCURRENCY" --duration "$DURATION" --warmup "$warm" --server-pid "$pid" --fail-on-error --json 2>/dev/null)
		printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$wl" "$(jq .rps <<<"$out")" "$(jq .latency_ms.p99 <<<"$out")" "$(jq '.server[0].peak_rss_mib // .server[0].rss_peak_mib // 0' <<<"$out")"
	done
	curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^licensor_signatures_(made|reused|recalled)_total' >&2
	kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=
	rm -rf "$dir"
}

echo "signing key $SIGNING_KEY, C=$CONCURRENCY, $DURATION measured; large fleet warm-up $WARMUP" >&2
printf 'devices\tworkload\treq/s\tp99 ms\tpeak RSS MiB\n'
fleet 1000 3s
fleet "$DEVICES" "$WARMUP"
fleet 1000 3s
