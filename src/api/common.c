#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/api.h"
#include "a51/buf.h"
#include "a51/util.h"
#include "a51/banned.h"

struct db_conn *api_db(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c = db_acquire(r->app->pool, &err);

	if (!c)
		http_problem(r, 503, "database-unavailable", "%s", err.message);
	return c;
}

struct db_conn *api_db_read(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c = db_acquire(r->app->read_pool ? r->app->read_pool : r->app->pool, &err);

	if (!c)
		http_problem(r, 503, "database-unavailable", "%s", err.message);
	return c;
}

void api_db_release(struct http_request *r, struct db_conn *c)
{
	db_release(r->app->pool, c);
}

struct actor api_actor(struct http_request *r)
{
	struct actor a = { .caller = &r->caller, .request_id = r->request_id };

	return a;
}

bool api_path_id(struct http_request *r, const char *name, int64_t *out)
{
	const char *s = http_param(r, name);

	if (!s || util_parse_i64(s, 1, INT64_MAX, out) < 0 || s[0] == '0') {
		http_problem(r, 404, "not-found", "no resource with this %s", name);
		return false;
	}
	return true;
}

struct db_conn *api_tx_begin(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c = api_db(r);

	if (!c)
		return NULL;
	if (db_begin(c, &err) < 0) {
		api_db_release(r, c);
		http_problem_from_error(r, &err);
		return NULL;
	}
	return c;
}

int api_tx_commit(struct http_request *r, struct db_conn *c)
{
	struct a51_error err = { 0 };

	if (db_commit(c, &err) < 0) {
		api_fail(r, c, &err);
		return -1;
	}
	api_db_release(r, c);
	return 0;
}

void api_fail(struct http_request *r, struct db_conn *c, const struct a51_error *err)
{
	if (c) {
		db_rollback(c);
		api_db_release(r, c);
	}
	http_problem_from_error(r, err);
}

bool api_page_params(struct http_request *r, int dflt, int max, int *limit, int64_t *after)
{
	struct fields q;
	bool ok;

	query_begin(&q, r);
	*limit = (int)query_int(&q, "limit", 1, max, dflt);
	*after = query_int(&q, "cursor", 0, INT64_MAX, 0);
	ok = query_end(&q);
	return ok;
}

const char *api_base_url(struct http_request *r, const char *const *query_names)
{
	struct buf b;
	const char *out;
	char sep = '?';

	buf_init(&b);
	/* the path as the route matched it (already decoded by libmicrohttpd) */
	buf_puts(&b, r->url);
	for (const char *const *q = query_names; q && *q; q++) {
		const char *v = http_query(r, *q);
		if (!v || strcmp(*q, "cursor") == 0)
			continue;
		buf_printf(&b, "%c%s=", sep, *q);
		for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			    *p == '-' || *p == '_' || *p == '.' || *p == ':')
				buf_putc(&b, (char)*p);
			else
				buf_printf(&b, "%%%02X", *p);
		}
		sep = '&';
	}
	out = b.oom ? r->url : arena_strdup(&r->arena, b.data);
	buf_release(&b);
	return out ? out : r->url;
}

json_t *api_page(json_t *items, int limit, const char *base)
{
	size_t n = json_array_size(items);
	json_t *next = json_null();

	if (limit > 0 && n == (size_t)limit) {
		json_int_t last = json_integer_value(json_object_get(json_array_get(items, n - 1), "id"));
		next = json_sprintf("%s%ccursor=%lld", base, strchr(base, '?') ? '&' : '?', (long long)last);
	}
	return json_pack("{s:o,s:o}", "items", items, "next", next);
}

void api_set_etag(struct http_request *r, const json_t *obj)
{
	json_t *v = json_object_get(obj, "version");
	char etag[32];

	if (!json_is_integer(v))
		return;
	snprintf(etag, sizeof(etag), "\"%lld\"", (long long)json_integer_value(v));
	http_set_header(r, "ETag", etag);
}

bool api_if_match(struct http_request *r, int *version)
{
	const char *h = http_header(r, "If-Match");
	int64_t v;
	char digits[24];
	size_t n;

	if (!h) {
		http_problem(r, 428, "precondition-required",
			     "send If-Match with the ETag of the version you read, so that concurrent changes are not lost");
		return false;
	}
	if (strncmp(h, "W/", 2) == 0)
		h += 2;
	n = strlen(h);
	if (n < 3 || n - 2 >= sizeof(digits) || h[0] != '"' || h[n - 1] != '"') {
		http_problem(r, 412, "precondition-failed", "If-Match must be the ETag read from the resource");
		return false;
	}
	memcpy(digits, h + 1, n - 2);
	digits[n - 2] = '\0';
	if (util_parse_i64(digits, 1, INT32_MAX, &v) < 0) {
		http_problem(r, 412, "precondition-failed", "If-Match must be the ETag read from the resource");
		return false;
	}
	*version = (int)v;
	return true;
}

void api_respond_object(struct http_request *r, int status, json_t *obj)
{
	api_set_etag(r, obj);
	http_respond_json(r, status, obj);
}

/* One CSV cell: text quoted when it holds the separator, a quote or a line
 * break; lists joined with commas; reals with 10 significant digits. */
static void csv_cell(struct buf *b, const json_t *v)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (!strpbrk(s, ";\"\r\n")) {
			buf_puts(b, s);
			return;
		}
		buf_putc(b, '"');
		for (; *s; s++) {
			if (*s == '"')
				buf_putc(b, '"');
			buf_putc(b, *s);
		}
		buf_putc(b, '"');
	} else if (json_is_boolean(v)) {
		buf_puts(b, json_is_true(v) ? "true" : "false");
	} else if (json_is_integer(v)) {
		buf_printf(b, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		buf_printf(b, "%.10g", json_real_value(v));
	} else if (json_is_array(v)) {
		size_t i;
		const json_t *x;
		json_array_foreach(v, i, x) {
			if (i)
				buf_putc(b, ',');
			if (json_is_string(x))
				buf_puts(b, json_string_value(x));
			else if (json_is_integer(x))
				buf_printf(b, "%lld", (long long)json_integer_value(x));
		}
	}
}

void api_respond_csv(struct http_request *r, const char *const *cols, size_t ncols, const json_t *items,
		     const char *filename)
{
	struct buf b;
	char disp[160];
	size_t i;
	const json_t *it;

	buf_init(&b);
	for (size_t k = 0; k < ncols; k++)
		buf_printf(&b, "%s%s", k ? ";" : "", cols[k]);
	buf_puts(&b, "\n");
	json_array_foreach(items, i, it) {
		for (size_t k = 0; k < ncols; k++) {
			if (k)
				buf_putc(&b, ';');
			csv_cell(&b, json_object_get(it, cols[k]));
		}
		buf_puts(&b, "\n");
	}
	if (b.oom) {
		buf_release(&b);
		http_problem(r, 500, "internal", "out of memory");
		return;
	}
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", filename);
	http_set_header(r, "Content-Disposition", disp);
	http_respond_owned(r, 200, "text/csv; charset=utf-8", b.data, b.len);
}

void api_respond_by_id(struct http_request *r, by_id_fn get, const char *const *links)
{
	struct a51_error err = { 0 };
	struct db_conn *c;
	json_t *out;
	int64_t id;

	if (!api_path_id(r, "id", &id) || !(c = api_db(r)))
		return;
	if (get(c, &r->caller, id, &out, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	/* links: member, the path before the run id, the path after it; up to NULL */
	for (; links && links[0]; links += 3)
		json_object_set_new(out, links[0], json_sprintf("%s%lld%s", links[1], (long long)id, links[2]));
	http_respond_json(r, 200, out);
}
