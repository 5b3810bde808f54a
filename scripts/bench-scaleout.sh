#!/usr/bin/env bash
# bench-scaleout.sh — each workload against
#   one licensor instance on SQLite, and
#   1, 2, … instances (PG_INSTANCES) on one PostgreSQL database,
# printed as one markdown table with the ratios to SQLite.
#
# Each setup gets a fresh database (a temp dir for SQLite, a new schema for
# PostgreSQL), `licensor init --json` for its keys, its own seeded product and
# devices (seeding is not measured). Everything listens on 127.0.0.1; servers
# are stopped and schemas dropped on exit, failure or Ctrl-C.
#
# Settings (environment):
#   WORKLOADS="track-changing" (any of `licensor bench --workload`, space-separated)
#   PG_INSTANCES="1 2"  CONCURRENCY=64 DURATION=10s DEVICES=1000 VARIABLES=5
#   PG_URL=postgres://postgres@127.0.0.1:5432/test   (needs CREATE SCHEMA rights)
#   POOL_MAX_CONNS=     pgx pool size per instance (empty: licensor's default)
#   BASE_PORT=18481     ports BASE_PORT … BASE_PORT+n-1
set -Eeuo pipefail

CONCURRENCY=${CONCURRENCY:-64}
DURATION=${DURATION:-10s}
DEVICES=${DEVICES:-1000}
VARIABLES=${VARIABLES:-5}
WORKLOADS=${WORKLOADS:-${WORKLOAD:-track-changing}}
PG_INSTANCES=${PG_INSTANCES:-1 2}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
POOL_MAX_CONNS=${POOL_MAX_CONNS:-}
BASE_PORT=${BASE_PORT:-18481}

for tool in go jq psql curl awk; do
	command -v "$tool" >/dev/null || { echo "bench-scaleout: $tool is required" >&2; exit 1; }
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/scripts/lib/release-go.sh"
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

# Every workload against every setup: SQLite, then PostgreSQL with each count of
# instances in PG_INSTANCES, each on a fresh database.
labels=()
for wl in $WORKLOADS; do
	WORKLOAD=$wl
	mkdir -p "$tmp/$wl-sqlite"
	measure "$wl-sqlite" "sqlite:$tmp/$wl-sqlite/licensor.db" 1
	for n in $PG_INSTANCES; do
		new_schema "${wl//-/_}_pg$n"
		measure "$wl-pg$n" "$schema_url" "$n"
	done
done

# The table (markdown).
field() { jq -r "$2" "$tmp/$1.json"; }
echo
printf '%s devices, concurrency %s, %s, %s variables/request; %s CPUs; pool_max_conns=%s\n\n' \
	"$DEVICES" "$CONCURRENCY" "$DURATION" "$VARIABLES" "$(nproc 2>/dev/null || echo '?')" "${POOL_MAX_CONNS:-default}"
echo '| workload | setup | req/s | p50 ms | p99 ms | errors | req/s vs SQLite |'
echo '|---|---|---:|---:|---:|---:|---:|'
row() {
	local wl=$1 label=$2 title=$3 base rps
	base=$(field "$wl-sqlite" .rps)
	rps=$(field "$label" .rps)
	printf '| %s | %s | %.1f | %.2f | %.2f | %s | %s |\n' "$wl" "$title" "$rps" \
		"$(field "$label" .latency_ms.p50)" "$(field "$label" .latency_ms.p99)" "$(field "$label" .error_count)" \
		"$(awk -v x="$rps" -v y="$base" 'BEGIN { if (y > 0) printf "%.2f", x / y; else print "-" }')"
}
for wl in $WORKLOADS; do
	row "$wl" "$wl-sqlite" 'SQLite, 1 instance'
	for n in $PG_INSTANCES; do
		row "$wl" "$wl-pg$n" "PostgreSQL, $n instance(s)"
	done
done
for f in "$tmp"/*.json; do
	case $f in *.creds.json) continue ;; esac
	label=$(basename "$f" .json)
	if [ "$(field "$label" .error_count)" != 0 ]; then
		echo "errors in ($label): $(field "$label" '.errors | to_entries | map("\(.key)=\(.value)") | join(" ")')"
	fi
done
