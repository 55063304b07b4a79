# Shared by the benchmarks: start/stop helpers and wrk/pgbench parsing.
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

BENCH_DIR=$A51_ROOT/var/bench
A51D=$A51_BUILD/a51d
mkdir -p "$BENCH_DIR"

# Prints "req/s p50_ms p99_ms" for a wrk run: wrk_run DURATION CONNECTIONS URL [wrk args...]
wrk_run() {
	local dur=$1 conns=$2 url=$3
	shift 3
	wrk -t2 -c"$conns" -d"$dur" --latency "$@" "$url" >"$BENCH_DIR/wrk.out" 2>&1
	awk '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		/Requests\/sec/ { rps = $2 }
		$1 == "50%" { p50 = ms($2) }
		$1 == "99%" { p99 = ms($2) }
		/Non-2xx/ { bad = $NF }
		END { printf "%.0f %.2f %.2f %d\n", rps, p50, p99, bad }' "$BENCH_DIR/wrk.out"
}

# Waits until URL answers 200.
wait_http() {
	local i
	for i in $(seq 1 200); do
		curl -fs -o /dev/null "$1" && return 0
		sleep 0.05
	done
	die "no answer from $1"
}

row() { printf '  %-44s %10s %9s %9s\n' "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
