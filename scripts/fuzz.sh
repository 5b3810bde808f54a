#!/usr/bin/env bash
# Runs every Go native fuzz target (func FuzzX(f *testing.F) in internal/ and client/) one
# after another for FUZZTIME each and prints one summary line per target.
#
#   FUZZTIME=30s     how long each target runs (go test -fuzztime: 30s, 5m, 10000x)
#   FUZZ_PARALLEL=   fuzzing workers per target (go test -parallel; default GOMAXPROCS)
#   FUZZ_TARGETS=    regular expression selecting targets by name (default: all)
#   FUZZ_LOGDIR=     where each target's full output is kept (default: a temp directory)
#
# Exits 1 if any target found a failing input. go test writes that input to
# <package>/testdata/fuzz/<FuzzX>/<hash>; commit it so it stays a regression test
# (plain `go test ./...` replays every committed corpus file).
set -uo pipefail

cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-30s}
FUZZ_PARALLEL=${FUZZ_PARALLEL:-}
FUZZ_TARGETS=${FUZZ_TARGETS:-.}
FUZZ_LOGDIR=${FUZZ_LOGDIR:-$(mktemp -d "${TMPDIR:-/tmp}/licensor-fuzz.XXXXXX")}
mkdir -p "$FUZZ_LOGDIR"

# package<TAB>target, one per fuzz target.
mapfile -t targets < <(
	grep -HoE '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' --include='*_test.go' -r internal client 2>/dev/null |
		sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#./\1\t\2#' |
		sort -u | awk -F'\t' -v re="$FUZZ_TARGETS" '$2 ~ re'
)
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz.sh: no fuzz targets match '$FUZZ_TARGETS'" >&2
	exit 2
fi

parallel=()
if [ -n "$FUZZ_PARALLEL" ]; then
	parallel=(-parallel "$FUZZ_PARALLEL")
fi

echo "fuzz.sh: ${#targets[@]} targets, $FUZZTIME each, logs in $FUZZ_LOGDIR"
failed=0
for t in "${targets[@]}"; do
	pkg=${t%%$'\t'*}
	name=${t##*$'\t'}
	log="$FUZZ_LOGDIR/$name.log"
	start=$(date +%s)
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "${parallel[@]}" "$pkg" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	# Last progress line: "fuzz: elapsed: 30s, execs: 123456 (4115/sec), new interesting: 3 (total: 40)"
	# (its rate is of the last interval only, often 0/sec: dropped).
	progress=$(grep -E '^fuzz: elapsed: .*execs:' "$log" | tail -n 1 | sed -E 's/^fuzz: //; s/ \([0-9]+\/sec\)//')
	if [ $rc -eq 0 ]; then
		printf 'PASS  %-24s %-22s %4ss  %s\n' "$name" "$pkg" "$secs" "${progress:-no progress line}"
	else
		failed=1
		input=$(grep -oE 'testdata/fuzz/[^ ]+' "$log" | head -n 1)
		printf 'FAIL  %-24s %-22s %4ss  %s\n' "$name" "$pkg" "$secs" "${progress:-no progress line}"
		if [ -n "$input" ]; then
			echo "      failing input: $pkg/$input (log: $log)"
		else
			echo "      log: $log"
		fi
		grep -E -m 5 '^\s+(fuzz_test|[a-z_]+_test)\.go:[0-9]+:|panic:|--- FAIL' "$log" | sed 's/^/      /'
	fi
done
exit $failed
