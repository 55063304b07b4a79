#!/usr/bin/env bash
# PEPS end to end, through the API: a national quarterly run (POST /v1/peps/runs
# {"year": 2024, "quarter": 2, "phase": "prospective"} by a national token,
# until its job has succeeded) over every MSP/CDS that can enrol in PEPS (whole
# patientèle, phase advanced to prospective), next to reading the same inputs
# with COPY ... TO STDOUT through psql: for each enrolled structure, the
# inputs statement of a run (`a51d sql peps-inputs`) with the settings a51
# gives it, and the covariates of its covered patients (`a51d sql population`,
# by ids, any dataset).                                          goal <= 3x
#
# Data: `a51d synth` allows 1 000 000 patients per region, and about half of a
# region's patients have a GP in a team that can enrol; so the 500 structures
# are split over two regions (84 and 11, 250 each, 1 000 000 patients each,
# 2 years of care), which gives about 1 000 000 covered patients. Loaded once
# through the API (structures, members, each structure's files, the reference
# population, enrolments, the peps-gp risk model) and kept in database
# a51_bench_peps, marked when complete (its comment) so later runs skip it.
source "$(dirname "$0")/lib.sh"

PATIENTS=${BENCH_PEPS_PATIENTS:-1000000}      # per region (synth's limit: 1 000 000)
STRUCTURES=${BENCH_PEPS_STRUCTURES:-500}      # in all, split evenly over the regions
read -r -a REGIONS <<<"${BENCH_PEPS_REGIONS:-84 11}"
REFERENCE=${BENCH_PEPS_REFERENCE:-20000}
SEED=7
YEAR=2024
PORT=18484
DB=a51_bench_peps
REPS=${BENCH_REPS:-3}
PSQL=("$A51_ROOT/scripts/pg.sh" psql -d "$DB" -v ON_ERROR_STOP=1)
LOG=$BENCH_DIR/a51d-peps.log
WORK=$BENCH_DIR/peps
PER_REGION=$((STRUCTURES / ${#REGIONS[@]}))
MARK="a51 bench peps (Q2): patients=$PATIENTS/region structures=$STRUCTURES regions=${REGIONS[*]} reference=$REFERENCE seed=$SEED year=$YEAR"

"$A51_ROOT/scripts/pg.sh" start >/dev/null
URL=$(pg_url "$DB")
mkdir -p "$WORK"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

serve() {
	A51_DATABASE_URL=$URL A51_MODE=test A51_LISTEN=127.0.0.1:$PORT A51_WORKERS=1 A51_MAX_UPLOAD=64g \
		A51_UPLOAD_TIMEOUT_MS=3600000 A51_ACCESS_LOG=false "$A51D" serve 2>>"$LOG" &
	pids+=($!)
	wait_http "http://127.0.0.1:$PORT/readyz"
}
token() { A51_DATABASE_URL=$URL A51_MODE=test "$A51D" token create --name bench --scope national 2>/dev/null; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
best() { printf '%s\n' "$@" | sort -g | head -1; }
goal() { awk -v r="$1" -v g="$2" 'BEGIN { print (r <= g ? "PASS" : "MISS") }'; }

# Waits for a job; prints its final status.
wait_job() {
	local st
	while :; do
		st=$(curl -fs -H "$AUTH" "http://127.0.0.1:$PORT/v1/jobs/$1" | jq -r .status)
		[[ $st == queued || $st == running ]] || { echo "$st"; return; }
		sleep 0.05
	done
}

marked=$("$A51_ROOT/scripts/pg.sh" psql -d postgres -Atc \
	"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$DB'" 2>/dev/null || true)
enrolled=$("${PSQL[@]}" -Atc "SELECT count(DISTINCT e.structure_id) FROM enrolments e JOIN enrolment_phases ph
	ON ph.enrolment_id = e.id AND ph.phase = 'prospective' WHERE e.experiment = 'PEPS'" 2>/dev/null || echo 0)
if [[ $marked != "$MARK" || $enrolled == 0 ]]; then
	say "loading $STRUCTURES structures (regions ${REGIONS[*]}, $PATIENTS patients each) through the API (once; kept in $DB)"
	"$A51_ROOT/scripts/pg.sh" psql -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
	"$A51_ROOT/scripts/pg.sh" psql -d postgres -c "CREATE DATABASE $DB" >/dev/null
	dirs=()
	for k in "${!REGIONS[@]}"; do
		ref=0
		[[ $k == 0 ]] && ref=$REFERENCE
		dir=$BENCH_DIR/peps-synth-$PATIENTS-$PER_REGION-${REGIONS[$k]}-$((SEED + k))
		if [[ ! -s $dir/manifest.json ]]; then
			say "a51d synth --region ${REGIONS[$k]} --patients $PATIENTS --structures $PER_REGION --seed $((SEED + k))"
			"$A51D" synth --patients "$PATIENTS" --structures "$PER_REGION" --year "$YEAR" --years 2 \
				--reference "$ref" --seed $((SEED + k)) --region "${REGIONS[$k]}" --out "$dir" >&2
		fi
		dirs+=("$dir")
	done
	serve
	t0=$(now)
	python3 - "http://127.0.0.1:$PORT" "$(token)" "$YEAR" "${dirs[@]}" >"$WORK/load.json" <<'PY' || die "loading failed"
# What load-demo.py does, for several synth outputs and PEPS only: the first
# output's reference data, then every structure with its members, every
# structure's files (two uploads at once), the MSP/CDS enrolled in PEPS (whole)
# on 1 January and advanced to the prospective phase (from 3 January: Q2 is prospective throughout), and the peps-gp model.
import collections, concurrent.futures, json, os, sys, time, urllib.error, urllib.request

URL, TOKEN, YEAR, DIRS = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def call(method, path, body=None, ctype="application/json", length=None):
    data = body
    if body is not None and ctype == "application/json":
        data = json.dumps(body).encode()
        length = len(data)
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + TOKEN)
    if data is not None:
        req.add_header("Content-Type", ctype)
        req.add_header("Content-Length", str(length))
    try:
        with urllib.request.urlopen(req, timeout=7200) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def upload(path, kind, csv_file):
    if not os.path.exists(csv_file):
        return 0
    with open(csv_file, "rb") as f:
        if not (f.readline() and f.readline()):
            return 0  # empty or header only
    for attempt in range(600):
        with open(csv_file, "rb") as f:
            status, body = call("POST", path + "?kind=" + kind, f, "text/csv", os.path.getsize(csv_file))
        if status != 503:  # both upload slots busy: retry
            break
        time.sleep(1)
    if status != 201:
        sys.exit("upload of %s failed (%d): %s" % (csv_file, status, json.dumps(body)[:2000]))
    return body["records"]


def wait(job_id):
    while True:
        status, job = call("GET", "/v1/jobs/%d" % job_id)
        if status != 200 or job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.2)


ref_dir = os.path.join(DIRS[0], "reference")
for kind in ("deprivation", "patients", "claims", "stays"):
    n = upload("/v1/reference/uploads", kind, os.path.join(ref_dir, kind + ".csv"))
    log("reference %-12s %9d records" % (kind, n))
structures = []
for d in DIRS:
    for line in open(os.path.join(d, "structures.ndjson"), encoding="utf-8"):
        s = json.loads(line)
        body = {k: s[k] for k in ("kind", "name", "region", "commune", "legal_form", "siret", "finess") if k in s}
        status, created = call("POST", "/v1/structures", body)
        if status != 201:
            sys.exit("structure %s of %s: %d %s" % (s["ref"], d, status, created))
        for m in s["members"]:
            status, r = call("POST", "/v1/structures/%d/members" % created["id"], m)
            if status not in (201, 409):
                sys.exit("member of %s: %d %s" % (s["ref"], status, r))
        structures.append((created["id"], d, s))
log("%d structures and their members created" % len(structures))


def load_files(item):
    sid, d, s = item
    return sum(upload("/v1/structures/%d/uploads" % sid, kind, os.path.join(d, "structures", s["ref"], kind + ".csv"))
               for kind in ("patients", "mt_declarations", "claims", "stays", "questionnaires"))


t0, records = time.time(), 0
with concurrent.futures.ThreadPoolExecutor(2) as pool:
    for i, n in enumerate(pool.map(load_files, structures)):
        records += n
        if (i + 1) % 25 == 0 or i + 1 == len(structures):
            log("files of %d/%d structures uploaded: %d records in %.0f s" % (i + 1, len(structures), records,
                                                                          time.time() - t0))
on = "%d-01-01" % YEAR
enrolled, refused = [], collections.Counter()
for sid, d, s in structures:
    if s["kind"] not in ("MSP", "CDS"):
        continue
    status, r = call("POST", "/v1/structures/%d/enrolments" % sid,
                     {"experiment": "PEPS", "option": "whole", "start_on": on})
    if status == 422:
        refused["; ".join(sorted(e["field"] for e in r.get("errors", [])))] += 1
        continue
    if status != 201:
        sys.exit("enrolment of structure %d: %d %s" % (sid, status, r))
    for phase, day in (("retrospective", 2), ("prospective", 3)):
        status, p = call("POST", "/v1/structures/%d/enrolments/%d/phases" % (sid, r["id"]),
                         {"phase": phase, "start_on": "%d-01-%02d" % (YEAR, day)})
        if status != 200:
            sys.exit("phase %s of structure %d: %d %s" % (phase, sid, status, p))
    enrolled.append(sid)
log("%d MSP/CDS enrolled in PEPS (whole), phase prospective; refused: %s" % (len(enrolled), dict(refused)))
status, job = call("POST", "/v1/risk-models", {"name": "peps-gp", "year": YEAR, "target": "peps_perimeter",
                                                "terms": ["age_sex", "ald_groups", "c2s", "ame", "n_chronic"],
                                                "method": "wls"})
if status != 202 or wait(job["id"])["status"] != "succeeded":
    sys.exit("risk model peps-gp: %d %s" % (status, job))
print(json.dumps({"structures": len(structures), "enrolled": len(enrolled), "refused": refused, "records": records}))
PY
	cleanup
	pids=()
	say "loaded in $(elapsed "$t0" "$(now)") s: $(cat "$WORK/load.json"); VACUUM ANALYZE"
	"${PSQL[@]}" -qc "VACUUM ANALYZE"
	"${PSQL[@]}" -qc "COMMENT ON DATABASE $DB IS '$MARK'"
fi

serve
TOKEN=$(token)
AUTH="Authorization: Bearer $TOKEN"

# The reference reads what a run reads, structure by structure, with the
# settings a51 gives each statement (store_peps_inputs, store_rm_population
# with the peps-gp model: perimeter acts, default ALD groups, no stays, the
# covered patients' ids, any dataset).
ACTS='{"G","GS","VG","VGS","TCG","MCG","MU","MD","GL1","GL2","GL3"}'
INPUTS=$("$A51D" sql peps-inputs)
POPULATION=$("$A51D" sql population)
mapfile -t SIDS < <("${PSQL[@]}" -Atc "SELECT DISTINCT e.structure_id FROM enrolments e WHERE e.experiment = 'PEPS'
	AND e.start_on <= make_date($YEAR, 6, 30) AND (e.withdrawn_on IS NULL OR e.withdrawn_on >= make_date($YEAR, 4, 1))
	ORDER BY 1")
pp_settings() {
	printf "BEGIN; SET LOCAL jit = off; SET LOCAL a51.pp_structure = '%s'; SET LOCAL a51.pp_year = '%s';
 SET LOCAL a51.pp_option = 'whole'; SET LOCAL a51.pp_elderly_age = '65'; SET LOCAL a51.pp_neuro_age = '50';
 SET LOCAL a51.pp_neuro_ald = '{15,16,25}'; SET LOCAL a51.pp_diabetes_ald = '{8}'; SET LOCAL a51.pp_ame = 'true';
 SET LOCAL a51.pp_acts = '%s';\n" "$1" "$YEAR" "$ACTS"
}
rm_settings() {
	printf "SET LOCAL a51.rm_dataset = '%s'; SET LOCAL a51.rm_year = '%s'; SET LOCAL a51.rm_region = '';
 SET LOCAL a51.rm_acts = '%s'; SET LOCAL a51.rm_stays = 'false'; SET LOCAL a51.rm_g0 = '{8}';
 SET LOCAL a51.rm_g1 = '{1,3,5,13}'; SET LOCAL a51.rm_g2 = '{30}'; SET LOCAL a51.rm_g3 = '{23}';
 SET LOCAL a51.rm_g4 = '{9,15,16,25}'; SET LOCAL a51.rm_g5 = '{14}'; SET LOCAL a51.rm_any = 'true';
 SET LOCAL a51.rm_ids = '{%s}';\n" "$1" "$YEAR" "$ACTS" "$2"
}
# the inputs once, untimed, to learn each structure's covered patients
rm -rf "$WORK/ids"
mkdir -p "$WORK/ids"
for sid in "${SIDS[@]}"; do
	printf '\\o %s\n' "$WORK/ids/$sid.tsv"
	pp_settings "$sid"
	printf '%s\nCOMMIT;\n' "$INPUTS"
done >"$WORK/ids.sql"
"${PSQL[@]}" -qAt -f "$WORK/ids.sql" >/dev/null
covered=0
for sid in "${SIDS[@]}"; do
	pp_settings "$sid"
	printf '%s\nCOMMIT;\n' "$INPUTS"
done >"$WORK/ref-inputs.sql"
for sid in "${SIDS[@]}"; do
	pp_settings "$sid"
	printf '%s\n' "$INPUTS"
	ids=$(cut -f1 "$WORK/ids/$sid.tsv" | paste -sd,)
	covered=$((covered + $(wc -l <"$WORK/ids/$sid.tsv")))
	if [[ -n $ids ]]; then
		rm_settings "$sid" "$ids"
		printf '%s\n' "$POPULATION"
	fi
	printf 'COMMIT;\n'
done >"$WORK/ref-all.sql"

in_s=() all_s=() run_s=() batches=()
for r in $(seq 1 "$REPS"); do
	t0=$(now)
	"${PSQL[@]}" -qAt -f "$WORK/ref-inputs.sql" >/dev/null
	t1=$(now)
	in_s+=("$(elapsed "$t0" "$t1")")
	t0=$(now)
	"${PSQL[@]}" -qAt -f "$WORK/ref-all.sql" >/dev/null
	t1=$(now)
	all_s+=("$(elapsed "$t0" "$t1")")

	# runs are immutable (rules refuse DELETE): empty the run tables so that
	# every repetition writes into the same state
	"${PSQL[@]}" -qc "TRUNCATE peps_lines, peps_schedule, peps_distributions, peps_runs, peps_batches; CHECKPOINT"
	t0=$(now)
	job=$(curl -fs -H "$AUTH" -H 'Content-Type: application/json' \
		-d "{\"year\": $YEAR, \"quarter\": 2, \"phase\": \"prospective\"}" "http://127.0.0.1:$PORT/v1/peps/runs" | jq -r .id)
	[[ $job =~ ^[0-9]+$ ]] || die "POST /v1/peps/runs did not answer a job"
	st=$(wait_job "$job")
	t1=$(now)
	[[ $st == succeeded ]] || die "PEPS batch job $job: $st: $(curl -fs -H "$AUTH" "http://127.0.0.1:$PORT/v1/jobs/$job" | jq -c .error)"
	run_s+=("$(elapsed "$t0" "$t1")")
	batches+=("$(curl -fs -H "$AUTH" "http://127.0.0.1:$PORT/v1/jobs/$job" | jq -r .result.id)")
done
batch=${batches[$((REPS - 1))]}
read -r runs patients lines < <("${PSQL[@]}" -AtF' ' -c "SELECT count(*), coalesce(sum(patients), 0),
	(SELECT count(*) FROM peps_lines l JOIN peps_runs r ON r.id = l.run_id WHERE r.batch_id = $batch)
	FROM peps_runs WHERE batch_id = $batch")
skipped=$("${PSQL[@]}" -Atc "SELECT jsonb_array_length(summary->'skipped') FROM peps_batches WHERE id = $batch")
nstruct=$("${PSQL[@]}" -Atc "SELECT count(*) FROM structures")
# a run over nobody measures nothing: no figure then. The inputs cover the
# year; the run pays the quarter's patients, some fewer (deaths, moves).
[[ $patients -gt 0 && $patients -le $covered ]] ||
	die "the run covers $patients patients, the reference read $covered: $("${PSQL[@]}" -Atc \
		"SELECT summary->'skipped'->0 FROM peps_batches WHERE id = $batch")"

in_b=$(best "${in_s[@]}") all_b=$(best "${all_s[@]}") run_b=$(best "${run_s[@]}")
echo
echo "  PEPS national run, $YEAR Q2 prospective, through the API: $runs structures run ($skipped skipped)"
echo "  of ${#SIDS[@]} enrolled (of $nstruct structures), $patients covered patients, $lines lines; best of $REPS (seconds)"
row "what" "seconds" "ratio" "goal"
row "COPY peps inputs TO STDOUT (${#SIDS[@]} structures)" "$in_b" "" ""
row "COPY peps inputs + covariates (population)" "$all_b" "1.00" ""
row "a51 run (POST /v1/peps/runs .. succeeded)" "$run_b" "$(ratio "$run_b" "$all_b")" \
	"<=3 $(goal "$(ratio "$run_b" "$all_b")" 3)"
row "  against the inputs COPY alone" "" "$(ratio "$run_b" "$in_b")" "<=3 $(goal "$(ratio "$run_b" "$in_b")" 3)"
echo "  (the reference reads both COPYs a51 reads per structure: inputs, then the covariates of the covered"
echo "   patients by id; each figure: ${in_s[*]} | ${all_s[*]} | ${run_s[*]})"
