/* The web front end's static files as a browser gets them: media types, the
 * security headers, ETag and 304, and nothing served but the embedded files. */
#include <check.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check_main.h"
#include "harness.h"

static struct h_db db;
static struct h_srv srv;

static void up(void)
{
	h_db_create(&db, "web");
	h_srv_start(&srv, db.url, NULL);
}

static void down(void)
{
	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_db_drop(&db);
}

/* The file as it is in the source tree: what a51d must serve byte for byte. */
static char *source_file(const char *name, size_t *len)
{
	char path[1024];
	const char *root = getenv("A51_SOURCE_ROOT");

	ck_assert_ptr_nonnull(root);
	snprintf(path, sizeof(path), "%s/src/web/%s", root, name);
	return h_slurp(path, len);
}

static void assert_header(const struct h_resp *r, const char *name, const char *want)
{
	char v[1024];

	ck_assert_msg(h_header(r, name, v, sizeof(v)), "no %s header in\n%s", name, r->head);
	ck_assert_str_eq(v, want);
}

static void assert_security_headers(const struct h_resp *r)
{
	char csp[1024];

	ck_assert_ptr_nonnull(h_header(r, "Content-Security-Policy", csp, sizeof(csp)));
	ck_assert_msg(strstr(csp, "default-src 'none'"), "CSP: %s", csp);
	ck_assert_msg(strstr(csp, "script-src 'self';"), "CSP: %s", csp);
	ck_assert_msg(strstr(csp, "style-src 'self';"), "CSP: %s", csp);
	ck_assert_msg(strstr(csp, "connect-src 'self';"), "CSP: %s", csp);
	ck_assert_msg(strstr(csp, "frame-ancestors 'none'"), "CSP: %s", csp);
	ck_assert_msg(!strstr(csp, "unsafe") && !strstr(csp, "*") && !strstr(csp, "http"), "CSP too wide: %s",
		      csp);
	assert_header(r, "X-Content-Type-Options", "nosniff");
	assert_header(r, "Referrer-Policy", "no-referrer");
	assert_header(r, "X-Frame-Options", "DENY");
	/* the pages hold no data: the browser may keep them, revalidating each time */
	assert_header(r, "Cache-Control", "no-cache");
}

static void get_file(const char *path, const char *headers, struct h_resp *r)
{
	ck_assert_int_eq(h_get(srv.port, path, headers, r), 0);
}

START_TEST(index_page)
{
	struct h_resp r;
	char etag[128];
	size_t len;
	char *want = source_file("index.html", &len);

	get_file("/", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	assert_header(&r, "Content-Type", "text/html; charset=utf-8");
	assert_security_headers(&r);
	ck_assert_uint_eq(r.body_len, len);
	ck_assert_mem_eq(r.body, want, len);
	ck_assert_ptr_nonnull(strstr(r.body, "<html lang=\"fr\">"));
	ck_assert_ptr_nonnull(h_header(&r, "ETag", etag, sizeof(etag)));
	h_resp_free(&r);

	/* the same page by its name */
	get_file("/ui/index.html", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_mem_eq(r.body, want, len);
	h_resp_free(&r);
	free(want);
}
END_TEST

START_TEST(media_types_and_bytes)
{
	static const struct {
		const char *name, *type;
	} files[] = {
		{ "app.js", "text/javascript; charset=utf-8" },
		{ "app.css", "text/css; charset=utf-8" },
		{ "favicon.svg", "image/svg+xml" },
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct h_resp r;
		char path[128];
		size_t len;
		char *want = source_file(files[i].name, &len);

		snprintf(path, sizeof(path), "/ui/%s", files[i].name);
		get_file(path, NULL, &r);
		ck_assert_int_eq(r.status, 200);
		assert_header(&r, "Content-Type", files[i].type);
		assert_security_headers(&r);
		ck_assert_uint_eq(r.body_len, len);
		ck_assert_mem_eq(r.body, want, len);
		h_resp_free(&r);
		free(want);
	}
}
END_TEST

START_TEST(etag_and_not_modified)
{
	struct h_resp r;
	char etag[128], other[128], hdr[512], v[64];
	regex_t re;

	get_file("/ui/app.js", NULL, &r);
	ck_assert_ptr_nonnull(h_header(&r, "ETag", etag, sizeof(etag)));
	h_resp_free(&r);
	ck_assert_int_eq(regcomp(&re, "^\"[0-9a-f]{32}\"$", REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, etag, 0, NULL, 0) == 0, "not a strong ETag: %s", etag);
	regfree(&re);

	/* another file has another tag */
	get_file("/ui/app.css", NULL, &r);
	ck_assert_ptr_nonnull(h_header(&r, "ETag", other, sizeof(other)));
	ck_assert_str_ne(etag, other);
	h_resp_free(&r);

	snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", etag);
	get_file("/ui/app.js", hdr, &r);
	ck_assert_int_eq(r.status, 304);
	ck_assert_uint_eq(r.body_len, 0);
	assert_header(&r, "ETag", etag);
	assert_header(&r, "Cache-Control", "no-cache");
	h_resp_free(&r);

	/* weak comparison, lists, and the wildcard */
	snprintf(hdr, sizeof(hdr), "If-None-Match: \"0000\", W/%s\r\n", etag);
	get_file("/ui/app.js", hdr, &r);
	ck_assert_int_eq(r.status, 304);
	h_resp_free(&r);
	get_file("/ui/app.js", "If-None-Match: *\r\n", &r);
	ck_assert_int_eq(r.status, 304);
	h_resp_free(&r);

	/* a stale tag, or another file's, gets the file */
	snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", other);
	get_file("/ui/app.js", hdr, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_gt(r.body_len, 0);
	h_resp_free(&r);
	get_file("/ui/app.js", "If-None-Match: \"0123456789abcdef0123456789abcdef\"\r\n", &r);
	ck_assert_int_eq(r.status, 200);
	h_resp_free(&r);

	/* HEAD: the headers of the file, no body */
	ck_assert_int_eq(h_call(srv.port, "HEAD", "/ui/app.js", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	assert_header(&r, "ETag", etag);
	ck_assert_ptr_nonnull(h_header(&r, "Content-Length", v, sizeof(v)));
	ck_assert_int_gt(strtol(v, NULL, 10), 0);
	h_resp_free(&r);
}
END_TEST

START_TEST(only_embedded_files)
{
	static const char *const paths[] = {
		"/ui/nothing.js",
		"/ui/",
		"/ui",
		"/ui/app.js/",
		"/ui/app.js/x",
		"/ui/..",
		"/ui/../meson.build",
		"/ui/..%2fmeson.build",
		"/ui/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
		"/ui/app.js%00.css",   /* a decoded NUL must not end the name early */
		"/ui/..%2f..%2f..%2f..%2fetc%2fpasswd",
		"/ui/%2e%2e/meson.build",
		"/ui/.%2fapp.js",
		"/ui/APP.JS",
		"/index.html",
		"/app.js",
		"/../../etc/passwd",
		"/ui/web.c",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct h_resp r;
		char ct[128];

		get_file(paths[i], NULL, &r);
		ck_assert_msg(r.status == 404, "%s answered %d", paths[i], r.status);
		ck_assert_ptr_nonnull(h_header(&r, "Content-Type", ct, sizeof(ct)));
		ck_assert_str_eq(ct, "application/problem+json");
		ck_assert_msg(!strstr(r.body, "root:") && !strstr(r.body, "project("), "%s leaked a file", paths[i]);
		h_resp_free(&r);
	}
}
END_TEST

START_TEST(public_and_get_only)
{
	struct h_resp r;
	char allow[64];

	/* no token needed, and a bad one changes nothing */
	get_file("/ui/app.js", "Authorization: Bearer a51_not-a-real-token\r\n", &r);
	ck_assert_int_eq(r.status, 200);
	h_resp_free(&r);

	ck_assert_int_eq(h_call(srv.port, "POST", "/", NULL, "x", 1, &r), 0);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(h_header(&r, "Allow", allow, sizeof(allow)), "GET, HEAD");
	h_resp_free(&r);
	ck_assert_int_eq(h_call(srv.port, "DELETE", "/ui/app.js", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 405);
	h_resp_free(&r);

	/* the API keeps no-store and gets none of the page's headers */
	get_file("/healthz", NULL, &r);
	assert_header(&r, "Cache-Control", "no-store");
	ck_assert_ptr_null(h_header(&r, "ETag", allow, sizeof(allow)));
	h_resp_free(&r);
}
END_TEST

START_TEST(keep_alive_across_files)
{
	static const char *const paths[] = { "/", "/ui/app.css", "/ui/app.js", "/ui/nothing.js", "/ui/api.js" };
	struct h_conn c;
	struct h_resp r;

	ck_assert_int_eq(h_conn_open(&c, srv.port), 0);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char req[256];
		int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);

		ck_assert_int_eq(h_conn_send(&c, req, (size_t)n), 0);
		ck_assert_int_eq(h_conn_read(&c, &r, false, 5000), 0);
		ck_assert_int_eq(r.status, strstr(paths[i], "nothing") ? 404 : 200);
		ck_assert_msg(!r.closed, "%s closed the connection", paths[i]);
		h_resp_free(&r);
	}
	h_conn_close(&c);
}
END_TEST

/* The CSP forbids inline code: a page that relied on it would break in the
 * browser. Every HTML file served loads its scripts and styles from files. */
START_TEST(pages_have_nothing_inline)
{
	struct h_resp r;
	regex_t inline_script, handler, style_attr, style_elem;
	const char *p;

	get_file("/", NULL, &r);
	ck_assert_int_eq(regcomp(&inline_script, "<script[^>]*>[^<]", REG_EXTENDED | REG_ICASE | REG_NOSUB), 0);
	ck_assert_int_eq(regcomp(&handler, "<[^>]+[[:space:]]on[a-z]+[[:space:]]*=", REG_EXTENDED | REG_ICASE | REG_NOSUB),
			 0);
	ck_assert_int_eq(regcomp(&style_attr, "<[^>]+[[:space:]]style[[:space:]]*=", REG_EXTENDED | REG_ICASE | REG_NOSUB),
			 0);
	ck_assert_int_eq(regcomp(&style_elem, "<style", REG_EXTENDED | REG_ICASE | REG_NOSUB), 0);
	ck_assert_msg(regexec(&inline_script, r.body, 0, NULL, 0) != 0, "inline script in index.html");
	ck_assert_msg(regexec(&handler, r.body, 0, NULL, 0) != 0, "inline event handler in index.html");
	ck_assert_msg(regexec(&style_attr, r.body, 0, NULL, 0) != 0, "style attribute in index.html");
	ck_assert_msg(regexec(&style_elem, r.body, 0, NULL, 0) != 0, "style element in index.html");
	/* every script is a module from this origin */
	for (p = strstr(r.body, "<script"); p; p = strstr(p + 1, "<script"))
		ck_assert_msg(strncmp(p, "<script type=\"module\" src=\"/ui/", 31) == 0, "script tag: %.60s", p);
	regfree(&inline_script);
	regfree(&handler);
	regfree(&style_attr);
	regfree(&style_elem);
	h_resp_free(&r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("web");
	TCase *t = tcase_create("web");

	tcase_add_unchecked_fixture(t, up, down);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, index_page);
	tcase_add_test(t, media_types_and_bytes);
	tcase_add_test(t, etag_and_not_modified);
	tcase_add_test(t, only_embedded_files);
	tcase_add_test(t, public_and_get_only);
	tcase_add_test(t, keep_alive_across_files);
	tcase_add_test(t, pages_have_nothing_inline);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
