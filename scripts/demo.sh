#!/usr/bin/env bash
# make demo: installs what is missing, builds, starts the private PostgreSQL
# cluster under var/ (unless A51_DATABASE_URL names a server), migrates, and
# serves the API and web UI on http://127.0.0.1:8080 until Ctrl-C.
source "$(dirname "$0")/lib.sh"

"$A51_ROOT/scripts/deps.sh"
"$A51_ROOT/scripts/build.sh"

own_pg=
if [[ -z ${A51_DATABASE_URL:-} ]]; then
	"$A51_ROOT/scripts/pg.sh" start a51
	export A51_DATABASE_URL=$(pg_url a51)
	own_pg=1
fi
export A51_MODE=${A51_MODE:-demo}
export A51_LISTEN=${A51_LISTEN:-127.0.0.1:8080}
mkdir -p "$A51_ROOT/var"

say "migrating"
"$A51_BUILD/a51d" migrate

say "starting a51d (log: var/a51d.log)"
"$A51_BUILD/a51d" serve 2> >(tee -a "$A51_ROOT/var/a51d.log" | grep --line-buffered -v '"event":"access"' >&2) &
pid=$!

stop() {
	trap - INT TERM
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	[[ -n $own_pg ]] && "$A51_ROOT/scripts/pg.sh" stop
	exit 0
}
trap stop INT TERM

url=http://$A51_LISTEN
for _ in $(seq 1 100); do
	curl -fs -o /dev/null "$url/readyz" && break
	kill -0 "$pid" 2>/dev/null || { wait "$pid"; die "a51d stopped (see var/a51d.log)"; }
	sleep 0.1
done

# A national demo token, kept in var/ (readable by you only) and reused while it works.
token_file=$A51_ROOT/var/demo-token
token=$(cat "$token_file" 2>/dev/null || true)
if [[ -z $token ]] || ! curl -fs -o /dev/null -H "Authorization: Bearer $token" "$url/v1/regions"; then
	token=$("$A51_BUILD/a51d" token create --name demo --scope national 2>/dev/null)
	(umask 077 && echo "$token" >"$token_file")
fi
# Demo data, once: a synthetic region (Auvergne-Rhône-Alpes) loaded through the API.
data=$A51_ROOT/var/demo-data
if ! curl -fs -H "Authorization: Bearer $token" "$url/v1/structures?limit=1" | grep -q '"id"'; then
	say "generating a synthetic region (100 000 patients, 30 structures, 2023-2024) and loading it"
	rm -rf "$data"
	"$A51_BUILD/a51d" synth --patients 100000 --structures 30 --year 2024 --years 2 --reference 60000 \
		--seed 51 --surgery-rate 3 --out "$data"
	python3 "$A51_ROOT/scripts/load-demo.py" "$url" "$token" "$data"
fi
cat >&2 <<BANNER

  a51 is ready:   $url/   (web front end: sign in with the token below)
  API contract:   $url/openapi.json
  readiness:      $url/readyz
  demo token:     $token   (national, read-write; also in var/demo-token)
  try:            curl -H "Authorization: Bearer \$(cat var/demo-token)" $url/v1/structures

  Ctrl-C stops a51d and the database; \`make demo\` again picks up where it left off.

BANNER
wait "$pid" || true
stop
