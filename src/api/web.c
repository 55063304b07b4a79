/* The web front end: the files of src/web, embedded in the binary at build time
 * (scripts/embed.py), served without a token. They hold no data: the pages
 * fetch it from the API with the caller's bearer token. */
#include <string.h>
#include <strings.h>

#include "a51/api.h"
#include "a51/embed.h"
#include "a51/banned.h"

/* Only this origin's files run, nothing inline (no script, no style attribute),
 * nothing framed: an injected string can never become code. */
#define WEB_CSP                                                                                          \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " \
	"font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

static const struct {
	const char *ext, *type;
} media_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".json", "application/json" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".woff2", "font/woff2" },
};

static const char *media_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(media_types) / sizeof(media_types[0]); i++)
		if (strcasecmp(dot, media_types[i].ext) == 0)
			return media_types[i].type;
	return "application/octet-stream";
}

/* If-None-Match: "*" or a list of entity tags, compared weakly (RFC 9110 13.1.2). */
static bool etag_listed(const char *header, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = header;

	while (*p) {
		const char *start, *end;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end - start == 1 && *start == '*')
			return true;
		if (end - start > 2 && start[0] == 'W' && start[1] == '/')
			start += 2;
		if ((size_t)(end - start) == elen && memcmp(start, etag, elen) == 0)
			return true;
	}
	return false;
}

static void serve(struct http_request *r, const char *name)
{
	const struct embedded_file *f = name ? embed_find(a51_web_files, a51_web_files_count, name) : NULL;
	const char *inm, *type;

	if (!f) {
		http_problem(r, 404, "not-found", "no file of that name in the web front end");
		return;
	}
	type = media_type(f->name);
	/* The names carry no version, so a browser asks again each time (a 304
	 * costs a round trip on a kept-alive connection) and never runs a stale
	 * module next to a new one after an upgrade. */
	http_set_header(r, "Cache-Control", "no-cache");
	http_set_header(r, "ETag", f->etag);
	http_set_header(r, "Content-Security-Policy", WEB_CSP);
	http_set_header(r, "Referrer-Policy", "no-referrer");
	http_set_header(r, "X-Frame-Options", "DENY");
	http_set_header(r, "Cross-Origin-Opener-Policy", "same-origin");
	http_set_header(r, "Cross-Origin-Resource-Policy", "same-origin");
	inm = http_header(r, "If-None-Match");
	if (inm && etag_listed(inm, f->etag)) {
		http_respond(r, 304, type, "", 0, false);
		return;
	}
	http_respond(r, 200, type, f->data, f->len, false);
}

void api_web_index(struct http_request *r)
{
	serve(r, "index.html");
}

void api_web_file(struct http_request *r)
{
	serve(r, http_param(r, "file"));
}
