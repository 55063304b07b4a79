#!/usr/bin/env bash
# make bench: every benchmark, or the ones named (bench/run.sh http ...;
# bench/run.sh regress for the regression engine alone).
# Benchmarks print figures and ratios; they never fail the build.
source "$(dirname "$0")/../scripts/lib.sh"

"$A51_ROOT/scripts/deps.sh" test bench
A51_BUILD=$A51_ROOT/build-bench
export A51_BUILD
"$A51_ROOT/scripts/build.sh" -Dbench=true -Dbuildtype=release

started=
[[ $("$A51_ROOT/scripts/pg.sh" status || true) == running ]] || started=1
"$A51_ROOT/scripts/pg.sh" start >/dev/null
trap '[[ -n $started ]] && "$A51_ROOT/scripts/pg.sh" stop' EXIT

benches=("$@")
[[ ${#benches[@]} -gt 0 ]] || benches=(http upload regress riskmodel peps indicators)
for b in "${benches[@]}"; do
	say "bench: $b"
	"$A51_ROOT/bench/$b.sh"
done
