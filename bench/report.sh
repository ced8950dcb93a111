#!/usr/bin/env bash
# Regenerates everything in one go, in under 10 minutes:
#   bench/results/results.jsonl  every run, every round (JSON lines)
#   bench/results/env.json       machine, versions, server durability settings
#   bench/results/micro.txt      the micro-benchmarks (one short count)
#   bench/results/plot.png       throughput and latency per system
#   BENCHMARKS.md                method, machine, versions, durability, ratios
#
#   bench/report.sh [ROUNDS]     ROUNDS defaults to 3
#   BENCH_BACKENDS="postgres redis" bench/report.sh    only some backends
#
# See bench/lib.sh for the other environment variables.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

rounds=${1:-3}
backends=${BENCH_BACKENDS:-postgres redis memory sqlite nats}
results=bench/results
mkdir -p "$results"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
bench_build "$tmp"

out="$tmp/results.jsonl"
: >"$out"
bench_rounds "$rounds" "$tmp" "$tmp" "$out" $backends

echo "micro-benchmarks..." >&2
timeout 180 go test -run '^$' -bench . -benchmem -benchtime 200ms -count 1 ./bench/ >"$tmp/micro.txt" 2>&1 || echo "(micro-benchmarks failed)" >>"$tmp/micro.txt"

pg_plain=$(echo "$BENCH_POSTGRES_URL" | sed -E 's/[&?]pool_max_conns=[0-9]+//')
"$tmp/benchreport" env --pg "$pg_plain" --redis-host "${BENCH_REDIS_ADDR%:*}" --redis-port "${BENCH_REDIS_ADDR##*:}" >"$tmp/env.json"

cp "$out" "$results/results.jsonl"
cp "$tmp/env.json" "$results/env.json"
cp "$tmp/micro.txt" "$results/micro.txt"
"$tmp/benchreport" report -dir "$results" -md BENCHMARKS.md
"$tmp/benchreport" compare "$results/results.jsonl"
echo
echo "wrote $results/ and BENCHMARKS.md in $(($(date +%s) - start)) s"
