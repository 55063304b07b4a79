/* domain/riskmodel and core/money: definitions parsed, validated and read back
 * as stored; design columns and rows; predictions and their explanation by
 * term adding up to the cent; rounding rules and largest-remainder shares. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "a51/money.h"
#include "a51/riskmodel.h"
#include "a51/util.h"
#include "common/check_main.h"

static json_t *parse_ok(const char *text, struct rm_def *d)
{
	json_error_t je;
	json_t *body = json_loads(text, 0, &je), *errors = json_array();
	size_t n;

	ck_assert_ptr_nonnull(body);
	n = rm_def_parse(body, d, errors);
	ck_assert_msg(n == 0, "%s", json_dumps(errors, JSON_COMPACT));
	json_decref(errors);
	return body;
}

START_TEST(definition_defaults_and_round_trip)
{
	struct rm_def d, again;
	json_t *body = parse_ok("{\"name\":\"m\",\"year\":2024,\"target\":\"peps_perimeter\",\"terms\":[\"age_sex\",\"c2s\"],"
				"\"method\":\"wls\"}", &d), *stored, *errors = json_array(), *stored2;
	char *a, *b;

	ck_assert_int_eq(d.target, RT_PEPS_PERIMETER);
	ck_assert_int_gt(d.nacts, 0); /* the GP acts by default */
	ck_assert(d.exposure_weights);  /* wls weighs by exposure */
	ck_assert(!d.include_stays);
	ck_assert_int_eq(d.nald[0], 1);
	ck_assert_int_eq(d.ald_groups[0][0], 8);
	/* the stored form parses back to the same definition */
	stored = rm_def_json(&d);
	ck_assert_int_eq(rm_def_parse(stored, &again, errors), 0);
	stored2 = rm_def_json(&again);
	a = json_dumps(stored, JSON_COMPACT | JSON_SORT_KEYS);
	b = json_dumps(stored2, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	json_decref(stored);
	json_decref(stored2);
	json_decref(errors);
	json_decref(body);
	/* town_all: every act, read back as "all" */
	body = parse_ok("{\"name\":\"t\",\"year\":2024,\"target\":\"all_care\",\"terms\":[\"age_sex\"],\"method\":\"ols\","
			"\"truncation\":{\"type\":\"winsorize\",\"low\":0.01,\"high\":0.99}}", &d);
	ck_assert_int_eq(d.nacts, 0);
	ck_assert(d.include_stays);
	stored = rm_def_json(&d);
	errors = json_array();
	ck_assert_int_eq(rm_def_parse(stored, &again, errors), 0);
	ck_assert_int_eq(again.truncation, TRUNC_WINSORIZE);
	ck_assert(again.wins_low == 0.01 && again.wins_high == 0.99);
	json_decref(stored);
	json_decref(errors);
	json_decref(body);
}
END_TEST

START_TEST(definition_faults_are_all_named)
{
	static const struct {
		const char *body, *field;
	} v[] = {
		{ "{}", "name" },
		{ "{\"name\":\"\"}", "name" },
		{ "{\"year\":2017}", "year" },
		{ "{\"year\":\"2024\"}", "year" },
		{ "{\"region\":\"8\"}", "region" },
		{ "{\"target\":\"hospital\"}", "target" },
		{ "{\"acts\":[]}", "acts" },
		{ "{\"acts\":[\"TOOLONGACT\"]}", "acts" },
		{ "{\"terms\":[]}", "terms" },
		{ "{\"terms\":[\"income\"]}", "terms" },
		{ "{\"terms\":[\"c2s\"],\"interactions\":[[\"c2s\",\"c2s\"]]}", "interactions" },
		{ "{\"terms\":[\"c2s\"],\"interactions\":[[\"c2s\",\"ame\"]]}", "interactions" },
		{ "{\"method\":\"lasso\"}", "method" },
		{ "{\"method\":\"wls\",\"exposure_weights\":false}", "exposure_weights" },
		{ "{\"exposure_weights\":1}", "exposure_weights" },
		{ "{\"truncation\":{\"type\":\"percentile\",\"p\":0.4}}", "truncation.p" },
		{ "{\"truncation\":{\"type\":\"winsorize\",\"low\":0.6,\"high\":0.99}}", "truncation" },
		{ "{\"truncation\":{\"type\":\"cap\"}}", "truncation.type" },
		{ "{\"ald_groups\":{\"ald_kidney\":[19]}}", "ald_groups" },
		{ "{\"ald_groups\":{\"ald_diabetes\":[33]}}", "ald_groups" },
		{ "{\"colour\":\"blue\"}", "colour" },
		{ "{\"include_stays\":true,\"target\":\"town_all\"}", "include_stays" },
	};
	for (size_t i = 0; i < A51_ARRAY_LEN(v); i++) {
		json_error_t je;
		json_t *body = json_loads(v[i].body, 0, &je), *errors = json_array(), *e;
		struct rm_def d;
		size_t k;
		bool found = false;
		ck_assert_ptr_nonnull(body);
		ck_assert_int_gt(rm_def_parse(body, &d, errors), 0);
		json_array_foreach(errors, k, e)
			found |= strcmp(json_string_value(json_object_get(e, "field")), v[i].field) == 0;
		ck_assert_msg(found, "%s: no fault on %s in %s", v[i].body, v[i].field, json_dumps(errors, JSON_COMPACT));
		json_decref(errors);
		json_decref(body);
	}
}
END_TEST

START_TEST(design_columns_and_rows)
{
	struct rm_def d;
	struct rm_design des;
	struct a51_error err = { 0 };
	json_t *body = parse_ok("{\"name\":\"m\",\"year\":2024,\"target\":\"town_all\",\"terms\":[\"age_sex\",\"ald_groups\","
				"\"c2s\",\"ame\",\"n_chronic\"],\"interactions\":[[\"ald_groups\",\"c2s\"]],\"method\":\"ols\"}", &d);
	struct rm_patient pt = { .id = 1, .cell = rm_cell(2, 80), .ald = (1u << 0) | (1u << 1), .c2s = true,
				 .exposure = 1 };
	double x[RM_MAX_COLUMNS], sum = 0;

	ck_assert_int_eq(rm_design_init(&d, &des, &err), 0);
	/* intercept, 19 cells (M_25_34 is the reference), 7 ALD groups, c2s, ame, 3 counts, 7 interactions */
	ck_assert_uint_eq(des.p, 1 + 19 + 7 + 1 + 1 + 3 + 7);
	ck_assert_str_eq(des.names[0], "intercept");
	ck_assert_str_eq(des.names[1], "M_0_4");
	ck_assert_str_eq(des.names[4], "M_35_44");
	ck_assert_str_eq(des.names[des.p - 7], "ald_diabetes:c2s");
	ck_assert_str_eq(rm_cell_names[pt.cell], "F_75_84");
	rm_design_row(&d, &des, &pt, x);
	for (size_t k = 0; k < des.p; k++)
		sum += x[k];
	/* intercept + cell + 2 ALD + c2s + n_chronic_2 + 2 interactions */
	ck_assert(sum == 8);
	ck_assert(x[0] == 1);
	pt.cell = 3; /* the reference cell has no column */
	pt.ald = 0;
	pt.c2s = false;
	rm_design_row(&d, &des, &pt, x);
	sum = 0;
	for (size_t k = 0; k < des.p; k++)
		sum += x[k];
	ck_assert(sum == 1);
	json_decref(body);
	ck_assert_int_eq(rm_cell(1, 0), 0);
	ck_assert_int_eq(rm_cell(1, 4), 0);
	ck_assert_int_eq(rm_cell(1, 5), 1);
	ck_assert_int_eq(rm_cell(2, 85), 19);
	ck_assert_int_eq(rm_cell(2, 120), 19);
}
END_TEST

/* Deprivation: quintile 1 is the reference, unknown has its own column. */
START_TEST(deprivation_columns)
{
	struct rm_def d;
	struct rm_design des;
	struct a51_error err = { 0 };
	json_t *body = parse_ok("{\"name\":\"m\",\"year\":2024,\"target\":\"town_all\",\"terms\":[\"age_sex\","
				"\"deprivation\"],\"method\":\"ols\"}", &d);
	struct rm_patient pt = { .cell = 3, .exposure = 1 };
	double x[RM_MAX_COLUMNS];

	ck_assert_int_eq(rm_design_init(&d, &des, &err), 0);
	ck_assert_uint_eq(des.p, 1 + 19 + 5);
	ck_assert_str_eq(des.names[20], "deprivation_q2");
	ck_assert_str_eq(des.names[23], "deprivation_q5");
	ck_assert_str_eq(des.names[24], "deprivation_unknown");
	for (int q = 0; q <= 5; q++) {
		double sum = 0;
		pt.depriv = q;
		rm_design_row(&d, &des, &pt, x);
		for (size_t k = 20; k < des.p; k++)
			sum += x[k];
		ck_assert(sum == (q == 1 ? 0 : 1)); /* one column at most; none for the reference quintile */
		if (q >= 2)
			ck_assert(x[20 + q - 2] == 1);
		if (q == 0)
			ck_assert(x[24] == 1);
	}
	json_decref(body);
}
END_TEST

/* Additive and multiplicative explanations sum to the prediction; dropped
 * (NaN) terms count for nothing. */
START_TEST(explanations_add_up)
{
	static const char *const methods[] = { "ols", "log_ols", "glm_gamma", "glm_poisson" };
	for (size_t m = 0; m < A51_ARRAY_LEN(methods); m++) {
		char text[256];
		struct rm_def d;
		struct rm_design des;
		struct a51_error err = { 0 };
		json_t *body;
		double coef[RM_MAX_COLUMNS], x[RM_MAX_COLUMNS], parts[RM_MAX_COLUMNS], expected, sum = 0;
		size_t cols[RM_MAX_COLUMNS], n;
		int64_t cents[RM_MAX_COLUMNS], total, tsum = 0;
		struct rm_patient pt = { .cell = 17, .ald = 1, .c2s = true, .exposure = 0.5 };

		snprintf(text, sizeof(text), "{\"name\":\"m\",\"year\":2024,\"target\":\"town_all\",\"terms\":[\"age_sex\","
					     "\"ald_groups\",\"c2s\"],\"method\":\"%s\"}", methods[m]);
		body = parse_ok(text, &d);
		ck_assert_int_eq(rm_design_init(&d, &des, &err), 0);
		for (size_t k = 0; k < des.p; k++)
			coef[k] = m == 0 ? 1000.0 * (double)k + 0.37 : 0.01 * (double)k + (k == 0 ? 5 : 0);
		coef[21] = NAN; /* ald_cardio dropped */
		rm_design_row(&d, &des, &pt, x);
		n = rm_explain(&d, &des, coef, x, 1.1, 0.9, &expected, cols, parts);
		ck_assert_uint_ge(n, 3);
		for (size_t k = 0; k < n; k++)
			sum += parts[k];
		ck_assert_msg(fabs(sum - expected) < 1e-9 * fabs(expected), "%s: %.12g vs %.12g", methods[m], sum, expected);
		ck_assert(fabs(expected - rm_model_predict(&d, coef, des.p, x, 1.1, 0.9)) < 1e-12 * fabs(expected));
		ck_assert(money_round(expected, MONEY_HALF_UP, &total));
		ck_assert(money_allocate(parts, n, total, cents));
		for (size_t k = 0; k < n; k++)
			tsum += cents[k];
		ck_assert_int_eq(tsum, total);
		json_decref(body);
	}
}
END_TEST

START_TEST(rounding_rules)
{
	static const struct {
		double v;
		int mode;
		int64_t want;
	} v[] = {
		{ 12.5, MONEY_HALF_UP, 13 },     { -12.5, MONEY_HALF_UP, -13 },  { 12.4999, MONEY_HALF_UP, 12 },
		{ 12.5, MONEY_HALF_EVEN, 12 },   { 13.5, MONEY_HALF_EVEN, 14 },  { -12.5, MONEY_HALF_EVEN, -12 },
		{ 12.51, MONEY_HALF_EVEN, 13 },  { 12.99, MONEY_DOWN, 12 },      { -12.99, MONEY_DOWN, -12 },
		{ 0.0, MONEY_HALF_UP, 0 },       { 1e15 + 0.5, MONEY_HALF_UP, 1000000000000001LL },
	};
	int64_t out;

	for (size_t i = 0; i < A51_ARRAY_LEN(v); i++) {
		ck_assert(money_round(v[i].v, v[i].mode, &out));
		ck_assert_msg(out == v[i].want, "%.4f %s: %lld", v[i].v, money_rounding_name(v[i].mode), (long long)out);
	}
	ck_assert(!money_round(NAN, MONEY_HALF_UP, &out));
	ck_assert(!money_round(INFINITY, MONEY_HALF_UP, &out));
	ck_assert(!money_round(1e19, MONEY_HALF_UP, &out));
	ck_assert_int_eq(money_rounding_parse("half_even"), MONEY_HALF_EVEN);
	ck_assert_int_eq(money_rounding_parse("HALF_UP"), -1);
}
END_TEST

START_TEST(largest_remainder_shares)
{
	const double thirds[] = { 33.333, 33.333, 33.334 };
	const double neg[] = { 10.6, -3.25, 2.7 };
	int64_t out[3];

	ck_assert(money_allocate(thirds, 3, 100, out));
	ck_assert_int_eq(out[0] + out[1] + out[2], 100);
	ck_assert_int_eq(out[0], 33);
	ck_assert_int_eq(out[1], 33);
	ck_assert_int_eq(out[2], 34);
	ck_assert(money_allocate(neg, 3, 10, out)); /* floors 10 -4 2 = 8: a cent each to .75 and .7 */
	ck_assert_int_eq(out[0], 10);
	ck_assert_int_eq(out[1], -3);
	ck_assert_int_eq(out[2], 3);
	ck_assert(money_allocate(neg, 3, 7, out)); /* a cent less than the floors: the smallest fraction gives it */
	ck_assert_int_eq(out[0], 9);
	ck_assert_int_eq(out[1], -4);
	ck_assert_int_eq(out[2], 2);
	{
		const double bad[] = { 1, NAN };
		ck_assert(!money_allocate(bad, 2, 1, out));
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("riskmodel");
	TCase *t = tcase_create("riskmodel");

	tcase_add_test(t, definition_defaults_and_round_trip);
	tcase_add_test(t, definition_faults_are_all_named);
	tcase_add_test(t, design_columns_and_rows);
	tcase_add_test(t, deprivation_columns);
	tcase_add_test(t, explanations_add_up);
	tcase_add_test(t, rounding_rules);
	tcase_add_test(t, largest_remainder_shares);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
