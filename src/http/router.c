#include <stdlib.h>
#include <string.h>

#include "a51/router.h"
#include "a51/util.h"
#include "a51/banned.h"

struct router {
	size_t n;
	struct route routes[];
};

static const struct { int m; const char *name; } methods[] = {
	{ HTTP_GET, "GET" }, { HTTP_HEAD, "HEAD" }, { HTTP_POST, "POST" }, { HTTP_PUT, "PUT" },
	{ HTTP_PATCH, "PATCH" }, { HTTP_DELETE, "DELETE" }, { HTTP_OPTIONS, "OPTIONS" },
};

int http_method_parse(const char *s)
{
	for (size_t i = 0; i < A51_ARRAY_LEN(methods); i++)
		if (strcmp(s, methods[i].name) == 0)
			return methods[i].m;
	return 0;
}

const char *http_method_name(int m)
{
	for (size_t i = 0; i < A51_ARRAY_LEN(methods); i++)
		if (methods[i].m == m)
			return methods[i].name;
	return "?";
}

void http_allow_string(int mask, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < A51_ARRAY_LEN(methods); i++) {
		if (!(mask & methods[i].m))
			continue;
		size_t need = strlen(methods[i].name) + (len ? 2 : 0);
		if (len + need + 1 > cap)
			break;
		if (len) {
			memcpy(out + len, ", ", 2);
			len += 2;
		}
		memcpy(out + len, methods[i].name, strlen(methods[i].name));
		len += strlen(methods[i].name);
		out[len] = '\0';
	}
}

static int compile(const struct route_def *def, int index, struct route *rt, struct a51_error *err)
{
	const char *p = def->path;

	memset(rt, 0, sizeof(*rt));
	rt->def = def;
	rt->index = index;
	if (!p || p[0] != '/')
		return a51_error_set(err, A51_EINVAL, "path", "route template must start with '/': %s", p ? p : "(null)");
	if (http_method_name(def->method)[0] == '?' || !def->handler)
		return a51_error_set(err, A51_EINVAL, "method", "route %s needs one method and a handler", p);
	/* router_match answers HEAD with the GET route: a HEAD route would never be reached */
	if (def->method == HTTP_HEAD)
		return a51_error_set(err, A51_EINVAL, "method", "route HEAD %s: HEAD is served by the GET route", p);
	if (strcmp(p, "/") == 0)
		return 0;
	while (*p == '/') {
		const char *s = ++p, *e = strchr(s, '/');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		struct route_segment *seg;

		if (len == 0)
			return a51_error_set(err, A51_EINVAL, "path", "empty segment in %s", def->path);
		if (rt->nseg == ROUTE_MAX_SEGMENTS)
			return a51_error_set(err, A51_EINVAL, "path", "too many segments in %s", def->path);
		seg = &rt->seg[rt->nseg];
		if (s[0] == '{') {
			if (len < 3 || s[len - 1] != '}')
				return a51_error_set(err, A51_EINVAL, "path", "bad parameter in %s", def->path);
			if (rt->nparams == ROUTE_MAX_PARAMS)
				return a51_error_set(err, A51_EINVAL, "path", "too many parameters in %s", def->path);
			seg->lit = s + 1;
			seg->len = (uint16_t)(len - 2);
			seg->param = (int8_t)rt->nparams++;
		} else {
			seg->lit = s;
			seg->len = (uint16_t)len;
			seg->param = -1;
			rt->specificity |= 1u << (31 - rt->nseg);
		}
		rt->nseg++;
		p = s + len;
	}
	return 0;
}

static bool same_shape(const struct route *a, const struct route *b)
{
	if (a->nseg != b->nseg)
		return false;
	for (int i = 0; i < a->nseg; i++) {
		if ((a->seg[i].param < 0) != (b->seg[i].param < 0))
			return false;
		if (a->seg[i].param < 0 &&
		    (a->seg[i].len != b->seg[i].len || memcmp(a->seg[i].lit, b->seg[i].lit, a->seg[i].len) != 0))
			return false;
	}
	return true;
}

struct router *router_new(const struct route_def *defs, size_t n, struct a51_error *err)
{
	struct router *r = calloc(1, sizeof(*r) + n * sizeof(struct route));

	if (!r) {
		a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		return NULL;
	}
	r->n = n;
	for (size_t i = 0; i < n; i++) {
		if (compile(&defs[i], (int)i, &r->routes[i], err) < 0)
			goto fail;
		for (size_t j = 0; j < i; j++) {
			if (defs[j].method == defs[i].method && same_shape(&r->routes[i], &r->routes[j])) {
				a51_error_set(err, A51_EINVAL, "path", "duplicate route %s %s",
					      http_method_name(defs[i].method), defs[i].path);
				goto fail;
			}
		}
	}
	return r;
fail:
	free(r);
	return NULL;
}

void router_free(struct router *r)
{
	free(r);
}

size_t router_count(const struct router *r)
{
	return r->n;
}

const struct route *router_at(const struct router *r, size_t i)
{
	return i < r->n ? &r->routes[i] : NULL;
}

/* Splits path into segment offsets once; each route then compares in place. */
struct split {
	uint8_t n;
	struct { uint16_t off, len; } s[ROUTE_MAX_SEGMENTS];
};

static bool split_path(const char *path, struct split *sp)
{
	size_t i = 0;

	sp->n = 0;
	if (path[0] != '/')
		return false;
	if (path[1] == '\0')
		return true;
	while (path[i] == '/') {
		size_t start = ++i;
		while (path[i] && path[i] != '/')
			i++;
		if (i == start || sp->n == ROUTE_MAX_SEGMENTS || i > UINT16_MAX)
			return false; /* empty segment ("//", trailing "/") or too deep: no route */
		sp->s[sp->n].off = (uint16_t)start;
		sp->s[sp->n].len = (uint16_t)(i - start);
		sp->n++;
	}
	return path[i] == '\0';
}

static bool route_fits(const struct route *rt, const char *path, const struct split *sp)
{
	if (rt->nseg != sp->n)
		return false;
	for (int i = 0; i < sp->n; i++) {
		const struct route_segment *seg = &rt->seg[i];
		if (seg->param >= 0)
			continue;
		if (seg->len != sp->s[i].len || memcmp(seg->lit, path + sp->s[i].off, seg->len) != 0)
			return false;
	}
	return true;
}

enum route_result router_match(const struct router *r, int method, const char *path, struct route_match *m)
{
	const struct route *best = NULL;
	struct split sp;
	int allow = 0;
	int want = method == HTTP_HEAD ? HTTP_GET : method;

	memset(m, 0, sizeof(*m));
	if (!split_path(path, &sp))
		return ROUTE_NOT_FOUND;
	for (size_t i = 0; i < r->n; i++) {
		const struct route *rt = &r->routes[i];
		if (!route_fits(rt, path, &sp))
			continue;
		allow |= rt->def->method;
		if (rt->def->method == want && (!best || rt->specificity > best->specificity))
			best = rt;
	}
	if (!best) {
		if (!allow)
			return ROUTE_NOT_FOUND;
		if (allow & HTTP_GET)
			allow |= HTTP_HEAD;
		m->allow = allow;
		return ROUTE_BAD_METHOD;
	}
	m->route = best;
	m->nparams = best->nparams;
	for (int i = 0; i < best->nseg; i++) {
		int p = best->seg[i].param;
		if (p >= 0) {
			m->params[p].off = sp.s[i].off;
			m->params[p].len = sp.s[i].len;
		}
	}
	return ROUTE_FOUND;
}
