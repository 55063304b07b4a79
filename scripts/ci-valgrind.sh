#!/usr/bin/env bash
# a51d under valgrind (memcheck) for 1 000 requests of every kind it serves,
# then SIGTERM: any invalid access, or memory definitely or indirectly lost,
# fails the run.
source "$(dirname "$0")/lib.sh"

"$A51_ROOT/scripts/deps.sh" ci
"$A51_ROOT/scripts/build.sh"
started=
[[ $("$A51_ROOT/scripts/pg.sh" status || true) == running ]] || started=1
"$A51_ROOT/scripts/pg.sh" start >/dev/null
# a fresh database every run: what a first start does is part of what is checked
"$A51_ROOT/scripts/pg.sh" psql -d postgres -qc "DROP DATABASE IF EXISTS a51_valgrind WITH (FORCE)" \
	-c "CREATE DATABASE a51_valgrind" >/dev/null
trap '[[ -n $started ]] && "$A51_ROOT/scripts/pg.sh" stop' EXIT

out=$A51_ROOT/var/valgrind
mkdir -p "$out"
port=18490
base=http://127.0.0.1:$port
A51_DATABASE_URL=$(pg_url a51_valgrind) A51_MODE=test A51_LISTEN=127.0.0.1:$port A51_HTTP_THREADS=2 A51_DB_POOL=2 \
	valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --log-file="$out/valgrind.log" \
	"$A51_BUILD/a51d" serve 2>"$out/a51d.log" &
pid=$!
for _ in $(seq 1 300); do curl -fs -o /dev/null "$base/healthz" && break; sleep 0.1; done

token=$(A51_DATABASE_URL=$(pg_url a51_valgrind) A51_MODE=test "$A51_BUILD/a51d" token create --name valgrind \
	--scope national 2>/dev/null)
auth="Authorization: Bearer $token"
json='Content-Type: application/json'
# A structure with a member and a patient, then reads and the error paths over
# keep-alive connections: 1 000 requests in all.
sid=$(curl -s -H "$auth" -H "$json" -d '{"kind":"MSP","name":"MSP valgrind","region":"84","commune":"69123",
	"legal_form":"SISA","siret":"73282932000074"}' "$base/v1/structures" | sed 's/^{"id":\([0-9]*\).*/\1/')
curl -s -o /dev/null -H "$auth" -H "$json" -d '{"rpps":"10000000017","profession":"MG","last_name":"A",
	"first_name":"B","start_on":"2022-01-01"}' "$base/v1/structures/$sid/members"
curl -s -o /dev/null -H "$auth" -H "$json" -d '{"nir":"155036938101203","birth":"1955-03",
	"ald":[{"code":8,"start_on":"2020-01-01"}]}' "$base/v1/structures/$sid/patients"
paths=(/healthz /readyz /metrics /openapi.json /v1/regions /v1/regions/84 /v1/regions/99 /v1/regions/xx
	/problems/not-found /nowhere "/v1/structures/$sid" "/v1/structures?region=84&limit=5"
	"/v1/structures/$sid/members?on=2024-01-01" "/v1/structures/$sid/patients" "/v1/parameter-sets"
	"/v1/structures/$sid/eligibility?experiment=PEPS&option=whole" "/v1/audit?limit=3" /v1/tokens
	"/v1/structures/$sid/enrolments" "/v1/structures/999/members")
cfg=$out/curl.cfg
: >"$cfg"
for i in $(seq 0 899); do
	printf 'url = "%s%s"\noutput = /dev/null\n' "$base" "${paths[$((i % ${#paths[@]}))]}" >>"$cfg"
done
curl -s -H "$auth" -K "$cfg" -w '%{http_code}\n' >"$out/codes.txt"
# the web front end's static files: a page, a 304, an unknown name
for i in $(seq 1 10); do
	curl -s -o /dev/null -w '%{http_code}\n' "$base/" >>"$out/codes.txt"
	curl -s -o /dev/null -w '%{http_code}\n' -H 'If-None-Match: "x", *' "$base/ui/app.js" >>"$out/codes.txt"
	curl -s -o /dev/null -w '%{http_code}\n' "$base/ui/nothing.js" >>"$out/codes.txt"
done
for i in $(seq 1 20); do
	curl -s -o /dev/null -w '%{http_code}\n' -X DELETE "$base/healthz" >>"$out/codes.txt"
	curl -s -o /dev/null -w '%{http_code}\n' -H 'Transfer-Encoding: chunked' --data-binary @"$cfg" \
		-X GET "$base/healthz" >>"$out/codes.txt"
	curl -s -o /dev/null -w '%{http_code}\n' -H "$auth" -H "$json" -d "{\"kind\":\"CDS\",\"name\":\"CDS $i\",
		\"region\":\"84\",\"commune\":\"69123\",\"legal_form\":\"ASSOCIATION\"}" "$base/v1/structures" >>"$out/codes.txt"
	curl -s -o /dev/null -w '%{http_code}\n' -H "$auth" -H "$json" -d '{"kind":"HOSPITAL","x":1}' \
		"$base/v1/structures" >>"$out/codes.txt"
	curl -s -o /dev/null -w '%{http_code}\n' -H "$auth" -H "$json" -d '{"nir":"155036938101204"}' \
		"$base/v1/structures/$sid/patients/lookup" >>"$out/codes.txt"
done
# Uploads, then jobs on the worker threads: two fits, a score run, scoring now.
"$A51_BUILD/a51d" synth --patients 60 --structures 1 --year 2024 --years 1 --reference 400 --seed 3 \
	--out "$out/synth" 2>/dev/null
for kind in patients claims stays; do
	curl -s -o /dev/null -w '%{http_code}\n' -H "$auth" -H 'Content-Type: text/csv' -T "$out/synth/reference/$kind.csv" \
		-X POST "$base/v1/reference/uploads?kind=$kind" >>"$out/codes.txt"
done
wait_job() { # polls a job until it has finished; prints its status
	local st
	for _ in $(seq 1 600); do
		st=$(curl -s -H "$auth" "$base/v1/jobs/$1" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
		[[ $st == queued || $st == running ]] || { echo "$st"; return; }
		sleep 0.2
	done
}
models=()
for method in wls glm_gamma wls; do
	name=vg
	[[ $method == wls ]] && name=peps-gp # the models PEPS and IPEP runs read
	[[ $method == wls && ${#models[@]} -eq 2 ]] && name=ipep-all
	job=$(curl -s -H "$auth" -H "$json" -d "{\"name\":\"$name\",\"year\":2024,\"target\":\"town_all\",
		\"terms\":[\"age_sex\",\"ald_groups\",\"c2s\"],\"method\":\"$method\",
		\"truncation\":{\"type\":\"percentile\",\"p\":0.99}}" "$base/v1/risk-models" | sed 's/^{"id":\([0-9]*\).*/\1/')
	[[ $(wait_job "$job") == succeeded ]] || die "valgrind: fit job $job did not succeed"
	models+=("$(curl -s -H "$auth" "$base/v1/jobs/$job" | sed -n 's/.*"result":{"type":"risk_model","id":\([0-9]*\).*/\1/p')")
	echo 202 >>"$out/codes.txt"
done
job=$(curl -s -H "$auth" -H "$json" -d '{"reference":true}' "$base/v1/risk-models/${models[0]}/score-runs" |
	sed 's/^{"id":\([0-9]*\).*/\1/')
[[ $(wait_job "$job") == succeeded ]] || die "valgrind: score job $job did not succeed"
for m in "${models[@]}"; do
	for p in "/v1/risk-models/$m" "/v1/risk-models/${models[0]}/scores?reference=true&limit=5&explain=true" \
		"/v1/risk-models/${models[0]}/scores/1?reference=true" "/v1/jobs?limit=5" "/v1/jobs/$job"; do
		curl -s -o /dev/null -w '%{http_code}\n' -H "$auth" "$base$p" >>"$out/codes.txt"
	done
	curl -s -o /dev/null -w '%{http_code}\n' -H "$auth" -H "$json" -d '{"profiles":[{"sex":2,"age":70,"ald":[8],
		"c2s":true},{"sex":1,"age":3}],"year":2024}' "$base/v1/risk-models/$m/scores" >>"$out/codes.txt"
	curl -s -o /dev/null -w '%{http_code}\n' -H "$auth" -X DELETE "$base/v1/jobs/$job" >>"$out/codes.txt"
done
# A PEPS what-if of the structure (it is not enrolled: the option says what to compute), then its reads.
job=$(curl -s -H "$auth" -H "$json" -d '{"year":2024,"phase":"prospective","what_if":true,"option":"whole"}' \
	"$base/v1/structures/$sid/peps/runs" | sed 's/^{"id":\([0-9]*\).*/\1/')
[[ $(wait_job "$job") == succeeded ]] || die "valgrind: PEPS job $job did not succeed"
run=$(curl -s -H "$auth" "$base/v1/jobs/$job" | sed -n 's/.*"result":{"type":"peps_run","id":\([0-9]*\).*/\1/p')
for p in "/v1/peps/runs/$run" "/v1/peps/runs/$run/lines" "/v1/peps/runs/$run/lines?format=csv" \
	"/v1/peps/runs/$run/distribution?key=fte" "/v1/peps/runs?limit=5"; do
	curl -s -o /dev/null -w '%{http_code}\n' -H "$auth" "$base$p" >>"$out/codes.txt"
done
# An IPEP what-if of the structure, with quality inputs, then its reads.
curl -s -o /dev/null -w '%{http_code}\n' -H "$auth" -H "$json" -X PUT "$base/v1/structures/$sid/ipep/quality/2024" \
	-d '{"indicators":[{"code":"v","value":5,"previous":4,"deciles":[1,2,3,4,5,6,7,8,9]}],"experience_points":3}' \
	>>"$out/codes.txt"
job=$(curl -s -H "$auth" -H "$json" -d '{"year":2024,"what_if":true,"phase":"phase3"}' \
	"$base/v1/structures/$sid/ipep/runs" | sed 's/^{"id":\([0-9]*\).*/\1/')
[[ $(wait_job "$job") == succeeded ]] || die "valgrind: IPEP job $job did not succeed"
run=$(curl -s -H "$auth" "$base/v1/jobs/$job" | sed -n 's/.*"result":{"type":"ipep_run","id":\([0-9]*\).*/\1/p')
for p in "/v1/ipep/runs/$run" "/v1/ipep/runs/$run/lines" "/v1/ipep/runs/$run/lines?format=csv" "/v1/ipep/runs?limit=5" \
	"/v1/structures/$sid/ipep/quality/2024"; do
	curl -s -o /dev/null -w '%{http_code}\n' -H "$auth" "$base$p" >>"$out/codes.txt"
done
# Quality indicators of the region (a job), then the dashboards and care gaps that read them.
job=$(curl -s -H "$auth" -H "$json" -d '{"year":2024}' "$base/v1/regions/84/indicators/runs" | sed 's/^{"id":\([0-9]*\).*/\1/')
[[ $(wait_job "$job") == succeeded ]] || die "valgrind: indicators job $job did not succeed"
run=$(curl -s -H "$auth" "$base/v1/jobs/$job" | sed -n 's/.*"result":{"type":"indicator_run","id":\([0-9]*\).*/\1/p')
for p in "/v1/indicators/runs/$run" "/v1/regions/84/indicators/runs?year=2024" /v1/me \
	"/v1/structures/$sid/dashboard?year=2024" "/v1/structures/$sid/dashboard?year=2024&format=csv" \
	"/v1/regions/84/dashboard?year=2024" "/v1/regions/84/dashboard?year=2024&format=csv" \
	"/v1/structures/$sid/care-gaps?year=2024&limit=2" "/v1/structures/$sid/care-gaps?year=2024&format=csv" \
	"/v1/structures/$sid/care-gaps?year=2024&indicator=RH30" "/v1/structures/$sid/care-gaps?year=2024&cursor=x"; do
	curl -s -o /dev/null -w '%{http_code}\n' -H "$auth" "$base$p" >>"$out/codes.txt"
done
n=$(wc -l <"$out/codes.txt")
kill -TERM $pid
rc=0
wait $pid || rc=$?
say "valgrind: $n requests answered ($(sort "$out/codes.txt" | uniq -c | tr '\n' ' ')), a51d exit status $rc"
if [[ $rc -ne 0 || $n -lt 1000 ]]; then
	cat "$out/valgrind.log" >&2
	die "valgrind found errors or leaks (log: $out/valgrind.log)"
fi
say "valgrind: no errors, no leaks"
