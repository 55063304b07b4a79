#!/usr/bin/env bash
# After the whole test suite: no clear NIR in what it left behind — every a51d
# log, every database dump the suites wrote, and PostgreSQL's own log — among
# the NIRs of the synthetic data the suites uploaded (var/test/*/**/patients.csv).
# A NIR is searched by its 13 digits, so it is found with or without its key.
# The suites' *.nirs files are their inputs (the NIRs they sent): not scanned.
#   nir-scan.sh BUILD_DIR
source "$(dirname "$0")/lib.sh"

build=${1:-$A51_BUILD}
needles=$(mktemp)
trap 'rm -f "$needles"' EXIT
find "$A51_ROOT/var/test" -name patients.csv -print0 2>/dev/null |
	xargs -0 -r awk -F'[,;]' 'FNR > 1 && length($1) >= 13 && $1 ~ /^[0-9][0-9AB]+$/ { print substr($1, 1, 13) }' |
	sort -u >"$needles"
n=$(wc -l <"$needles")
[[ $n -gt 0 ]] || { say "NIR scan: no synthetic patients found under var/test: nothing to look for"; exit 0; }
files=()
while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$build/test-logs" -type f ! -name '*.nirs' -print0 2>/dev/null)
[[ -f $A51_PG_DIR/postgres.log ]] && files+=("$A51_PG_DIR/postgres.log")
hits=$(grep -F -l -f "$needles" "${files[@]}" 2>/dev/null || true)
if [[ -n $hits ]]; then
	echo "clear NIRs found in:" >&2
	echo "$hits" >&2
	exit 1
fi
say "NIR scan: none of $n synthetic NIRs in ${#files[@]} logs and dumps"
