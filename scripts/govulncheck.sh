#!/usr/bin/env bash
# Runs govulncheck on the module and fails on any vulnerability that the code reaches.
#
# It uses vuln.go.dev when that answers; otherwise (air-gapped machines, CI here) it
# builds the database offline from the golang.org/x/vulndb module, which the Go module
# proxy serves. Bump VULNDB_VERSION (`go list -m -versions golang.org/x/vulndb` or the
# newest pseudo-version the proxy knows) to pick up newer reports.
set -euo pipefail
cd "$(dirname "$0")/.."

VULN_VERSION=v1.9.0
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018

args=()
if [ -n "${LICENSOR_VULNDB:-}" ]; then
  args=(-db "$LICENSOR_VULNDB")
elif curl -sf -m 5 -o /dev/null https://vuln.go.dev/index/db.json 2>/dev/null; then
  echo "govulncheck: using https://vuln.go.dev" >&2
else
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/licensor/vulndb-$VULNDB_VERSION"
  if [ ! -f "$cache/index/db.json" ]; then
    echo "govulncheck: vuln.go.dev unreachable; building the database from golang.org/x/vulndb@$VULNDB_VERSION" >&2
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    src=$(cd "$tmp" && go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -d "$src/data/osv" ] || { echo "govulncheck: no data/osv in $src" >&2; exit 1; }
    (cd "$tmp" && go run "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" -vulns "$src/data/osv" -out "$tmp/db")
    mkdir -p "$(dirname "$cache")"
    rm -rf "$cache" && mv "$tmp/db" "$cache"
  fi
  echo "govulncheck: offline database golang.org/x/vulndb@$VULNDB_VERSION" >&2
  args=(-db "file://$cache")
fi
go run "golang.org/x/vuln/cmd/govulncheck@$VULN_VERSION" "${args[@]}" ./...
