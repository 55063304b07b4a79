/* domain/eds: triggers, window boundaries (day -60/-61 before, day 90/91
 * after), each exclusion (home, emergency, death, palliative care, the
 * 365-day look-back at 365 and 366 days, total colectomy), transfers chained
 * into the index stay, complications and planned sessions, overlapping
 * episodes, and the reconciliation in both directions with the safeguards
 * binding and not. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "a51/dates.h"
#include "a51/eds.h"
#include "a51/util.h"
#include "common/check_main.h"

static struct eds_params params(void)
{
	struct eds_params p;

	memset(&p, 0, sizeof(p));
	p.window_before = 60;
	p.window_after = 90;
	p.lookback = 365;
	p.transfer_gap = 1;
	snprintf(p.root_pth, sizeof(p.root_pth), "08C48");
	snprintf(p.root_ptg, sizeof(p.root_ptg), "08C24");
	snprintf(p.root_colectomy, sizeof(p.root_colectomy), "06C04");
	snprintf(p.colectomy_diagnoses[0], 8, "C18");
	p.n_colectomy_diagnoses = 1;
	snprintf(p.palliative_diagnoses[0], 8, "Z515");
	p.n_palliative_diagnoses = 1;
	snprintf(p.total_colectomy_acts[0], 8, "HHFA011");
	p.n_total_colectomy_acts = 1;
	snprintf(p.planned_ghm_prefixes[0], 8, "28Z");
	p.n_planned_ghm_prefixes = 1;
	p.gain_share = 0.5;
	p.loss_share = 0.5;
	p.stop_gain = 0.1;
	p.stop_loss = 0.1;
	p.two_sided_from = 2021;
	snprintf(p.rounding, sizeof(p.rounding), "half_up");
	return p;
}

#define D0 (date_from_ymd(2024, 6, 1))
#define FINESS "690000001"

static struct eds_stay stay(const char *field, int32_t in, int32_t out, const char *ghm, char entry, char prov,
			    char exit, const char *diag, const char *proc, int64_t cents)
{
	struct eds_stay s;

	memset(&s, 0, sizeof(s));
	snprintf(s.field, sizeof(s.field), "%s", field);
	s.admission = in;
	s.discharge = out;
	snprintf(s.ghm, sizeof(s.ghm), "%s", ghm ? ghm : "");
	snprintf(s.main_diag, sizeof(s.main_diag), "%s", diag ? diag : "");
	snprintf(s.procedure, sizeof(s.procedure), "%s", proc ? proc : "");
	snprintf(s.finess, sizeof(s.finess), FINESS);
	s.entry_mode = entry;
	s.provenance = prov;
	s.exit_mode = exit;
	s.cents = cents;
	return s;
}

static struct eds_claim claim(int32_t day, const char *act, int64_t cents)
{
	struct eds_claim c = { .day = day, .cents = cents };

	snprintf(c.act, sizeof(c.act), "%s", act);
	return c;
}

static size_t build(const struct eds_params *p, int option, const struct eds_stay *s, size_t ns,
		    const struct eds_claim *c, size_t nc, struct eds_episode *e, struct eds_assignment *sa,
		    struct eds_assignment *ca)
{
	return eds_build(p, option, FINESS, date_from_ymd(2024, 1, 1), date_from_ymd(2024, 12, 31), INT32_MAX, s, ns, c,
			 nc, e, 8, sa, ca);
}

START_TEST(windows_and_segments)
{
	struct eds_params p = params();
	struct eds_stay s[] = { stay("MCO", D0, D0 + 5, "08C481", '8', 0, '8', "M161", "NEKA020", 800000) };
	struct eds_claim c[] = {
		claim(D0 - 61, "CS", 1), claim(D0 - 60, "CS", 10), claim(D0 - 1, "BIO", 100), claim(D0 + 2, "CS", 1000),
		claim(D0 + 5 + 90, "AMK", 10000), claim(D0 + 5 + 91, "AMK", 100000),
	};
	struct eds_episode e[8];
	struct eds_assignment sa[1], ca[6];

	ck_assert_uint_eq(build(&p, EDS_PTH, s, 1, c, 6, e, sa, ca), 1);
	ck_assert_uint_eq(e[0].excluded, 0);
	ck_assert_int_eq(ca[0].episode, -1);                   /* day -61: out */
	ck_assert_int_eq(ca[1].segment, EDS_PRE);              /* day -60: in */
	ck_assert_int_eq(ca[3].segment, EDS_INDEX);            /* during the stay */
	ck_assert_int_eq(ca[4].segment, EDS_POST);             /* day 90 after discharge: in */
	ck_assert_int_eq(ca[5].episode, -1);                   /* day 91: out */
	ck_assert_int_eq(e[0].cents[EDS_PRE], 110);
	ck_assert_int_eq(e[0].cents[EDS_INDEX], 801000);
	ck_assert_int_eq(e[0].cents[EDS_POST], 10000);
	ck_assert(e[0].pre_biology);
	ck_assert_int_eq(e[0].mco_days, 5);
	/* another option, another establishment, another year: no episode */
	ck_assert_uint_eq(build(&p, EDS_PTG, s, 1, c, 6, e, sa, ca), 0);
	ck_assert_uint_eq(eds_build(&p, EDS_PTH, "750000001", date_from_ymd(2024, 1, 1), date_from_ymd(2024, 12, 31),
				    INT32_MAX, s, 1, c, 6, e, 8, sa, ca), 0);
	ck_assert_uint_eq(eds_build(&p, EDS_PTH, FINESS, date_from_ymd(2025, 1, 1), date_from_ymd(2025, 12, 31),
				    INT32_MAX, s, 1, c, 6, e, 8, sa, ca), 0);
	/* a death 30 days after discharge closes the window there */
	ck_assert_uint_eq(eds_build(&p, EDS_PTH, FINESS, date_from_ymd(2024, 1, 1), date_from_ymd(2024, 12, 31),
				    D0 + 35, s, 1, c, 6, e, 8, sa, ca), 1);
	ck_assert(e[0].died_in_window);
	ck_assert_int_eq(e[0].window_to, D0 + 35);
	ck_assert_int_eq(ca[4].episode, -1);
	ck_assert_uint_eq(e[0].excluded, 0);
}
END_TEST

START_TEST(each_exclusion)
{
	static const struct {
		char entry, prov, exit;
		const char *diag, *proc;
		int option;
		unsigned want;
	} v[] = {
		{ '8', 0, '8', "M161", "NEKA020", EDS_PTH, 0 },
		{ '7', '1', '8', "M161", "NEKA020", EDS_PTH, EDS_X_NOT_FROM_HOME },
		{ '8', '5', '8', "M161", "NEKA020", EDS_PTH, EDS_X_EMERGENCY },
		{ '8', 0, '9', "M161", "NEKA020", EDS_PTH, EDS_X_DEATH },
		{ '8', 0, '8', "Z515", "NEKA020", EDS_PTH, EDS_X_PALLIATIVE },
		{ '8', 0, '8', "C187", "HHFA011", EDS_COLECTOMY, EDS_X_TOTAL_COLECTOMY },
		{ '8', 0, '8', "C187", "HHFA002", EDS_COLECTOMY, 0 },
	};
	struct eds_params p = params();

	for (size_t i = 0; i < A51_ARRAY_LEN(v); i++) {
		const char *ghm = v[i].option == EDS_COLECTOMY ? "06C042" : "08C481";
		struct eds_stay s = stay("MCO", D0, D0 + 5, ghm, v[i].entry, v[i].prov, v[i].exit, v[i].diag, v[i].proc, 1);
		struct eds_episode e[8];
		struct eds_assignment sa[1], ca[1];
		ck_assert_uint_eq(build(&p, v[i].option, &s, 1, NULL, 0, e, sa, ca), 1);
		ck_assert_msg(e[0].excluded == v[i].want, "case %zu: %u", i, e[0].excluded);
	}
	/* a colectomy needs a colon-cancer diagnosis */
	{
		struct eds_stay s = stay("MCO", D0, D0 + 5, "06C042", '8', 0, '8', "K573", "HHFA002", 1);
		struct eds_episode e[8];
		struct eds_assignment sa[1], ca[1];
		ck_assert_uint_eq(build(&p, EDS_COLECTOMY, &s, 1, NULL, 0, e, sa, ca), 0);
	}
	{
		char names[128];
		eds_exclusion_names(EDS_X_EMERGENCY | EDS_X_DEATH, names, sizeof(names));
		ck_assert_str_eq(names, "emergency,death");
	}
}
END_TEST

/* A similar intervention 365 days before excludes; 366 days before does not. */
START_TEST(lookback_boundary)
{
	struct eds_params p = params();

	for (int back = 365; back <= 366; back++) {
		struct eds_stay s[] = { stay("MCO", D0 - back, D0 - back + 5, "08C481", '8', 0, '8', "M161", "", 1),
					stay("MCO", D0, D0 + 5, "08C481", '8', 0, '8', "M161", "", 1) };
		struct eds_episode e[8];
		struct eds_assignment sa[2], ca[1];
		size_t n = build(&p, EDS_PTH, s, 2, NULL, 0, e, sa, ca);
		ck_assert_uint_eq(n, 1); /* the earlier one was in 2023 */
		ck_assert_uint_eq(e[0].excluded, back == 365 ? EDS_X_PRIOR_INTERVENTION : 0u);
	}
}
END_TEST

/* A transfer to another MCO stay the next day is part of the index stay; a
 * transfer to rehabilitation (SSR) is after the stay. */
START_TEST(transfers)
{
	struct eds_params p = params();
	struct eds_stay s[] = {
		stay("MCO", D0, D0 + 5, "08C481", '8', 0, '7', "M161", "", 100),
		stay("MCO", D0 + 6, D0 + 9, "08M142", '7', '1', '7', "T845", "", 10),
		stay("SSR", D0 + 9, D0 + 30, "", '7', '1', '8', "", "", 1000),
	};
	struct eds_episode e[8];
	struct eds_assignment sa[3], ca[1];

	ck_assert_uint_eq(build(&p, EDS_PTH, s, 3, NULL, 0, e, sa, ca), 1);
	ck_assert_uint_eq(e[0].chain_last, 1);
	ck_assert_int_eq(e[0].discharge, D0 + 9);
	ck_assert_int_eq(e[0].window_to, D0 + 9 + 90);
	ck_assert_int_eq(sa[1].segment, EDS_INDEX);
	ck_assert_int_eq(sa[2].segment, EDS_POST);
	ck_assert_int_eq(e[0].cents[EDS_INDEX], 110);
	ck_assert_int_eq(e[0].cents[EDS_POST], 1000);
	ck_assert_int_eq(e[0].complications, 0);
	ck_assert_int_eq(e[0].mco_days, 8);
}
END_TEST

/* A re-admission is a complication; planned chemotherapy sessions are
 * post-operative care, and give the delay to chemotherapy. */
START_TEST(complications_and_planned_sessions)
{
	struct eds_params p = params();
	struct eds_stay s[] = {
		stay("MCO", D0, D0 + 10, "06C042", '8', 0, '8', "C187", "HHFA002", 1300000),
		stay("MCO", D0 + 30, D0 + 35, "06M031", '8', '5', '8', "K913", "", 500000),
		stay("MCO", D0 + 45, D0 + 45, "28Z07Z", '8', 0, '8', "Z511", "", 50000),
		stay("MCO", D0 + 59, D0 + 59, "28Z07Z", '8', 0, '8', "Z511", "", 50000),
	};
	struct eds_episode e[8];
	struct eds_assignment sa[4], ca[1];

	ck_assert_uint_eq(build(&p, EDS_COLECTOMY, s, 4, NULL, 0, e, sa, ca), 1);
	ck_assert_int_eq(sa[1].segment, EDS_COMPLICATION);
	ck_assert_int_eq(sa[2].segment, EDS_POST);
	ck_assert_int_eq(e[0].complications, 1);
	ck_assert_int_eq(e[0].cents[EDS_COMPLICATION], 500000);
	ck_assert_int_eq(e[0].cents[EDS_POST], 100000);
	ck_assert_int_eq(e[0].chemo_delay, 45);
	ck_assert_int_eq(e[0].mco_days, 15);
}
END_TEST

/* A hip, then a knee 40 days later: the knee's items go to the knee, the
 * visit between the two stays to the hip, which was admitted before it. */
START_TEST(overlapping_episodes)
{
	struct eds_params p = params();
	struct eds_stay hip = stay("MCO", D0, D0 + 5, "08C481", '8', 0, '8', "M161", "", 1);
	struct eds_stay knee = stay("MCO", D0 + 40, D0 + 45, "08C241", '8', 0, '8', "M171", "", 2);
	struct eds_claim c[] = { claim(D0 + 20, "CS", 10), claim(D0 + 50, "AMK", 20) };
	struct eds_episode e[8];
	struct eds_assignment sa[2], ca[2];
	struct eds_stay both[2] = { hip, knee };
	size_t n;

	n = build(&p, EDS_PTH, both, 2, c, 2, e, sa, ca);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ca[0].episode, 0); /* the hip alone: both claims in its window */
	ck_assert_int_eq(ca[1].episode, 0);
	n = build(&p, EDS_PTG, both, 2, c, 2, e, sa, ca);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ca[0].segment, EDS_PRE); /* for the knee, the visit comes before */
	ck_assert_int_eq(ca[1].segment, EDS_POST);
}
END_TEST

START_TEST(reconciliation_both_ways)
{
	struct eds_params p = params();
	struct eds_reconciliation r;
	struct a51_error err = { 0 };
	const double target[2] = { 500000, 500000 };
	const int64_t cheap[2] = { 450000, 450000 }, dear[2] = { 600000, 700000 }, dearer[2] = { 900000, 900000 };

	/* phase 1: a report, nothing paid */
	ck_assert_int_eq(eds_reconcile(&p, EDS_NO_IMPACT, 2024, target, cheap, 2, 1, &r, &err), 0);
	ck_assert_int_eq(r.gap_cents, 100000);
	ck_assert_int_eq(r.total_cents, 0);
	/* retrospective: the gain is shared, a loss is not paid back */
	ck_assert_int_eq(eds_reconcile(&p, EDS_RETROSPECTIVE, 2024, target, cheap, 2, 1, &r, &err), 0);
	ck_assert_int_eq(r.shared_cents, 50000);
	ck_assert_int_eq(r.total_cents, 50000);
	ck_assert_int_eq(eds_reconcile(&p, EDS_RETROSPECTIVE, 2024, target, dear, 2, 1, &r, &err), 0);
	ck_assert_int_eq(r.total_cents, 0);
	/* two-sided: the loss is shared too, within the stop-loss */
	ck_assert_int_eq(eds_reconcile(&p, EDS_TWO_SIDED, 2024, target, dear, 2, 1, &r, &err), 0);
	ck_assert(r.two_sided);
	ck_assert_int_eq(r.shared_cents, -150000);
	ck_assert_int_eq(r.bounded_cents, -100000); /* stop-loss: 10 % of 1 000 000 */
	ck_assert_int_eq(r.total_cents, -100000);
	ck_assert_int_eq(eds_reconcile(&p, EDS_TWO_SIDED, 2024, target, cheap, 2, 1, &r, &err), 0);
	ck_assert_int_eq(r.bounded_cents, 50000); /* the stop-gain (100 000) does not bind */
	p.stop_gain = 0.02;
	ck_assert_int_eq(eds_reconcile(&p, EDS_TWO_SIDED, 2024, target, cheap, 2, 1, &r, &err), 0);
	ck_assert_int_eq(r.bounded_cents, 20000); /* now it does */
	/* before the two-sided year, a two-sided phase reconciles one way only */
	p.two_sided_from = 2025;
	ck_assert_int_eq(eds_reconcile(&p, EDS_TWO_SIDED, 2024, target, dearer, 2, 1, &r, &err), 0);
	ck_assert(!r.two_sided);
	ck_assert_int_eq(r.total_cents, 0);
	/* the quality envelope: a share of the target at a full score */
	p.quality_envelope = 0.02;
	ck_assert_int_eq(eds_reconcile(&p, EDS_RETROSPECTIVE, 2024, target, dearer, 2, 0.5, &r, &err), 0);
	ck_assert_int_eq(r.quality_cents, 10000);
	ck_assert_int_eq(r.total_cents, 10000);
	ck_assert_int_eq(eds_reconcile(&p, 9, 2024, target, cheap, 2, 1, &r, &err), A51_EINVAL);
}
END_TEST

/* Each listed indicator at least as good as the reference scores 1 (lower
 * is better but for pre-operative screening); missing ones are not scored;
 * none scored gives 0. */
START_TEST(quality_score)
{
	struct eds_params p = params();
	struct eds_indicators est = { .value = { 0.05, 6.0, 0.4, 0 }, .have = { true, true, true, false } };
	struct eds_indicators ref = { .value = { 0.06, 5.0, 0.4, 40 }, .have = { true, true, true, true } };
	int scored[EDS__INDICATORS];

	ck_assert(eds_quality_score(&p, &est, &ref, scored) == 0); /* nothing listed */
	ck_assert_int_eq(scored[EDS_IND_COMPL], -1);
	for (int i = 0; i < EDS__INDICATORS; i++)
		snprintf(p.quality_indicators[i], 8, "%s", eds_indicator_name(i));
	p.n_quality_indicators = EDS__INDICATORS;
	ck_assert(fabs(eds_quality_score(&p, &est, &ref, scored) - 2.0 / 3) < 1e-12);
	ck_assert_int_eq(scored[EDS_IND_COMPL], 1); /* fewer complications */
	ck_assert_int_eq(scored[EDS_IND_LOS], 0);   /* longer stays */
	ck_assert_int_eq(scored[EDS_IND_PREOP], 1); /* as much screening: at least as good */
	ck_assert_int_eq(scored[EDS_IND_CHEMO], -1);
	est.value[EDS_IND_PREOP] = 0.39;
	ck_assert(fabs(eds_quality_score(&p, &est, &ref, scored) - 1.0 / 3) < 1e-12);
	ck_assert_int_eq(eds_indicator_parse("LOS"), EDS_IND_LOS);
	ck_assert_int_eq(eds_indicator_parse("los"), -1);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("eds");
	TCase *t = tcase_create("eds");

	tcase_add_test(t, windows_and_segments);
	tcase_add_test(t, each_exclusion);
	tcase_add_test(t, lookback_boundary);
	tcase_add_test(t, transfers);
	tcase_add_test(t, complications_and_planned_sessions);
	tcase_add_test(t, overlapping_episodes);
	tcase_add_test(t, reconciliation_both_ways);
	tcase_add_test(t, quality_score);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
