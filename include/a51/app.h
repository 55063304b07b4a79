/* The running service: what every handler may reach through req->app. */
#ifndef A51_APP_H
#define A51_APP_H

#include <stdatomic.h>

#include "a51/config.h"
#include "a51/router.h"

struct db_pool;
struct router;
struct http_server;
struct http_request;
struct jobs;

struct app {
	const struct a51_config *cfg;
	struct db_pool *pool;
	struct db_pool *upload_pool; /* one connection per upload in progress */
	struct db_pool *read_pool;   /* A51_DATABASE_REPLICA_URL, for dashboards; NULL: the primary */
	const struct router *router;
	struct http_server *server;
	struct jobs *jobs;           /* worker threads (jobs.h) */
	atomic_bool draining; /* SIGTERM received: /readyz turns 503 */
	unsigned char pseudo_key[128]; /* NIR pseudonymisation key (A51_PSEUDO_KEY) */
	size_t pseudo_key_len;
};

/* The API's route table (api/routes.c). */
extern const struct route_def api_routes[];
extern const size_t api_routes_count;

/* The guard run before non-public handlers (api/guard.c). */
int api_guard(struct http_request *req);

/* The OpenAPI document served at /openapi.json (generated from openapi/openapi.yaml). */
extern const char a51_openapi_json[];
extern const size_t a51_openapi_json_len;

extern const char a51_version[];

#endif
