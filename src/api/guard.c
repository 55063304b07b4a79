/* Authentication: bearer token -> caller, then the route's permission.
 *
 * A token's hash is looked up in PostgreSQL once and then cached for a minute,
 * so that a request does not pay a second round trip. The cache is exact
 * nonetheless: every revocation runs pg_notify('a51_tokens') in its
 * transaction, and a listener thread of each a51d empties the cache when one
 * arrives. While the listener is not connected, the cache is bypassed. */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "a51/api.h"
#include "a51/log.h"
#include "a51/util.h"
#include "a51/banned.h"

#define CACHE_SLOTS 4096          /* power of two */
#define CACHE_TTL_MS 60000

struct cache_entry {
	uint8_t hash[32];
	struct caller caller;
	uint64_t until_ms;        /* wall clock */
	bool used;
};

static struct {
	pthread_mutex_t mu;
	struct cache_entry *slots;
	atomic_bool enabled;      /* only while the listener is connected */
	atomic_ulong generation;  /* bumped by every clear */
	atomic_bool stop;
	pthread_t listener;
	bool started;
	char *url;
	int connect_timeout_s;
} C = { .mu = PTHREAD_MUTEX_INITIALIZER };

static size_t slot_of(const uint8_t hash[32])
{
	size_t h;

	memcpy(&h, hash, sizeof(h));
	return h & (CACHE_SLOTS - 1);
}

static bool cache_get(const uint8_t hash[32], struct caller *out)
{
	struct cache_entry *e;
	bool hit = false;

	if (!atomic_load(&C.enabled) || !C.slots)
		return false;
	pthread_mutex_lock(&C.mu);
	e = &C.slots[slot_of(hash)];
	if (e->used && util_ct_equal(e->hash, hash, 32) && util_wall_ms() < e->until_ms) {
		*out = e->caller;
		hit = true;
	}
	pthread_mutex_unlock(&C.mu);
	return hit;
}

/* generation is the value read before the database lookup: if a revocation
 * cleared the cache since, what we read may be stale and is not kept. */
static void cache_put(const uint8_t hash[32], const struct caller *c, int64_t expires_ms, unsigned long generation)
{
	uint64_t until = util_wall_ms() + CACHE_TTL_MS;
	struct cache_entry *e;

	if (!atomic_load(&C.enabled) || !C.slots)
		return;
	if (expires_ms > 0 && (uint64_t)expires_ms < until)
		until = (uint64_t)expires_ms;
	pthread_mutex_lock(&C.mu);
	if (atomic_load(&C.generation) != generation) {
		pthread_mutex_unlock(&C.mu);
		return;
	}
	e = &C.slots[slot_of(hash)];
	memcpy(e->hash, hash, 32);
	e->caller = *c;
	e->until_ms = until;
	e->used = true;
	pthread_mutex_unlock(&C.mu);
}

static void cache_clear(void)
{
	if (!C.slots)
		return;
	pthread_mutex_lock(&C.mu);
	memset(C.slots, 0, CACHE_SLOTS * sizeof(*C.slots));
	atomic_fetch_add(&C.generation, 1);
	pthread_mutex_unlock(&C.mu);
}

static void *listener_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&C.stop)) {
		struct a51_error err = { 0 };
		PGconn *pg = db_connect(C.url, C.connect_timeout_s, "a51d-token-listener", &err);
		PGresult *res;

		if (!pg) {
			sleep(1);
			continue;
		}
		res = PQexec(pg, "LISTEN a51_tokens");
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			PQclear(res);
			PQfinish(pg);
			sleep(1);
			continue;
		}
		PQclear(res);
		/* Anything revoked while we were not listening is forgotten now. */
		cache_clear();
		atomic_store(&C.enabled, true);
		while (!atomic_load(&C.stop)) {
			struct pollfd pfd = { .fd = PQsocket(pg), .events = POLLIN };
			PGnotify *n;
			int rc = poll(&pfd, 1, 500);

			if (rc < 0 || (rc > 0 && !PQconsumeInput(pg)))
				break;
			if (PQstatus(pg) != CONNECTION_OK)
				break;
			while ((n = PQnotifies(pg))) {
				cache_clear();
				PQfreemem(n);
			}
		}
		atomic_store(&C.enabled, false);
		cache_clear();
		PQfinish(pg);
		if (!atomic_load(&C.stop))
			log_warn("auth.listener", "lost the token revocation listener; token cache off until it is back");
	}
	return NULL;
}

int api_auth_start(const char *database_url, int connect_timeout_s)
{
	C.slots = calloc(CACHE_SLOTS, sizeof(*C.slots));
	C.url = strdup(database_url);
	C.connect_timeout_s = connect_timeout_s;
	if (!C.slots || !C.url)
		return -1;
	atomic_store(&C.stop, false);
	if (pthread_create(&C.listener, NULL, listener_main, NULL) != 0)
		return -1;
	C.started = true;
	return 0;
}

void api_auth_stop(void)
{
	if (C.started) {
		atomic_store(&C.stop, true);
		pthread_join(C.listener, NULL);
		C.started = false;
	}
	atomic_store(&C.enabled, false);
	free(C.slots);
	free(C.url);
	C.slots = NULL;
	C.url = NULL;
}

static void unauthorized(struct http_request *r, const char *error, const char *detail)
{
	char challenge[96];

	snprintf(challenge, sizeof(challenge), "Bearer realm=\"a51\"%s%s%s", error ? ", error=\"" : "",
		 error ? error : "", error ? "\"" : "");
	http_set_header(r, "WWW-Authenticate", challenge);
	http_problem(r, 401, "unauthorized", "%s", detail);
}

int api_guard(struct http_request *r)
{
	static const char *const perm_text[] = {
		[PERM_READ] = "a token", [PERM_WRITE] = "a read-write token",
		[PERM_ARS_READ] = "a national or ARS token", [PERM_ARS_WRITE] = "a read-write national or ARS token",
		[PERM_NATIONAL_READ] = "a national token", [PERM_NATIONAL_WRITE] = "a read-write national token",
	};
	const char *h = http_header(r, "Authorization");
	int perm = r->match.route->def->perm;
	uint8_t hash[32];
	struct caller c;

	if (!h) {
		unauthorized(r, NULL, "a bearer token is required (Authorization: Bearer a51_...)");
		return -1;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0 || !auth_token_wellformed(h + 7)) {
		unauthorized(r, "invalid_token", "the Authorization header must be \"Bearer\" and an a51 token");
		return -1;
	}
	auth_token_hash(h + 7, hash);
	if (!cache_get(hash, &c)) {
		struct a51_error err = { 0 };
		unsigned long generation = atomic_load(&C.generation);
		struct db_conn *db = api_db(r);
		int64_t expires_ms = 0;
		int rc;

		if (!db)
			return -1;
		rc = store_token_lookup(db, hash, &c, &expires_ms, &err);
		api_db_release(r, db);
		if (rc == A51_ENOTFOUND) {
			unauthorized(r, "invalid_token", "unknown, expired or revoked token");
			return -1;
		}
		if (rc < 0) {
			http_problem_from_error(r, &err);
			return -1;
		}
		cache_put(hash, &c, expires_ms, generation);
	}
	r->caller = c;
	if (!auth_permits(&c, perm)) {
		http_problem(r, 403, "forbidden", "this route needs %s; this one is %s%s",
			     perm > 0 && perm <= PERM_NATIONAL_WRITE ? perm_text[perm] : "another right", c.scope,
			     c.write ? "" : " (read-only)");
		return -1;
	}
	return 0;
}
