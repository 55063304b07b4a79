#!/usr/bin/env bash
# Quality indicators of a region through the API (POST
# /v1/regions/84/indicators/runs {"year": 2024} until its job has succeeded:
# 8 indicators of the seeded catalogue for every MSP/CDS/CPTS of the region,
# deciles, points, experience), next to reading its inputs once with COPY ...
# TO STDOUT through psql: the year's claims and stays of those structures'
# data, their médecin-traitant declarations and patients.      goal <= 3x
# Then a structure's dashboard (the largest structure of the region) read 20
# times in a row, next to reading the structure itself as many times.
#
# Data: the database bench/peps.sh loads and keeps (a51_bench_peps; run it first).
source "$(dirname "$0")/lib.sh"

DB=a51_bench_peps
PORT=18486
REGION=${BENCH_IND_REGION:-84}
YEAR=2024
REPS=${BENCH_REPS:-3}
PSQL=("$A51_ROOT/scripts/pg.sh" psql -d "$DB" -v ON_ERROR_STOP=1)
LOG=$BENCH_DIR/a51d-indicators.log

"$A51_ROOT/scripts/pg.sh" start >/dev/null
marked=$("$A51_ROOT/scripts/pg.sh" psql -d postgres -Atc \
	"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$DB'" 2>/dev/null || true)
[[ $marked == "a51 bench peps"* ]] || die "database $DB is not loaded: run bench/peps.sh first"
URL=$(pg_url "$DB")
A51_DATABASE_URL=$URL A51_MODE=test "$A51D" migrate >/dev/null 2>>"$LOG"
A51_DATABASE_URL=$URL A51_MODE=test A51_LISTEN=127.0.0.1:$PORT A51_WORKERS=1 A51_ACCESS_LOG=false \
	"$A51D" serve 2>>"$LOG" &
pid=$!
trap 'kill $pid 2>/dev/null; wait 2>/dev/null' EXIT
wait_http "http://127.0.0.1:$PORT/readyz"
TOKEN=$(A51_DATABASE_URL=$URL A51_MODE=test "$A51D" token create --name bench --scope national 2>/dev/null)
AUTH="Authorization: Bearer $TOKEN"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
best() { printf '%s\n' "$@" | sort -g | head -1; }
goal() { awk -v r="$1" -v g="$2" 'BEGIN { print (r <= g ? "PASS" : "MISS") }'; }

KINDS="('MSP','CDS','CPTS')"
FROM="make_date($YEAR, 1, 1)" TO="make_date($YEAR, 12, 31)"
reference() {
	"${PSQL[@]}" -qc "COPY (SELECT c.* FROM claims c JOIN structures s ON s.id = c.dataset WHERE s.region = '$REGION'
		AND s.kind IN $KINDS AND c.care_date BETWEEN $FROM AND $TO) TO STDOUT" >/dev/null
	"${PSQL[@]}" -qc "COPY (SELECT t.* FROM stays t JOIN structures s ON s.id = t.dataset WHERE s.region = '$REGION'
		AND s.kind IN $KINDS AND t.admission_date BETWEEN $FROM AND $TO + 30) TO STDOUT" >/dev/null
	"${PSQL[@]}" -qc "COPY (SELECT DISTINCT d.*, p.* FROM structures s JOIN memberships m ON m.structure_id = s.id
		JOIN professionals g ON g.id = m.professional_id JOIN mt_declarations d ON d.gp_rpps = g.rpps
		JOIN patients p ON p.id = d.patient_id WHERE s.region = '$REGION' AND s.kind IN $KINDS) TO STDOUT" >/dev/null
}
run() {
	local job st
	job=$(curl -fs -H "$AUTH" -H 'Content-Type: application/json' -d "{\"year\": $YEAR}" \
		"http://127.0.0.1:$PORT/v1/regions/$REGION/indicators/runs" | jq -r .id)
	while :; do
		st=$(curl -fs -H "$AUTH" "http://127.0.0.1:$PORT/v1/jobs/$job" | jq -r .status)
		[[ $st == queued || $st == running ]] || break
		sleep 0.05
	done
	[[ $st == succeeded ]] || die "indicators job $job: $st"
}

ref_s=() run_s=()
for _ in $(seq 1 "$REPS"); do
	t0=$(now); reference; ref_s+=("$(elapsed "$t0" "$(now)")")
	t0=$(now); run; run_s+=("$(elapsed "$t0" "$(now)")")
done
read -r nstruct values claims < <("${PSQL[@]}" -AtF' ' -c "SELECT r.structures, (SELECT count(*) FROM indicator_values v
	WHERE v.run_id = r.id), (SELECT count(*) FROM claims c JOIN structures s ON s.id = c.dataset WHERE s.region = '$REGION'
	AND s.kind IN $KINDS AND c.care_date BETWEEN $FROM AND $TO) FROM indicator_runs r ORDER BY r.id DESC LIMIT 1")
[[ $values -gt 0 ]] || die "the run wrote no value"

# dashboards: the structure of the region with the most patients
sid=$("${PSQL[@]}" -Atc "SELECT l.structure_id FROM patient_links l JOIN structures s ON s.id = l.structure_id
	WHERE s.region = '$REGION' AND s.kind IN ('MSP','CDS') GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
reads() { # reads() PATH: 20 sequential GETs on one connection
	local cfg=$BENCH_DIR/ind-curl.cfg t0
	: >"$cfg"
	for _ in $(seq 1 20); do printf 'url = "http://127.0.0.1:%s%s"\noutput = /dev/null\n' "$PORT" "$1" >>"$cfg"; done
	t0=$(now)
	curl -fs -H "$AUTH" -K "$cfg"
	elapsed "$t0" "$(now)"
}
dash_s=() plain_s=()
for _ in $(seq 1 "$REPS"); do
	plain_s+=("$(reads "/v1/structures/$sid")")
	dash_s+=("$(reads "/v1/structures/$sid/dashboard?year=$YEAR")")
done

ref_b=$(best "${ref_s[@]}") run_b=$(best "${run_s[@]}") dash_b=$(best "${dash_s[@]}") plain_b=$(best "${plain_s[@]}")
echo
echo "  Indicators of region $REGION, $YEAR: $nstruct structures, $values values, $claims claims of the year; best of $REPS (seconds)"
row "what" "seconds" "ratio" "goal"
row "COPY the inputs TO STDOUT (claims, stays, MT)" "$ref_b" "1.00" ""
row "a51 indicator run (POST .. succeeded)" "$run_b" "$(ratio "$run_b" "$ref_b")" \
	"<=3 $(goal "$(ratio "$run_b" "$ref_b")" 3)"
row "20 x GET /v1/structures/$sid" "$plain_b" "1.00" ""
row "20 x GET /v1/structures/$sid/dashboard" "$dash_b" "$(ratio "$dash_b" "$plain_b")" "(per read $(awk -v t="$dash_b" 'BEGIN { printf "%.0f ms", t * 50 }'))"
echo "  (each figure: ${ref_s[*]} | ${run_s[*]} | ${plain_s[*]} | ${dash_s[*]})"
