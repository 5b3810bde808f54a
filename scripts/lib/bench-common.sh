# bench-common.sh — sourced by the single-server bench scripts: builds licensor into a
# fresh temp dir ($tmp/licensor) and, on exit, stops the server whose pid is in $pid
# and removes $tmp. Sets root (the repository) and tmp.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/licensor-bench.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
(cd "$root" && go build -o "$tmp/licensor" ./cmd/licensor)
