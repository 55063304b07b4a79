/* http/router: templates, matching, 404/405, Allow, literal-over-parameter. */
#include <check.h>
#include <string.h>

#include "a51/router.h"
#include "a51/util.h"
#include "common/check_main.h"

static void h(struct http_request *r) { (void)r; }

static const struct route_def defs[] = {
	{ HTTP_GET, "/healthz", 0, BODY_NONE, h, NULL, NULL },
	{ HTTP_GET, "/v1/jobs/{id}", 0, BODY_NONE, h, NULL, NULL },
	{ HTTP_DELETE, "/v1/jobs/{id}", 0, BODY_NONE, h, NULL, NULL },
	{ HTTP_GET, "/v1/jobs/stats", 0, BODY_NONE, h, NULL, NULL },
	{ HTTP_POST, "/v1/structures/{id}/uploads", 0, BODY_STREAM, h, NULL, NULL },
	{ HTTP_GET, "/v1/structures/{id}/runs/{run}/lines", 0, BODY_NONE, h, NULL, NULL },
	{ HTTP_GET, "/", 0, BODY_NONE, h, NULL, NULL },
};

static struct router *rt;

static void setup(void)
{
	struct a51_error err = { 0 };

	rt = router_new(defs, A51_ARRAY_LEN(defs), &err);
	ck_assert_msg(rt != NULL, "%s", err.message);
}

static void teardown(void)
{
	router_free(rt);
}

static const char *param(const char *path, const struct route_match *m, int i, char *out)
{
	memcpy(out, path + m->params[i].off, m->params[i].len);
	out[m->params[i].len] = '\0';
	return out;
}

START_TEST(matches_literals_and_params)
{
	struct route_match m;
	char buf[64];
	const char *p = "/v1/structures/42/runs/r-9/lines";

	ck_assert_int_eq(router_match(rt, HTTP_GET, "/healthz", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route->def, &defs[0]);
	ck_assert_int_eq(router_match(rt, HTTP_GET, p, &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route->def, &defs[5]);
	ck_assert_int_eq(m.nparams, 2);
	ck_assert_str_eq(param(p, &m, 0, buf), "42");
	ck_assert_str_eq(param(p, &m, 1, buf), "r-9");
	ck_assert_int_eq(router_match(rt, HTTP_GET, "/", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route->def, &defs[6]);
}
END_TEST

START_TEST(literal_beats_parameter)
{
	struct route_match m;

	ck_assert_int_eq(router_match(rt, HTTP_GET, "/v1/jobs/stats", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route->def, &defs[3]);
	ck_assert_int_eq(router_match(rt, HTTP_GET, "/v1/jobs/17", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route->def, &defs[1]);
	ck_assert_int_eq(router_match(rt, HTTP_DELETE, "/v1/jobs/stats", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route->def, &defs[2]);
}
END_TEST

START_TEST(not_found_cases)
{
	static const char *const paths[] = {
		"/nope", "/healthz/", "/healthz/x", "//healthz", "/v1/jobs", "/v1/jobs/", "/v1/jobs//x",
		"", "healthz", "/v1/structures/1/uploads/extra", "/a/b/c/d/e/f/g/h/i/j/k/l",
	};
	struct route_match m;

	for (size_t i = 0; i < A51_ARRAY_LEN(paths); i++)
		ck_assert_msg(router_match(rt, HTTP_GET, paths[i], &m) == ROUTE_NOT_FOUND, "%s", paths[i]);
}
END_TEST

START_TEST(wrong_method_lists_allow)
{
	struct route_match m;
	char allow[64];

	ck_assert_int_eq(router_match(rt, HTTP_POST, "/healthz", &m), ROUTE_BAD_METHOD);
	http_allow_string(m.allow, allow, sizeof(allow));
	ck_assert_str_eq(allow, "GET, HEAD");
	ck_assert_int_eq(router_match(rt, HTTP_PUT, "/v1/jobs/9", &m), ROUTE_BAD_METHOD);
	http_allow_string(m.allow, allow, sizeof(allow));
	ck_assert_str_eq(allow, "GET, HEAD, DELETE");
	ck_assert_int_eq(router_match(rt, HTTP_GET, "/v1/structures/1/uploads", &m), ROUTE_BAD_METHOD);
	http_allow_string(m.allow, allow, sizeof(allow));
	ck_assert_str_eq(allow, "POST");
	ck_assert_int_eq(router_match(rt, 0, "/healthz", &m), ROUTE_BAD_METHOD); /* unknown method */
}
END_TEST

START_TEST(head_is_get)
{
	struct route_match m;

	ck_assert_int_eq(router_match(rt, HTTP_HEAD, "/healthz", &m), ROUTE_FOUND);
	ck_assert_ptr_eq(m.route->def, &defs[0]);
}
END_TEST

START_TEST(bad_templates_rejected)
{
	static const struct route_def bad[][2] = {
		{ { HTTP_GET, "nope", 0, 0, h, NULL, NULL } },
		{ { HTTP_GET, "/a//b", 0, 0, h, NULL, NULL } },
		{ { HTTP_GET, "/a/{", 0, 0, h, NULL, NULL } },
		{ { HTTP_GET, "/a/{}", 0, 0, h, NULL, NULL } },
		{ { HTTP_GET, "/{a}/{b}/{c}/{d}/{e}", 0, 0, h, NULL, NULL } },
		{ { HTTP_GET, "/a", 0, 0, NULL, NULL, NULL } },
		{ { HTTP_GET | HTTP_POST, "/a", 0, 0, h, NULL, NULL } },
		/* HEAD is answered by the GET route: a HEAD route could never match (found by fuzz_router) */
		{ { HTTP_HEAD, "/a", 0, 0, h, NULL, NULL } },
	};
	static const struct route_def dup[] = {
		{ HTTP_GET, "/a/{x}", 0, 0, h, NULL, NULL },
		{ HTTP_GET, "/a/{y}", 0, 0, h, NULL, NULL },
	};
	struct a51_error err = { 0 };

	for (size_t i = 0; i < A51_ARRAY_LEN(bad); i++)
		ck_assert_msg(router_new(bad[i], 1, &err) == NULL, "template %zu accepted", i);
	ck_assert_ptr_null(router_new(dup, 2, &err));
	ck_assert(strstr(err.message, "duplicate"));
}
END_TEST

START_TEST(methods_parse)
{
	ck_assert_int_eq(http_method_parse("GET"), HTTP_GET);
	ck_assert_int_eq(http_method_parse("PATCH"), HTTP_PATCH);
	ck_assert_int_eq(http_method_parse("get"), 0);
	ck_assert_int_eq(http_method_parse("BREW"), 0);
	ck_assert_str_eq(http_method_name(HTTP_DELETE), "DELETE");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("router");
	TCase *t = tcase_create("router");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, matches_literals_and_params);
	tcase_add_test(t, literal_beats_parameter);
	tcase_add_test(t, not_found_cases);
	tcase_add_test(t, wrong_method_lists_allow);
	tcase_add_test(t, head_is_get);
	tcase_add_test(t, bad_templates_rejected);
	tcase_add_test(t, methods_parse);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
