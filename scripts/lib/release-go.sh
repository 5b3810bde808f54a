# release-go.sh — sourced by the bench scripts: they build with the Go release that CI
# and releases use (go.mod's toolchain line), not with whatever Go this machine has, so
# that their figures describe the product as shipped. Database/sql, crypto and the
# runtime change between releases (Go 1.27 gave database/sql drivers a column scanner).
# LICENSOR_BENCH_GO overrides: "local" for the machine's own Go, or another goX.Y.Z.
export GOTOOLCHAIN="${LICENSOR_BENCH_GO:-$(awk '$1 == "toolchain" {print $2}' "$(dirname "${BASH_SOURCE[0]}")/../../go.mod")}"
