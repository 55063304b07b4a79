#!/usr/bin/env bash
# The private PostgreSQL 15 cluster under var/ (or $A51_PG_DIR), on its own
# socket directory and port. PostgreSQL refuses to run as root, so as root the
# cluster belongs to the 'postgres' system user.
#   pg.sh start [DB...]   init if needed, start, create the databases (default a51)
#   pg.sh stop | status | url [DB] | psql [args]
source "$(dirname "$0")/lib.sh"

run_as() {
	if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The cluster's own directory must be reachable by its owner. Under /root it is
# not reachable by 'postgres': then the data lives in /var/tmp and var/pg links to it.
prepare_dir() {
	[[ -e $A51_PG_DIR ]] && return
	mkdir -p "$(dirname "$A51_PG_DIR")"
	if [[ $(id -u) -eq 0 ]]; then
		id postgres >/dev/null 2>&1 || die "no 'postgres' user: is postgresql-15 installed?"
		if ! runuser -u postgres -- test -x "$(dirname "$A51_PG_DIR")"; then
			local real
			real=/var/tmp/a51-pg-$(printf '%s' "$A51_PG_DIR" | sha256sum | cut -c1-12)
			mkdir -p "$real"
			chown postgres: "$real"
			ln -s "$real" "$A51_PG_DIR"
			return
		fi
		mkdir -p "$A51_PG_DIR"
		chown postgres: "$A51_PG_DIR"
	else
		mkdir -p "$A51_PG_DIR"
	fi
}

pg_running() {
	[[ -f $A51_PG_DIR/data/PG_VERSION ]] && run_as "$PG_BIN/pg_ctl" -D "$A51_PG_DIR/data" status >/dev/null 2>&1
}

psql_() {
	psql -X -q -v ON_ERROR_STOP=1 -h "$A51_PG_DIR/run" -p "$A51_PG_PORT" -U "$A51_PG_USER" "$@"
}

cmd_start() {
	[[ -x $PG_BIN/initdb ]] || die "PostgreSQL 15 server binaries not found in $PG_BIN (run: make deps)"
	prepare_dir
	if [[ ! -f $A51_PG_DIR/data/PG_VERSION ]]; then
		say "creating the PostgreSQL cluster in $A51_PG_DIR"
		run_as mkdir -p "$A51_PG_DIR/data" "$A51_PG_DIR/run"
		run_as "$PG_BIN/initdb" -D "$A51_PG_DIR/data" -U "$A51_PG_USER" --auth=trust -E UTF8 \
			--locale=C.UTF-8 >"$A51_PG_DIR/initdb.log" 2>&1 || { cat "$A51_PG_DIR/initdb.log" >&2; exit 1; }
		cat >>"$A51_PG_DIR/data/postgresql.conf" <<CONF
# a51 private cluster
listen_addresses = ''
unix_socket_directories = '$A51_PG_DIR/run'
port = $A51_PG_PORT
max_connections = 300
shared_buffers = 256MB
work_mem = 16MB
maintenance_work_mem = 256MB
max_wal_size = 4GB
checkpoint_timeout = 15min
log_min_messages = warning
log_min_error_statement = panic
CONF
	fi
	run_as mkdir -p "$A51_PG_DIR/run"
	if ! pg_running; then
		say "starting PostgreSQL on port $A51_PG_PORT (socket $A51_PG_DIR/run)"
		run_as "$PG_BIN/pg_ctl" -D "$A51_PG_DIR/data" -l "$A51_PG_DIR/postgres.log" -w -t 60 start >/dev/null ||
			{ tail -20 "$A51_PG_DIR/postgres.log" >&2; exit 1; }
	fi
	local db
	for db in "${@:-a51}"; do
		if [[ -z $(psql_ -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
			psql_ -d postgres -c "CREATE DATABASE \"$db\""
		fi
	done
}

cmd_stop() {
	if pg_running; then
		say "stopping PostgreSQL"
		run_as "$PG_BIN/pg_ctl" -D "$A51_PG_DIR/data" -m fast -w -t 60 stop >/dev/null
	fi
}

case ${1:-} in
start) shift; cmd_start "$@" ;;
stop) cmd_stop ;;
status) if pg_running; then echo running; else echo stopped; exit 3; fi ;;
url) pg_url "${2:-a51}"; echo ;;
psql) shift; psql_ "$@" ;;
*) die "usage: pg.sh start [DB...] | stop | status | url [DB] | psql [args]" ;;
esac
