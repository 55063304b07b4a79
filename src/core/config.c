#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>

#include "a51/config.h"
#include "a51/log.h"
#include "a51/util.h"
#include "a51/banned.h"

enum opt_type { OPT_STR, OPT_INT, OPT_SIZE, OPT_BOOL, OPT_LEVEL, OPT_MODE };

struct opt {
	const char *env;
	const char *flag;
	enum opt_type type;
	size_t offset;
	size_t cap;        /* OPT_STR: capacity of the char array */
	int64_t min, max;  /* OPT_INT, OPT_SIZE (max only) */
	const char *help;
};

#define STR(f) OPT_STR, offsetof(struct a51_config, f), sizeof(((struct a51_config *)0)->f), 0, 0
#define INT(f, lo, hi) OPT_INT, offsetof(struct a51_config, f), 0, lo, hi
#define SIZE(f, hi) OPT_SIZE, offsetof(struct a51_config, f), 0, 0, hi
#define BOOL(f) OPT_BOOL, offsetof(struct a51_config, f), 0, 0, 0
#define OTHER(t, f) t, offsetof(struct a51_config, f), 0, 0, 0

static const struct opt opts[] = {
	{ "A51_LISTEN", "listen", STR(listen), "address to serve on, host:port (default 127.0.0.1:8080)" },
	{ "A51_DATABASE_URL", "database-url", STR(database_url), "PostgreSQL connection URI or conninfo string" },
	{ "A51_DATABASE_REPLICA_URL", "database-replica-url", STR(database_replica_url),
	  "optional read replica for read-only dashboards" },
	{ "A51_HTTP_THREADS", "http-threads", INT(http_threads, 1, 256), "HTTP worker threads (default 2 x CPUs)" },
	{ "A51_DB_POOL", "db-pool", INT(db_pool, 1, 512), "PostgreSQL connections in the pool (default 2 x CPUs)" },
	{ "A51_DB_ACQUIRE_TIMEOUT_MS", "db-acquire-timeout-ms", INT(db_acquire_timeout_ms, 1, 600000),
	  "wait for a free connection before answering 503 (default 2000)" },
	{ "A51_STATEMENT_TIMEOUT_MS", "statement-timeout-ms", INT(statement_timeout_ms, 0, 86400000),
	  "PostgreSQL statement_timeout for request connections (default 30000)" },
	{ "A51_DB_CONNECT_TIMEOUT", "db-connect-timeout", INT(db_connect_timeout_s, 1, 600),
	  "seconds to wait when (re)connecting to PostgreSQL (default 2)" },
	{ "A51_MAX_BODY", "max-body", SIZE(max_body, (int64_t)1 << 40),
	  "largest JSON request body, bytes or with k/m/g (default 1m)" },
	{ "A51_MAX_UPLOAD", "max-upload", SIZE(max_upload, (int64_t)1 << 50),
	  "largest bulk upload body, bytes or with k/m/g (default 8g)" },
	{ "A51_MAX_UPLOADS", "max-uploads", INT(max_uploads, 1, 64),
	  "uploads processed at once; more answer 503 (default 2)" },
	{ "A51_UPLOAD_TIMEOUT_MS", "upload-timeout-ms", INT(upload_timeout_ms, 0, 86400000),
	  "statement_timeout of upload merges, 0 for none (default 600000)" },
	{ "A51_WORKERS", "workers", INT(workers, 0, 64),
	  "job worker threads: model fits, scoring, calculations; 0 for none (default 2)" },
	{ "A51_JOB_LEASE_S", "job-lease", INT(job_lease_s, 5, 3600),
	  "seconds after which a silent worker's job is taken over by another (default 30)" },
	{ "A51_JOB_STATEMENT_TIMEOUT_MS", "job-statement-timeout-ms", INT(job_statement_timeout_ms, 0, 86400000),
	  "statement_timeout of job connections: a run blocked or runaway this long fails, 0 for none (default 3600000)" },
	{ "A51_MAX_QUEUED_JOBS", "max-queued-jobs", INT(max_queued_jobs, 0, 10000000),
	  "jobs waiting in the queue (all a51d together) beyond which a submission answers 503, 0 for no bound"
	  " (default 1000)" },
	{ "A51_STATS_THREADS", "stats-threads", INT(stats_threads, 1, 64),
	  "threads of one regression fit (default: CPUs)" },
	{ "A51_JOB_CHECKPOINT_DELAY_MS", "job-checkpoint-delay-ms", INT(job_checkpoint_delay_ms, 0, 10000),
	  "test mode only: pause at every job checkpoint, to test cancellation and takeover" },
	{ "A51_CONN_TIMEOUT", "conn-timeout", INT(conn_timeout_s, 1, 3600),
	  "idle connection timeout in seconds (default 30)" },
	{ "A51_CONN_LIMIT", "conn-limit", INT(conn_limit, 1, 1000000), "maximum open connections (default 1024)" },
	{ "A51_CONN_PER_IP", "conn-per-ip", INT(conn_per_ip, 0, 1000000),
	  "open connections from one client address, 0 for no limit (default 0)" },
	{ "A51_CONN_MEMORY", "conn-memory", SIZE(conn_memory, (int64_t)64 << 20),
	  "per-connection memory for headers (default 64k)" },
	{ "A51_SHUTDOWN_GRACE", "shutdown-grace", INT(shutdown_grace_s, 0, 3600),
	  "seconds given to in-flight requests on SIGTERM (default 10)" },
	{ "A51_LOG_LEVEL", "log-level", OTHER(OPT_LEVEL, log_level), "debug, info, warn or error (default info)" },
	{ "A51_ACCESS_LOG", "access-log", BOOL(access_log), "one JSON line per request on stderr (default true)" },
	{ "A51_AUTO_MIGRATE", "auto-migrate", BOOL(auto_migrate), "apply pending migrations at start (default true)" },
	{ "A51_MODE", "mode", OTHER(OPT_MODE, mode), "production, demo or test (default production)" },
	{ "A51_PSEUDO_KEY", "pseudo-key", STR(pseudo_key),
	  "secret key of the NIR pseudonyms (required in production)" },
	{ "A51_TLS_CERT", "tls-cert", STR(tls_cert),
	  "PEM certificate file (chain): serve HTTPS only, with A51_TLS_KEY" },
	{ "A51_TLS_KEY", "tls-key", STR(tls_key), "PEM private key file of A51_TLS_CERT" },
};

void config_defaults(struct a51_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8080");
	snprintf(c->database_url, sizeof(c->database_url), "postgresql:///a51");
	/* CPUs this process may run on (a container's cpuset), not the host's. */
	cpu_set_t set;
	long ncpu = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);

	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > 32)
		ncpu = 32;
	/* Handlers block on PostgreSQL, so a few more threads than cores; the pool
	 * matches the threads so that no thread waits for a connection (measured:
	 * 2x cores for both gave the best p99 on 2 cores, see bench/). */
	c->http_threads = (int)(2 * ncpu);
	c->db_pool = (int)(2 * ncpu);
	c->db_acquire_timeout_ms = 2000;
	c->statement_timeout_ms = 30000;
	c->db_connect_timeout_s = 2;
	c->max_body = 1u << 20;
	c->max_upload = (uint64_t)8 << 30;
	c->max_uploads = 2;
	c->upload_timeout_ms = 600000;
	c->workers = 2;
	c->job_lease_s = 30;
	c->job_statement_timeout_ms = 3600000;
	c->max_queued_jobs = 1000;
	c->stats_threads = (int)ncpu;
	c->conn_timeout_s = 30;
	c->conn_limit = 1024;
	c->conn_memory = 64u << 10;
	c->shutdown_grace_s = 10;
	c->log_level = LOG_INFO;
	c->access_log = true;
	c->auto_migrate = true;
	c->mode = A51_MODE_PRODUCTION;
}

const char *config_mode_name(int mode)
{
	switch (mode) {
	case A51_MODE_DEMO: return "demo";
	case A51_MODE_TEST: return "test";
	default: return "production";
	}
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };

	for (size_t i = 0; i < A51_ARRAY_LEN(yes); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* The name in messages is the one the user typed: env variable or --flag. */
static int set_opt(struct a51_config *c, const struct opt *o, const char *value, const char *name,
		   struct a51_error *err)
{
	char *field = (char *)c + o->offset;

	switch (o->type) {
	case OPT_STR:
		if (strlen(value) >= o->cap)
			return a51_error_set(err, A51_EINVAL, name, "%s is too long (at most %zu bytes)", name,
					     o->cap - 1);
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case OPT_INT: {
		int64_t v;
		if (util_parse_i64(value, o->min, o->max, &v) < 0)
			return a51_error_set(err, A51_EINVAL, name,
					     "%s must be an integer between %lld and %lld, got \"%.64s\"", name,
					     (long long)o->min, (long long)o->max, value);
		*(int *)(void *)field = (int)v;
		return 0;
	}
	case OPT_SIZE: {
		uint64_t v;
		if (util_parse_size(value, (uint64_t)o->max, &v) < 0 || v == 0)
			return a51_error_set(err, A51_EINVAL, name,
					     "%s must be a positive size such as 1048576, 512k or 4m, got \"%.64s\"",
					     name, value);
		*(uint64_t *)(void *)field = v;
		return 0;
	}
	case OPT_BOOL:
		if (parse_bool(value, (bool *)(void *)field) < 0)
			return a51_error_set(err, A51_EINVAL, name, "%s must be true or false, got \"%.64s\"", name,
					     value);
		return 0;
	case OPT_LEVEL: {
		enum log_level lvl;
		if (log_level_parse(value, &lvl) < 0)
			return a51_error_set(err, A51_EINVAL, name,
					     "%s must be one of debug, info, warn, error, got \"%.64s\"", name, value);
		*(int *)(void *)field = (int)lvl;
		return 0;
	}
	case OPT_MODE: {
		int m;
		if (strcmp(value, "production") == 0)
			m = A51_MODE_PRODUCTION;
		else if (strcmp(value, "demo") == 0)
			m = A51_MODE_DEMO;
		else if (strcmp(value, "test") == 0)
			m = A51_MODE_TEST;
		else
			return a51_error_set(err, A51_EINVAL, name,
					     "%s must be production, demo or test, got \"%.64s\"", name, value);
		*(int *)(void *)field = m;
		return 0;
	}
	}
	return a51_error_set(err, A51_EINTERNAL, name, "unknown option type");
}

int config_apply_env(struct a51_config *c, config_getenv_fn getenv_fn, struct a51_error *err)
{
	struct a51_config next = *c;

	for (size_t i = 0; i < A51_ARRAY_LEN(opts); i++) {
		const char *v = getenv_fn(opts[i].env);
		if (v && set_opt(&next, &opts[i], v, opts[i].env, err) < 0)
			return A51_EINVAL;
	}
	*c = next;
	return 0;
}

int config_apply_args(struct a51_config *c, int argc, char **argv, int *idx, struct a51_error *err)
{
	struct a51_config next = *c;
	int i = *idx;

	while (i < argc && strncmp(argv[i], "--", 2) == 0) {
		const char *arg = argv[i] + 2, *eq = strchr(arg, '='), *value;
		size_t namelen = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct opt *o = NULL;
		char name[80];

		for (size_t k = 0; k < A51_ARRAY_LEN(opts); k++) {
			if (strlen(opts[k].flag) == namelen && strncmp(opts[k].flag, arg, namelen) == 0) {
				o = &opts[k];
				break;
			}
		}
		if (!o)
			break;
		snprintf(name, sizeof(name), "--%s", o->flag);
		if (eq) {
			value = eq + 1;
		} else {
			if (i + 1 >= argc)
				return a51_error_set(err, A51_EINVAL, name, "%s needs a value", name);
			value = argv[++i];
		}
		if (set_opt(&next, o, value, name, err) < 0)
			return A51_EINVAL;
		i++;
	}
	*c = next;
	*idx = i;
	return 0;
}

int config_listen_split(const char *listen, char *host, size_t hostcap, uint16_t *port, struct a51_error *err)
{
	const char *colon, *hstart = listen, *hend;
	int64_t p;

	if (listen[0] == '[') {
		hend = strchr(listen, ']');
		if (!hend || hend[1] != ':')
			goto bad;
		hstart = listen + 1;
		colon = hend + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			goto bad;
		hend = colon;
	}
	if (hend == hstart || (size_t)(hend - hstart) >= hostcap)
		goto bad;
	if (util_parse_i64(colon + 1, 0, 65535, &p) < 0)
		goto bad;
	memcpy(host, hstart, (size_t)(hend - hstart));
	host[hend - hstart] = '\0';
	*port = (uint16_t)p;
	return 0;
bad:
	return a51_error_set(err, A51_EINVAL, "A51_LISTEN",
			     "listen address must be host:port or [ipv6]:port, got \"%.64s\"", listen);
}

int config_validate(const struct a51_config *c, struct a51_error *err)
{
	char host[256];
	uint16_t port;

	if (config_listen_split(c->listen, host, sizeof(host), &port, err) < 0)
		return A51_EINVAL;
	if (c->database_url[0] == '\0')
		return a51_error_set(err, A51_EINVAL, "A51_DATABASE_URL", "A51_DATABASE_URL must not be empty");
	if (c->mode == A51_MODE_PRODUCTION && strlen(c->pseudo_key) < 32)
		return a51_error_set(err, A51_EINVAL, "A51_PSEUDO_KEY",
				     "A51_PSEUDO_KEY must be set to a secret of at least 32 characters "
				     "outside demo and test modes (NIRs are pseudonymised with it)");
	if (!c->tls_cert[0] != !c->tls_key[0])
		return a51_error_set(err, A51_EINVAL, c->tls_cert[0] ? "A51_TLS_KEY" : "A51_TLS_CERT",
				     "A51_TLS_CERT and A51_TLS_KEY go together: set both for HTTPS, or neither");
	if (c->job_checkpoint_delay_ms && c->mode != A51_MODE_TEST)
		return a51_error_set(err, A51_EINVAL, "A51_JOB_CHECKPOINT_DELAY_MS",
				     "A51_JOB_CHECKPOINT_DELAY_MS is a test hook: it needs A51_MODE=test");
	return 0;
}

void config_print_help(FILE *out)
{
	fprintf(out, "Configuration (environment variable, or --flag on the command line):\n");
	for (size_t i = 0; i < A51_ARRAY_LEN(opts); i++)
		fprintf(out, "  %-26s --%-22s %s\n", opts[i].env, opts[i].flag, opts[i].help);
}
