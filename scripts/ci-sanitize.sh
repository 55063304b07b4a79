#!/usr/bin/env bash
# Every test suite again, with a51d and the tests built under AddressSanitizer
# (leaks included) and UndefinedBehaviorSanitizer; any report fails the run.
source "$(dirname "$0")/lib.sh"

export A51_BUILD=$A51_ROOT/build-asan
"$A51_ROOT/scripts/deps.sh" ci
"$A51_ROOT/scripts/build.sh" -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
exec "$A51_ROOT/scripts/test.sh"
