/* domain/ipep: the three illustrative cases of domain.md §3.5.3, each gap
 * floored on its own, the patientèle floor, every phase, the quality scoring
 * of an indicator (target, between objective and target, evolution, no data,
 * decreasing), the questionnaire missing, the modulation ramp, credits,
 * lines adding up to the total, and the claims covering both years. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/ipep.h"
#include "a51/util.h"
#include "common/check_main.h"

static struct ipep_params params(void)
{
	struct ipep_params p;

	memset(&p, 0, sizeof(p));
	p.c_ecart = 1.0 / 3;
	p.c_evolution = 2.0 / 3;
	p.c_partage = 0.5;
	p.target_decile = 8;
	p.target_decile_decreasing = 2;
	p.intermediate_decile = 3;
	p.intermediate_decile_decreasing = 7;
	p.indicator_points = 10;
	p.evolution_share = 0.5;
	p.experience_max_points = 20;
	p.modulation_floor = 0;
	p.modulation_full = 1;
	snprintf(p.rounding, sizeof(p.rounding), "half_up");
	return p;
}

/* n identical patients with the given spending (cents), exposed all year. */
static struct ipep_patient *patients(size_t n, double e0, double e1, double o0, double o1)
{
	struct ipep_patient *pts = calloc(n, sizeof(*pts));

	for (size_t i = 0; i < n; i++)
		pts[i] = (struct ipep_patient){ .id = (int64_t)i + 1, .expected = { e0, e1 }, .observed = { o0, o1 },
						.exposure = { 1, 1 } };
	return pts;
}

static struct ipep_quality full_quality(void)
{
	struct ipep_quality q = { .points = 1, .max_points = 1, .share = 1, .modulation = 1 };

	return q;
}

static int64_t sum(const int64_t *v, size_t n)
{
	int64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s;
}

/* domain.md §3.5.3 with N = 8 000: A (E +40, V -15) 53 333.33 EUR; B (E +40,
 * V +30) 133 333.33 EUR; C (E -25, V +30) 80 000.00 EUR. */
START_TEST(the_three_illustrative_cases)
{
	static const struct {
		double e0, e1, o0, o1;
		int64_t want;
	} cases[] = {
		{ 100000, 104000, 94500, 100000, 5333333 },   /* A: E = 4000, V = -1500 */
		{ 100000, 104000, 99000, 100000, 13333333 },  /* B: E = 4000, V = 3000 */
		{ 100000, 97500, 105500, 100000, 8000000 },   /* C: E = -2500, V = 3000 */
	};
	struct ipep_params p = params();
	struct ipep_quality q = full_quality();
	int64_t *lines = calloc(8000, sizeof(*lines));
	struct a51_error err = { 0 };

	for (size_t k = 0; k < A51_ARRAY_LEN(cases); k++) {
		struct ipep_patient *pts = patients(8000, cases[k].e0, cases[k].e1, cases[k].o0, cases[k].o1);
		struct ipep_result r;
		ck_assert_int_eq(ipep_compute(&p, IPEP_PHASE2, 5000, pts, 8000, &q, &r, lines, &err), 0);
		ck_assert_msg(r.gains_cents == cases[k].want, "case %zu: %lld", k, (long long)r.gains_cents);
		ck_assert_int_eq(r.total_cents, cases[k].want);
		ck_assert_int_eq(sum(lines, 8000), cases[k].want);
		ck_assert(r.eligible);
		free(pts);
	}
	free(lines);
}
END_TEST

/* Each gap is floored on its own; both negative pay nothing, never less. */
START_TEST(floors_apply_to_each_gap)
{
	struct ipep_params p = params();
	struct ipep_quality q = full_quality();
	struct ipep_patient *pts = patients(6000, 100000, 99000, 95000, 101000); /* E -2000, V -7000 */
	int64_t *lines = calloc(6000, sizeof(*lines));
	struct ipep_result r;
	struct a51_error err = { 0 };

	ck_assert_int_eq(ipep_compute(&p, IPEP_PHASE3, 5000, pts, 6000, &q, &r, lines, &err), 0);
	ck_assert(r.level_gap_pp < 0 && r.evolution_gap_pp < 0);
	ck_assert(r.level_floored_pp == 0 && r.evolution_floored_pp == 0);
	ck_assert_int_eq(r.gains_cents, 0);
	ck_assert_int_eq(r.total_cents, 0);
	ck_assert_int_eq(sum(lines, 6000), 0);
	free(pts);
	free(lines);
}
END_TEST

/* "More than 5 000": 5 000 patients are not enough, 5 001 are. */
START_TEST(patientele_floor)
{
	struct ipep_params p = params();
	struct ipep_quality q = full_quality();
	struct ipep_patient *pts = patients(5001, 100000, 104000, 99000, 100000);
	int64_t *lines = calloc(5001, sizeof(*lines));
	struct ipep_result r;
	struct a51_error err = { 0 };

	ck_assert_int_eq(ipep_compute(&p, IPEP_PHASE2, 5000, pts, 5000, &q, &r, lines, &err), 0);
	ck_assert(!r.eligible);
	ck_assert_int_gt(r.gains_cents, 0); /* computed and shown */
	ck_assert_int_eq(r.total_cents, 0); /* but not paid */
	ck_assert_int_eq(ipep_compute(&p, IPEP_PHASE2, 5000, pts, 5001, &q, &r, lines, &err), 0);
	ck_assert(r.eligible);
	ck_assert_int_eq(r.total_cents, r.gains_cents);
	ck_assert_int_eq(sum(lines, 5001), r.total_cents);
	free(pts);
	free(lines);
}
END_TEST

/* Phase 1 pays the credits (per groupement and per patient), not the gains;
 * phase 3 modulates the gains by the score. */
START_TEST(phases_and_credits)
{
	struct ipep_params p = params();
	struct ipep_quality q = { .points = 45, .max_points = 90, .share = 0.5, .modulation = 0.5 };
	struct ipep_patient *pts = patients(6000, 100000, 104000, 99000, 100000); /* B: 1666.67 per patient */
	int64_t *lines = calloc(6000, sizeof(*lines));
	struct ipep_result r;
	struct a51_error err = { 0 };

	p.credits_per_groupement_cents = 5000000;
	p.credits_per_patient_cents = 100;
	ck_assert_int_eq(ipep_compute(&p, IPEP_PHASE1, 5000, pts, 6000, &q, &r, lines, &err), 0);
	ck_assert_int_eq(r.modulated_cents, 0);
	ck_assert_int_eq(r.credits_cents, 5000000 + 600000);
	ck_assert_int_eq(r.total_cents, 5600000);
	ck_assert_int_eq(sum(lines, 6000), 5600000);
	ck_assert_int_eq(ipep_compute(&p, IPEP_PHASE2, 5000, pts, 6000, &q, &r, lines, &err), 0);
	ck_assert_int_eq(r.gains_cents, 10000000);
	ck_assert_int_eq(r.credits_cents, 0);
	ck_assert_int_eq(r.total_cents, 10000000);
	ck_assert_int_eq(ipep_compute(&p, IPEP_PHASE3, 5000, pts, 6000, &q, &r, lines, &err), 0);
	ck_assert_int_eq(r.total_cents, 5000000);
	ck_assert_int_eq(ipep_compute(&p, 4, 5000, pts, 6000, &q, &r, lines, &err), A51_EINVAL);
	free(pts);
	free(lines);
}
END_TEST

/* Partial years count as patient-years; a year with nobody has no evolution. */
START_TEST(exposure_weighted_means)
{
	struct ipep_params p = params();
	struct ipep_quality q = full_quality();
	struct ipep_patient pts[2] = {
		{ .id = 1, .expected = { 100000, 100000 }, .observed = { 50000, 50000 }, .exposure = { 0.5, 0.5 } },
		{ .id = 2, .expected = { 0, 200000 }, .observed = { 0, 150000 }, .exposure = { 0, 1 } },
	};
	int64_t lines[2];
	struct ipep_result r;
	struct a51_error err = { 0 };

	ck_assert_int_eq(ipep_compute(&p, IPEP_PHASE2, 0, pts, 2, &q, &r, lines, &err), 0);
	ck_assert(fabs(r.exposure[1] - 1.5) < 1e-12);
	/* expected N: (100000 x 0.5 + 200000 x 1) / 1.5; observed N: (50000 + 150000) / 1.5 */
	ck_assert(fabs(r.expected_pp[1] - 250000.0 / 1.5) < 1e-6);
	ck_assert(fabs(r.observed_pp[1] - 200000.0 / 1.5) < 1e-6);
	ck_assert(fabs(r.observed_pp[0] - 100000) < 1e-6);
	ck_assert_int_eq(lines[0] + lines[1], r.total_cents);
}
END_TEST

static struct ipep_indicator indicator(const char *code, bool decreasing, double value, double previous)
{
	struct ipep_indicator k;

	memset(&k, 0, sizeof(k));
	snprintf(k.code, sizeof(k.code), "%s", code);
	k.decreasing = decreasing;
	k.value = value;
	k.previous = previous;
	for (int d = 0; d < 9; d++)
		k.deciles[d] = 10.0 * (d + 1); /* 10, 20, ... 90 */
	return k;
}

START_TEST(indicator_scoring)
{
	struct ipep_params p = params();
	struct ipep_indicator ind[] = {
		indicator("reached", false, 85, 70),      /* >= target 80 */
		indicator("between", false, 55, 50),      /* objective 30, target 80: (55-30)/50 */
		indicator("evolution", false, 25, 15),    /* below 30: half the points x (25-15)/(30-15) */
		indicator("worse", false, 10, 20),        /* below and worse: nothing */
		indicator("first", false, 10, NAN),       /* below, no previous year */
		indicator("missing", false, NAN, 50),
		indicator("fewer", true, 15, 40),         /* decreasing: target 20 (2nd decile) reached */
		indicator("fewer_between", true, 45, 60), /* objective 70 (7th), target 20: (70-45)/50 */
	};
	struct ipep_indicator_score s[A51_ARRAY_LEN(ind)];
	struct ipep_quality q;

	ipep_score(&p, ind, A51_ARRAY_LEN(ind), 12, s, &q);
	ck_assert(s[0].points == 10);
	ck_assert_str_eq(s[0].how, "target reached");
	ck_assert(fabs(s[1].points - 5) < 1e-12);
	ck_assert(fabs(s[2].points - 10 * 0.5 * 10.0 / 15) < 1e-12);
	ck_assert_str_eq(s[2].how, "evolution");
	ck_assert(s[3].points == 0);
	ck_assert(s[4].points == 0);
	ck_assert(s[5].points == 0);
	ck_assert_str_eq(s[5].how, "no data");
	ck_assert(s[6].points == 10);
	ck_assert(s[6].target == 20 && s[6].intermediate == 70);
	ck_assert(fabs(s[7].points - 5) < 1e-12);
	ck_assert(q.experience_points == 12 && !q.experience_missing);
	ck_assert(q.max_points == 10 * 8 + 20);
	ck_assert(fabs(q.points - (10 + 5 + 10.0 / 3 + 10 + 5 + 12)) < 1e-12);
	ck_assert(fabs(q.share - q.points / 100) < 1e-12);
	ck_assert(fabs(q.modulation - q.share) < 1e-12); /* the default ramp is the share itself */
	/* the questionnaire: capped at its maximum, or missing (no points, said so) */
	ipep_score(&p, ind, 1, 35, s, &q);
	ck_assert(q.experience_points == 20);
	ipep_score(&p, ind, 1, -1, s, &q);
	ck_assert(q.experience_missing);
	ck_assert(q.experience_points == 0);
	ck_assert(q.points == 10);
}
END_TEST

START_TEST(modulation_ramp)
{
	struct ipep_params p = params();
	struct ipep_indicator k = indicator("between", false, 55, 50);
	struct ipep_indicator_score s;
	struct ipep_quality q;

	p.experience_max_points = 0;
	p.modulation_floor = 0.4;
	p.modulation_full = 0.8;
	ipep_score(&p, &k, 1, -1, &s, &q); /* share 0.5: a quarter of the way from 0.4 to 0.8 */
	ck_assert(fabs(q.share - 0.5) < 1e-12);
	ck_assert(fabs(q.modulation - 0.25) < 1e-12);
	p.modulation_floor = 0.6;
	ipep_score(&p, &k, 1, -1, &s, &q);
	ck_assert(q.modulation == 0);
	p.modulation_floor = 0.2;
	p.modulation_full = 0.5;
	ipep_score(&p, &k, 1, -1, &s, &q);
	ck_assert(q.modulation == 1);
}
END_TEST

/* The claims must run from 1 January N-1 to 31 December N, both days
 * included; a day short at either end, or no claims, is refused on "year". */
START_TEST(data_cover_both_years)
{
	static const struct { const char *first, *last; bool ok; } cases[] = {
		{ "2023-01-01", "2024-12-31", true },
		{ "2019-06-30", "2025-02-05", true },
		{ "2023-01-02", "2024-12-31", false }, /* N-1 begun without its first day */
		{ "2023-01-01", "2024-12-30", false }, /* N not reached to its last day */
		{ "2024-01-01", "2024-12-31", false }, /* no N-1 at all */
		{ "2023-01-01", "2023-12-31", false }, /* no N at all */
		{ "", "", false },                     /* no claims */
		{ NULL, NULL, false },
	};

	for (size_t k = 0; k < A51_ARRAY_LEN(cases); k++) {
		struct a51_error err = { 0 };
		int rc = ipep_data_check(25, 2024, cases[k].first, cases[k].last, &err);
		ck_assert_msg((rc == 0) == cases[k].ok, "case %zu: %d %s", k, rc, err.message);
		if (!cases[k].ok) {
			ck_assert_int_eq(rc, A51_EINVAL);
			ck_assert_str_eq(err.field, "year");
			ck_assert_ptr_nonnull(strstr(err.message, "2023-01-01 to 2024-12-31"));
		}
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ipep");
	TCase *t = tcase_create("ipep");

	tcase_add_test(t, the_three_illustrative_cases);
	tcase_add_test(t, floors_apply_to_each_gap);
	tcase_add_test(t, patientele_floor);
	tcase_add_test(t, phases_and_credits);
	tcase_add_test(t, exposure_weighted_means);
	tcase_add_test(t, indicator_scoring);
	tcase_add_test(t, modulation_ramp);
	tcase_add_test(t, data_cover_both_years);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
