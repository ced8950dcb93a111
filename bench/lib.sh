# Shared by compare.sh and report.sh: build the binaries once and run one
# system on all workloads, appending its JSON lines (tagged with the round) to
# a results file. Sourced, not run.
#
# Environment (all optional):
#   BENCH_POSTGRES_URL  default postgres://postgres@127.0.0.1:5432/test?sslmode=disable&pool_max_conns=16
#                       (River and conveyor-postgres get the same URL, hence the same pool size)
#   BENCH_REDIS_ADDR    default 127.0.0.1:6379 (asynq uses database BENCH_ASYNQ_DB, default 15, flushed)
#   BENCH_REDIS_URL     default redis://$BENCH_REDIS_ADDR/0 (conveyor uses its own queue only)
#   BENCH_NATS_URL      default nats://127.0.0.1:4222
#   BENCH_JOBS, BENCH_WORKERS  N and C (default: harness defaults)
#   BENCH_WORKLOADS     default all
#   BENCH_TIMEOUT       time limit of one workload (passed as --timeout), default 60s
#   BENCH_RUN_TIMEOUT   seconds one system may take for all workloads, default 150
#   BENCH_CONVEYOR_BIN  a prebuilt conveyor binary to use instead of building ./cmd/conveyor

BENCH_POSTGRES_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable&pool_max_conns=16}
BENCH_REDIS_ADDR=${BENCH_REDIS_ADDR:-127.0.0.1:6379}
BENCH_REDIS_URL=${BENCH_REDIS_URL:-redis://$BENCH_REDIS_ADDR/0}
BENCH_ASYNQ_DB=${BENCH_ASYNQ_DB:-15}
BENCH_NATS_URL=${BENCH_NATS_URL:-nats://127.0.0.1:4222}
BENCH_WORKLOADS=${BENCH_WORKLOADS:-all}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-60s}
BENCH_RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-150}

# bench_build DIR: builds conveyor, peers and benchreport into DIR.
bench_build() {
	local dir=$1
	echo "building conveyor, peers and benchreport..." >&2
	if [ -n "${BENCH_CONVEYOR_BIN:-}" ]; then
		cp "$BENCH_CONVEYOR_BIN" "$dir/conveyor"
	else
		go build -o "$dir/conveyor" ./cmd/conveyor
	fi
	go build -o "$dir/benchreport" ./bench/cmd/benchreport
	# -mod=mod: peers follows the main module through a replace directive, so
	# its go.mod may need the main module's newest requirements.
	(cd bench/peers && go build -mod=mod -o "$dir/peers" .)
}

# bench_sizes SYSTEM prints the --timeout/--jobs/--workers flags chosen by
# the environment; every system gets the same N and C.
bench_sizes() {
	printf -- '--timeout %s ' "$BENCH_TIMEOUT"
	[ -n "${BENCH_JOBS:-}" ] && printf -- '--jobs %s ' "$BENCH_JOBS"
	[ -n "${BENCH_WORKERS:-}" ] && printf -- '--workers %s ' "$BENCH_WORKERS"
	return 0
}

# bench_cmd SYSTEM BIN TMP: prints the command line that runs SYSTEM.
bench_cmd() {
	local sys=$1 bin=$2 tmp=$3 sizes
	sizes=$(bench_sizes "$sys")
	case $sys in
	river-postgres) echo "$bin/peers --system river --pg '$BENCH_POSTGRES_URL' --workload $BENCH_WORKLOADS $sizes" ;;
	asynq-redis) echo "$bin/peers --system asynq --redis $BENCH_REDIS_ADDR --redis-db $BENCH_ASYNQ_DB --workload $BENCH_WORKLOADS $sizes" ;;
	conveyor-postgres) echo "$bin/conveyor bench --backend '$BENCH_POSTGRES_URL' --workload $BENCH_WORKLOADS $sizes" ;;
	conveyor-redis) echo "$bin/conveyor bench --backend '$BENCH_REDIS_URL' --workload $BENCH_WORKLOADS $sizes" ;;
	conveyor-nats) echo "$bin/conveyor bench --backend '$BENCH_NATS_URL' --workload $BENCH_WORKLOADS $sizes" ;;
	conveyor-sqlite) echo "$bin/conveyor bench --backend 'sqlite:$tmp/bench.db' --workload $BENCH_WORKLOADS $sizes" ;;
	conveyor-memory) echo "$bin/conveyor bench --backend memory: --workload $BENCH_WORKLOADS $sizes" ;;
	*) echo "unknown system $sys" >&2; return 1 ;;
	esac
}

# bench_systems BACKEND: the systems to run for a backend, peer first.
bench_systems() {
	case $1 in
	postgres) echo "river-postgres conveyor-postgres" ;;
	redis) echo "asynq-redis conveyor-redis" ;;
	memory | sqlite | nats) echo "conveyor-$1" ;;
	*) echo "unknown backend $1 (want postgres, redis, memory, sqlite or nats)" >&2; return 1 ;;
	esac
}

# bench_run ROUND SYSTEM BIN TMP OUT: runs one system, appends its lines to
# OUT with "round" added; a failed or timed-out run adds an error line.
# Returns 124 when the run timed out.
bench_run() {
	local round=$1 sys=$2 bin=$3 tmp=$4 out=$5 cmd rc
	cmd=$(bench_cmd "$sys" "$bin" "$tmp") || return 1
	echo "round $round: $sys" >&2
	rm -f "$tmp"/bench.db*
	set +e
	timeout --kill-after=10 "$BENCH_RUN_TIMEOUT" bash -c "$cmd" 2> >(grep -v ': [0-9]*/[0-9]*$' >&2) | sed "s/^{/{\"round\":$round,/" >>"$out"
	rc=${PIPESTATUS[0]}
	set -e
	rm -f "$tmp"/bench.db*
	if [ "$rc" -ne 0 ]; then
		echo "{\"round\":$round,\"system\":\"$sys\",\"error\":\"exit status $rc\"}" >>"$out"
		echo "round $round: $sys failed (exit status $rc)" >&2
	fi
	return "$rc"
}

# bench_rounds ROUNDS BIN TMP OUT BACKEND...: runs every system of the
# backends ROUNDS times, alternating which system of a pair goes first. A
# system that failed is not run again, which keeps a broken backend from
# eating the time budget.
bench_rounds() {
	local rounds=$1 bin=$2 tmp=$3 out=$4 r b s systems rc
	shift 4
	local skip=" "
	for r in $(seq 1 "$rounds"); do
		for b in "$@"; do
			systems=$(bench_systems "$b")
			if [ $((r % 2)) -eq 0 ]; then
				systems=$(echo "$systems" | awk '{for (i = NF; i > 0; i--) printf "%s ", $i}')
			fi
			for s in $systems; do
				case $skip in *" $s "*)
					echo "{\"round\":$r,\"system\":\"$s\",\"error\":\"skipped after a failure\"}" >>"$out"
					continue
					;;
				esac
				rc=0
				bench_run "$r" "$s" "$bin" "$tmp" "$out" || rc=$?
				if [ "$rc" -ne 0 ]; then
					skip="$skip$s "
				fi
			done
		done
	done
	return 0
}
