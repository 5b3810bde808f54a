#!/usr/bin/env bash
# bench-growth.sh — check and track-steady on a large seeded fleet against a
# 1,000-device fleet, both on SQLite, for one build of licensor or to compare several
# (git revisions; "." is the working tree, the default).
#
# Both databases are seeded once. The large fleet is first driven for WARMUP
# (unmeasured, by the last build) so that every device has been answered once — as in
# production, where each device heartbeats again and again — and every measured run
# then sees second visits, whose signatures come from the per-device memo rather than
# from a new signature. Then, ROUNDS times, each build in turn serves both fleets for
# check and track-steady (a fresh server per run, SHORT warm-up), so the shared
# machine's noise hits every build alike. Prints one line per run and, per build, the
# mean req/s of each fleet and large / 1 k.
#
#   DEVICES=100000 WARMUP=150s scripts/bench-growth.sh            # the working tree
#   DEVICES=100000 WARMUP=150s scripts/bench-growth.sh HEAD~1 .   # two builds, alternating
#
# Settings: DEVICES=100000 VARIABLES=10 SIGNING_KEY=rsa-2048 WARMUP=150s SHORT=5s
#   DURATION=10s ROUNDS=2 CONCURRENCY=64 PORT=18811
set -Eeuo pipefail
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
[ $# -gt 0 ] || set -- .
revs=("$@") names=()
for rev in "${revs[@]}"; do
	names+=("b${#names[@]}")
	build "$rev" "${names[-1]}"
done

# seed N: a fresh database of N devices in $tmp/fleetN, with its credentials and key.
seed() {
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

# measure BUILD N WORKLOAD WARM: one server of BUILD on fleet N, one bench; prints
# "req/s cores p99 peak-RSS".
measure() {
	dir=$tmp/fleet$2
	creds=$(cat "$dir/creds.json")
	start_server "$tmp/$1" "sqlite:$dir/l.db" "$dir"
	local out
	out=$(bench --fleet fleet --devices "$2" --workload "$3" --variables 5 --warmup "$4" --server-pid "$pid")
	stop_server
	echo "$(jq .rps <<<"$out") $(jq '.server[0].cores' <<<"$out") $(jq .latency_ms.p99 <<<"$out") $(jq '.server[0].peak_rss_mib' <<<"$out")"
}

echo "builds: $*; signing key $SIGNING_KEY, C=$CONCURRENCY, $DURATION measured after $SHORT; large fleet's memo filled for $WARMUP per workload" >&2
for wl in check track-steady; do
	measure "${names[-1]}" "$DEVICES" "$wl" "$WARMUP" >/dev/null
done
declare -A sum
for round in $(seq "$ROUNDS"); do
	for i in "${!names[@]}"; do
		for n in 1000 "$DEVICES"; do
			for wl in check track-steady; do
				read -r rps cores p99 rss < <(measure "${names[$i]}" "$n" "$wl" "$SHORT")
				printf 'round %s  %-10s %7s devices  %-12s %9.1f req/s  %5.2f cores  %6.1f µs CPU/request  p99 %6.1f ms  peak RSS %6.1f MiB\n' \
					"$round" "${revs[$i]}" "$n" "$wl" "$rps" "$cores" "$(awk -v c="$cores" -v r="$rps" 'BEGIN{print c*1e6/r}')" "$p99" "$rss" >&2
				sum[$i.$n.$wl]=$(awk -v s="${sum[$i.$n.$wl]:-0}" -v r="$rps" 'BEGIN{print s+r}')
			done
		done
	done
done
for i in "${!names[@]}"; do
	for wl in check track-steady; do
		awk -v b="${revs[$i]}" -v wl="$wl" -v n="$DEVICES" -v k="${sum[$i.1000.$wl]}" -v l="${sum[$i.$DEVICES.$wl]}" -v r="$ROUNDS" \
			'BEGIN{printf "%-10s %-12s 1,000 devices %9.1f req/s   %s devices %9.1f req/s   ratio %.2f\n", b, wl, k/r, n, l/r, l/k}'
	done
done
