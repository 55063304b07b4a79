#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "a51/http.h"
#include "a51/log.h"
#include "a51/metrics.h"
#include "a51/util.h"
#include "a51/banned.h"

/* The catalogue of problem types. The type URI is "/problems/<slug>", resolvable
 * on the server itself (GET /problems/{slug}); openapi.yaml lists the same set. */
static const struct problem_type catalogue[] = {
	{ "bad-request", 400, "Bad request", "The request is malformed: a parameter or header cannot be read." },
	{ "invalid-json", 400, "Invalid JSON", "The body is not valid JSON; line and column say where parsing stopped." },
	{ "unauthorized", 401, "Authentication required",
	  "No bearer token, or one that is unknown, expired or revoked." },
	{ "forbidden", 403, "Permission denied", "The token is valid but lacks the right this route needs." },
	{ "not-found", 404, "Not found", "No such resource, or one this caller may not see." },
	{ "method-not-allowed", 405, "Method not allowed", "The path exists; the Allow header lists its methods." },
	{ "not-acceptable", 406, "Not acceptable", "No representation matches the Accept header." },
	{ "conflict", 409, "Conflict", "The request conflicts with the resource's current state." },
	{ "precondition-failed", 412, "Precondition failed",
	  "The resource changed since the ETag sent in If-Match: read it again." },
	{ "payload-too-large", 413, "Body too large", "The body exceeds the configured limit." },
	{ "unsupported-media-type", 415, "Unsupported media type", "The Content-Type is not one this route accepts." },
	{ "validation", 422, "Validation failed",
	  "The request is well-formed but some values are wrong; `errors` names each field or line and the reason." },
	{ "idempotency-key-reused", 422, "Idempotency key reused",
	  "The Idempotency-Key was sent before with a different request: use a new key for a new request." },
	{ "precondition-required", 428, "Precondition required", "This update needs an If-Match header." },
	{ "too-many-requests", 429, "Too many requests", "Slow down; Retry-After says when to come back." },
	{ "internal", 500, "Internal error",
	  "a51 failed unexpectedly; the request id identifies the log line for support." },
	{ "database-unavailable", 503, "Database unavailable",
	  "PostgreSQL is unreachable or every connection is busy; retry after Retry-After seconds." },
	{ "queue-full", 503, "Job queue full",
	  "A51_MAX_QUEUED_JOBS jobs are already waiting; submit again after Retry-After seconds." },
	{ "not-ready", 503, "Not ready", "The service cannot serve yet; `checks` says which dependency is missing." },
	{ "shutting-down", 503, "Shutting down", "This a51d is stopping; retry on another instance." },
	{ "timeout", 504, "Timed out", "The database did not answer within the statement timeout." },
};

const struct problem_type *problem_catalogue(size_t *n)
{
	*n = A51_ARRAY_LEN(catalogue);
	return catalogue;
}

const struct problem_type *problem_lookup(const char *slug)
{
	for (size_t i = 0; i < A51_ARRAY_LEN(catalogue); i++)
		if (strcmp(catalogue[i].slug, slug) == 0)
			return &catalogue[i];
	return NULL;
}

/* detail may quote client input cut at the buffer's end: drop a split UTF-8
 * sequence at the end, and replace text that is not UTF-8 at all. */
static json_t *utf8_string(const char *s)
{
	size_t n = strlen(s);

	for (int back = 0; back < 4 && back <= (int)n; back++) {
		json_t *v = json_stringn(s, n - (size_t)back);
		if (v)
			return v;
	}
	return json_string("(detail is not valid UTF-8)");
}

json_t *problem_json(int status, const char *type, const char *detail, const char *request_id, json_t *errors,
		     json_t *extra)
{
	const struct problem_type *pt = problem_lookup(type);
	json_t *j = json_object();

	if (extra) {
		json_object_update(j, extra);
		json_decref(extra);
	}
	json_object_set_new(j, "type", json_sprintf("/problems/%s", pt ? type : "internal"));
	json_object_set_new(j, "title", json_string(pt ? pt->title : "Error"));
	json_object_set_new(j, "status", json_integer(status));
	json_object_set_new(j, "detail", utf8_string(detail));
	/* The instance names this occurrence: the request id finds its log line. */
	json_object_set_new(j, "instance", json_sprintf("urn:a51:request:%s", request_id));
	if (errors)
		json_object_set_new(j, "errors", errors);
	return j;
}

static void problem_v(struct http_request *r, int status, const char *type, json_t *errors, json_t *extra,
		      const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));
static void problem_v(struct http_request *r, int status, const char *type, json_t *errors, json_t *extra,
		      const char *fmt, va_list ap)
{
	char detail[1024];
	json_t *j;

	vsnprintf(detail, sizeof(detail), fmt, ap);
	j = problem_json(status, type, detail, r->request_id, errors, extra);
	if (status == 503 && !http_response_has_header(r, "Retry-After"))
		http_set_header(r, "Retry-After", "1");

	char *body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	metrics_problem(status);
	if (!body) {
		static const char oom[] = "{\"type\":\"/problems/internal\",\"title\":\"Internal error\",\"status\":500}";
		http_respond(r, 500, "application/problem+json", oom, sizeof(oom) - 1, false);
		return;
	}
	http_respond_owned(r, status, "application/problem+json", body, strlen(body));
}

void http_problem(struct http_request *r, int status, const char *type, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	problem_v(r, status, type, NULL, NULL, fmt, ap);
	va_end(ap);
}

void http_problem_ex(struct http_request *r, int status, const char *type, json_t *errors, json_t *extra,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	problem_v(r, status, type, errors, extra, fmt, ap);
	va_end(ap);
}

void http_problem_from_error(struct http_request *r, const struct a51_error *err)
{
	switch (err->code) {
	case A51_EINVAL: {
		json_t *errors = json_array();
		json_array_append_new(errors, json_pack("{s:s,s:s}", "field", err->field, "reason", err->message));
		http_problem_ex(r, 422, "validation", errors, NULL, "%s", err->message);
		return;
	}
	case A51_ENOTFOUND:
		http_problem(r, 404, "not-found", "%s", err->message);
		return;
	case A51_ECONFLICT:
		/* A version mismatch under If-Match is a failed precondition. */
		if (strcmp(err->field, "If-Match") == 0)
			http_problem(r, 412, "precondition-failed", "%s", err->message);
		else
			http_problem_ex(r, 409, "conflict",
					json_pack("[{s:s,s:s}]", "field", err->field, "reason", err->message), NULL, "%s",
					err->message);
		return;
	case A51_EUNAVAIL:
		if (strcmp(err->field, "jobs") == 0) {
			/* jobs take seconds to minutes: no use coming back within the second */
			http_set_header(r, "Retry-After", "10");
			http_problem(r, 503, "queue-full", "%s", err->message);
		} else {
			http_problem(r, 503, "database-unavailable", "%s", err->message);
		}
		return;
	case A51_EFORBIDDEN:
		http_problem(r, 403, "forbidden", "%s", err->message);
		return;
	case A51_ETIMEOUT:
		http_problem(r, 504, "timeout", "%s", err->message);
		return;
	default:
		/* The cause goes to the log under the request id, not to the client. */
		log_error("internal", "request %s: %s (%s)", r->request_id, err->message, a51_errc_name(err->code));
		http_problem(r, 500, "internal", "unexpected failure; quote request id %s", r->request_id);
	}
}
