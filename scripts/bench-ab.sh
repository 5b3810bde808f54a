#!/usr/bin/env bash
# bench-ab.sh — one workload against two builds of licensor (git revisions A and B),
# alternating A, B, A, B … on a fresh SQLite database per run, so the shared machine's
# noise hits both alike. Prints one line per run (req/s, server cores, server CPU µs per
# request, p99) and the means with the ratio B / A.
#
#   scripts/bench-ab.sh HEAD~1 HEAD            # A = HEAD~1, B = HEAD
#   WORKLOAD=track-steady ROUNDS=3 scripts/bench-ab.sh main my-branch
#
# B may be "." for the working tree as it is (uncommitted changes included).
# Settings (environment): WORKLOAD=check SIGNING_KEY=rsa-2048 CONCURRENCY=64 DURATION=8s
#   WARMUP=2s DEVICES=1000 ROUNDS=3 PORT=18593
set -Eeuo pipefail
[ $# -eq 2 ] || { echo "usage: $0 REV_A REV_B" >&2; exit 2; }
WORKLOAD=${WORKLOAD:-check}
SIGNING_KEY=${SIGNING_KEY:-rsa-2048}
CONCURRENCY=${CONCURRENCY:-64}
DURATION=${DURATION:-8s}
WARMUP=${WARMUP:-2s}
DEVICES=${DEVICES:-1000}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18593}
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench-common.sh"

build "$1" a
build "$2" b

# run NAME: one fresh database, one server of build NAME, one bench (the working tree's
# load generator for both); prints "req/s cores".
run() {
	local bin=$tmp/$1 dir db creds out
	dir=$(mktemp -d "$tmp/db.XXXX")
	db="sqlite:$dir/l.db"
	init_db "$bin" "$db" "$dir"
	start_server "$bin" "$db" "$dir"
	out=$(bench --workload "$WORKLOAD" --management-key "$(jq -r .management_key <<<"$creds")" \
		--devices "$DEVICES" --warmup "$WARMUP" --server-pid "$pid")
	stop_server
	rm -rf "$dir"
	local rps cores
	rps=$(jq .rps <<<"$out")
	cores=$(jq '.server[0].cores' <<<"$out")
	printf '%s  %-14s %9.1f req/s  %5.2f cores  %6.1f µs CPU/request  p99 %6.1f ms\n' "$1" "$WORKLOAD" \
		"$rps" "$cores" "$(awk -v c="$cores" -v r="$rps" 'BEGIN{print c*1e6/r}')" "$(jq .latency_ms.p99 <<<"$out")" >&2
	echo "$rps $cores"
}

echo "A = $1, B = $2; $WORKLOAD, C=$CONCURRENCY, $DURATION after $WARMUP warm-up, $ROUNDS rounds" >&2
sa=0 sb=0 ca=0 cb=0
for _ in $(seq "$ROUNDS"); do
	read -r r c < <(run a); sa=$(awk -v s="$sa" -v r="$r" 'BEGIN{print s+r}'); ca=$(awk -v s="$ca" -v r="$c" -v q="$r" 'BEGIN{print s+r*1e6/q}')
	read -r r c < <(run b); sb=$(awk -v s="$sb" -v r="$r" 'BEGIN{print s+r}'); cb=$(awk -v s="$cb" -v r="$c" -v q="$r" 'BEGIN{print s+r*1e6/q}')
done
awk -v sa="$sa" -v sb="$sb" -v ca="$ca" -v cb="$cb" -v n="$ROUNDS" 'BEGIN{
	printf "mean  A %.1f req/s, %.1f µs CPU/request   B %.1f req/s, %.1f µs CPU/request   B/A req/s %.2f×, CPU/request %.2f×\n",
		sa/n, ca/n, sb/n, cb/n, sb/sa, cb/ca }'
