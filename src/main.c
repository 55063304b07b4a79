/* a51d: the command line. serve | migrate [--status] | --help | --version */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "a51/api.h"
#include "a51/cli.h"
#include "a51/config.h"
#include "a51/db.h"
#include "a51/jobs.h"
#include "a51/log.h"
#include "a51/metrics.h"
#include "a51/migrate.h"
#include "a51/router.h"
#include "a51/server.h"
#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

static void usage(FILE *out)
{
	fprintf(out,
		"a51d %s - article 51 value-based payments (PEPS, IPEP, EDS)\n\n"
		"Usage:\n"
		"  a51d [options] serve             run the HTTP API (applies pending migrations first)\n"
		"  a51d [options] migrate           apply pending database migrations\n"
		"  a51d [options] migrate --status  list migrations and whether each is applied\n"
		"  a51d [options] token create --name NAME --scope national|ars:CODE|structure:ID\n"
		"                     [--read-only] [--expires-on YYYY-MM-DD]   print a new API token (once)\n"
		"  a51d [options] token list [--all] | token revoke ID\n"
		"  a51d synth --patients N --structures M --year Y --seed S --out DIR\n"
		"                     [--reference N] [--years K] [--region CODE]   write synthetic data\n"
		"                     [--surgery-rate K]   (K times the surgical episodes)\n"
		"  a51d sql population              print the SQL that reads a risk model's population\n"
		"  a51d sql peps-inputs             print the SQL that reads a structure's PEPS inputs\n"
		"  a51d --help | --version\n\n",
		a51_version);
	config_print_help(out);
}

static int load_config(struct a51_config *cfg, int argc, char **argv, int *idx)
{
	struct a51_error err = { 0 };

	config_defaults(cfg);
	if (config_apply_env(cfg, (config_getenv_fn)getenv, &err) < 0 ||
	    config_apply_args(cfg, argc, argv, idx, &err) < 0) {
		fprintf(stderr, "a51d: %s\n", err.message);
		return -1;
	}
	log_set_level((enum log_level)cfg->log_level);
	return 0;
}

/* Waits for the database at start-up: under compose or Kubernetes, a51d and
 * PostgreSQL often start together. */
static PGconn *connect_with_retry(const struct a51_config *cfg, int seconds)
{
	struct a51_error err = { 0 };
	uint64_t until = util_now_ns() + (uint64_t)seconds * 1000000000u;

	for (;;) {
		PGconn *pg = db_connect(cfg->database_url, cfg->db_connect_timeout_s, "a51d-migrate", &err);
		if (pg)
			return pg;
		if (util_now_ns() >= until) {
			log_error("db.connect", "giving up on PostgreSQL: %s", err.message);
			return NULL;
		}
		log_warn("db.connect", "PostgreSQL not reachable yet, retrying: %s", err.message);
		sleep(1);
	}
}

static int run_migrations(const struct a51_config *cfg, int wait_s)
{
	struct a51_error err = { 0 };
	PGconn *pg = connect_with_retry(cfg, wait_s);
	int applied = 0, rc;

	if (!pg)
		return -1;
	rc = migrate_run(pg, a51_migrations, a51_migrations_count, &applied, &err);
	if (rc == 0) {
		int seeded = 0;
		/* Seeds run under the same advisory lock's protection as migrations:
		 * a version per (experiment, year) and body, whoever starts first. */
		PGresult *res = PQexec(pg, "SELECT pg_advisory_lock(27361559146227570)");
		PQclear(res);
		rc = store_param_sets_seed(pg, &seeded, &err);
		res = PQexec(pg, "SELECT pg_advisory_unlock(27361559146227570)");
		PQclear(res);
	}
	PQfinish(pg);
	if (rc < 0) {
		log_error("migrate.failed", "%s", err.message);
		return -1;
	}
	log_info("migrate.done", "%d migration(s) applied, schema at version %zu", applied, a51_migrations_count);
	return 0;
}

static int cmd_migrate(const struct a51_config *cfg, int argc, char **argv, int idx)
{
	struct a51_error err = { 0 };
	PGconn *pg;
	int rc;

	if (idx < argc && strcmp(argv[idx], "--status") == 0) {
		pg = db_connect(cfg->database_url, cfg->db_connect_timeout_s, "a51d-migrate", &err);
		if (!pg) {
			fprintf(stderr, "a51d: cannot connect to PostgreSQL: %s\n", err.message);
			return 1;
		}
		rc = migrate_status(pg, a51_migrations, a51_migrations_count, stdout, &err);
		PQfinish(pg);
		if (rc < 0) {
			fprintf(stderr, "a51d: %s\n", err.message);
			return 1;
		}
		return 0;
	}
	if (idx < argc) {
		fprintf(stderr, "a51d: unknown argument to migrate: %s\n", argv[idx]);
		return 2;
	}
	return run_migrations(cfg, 0) < 0 ? 1 : 0;
}

/* Uploads a killed a51d left receiving (this one's predecessor, say) are
 * recorded as failed at once rather than at the next upload anywhere. */
static void sweep_uploads(struct db_pool *pool)
{
	struct a51_error err = { 0 };
	struct db_conn *c = db_acquire(pool, &err);
	int64_t swept = 0;

	if (!c || store_uploads_sweep(c, &swept, &err) < 0)
		log_warn("upload.sweep", "uploads left receiving were not checked: %s", err.message);
	else if (swept)
		log_warn("upload.sweep", "%lld upload(s) left receiving by an a51d that stopped: recorded as failed",
			 (long long)swept);
	db_release(pool, c);
}

static int cmd_serve(const struct a51_config *cfg)
{
	struct a51_error err = { 0 };
	struct http_server_config hc = { 0 };
	struct db_pool_config pc = { 0 };
	struct router *router = NULL;
	struct app app = { 0 };
	struct http_tls tls = { 0 };
	sigset_t sigs;
	int sig = 0, left, rc = 1;

	if (config_validate(cfg, &err) < 0) {
		fprintf(stderr, "a51d: %s\n", err.message);
		return 2;
	}
	if (config_listen_split(cfg->listen, hc.host, sizeof(hc.host), &hc.port, &err) < 0) {
		fprintf(stderr, "a51d: %s\n", err.message);
		return 2;
	}
	/* before anything else: a wrong file stops start-up at once, by name */
	if (cfg->tls_cert[0] && http_tls_load(cfg->tls_cert, cfg->tls_key, &tls, &err) < 0) {
		fprintf(stderr, "a51d: %s\n", err.message);
		return 2;
	}
	/* Signals are taken by sigwait() below; every thread created after this
	 * inherits the mask, so none of them is interrupted. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (log_async_start() < 0)
		log_warn("log", "batching log writer unavailable: writing lines directly");
	if (cfg->auto_migrate && run_migrations(cfg, 30) < 0) {
		log_async_stop();
		http_tls_release(&tls);
		return 1;
	}

	pc.url = cfg->database_url;
	pc.size = cfg->db_pool;
	pc.acquire_timeout_ms = cfg->db_acquire_timeout_ms;
	pc.statement_timeout_ms = cfg->statement_timeout_ms;
	pc.connect_timeout_s = cfg->db_connect_timeout_s;
	pc.application_name = "a51d";
	app.cfg = cfg;
	atomic_init(&app.draining, false);
	app.pseudo_key_len = auth_pseudo_key(cfg->pseudo_key, cfg->mode, app.pseudo_key, sizeof(app.pseudo_key));
	if (api_auth_start(cfg->database_url, cfg->db_connect_timeout_s) < 0) {
		a51_error_set(&err, A51_ENOMEM, NULL, "cannot start the token revocation listener");
		goto out;
	}
	if (!(app.pool = db_pool_new(&pc, &err)))
		goto out;
	if (cfg->database_replica_url[0]) {
		pc.url = cfg->database_replica_url;
		pc.application_name = "a51d-replica";
		if (!(app.read_pool = db_pool_new(&pc, &err)))
			goto out;
		pc.url = cfg->database_url;
	}
	pc.size = cfg->max_uploads;
	pc.acquire_timeout_ms = 100; /* a busy upload slot answers 503 at once */
	pc.statement_timeout_ms = cfg->upload_timeout_ms;
	pc.application_name = "a51d-upload";
	if (!(app.upload_pool = db_pool_new(&pc, &err)))
		goto out;
	sweep_uploads(app.upload_pool);
	{
		/* a job's statements may run long (a national population), but not for ever:
		 * one blocked on a lock or running away fails the job with that reason */
		struct jobs_config jc = { .workers = cfg->workers, .lease_s = cfg->job_lease_s,
					  .database_url = cfg->database_url, .connect_timeout_s = cfg->db_connect_timeout_s,
					  .statement_timeout_ms = cfg->job_statement_timeout_ms,
					  .checkpoint_delay_ms = cfg->job_checkpoint_delay_ms,
					  .app = &app };
		if (!(app.jobs = jobs_start(&jc, a51_job_kinds, a51_job_kinds_count, &err)))
			goto out;
	}
	if (!(router = router_new(api_routes, api_routes_count, &err)))
		goto out;
	app.router = router;
	if (metrics_init(router) < 0) {
		a51_error_set(&err, A51_ENOMEM, NULL, "out of memory");
		goto out;
	}
	hc.threads = cfg->http_threads;
	hc.conn_timeout_s = cfg->conn_timeout_s;
	hc.conn_limit = cfg->conn_limit;
	hc.conn_per_ip = cfg->conn_per_ip;
	hc.conn_memory = cfg->conn_memory;
	hc.max_body = cfg->max_body;
	hc.access_log = cfg->access_log;
	hc.tls = tls.cert_pem ? &tls : NULL;
	if (hc.tls && tls.not_after != (time_t)-1 && tls.not_after < time(NULL))
		log_warn("serve.tls", "the certificate of A51_TLS_CERT (%s) has expired: clients will refuse it",
			 cfg->tls_cert);
	if (!(app.server = http_server_start(&hc, router, &app, api_guard, &err)))
		goto out;
	log_info("serve.listening", "a51d %s (%s mode) serving on %s://%s%s%s:%u/", a51_version,
		 config_mode_name(cfg->mode), hc.tls ? "https" : "http", strchr(hc.host, ':') ? "[" : "", hc.host,
		 strchr(hc.host, ':') ? "]" : "", http_server_port(app.server));

	while (sigwait(&sigs, &sig) != 0)
		;
	log_info("serve.stopping", "signal %d: no new connections, finishing requests in flight", sig);
	atomic_store(&app.draining, true);
	http_server_quiesce(app.server);
	left = http_server_drain(app.server, cfg->shutdown_grace_s * 1000);
	if (left)
		log_warn("serve.stopping", "%d request(s) still running after %d s: closing them", left,
			 cfg->shutdown_grace_s);
	http_server_stop(app.server);
	app.server = NULL;
	jobs_stop(app.jobs, cfg->shutdown_grace_s * 1000);
	app.jobs = NULL;
	rc = 0;
	log_info("serve.stopped", "a51d stopped");
out:
	if (rc && err.message[0])
		log_error("serve.failed", "%s", err.message);
	http_server_stop(app.server);
	jobs_stop(app.jobs, 0);
	api_auth_stop();
	metrics_free();
	router_free(router);
	db_pool_free(app.upload_pool);
	db_pool_free(app.read_pool);
	db_pool_free(app.pool);
	explicit_bzero(app.pseudo_key, sizeof(app.pseudo_key));
	http_tls_release(&tls);
	log_async_stop();
	return rc;
}

int main(int argc, char **argv)
{
	struct a51_config cfg;
	int idx = 1;
	const char *cmd;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
		printf("a51d %s\n", a51_version);
		return 0;
	}
	if (load_config(&cfg, argc, argv, &idx) < 0)
		return 2;
	if (idx >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[idx++];
	/* Flags may also follow the command: a51d serve --listen :8080 */
	if (idx < argc) {
		struct a51_error err = { 0 };
		if (config_apply_args(&cfg, argc, argv, &idx, &err) < 0) {
			fprintf(stderr, "a51d: %s\n", err.message);
			return 2;
		}
		log_set_level((enum log_level)cfg.log_level);
	}
	if (strcmp(cmd, "serve") == 0) {
		if (idx < argc) {
			fprintf(stderr, "a51d: unknown option for serve: %s\n", argv[idx]);
			return 2;
		}
		return cmd_serve(&cfg);
	}
	if (strcmp(cmd, "migrate") == 0)
		return cmd_migrate(&cfg, argc, argv, idx);
	if (strcmp(cmd, "token") == 0)
		return cli_token(&cfg, argc, argv, idx);
	if (strcmp(cmd, "synth") == 0)
		return cli_synth(argc, argv, idx);
	if (strcmp(cmd, "sql") == 0 && idx + 1 == argc && strcmp(argv[idx], "population") == 0) {
		printf("%s;\n", store_rm_population_sql());
		return 0;
	}
	if (strcmp(cmd, "sql") == 0 && idx + 1 == argc && strcmp(argv[idx], "peps-inputs") == 0) {
		printf("%s;\n", store_peps_inputs_sql());
		return 0;
	}
	fprintf(stderr, "a51d: unknown command or option: %s (try --help)\n", cmd);
	return 2;
}
