/* domain/peps: the worked example of domain.md §2.5.3bis, each phase, the cap
 * binding and not, no prior fee-for-service, fidelisation by team and by
 * patient, partial years (a patient who leaves, dies, arrives), extreme-
 * activity quarters, quality, due dates, rounding that would lose a cent,
 * and distribution keys. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/peps.h"
#include "a51/util.h"
#include "common/check_main.h"

static struct peps_params params(void)
{
	struct peps_params p;

	memset(&p, 0, sizeof(p));
	snprintf(p.risk_model, sizeof(p.risk_model), "peps-gp");
	p.local_coefficient = 1.0;
	snprintf(p.fidelisation_level, sizeof(p.fidelisation_level), "team");
	p.fidelisation_without_care = 1.0;
	p.quality_bonus_rate = 0.05;
	p.quality_presumed_score = 1.0;
	p.cap_rate = 0.20;
	snprintf(p.cap_without_prior_ffs, sizeof(p.cap_without_prior_ffs), "no_cap");
	p.retrospective_bonus_share = 1.0;
	snprintf(p.rounding, sizeof(p.rounding), "half_up");
	p.instalment_due_days = 15;
	snprintf(p.adjustment_due, sizeof(p.adjustment_due), "03-31");
	return p;
}

/* A patient covered all year (2024: 91, 91, 92, 92 days). */
static struct peps_patient whole_year(int64_t id, double base)
{
	struct peps_patient pt = { .id = id, .base = base, .covered_at_start = 0xF };

	for (int q = 0; q < 4; q++)
		pt.covered_days[q] = peps_quarter_days(2024, q + 1);
	return pt;
}

static int64_t sum_lines(const struct peps_line *l, size_t n)
{
	int64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += l[i].amount;
	return s;
}

/* domain.md §2.5.3bis: 1 000 patients at 96 EUR, fidelisation 0.90, local
 * coefficient 1.05: 90 720 EUR before the cap; prior fee-for-service 70 000 EUR
 * caps it at 84 000 EUR, paid as 4 instalments of 21 000 EUR. */
START_TEST(worked_example)
{
	struct peps_params p = params();
	struct peps_run_spec spec = { .year = 2024, .phase = PEPS_PROSPECTIVE, .quality_score = 0 };
	struct peps_patient *pts = calloc(1000, sizeof(*pts));
	struct peps_line *lines = calloc(1000, sizeof(*lines));
	struct peps_result r;
	struct a51_error err = { 0 };

	p.local_coefficient = 1.05;
	for (int i = 0; i < 1000; i++) {
		pts[i] = whole_year(i + 1, 9600);
		pts[i].team_cents = 900;
		pts[i].all_cents = 1000;
		pts[i].prior_ffs_cents = 7000; /* 70 EUR each: 70 000 EUR */
	}
	ck_assert_int_eq(peps_compute(&p, &spec, pts, 1000, lines, &r, &err), 0);
	ck_assert(fabs(r.fidelisation - 0.90) < 1e-12);
	ck_assert(r.quality_factor == 1.0); /* score 0: no bonus */
	/* earned over 366 days of a leap year: exactly the annual rate */
	ck_assert_int_eq(r.earned_cents, 9072000);
	ck_assert(r.capped);
	ck_assert_int_eq(r.cap_cents, 8400000);
	ck_assert_int_eq(r.forfait_cents, 8400000);
	ck_assert_int_eq(r.cap_effect_cents, 672000);
	ck_assert_int_eq(r.nitems, 5);
	for (int q = 0; q < 4; q++) {
		ck_assert_int_eq(r.items[q].kind, PEPS_INSTALMENT);
		ck_assert_int_eq(r.items[q].quarter, q + 1);
		ck_assert_int_eq(r.items[q].cents, 2100000);
		ck_assert_int_eq(r.items[q].due_y, 2024);
		ck_assert_int_eq(r.items[q].due_m, 3 * q + 1);
		ck_assert_int_eq(r.items[q].due_d, 16);
	}
	ck_assert_int_eq(r.items[4].kind, PEPS_ADJUSTMENT);
	ck_assert_int_eq(r.items[4].cents, 0);
	ck_assert_int_eq(r.items[4].due_y, 2025);
	ck_assert_int_eq(r.items[4].due_m, 3);
	ck_assert_int_eq(r.items[4].due_d, 31);
	ck_assert_int_eq(r.total_cents, 8400000);
	ck_assert_int_eq(sum_lines(lines, 1000), 8400000);
	ck_assert_int_eq(lines[0].amount, 8400);
	free(pts);
	free(lines);
}
END_TEST

/* The same team below the cap: 96 000 x 0.9 x 1.05 x 1.05 (quality) is paid;
 * the adjustment settles what the instalments did not. */
START_TEST(cap_not_binding_and_quality)
{
	struct peps_params p = params();
	struct peps_run_spec spec = { .year = 2024, .phase = PEPS_PROSPECTIVE, .quality_score = -1 };
	struct peps_patient pts[4];
	struct peps_line lines[4];
	struct peps_result r;
	struct a51_error err = { 0 };

	p.local_coefficient = 1.05;
	for (int i = 0; i < 4; i++) {
		pts[i] = whole_year(i + 1, 9600);
		pts[i].team_cents = 90;
		pts[i].all_cents = 100;
		pts[i].prior_ffs_cents = 100000;
	}
	ck_assert_int_eq(peps_compute(&p, &spec, pts, 4, lines, &r, &err), 0);
	ck_assert(fabs(r.quality_factor - 1.05) < 1e-15); /* presumed score 1, bonus 5 % */
	/* 4 x 9600 x 0.9 x 1.05 x 1.05 = 38102.4 */
	ck_assert_int_eq(r.earned_cents, 38102);
	ck_assert_int_eq(r.forfait_cents, 38102);
	ck_assert_int_eq(r.cap_effect_cents, 0);
	{
		int64_t paid = 0;
		for (int k = 0; k < r.nitems; k++)
			paid += r.items[k].cents;
		ck_assert_int_eq(paid, r.total_cents); /* the schedule adds up to what the year pays */
	}
	ck_assert_int_eq(sum_lines(lines, 4), 38102);
}
END_TEST

/* No prior fee-for-service: no cap by default; a cap of zero when the
 * parameter set says so. */
START_TEST(zero_prior_ffs)
{
	struct peps_params p = params();
	struct peps_run_spec spec = { .year = 2025, .phase = PEPS_PROSPECTIVE, .quality_score = 0 };
	struct peps_patient pt = whole_year(1, 10000);
	struct peps_line line;
	struct peps_result r;
	struct a51_error err = { 0 };

	for (int q = 0; q < 4; q++)
		pt.covered_days[q] = peps_quarter_days(2025, q + 1);
	ck_assert_int_eq(peps_compute(&p, &spec, &pt, 1, &line, &r, &err), 0);
	ck_assert(!r.capped);
	ck_assert_int_eq(r.forfait_cents, 10000); /* no care at all: fidelisation without care = 1 */
	snprintf(p.cap_without_prior_ffs, sizeof(p.cap_without_prior_ffs), "zero");
	ck_assert_int_eq(peps_compute(&p, &spec, &pt, 1, &line, &r, &err), 0);
	ck_assert(r.capped);
	ck_assert_int_eq(r.forfait_cents, 0);
	ck_assert_int_eq(r.items[4].cents, 0);
}
END_TEST

/* A patient who leaves on 15 May (changes GP, dies) earns for the days covered;
 * the instalments counted them at the quarters' starts; the adjustment
 * takes back the difference. One who arrives on 1 August is in Q4's
 * instalment and earns from August. */
START_TEST(partial_years_and_adjustment)
{
	struct peps_params p = params();
	struct peps_run_spec spec = { .year = 2024, .phase = PEPS_PROSPECTIVE, .quality_score = 0 };
	struct peps_patient pts[2] = { { .id = 1, .base = 36600 }, { .id = 2, .base = 36600 } };
	struct peps_line lines[2];
	struct peps_result r;
	struct a51_error err = { 0 };

	/* leaves on 15 May: Q1 whole (91 days), Q2 1 April - 14 May (44 days) */
	pts[0].covered_days[0] = 91;
	pts[0].covered_days[1] = 44;
	pts[0].covered_at_start = 0x3;
	/* arrives 1 August: Q3 from August (31 + 30 = 61 days), Q4 whole */
	pts[1].covered_days[2] = 61;
	pts[1].covered_days[3] = 92;
	pts[1].covered_at_start = 0x8;
	ck_assert_int_eq(peps_compute(&p, &spec, pts, 2, lines, &r, &err), 0);
	/* 36 600 cents a year is 100 cents a day in 2024 */
	ck_assert(fabs(lines[0].earned - 13500) < 1e-6);
	ck_assert(fabs(lines[1].earned - 15300) < 1e-6);
	ck_assert_int_eq(r.items[0].cents, 9150); /* patient 1 at Q1's start */
	ck_assert_int_eq(r.items[1].cents, 9150); /* and at Q2's */
	ck_assert_int_eq(r.items[2].cents, 0);    /* nobody on 1 July */
	ck_assert_int_eq(r.items[3].cents, 9150); /* patient 2 on 1 October */
	ck_assert_int_eq(r.items[4].cents, 28800 - 27450);
	ck_assert_int_eq(lines[0].amount + lines[1].amount, 28800);
	ck_assert_int_eq(lines[0].amount, 13500);
}
END_TEST

/* One quarter alone: its instalment, shared by the patients covered at its start. */
START_TEST(one_quarter_instalment)
{
	struct peps_params p = params();
	struct peps_run_spec spec = { .year = 2024, .phase = PEPS_PROSPECTIVE, .quarter = 3, .quality_score = 0 };
	struct peps_patient pts[3] = { whole_year(1, 1000), whole_year(2, 1000), whole_year(3, 1000) };
	struct peps_line lines[3];
	struct peps_result r;
	struct a51_error err = { 0 };

	pts[2].covered_at_start = 0x3; /* gone before July */
	ck_assert_int_eq(peps_compute(&p, &spec, pts, 3, lines, &r, &err), 0);
	ck_assert_int_eq(r.nitems, 1);
	ck_assert_int_eq(r.items[0].quarter, 3);
	ck_assert_int_eq(r.items[0].cents, 500);
	ck_assert_int_eq(r.items[0].due_m, 7);
	ck_assert_int_eq(r.total_cents, 500);
	ck_assert_int_eq(lines[0].amount, 250);
	ck_assert_int_eq(lines[2].amount, 0);
}
END_TEST

/* Simulation: nothing is paid; the forfait by quarter next to the
 * fee-for-service the team billed, adding up to the year's forfait. */
START_TEST(simulation_side_by_side)
{
	struct peps_params p = params();
	struct peps_run_spec spec = { .year = 2024, .phase = PEPS_SIMULATION, .quality_score = 0 };
	struct peps_patient pts[2] = { whole_year(1, 36600), whole_year(2, 36600) };
	struct peps_line lines[2];
	struct peps_result r;
	struct a51_error err = { 0 };

	for (int q = 0; q < 4; q++)
		pts[0].ffs_cents[q] = pts[1].ffs_cents[q] = 2500 * (q + 1);
	ck_assert_int_eq(peps_compute(&p, &spec, pts, 2, lines, &r, &err), 0);
	ck_assert_int_eq(r.nitems, 0);
	ck_assert_int_eq(r.total_cents, 0);
	ck_assert_int_eq(r.forfait_cents, 73200);
	ck_assert_int_eq(r.forfait_by_quarter[0], 18200); /* 91 days x 2 patients */
	ck_assert_int_eq(r.forfait_by_quarter[2], 18400);
	ck_assert_int_eq(r.forfait_by_quarter[0] + r.forfait_by_quarter[1] + r.forfait_by_quarter[2] +
				 r.forfait_by_quarter[3], 73200);
	ck_assert_int_eq(r.ffs_cents[3], 20000);
	ck_assert_int_eq(r.ffs_total_cents, 50000);
	ck_assert_int_eq(sum_lines(lines, 2), 73200);
}
END_TEST

/* Retrospective: a bonus where the forfait beats the fee-for-service, none otherwise. */
START_TEST(retrospective_bonus)
{
	struct peps_params p = params();
	struct peps_run_spec spec = { .year = 2024, .phase = PEPS_RETROSPECTIVE, .quality_score = 0 };
	struct peps_patient pt = whole_year(1, 36600);
	struct peps_line line;
	struct peps_result r;
	struct a51_error err = { 0 };

	pt.ffs_cents[0] = 10000;
	ck_assert_int_eq(peps_compute(&p, &spec, &pt, 1, &line, &r, &err), 0);
	ck_assert_int_eq(r.nitems, 1);
	ck_assert_int_eq(r.items[0].kind, PEPS_BONUS);
	ck_assert_int_eq(r.items[0].cents, 26600);
	ck_assert_int_eq(r.total_cents, 26600);
	p.retrospective_bonus_share = 0.5;
	ck_assert_int_eq(peps_compute(&p, &spec, &pt, 1, &line, &r, &err), 0);
	ck_assert_int_eq(r.items[0].cents, 13300);
	pt.ffs_cents[0] = 50000;
	ck_assert_int_eq(peps_compute(&p, &spec, &pt, 1, &line, &r, &err), 0);
	ck_assert_int_eq(r.items[0].cents, 0);
	ck_assert_int_eq(line.amount, 0);
	spec.quarter = 2;
	ck_assert_int_eq(peps_compute(&p, &spec, &pt, 1, &line, &r, &err), A51_EINVAL);
	ck_assert_str_eq(err.field, "quarter");
}
END_TEST

/* Fidelisation by patient: each patient's own share; without care, the parameter. */
START_TEST(fidelisation_by_patient)
{
	struct peps_params p = params();
	struct peps_run_spec spec = { .year = 2024, .phase = PEPS_SIMULATION, .quality_score = 0 };
	struct peps_patient pts[3] = { whole_year(1, 36600), whole_year(2, 36600), whole_year(3, 36600) };
	struct peps_line lines[3];
	struct peps_result r;
	struct a51_error err = { 0 };

	pts[0].team_cents = 50;
	pts[0].all_cents = 100;
	pts[1].team_cents = 100;
	pts[1].all_cents = 100;
	p.fidelisation_without_care = 0.8;
	ck_assert_int_eq(peps_compute(&p, &spec, pts, 3, lines, &r, &err), 0);
	ck_assert(fabs(lines[0].fidelisation - 0.75) < 1e-15); /* team: 150 of 200 */
	snprintf(p.fidelisation_level, sizeof(p.fidelisation_level), "patient");
	ck_assert_int_eq(peps_compute(&p, &spec, pts, 3, lines, &r, &err), 0);
	ck_assert(lines[0].fidelisation == 0.5);
	ck_assert(lines[1].fidelisation == 1.0);
	ck_assert(lines[2].fidelisation == 0.8);
	ck_assert_int_eq(r.forfait_cents, 18300 + 36600 + 29280);
}
END_TEST

/* An epidemic quarter pays more, for the days in it. */
START_TEST(extreme_activity_quarter)
{
	struct peps_params p = params();
	struct peps_run_spec spec = { .year = 2024, .phase = PEPS_PROSPECTIVE, .quality_score = 0 };
	struct peps_patient pt = whole_year(1, 36600);
	struct peps_line line;
	struct peps_result r;
	struct a51_error err = { 0 };

	snprintf(p.uplift_quarters[0], sizeof(p.uplift_quarters[0]), "2024Q1");
	snprintf(p.uplift_quarters[1], sizeof(p.uplift_quarters[1]), "2023Q4"); /* another year: nothing */
	p.n_uplift_quarters = 2;
	p.uplift_rate = 0.10;
	ck_assert_int_eq(peps_compute(&p, &spec, &pt, 1, &line, &r, &err), 0);
	ck_assert_int_eq(r.forfait_cents, 36600 + 910);
	ck_assert_int_eq(r.items[0].cents, 10065); /* 9150 x 1.1 */
	ck_assert_int_eq(r.items[1].cents, 9150);
}
END_TEST

/* Three patients at a third of a cent each way: lines add up to the total,
 * whatever the rounding rule, and half-even differs from half-up where it must. */
START_TEST(rounding_never_loses_a_cent)
{
	struct peps_params p = params();
	struct peps_run_spec spec = { .year = 2024, .phase = PEPS_SIMULATION, .quality_score = 0 };
	struct peps_patient pts[7];
	struct peps_line lines[7];
	struct peps_result r;
	struct a51_error err = { 0 };
	static const char *const modes[] = { "half_up", "half_even", "down" };

	for (int i = 0; i < 7; i++)
		pts[i] = whole_year(i + 1, 1000.0 / 3 + i * 0.1);
	for (size_t m = 0; m < A51_ARRAY_LEN(modes); m++) {
		snprintf(p.rounding, sizeof(p.rounding), "%s", modes[m]);
		ck_assert_int_eq(peps_compute(&p, &spec, pts, 7, lines, &r, &err), 0);
		ck_assert_int_eq(sum_lines(lines, 7), r.forfait_cents);
		ck_assert_int_eq(r.forfait_by_quarter[0] + r.forfait_by_quarter[1] + r.forfait_by_quarter[2] +
					 r.forfait_by_quarter[3], r.forfait_cents);
	}
	/* rounding down keeps the floor of the total, and the lines still add up */
	{
		struct peps_patient two[2] = { whole_year(1, 100.75), whole_year(2, 100.75) };
		snprintf(p.rounding, sizeof(p.rounding), "down");
		ck_assert_int_eq(peps_compute(&p, &spec, two, 2, lines, &r, &err), 0);
		ck_assert_int_eq(r.forfait_cents, 201);
		ck_assert_int_eq(lines[0].amount + lines[1].amount, 201);
		ck_assert_int_eq(lines[0].amount, 101); /* equal remainders: the first takes the cent */
	}
}
END_TEST

START_TEST(distribution_keys)
{
	const double equal[3] = { 1, 1, 1 }, fte[3] = { 1.0, 0.5, 0.8 }, none[2] = { 0, 0 };
	int64_t out[3];
	struct a51_error err = { 0 };

	ck_assert_int_eq(peps_split(100, equal, 3, out, &err), 0);
	ck_assert_int_eq(out[0] + out[1] + out[2], 100);
	ck_assert_int_eq(out[0], 34); /* the first of equal remainders takes the cent */
	ck_assert_int_eq(peps_split(8400000, fte, 3, out, &err), 0);
	ck_assert_int_eq(out[0] + out[1] + out[2], 8400000);
	ck_assert_int_eq(out[0], 3652174);
	ck_assert_int_eq(out[1], 1826087); /* two cents left: to .96 and .91 */
	ck_assert_int_eq(peps_split(100, none, 2, out, &err), A51_EINVAL);
	ck_assert_int_eq(peps_key_parse("fte"), PEPS_KEY_FTE);
	ck_assert_int_eq(peps_key_parse("FTE"), 0);
	ck_assert_str_eq(peps_phase_enrolment(PEPS_SIMULATION), "preparation");
	ck_assert_int_eq(peps_quarter_days(2024, 1), 91);
	ck_assert_int_eq(peps_quarter_days(2025, 1), 90);
	ck_assert_int_eq(peps_year_days(2024), 366);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("peps");
	TCase *t = tcase_create("peps");

	tcase_add_test(t, worked_example);
	tcase_add_test(t, cap_not_binding_and_quality);
	tcase_add_test(t, zero_prior_ffs);
	tcase_add_test(t, partial_years_and_adjustment);
	tcase_add_test(t, one_quarter_instalment);
	tcase_add_test(t, simulation_side_by_side);
	tcase_add_test(t, retrospective_bonus);
	tcase_add_test(t, fidelisation_by_patient);
	tcase_add_test(t, extreme_activity_quarter);
	tcase_add_test(t, rounding_never_loses_a_cent);
	tcase_add_test(t, distribution_keys);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
