/* domain/indicators: the catalogue and experience definitions validated
 * fault by fault and read back; the Wilson interval against published
 * values; deciles against R's quantile(type = 7); the experience scale. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "a51/indicators.h"
#include "a51/util.h"
#include "common/check_main.h"

static const char catalogue[] =
	"[{\"code\": \"DIAB\", \"label\": \"Diabète\", \"theme\": \"diabetes\", \"direction\": \"increasing\","
	"  \"a_la_carte\": true, \"care_gap\": true,"
	"  \"population\": {\"base\": \"patientele\", \"age_min\": 18, \"age_max\": 99, \"ald\": [8], \"c2s\": null},"
	"  \"measure\": {\"kind\": \"acts\", \"codes\": [\"BIO\"], \"min\": 3}},"
	" {\"code\": \"POLY\", \"label\": \"Polymédication\", \"theme\": \"prescriptions\", \"direction\": \"decreasing\","
	"  \"a_la_carte\": false, \"population\": {\"base\": \"patientele\", \"age_min\": 75, \"c2s\": true},"
	"  \"measure\": {\"kind\": \"acts_quarters\", \"codes\": [\"PHA\"], \"min\": 3, \"quarters\": 4}},"
	" {\"code\": \"MT\", \"label\": \"MT\", \"theme\": \"access\", \"direction\": \"increasing\", \"a_la_carte\": false,"
	"  \"population\": {\"base\": \"linked\"}, \"measure\": {\"kind\": \"mt_declared\"}}]";

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	ck_assert_msg(j != NULL, "%s", e.text);
	return j;
}

/* The faults of a catalogue with one change at a path of item 0. */
static json_t *faults_with(const char *member, json_t *value)
{
	json_t *c = parse(catalogue), *errors = json_array(), *d = json_array_get(c, 0);
	char path[64], *dot;

	snprintf(path, sizeof(path), "%s", member);
	if ((dot = strchr(path, '.'))) {
		*dot = '\0';
		d = json_object_get(d, path);
		member = dot + 1;
	}
	if (value)
		json_object_set_new(d, member, value);
	else
		json_object_del(d, member);
	ind_catalogue_check(errors, "c", c);
	json_decref(c);
	return errors;
}

static void expect_fault(const char *member, json_t *value, const char *field, const char *reason_part)
{
	json_t *errors = faults_with(member, value);
	char *s = json_dumps(errors, JSON_COMPACT);

	ck_assert_msg(json_array_size(errors) == 1, "%s: %s", member, s);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(errors, 0), "field")), field);
	ck_assert_msg(strstr(json_string_value(json_object_get(json_array_get(errors, 0), "reason")), reason_part),
		      "%s: %s", member, s);
	free(s);
	json_decref(errors);
}

START_TEST(catalogue_valid_and_read)
{
	json_t *c = parse(catalogue), *errors = json_array();
	struct ind_catalogue cat;
	struct a51_error err = { 0 };

	ck_assert_uint_eq(ind_catalogue_check(errors, "c", c), 0);
	ck_assert_int_eq(ind_catalogue_read(c, &cat, &err), 0);
	ck_assert_int_eq(cat.n, 3);
	ck_assert_str_eq(cat.d[0].code, "DIAB");
	ck_assert(cat.d[0].care_gap && cat.d[0].a_la_carte && !cat.d[0].decreasing);
	ck_assert_int_eq(cat.d[0].measure, IND_ACTS);
	ck_assert_int_eq(cat.d[0].n_ald, 1);
	ck_assert_int_eq(cat.d[0].ald[0], 8);
	ck_assert_int_eq(cat.d[0].c2s, -1);
	ck_assert_int_eq(cat.d[0].age_min, 18);
	ck_assert_int_eq(cat.d[0].min, 3);
	ck_assert_int_eq(cat.d[1].measure, IND_ACTS_QUARTERS);
	ck_assert_int_eq(cat.d[1].quarters, 4);
	ck_assert_int_eq(cat.d[1].c2s, 1);
	ck_assert_int_eq(cat.d[1].age_max, 120);
	ck_assert_int_eq(cat.d[2].base, IND_BASE_LINKED);
	ck_assert_ptr_eq(ind_find(&cat, "POLY"), &cat.d[1]);
	ck_assert_ptr_null(ind_find(&cat, "NOPE"));
	json_decref(c);
	json_decref(errors);
}
END_TEST

START_TEST(catalogue_faults_name_the_member)
{
	expect_fault("code", json_string("bad code!"), "c[0].code", "letters");
	expect_fault("theme", json_string("money"), "c[0].theme", "access");
	expect_fault("direction", json_string("up"), "c[0].direction", "increasing or decreasing");
	expect_fault("a_la_carte", json_string("yes"), "c[0].a_la_carte", "true or false");
	expect_fault("colour", json_string("red"), "c[0].colour", "Unknown member");
	expect_fault("population.base", json_string("everyone"), "c[0].population.base", "patientele or linked");
	expect_fault("population.age_max", json_integer(10), "c[0].population.age_max", "below age_min");
	expect_fault("population.ald", json_pack("[i]", 33), "c[0].population.ald[0]", "1 to 32");
	expect_fault("population.c2s", json_string("yes"), "c[0].population.c2s", "true, false or null");
	expect_fault("measure.kind", json_string("magic"), "c[0].measure.kind", "mt_declared");
	expect_fault("measure.min", NULL, "c[0].measure.min", "Required");
	expect_fault("measure.codes", json_array(), "c[0].measure.codes", "1 to 16");
	expect_fault("measure.quarters", json_integer(2), "c[0].measure.quarters", "Only an acts_quarters");
}
END_TEST

START_TEST(catalogue_duplicate_and_care_gap)
{
	json_t *c = parse(catalogue), *errors = json_array();
	char *s;

	/* a decreasing indicator has no care gap; a code is unique */
	json_object_set_new(json_array_get(c, 1), "care_gap", json_true());
	json_object_set_new(json_array_get(c, 2), "code", json_string("DIAB"));
	ck_assert_uint_eq(ind_catalogue_check(errors, "c", c), 2);
	s = json_dumps(errors, JSON_COMPACT);
	ck_assert_msg(strstr(s, "\"c[1].care_gap\"") && strstr(s, "Only an increasing acts"), "%s", s);
	ck_assert_msg(strstr(s, "\"c[2].code\"") && strstr(s, "Indicator 0 has the same code"), "%s", s);
	free(s);
	json_decref(errors);
	errors = json_array();
	ck_assert_uint_eq(ind_catalogue_check(errors, "c", json_array_get(c, 0)), 1);
	ck_assert_uint_eq(ind_catalogue_check(errors, "c", NULL), 1);
	json_decref(c);
	json_decref(errors);
}
END_TEST

START_TEST(experience_checked_and_read)
{
	json_t *e = parse("{\"questionnaire\": \"IPEP-EXP\", \"scale\": [1, 4], \"min_respondents\": 10,"
			  " \"dimensions\": [{\"code\": \"A\", \"label\": \"Accès\", \"items\": [1, 2, 3]},"
			  " {\"code\": \"B\", \"label\": \"Coordination\", \"items\": [4]}]}"),
	       *errors = json_array();
	struct ind_experience x;
	struct a51_error err = { 0 };
	char *s;

	ck_assert_uint_eq(ind_experience_check(errors, "e", e), 0);
	ck_assert_int_eq(ind_experience_read(e, &x, &err), 0);
	ck_assert_str_eq(x.questionnaire, "IPEP-EXP");
	ck_assert_int_eq(x.n_dims, 2);
	ck_assert_int_eq(x.dims[0].n_items, 3);
	ck_assert_int_eq(x.dims[1].items[0], 4);
	ck_assert_int_eq(x.scale_max, 4);
	json_object_set_new(e, "scale", json_pack("[i,i]", 4, 1));
	json_object_set_new(json_array_get(json_object_get(e, "dimensions"), 1), "items", json_array());
	ck_assert_uint_eq(ind_experience_check(errors, "e", e), 2);
	s = json_dumps(errors, JSON_COMPACT);
	ck_assert_msg(strstr(s, "\"e.scale\"") && strstr(s, "\"e.dimensions[1].items\""), "%s", s);
	free(s);
	ck_assert_int_eq(ind_experience_read(e, &x, &err), A51_EINVAL);
	json_decref(e);
	json_decref(errors);
}
END_TEST

/* Wilson 95 % intervals as published (Newcombe 1998, table I): 81/263 ->
 * 0.2553-0.3662; 15/148 -> 0.0624-0.1605; 0/20 -> 0-0.1611. */
START_TEST(wilson_interval)
{
	double lo, hi;

	ind_wilson(81, 263, 1.959963984540054, &lo, &hi);
	ck_assert_double_eq_tol(lo, 0.2553, 5e-5);
	ck_assert_double_eq_tol(hi, 0.3662, 5e-5);
	ind_wilson(15, 148, 1.959963984540054, &lo, &hi);
	ck_assert_double_eq_tol(lo, 0.0624, 5e-5);
	ck_assert_double_eq_tol(hi, 0.1605, 5e-5);
	ind_wilson(0, 20, 1.959963984540054, &lo, &hi);
	ck_assert_double_eq_tol(lo, 0, 1e-12);
	ck_assert_double_eq_tol(hi, 0.1611, 5e-5);
	ind_wilson(0, 0, 1.96, &lo, &hi);
	ck_assert(lo == 0 && hi == 1);
}
END_TEST

/* R: quantile(c(0.5, 0.1, 0.9, 0.3, 0.7, 0.2), probs = 1:9/10) =
 * 0.15 0.20 0.25 0.30 0.40 0.50 0.60 0.70 0.80 */
START_TEST(deciles_type7)
{
	double v[] = { 0.5, 0.1, 0.9, 0.3, 0.7, 0.2 }, d[9], one[] = { 0.42 };
	static const double want[9] = { 0.15, 0.20, 0.25, 0.30, 0.40, 0.50, 0.60, 0.70, 0.80 };

	ck_assert(ind_deciles(v, A51_ARRAY_LEN(v), d));
	for (int k = 0; k < 9; k++)
		ck_assert_double_eq_tol(d[k], want[k], 1e-12);
	ck_assert(ind_deciles(one, 1, d));
	for (int k = 0; k < 9; k++)
		ck_assert_double_eq(d[k], 0.42);
	ck_assert(!ind_deciles(v, 0, d));
}
END_TEST

START_TEST(scale_score)
{
	ck_assert_double_eq(ind_scale_score(1, 1, 4), 0);
	ck_assert_double_eq(ind_scale_score(4, 1, 4), 100);
	ck_assert_double_eq_tol(ind_scale_score(3.25, 1, 4), 75, 1e-12);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("indicators");
	TCase *t = tcase_create("domain");

	tcase_add_test(t, catalogue_valid_and_read);
	tcase_add_test(t, catalogue_faults_name_the_member);
	tcase_add_test(t, catalogue_duplicate_and_care_gap);
	tcase_add_test(t, experience_checked_and_read);
	tcase_add_test(t, wilson_interval);
	tcase_add_test(t, deciles_type7);
	tcase_add_test(t, scale_score);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
