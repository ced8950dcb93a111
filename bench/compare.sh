#!/usr/bin/env bash
# Runs conveyor and its peer on one backend alternately, several rounds, and
# prints the medians and the median of the per-round ratios per workload.
#
#   bench/compare.sh postgres [ROUNDS]   conveyor-postgres vs River
#   bench/compare.sh redis [ROUNDS]      conveyor-redis vs asynq
#   bench/compare.sh memory|sqlite|nats  conveyor alone
#
# ROUNDS defaults to 3. The raw lines go to $OUT (default: a temp file, kept
# and named at the end). See bench/lib.sh for the environment variables.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

backend=${1:?usage: bench/compare.sh postgres|redis|memory|sqlite|nats [ROUNDS]}
rounds=${2:-3}
bench_systems "$backend" >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=${OUT:-$(mktemp --suffix=.jsonl)}
: >"$out"
bench_build "$tmp"
bench_rounds "$rounds" "$tmp" "$tmp" "$out" "$backend"
echo
"$tmp/benchreport" compare "$out"
echo
echo "raw results: $out"
