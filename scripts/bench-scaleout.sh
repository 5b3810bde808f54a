#!/usr/bin/env bash
# bench-scaleout.sh — one plain track-changing load against
#   (a) one licensor instance on SQLite,
#   (b) one instance on PostgreSQL,
#   (c) three instances on the same PostgreSQL database,
# printed side by side with the ratios to (a).
#
# Each setup gets a fresh database (a temp dir for SQLite, a new schema for
# PostgreSQL), `licensor init --json` for its keys, its own seeded product and
# devices (seeding is not measured). Everything listens on 127.0.0.1; servers
# are stopped and schemas dropped on exit, failure or Ctrl-C.
#
# Settings (environment):
#   WORKLOAD=track-changing (or any other `licensor bench --workload`) CONCURRENCY=64 DURATION=10s DEVICES=1000 VARIABLES=5
#   PG_URL=postgres://postgres@127.0.0.1:5432/test   (needs CREATE SCHEMA rights)
#   POOL_MAX_CONNS=     pgx pool size per instance (empty: licensor's default)
#   BASE_PORT=18481     ports BASE_PORT … BASE_PORT+2
set -Eeuo pipefail

CONCURRENCY=${CONCURRENCY:-64}
DURATION=${DURATION:-10s}
DEVICES=${DEVICES:-1000}
VARIABLES=${VARIABLES:-5}
WORKLOAD=${WORKLOAD:-track-changing}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
POOL_MAX_CONNS=${POOL_MAX_CONNS:-}
BASE_PORT=${BASE_PORT:-18481}

for tool in go jq psql curl awk; do
	command -v "$tool" >/dev/null || { echo "bench-scaleout: $tool is required" >&2; exit 1; }
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/licensor-scaleout.XXXXXX")
bin=$tmp/licensor
pids=()
schemas=()
bench_pid=

stop_servers() {
	local pid
	if [ -n "$bench_pid" ]; then
		kill -TERM "$bench_pid" 2>/dev/null || true
		wait "$bench_pid" 2>/dev/null || true
		bench_pid=
	fi
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	pids=()
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_servers
	local s
	for s in "${schemas[@]}"; do
		psql "$PG_URL" -q -v ON_ERROR_STOP=1 -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 ||
			echo "bench-scaleout: could not drop schema $s" >&2
	done
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "bench-scaleout: $*" >&2
	local f
	for f in "$tmp"/*.log; do
		[ -s "$f" ] && { echo "--- $(basename "$f") (last lines)" >&2; tail -n 20 "$f" >&2; }
	done
	exit 1
}

# pg_url SCHEMA: the PostgreSQL URL whose search_path is SCHEMA.
pg_url() {
	local sep='?'
	[[ $PG_URL == *\?* ]] && sep='&'
	local u="$PG_URL${sep}search_path=$1"
	[ -n "$POOL_MAX_CONNS" ] && u+="&pool_max_conns=$POOL_MAX_CONNS"
	echo "$u"
}

# new_schema NAME: create a fresh schema (dropped on exit); its URL goes to $schema_url.
new_schema() {
	local s="licensor_bench_$$_$1"
	schemas+=("$s")
	psql "$PG_URL" -q -v ON_ERROR_STOP=1 -c "CREATE SCHEMA $s" >/dev/null || fail "cannot create schema $s on $PG_URL"
	schema_url=$(pg_url "$s")
}

# start NAME DB PORT: start one server, wait until /healthz answers.
start() {
	local name=$1 db=$2 port=$3
	"$bin" serve --db "$db" --addr "127.0.0.1:$port" >"$tmp/$name.log" 2>&1 &
	local pid=$!
	pids+=("$pid")
	for _ in $(seq 1 150); do
		curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || fail "server $name exited during startup"
		sleep 0.2
	done
	fail "server $name did not become healthy on port $port"
}

# measure LABEL DB INSTANCES: init DB, start INSTANCES servers on it, run the bench,
# stop them; leaves the JSON report in $tmp/LABEL.json.
measure() {
	local label=$1 db=$2 n=$3
	"$bin" init --db "$db" --json >"$tmp/$label.creds.json" 2>"$tmp/$label-init.log" || fail "init $label failed"
	jq -r .public_key "$tmp/$label.creds.json" >"$tmp/$label.pub.pem"
	local targets=() i
	for ((i = 0; i < n; i++)); do
		start "$label-serve$i" "$db" $((BASE_PORT + i))
		targets+=("http://127.0.0.1:$((BASE_PORT + i))")
	done
	local IFS=,
	echo "bench-scaleout: ($label) $n instance(s): seeding $DEVICES devices, then $DURATION of $WORKLOAD at C=$CONCURRENCY" >&2
	"$bin" bench --json --target "${targets[*]}" \
		--management-key "$(jq -r .management_key "$tmp/$label.creds.json")" \
		--api-key "$(jq -r .api_key "$tmp/$label.creds.json")" \
		--shared-key "$(jq -r .shared_key "$tmp/$label.creds.json")" \
		--public-key "$tmp/$label.pub.pem" \
		--workload "$WORKLOAD" --variables "$VARIABLES" \
		--devices "$DEVICES" --concurrency "$CONCURRENCY" --duration "$DURATION" \
		>"$tmp/$label.json" 2>"$tmp/$label-bench.log" &
	# In the background so that a signal to this script is handled at once.
	bench_pid=$!
	local rc=0
	wait "$bench_pid" || rc=$?
	bench_pid=
	[ "$rc" = 0 ] || fail "bench ($label) failed"
	stop_servers
}

echo "bench-scaleout: building licensor" >&2
(cd "$root" && go build -o "$bin" ./cmd/licensor) || fail "build failed"

mkdir -p "$tmp/a"
measure a "sqlite:$tmp/a/licensor.db" 1
new_schema b
measure b "$schema_url" 1
new_schema c
measure c "$schema_url" 3

# The table.
field() { jq -r "$2" "$tmp/$1.json"; }
a_rps=$(field a .rps)
a_p99=$(field a .latency_ms.p99)
echo
printf '%s: %s devices, concurrency %s, %s, %s variables/request; %s CPUs; pool_max_conns=%s\n' \
	"$WORKLOAD" "$DEVICES" "$CONCURRENCY" "$DURATION" "$VARIABLES" "$(nproc 2>/dev/null || echo '?')" "${POOL_MAX_CONNS:-default}"
printf '%-30s %9s %10s %9s %9s %8s %11s %10s\n' setup requests 'req/s' 'p50 ms' 'p99 ms' errors 'req/s vs a' 'p99 vs a'
row() {
	local label=$1 title=$2
	local rps p99
	rps=$(field "$label" .rps)
	p99=$(field "$label" .latency_ms.p99)
	printf '%-30s %9s %10.1f %9.2f %9.2f %8s %11s %10s\n' "$title" "$(field "$label" .requests)" "$rps" \
		"$(field "$label" .latency_ms.p50)" "$p99" "$(field "$label" .error_count)" \
		"$(awk -v x="$rps" -v y="$a_rps" 'BEGIN { if (y > 0) printf "%.2f", x / y; else print "-" }')" \
		"$(awk -v x="$p99" -v y="$a_p99" 'BEGIN { if (y > 0) printf "%.2f", x / y; else print "-" }')"
}
row a '(a) SQLite, 1 instance'
row b '(b) PostgreSQL, 1 instance'
row c '(c) PostgreSQL, 3 instances'
for label in a b c; do
	if [ "$(field "$label" .error_count)" != 0 ]; then
		echo "errors in ($label): $(field "$label" '.errors | to_entries | map("\(.key)=\(.value)") | join(" ")')"
	fi
done
