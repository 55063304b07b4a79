/* The request as handlers see it, and the only ways to answer it.
 * Every handler queues exactly one response: http_respond*() or http_problem*(). */
#ifndef A51_HTTP_H
#define A51_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "a51/arena.h"
#include "a51/auth.h"
#include "a51/router.h"

struct MHD_Connection;
struct app;
struct http_server;

struct http_header_kv {
	const char *name, *value;
	struct http_header_kv *next;
};

enum http_phase { PHASE_HEADERS = 0, PHASE_BODY, PHASE_DONE };

struct http_request {
	struct arena arena;            /* freed in one go when the request completes */
	struct MHD_Connection *conn;
	struct http_server *server;
	struct app *app;
	const char *url;               /* MHD's copy, valid for the request's life */
	int method;
	struct route_match match;
	char request_id[65];
	uint64_t t_start_ns;

	struct caller caller;          /* who is calling: filled by authentication */

	/* body */
	bool has_body;
	uint64_t content_length;       /* UINT64_MAX when chunked */
	uint64_t body_seen;
	char *body;
	size_t body_len, body_cap;
	void *stream_state;            /* owned by a streaming route */

	/* libmicrohttpd 0.9.75 takes a response only right after the headers or
	 * after the whole body; and one queued on the first callback closes the
	 * connection. So an answer decided at another moment is held here and
	 * queued at the next moment it may be. */
	int phase;                     /* enum http_phase */
	struct MHD_Response *deferred;
	uint64_t discarded;            /* body bytes read and dropped after an early answer */

	/* response */
	bool responded;
	bool failed;                   /* no answer could be queued: drop the connection */
	int status;
	uint64_t bytes_out;
	struct http_header_kv *headers_out;
};

/* Path parameter by name, NUL-terminated copy in the request arena; NULL if absent. */
const char *http_param(struct http_request *r, const char *name);
/* Query-string argument (already percent-decoded by libmicrohttpd) or NULL. */
const char *http_query(struct http_request *r, const char *name);
const char *http_header(struct http_request *r, const char *name);

/* Parses the accumulated body. On failure a 400 problem naming line and column
 * has been queued and -1 is returned. On success *out is a new reference. */
int http_body_json(struct http_request *r, json_t **out);

/* Adds a response header; name and value are copied into the arena. */
void http_set_header(struct http_request *r, const char *name, const char *value);
bool http_response_has_header(const struct http_request *r, const char *name);

/* body is copied when copy is true; otherwise it must stay valid for the
 * process's life (static text). */
void http_respond(struct http_request *r, int status, const char *content_type, const char *body, size_t len,
		  bool copy);
/* Takes ownership of a malloc'd body. */
void http_respond_owned(struct http_request *r, int status, const char *content_type, char *body, size_t len);
/* Serialises and answers application/json; steals the reference to j. */
void http_respond_json(struct http_request *r, int status, json_t *j);

/* RFC 9457 problem+json. type is a slug of the catalogue (problem.c); detail is
 * printf-style. Every error answer of a51 goes through here. */
void http_problem(struct http_request *r, int status, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Same with an `errors` array (stolen, may be NULL) and extra members (stolen, may be NULL). */
void http_problem_ex(struct http_request *r, int status, const char *type, json_t *errors, json_t *extra,
		     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Maps an a51_error from a lower layer to the matching problem. */
void http_problem_from_error(struct http_request *r, const struct a51_error *err);

/* Decides from the headers alone whether the body may be read: 0, 413 (too
 * large) or 415 (media type not accepted by the route). Pure. */
int http_body_precheck(const struct route_def *def, bool has_body, uint64_t content_length,
		       const char *content_type, uint64_t max_body);
bool http_media_accepted(const struct route_def *def, const char *content_type);

/* The problem+json document, without sending it. Pure; steals errors and extra. */
json_t *problem_json(int status, const char *type, const char *detail, const char *request_id, json_t *errors,
		     json_t *extra);

struct problem_type {
	const char *slug;
	int status;
	const char *title;
	const char *description;
};
const struct problem_type *problem_catalogue(size_t *n);
const struct problem_type *problem_lookup(const char *slug);

#endif
