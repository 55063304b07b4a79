#!/usr/bin/env bash
# Bulk ingest: 5 000 000 synthetic claim lines uploaded through the API, end to
# end (streamed parse, validation, pseudonymisation, merge into the final
# indexed table), next to `psql \copy` of the same file into a table with the
# same kind of columns and the same indexes. Goal: a51 >= 70 % of \copy's rate.
# Also prints a51d's resident memory before and at its peak.
source "$(dirname "$0")/lib.sh"

LINES=${BENCH_CLAIMS:-5000000}
PORT=18482
DB=a51_bench_upload
DATA=$BENCH_DIR/upload-data

"$A51_ROOT/scripts/pg.sh" start >/dev/null
"$A51_ROOT/scripts/pg.sh" psql -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
"$A51_ROOT/scripts/pg.sh" psql -d postgres -c "CREATE DATABASE $DB" >/dev/null
URL=$(pg_url "$DB")

if [[ ! -s $DATA/claims-$LINES.csv ]]; then
	say "generating $LINES claim lines with a51d synth"
	rm -rf "$DATA"
	# about 21 lines per patient and year
	"$A51D" synth --patients 0 --structures 0 --reference $((LINES / 40 + 2000)) --years 2 --year 2024 --seed 5 \
		--out "$DATA" 2>/dev/null
	head -n $((LINES + 1)) "$DATA/reference/claims.csv" >"$DATA/claims-$LINES.csv"
fi
FILE=$DATA/claims-$LINES.csv
rows=$(($(wc -l <"$FILE") - 1))
size=$(du -m "$FILE" | cut -f1)

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
A51_DATABASE_URL=$URL A51_MODE=test A51_LISTEN=127.0.0.1:$PORT A51_MAX_UPLOAD=64g "$A51D" serve \
	2>"$BENCH_DIR/a51d-upload.log" &
pid=$!
pids+=($pid)
wait_http "http://127.0.0.1:$PORT/readyz"
TOKEN=$(A51_DATABASE_URL=$URL A51_MODE=test "$A51D" token create --name bench --scope national 2>/dev/null)
curl -fs -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/csv' -T "$DATA/reference/patients.csv" \
	-X POST "http://127.0.0.1:$PORT/v1/reference/uploads?kind=patients" >/dev/null

# the reference: psql \copy into a table with the same indexes as claims
"$A51_ROOT/scripts/pg.sh" psql -d "$DB" -c "CREATE TABLE claims_copy (claim_id text, nir text, care_date date,
	rpps text, act_code text, quantity int, base_amount numeric(12,2), reimbursed_amount numeric(12,2),
	extra_fees numeric(12,2), PRIMARY KEY (claim_id));
	CREATE INDEX ON claims_copy (nir, care_date); CHECKPOINT;" >/dev/null
t0=$(date +%s.%N)
"$A51_ROOT/scripts/pg.sh" psql -d "$DB" -c "\\copy claims_copy FROM '$FILE' WITH (FORMAT csv, HEADER)" >/dev/null
t1=$(date +%s.%N)
"$A51_ROOT/scripts/pg.sh" psql -d "$DB" -c "DROP TABLE claims_copy; CHECKPOINT" >/dev/null

rss0=$(awk '/VmRSS/ { print $2 }' /proc/$pid/status)
t2=$(date +%s.%N)
answer=$(curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/csv' -T "$FILE" -X POST \
	"http://127.0.0.1:$PORT/v1/reference/uploads?kind=claims")
t3=$(date +%s.%N)
hwm=$(awk '/VmHWM/ { print $2 }' /proc/$pid/status)
echo "$answer" | grep -q '"status":"succeeded"' || { echo "upload failed: ${answer:0:400}" >&2; exit 1; }
stored=$("$A51_ROOT/scripts/pg.sh" psql -d "$DB" -Atc "SELECT count(*) FROM claims")

copy_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
a51_s=$(awk -v a="$t2" -v b="$t3" 'BEGIN { printf "%.2f", b - a }')
copy_rate=$(awk -v n="$rows" -v s="$copy_s" 'BEGIN { printf "%.0f", n / s }')
a51_rate=$(awk -v n="$rows" -v s="$a51_s" 'BEGIN { printf "%.0f", n / s }')
echo
echo "Bulk ingest — $rows claim lines ($size MB CSV), $(nproc) cores"
row "" "seconds" "rows/s" ""
row "psql \\copy into an indexed table (reference)" "$copy_s" "$copy_rate" ""
row "a51 upload, end to end (stored: $stored)" "$a51_s" "$a51_rate" ""
echo
printf '  a51 vs \\copy:                %s  (goal >= 0.70)\n' "$(ratio "$a51_rate" "$copy_rate")"
printf '  a51d resident memory:        %d MiB before, %d MiB at its peak (+%d MiB; bound 64 MiB)\n' \
	$((rss0 / 1024)) $((hwm / 1024)) $(((hwm - rss0) / 1024))
printf '  a51 timings:                 %s\n' "$(echo "$answer" | grep -o '"timings_ms":{[^}]*}')"
