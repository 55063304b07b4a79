#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/api.h"
#include "a51/metrics.h"
#include "a51/migrate.h"
#include "a51/server.h"
#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

void api_healthz(struct http_request *r)
{
	static const char ok[] = "{\"status\":\"ok\"}";

	http_respond(r, 200, "application/json", ok, sizeof(ok) - 1, false);
}

void api_readyz(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct migration_applied *applied = NULL;
	size_t napplied = 0, pending = 0, ahead = 0;
	struct db_conn *c;
	json_t *checks;
	int rc;

	if (atomic_load(&r->app->draining)) {
		http_problem(r, 503, "shutting-down", "a51d is shutting down");
		return;
	}
	c = db_acquire(r->app->pool, &err);
	if (!c) {
		checks = json_pack("{s:s,s:s}", "database", "unreachable", "schema", "unknown");
		http_problem_ex(r, 503, "not-ready", NULL, json_pack("{s:o}", "checks", checks),
				"database unreachable: %s", err.message);
		return;
	}
	rc = store_schema_applied(c, &applied, &napplied, &err);
	db_release(r->app->pool, c);
	if (rc < 0) {
		bool down = err.code == A51_EUNAVAIL;
		checks = json_pack("{s:s,s:s}", "database", down ? "unreachable" : "ok", "schema",
				   down ? "unknown" : "missing");
		http_problem_ex(r, 503, "not-ready", NULL, json_pack("{s:o}", "checks", checks), "%s: %s",
				down ? "database unreachable" : "schema not initialised", err.message);
		free(applied);
		return;
	}
	rc = migrate_plan(a51_migrations, a51_migrations_count, applied, napplied, &pending, &ahead, &err);
	free(applied);
	if (rc < 0 || pending != a51_migrations_count) {
		checks = json_pack("{s:s,s:s}", "database", "ok", "schema", rc < 0 ? "mismatch" : "behind");
		http_problem_ex(r, 503, "not-ready", NULL, json_pack("{s:o}", "checks", checks), "%s",
				rc < 0 ? err.message : "migrations are pending: run a51d migrate");
		return;
	}
	http_respond_json(r, 200, json_pack("{s:s,s:{s:s,s:s},s:i}", "status", "ready", "checks", "database", "ok",
					    "schema", "current", "schema_version", (int)a51_migrations_count));
}

void api_metrics(struct http_request *r)
{
	struct db_pool_stats ps;
	struct buf b;
	char *body;
	size_t len;

	buf_init(&b);
	metrics_render_http(&b);
	db_pool_stats(r->app->pool, &ps);
	metrics_gauge(&b, "a51_db_pool_size", "Connections the pool may open.", ps.size);
	metrics_gauge(&b, "a51_db_pool_open", "Connections currently open.", ps.open);
	metrics_gauge(&b, "a51_db_pool_in_use", "Connections handed out right now.", ps.in_use);
	metrics_counter(&b, "a51_db_pool_acquires_total", "Connections handed out.", ps.acquires);
	metrics_counter(&b, "a51_db_pool_waits_total", "Acquisitions that had to wait for a free connection.",
			ps.waits);
	metrics_counter(&b, "a51_db_pool_timeouts_total", "Acquisitions that gave up (answered 503).", ps.timeouts);
	metrics_counter(&b, "a51_db_connects_total", "Connection attempts to PostgreSQL.", ps.connects);
	metrics_counter(&b, "a51_db_connect_failures_total", "Failed connection attempts.", ps.connect_failures);
	metrics_gauge(&b, "a51_http_inflight_requests", "Requests being served.",
		      http_server_inflight(r->app->server));
	metrics_gauge(&b, "process_resident_memory_bytes", "Resident memory size in bytes.",
		      (double)util_rss_bytes());
	buf_printf(&b, "# HELP a51_build_info Version of this a51d.\n# TYPE a51_build_info gauge\n"
		       "a51_build_info{version=\"%s\"} 1\n", a51_version);
	if (b.oom) {
		buf_release(&b);
		http_problem(r, 500, "internal", "out of memory rendering metrics");
		return;
	}
	body = buf_steal(&b, &len);
	http_respond_owned(r, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
}

void api_openapi(struct http_request *r)
{
	http_respond(r, 200, "application/json", a51_openapi_json, a51_openapi_json_len, false);
}

void api_problem_type(struct http_request *r)
{
	const char *slug = http_param(r, "slug");
	const struct problem_type *pt = slug ? problem_lookup(slug) : NULL;

	if (!pt) {
		http_problem(r, 404, "not-found", "no problem type of that name");
		return;
	}
	http_respond_json(r, 200, json_pack("{s:s,s:s,s:i,s:s}", "type", slug, "title", pt->title, "status",
					    pt->status, "description", pt->description));
}
