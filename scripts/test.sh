#!/usr/bin/env bash
# make test: installs what is missing, builds, starts the private PostgreSQL
# cluster, runs every suite (unit, integration, e2e), lints the OpenAPI contract.
# Exit status is non-zero when anything fails.
#   test.sh [meson test arguments, e.g. --suite unit]
source "$(dirname "$0")/lib.sh"

"$A51_ROOT/scripts/deps.sh" test
"$A51_ROOT/scripts/build.sh"

started=
if [[ -z ${A51_TEST_PGHOST:-} ]]; then
	[[ $("$A51_ROOT/scripts/pg.sh" status || true) == running ]] || started=1
	"$A51_ROOT/scripts/pg.sh" start
	export A51_TEST_PGHOST=$A51_PG_DIR/run A51_TEST_PGPORT=$A51_PG_PORT A51_TEST_PGUSER=$A51_PG_USER
fi
# The cluster this script started is stopped again whatever the outcome.
cleanup() { [[ -n $started ]] && "$A51_ROOT/scripts/pg.sh" stop || true; }
trap cleanup EXIT

"$A51_ROOT/scripts/node-tools.sh"

status=0
rm -rf "$A51_BUILD/test-logs"
say "running the test suites"
meson test -C "$A51_BUILD" --print-errorlogs --num-processes 2 "$@" || status=1
# Check's summary line of every suite ("100%: Checks: 12, Failures: 0, Errors: 0").
grep -E '^[0-9]+%: Checks: ' "$A51_BUILD/meson-logs/testlog.txt" | sed 's/^/    /' || true

if [[ $# -eq 0 ]]; then
	"$A51_ROOT/scripts/nir-scan.sh" "$A51_BUILD" || status=1
	say "linting openapi/openapi.yaml"
	(cd "$A51_ROOT" && node_modules/.bin/redocly lint --config openapi/redocly.yaml --format=stylish \
		openapi/openapi.yaml) || status=1
fi
if [[ $status -ne 0 ]]; then
	say "FAILED"
else
	say "all tests passed"
fi
exit $status
