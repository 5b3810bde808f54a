#!/usr/bin/env bash
# bench-growth-ab.sh — the growth comparison (bench-growth.sh) for two builds of
# licensor (git revisions A and B; "." is the working tree), on the same two databases:
# a DEVICES fleet and a 1,000-device one, seeded once. The large fleet's per-device
# signature memo is filled once first (every device answered, WARMUP per workload, by
# build B), so every measured run sees second visits. Then, ROUNDS times, A and B in
# turn each serve both fleets for check and track-steady (a fresh server per run, SHORT
# warm-up). Prints one line per run and, per build, the means and large / 1 k.
#
#   DEVICES=100000 WARMUP=150s scripts/bench-growth-ab.sh HEAD .
#
# Settings: DEVICES=100000 VARIABLES=10 SIGNING_KEY=rsa-2048 WARMUP=150s SHORT=5s
#   DURATION=10s ROUNDS=2 CONCURRENCY=64 PORT=18811
set -Eeuo pipefail
[ $# -eq 2 ] || { echo "usage: $0 REV_A REV_B" >&2; exit 2; }
DEVICES=${DEVICES:-100000}
VARIABLES=${VARIABLES:-10}
SIGNING_KEY=${SIGNING_KEY:-rsa-2048}
WARMUP=${WARMUP:-150s}
SHORT=${SHORT:-5s}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
CONCURRENCY=${CONCURRENCY:-64}
PORT=${PORT:-18811}
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench-common.sh"
build "$1" a
build "$2" b

# One directory per fleet: its database, credentials and public key.
seed() { # seed N: a fresh database of N devices in $tmp/fleetN
	dir=$tmp/fleet$1
	mkdir -p "$dir"
	init_db "$tmp/licensor" "sqlite:$dir/l.db" "$dir"
	echo "$creds" >"$dir/creds.json"
	local t0=$SECONDS
	"$tmp/licensor" seed --db "sqlite:$dir/l.db" --product fleet --devices "$1" --variables "$VARIABLES" >/dev/null 2>&1
	echo "seeded $1 devices in $((SECONDS - t0)) s" >&2
}
seed 1000
seed "$DEVICES"

# measure BIN N WORKLOAD WARM: one server of BIN on fleet N, one bench; prints "req/s cores p99".
measure() {
	dir=$tmp/fleet$2
	creds=$(cat "$dir/creds.json")
	start_server "$tmp/$1" "sqlite:$dir/l.db" "$dir"
	local out
	out=$(bench --fleet fleet --devices "$2" --workload "$3" --variables 5 --warmup "$4" --server-pid "$pid")
	stop_server
	echo "$(jq .rps <<<"$out") $(jq '.server[0].cores' <<<"$out") $(jq .latency_ms.p99 <<<"$out")"
}

echo "A = $1, B = $2; signing key $SIGNING_KEY, C=$CONCURRENCY, $DURATION measured after $SHORT; memo filled for $WARMUP per workload" >&2
for wl in check track-steady; do
	measure b "$DEVICES" "$wl" "$WARMUP" >/dev/null
done
declare -A sum
for round in $(seq "$ROUNDS"); do
	for build in a b; do
		for n in 1000 "$DEVICES"; do
			for wl in check track-steady; do
				read -r rps cores p99 < <(measure "$build" "$n" "$wl" "$SHORT")
				printf 'round %s  %s  %7s devices  %-12s %9.1f req/s  %5.2f cores  %6.1f µs CPU/request  p99 %6.1f ms\n' \
					"$round" "$build" "$n" "$wl" "$rps" "$cores" "$(awk -v c="$cores" -v r="$rps" 'BEGIN{print c*1e6/r}')" "$p99" >&2
				sum[$build.$n.$wl]=$(awk -v s="${sum[$build.$n.$wl]:-0}" -v r="$rps" 'BEGIN{print s+r}')
			done
		done
	done
done
for build in a b; do
	for wl in check track-steady; do
		awk -v b="$build" -v wl="$wl" -v n="$DEVICES" -v k="${sum[$build.1000.$wl]}" -v l="${sum[$build.$DEVICES.$wl]}" -v r="$ROUNDS" \
			'BEGIN{printf "%s  %-12s 1 k %9.1f req/s  %s %9.1f req/s  ratio %.2f\n", b, wl, k/r, n, l/r, l/k}'
	done
done
