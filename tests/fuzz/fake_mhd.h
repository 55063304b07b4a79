/* A stand-in for the few libmicrohttpd calls a request makes once it is routed
 * (src/http/request.c): argument and header lookup, and responses. Linked into
 * a fuzz driver, these definitions take the place of the library's, so the
 * handlers and their helpers run unchanged on a request built from the fuzz
 * input, and the answer they queue can be inspected. */
#ifndef A51_FUZZ_FAKE_MHD_H
#define A51_FUZZ_FAKE_MHD_H

#include <stdbool.h>
#include <stddef.h>

#define FAKE_MAX_KV 32

struct fake_kv {
	const char *key, *value;
};

/* What r->conn points to in a fuzzed request. */
struct fake_conn {
	struct fake_kv args[FAKE_MAX_KV];   /* query-string arguments, decoded */
	size_t nargs;
	struct fake_kv headers[FAKE_MAX_KV];
	size_t nheaders;
	/* the answer */
	int queued;                         /* MHD_queue_response calls */
	unsigned status;
	char *body;                         /* a copy, NUL-terminated */
	size_t body_len;
	char ctype[128];
};

void fake_conn_init(struct fake_conn *c);
/* Frees the answer's copy. */
void fake_conn_release(struct fake_conn *c);

/* Splits a query string ("a=1&b=%20x") into c->args the way libmicrohttpd
 * does: '&' separates, the first '=' splits, '+' is a space, %XX decoded; an
 * argument whose decoded text would hold a NUL is dropped. The strings are
 * written into buf (cap bytes, at least 2 * strlen(q) + 2). */
void fake_conn_parse_query(struct fake_conn *c, const char *q, char *buf, size_t cap);

struct http_request;

/* A routed request as the server hands it to a handler once the body is read:
 * r->conn is c, the answer is queued at once (phase done), url stays the
 * caller's. router_match is the caller's job. */
void fake_request_init(struct http_request *r, struct fake_conn *c, const char *url);
/* Frees what the request and its answer hold (not r itself). */
void fake_request_release(struct http_request *r, struct fake_conn *c);

/* Aborts unless exactly one answer was queued with a status of 200-599 (a 304
 * without a body), JSON
 * that parses when its media type says JSON, and a problem whose "status" is
 * the response's. */
void fake_check_answer(const struct fake_conn *c);

#endif
