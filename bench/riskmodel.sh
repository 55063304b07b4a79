#!/usr/bin/env bash
# Risk models end to end, through the API, on a 1 000 000-patient reference
# population stored in PostgreSQL (21 M claim lines, loaded once through the
# upload API and kept in database a51_bench_rm):
#   fit:   POST /v1/risk-models until the job has succeeded, next to
#          COPY (the same population query) TO STDOUT            goal <= 2x
#   score: a score run of the reference population (1 M expected costs with
#          what explains them, stored), next to copying the same rows out and
#          back into a table like patient_scores                  goal <= 3x
source "$(dirname "$0")/lib.sh"

PATIENTS=${BENCH_RM_PATIENTS:-1000000}
PORT=18483
DB=a51_bench_rm
DATA=$BENCH_DIR/rm-synth-$PATIENTS
REPS=${BENCH_REPS:-3}
PSQL=("$A51_ROOT/scripts/pg.sh" psql -d "$DB" -v ON_ERROR_STOP=1)

"$A51_ROOT/scripts/pg.sh" start >/dev/null
URL=$(pg_url "$DB")
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

serve() {
	A51_DATABASE_URL=$URL A51_MODE=test A51_LISTEN=127.0.0.1:$PORT A51_WORKERS=1 A51_MAX_UPLOAD=64g \
		A51_ACCESS_LOG=false "$A51D" serve 2>>"$BENCH_DIR/a51d-riskmodel.log" &
	pids+=($!)
	wait_http "http://127.0.0.1:$PORT/readyz"
}

loaded=$("${PSQL[@]}" -Atc "SELECT count(*) FROM reference_patients" 2>/dev/null || echo 0)
if [[ $loaded != "$PATIENTS" ]]; then
	say "loading $PATIENTS reference patients through the upload API (once; kept in $DB)"
	"$A51_ROOT/scripts/pg.sh" psql -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
	"$A51_ROOT/scripts/pg.sh" psql -d postgres -c "CREATE DATABASE $DB" >/dev/null
	[[ -s $DATA/reference/claims.csv ]] || "$A51D" synth --patients 100 --structures 1 --year 2024 --years 1 \
		--reference "$PATIENTS" --seed 5 --out "$DATA" 2>/dev/null
	serve
	TOKEN=$(A51_DATABASE_URL=$URL A51_MODE=test "$A51D" token create --name bench --scope national 2>/dev/null)
	for kind in patients claims stays; do
		curl -fs -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/csv' -T "$DATA/reference/$kind.csv" \
			-X POST "http://127.0.0.1:$PORT/v1/reference/uploads?kind=$kind" >/dev/null ||
			die "loading reference $kind failed"
	done
	"${PSQL[@]}" -c "VACUUM ANALYZE" >/dev/null
	cleanup
	pids=()
fi
serve
TOKEN=$(A51_DATABASE_URL=$URL A51_MODE=test "$A51D" token create --name bench --scope national 2>/dev/null)
AUTH="Authorization: Bearer $TOKEN"

# The model of the benchmark: all town care in 2024, every term (32 columns).
MODEL='{"name":"bench","year":2024,"target":"town_all","terms":["age_sex","ald_groups","c2s","ame","n_chronic"],"method":"wls"}'
# The same population query as the fit, with the settings a51 gives it for MODEL.
SETTINGS="BEGIN; SET LOCAL jit = off; SET LOCAL a51.rm_dataset = '0'; SET LOCAL a51.rm_year = '2024';
 SET LOCAL a51.rm_region = ''; SET LOCAL a51.rm_acts = ''; SET LOCAL a51.rm_stays = 'false';
 SET LOCAL a51.rm_g0 = '{8}'; SET LOCAL a51.rm_g1 = '{1,3,5,13}'; SET LOCAL a51.rm_g2 = '{30}';
 SET LOCAL a51.rm_g3 = '{23}'; SET LOCAL a51.rm_g4 = '{9,15,16,25}'; SET LOCAL a51.rm_g5 = '{14}';
 SET LOCAL a51.rm_ids = ''; SET LOCAL a51.rm_any = 'false';"
POPULATION=$("$A51D" sql population)

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
best() { printf '%s\n' "$@" | sort -g | head -1; }

# Waits for a job; prints its final status.
wait_job() {
	local st
	while :; do
		st=$(curl -fs -H "$AUTH" "http://127.0.0.1:$PORT/v1/jobs/$1" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
		[[ $st == queued || $st == running ]] || { echo "$st"; return; }
		sleep 0.05
	done
}
job_of() { sed -n 's/^{"id":\([0-9]*\),.*/\1/p'; }
result_id() {
	curl -fs -H "$AUTH" "http://127.0.0.1:$PORT/v1/jobs/$1" | sed -n 's/.*"result":{"type":"[a-z_]*","id":\([0-9]*\).*/\1/p'
}

copy_s=() fit_s=() out_s=() score_s=() models=()
for r in $(seq 1 "$REPS"); do
	t0=$(now)
	printf '%s\n%s;\nCOMMIT;\n' "$SETTINGS" "$POPULATION" | "${PSQL[@]}" -qAt >"$BENCH_DIR/population.tsv"
	t1=$(now)
	copy_s+=("$(elapsed "$t0" "$t1")")

	t0=$(now)
	job=$(curl -fs -H "$AUTH" -H 'Content-Type: application/json' -d "$MODEL" \
		"http://127.0.0.1:$PORT/v1/risk-models" | job_of)
	[[ $(wait_job "$job") == succeeded ]] || die "fit job $job did not succeed"
	t1=$(now)
	fit_s+=("$(elapsed "$t0" "$t1")")
	models+=("$(result_id "$job")")
done
rows=$(wc -l <"$BENCH_DIR/population.tsv")

# Scoring: a fresh model each time, so that nothing is replaced. The
# reference copies the same rows out, then into a table like patient_scores
# (its columns, its primary key), rows made ready in between (not timed).
"${PSQL[@]}" -qc "DROP TABLE IF EXISTS bench_scores; CREATE TABLE bench_scores (LIKE patient_scores INCLUDING ALL)"
for r in $(seq 1 "$REPS"); do
	t0=$(now)
	printf '%s\n%s;\nCOMMIT;\n' "$SETTINGS" "$POPULATION" | "${PSQL[@]}" -qAt >"$BENCH_DIR/population.tsv"
	t1=$(now)
	awk -F'\t' -v OFS='\t' '{ print 0, 0, 2024, $1, int($6), $2, $3, $4, $5, 0, $7 }' "$BENCH_DIR/population.tsv" \
		>"$BENCH_DIR/scores.tsv"
	"${PSQL[@]}" -qc "TRUNCATE bench_scores; CHECKPOINT"
	t2=$(now)
	"${PSQL[@]}" -qc "\\copy bench_scores FROM '$BENCH_DIR/scores.tsv'"
	t3=$(now)
	out_s+=("$(awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN { printf "%.3f", (b - a) + (d - c) }')")

	"${PSQL[@]}" -qc "CHECKPOINT"
	t0=$(now)
	job=$(curl -fs -H "$AUTH" -H 'Content-Type: application/json' -d '{"reference":true}' \
		"http://127.0.0.1:$PORT/v1/risk-models/${models[$((r - 1))]}/score-runs" | job_of)
	[[ $(wait_job "$job") == succeeded ]] || die "score job $job did not succeed"
	t1=$(now)
	score_s+=("$(elapsed "$t0" "$t1")")
done
stored=$("${PSQL[@]}" -Atc "SELECT count(*) FROM patient_scores WHERE model_id = ${models[$((REPS - 1))]}")
"${PSQL[@]}" -qc "DROP TABLE bench_scores"

copy=$(best "${copy_s[@]}") fit=$(best "${fit_s[@]}") out=$(best "${out_s[@]}") score=$(best "${score_s[@]}")
goal() { awk -v r="$1" -v g="$2" 'BEGIN { print (r <= g ? "PASS" : "MISS") }'; }
echo
echo "  risk models through the API: $rows patients, best of $REPS (seconds)"
row "what" "seconds" "ratio" "goal"
row "COPY (population query) TO STDOUT" "$copy" "1.00" ""
row "a51 fit (POST .. job succeeded), wls 32 terms" "$fit" "$(ratio "$fit" "$copy")" \
	"<=2 $(goal "$(ratio "$fit" "$copy")" 2)"
row "copy the rows out and back in" "$out" "1.00" ""
row "a51 score run, $stored scores stored" "$score" "$(ratio "$score" "$out")" \
	"<=3 $(goal "$(ratio "$score" "$out")" 3)"
echo "  (each figure: ${copy_s[*]} | ${fit_s[*]} | ${out_s[*]} | ${score_s[*]})"
