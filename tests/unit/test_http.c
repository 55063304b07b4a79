/* http/: body pre-checks (413/415), media types, problem+json documents. */
#include <check.h>
#include <string.h>

#include "a51/http.h"
#include "a51/util.h"
#include "common/check_main.h"

static void h(struct http_request *r) { (void)r; }

static const struct route_def json_route = { HTTP_POST, "/x", 0, BODY_JSON, h, NULL, NULL };
static const struct route_def none_route = { HTTP_DELETE, "/x", 0, BODY_NONE, h, NULL, NULL };
static const struct route_def upload_route = { HTTP_POST, "/u", 0, BODY_STREAM, h, NULL,
					       "text/csv,application/x-ndjson" };

START_TEST(body_limits)
{
	const uint64_t max = 1024;

	ck_assert_int_eq(http_body_precheck(&json_route, false, 0, NULL, max), 0);
	ck_assert_int_eq(http_body_precheck(&json_route, true, 1024, "application/json", max), 0);
	ck_assert_int_eq(http_body_precheck(&json_route, true, 1025, "application/json", max), 413);
	/* the size is judged before the media type: no reason to look further */
	ck_assert_int_eq(http_body_precheck(&json_route, true, 1025, "text/plain", max), 413);
	/* chunked: unknown length, counted per chunk later */
	ck_assert_int_eq(http_body_precheck(&json_route, true, UINT64_MAX, "application/json", max), 0);
	/* a body on a route that takes none is read and ignored, within the limit */
	ck_assert_int_eq(http_body_precheck(&none_route, true, 10, NULL, max), 0);
	ck_assert_int_eq(http_body_precheck(&none_route, true, 4096, NULL, max), 413);
	/* streaming routes bound themselves */
	ck_assert_int_eq(http_body_precheck(&upload_route, true, 1u << 30, "text/csv", max), 0);
}
END_TEST

START_TEST(media_types)
{
	static const struct { const struct route_def *r; const char *ct; bool ok; } v[] = {
		{ &json_route, "application/json", true },
		{ &json_route, "application/json; charset=utf-8", true },
		{ &json_route, "Application/JSON", true },
		{ &json_route, "  application/json ;charset=UTF-8", true },
		{ &json_route, "application/jsonx", false },
		{ &json_route, "application/x-www-form-urlencoded", false },
		{ &json_route, "text/plain", false },
		{ &json_route, NULL, false },
		{ &json_route, "", false },
		{ &upload_route, "text/csv; charset=windows-1252", true },
		{ &upload_route, "application/x-ndjson", true },
		{ &upload_route, "application/json", false },
		{ &upload_route, "text/csvx", false },
	};
	for (size_t i = 0; i < A51_ARRAY_LEN(v); i++)
		ck_assert_msg(http_media_accepted(v[i].r, v[i].ct) == v[i].ok, "case %zu (%s)", i,
			      v[i].ct ? v[i].ct : "NULL");
	ck_assert_int_eq(http_body_precheck(&json_route, true, 10, "text/plain", 1024), 415);
	ck_assert_int_eq(http_body_precheck(&upload_route, true, 10, "application/json", 1024), 415);
}
END_TEST

START_TEST(problem_document_shape)
{
	json_t *errors = json_pack("[{s:s,s:s}]", "field", "rpps", "reason", "bad key");
	json_t *j = problem_json(422, "validation", "rpps is invalid", "abc-1", errors,
				 json_pack("{s:i,s:s}", "limit", 7, "type", "ignored"));

	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "/problems/validation");
	ck_assert_str_eq(json_string_value(json_object_get(j, "title")), "Validation failed");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 422);
	ck_assert_str_eq(json_string_value(json_object_get(j, "detail")), "rpps is invalid");
	ck_assert_str_eq(json_string_value(json_object_get(j, "instance")), "urn:a51:request:abc-1");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "limit")), 7);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "field")),
			 "rpps");
	json_decref(j);
}
END_TEST

START_TEST(problem_detail_cut_inside_utf8)
{
	/* "é" is two bytes: cut after its first byte the text is not UTF-8. */
	char cut[] = "valeur \xc3";
	json_t *j = problem_json(400, "bad-request", cut, "r", NULL, NULL);

	ck_assert_str_eq(json_string_value(json_object_get(j, "detail")), "valeur ");
	json_decref(j);
	j = problem_json(400, "bad-request", "\xff\xfe\xfd\xfc\xfb", "r", NULL, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(j, "detail")), "(detail is not valid UTF-8)");
	json_decref(j);
}
END_TEST

START_TEST(unknown_problem_type_is_internal)
{
	json_t *j = problem_json(500, "no-such-slug", "x", "r", NULL, NULL);

	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "/problems/internal");
	json_decref(j);
}
END_TEST

START_TEST(catalogue_is_consistent)
{
	size_t n;
	const struct problem_type *c = problem_catalogue(&n);

	ck_assert_uint_gt(n, 10);
	for (size_t i = 0; i < n; i++) {
		ck_assert(c[i].status >= 400 && c[i].status <= 599);
		ck_assert_ptr_eq(problem_lookup(c[i].slug), &c[i]);
		ck_assert_uint_gt(strlen(c[i].description), 10);
		for (size_t k = i + 1; k < n; k++)
			ck_assert_str_ne(c[i].slug, c[k].slug);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("http");
	TCase *t = tcase_create("http");

	tcase_add_test(t, body_limits);
	tcase_add_test(t, media_types);
	tcase_add_test(t, problem_document_shape);
	tcase_add_test(t, problem_detail_cut_inside_utf8);
	tcase_add_test(t, unknown_problem_type_is_internal);
	tcase_add_test(t, catalogue_is_consistent);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
