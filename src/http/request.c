#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "a51/http.h"
#include "a51/banned.h"

const char *http_param(struct http_request *r, const char *name)
{
	const struct route *rt = r->match.route;

	if (!rt)
		return NULL;
	for (int i = 0; i < rt->nseg; i++) {
		const struct route_segment *seg = &rt->seg[i];
		if (seg->param < 0 || strlen(name) != seg->len || memcmp(name, seg->lit, seg->len) != 0)
			continue;
		return arena_strndup(&r->arena, r->url + r->match.params[seg->param].off,
				     r->match.params[seg->param].len);
	}
	return NULL;
}

const char *http_query(struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

int http_body_json(struct http_request *r, json_t **out)
{
	json_error_t e;

	if (!r->body_len) {
		http_problem(r, 400, "invalid-json", "a JSON body is required");
		return -1;
	}
	/* JSON_REJECT_DUPLICATES: {"a":1,"a":2} is ambiguous, so refuse it. */
	*out = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
	if (!*out) {
		json_t *errors = json_array();
		json_array_append_new(errors, json_pack("{s:i,s:i,s:s}", "line", e.line, "column", e.column,
							"reason", e.text));
		http_problem_ex(r, 400, "invalid-json", errors, NULL, "invalid JSON at line %d, column %d: %s",
				e.line, e.column, e.text);
		return -1;
	}
	return 0;
}

void http_set_header(struct http_request *r, const char *name, const char *value)
{
	struct http_header_kv *kv = arena_alloc(&r->arena, sizeof(*kv));

	if (!kv)
		return;
	kv->name = arena_strdup(&r->arena, name);
	kv->value = arena_strdup(&r->arena, value);
	if (!kv->name || !kv->value)
		return;
	kv->next = r->headers_out;
	r->headers_out = kv;
}

bool http_response_has_header(const struct http_request *r, const char *name)
{
	for (const struct http_header_kv *kv = r->headers_out; kv; kv = kv->next)
		if (strcasecmp(kv->name, name) == 0)
			return true;
	return false;
}

static void queue(struct http_request *r, int status, const char *ctype, struct MHD_Response *resp, size_t len)
{
	if (!resp) {
		/* Out of memory: the access handler drops the connection. */
		r->responded = true;
		r->failed = true;
		r->status = 500;
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	/* Health data: no intermediary or browser cache keeps an answer — unless
	 * the handler said otherwise (the web front end's static files). */
	if (!http_response_has_header(r, MHD_HTTP_HEADER_CACHE_CONTROL))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	for (const struct http_header_kv *kv = r->headers_out; kv; kv = kv->next)
		MHD_add_response_header(resp, kv->name, kv->value);
	r->responded = true;
	r->status = status;
	r->bytes_out = len;
	if ((r->phase == PHASE_HEADERS && !r->has_body) || r->phase == PHASE_BODY) {
		r->deferred = resp;
		return;
	}
	/* Answering before the body was read: close rather than read it. */
	if (r->phase == PHASE_HEADERS)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	if (MHD_queue_response(r->conn, (unsigned)status, resp) != MHD_YES)
		r->failed = true;
	MHD_destroy_response(resp);
}

void http_respond(struct http_request *r, int status, const char *content_type, const char *body, size_t len,
		  bool copy)
{
	struct MHD_Response *resp;

	if (r->responded)
		return;
	resp = MHD_create_response_from_buffer(len, (void *)body,
					       copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
	queue(r, status, content_type, resp, len);
}

void http_respond_owned(struct http_request *r, int status, const char *content_type, char *body, size_t len)
{
	struct MHD_Response *resp;

	if (r->responded) {
		free(body);
		return;
	}
	resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	if (!resp)
		free(body);
	queue(r, status, content_type, resp, len);
}

void http_respond_json(struct http_request *r, int status, json_t *j)
{
	char *body = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));

	json_decref(j);
	if (!body) {
		http_problem(r, 500, "internal", "could not serialise the answer");
		return;
	}
	http_respond_owned(r, status, "application/json", body, strlen(body));
}
