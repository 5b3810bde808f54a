#!/usr/bin/env bash
# bench-groupcommit.sh — the same write-heavy load against SQLite with group commit on
# (the default, max_batch=64) and off (max_batch=1), in both durability modes, alternating
# the two so the shared machine's noise hits both alike. Prints one line per run and the
# on/off ratio per mode.
#
# Settings (environment): WORKLOAD=track-changing SIGNING_KEY=ecdsa-p256 (or rsa-2048)
#   CONCURRENCY=64 DURATION=8s WARMUP=2s DEVICES=1000 ROUNDS=2 PORT=18591
set -Eeuo pipefail
WORKLOAD=${WORKLOAD:-track-changing}
SIGNING_KEY=${SIGNING_KEY:-ecdsa-p256}
CONCURRENCY=${CONCURRENCY:-64}
DURATION=${DURATION:-8s}
WARMUP=${WARMUP:-2s}
DEVICES=${DEVICES:-1000}
ROUNDS=${ROUNDS:-2}
PORT=${PORT:-18591}
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench-common.sh"

# run MODE BATCH: one fresh database, one server, one bench; prints req/s.
run() {
	local mode=$1 batch=$2 dir db creds out
	dir=$(mktemp -d "$tmp/db.XXXX")
	db="sqlite:$dir/l.db?synchronous=$mode&max_batch=$batch"
	init_db "$tmp/licensor" "$db" "$dir"
	start_server "$tmp/licensor" "$db" "$dir"
	out=$(bench --workload "$WORKLOAD" --management-key "$(jq -r .management_key <<<"$creds")" \
		--devices "$DEVICES" --warmup "$WARMUP")
	local batches
	batches=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^licensor_write_batch_size_(sum|count)/{v[$1]=$2} END{if (v["licensor_write_batch_size_count"]>0) printf "%.1f", v["licensor_write_batch_size_sum"]/v["licensor_write_batch_size_count"]; else print "-"}')
	stop_server
	printf '%-7s max_batch=%-3s %8.1f req/s  p99 %7.1f ms  mean batch %s\n' "$mode" "$batch" \
		"$(jq .rps <<<"$out")" "$(jq .latency_ms.p99 <<<"$out")" "$batches" >&2
	jq .rps <<<"$out"
}

echo "workload $WORKLOAD, signing key $SIGNING_KEY, C=$CONCURRENCY, $DURATION after $WARMUP warm-up" >&2
for mode in normal full; do
	on=0; off=0
	for _ in $(seq "$ROUNDS"); do
		off=$(awk -v a="$off" -v b="$(run "$mode" 1)" 'BEGIN{print a+b}')
		on=$(awk -v a="$on" -v b="$(run "$mode" 64)" 'BEGIN{print a+b}')
	done
	awk -v m="$mode" -v on="$on" -v off="$off" -v n="$ROUNDS" 'BEGIN{printf "%-7s group commit on/off: %.0f / %.0f req/s = %.2fx\n", m, on/n, off/n, on/off}'
done
