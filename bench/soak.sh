#!/usr/bin/env bash
# make soak: a51d under a realistic mix for SOAK_SECONDS (60) at SOAK_CONNECTIONS
# (256), loopback only, after a 10 s warm-up: structure and region dashboards,
# PEPS run lines, EDS run lists, care gaps, small patient uploads, PEPS
# what-if submissions (bench/soak.lua). Passes when no answer is a 5xx other
# than a deliberate 503 (back-pressure), and resident memory is flat: the
# mean of the last 10 s within 10 % (+16 MiB) of the first 10 s. Prints p99.
#
# Data: a synthetic region loaded the way `make demo` loads it, into a fresh
# database a51_soak.
source "$(dirname "$0")/lib.sh"

SECONDS_=${SOAK_SECONDS:-60}
CONNS=${SOAK_CONNECTIONS:-256}
PORT=18487
DB=a51_soak
DATA=$BENCH_DIR/soak-data
OUT=$BENCH_DIR/soak
mkdir -p "$OUT"
"$A51_ROOT/scripts/deps.sh" bench >/dev/null
started=
[[ $("$A51_ROOT/scripts/pg.sh" status || true) == running ]] || started=1
"$A51_ROOT/scripts/pg.sh" start >/dev/null
"$A51_ROOT/scripts/pg.sh" psql -d postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
URL=$(pg_url "$DB")
pid=
cleanup() {
	[[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[[ -n $started ]] && "$A51_ROOT/scripts/pg.sh" stop
	return 0
}
trap cleanup EXIT

A51_DATABASE_URL=$URL A51_MODE=test A51_LISTEN=127.0.0.1:$PORT A51_ACCESS_LOG=false \
	"$A51D" serve 2>"$OUT/a51d.log" &
pid=$!
wait_http "http://127.0.0.1:$PORT/readyz"
TOKEN=$(A51_DATABASE_URL=$URL A51_MODE=test "$A51D" token create --name soak --scope national 2>/dev/null)
if [[ ! -s $DATA/manifest.json ]]; then
	"$A51D" synth --patients 8000 --structures 8 --year 2024 --years 2 --reference 8000 --seed 21 \
		--surgery-rate 5 --out "$DATA" 2>/dev/null
fi
say "loading a synthetic region (8 000 patients, 8 structures) through the API"
python3 "$A51_ROOT/scripts/load-demo.py" "http://127.0.0.1:$PORT" "$TOKEN" "$DATA" 2>"$OUT/load.log" ||
	die "loading failed (see $OUT/load.log)"
PSQL=("$A51_ROOT/scripts/pg.sh" psql -d "$DB" -Atc)
SID=$("${PSQL[@]}" "SELECT structure_id FROM peps_runs ORDER BY id LIMIT 1")
RUN=$("${PSQL[@]}" "SELECT id FROM peps_runs WHERE structure_id = $SID ORDER BY id LIMIT 1")
[[ -n $SID && -n $RUN ]] || die "no PEPS run in the loaded data"
# a small upload: the structure's first patients again (an update: same rows)
NAME=$("${PSQL[@]}" "SELECT name FROM structures WHERE id = $SID")
REF=$(NAME=$NAME python3 -c 'import json, os, sys
for line in open(sys.argv[1]):
    s = json.loads(line)
    if s["name"] == os.environ["NAME"]:
        print(s["ref"])' "$DATA/structures.ndjson")
head -4 "$DATA/structures/$REF/patients.csv" >"$OUT/upload.csv"
export SOAK_TOKEN=$TOKEN SOAK_STRUCTURE=$SID SOAK_PEPS_RUN=$RUN SOAK_UPLOAD=$OUT/upload.csv

say "warm-up (10 s), then $SECONDS_ s at $CONNS connections"
wrk -t2 -c"$CONNS" -d10s -s "$A51_ROOT/bench/soak.lua" "http://127.0.0.1:$PORT" >/dev/null 2>&1
: >"$OUT/rss.txt"
(for _ in $(seq 1 "$SECONDS_"); do ps -o rss= -p "$pid" >>"$OUT/rss.txt" || true; sleep 1; done) &
sampler=$!
wrk -t2 -c"$CONNS" -d"${SECONDS_}s" --timeout 10s -s "$A51_ROOT/bench/soak.lua" "http://127.0.0.1:$PORT" \
	>"$OUT/wrk.txt" 2>&1
wait "$sampler" 2>/dev/null || true
line=$(grep '^SOAK ' "$OUT/wrk.txt") || die "wrk gave no summary (see $OUT/wrk.txt)"
read -r first last < <(awk '{ v[NR] = $1 } END {
	for (i = 1; i <= 10 && i <= NR; i++) a += v[i]
	for (i = NR - 9; i <= NR; i++) if (i > 0) b += v[i]
	printf "%.0f %.0f\n", a / 10 / 1024, b / 10 / 1024 }' "$OUT/rss.txt")
s5xx=$(sed -n 's/.* s5xx=\([0-9]*\).*/\1/p' <<<"$line")
jobs=$("${PSQL[@]}" "SELECT count(*) FILTER (WHERE status = 'queued') || ' queued, ' ||
	count(*) FILTER (WHERE status = 'succeeded') || ' succeeded' FROM jobs WHERE kind = 'peps.run'")
echo
echo "  soak: ${SECONDS_} s, $CONNS connections, $(nproc) cores: $line"
echo "  resident memory: ${first} MiB over the first 10 s, ${last} MiB over the last 10 s; PEPS what-if jobs: $jobs"
status=0
[[ $s5xx == 0 ]] || { echo "  FAIL: $s5xx answers were 5xx other than 503 (see $OUT/a51d.log)"; status=1; }
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b <= a * 1.10 + 16) }' ||
	{ echo "  FAIL: resident memory grew from $first to $last MiB"; status=1; }
[[ $status == 0 ]] && echo "  PASS: no 5xx but deliberate 503s, memory flat"
exit $status
