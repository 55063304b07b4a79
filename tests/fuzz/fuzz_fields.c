/* libFuzzer target for the request-validation layer every handler uses
 * (api/fields.c, api/common.c, api/regions.c): JSON body fields, query
 * parameters, pagination, path ids and region codes, and the `next` links
 * built from the query. libmicrohttpd is replaced by fake_mhd.c.
 *
 * Input: one selector byte, then the query string, a NUL, a path parameter, a
 * NUL, and the body. The selector decides how each known name is read (text,
 * date, enum, bool or integer) and with which bounds. Checked: what a helper
 * returns obeys its bounds; a fault is reported once as one 422 listing
 * {field, reason} entries; a missing or broken body is one 400; every answer
 * is well-formed problem+json; links carry only URL-safe bytes. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a51/api.h"
#include "a51/dates.h"
#include "a51/util.h"
#include "fake_mhd.h"
#include "a51/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = { "name", "year", "on", "kind", "limit", "cursor", "format", "what_if",
				     "start_on", "x", NULL };
static const char *const allowed[] = { "json", "csv", "PEPS", "IPEP", "EDS", NULL };
static const int64_t bounds[][2] = { { 1, 100 }, { 2018, 2100 }, { 0, INT64_MAX }, { INT64_MIN, INT64_MAX },
				     { -5, 5 }, { 1, 1 } };

static void check_date(const char *s)
{
	int32_t d;

	if (s && (strlen(s) != 10 || date_parse(s, &d) < 0))
		abort();
}

static void check_enum(const char *s)
{
	bool found = false;

	for (const char *const *a = allowed; s && *a; a++)
		found |= strcmp(*a, s) == 0;
	if (s && !found)
		abort();
}

static void check_int(int64_t v, const int64_t b[2], int64_t dflt)
{
	if (v != dflt && (v < b[0] || v > b[1]))
		abort();
}

/* Faults are {field, reason} strings, and one 422 says them all. */
static void check_422(const struct fake_conn *c, size_t nerrors)
{
	json_t *j;

	fake_check_answer(c);
	if (c->status != 422)
		abort();
	j = json_loads(c->body, 0, NULL);
	if (json_array_size(json_object_get(j, "errors")) != nerrors)
		abort();
	json_decref(j);
}

static void body_fields(uint8_t sel, const char *query, const char *body, size_t blen)
{
	struct http_request r;
	struct fake_conn c;
	struct fields f;
	char qbuf[4096];

	fake_request_init(&r, &c, "/v1/fuzz");
	fake_conn_parse_query(&c, query, qbuf, sizeof(qbuf));
	if (blen) {
		r.body = malloc(blen + 1);
		if (!r.body)
			abort();
		memcpy(r.body, body, blen);
		r.body[blen] = '\0';
		r.body_len = blen;
	}
	if (!fields_begin(&f, &r)) {
		fake_check_answer(&c);
		if (c.status != 400)
			abort();
		fake_request_release(&r, &c);
		return;
	}
	if (sel & 0x80)
		fields_only(&f, names + (sel & 3));
	for (size_t i = 0; names[i]; i++) {
		const int64_t *b = bounds[(sel + i) % A51_ARRAY_LEN(bounds)];
		bool required = (sel >> 4) & 1;
		const char *s;
		size_t maxlen = 1 + (sel >> 2) % 40;

		switch ((sel + i) % 5) {
		case 0:
			s = field_text(&f, names[i], required, maxlen);
			if (s && (!*s || strlen(s) > maxlen))
				abort();
			break;
		case 1:
			check_date(field_date(&f, names[i], required));
			break;
		case 2:
			check_enum(field_enum(&f, names[i], required, allowed));
			break;
		case 3: {
			json_t *v = json_object_get(f.obj, names[i]);
			bool got = field_bool(&f, names[i], sel & 1);
			if (json_is_boolean(v) && got != json_is_true(v))
				abort();
			break;
		}
		default:
			check_int(field_int(&f, names[i], required, b[0], b[1], -7), b, -7);
		}
		(void)field_present(&f, names[i]);
	}
	{
		size_t n = json_array_size(f.errors);
		bool ok = fields_ok(&f);
		if (ok != (n == 0))
			abort();
		if (fields_end(&f)) {
			if (!ok || c.queued)
				abort();
			fields_release(&f);
		} else {
			check_422(&c, n);
		}
	}
	fake_request_release(&r, &c);
}

static void query_fields(uint8_t sel, const char *query)
{
	struct http_request r;
	struct fake_conn c;
	struct fields q;
	char qbuf[4096];
	size_t n;

	fake_request_init(&r, &c, "/v1/fuzz");
	fake_conn_parse_query(&c, query, qbuf, sizeof(qbuf));
	query_begin(&q, &r);
	for (size_t i = 0; names[i]; i++) {
		const int64_t *b = bounds[(sel + i) % A51_ARRAY_LEN(bounds)];
		switch ((sel + i) % 3) {
		case 0:
			check_date(query_date(&q, names[i]));
			break;
		case 1:
			check_enum(query_enum(&q, names[i], allowed));
			break;
		default:
			check_int(query_int(&q, names[i], b[0], b[1], -7), b, -7);
		}
	}
	n = json_array_size(q.errors);
	if (query_end(&q)) {
		if (n || c.queued)
			abort();
	} else {
		check_422(&c, n);
	}
	fake_request_release(&r, &c);

	/* pagination */
	{
		int limit, max = 1 + sel % 1000;
		int64_t after;
		fake_request_init(&r, &c, "/v1/fuzz");
		fake_conn_parse_query(&c, query, qbuf, sizeof(qbuf));
		if (api_page_params(&r, 1 + sel % max, max, &limit, &after)) {
			if (limit < 1 || limit > max || after < 0 || c.queued)
				abort();
		} else {
			fake_check_answer(&c);
			if (c.status != 422)
				abort();
		}
		fake_request_release(&r, &c);
	}

	/* the next link: the path, then name=value pairs of URL-safe bytes */
	{
		const char *url, *p;
		fake_request_init(&r, &c, "/v1/fuzz");
		fake_conn_parse_query(&c, query, qbuf, sizeof(qbuf));
		url = api_base_url(&r, names);
		if (strncmp(url, "/v1/fuzz", 8) != 0 || strstr(url, "cursor="))
			abort();
		for (p = url + 8; *p; p++) {
			char ch = *p;
			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			      strchr("-_.:%=&?", ch)))
				abort();
		}
		{
			json_t *items = json_pack("[{s:i}]", "id", 42), *page = api_page(items, 1, url);
			const char *next = json_string_value(json_object_get(page, "next"));
			if (!next || strncmp(next, url, strlen(url)) != 0 || !strstr(next, "cursor=42"))
				abort();
			json_decref(page);
		}
		fake_request_release(&r, &c);
	}
}

/* An id is a positive decimal without leading zero that fits in 64 bits. */
static bool id_ok(const char *v)
{
	size_t n = strlen(v);

	if (!n || v[0] == '0' || n > 19)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	return n < 19 || strcmp(v, "9223372036854775807") <= 0;
}

static void path_params(const char *value)
{
	static const char *const shapes[][2] = { { "/v1/structures/", "" }, { "/v1/regions/", "/dashboard" } };
	static struct router *router;
	struct a51_error err = { 0 };

	if (strchr(value, '/') || strlen(value) > 1000)
		return;
	if (!router && !(router = router_new(api_routes, api_routes_count, &err)))
		abort();
	for (size_t k = 0; k < A51_ARRAY_LEN(shapes); k++) {
		char path[1100];
		struct http_request r;
		struct fake_conn c;
		int64_t id = -1;
		const char *code = NULL;
		bool ok;

		snprintf(path, sizeof(path), "%s%s%s", shapes[k][0], value, shapes[k][1]);
		fake_request_init(&r, &c, path);
		if (router_match(router, HTTP_GET, path, &r.match) != ROUTE_FOUND) {
			if (*value)
				abort(); /* any non-empty segment is a parameter */
			fake_request_release(&r, &c);
			continue;
		}
		if (k == 0) {
			ok = api_path_id(&r, "id", &id);
			if (ok != id_ok(value) || (ok && id < 1))
				abort();
			if (!ok && c.status != 404)
				abort();
		} else {
			ok = api_region_param(&r, &code);
			if (ok != (strlen(value) == 2 && value[0] >= '0' && value[0] <= '9' && value[1] >= '0' &&
				   value[1] <= '9'))
				abort();
			if (!ok && c.status != 422)
				abort();
		}
		if (!ok)
			fake_check_answer(&c);
		else if (c.queued)
			abort();
		fake_request_release(&r, &c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;
	const char *query, *param, *body;
	size_t rest;
	uint8_t sel;

	if (size < 1)
		return 0;
	sel = data[0];
	copy = malloc(size + 2);
	if (!copy)
		abort();
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = copy[size] = copy[size + 1] = '\0';
	query = copy;
	param = query + strlen(query) + 1;
	if ((size_t)(param - copy) > size - 1)
		param = copy + size - 1;
	body = param + strlen(param) + 1;
	rest = (size_t)(body - copy) <= size - 1 ? size - 1 - (size_t)(body - copy) : 0;
	if (strlen(query) < 2000) {
		body_fields(sel, query, body, rest);
		query_fields(sel, query);
	}
	path_params(param);
	free(copy);
	return 0;
}
