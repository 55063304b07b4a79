#!/usr/bin/env bash
# make fuzz: builds the libFuzzer drivers of tests/fuzz/ with clang under
# AddressSanitizer and UndefinedBehaviorSanitizer (into build-fuzz/), then runs
# each for FUZZ_SECONDS (default 30) from its corpus in tests/fuzz/corpus/NAME/.
#   fuzz.sh [NAME...]        (default: every driver)
# New inputs libFuzzer finds go to build-fuzz/corpus/NAME/, not into the source
# tree; a crash is written to build-fuzz/crashes/ and fails the run: fix the
# bug, then add the file to tests/fuzz/corpus/NAME/ (make test replays it).
source "$(dirname "$0")/lib.sh"

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_BUILD=${FUZZ_BUILD:-$A51_ROOT/build-fuzz}
drivers=(csv upload ids router fields params api)
[[ $# -gt 0 ]] && drivers=("$@")
[[ $FUZZ_SECONDS =~ ^[0-9]+$ && $FUZZ_SECONDS -gt 0 ]] || die "FUZZ_SECONDS must be a positive number of seconds"

"$A51_ROOT/scripts/deps.sh" fuzz
if [[ ! -f $FUZZ_BUILD/build.ninja ]]; then
	CC=clang meson setup "$FUZZ_BUILD" "$A51_ROOT" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debugoptimized >/dev/null
fi
targets=()
for d in "${drivers[@]}"; do
	[[ -d $A51_ROOT/tests/fuzz/corpus/$d ]] || die "no driver $d (tests/fuzz/corpus/$d is missing)"
	targets+=("tests/fuzz/fuzz_$d")
done
say "building ${#targets[@]} fuzz drivers (clang, ASan + UBSan)"
ninja -C "$FUZZ_BUILD" "${targets[@]}" >/dev/null || ninja -C "$FUZZ_BUILD" "${targets[@]}"

# UBSan reports are failures, and every report comes with its stack.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
mkdir -p "$FUZZ_BUILD/crashes"
status=0
for d in "${drivers[@]}"; do
	work=$FUZZ_BUILD/corpus/$d
	log=$FUZZ_BUILD/fuzz-$d.log
	mkdir -p "$work"
	dict=()
	[[ -f $A51_ROOT/tests/fuzz/$d.dict ]] && dict=(-dict="$A51_ROOT/tests/fuzz/$d.dict")
	say "fuzz_$d for ${FUZZ_SECONDS}s"
	if "$FUZZ_BUILD/tests/fuzz/fuzz_$d" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
		-max_len=16384 -print_final_stats=1 "${dict[@]}" -artifact_prefix="$FUZZ_BUILD/crashes/$d-" \
		"$work" "$A51_ROOT/tests/fuzz/corpus/$d" >"$log" 2>&1; then
		grep -E '^stat::number_of_executed_units|^#[0-9]+ *DONE' "$log" | tail -2 | sed 's/^/    /'
	else
		status=1
		grep -E 'ERROR|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -20 | sed 's/^/    /'
		printf '    full log: %s\n' "$log"
	fi
done
if [[ $status -ne 0 ]]; then
	say "FUZZING FOUND CRASHES (reproducers in $FUZZ_BUILD/crashes/)"
else
	say "no crash in ${#drivers[@]} drivers x ${FUZZ_SECONDS}s"
fi
exit $status
