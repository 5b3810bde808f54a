#!/usr/bin/env bash
# bench-growth.sh — check and track-steady on a large seeded fleet against a
# 1,000-device fleet, both on SQLite (or both on PostgreSQL: DB=postgres), for one
# build of licensor or to compare several (git revisions; "." is the working tree, the
# default).
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
#   DB=postgres DEVICES=1000000 SIGNING_KEY=ecdsa-p256 WARMUP=600s scripts/bench-growth.sh
#
# With DB=postgres each fleet is a schema of its own on PG_URL (created here, dropped
# on exit), served by one instance; the database server runs beside it on this machine.
#
# Settings: DEVICES=100000 VARIABLES=10 SIGNING_KEY=rsa-2048 WARMUP=150s SHORT=5s
#   DURATION=10s ROUNDS=2 CONCURRENCY=64 PORT=18811 DB=sqlite
#   PG_URL=postgres://postgres@127.0.0.1:5432/test (DB=postgres; needs CREATE SCHEMA rights)
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
DB=${DB:-sqlite}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
case $DB in sqlite | postgres) ;; *) echo "bench-growth: DB must be sqlite or postgres" >&2; exit 2 ;; esac
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench-common.sh"
schemas=()
drop_schemas() {
	for s in "${schemas[@]}"; do
		psql "$PG_URL" -q -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || echo "bench-growth: could not drop schema $s" >&2
	done
}
trap 'cleanup; drop_schemas' EXIT
[ $# -gt 0 ] || set -- .
revs=("$@") names=()
for rev in "${revs[@]}"; do
	names+=("b${#names[@]}")
	build "$rev" "${names[-1]}"
done

# fleet_schema N: the PostgreSQL schema of the fleet of N devices (DB=postgres).
fleet_schema() { echo "licensor_growth_$$_$1"; }

# fleet_db N: the database URL of the fleet of N devices.
fleet_db() {
	if [ "$DB" = sqlite ]; then
		echo "sqlite:$tmp/fleet$1/l.db"
	else
		local sep='?'
		[[ $PG_URL == *\?* ]] && sep='&'
		echo "$PG_URL${sep}search_path=$(fleet_schema "$1")"
	fi
}

# seed N: a fresh database of N devices (in $tmp/fleetN, or its own schema), with its
# credentials and key in $tmp/fleetN.
seed() {
	dir=$tmp/fleet$1
	mkdir -p "$dir"
	if [ "$DB" = postgres ]; then
		schemas+=("$(fleet_schema "$1")")
		psql "$PG_URL" -q -v ON_ERROR_STOP=1 -c "CREATE SCHEMA ${schemas[-1]}" >/dev/null
	fi
	init_db "$tmp/licensor" "$(fleet_db "$1")" "$dir"
	echo "$creds" >"$dir/creds.json"
	local t0=$SECONDS
	if ! "$tmp/licensor" seed --db "$(fleet_db "$1")" --product fleet --devices "$1" --variables "$VARIABLES" >"$dir/seed.log" 2>&1; then
		tail -5 "$dir/seed.log" >&2
		echo "bench-growth: seeding $1 devices failed" >&2
		exit 1
	fi
	echo "seeded $1 devices in $((SECONDS - t0)) s" >&2
}
seed 1000
seed "$DEVICES"

# measure BUILD N WORKLOAD WARM: one server of BUILD on fleet N, one bench; prints
# "req/s cores p99 peak-RSS".
measure() {
	dir=$tmp/fleet$2
	creds=$(cat "$dir/creds.json")
	start_server "$tmp/$1" "$(fleet_db "$2")" "$dir"
	local out
	out=$(bench --fleet fleet --devices "$2" --workload "$3" --variables 5 --warmup "$4" --server-pid "$pid")
	stop_server
	echo "$(jq .rps <<<"$out") $(jq '.server[0].cores' <<<"$out") $(jq .latency_ms.p99 <<<"$out") $(jq '.server[0].peak_rss_mib' <<<"$out")"
}

[ "$DB" = postgres ] && echo "cores and CPU/request are licensor's alone, not PostgreSQL's (on this machine too)" >&2
echo "builds: $*; $DB; signing key $SIGNING_KEY, C=$CONCURRENCY, $DURATION measured after $SHORT; large fleet's memo filled for $WARMUP per workload" >&2
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
