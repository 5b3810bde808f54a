# bench-common.sh — sourced by the single-server bench scripts: builds licensor into a
# fresh temp dir ($tmp/licensor) and, on exit, stops the server whose pid is in $pid
# and removes $tmp. Sets root (the repository) and tmp, and defines the helpers below
# (build, init_db, start_server, stop_server, bench).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/scripts/lib/release-go.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/licensor-bench.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
(cd "$root" && go build -o "$tmp/licensor" ./cmd/licensor)

# build REV NAME: builds git revision REV into $tmp/NAME ("." is the working tree, as
# built above into $tmp/licensor).
build() {
	if [ "$1" = "." ]; then
		cp "$tmp/licensor" "$tmp/$2"
		return
	fi
	local src=$tmp/src-$2
	mkdir -p "$src"
	(cd "$root" && git archive "$(git rev-parse --verify "$1^{commit}")") | tar -x -C "$src"
	(cd "$src" && go build -o "$tmp/$2" ./cmd/licensor)
}

# init_db BIN DB DIR: initialises database URL DB with a $SIGNING_KEY key; sets creds
# (init's JSON) and writes DIR/pub.pem.
init_db() {
	creds=$("$1" init --db "$2" --json --signing-key "$SIGNING_KEY" 2>/dev/null)
	jq -r .public_key <<<"$creds" >"$3/pub.pem"
}

# start_server BIN DB DIR: serves DB on 127.0.0.1:$PORT (pid in $pid, log in DIR) and
# waits until /healthz answers.
start_server() {
	"$1" serve --db "$2" --addr "127.0.0.1:$PORT" 2>"$3/serve.log" &
	pid=$!
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
}

# stop_server: stops the server start_server started.
stop_server() { kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

# bench BENCH-FLAGS…: runs the load generator against the server with the credentials
# init_db set (DIR/pub.pem from $dir), printing its JSON report.
bench() {
	"$tmp/licensor" bench --target "http://127.0.0.1:$PORT" --api-key "$(jq -r .api_key <<<"$creds")" \
		--shared-key "$(jq -r .shared_key <<<"$creds")" --public-key "$dir/pub.pem" \
		--concurrency "$CONCURRENCY" --duration "$DURATION" --fail-on-error --json "$@" 2>/dev/null
}
