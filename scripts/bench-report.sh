#!/usr/bin/env bash
# bench-report.sh — every workload against one licensor on this machine, with the
# machine's own ceilings, as one markdown table.
#
# Builds the binary, starts `licensor serve` on a fresh SQLite database in a temp
# dir (127.0.0.1 only), then:
#   1. each workload at CONCURRENCY for DURATION, unpaced, sampling the server's
#      CPU and memory (--server-pid), right after its own baselines (--baselines):
#      sign-limit (RSA-2048 signatures/s on all cores) and http-limit (GET /healthz
#      req/s at the same concurrency and duration). Each ratio is to the baselines
#      measured beside it, so that a shared machine whose speed drifts during the
#      report does not skew the later workloads' ratios. BASELINES=once measures
#      them once, before every workload, as reports before 2026-11-27 did;
#   2. (BASELINES=once only: the baselines first, with --workload none);
#   3. each workload again right after its unpaced run, paced (--rate) at
#      RATE_FRACTION (80 %) of the req/s it reached there, for its p99 below
#      saturation. (Reports up to the ninth session paced every workload after all the
#      unpaced runs, minutes after the peak it was paced at; a machine whose speed
#      drifts meanwhile turns 80 % into 100 % and the p99 into a growing queue.)
# Every bench run seeds its own product and devices (seeding is not measured) and
# first runs its workload for WARMUP unmeasured and unpaced (--warmup):
# fresh devices' first answers each cost an RSA signature that later identical
# answers reuse, and with 1000 devices that cold start would otherwise dominate
# a short run and queue up the start of a paced one. WARMUP=0s measures it.
# The table's "p99 @80%" is measured from each request's due time (open loop:
# it includes any wait for a free connection when the server falls behind).
# The server is stopped and the temp dir removed on exit, failure or Ctrl-C.
#
# Settings (environment):
#   DURATION=10s WARMUP=2s CONCURRENCY=64 DEVICES=1000 VARIABLES=5 SIGN_DURATION=3s
#   WORKLOADS="track-changing track-steady check get-variables activate-churn mixed"
#   RATE_FRACTION=0.8   PORT=18491   KEEP_JSON=DIR (copy every run's JSON report there)
#   BASELINES=each (or once)
set -Eeuo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONCURRENCY=${CONCURRENCY:-64}
DEVICES=${DEVICES:-1000}
VARIABLES=${VARIABLES:-5}
SIGN_DURATION=${SIGN_DURATION:-3s}
WORKLOADS=${WORKLOADS:-track-changing track-steady check get-variables activate-churn mixed}
RATE_FRACTION=${RATE_FRACTION:-0.8}
PORT=${PORT:-18491}
KEEP_JSON=${KEEP_JSON:-}
BASELINES=${BASELINES:-each}
case $BASELINES in each | once) ;; *) echo "bench-report: BASELINES must be each or once" >&2; exit 2 ;; esac

for tool in go jq curl awk; do
	command -v "$tool" >/dev/null || { echo "bench-report: $tool is required" >&2; exit 1; }
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/scripts/lib/release-go.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/licensor-report.XXXXXX")
bin=$tmp/licensor
target=http://127.0.0.1:$PORT
server_pid=
bench_pid=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$bench_pid" ]; then
		kill -TERM "$bench_pid" 2>/dev/null || true
		wait "$bench_pid" 2>/dev/null || true
	fi
	if [ -n "$server_pid" ]; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [ -n "$KEEP_JSON" ] && compgen -G "$tmp/*.json" >/dev/null; then
		mkdir -p "$KEEP_JSON" && cp "$tmp"/*.json "$KEEP_JSON"/ || true
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "bench-report: $*" >&2
	local f
	for f in "$tmp"/*.log; do
		[ -s "$f" ] && { echo "--- $(basename "$f") (last lines)" >&2; tail -n 20 "$f" >&2; }
	done
	exit 1
}

echo "bench-report: building licensor" >&2
(cd "$root" && go build -o "$bin" ./cmd/licensor) || fail "build failed"

mkdir -p "$tmp/db"
db="sqlite:$tmp/db/licensor.db"
"$bin" init --db "$db" --json >"$tmp/creds" 2>"$tmp/init.log" || fail "init failed"
jq -r .public_key "$tmp/creds" >"$tmp/pub.pem"

if curl -fsS -o /dev/null "$target/healthz" 2>/dev/null; then
	fail "something already answers on $target; set PORT"
fi
"$bin" serve --db "$db" --addr "127.0.0.1:$PORT" >"$tmp/serve.log" 2>&1 &
server_pid=$!
for i in $(seq 1 150); do
	curl -fsS -o /dev/null "$target/healthz" 2>/dev/null && break
	kill -0 "$server_pid" 2>/dev/null || fail "the server exited during startup"
	[ "$i" = 150 ] && fail "the server did not become healthy on $target"
	sleep 0.2
done

# bench LABEL ARGS…: one bench run against the server; its JSON report goes to $tmp/LABEL.json.
bench() {
	local label=$1
	shift
	kill -0 "$server_pid" 2>/dev/null || fail "the server is gone (before $label)"
	"$bin" bench --json --target "$target" \
		--management-key "$(jq -r .management_key "$tmp/creds")" \
		--api-key "$(jq -r .api_key "$tmp/creds")" \
		--shared-key "$(jq -r .shared_key "$tmp/creds")" \
		--public-key "$tmp/pub.pem" \
		--devices "$DEVICES" --variables "$VARIABLES" \
		--concurrency "$CONCURRENCY" --duration "$DURATION" \
		--server-pid "$server_pid" "$@" \
		>"$tmp/$label.json" 2>"$tmp/$label-bench.log" &
	# In the background so that a signal to this script is handled at once.
	bench_pid=$!
	local rc=0
	wait "$bench_pid" || rc=$?
	bench_pid=
	[ "$rc" = 0 ] || fail "bench ($label) failed"
}

own=()
if [ "$BASELINES" = once ]; then
	echo "bench-report: baselines (sign-limit for $SIGN_DURATION, http-limit at C=$CONCURRENCY for $DURATION)" >&2
	bench baselines --baselines --workload none --sign-duration "$SIGN_DURATION"
else
	own=(--baselines --sign-duration "$SIGN_DURATION")
fi
for w in $WORKLOADS; do
	echo "bench-report: $w at C=$CONCURRENCY for $DURATION (after $WARMUP warm-up${own:+, after its baselines})" >&2
	bench "$w" --workload "$w" --warmup "$WARMUP" "${own[@]}"
	# Paced right after its own peak: the machine's speed drifts within minutes.
	rate=$(jq -r --argjson f "$RATE_FRACTION" '.rps * $f | . * 10 | round / 10' "$tmp/$w.json")
	echo "bench-report: $w paced at $rate req/s (${RATE_FRACTION} × its peak)" >&2
	bench "$w-paced" --workload "$w" --rate "$rate" --warmup "$WARMUP"
done

# The table. Each workload's ratios are to its own baselines (BASELINES=each) or to the
# one measurement before them all (once); the baseline rows give the range measured.
j() { jq -r "$2" "$tmp/$1.json"; }
num() { awk -v x="$1" -v d="$2" 'BEGIN { if (x == "" || x == "null") print "–"; else printf "%.*f", d, x }'; }
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (y > 0) printf "%.2f", x / y; else print "–" }'; }
if [ "$BASELINES" = once ]; then
	base_of() { echo baselines; }
	base_runs=baselines
else
	base_of() { echo "$1"; }
	base_runs=$WORKLOADS
fi
first=$(base_of "${WORKLOADS%% *}")
# range PATH: min–max of a baseline over the runs that measured one.
range() {
	local label
	for label in $base_runs; do j "$label" "$1"; done |
		awk 'NR == 1 || $1 < lo { lo = $1 } NR == 1 || $1 > hi { hi = $1 } END { if (lo == hi) printf "%.1f", lo; else printf "%.1f–%.1f", lo, hi }'
}

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo
printf 'licensor on SQLite, one instance, load generator on the same machine: %s CPUs (%s), GOMAXPROCS %s, built with %s\n' \
	"$(nproc 2>/dev/null || echo '?')" "${cpu:-unknown CPU}" "$(j "$first" .baselines.sign_limit.goroutines)" "$(go env GOVERSION)"
printf 'concurrency %s, %s measured per run after %s warm-up, %s devices per run, %s variables per track request; p99 @80%%: paced at %s × the run'"'"'s req/s, latency from due time\n' \
	"$CONCURRENCY" "$DURATION" "$WARMUP" "$DEVICES" "$VARIABLES" "$RATE_FRACTION"
if [ "$BASELINES" = once ]; then
	echo 'baselines measured once, before the workloads'
else
	echo 'baselines measured before each workload, which is compared with its own (the baseline rows give their range)'
fi
echo
echo '| workload | req/s | p50 ms | p99 ms | errors | sign-limit beside it | × sign-limit | http-limit beside it | × http-limit | server CPU cores | peak RSS MiB | p99 @80% ms | req/s @80% (asked) |'
echo '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
printf '| sign-limit (RSA-2048 signatures/s, %s goroutines) | %s | – | – | – | – | 1.00 | – | – | – | – | – | – |\n' \
	"$(j "$first" .baselines.sign_limit.goroutines)" "$(range .baselines.sign_limit.signatures_per_s)"
printf '| http-limit (GET /healthz) | %s | %s | %s | %s | – | – | – | 1.00 | %s | %s | – | – |\n' \
	"$(range .baselines.http_limit.rps)" "$(num "$(j "$first" .baselines.http_limit.latency_ms.p50)" 2)" \
	"$(num "$(j "$first" .baselines.http_limit.latency_ms.p99)" 2)" "$(j "$first" .baselines.http_limit.error_count)" \
	"$(num "$(j "$first" .baselines.http_limit.server_total.cores)" 2)" \
	"$(num "$(j "$first" .baselines.http_limit.server_total.peak_rss_mib)" 1)"
for w in $WORKLOADS; do
	rps=$(j "$w" .rps)
	b=$(base_of "$w")
	sign=$(j "$b" .baselines.sign_limit.signatures_per_s)
	http=$(j "$b" .baselines.http_limit.rps)
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s (%s) |\n' "$w" "$(num "$rps" 1)" \
		"$(num "$(j "$w" .latency_ms.p50)" 2)" "$(num "$(j "$w" .latency_ms.p99)" 2)" "$(j "$w" .error_count)" \
		"$(num "$sign" 1)" "$(ratio "$rps" "$sign")" "$(num "$http" 1)" "$(ratio "$rps" "$http")" \
		"$(num "$(j "$w" .server_total.cores)" 2)" "$(num "$(j "$w" .server_total.peak_rss_mib)" 1)" \
		"$(num "$(j "$w-paced" .latency_from_due_ms.p99)" 2)" \
		"$(num "$(j "$w-paced" .rps)" 1)" "$(num "$(j "$w-paced" .rate)" 1)"
done

# What went wrong, if anything, and what the load generator itself cost.
echo
for label in $(echo "$base_runs $WORKLOADS" | tr ' ' '\n' | awk '!seen[$0]++') $(for w in $WORKLOADS; do echo "$w-paced"; done); do
	errs=$(jq -r '([.errors, .baselines.http_limit.errors] | add // {}) | to_entries | map("\(.key)=\(.value)") | join(" ")' "$tmp/$label.json")
	bad=$(jq -r '(.signatures // {sampled: 0, verified: 0}) | .sampled - .verified' "$tmp/$label.json")
	if [ -n "$errs" ] || [ "$bad" != 0 ]; then
		echo "- $label: errors ${errs:-none}; $bad sampled signatures did not verify"
	fi
done
printf -- '- load generator CPU (cores): http-limit %s' "$(num "$(j "$first" .baselines.http_limit.bench_cores)" 2)"
for w in $WORKLOADS; do
	printf ', %s %s' "$w" "$(num "$(j "$w" .bench_cores)" 2)"
done
echo
printf -- '- paced p99 from send (not due) time, ms:'
for w in $WORKLOADS; do
	printf ' %s %s' "$w" "$(num "$(j "$w-paced" .latency_ms.p99)" 2)"
done
echo
# A paced pass that fell behind its rate measured a queue that grew for the whole run.
behind=
for w in $WORKLOADS; do
	if awk -v got="$(j "$w-paced" .rps)" -v asked="$(j "$w-paced" .rate)" 'BEGIN { exit !(got < 0.97 * asked) }'; then
		behind="$behind $w"
	fi
done
if [ -n "$behind" ]; then
	echo "- paced pass fell behind its rate (under 97 % of asked):$behind; their p99 @80% measures a growing queue, not the server at 80 %"
fi
