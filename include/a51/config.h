/* a51d configuration: defaults, then environment (A51_*), then command-line flags.
 * A bad value is an error naming the variable or flag; nothing is half-applied. */
#ifndef A51_CONFIG_H
#define A51_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "a51/error.h"

enum a51_mode { A51_MODE_PRODUCTION = 0, A51_MODE_DEMO, A51_MODE_TEST };

struct a51_config {
	char listen[256];          /* host:port, [v6]:port */
	char database_url[2048];
	char database_replica_url[2048];
	int http_threads;
	int db_pool;
	int db_acquire_timeout_ms;
	int statement_timeout_ms;
	int db_connect_timeout_s;
	uint64_t max_body;         /* JSON bodies */
	uint64_t max_upload;       /* bulk upload bodies */
	int max_uploads;           /* uploads at once (each holds one connection) */
	int upload_timeout_ms;     /* statement_timeout of upload connections */
	int workers;               /* job worker threads (0: this a51d runs no jobs) */
	int job_lease_s;           /* a job whose worker is silent this long is taken over */
	int job_statement_timeout_ms; /* statement_timeout of job connections (0: none) */
	int max_queued_jobs;       /* queued jobs beyond which submissions answer 503 (0: no bound) */
	int stats_threads;         /* threads of one model fit */
	int job_checkpoint_delay_ms; /* test mode only: slows jobs down so tests can catch them running */
	int conn_timeout_s;
	int conn_limit;
	int conn_per_ip;           /* open connections from one client address; 0: no limit */
	uint64_t conn_memory;      /* per-connection memory pool of libmicrohttpd */
	int shutdown_grace_s;
	int log_level;             /* enum log_level */
	bool access_log;
	bool auto_migrate;
	int mode;                  /* enum a51_mode */
	char pseudo_key[256];      /* HMAC key for NIR pseudonyms (hex or text) */
	char tls_cert[1024];       /* PEM certificate (chain) file: HTTPS when set, with tls_key */
	char tls_key[1024];        /* PEM private key file */
};

void config_defaults(struct a51_config *c);

typedef const char *(*config_getenv_fn)(const char *name);

/* Reads every A51_* variable through getenv_fn (pass getenv in production). */
int config_apply_env(struct a51_config *c, config_getenv_fn getenv_fn, struct a51_error *err);

/* Parses --flag=value or --flag value from argv[*idx] on; stops at the first
 * argument that is not a known flag and leaves *idx there. */
int config_apply_args(struct a51_config *c, int argc, char **argv, int *idx, struct a51_error *err);

/* Cross-field checks (e.g. the pseudonymisation key outside demo/test). */
int config_validate(const struct a51_config *c, struct a51_error *err);

/* Splits c->listen into host and port. */
int config_listen_split(const char *listen, char *host, size_t hostcap, uint16_t *port, struct a51_error *err);

void config_print_help(FILE *out);
const char *config_mode_name(int mode);

#endif
