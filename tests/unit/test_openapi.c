/* The contract: openapi/openapi.yaml and the route table must describe the same
 * API — same paths and methods, public exactly where the route is public, and
 * the same catalogue of problem types. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "a51/app.h"
#include "a51/auth.h"
#include "a51/http.h"
#include "common/check_main.h"

static json_t *spec;

static void setup(void)
{
	json_error_t e;

	spec = json_loadb(a51_openapi_json, a51_openapi_json_len, 0, &e);
	ck_assert_msg(spec != NULL, "openapi.json: %s", e.text);
}

static void teardown(void)
{
	json_decref(spec);
}

static void lower(const char *in, char *out, size_t cap)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < cap; i++)
		out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
	out[i] = '\0';
}

START_TEST(every_route_is_documented)
{
	json_t *paths = json_object_get(spec, "paths");

	for (size_t i = 0; i < api_routes_count; i++) {
		const struct route_def *d = &api_routes[i];
		char m[16];
		json_t *op, *sec;

		lower(http_method_name(d->method), m, sizeof(m));
		op = json_object_get(json_object_get(paths, d->path), m);
		ck_assert_msg(op != NULL, "%s %s is served but not in openapi.yaml", m, d->path);
		ck_assert_msg(json_object_get(op, "responses"), "%s %s documents no responses", m, d->path);
		ck_assert_msg(json_object_get(op, "operationId"), "%s %s has no operationId", m, d->path);
		sec = json_object_get(op, "security");
		if (d->perm == PERM_PUBLIC)
			ck_assert_msg(json_is_array(sec) && json_array_size(sec) == 0,
				      "%s %s is public: the spec must say security: []", m, d->path);
		else
			ck_assert_msg(!sec || json_array_size(sec) > 0,
				      "%s %s needs a token but the spec says it is public", m, d->path);
	}
}
END_TEST

START_TEST(every_documented_route_is_served)
{
	static const char *const verbs[] = { "get", "post", "put", "patch", "delete" };
	json_t *paths = json_object_get(spec, "paths"), *item;
	const char *path;

	json_object_foreach(paths, path, item) {
		for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++) {
			bool found = false;
			if (!json_object_get(item, verbs[v]))
				continue;
			for (size_t i = 0; i < api_routes_count && !found; i++)
				found = strcmp(api_routes[i].path, path) == 0 &&
					strcasecmp(http_method_name(api_routes[i].method), verbs[v]) == 0;
			ck_assert_msg(found, "openapi.yaml documents %s %s but a51d does not serve it", verbs[v], path);
		}
	}
}
END_TEST

START_TEST(problem_types_match_catalogue)
{
	json_t *types = json_object_get(
		json_object_get(json_object_get(json_object_get(spec, "components"), "schemas"), "ProblemType"),
		"enum");
	size_t n;
	const struct problem_type *c = problem_catalogue(&n);

	ck_assert_msg(json_is_array(types), "components.schemas.ProblemType.enum is missing");
	ck_assert_uint_eq(json_array_size(types), n);
	for (size_t i = 0; i < n; i++) {
		char want[96];
		bool found = false;
		size_t k;
		json_t *t;

		snprintf(want, sizeof(want), "/problems/%s", c[i].slug);
		json_array_foreach(types, k, t) found |= strcmp(json_string_value(t), want) == 0;
		ck_assert_msg(found, "problem type %s is not documented", want);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("openapi");
	TCase *t = tcase_create("openapi");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, every_route_is_documented);
	tcase_add_test(t, every_documented_route_is_served);
	tcase_add_test(t, problem_types_match_catalogue);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
