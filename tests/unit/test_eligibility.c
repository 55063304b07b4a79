/* domain/eligibility: options, every criterion of PEPS, IPEP and EDS at, below and
 * above its threshold, unmet criteria all listed, and the report's JSON. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "a51/eligibility.h"
#include "a51/util.h"
#include "common/check_main.h"

#ifdef A51_SOURCE_ROOT
#define SEED_DIR A51_SOURCE_ROOT "/src/domain/params"
#else
#define SEED_DIR "../src/domain/params"
#endif

/* ---- options ---- */

START_TEST(options_table)
{
	static const struct {
		int exp;
		const char *s;
		int want;
	} v[] = {
		{ EXP_PEPS, "diabetic", OPT_DIABETIC }, { EXP_PEPS, "elderly", OPT_ELDERLY },
		{ EXP_PEPS, "whole", OPT_WHOLE },       { EXP_PEPS, "Whole", OPT_NONE },
		{ EXP_PEPS, "", OPT_NONE },             { EXP_PEPS, NULL, OPT_NONE },
		{ EXP_PEPS, "PTH", OPT_NONE },          { EXP_PEPS, "groupement", OPT_NONE },
		{ EXP_IPEP, NULL, OPT_GROUPEMENT },     { EXP_IPEP, "", OPT_GROUPEMENT },
		{ EXP_IPEP, "groupement", OPT_GROUPEMENT }, { EXP_IPEP, "whole", OPT_NONE },
		{ EXP_IPEP, "Groupement", OPT_NONE },   { EXP_EDS, "PTH", OPT_PTH },
		{ EXP_EDS, "PTG", OPT_PTG },            { EXP_EDS, "COLECTOMY", OPT_COLECTOMY },
		{ EXP_EDS, "pth", OPT_NONE },           { EXP_EDS, NULL, OPT_NONE },
		{ EXP_EDS, "", OPT_NONE },              { EXP_EDS, "elderly", OPT_NONE },
		{ EXP_NONE, "whole", OPT_NONE },        { EXP_NONE, NULL, OPT_NONE },
	};

	for (size_t i = 0; i < A51_ARRAY_LEN(v); i++)
		ck_assert_msg(option_parse(v[i].exp, v[i].s) == v[i].want, "%d \"%s\"", v[i].exp,
			      v[i].s ? v[i].s : "(null)");
}
END_TEST

START_TEST(option_names_round_trip)
{
	static const struct {
		int exp, opt;
		const char *name;
	} v[] = {
		{ EXP_PEPS, OPT_DIABETIC, "diabetic" }, { EXP_PEPS, OPT_ELDERLY, "elderly" },
		{ EXP_PEPS, OPT_WHOLE, "whole" },       { EXP_IPEP, OPT_GROUPEMENT, "groupement" },
		{ EXP_EDS, OPT_PTH, "PTH" },            { EXP_EDS, OPT_PTG, "PTG" },
		{ EXP_EDS, OPT_COLECTOMY, "COLECTOMY" },
	};

	for (size_t i = 0; i < A51_ARRAY_LEN(v); i++) {
		ck_assert_str_eq(option_name(v[i].opt), v[i].name);
		ck_assert_int_eq(option_parse(v[i].exp, option_name(v[i].opt)), v[i].opt);
	}
	ck_assert_ptr_null(option_name(OPT_NONE));
	ck_assert_ptr_null(option_name(OPT_COLECTOMY + 1));
}
END_TEST

/* ---- fixtures: the published thresholds, set by hand ---- */

static struct elig_params peps_params(void)
{
	struct elig_params p;

	memset(&p, 0, sizeof(p));
	p.experiment = EXP_PEPS;
	p.min_team_size = 5;
	snprintf(p.team_professions[0], sizeof(p.team_professions[0]), "MG");
	snprintf(p.team_professions[1], sizeof(p.team_professions[1]), "IDE");
	p.n_team_professions = 2;
	p.min_gp = 3;
	p.min_nurses = 1;
	snprintf(p.legal_forms[0], sizeof(p.legal_forms[0]), "SISA");
	p.n_legal_forms = 1;
	snprintf(p.kinds_any_legal_form[0], sizeof(p.kinds_any_legal_form[0]), "CDS");
	p.n_kinds_any_legal_form = 1;
	p.min_patients = 250;
	return p;
}

static struct elig_params ipep_params(void)
{
	struct elig_params p;

	memset(&p, 0, sizeof(p));
	p.experiment = EXP_IPEP;
	p.min_patients_exclusive = 5000;
	p.min_gp_with_patients = 1;
	return p;
}

static struct elig_params eds_params(bool require_finess)
{
	struct elig_params p;

	memset(&p, 0, sizeof(p));
	p.experiment = EXP_EDS;
	snprintf(p.kinds[0], sizeof(p.kinds[0]), "ES");
	p.n_kinds = 1;
	p.require_finess = require_finess;
	return p;
}

static struct elig_measures measures(const char *kind, const char *form, bool finess, int team, int gp, int nurses,
				     long patients, int gp_with_patients)
{
	struct elig_measures m;

	memset(&m, 0, sizeof(m));
	snprintf(m.kind, sizeof(m.kind), "%s", kind);
	snprintf(m.legal_form, sizeof(m.legal_form), "%s", form);
	m.has_finess = finess;
	m.n_team = team;
	m.n_gp = gp;
	m.n_nurses = nurses;
	m.covered_patients = patients;
	m.n_gp_with_patients = gp_with_patients;
	return m;
}

/* Fails the test when the report has no such criterion. */
static const struct elig_criterion *find(const struct elig_report *r, const char *code)
{
	for (int i = 0; i < r->n && i < ELIG_MAX_CRITERIA; i++)
		if (strcmp(r->c[i].code, code) == 0)
			return &r->c[i];
	ck_abort_msg("no criterion %s in the report", code);
	return &r->c[0]; /* not reached: ck_abort_msg does not return */
}

/* The report has exactly the codes given, in that order, and the ones in unmet
 * (comma-separated) are the only unmet ones. */
static void check_report(const char *name, const struct elig_report *r, const char *const *codes, size_t ncodes,
			 const char *unmet)
{
	ck_assert_msg(r->n == (int)ncodes, "%s: %d criteria, want %zu", name, r->n, ncodes);
	for (size_t i = 0; i < ncodes; i++) {
		char needle[40];
		bool want_unmet;

		ck_assert_msg(strcmp(r->c[i].code, codes[i]) == 0, "%s: criterion %zu is %s, want %s", name, i,
			      r->c[i].code, codes[i]);
		snprintf(needle, sizeof(needle), ",%s,", codes[i]);
		{
			char list[256];

			snprintf(list, sizeof(list), ",%s,", unmet);
			want_unmet = strstr(list, needle) != NULL;
		}
		ck_assert_msg(r->c[i].met == !want_unmet, "%s: %s met=%d (measured %ld, required %ld, %s)", name,
			      codes[i], r->c[i].met, r->c[i].measured, r->c[i].required, r->c[i].measured_text);
		ck_assert_msg(r->c[i].label[0] != '\0', "%s: %s has no label", name, codes[i]);
	}
	ck_assert_msg(r->eligible == (unmet[0] == '\0'), "%s: eligible=%d", name, r->eligible);
}

/* ---- PEPS ---- */

static const char *const peps_codes[] = {
	"peps.min_team_size", "peps.min_gp", "peps.min_nurses", "peps.legal_form", "peps.min_patients",
};

struct peps_case {
	const char *name;
	const char *kind, *form;
	int team, gp, nurses;
	long patients;
	const char *unmet;
};

static const struct peps_case peps_cases[] = {
	{ "every threshold just met", "MSP", "SISA", 5, 3, 1, 250, "" },
	{ "every threshold passed", "SISA", "SISA", 12, 6, 4, 5000, "" },
	{ "team one short", "MSP", "SISA", 4, 3, 1, 250, "peps.min_team_size" },
	{ "team one over", "MSP", "SISA", 6, 3, 1, 250, "" },
	{ "GPs one short", "MSP", "SISA", 5, 2, 1, 250, "peps.min_gp" },
	{ "GPs one over", "MSP", "SISA", 5, 4, 1, 250, "" },
	{ "no nurse", "MSP", "SISA", 5, 3, 0, 250, "peps.min_nurses" },
	{ "two nurses", "MSP", "SISA", 5, 3, 2, 250, "" },
	{ "patients one short", "MSP", "SISA", 5, 3, 1, 249, "peps.min_patients" },
	{ "patients one over", "MSP", "SISA", 5, 3, 1, 251, "" },
	{ "MSP as an association", "MSP", "ASSOCIATION", 5, 3, 1, 250, "peps.legal_form" },
	{ "CDS as an association", "CDS", "ASSOCIATION", 5, 3, 1, 250, "" },
	{ "CDS of any form", "CDS", "MUTUELLE", 5, 3, 1, 250, "" },
	{ "CDS with no form recorded", "CDS", "", 5, 3, 1, 250, "" },
	{ "no form recorded", "MSP", "", 5, 3, 1, 250, "peps.legal_form" },
	{ "form in other case", "MSP", "Sisa", 5, 3, 1, 250, "" },
	{ "form with a suffix", "MSP", "SISAS", 5, 3, 1, 250, "peps.legal_form" },
	{ "form as a prefix", "MSP", "SIS", 5, 3, 1, 250, "peps.legal_form" },
	{ "kind that is not CDS", "CPTS", "ASSOCIATION", 5, 3, 1, 250, "peps.legal_form" },
	{ "GPs and nurses short together", "MSP", "SISA", 5, 2, 0, 250, "peps.min_gp,peps.min_nurses" },
	{ "nothing met", "CPTS", "SARL", 0, 0, 0, 0,
	  "peps.min_team_size,peps.min_gp,peps.min_nurses,peps.legal_form,peps.min_patients" },
};

START_TEST(peps_table)
{
	const struct peps_case *c = &peps_cases[_i];
	struct elig_params p = peps_params();
	struct elig_measures m = measures(c->kind, c->form, false, c->team, c->gp, c->nurses, c->patients, 0);
	struct elig_report r;

	eligibility_evaluate(EXP_PEPS, OPT_WHOLE, &p, &m, &r);
	ck_assert_int_eq(r.experiment, EXP_PEPS);
	ck_assert_int_eq(r.option, OPT_WHOLE);
	check_report(c->name, &r, peps_codes, A51_ARRAY_LEN(peps_codes), c->unmet);
}
END_TEST

START_TEST(peps_numbers_and_ops)
{
	struct elig_params p = peps_params();
	struct elig_measures m = measures("MSP", "SISA", false, 7, 4, 2, 300, 0);
	struct elig_report r;
	static const struct {
		const char *code;
		long measured, required;
	} v[] = {
		{ "peps.min_team_size", 7, 5 },
		{ "peps.min_gp", 4, 3 },
		{ "peps.min_nurses", 2, 1 },
		{ "peps.min_patients", 300, 250 },
	};

	eligibility_evaluate(EXP_PEPS, OPT_DIABETIC, &p, &m, &r);
	for (size_t i = 0; i < A51_ARRAY_LEN(v); i++) {
		const struct elig_criterion *c = find(&r, v[i].code);

		ck_assert_ptr_nonnull(c);
		ck_assert_int_eq(c->kind, EV_NUMBER);
		ck_assert_int_eq(c->measured, v[i].measured);
		ck_assert_int_eq(c->required, v[i].required);
		ck_assert_str_eq(c->op, ">=");
	}
	ck_assert_str_eq(find(&r, "peps.legal_form")->op, "in");
	ck_assert_int_eq(find(&r, "peps.legal_form")->kind, EV_TEXT);
}
END_TEST

START_TEST(peps_legal_form_texts)
{
	static const struct {
		const char *kind, *form, *measured;
		bool met;
	} v[] = {
		{ "MSP", "SISA", "SISA", true },
		{ "CDS", "ASSOCIATION", "ASSOCIATION (kind CDS)", true },
		{ "CDS", "SISA", "SISA", true },
		{ "CDS", "", "none (kind CDS)", true },
		{ "MSP", "ASSOCIATION", "ASSOCIATION", false },
		{ "MSP", "", "none", false },
	};
	struct elig_params p = peps_params();

	for (size_t i = 0; i < A51_ARRAY_LEN(v); i++) {
		struct elig_measures m = measures(v[i].kind, v[i].form, false, 5, 3, 1, 250, 0);
		struct elig_report r;
		const struct elig_criterion *c;

		eligibility_evaluate(EXP_PEPS, OPT_WHOLE, &p, &m, &r);
		c = find(&r, "peps.legal_form");
		ck_assert_ptr_nonnull(c);
		ck_assert_str_eq(c->measured_text, v[i].measured);
		ck_assert_str_eq(c->required_text, "SISA, any form for kind CDS");
		ck_assert_int_eq(c->met, v[i].met);
		ck_assert_int_eq(r.eligible, v[i].met);
	}

	/* several forms and kinds, all listed */
	snprintf(p.legal_forms[1], sizeof(p.legal_forms[1]), "SCP");
	p.n_legal_forms = 2;
	snprintf(p.kinds_any_legal_form[1], sizeof(p.kinds_any_legal_form[1]), "ESP");
	p.n_kinds_any_legal_form = 2;
	{
		struct elig_measures m = measures("ESP", "SARL", false, 5, 3, 1, 250, 0);
		struct elig_report r;

		eligibility_evaluate(EXP_PEPS, OPT_WHOLE, &p, &m, &r);
		ck_assert_str_eq(find(&r, "peps.legal_form")->required_text,
				 "SISA, SCP, any form for kind CDS, any form for kind ESP");
		ck_assert_str_eq(find(&r, "peps.legal_form")->measured_text, "SARL (kind ESP)");
		ck_assert(r.eligible);
	}
}
END_TEST

START_TEST(peps_labels_name_what_is_counted)
{
	static const struct {
		int opt;
		const char *words;
	} v[] = {
		{ OPT_DIABETIC, "option diabetic" },
		{ OPT_ELDERLY, "option elderly" },
		{ OPT_WHOLE, "option whole" },
	};
	struct elig_params p = peps_params();
	struct elig_measures m = measures("MSP", "SISA", false, 5, 3, 1, 250, 0);

	for (size_t i = 0; i < A51_ARRAY_LEN(v); i++) {
		struct elig_report r;
		const char *label;

		eligibility_evaluate(EXP_PEPS, v[i].opt, &p, &m, &r);
		label = find(&r, "peps.min_patients")->label;
		ck_assert_msg(strstr(label, v[i].words) && strstr(label, "at least 250"), "%s", label);
		ck_assert_msg(strstr(find(&r, "peps.min_team_size")->label, "MG, IDE"), "%s",
			      find(&r, "peps.min_team_size")->label);
		ck_assert_msg(strstr(find(&r, "peps.min_team_size")->label, "at least 5"), "%s",
			      find(&r, "peps.min_team_size")->label);
		ck_assert(r.eligible);
	}
}
END_TEST

/* ---- IPEP ---- */

static const char *const ipep_codes[] = { "ipep.gp_present", "ipep.min_patients" };

struct ipep_case {
	const char *name;
	int gps;
	long patients;
	const char *unmet;
};

static const struct ipep_case ipep_cases[] = {
	{ "5000 patients is not more than 5000", 1, 5000, "ipep.min_patients" },
	{ "5001 patients", 1, 5001, "" },
	{ "4999 patients", 1, 4999, "ipep.min_patients" },
	{ "large groupement", 30, 550000, "" },
	{ "no GP with patients", 0, 6000, "ipep.gp_present" },
	{ "two GPs with patients", 2, 6000, "" },
	{ "nothing met", 0, 0, "ipep.gp_present,ipep.min_patients" },
};

START_TEST(ipep_table)
{
	const struct ipep_case *c = &ipep_cases[_i];
	struct elig_params p = ipep_params();
	struct elig_measures m = measures("CPTS", "ASSOCIATION", false, 0, 0, 0, c->patients, c->gps);
	struct elig_report r;

	eligibility_evaluate(EXP_IPEP, OPT_GROUPEMENT, &p, &m, &r);
	check_report(c->name, &r, ipep_codes, A51_ARRAY_LEN(ipep_codes), c->unmet);
	ck_assert_str_eq(find(&r, "ipep.min_patients")->op, ">");
	ck_assert_int_eq(find(&r, "ipep.min_patients")->required, 5000);
	ck_assert_int_eq(find(&r, "ipep.min_patients")->measured, c->patients);
	ck_assert_str_eq(find(&r, "ipep.gp_present")->op, ">=");
	ck_assert_int_eq(find(&r, "ipep.gp_present")->measured, c->gps);
}
END_TEST

/* ---- EDS ---- */

static const char *const eds_codes[] = { "eds.kind", "eds.finess" };

struct eds_case {
	const char *name;
	const char *kind;
	bool finess, require_finess;
	const char *unmet;
};

static const struct eds_case eds_cases[] = {
	{ "establishment with FINESS", "ES", true, true, "" },
	{ "establishment without FINESS", "ES", false, true, "eds.finess" },
	{ "FINESS not required", "ES", false, false, "" },
	{ "FINESS present, not required", "ES", true, false, "" },
	{ "a CDS is not an establishment", "CDS", true, true, "eds.kind" },
	{ "no kind", "", true, true, "eds.kind" },
	{ "nothing met", "MSP", false, true, "eds.kind,eds.finess" },
};

START_TEST(eds_table)
{
	const struct eds_case *c = &eds_cases[_i];
	struct elig_params p = eds_params(c->require_finess);
	struct elig_measures m = measures(c->kind, "EPS", c->finess, 0, 0, 0, 0, 0);
	struct elig_report r;
	const struct elig_criterion *f, *k;

	eligibility_evaluate(EXP_EDS, OPT_PTH, &p, &m, &r);
	check_report(c->name, &r, eds_codes, A51_ARRAY_LEN(eds_codes), c->unmet);
	f = find(&r, "eds.finess");
	ck_assert_int_eq(f->kind, EV_BOOL);
	ck_assert_int_eq(f->measured, c->finess);
	ck_assert_int_eq(f->required, c->require_finess);
	k = find(&r, "eds.kind");
	ck_assert_int_eq(k->kind, EV_TEXT);
	ck_assert_str_eq(k->op, "in");
	ck_assert_str_eq(k->measured_text, c->kind[0] ? c->kind : "none");
	ck_assert_str_eq(k->required_text, "ES");
}
END_TEST

START_TEST(eds_several_kinds)
{
	struct elig_params p = eds_params(true);
	struct elig_measures m = measures("GCS", "GCS", true, 0, 0, 0, 0, 0);
	struct elig_report r;

	snprintf(p.kinds[1], sizeof(p.kinds[1]), "GCS");
	p.n_kinds = 2;
	eligibility_evaluate(EXP_EDS, OPT_COLECTOMY, &p, &m, &r);
	ck_assert(r.eligible);
	ck_assert_str_eq(find(&r, "eds.kind")->required_text, "ES, GCS");
	/* the count bounds the list: an item beyond it does not count */
	p.n_kinds = 1;
	eligibility_evaluate(EXP_EDS, OPT_COLECTOMY, &p, &m, &r);
	ck_assert(!r.eligible);
}
END_TEST

/* ---- misuse ---- */

START_TEST(option_of_another_experiment)
{
	struct elig_params p = peps_params();
	struct elig_measures m = measures("MSP", "SISA", false, 5, 3, 1, 250, 0);
	struct elig_report r;
	const struct elig_criterion *c;

	eligibility_evaluate(EXP_PEPS, OPT_PTH, &p, &m, &r);
	ck_assert(!r.eligible);
	c = find(&r, "peps.option");
	ck_assert_ptr_nonnull(c);
	ck_assert(!c->met);
	ck_assert_str_eq(c->measured_text, "PTH");
	ck_assert_str_eq(c->required_text, "diabetic, elderly, whole");
	/* the other criteria are still evaluated */
	ck_assert_int_eq(r.n, 6);
	ck_assert(find(&r, "peps.min_gp")->met);

	eligibility_evaluate(EXP_PEPS, OPT_NONE, &p, &m, &r);
	ck_assert(!r.eligible);
	ck_assert_str_eq(find(&r, "peps.option")->measured_text, "none");

	p = eds_params(true);
	m = measures("ES", "EPS", true, 0, 0, 0, 0, 0);
	eligibility_evaluate(EXP_EDS, OPT_WHOLE, &p, &m, &r);
	ck_assert(!r.eligible);
	ck_assert_str_eq(find(&r, "eds.option")->required_text, "PTH, PTG, COLECTOMY");
}
END_TEST

START_TEST(parameters_of_another_experiment)
{
	struct elig_params p = ipep_params();
	struct elig_measures m = measures("MSP", "SISA", false, 5, 3, 1, 250, 0);
	struct elig_report r;
	const struct elig_criterion *c;

	/* IPEP parameters leave every PEPS threshold at 0: they must not pass */
	p.n_legal_forms = 1;
	snprintf(p.legal_forms[0], sizeof(p.legal_forms[0]), "SISA");
	eligibility_evaluate(EXP_PEPS, OPT_WHOLE, &p, &m, &r);
	ck_assert(!r.eligible);
	c = find(&r, "peps.parameter_set");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->measured_text, "IPEP");
	ck_assert_str_eq(c->required_text, "PEPS");

	memset(&p, 0, sizeof(p));
	eligibility_evaluate(EXP_IPEP, OPT_GROUPEMENT, &p, &m, &r);
	ck_assert(!r.eligible);
	ck_assert_str_eq(find(&r, "ipep.parameter_set")->measured_text, "none");
}
END_TEST

START_TEST(unknown_experiment_is_not_eligible)
{
	struct elig_params p;
	struct elig_measures m = measures("MSP", "SISA", true, 5, 3, 1, 250, 1);
	struct elig_report r;

	memset(&p, 0, sizeof(p));
	eligibility_evaluate(EXP_NONE, OPT_NONE, &p, &m, &r);
	ck_assert_int_eq(r.n, 0);
	ck_assert(!r.eligible);
	eligibility_evaluate(42, OPT_WHOLE, &p, &m, &r);
	ck_assert_int_eq(r.n, 0);
	ck_assert(!r.eligible);
}
END_TEST

/* Fixed-width fields filled to the brim (no NUL) and counts beyond the arrays. */
START_TEST(unterminated_fields_and_wild_counts)
{
	struct elig_params p = peps_params();
	struct elig_measures m = measures("CDS", "", false, 5, 3, 1, 250, 0);
	struct elig_report r;
	json_t *j;

	memset(m.legal_form, 'A', sizeof(m.legal_form));
	memset(m.kind, 'K', sizeof(m.kind));
	p.n_legal_forms = 1000;
	p.n_kinds_any_legal_form = -5;
	p.n_team_professions = 99;
	for (int i = 0; i < PARAMS_LIST_MAX; i++)
		memset(p.legal_forms[i], 'L', sizeof(p.legal_forms[i]));
	eligibility_evaluate(EXP_PEPS, OPT_WHOLE, &p, &m, &r);
	ck_assert(!find(&r, "peps.legal_form")->met);
	ck_assert_uint_lt(strlen(find(&r, "peps.legal_form")->measured_text), sizeof(r.c[0].measured_text));
	ck_assert_str_eq(find(&r, "peps.legal_form")->measured_text, "AAAAAAAAAAAAAAAAAAAAAAAA");
	j = eligibility_report_json(&r);
	ck_assert_ptr_nonnull(j);
	json_decref(j);
}
END_TEST

/* ---- the report as JSON ---- */

static void check_member_names(const json_t *o, const char *const *names, size_t n)
{
	ck_assert_uint_eq(json_object_size(o), n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(json_object_get(o, names[i]) != NULL, "no member %s", names[i]);
}

START_TEST(report_json_shape)
{
	static const char *const top[] = { "experiment", "option", "eligible", "criteria" };
	static const char *const crit[] = { "code", "label", "measured", "required", "op", "met" };
	struct elig_params p = peps_params();
	struct elig_measures m = measures("CDS", "ASSOCIATION", false, 5, 2, 1, 300, 0);
	struct elig_report r;
	json_t *j, *criteria, *c;
	size_t i;

	eligibility_evaluate(EXP_PEPS, OPT_ELDERLY, &p, &m, &r);
	j = eligibility_report_json(&r);
	ck_assert_ptr_nonnull(j);
	check_member_names(j, top, A51_ARRAY_LEN(top));
	ck_assert_str_eq(json_string_value(json_object_get(j, "experiment")), "PEPS");
	ck_assert_str_eq(json_string_value(json_object_get(j, "option")), "elderly");
	ck_assert(json_is_false(json_object_get(j, "eligible")));
	criteria = json_object_get(j, "criteria");
	ck_assert_uint_eq(json_array_size(criteria), 5);
	json_array_foreach(criteria, i, c) {
		check_member_names(c, crit, A51_ARRAY_LEN(crit));
		ck_assert_str_eq(json_string_value(json_object_get(c, "code")), r.c[i].code);
		ck_assert_str_eq(json_string_value(json_object_get(c, "label")), r.c[i].label);
		ck_assert_str_eq(json_string_value(json_object_get(c, "op")), r.c[i].op);
		ck_assert_int_eq(json_is_true(json_object_get(c, "met")), r.c[i].met);
	}
	c = json_array_get(criteria, 1); /* peps.min_gp */
	ck_assert(json_is_integer(json_object_get(c, "measured")));
	ck_assert_int_eq(json_integer_value(json_object_get(c, "measured")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(c, "required")), 3);
	ck_assert(json_is_false(json_object_get(c, "met")));
	c = json_array_get(criteria, 3); /* peps.legal_form */
	ck_assert_str_eq(json_string_value(json_object_get(c, "measured")), "ASSOCIATION (kind CDS)");
	ck_assert_str_eq(json_string_value(json_object_get(c, "required")), "SISA, any form for kind CDS");
	ck_assert(json_is_true(json_object_get(c, "met")));
	c = json_array_get(criteria, 4); /* peps.min_patients */
	ck_assert_int_eq(json_integer_value(json_object_get(c, "measured")), 300);
	json_decref(j);

	/* EV_BOOL as booleans */
	p = eds_params(true);
	m = measures("ES", "EPS", false, 0, 0, 0, 0, 0);
	eligibility_evaluate(EXP_EDS, OPT_PTG, &p, &m, &r);
	j = eligibility_report_json(&r);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "option")), "PTG");
	c = json_array_get(json_object_get(j, "criteria"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(c, "code")), "eds.finess");
	ck_assert(json_is_false(json_object_get(c, "measured")));
	ck_assert(json_is_true(json_object_get(c, "required")));
	c = json_array_get(json_object_get(j, "criteria"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(c, "measured")), "ES");
	ck_assert_str_eq(json_string_value(json_object_get(c, "required")), "ES");
	json_decref(j);

	/* no experiment: nulls and no criteria */
	memset(&p, 0, sizeof(p));
	eligibility_evaluate(EXP_NONE, OPT_NONE, &p, &m, &r);
	j = eligibility_report_json(&r);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_null(json_object_get(j, "experiment")));
	ck_assert(json_is_null(json_object_get(j, "option")));
	ck_assert(json_is_false(json_object_get(j, "eligible")));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "criteria")), 0);
	json_decref(j);
}
END_TEST

/* A legal form cut inside a UTF-8 sequence still gives a report. */
START_TEST(report_json_survives_cut_utf8)
{
	struct elig_params p = peps_params();
	struct elig_measures m = measures("CDS", "", false, 5, 3, 1, 250, 0);
	struct elig_report r;
	const char *measured;
	json_t *j;

	/* 11 'é' = 22 bytes, then the first byte of a 12th: invalid at the end */
	for (int i = 0; i < 11; i++)
		memcpy(m.legal_form + 2 * i, "\xc3\xa9", 2);
	m.legal_form[22] = '\xc3';
	m.legal_form[23] = '\0';
	eligibility_evaluate(EXP_PEPS, OPT_WHOLE, &p, &m, &r);
	j = eligibility_report_json(&r);
	ck_assert_ptr_nonnull(j);
	measured = json_string_value(json_object_get(json_array_get(json_object_get(j, "criteria"), 3), "measured"));
	ck_assert_ptr_nonnull(measured);
	ck_assert_msg(strstr(measured, "(kind CDS)") != NULL, "%s", measured);
	json_decref(j);
}
END_TEST

/* ---- with the seed parameter sets ---- */

static json_t *load_seed(const char *file)
{
	char path[512];
	json_error_t jerr;
	json_t *body;

	snprintf(path, sizeof(path), "%s/%s", SEED_DIR, file);
	body = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_msg(body != NULL, "%s: %s", path, jerr.text);
	return body;
}

START_TEST(seed_thresholds)
{
	json_t *peps = load_seed("peps-2025.json"), *ipep = load_seed("ipep-2025.json"), *eds = load_seed("eds-2025.json");
	struct a51_error err = { 0 };
	struct elig_params p;
	struct elig_measures m;
	struct elig_report r;

	ck_assert_int_eq(params_read_eligibility(peps, &p, &err), 0);
	m = measures("MSP", "SISA", false, 5, 3, 1, 250, 0);
	eligibility_evaluate(EXP_PEPS, OPT_ELDERLY, &p, &m, &r);
	ck_assert(r.eligible);
	m.covered_patients = 249;
	eligibility_evaluate(EXP_PEPS, OPT_ELDERLY, &p, &m, &r);
	ck_assert(!r.eligible);

	ck_assert_int_eq(params_read_eligibility(ipep, &p, &err), 0);
	m = measures("CPTS", "ASSOCIATION", false, 0, 0, 0, 5001, 1);
	eligibility_evaluate(EXP_IPEP, option_parse(EXP_IPEP, NULL), &p, &m, &r);
	ck_assert(r.eligible);
	m.covered_patients = 5000;
	eligibility_evaluate(EXP_IPEP, OPT_GROUPEMENT, &p, &m, &r);
	ck_assert(!r.eligible);

	ck_assert_int_eq(params_read_eligibility(eds, &p, &err), 0);
	m = measures("ES", "EPS", true, 0, 0, 0, 0, 0);
	eligibility_evaluate(EXP_EDS, OPT_PTH, &p, &m, &r);
	ck_assert(r.eligible);
	m.has_finess = false;
	eligibility_evaluate(EXP_EDS, OPT_PTH, &p, &m, &r);
	ck_assert(!r.eligible);

	json_decref(peps);
	json_decref(ipep);
	json_decref(eds);
}
END_TEST

static Suite *eligibility_suite(void)
{
	Suite *s = suite_create("eligibility");
	TCase *tc = tcase_create("domain");

	tcase_add_test(tc, options_table);
	tcase_add_test(tc, option_names_round_trip);
	tcase_add_loop_test(tc, peps_table, 0, (int)A51_ARRAY_LEN(peps_cases));
	tcase_add_test(tc, peps_numbers_and_ops);
	tcase_add_test(tc, peps_legal_form_texts);
	tcase_add_test(tc, peps_labels_name_what_is_counted);
	tcase_add_loop_test(tc, ipep_table, 0, (int)A51_ARRAY_LEN(ipep_cases));
	tcase_add_loop_test(tc, eds_table, 0, (int)A51_ARRAY_LEN(eds_cases));
	tcase_add_test(tc, eds_several_kinds);
	tcase_add_test(tc, option_of_another_experiment);
	tcase_add_test(tc, parameters_of_another_experiment);
	tcase_add_test(tc, unknown_experiment_is_not_eligible);
	tcase_add_test(tc, unterminated_fields_and_wild_counts);
	tcase_add_test(tc, report_json_shape);
	tcase_add_test(tc, report_json_survives_cut_utf8);
	tcase_add_test(tc, seed_thresholds);
	suite_add_tcase(s, tc);
	return s;
}

A51_CHECK_MAIN(eligibility_suite)
