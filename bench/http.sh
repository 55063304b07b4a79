#!/usr/bin/env bash
# HTTP and database-read throughput of a51d, side by side with their ceilings
# measured in the same run on the same machine:
#   - GET /healthz      vs a minimal libmicrohttpd hello-world (bench/hello.c)
#   - GET /v1/regions/X vs pgbench -S on the same cluster (one indexed read)
# Goals: /healthz >= 80 % of hello-world; the DB read >= 55 % of pgbench -S,
# with p99 < 20 ms at 64 connections.
source "$(dirname "$0")/lib.sh"

DUR=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-64}
PORT_A51=18480
PORT_HELLO=18481

"$A51_ROOT/scripts/pg.sh" start a51_bench pgbench_ref >/dev/null
URL=$(pg_url a51_bench)
pgbench -q -i -s 1 -h "$A51_PG_DIR/run" -p "$A51_PG_PORT" -U "$A51_PG_USER" pgbench_ref >/dev/null 2>&1

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

"$A51_BUILD/bench/bench_hello" "$PORT_HELLO" "$(nproc)" &
pids+=($!)
A51_DATABASE_URL=$URL A51_MODE=test A51_LISTEN=127.0.0.1:$PORT_A51 "$A51D" serve 2>"$BENCH_DIR/a51d-http.log" &
pids+=($!)
wait_http "http://127.0.0.1:$PORT_HELLO/"
wait_http "http://127.0.0.1:$PORT_A51/readyz"
# Every API route needs a token: the read is measured as a client would make it.
TOKEN=$(A51_DATABASE_URL=$URL A51_MODE=test "$A51D" token create --name bench --scope national --read-only 2>/dev/null)
AUTH=(-H "Authorization: Bearer $TOKEN")

# warm-up: connections, prepared statements, caches
wrk_run 2s "$CONNS" "http://127.0.0.1:$PORT_A51/v1/regions/84" "${AUTH[@]}" >/dev/null
wrk_run 2s "$CONNS" "http://127.0.0.1:$PORT_HELLO/" >/dev/null

read -r hello_rps hello_p50 hello_p99 _ < <(wrk_run "$DUR" "$CONNS" "http://127.0.0.1:$PORT_HELLO/")
read -r hz_rps hz_p50 hz_p99 hz_bad < <(wrk_run "$DUR" "$CONNS" "http://127.0.0.1:$PORT_A51/healthz")
read -r db_rps db_p50 db_p99 db_bad < <(wrk_run "$DUR" "$CONNS" "http://127.0.0.1:$PORT_A51/v1/regions/84" "${AUTH[@]}")

# pgbench -S: the database's own rate for one indexed read, per-transaction
# latencies logged to compute the same percentiles.
rm -f "$BENCH_DIR"/pgbench_log.*
(cd "$BENCH_DIR" && pgbench -S -n -c "$CONNS" -j 2 -T "${DUR%s}" -l --log-prefix=pgbench_log \
	-h "$A51_PG_DIR/run" -p "$A51_PG_PORT" -U "$A51_PG_USER" pgbench_ref >"$BENCH_DIR/pgbench.out" 2>&1)
pg_tps=$(awk '/^tps/ { printf "%.0f", $3 }' "$BENCH_DIR/pgbench.out")
read -r pg_p50 pg_p99 < <(cat "$BENCH_DIR"/pgbench_log.* | awk '{ print $3 }' | sort -n |
	awk '{ v[NR] = $1 } END { printf "%.2f %.2f\n", v[int(NR * 0.50)] / 1000, v[int(NR * 0.99)] / 1000 }')
rm -f "$BENCH_DIR"/pgbench_log.*

echo
echo "HTTP and one indexed read — wrk -t2 -c$CONNS -d$DUR, $(nproc) cores"
row "" "req/s" "p50 ms" "p99 ms"
row "hello-world (libmicrohttpd, same threading)" "$hello_rps" "$hello_p50" "$hello_p99"
row "a51d GET /healthz" "$hz_rps" "$hz_p50" "$hz_p99"
row "pgbench -S ($CONNS clients, same cluster)" "$pg_tps" "$pg_p50" "$pg_p99"
row "a51d GET /v1/regions/{code} (one indexed read)" "$db_rps" "$db_p50" "$db_p99"
echo
printf '  /healthz vs hello-world:     %s  (goal >= 0.80)\n' "$(ratio "$hz_rps" "$hello_rps")"
printf '  DB read vs pgbench -S:       %s  (goal >= 0.55)\n' "$(ratio "$db_rps" "$pg_tps")"
printf '  DB read p99:                 %s ms  (goal < 20 ms)\n' "$db_p99"
[[ $hz_bad -eq 0 && $db_bad -eq 0 ]] || printf '  WARNING: non-2xx answers: healthz %s, db read %s\n' "$hz_bad" "$db_bad"
