/* libFuzzer target for the route table (http/router.c) and the header checks
 * made before a body is read (http/precheck.c).
 *
 * First byte < 0xF0: a method (first byte % 8, 0 being unknown) and a path,
 * matched against the real table (api_routes) and against a plain reference
 * matcher written here from the contract: the results, the route picked, the
 * Allow set and every path parameter (read back with http_param) must agree.
 * 0xF0-0xF7: the rest is route templates, one per line, compiled into a table
 * of their own; each template, its parameters filled, must then match.
 * 0xF8-0xFF: the rest is a Content-Type, checked against every route. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/app.h"
#include "a51/http.h"
#include "a51/router.h"
#include "a51/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int methods[8] = { 0, HTTP_GET, HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE, HTTP_HEAD, HTTP_OPTIONS };

static void handler(struct http_request *r)
{
	(void)r;
}

static struct router *table(void)
{
	static struct router *r;
	struct a51_error err = { 0 };

	if (!r && !(r = router_new(api_routes, api_routes_count, &err)))
		abort();
	return r;
}

/* ---- the reference: split, compare, prefer literals earlier in the path ---- */

struct segs {
	size_t n;
	const char *p[64];
	size_t len[64];
};

/* false for a path the contract says matches nothing: no leading '/', an
 * empty segment, or more segments than any route has. */
static bool split(const char *path, struct segs *s)
{
	s->n = 0;
	if (path[0] != '/')
		return false;
	if (path[1] == '\0')
		return true;
	for (const char *p = path; *p == '/';) {
		const char *start = p + 1, *end = strchr(start, '/');
		size_t len = end ? (size_t)(end - start) : strlen(start);
		if (len == 0 || s->n == ROUTE_MAX_SEGMENTS)
			return false;
		s->p[s->n] = start;
		s->len[s->n++] = len;
		p = start + len;
	}
	return true;
}

/* Whether template t (a route_def path) fits the segments; *lits gets one
 * bit per literal segment, the first segment highest. */
static bool fits(const char *t, const struct segs *s, uint32_t *lits)
{
	struct segs ts;

	*lits = 0;
	if (!split(t, &ts) || ts.n != s->n)
		return false;
	for (size_t i = 0; i < ts.n; i++) {
		if (ts.p[i][0] == '{')
			continue;
		if (ts.len[i] != s->len[i] || memcmp(ts.p[i], s->p[i], s->len[i]) != 0)
			return false;
		*lits |= 1u << (31 - i);
	}
	return true;
}

static void check_match(int method, const char *path)
{
	const struct router *rt = table();
	struct route_match m;
	enum route_result got = router_match(rt, method, path, &m);
	int want = method == HTTP_HEAD ? HTTP_GET : method, allow = 0;
	const struct route_def *best = NULL;
	uint32_t best_lits = 0;
	struct segs s;

	if (strlen(path) > 60000)
		return; /* offsets are 16 bits: beyond, no route (not modelled here) */
	if (split(path, &s)) {
		for (size_t i = 0; i < api_routes_count; i++) {
			uint32_t lits;
			if (!fits(api_routes[i].path, &s, &lits))
				continue;
			allow |= api_routes[i].method;
			if (api_routes[i].method == want && (!best || lits > best_lits)) {
				best = &api_routes[i];
				best_lits = lits;
			}
		}
	}
	if (best) {
		struct http_request req;
		size_t k = 0;
		struct segs ts;

		if (got != ROUTE_FOUND || m.route->def != best || m.nparams != m.route->nparams)
			abort();
		memset(&req, 0, sizeof(req));
		arena_init(&req.arena);
		req.url = path;
		req.match = m;
		split(best->path, &ts);
		for (size_t i = 0; i < ts.n; i++) {
			char name[64];
			const char *v;
			if (ts.p[i][0] != '{')
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)ts.len[i] - 2, ts.p[i] + 1);
			v = http_param(&req, name);
			if (!v || strlen(v) != s.len[i] || memcmp(v, s.p[i], s.len[i]) != 0 ||
			    m.params[k].off != (size_t)(s.p[i] - path) || m.params[k].len != s.len[i])
				abort();
			k++;
		}
		if (k != m.nparams || http_param(&req, "no-such-parameter"))
			abort();
		arena_release(&req.arena);
		return;
	}
	if (!allow) {
		if (got != ROUTE_NOT_FOUND || m.route)
			abort();
		return;
	}
	if (allow & HTTP_GET)
		allow |= HTTP_HEAD;
	if (got != ROUTE_BAD_METHOD || m.allow != allow || (want && (m.allow & want)))
		abort();
	/* the Allow header, into buffers of every size: terminated, never past cap */
	for (size_t cap = 1; cap <= 64; cap++) {
		char buf[65];
		memset(buf, 'x', sizeof(buf));
		http_allow_string(m.allow, buf, cap);
		if (!memchr(buf, '\0', cap) || buf[cap] != 'x')
			abort();
	}
}

/* ---- templates ---- */

static void check_templates(const char *text)
{
	struct route_def defs[16];
	char *copy = strdup(text), *line = copy, *paths[16];
	size_t n = 0;
	struct router *r;
	struct a51_error err = { 0 };

	if (!copy)
		abort();
	while (line && n < 16) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		memset(&defs[n], 0, sizeof(defs[n]));
		defs[n].method = methods[(unsigned char)line[0] % 8];
		defs[n].path = line[0] ? line + 1 : line;
		defs[n].handler = handler;
		paths[n] = (char *)defs[n].path;
		n++;
		line = nl ? nl + 1 : NULL;
	}
	r = router_new(defs, n, &err);
	if (r) {
		if (router_count(r) != n)
			abort();
		for (size_t i = 0; i < n; i++) {
			char path[4096];
			size_t o = 0;
			struct route_match m;
			enum route_result got;
			/* the template with each {param} replaced by "p" */
			for (const char *p = paths[i]; *p && o < sizeof(path) - 2;) {
				if (*p == '{' && (p == paths[i] || p[-1] == '/')) {
					const char *e = strchr(p, '/');
					path[o++] = 'p';
					p = e ? e : p + strlen(p);
				} else {
					path[o++] = *p++;
				}
			}
			path[o] = '\0';
			if (o >= sizeof(path) - 2)
				continue;
			got = router_match(r, defs[i].method, path, &m);
			if (got != ROUTE_FOUND || m.route->def->method != defs[i].method)
				abort();
		}
		router_free(r);
	} else if (!err.message[0]) {
		abort(); /* a refusal says why */
	}
	free(copy);
}

/* ---- Content-Type ---- */

static void check_media(const char *ctype, uint8_t sel)
{
	for (size_t i = 0; i < api_routes_count; i++) {
		const struct route_def *d = &api_routes[i];
		bool has_body = sel & 1;
		uint64_t len = sel & 2 ? UINT64_MAX : (uint64_t)(sel >> 2) << 18;
		int rc = http_body_precheck(d, has_body, len, ctype, 1u << 20);
		bool ok = http_media_accepted(d, ctype);

		if (rc != 0 && rc != 413 && rc != 415)
			abort();
		if (!has_body && rc)
			abort();
		if (rc == 415 && (ok || d->body == BODY_NONE))
			abort();
		if (has_body && rc == 0 && d->body != BODY_NONE && !ok)
			abort();
		if (rc == 413 && (d->body == BODY_STREAM || len == UINT64_MAX || len <= (1u << 20)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	s = malloc(size);
	if (!s)
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0'; /* stops at the first NUL, as a C string from libmicrohttpd */
	if (data[0] < 0xF0)
		check_match(methods[data[0] % 8], s);
	else if (data[0] < 0xF8)
		check_templates(s);
	else
		check_media(s, (uint8_t)(data[0] << 3 | (size & 7)));
	free(s);
	return 0;
}
