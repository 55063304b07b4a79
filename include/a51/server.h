/* The HTTP server: libmicrohttpd in internal thread-pool mode with epoll. */
#ifndef A51_SERVER_H
#define A51_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "a51/error.h"
#include "a51/router.h"

struct app;

/* HTTPS: a certificate (chain) and its private key, PEM, held in memory. */
struct http_tls {
	char *cert_pem;
	char *key_pem;        /* wiped when released */
	time_t not_after;     /* of the first certificate */
};

/* Reads the PEM files of A51_TLS_CERT and A51_TLS_KEY and checks them as
 * libmicrohttpd's GnuTLS will: a certificate, an unencrypted private key, and
 * the key of that certificate. 0, or A51_EINVAL with err->field naming the
 * variable at fault (and the message too); nothing is held then. */
int http_tls_load(const char *cert_path, const char *key_path, struct http_tls *t, struct a51_error *err);
void http_tls_release(struct http_tls *t);

struct http_server_config {
	char host[256];
	uint16_t port;       /* 0 picks a free port: see http_server_port() */
	int threads;
	int conn_timeout_s;
	int conn_limit;
	int conn_per_ip;     /* 0: no limit */
	uint64_t conn_memory;
	uint64_t max_body;
	bool access_log;
	const struct http_tls *tls; /* NULL: plain HTTP; else HTTPS only (TLS 1.2 and 1.3) */
};

/* Runs before every handler of a non-public route: authentication and the
 * route's permission. Returns 0 to go on; otherwise it queued a problem. */
typedef int (*http_guard_fn)(struct http_request *req);

struct http_server;

struct http_server *http_server_start(const struct http_server_config *cfg, const struct router *router,
				      struct app *app, http_guard_fn guard, struct a51_error *err);
uint16_t http_server_port(const struct http_server *s);
/* Stops accepting; established connections keep being served. */
void http_server_quiesce(struct http_server *s);
/* Waits until no request is in flight or the deadline passes; returns the count left. */
int http_server_drain(struct http_server *s, int deadline_ms);
int http_server_inflight(const struct http_server *s);
void http_server_stop(struct http_server *s);

#endif
