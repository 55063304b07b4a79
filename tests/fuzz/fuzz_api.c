/* libFuzzer target for the handlers themselves: every route but /metrics
 * (which reads the running server), called the way the server calls it once
 * the guard has passed (an upload route: its begin callback, which checks the
 * query and headers; its records have fuzz_upload), with path parameters, query string,
 * headers and body from the input. libmicrohttpd is replaced by fake_mhd.c;
 * the database pool points at a socket that does not exist, so a handler runs
 * its whole validation and stops at its first query with a 503.
 *
 * Input: a caller byte (national, ARS 84, ARS 11 or structure 1-3; read-only
 * or not), then NUL-separated: the route as "METHOD /template" (one the table
 * does not have picks a route by hash, so that reproducers keep their route
 * when routes are added), one value per path parameter, the query string,
 * headers ("Name: value" lines), and the body.
 *
 * Checked: the handler answers exactly once, never 500, with well-formed JSON
 * or problem+json; nothing leaks (LeakSanitizer); no input reaches a response
 * header with CR or LF in it (fake_mhd.c). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a51/api.h"
#include "a51/log.h"
#include "a51/util.h"
#include "fake_mhd.h"
#include "a51/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct a51_config cfg;
static struct app app;
static struct router *router;
static const struct route_def *routes[128];
static size_t nroutes;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct db_pool_config pc = {
		.url = "host=/nonexistent/a51-fuzz port=1 dbname=none connect_timeout=1",
		.size = 2,
		.acquire_timeout_ms = 1,
		.statement_timeout_ms = 1000,
		.connect_timeout_s = 1,
		.application_name = "fuzz",
	};
	struct a51_error err = { 0 };

	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	config_defaults(&cfg);
	cfg.mode = A51_MODE_TEST;
	app.cfg = &cfg;
	if (!(app.pool = db_pool_new(&pc, &err)) || !(router = router_new(api_routes, api_routes_count, &err)))
		abort();
	app.upload_pool = app.pool;
	app.router = router;
	memcpy(app.pseudo_key, "fuzz-pseudonym-key-fuzz-pseudonym-key", 37);
	app.pseudo_key_len = 37;
	for (size_t i = 0; i < api_routes_count && nroutes < A51_ARRAY_LEN(routes); i++)
		if (strcmp(api_routes[i].path, "/metrics") != 0)
			routes[nroutes++] = &api_routes[i];
	return 0;
}

static struct caller caller_of(uint8_t b)
{
	struct caller c = { 0 };

	c.write = !(b & 4);
	c.token_id = 1;
	switch (b & 3) {
	case 0:
		c.kind = CALLER_NATIONAL;
		break;
	case 1:
	case 2:
		c.kind = CALLER_ARS;
		memcpy(c.region, (b & 3) == 1 ? "84" : "11", 3);
		break;
	default:
		c.kind = CALLER_STRUCTURE;
		c.structure_id = 1 + (b >> 3) % 3;
	}
	auth_scope_format(&c);
	return c;
}

/* Next NUL-terminated section of [*p, end); the empty string past the end. */
static const char *section(char **p, char *end)
{
	char *s = *p;

	if (s >= end)
		return "";
	*p = s + strlen(s) + 1;
	return s;
}

static void parse_headers(struct fake_conn *c, char *text)
{
	char *line = text;

	while (line && *line && c->nheaders < FAKE_MAX_KV) {
		char *nl = strchr(line, '\n'), *colon;
		if (nl)
			*nl = '\0';
		colon = strchr(line, ':');
		if (colon && colon != line) {
			*colon = '\0';
			c->headers[c->nheaders].key = line;
			c->headers[c->nheaders].value = colon + 1 + (colon[1] == ' ');
			c->nheaders++;
		}
		line = nl ? nl + 1 : NULL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct route_def *def;
	struct http_request r;
	struct fake_conn c;
	char *copy, *p, *end, path[2048], qbuf[8192];
	const char *query, *t;
	char *headers;
	size_t o = 0;

	if (size < 2 || !nroutes)
		return 0;
	copy = malloc(size);
	if (!copy)
		abort();
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	p = copy;
	end = copy + size - 1;
	{
		const char *name = section(&p, end);
		uint32_t h = 2166136261u;
		def = NULL;
		for (size_t i = 0; i < nroutes && !def; i++) {
			const char *m = http_method_name(routes[i]->method);
			size_t ml = strlen(m);
			if (strncmp(name, m, ml) == 0 && name[ml] == ' ' && strcmp(name + ml + 1, routes[i]->path) == 0)
				def = routes[i];
		}
		for (const char *q = name; !def && *q; q++)
			h = (h ^ (uint8_t)*q) * 16777619u;
		if (!def)
			def = routes[h % nroutes];
	}

	/* the path: the template, each {param} from the input ("1" when it cannot be a segment) */
	for (t = def->path; *t && o < sizeof(path) - 1;) {
		if (*t == '{') {
			const char *v = section(&p, end);
			size_t n = strlen(v);
			if (!n || strchr(v, '/') || n > 512)
				v = "1", n = 1;
			if (o + n >= sizeof(path) - 1)
				break;
			memcpy(path + o, v, n);
			o += n;
			t = strchr(t, '}') + 1;
		} else {
			path[o++] = *t++;
		}
	}
	path[o] = '\0';
	query = section(&p, end);
	headers = (char *)section(&p, end);

	fake_request_init(&r, &c, path);
	r.app = &app;
	r.method = def->method;
	if (*t || router_match(router, def->method, path, &r.match) != ROUTE_FOUND) {
		fake_request_release(&r, &c);
		free(copy);
		return 0;
	}
	if (strlen(query) < sizeof(qbuf) / 2 - 1)
		fake_conn_parse_query(&c, query, qbuf, sizeof(qbuf));
	parse_headers(&c, headers);
	r.caller = caller_of(data[0]);
	if (!auth_permits(&r.caller, r.match.route->def->perm))
		r.caller = caller_of(0); /* the guard would have stopped it: run as national */
	def = r.match.route->def;
	if (def->body == BODY_JSON && p < end) {
		r.body_len = (size_t)(end - p);
		r.body = malloc(r.body_len + 1);
		if (!r.body)
			abort();
		memcpy(r.body, p, r.body_len);
		r.body[r.body_len] = '\0';
		r.has_body = true;
	}
	if (def->body == BODY_STREAM) {
		/* as server.c: begin after the headers, then the body, then the handler */
		r.has_body = p < end;
		r.content_length = (uint64_t)(end - p);
		if (def->stream->begin(&r) == 0 && !r.responded) {
			if (p < end)
				def->stream->chunk(&r, p, (size_t)(end - p));
			if (!r.responded)
				def->handler(&r);
		}
		if (r.stream_state && def->stream->abort)
			def->stream->abort(&r);
	} else {
		def->handler(&r);
	}
	fake_check_answer(&c);
	if (c.status == 500)
		abort();
	fake_request_release(&r, &c);
	free(copy);
	return 0;
}
