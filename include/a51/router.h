/* Route table: built once at start-up from static definitions, matched per request
 * without allocating. Templates are literal segments and {param} segments. */
#ifndef A51_ROUTER_H
#define A51_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "a51/error.h"

enum http_method {
	HTTP_GET = 1 << 0,
	HTTP_POST = 1 << 1,
	HTTP_PUT = 1 << 2,
	HTTP_PATCH = 1 << 3,
	HTTP_DELETE = 1 << 4,
	HTTP_HEAD = 1 << 5,
	HTTP_OPTIONS = 1 << 6,
};

enum body_kind {
	BODY_NONE = 0,   /* a body, if any, is read and ignored */
	BODY_JSON,       /* application/json, accumulated up to the body limit */
	BODY_STREAM,     /* handed chunk by chunk to the route's stream callbacks */
};

struct http_request;
typedef void (*http_handler_fn)(struct http_request *req);

/* Streaming routes: begin once headers are checked, chunk per piece of body,
 * then the handler runs at the end (or abort on a client disconnect).
 * begin/chunk return 0 to continue; anything else means a response was queued. */
struct body_stream {
	int (*begin)(struct http_request *req);
	int (*chunk)(struct http_request *req, const char *data, size_t len);
	void (*abort)(struct http_request *req);
};

struct route_def {
	int method;              /* one enum http_method */
	const char *path;        /* "/v1/structures/{id}" */
	int perm;                /* enum perm from auth.h; 0 = public */
	int body;                /* enum body_kind */
	http_handler_fn handler;
	const struct body_stream *stream;
	const char *media;       /* accepted body media types, comma-separated; NULL = JSON */
};

#define ROUTE_MAX_SEGMENTS 10
#define ROUTE_MAX_PARAMS 4

struct route_segment {
	const char *lit; /* literal text, or the parameter name */
	uint16_t len;
	int8_t param;    /* -1 for a literal, else the parameter's index */
};

struct route {
	const struct route_def *def;
	int index;
	uint8_t nseg;
	uint8_t nparams;
	struct route_segment seg[ROUTE_MAX_SEGMENTS];
	uint32_t specificity; /* literal positions as bits, earliest highest: picks /jobs/stats over /jobs/{id} */
};

struct route_match {
	const struct route *route;
	int allow; /* ROUTE_BAD_METHOD: methods the path accepts */
	uint8_t nparams;
	struct { uint16_t off, len; } params[ROUTE_MAX_PARAMS];
};

enum route_result { ROUTE_FOUND = 0, ROUTE_NOT_FOUND, ROUTE_BAD_METHOD };

struct router;

/* Compiles the definitions; fails on a malformed template, a HEAD route (HEAD is
 * answered by the GET route) or a duplicate route. */
struct router *router_new(const struct route_def *defs, size_t n, struct a51_error *err);
void router_free(struct router *r);
enum route_result router_match(const struct router *r, int method, const char *path, struct route_match *m);
size_t router_count(const struct router *r);
const struct route *router_at(const struct router *r, size_t i);

/* "GET" -> HTTP_GET, 0 when unknown. */
int http_method_parse(const char *s);
const char *http_method_name(int m);
/* "GET, HEAD, POST" for a mask, into out. */
void http_allow_string(int mask, char *out, size_t cap);

#endif
