/* domain/params: the schema, params_validate's faults (all of them, with their
 * field paths), the typed readers, and the seed files of src/domain/params. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "a51/indicators.h"
#include "a51/params.h"
#include "a51/util.h"
#include "common/check_main.h"

#ifdef A51_SOURCE_ROOT
#define SEED_DIR A51_SOURCE_ROOT "/src/domain/params"
#else
#define SEED_DIR "../src/domain/params"
#endif

#define FEMAS "https://femas-hdf.fr/article51-peps-ipep"
#define CRRCETP "http://crrcetp.eu/experimentation-de-lincitation-a-une-prise-en-charge-partagee-ipep-et-du-paiement-en-equipe-de"
#define ESPACE "https://www.espace-social.com/article-51-feu-vert-pour-les-experimentations-sur-le-paiement-forfaitaire/"
#define SOLSANTE "https://solidarites-sante.gouv.fr/actualites/presse/communiques-de-presse/article/transformation-du-systeme-de-sante-2-experimentations-d-organisation-et-de"
#define SANTEGOUV "https://sante.gouv.fr/archives/archives-presse/archives-communiques-de-presse/article/paiement-a-l-episode-de-soins-en-chirurgie"

/* Valid bodies written here, independent of the seed files. */
#define E(v, tag) "{\"value\": " v ", \"tag\": \"" tag "\", \"source\": \"https://example.org/s\"}"

static const char peps_body[] = "{\"experiment\": \"PEPS\", \"year\": 2024, \"label\": \"PEPS test\", \"parameters\": {"
	"\"eligibility.min_team_size\": " E("5", "S") ","
	"\"eligibility.team_professions\": " E("[\"MG\", \"IDE\"]", "S") ","
	"\"eligibility.min_gp\": " E("3", "S") ","
	"\"eligibility.min_nurses\": " E("1", "S") ","
	"\"eligibility.legal_forms\": " E("[\"SISA\"]", "S") ","
	"\"eligibility.kinds_any_legal_form\": " E("[\"CDS\"]", "S") ","
	"\"eligibility.min_patients\": " E("250", "S") ","
	"\"patientele.elderly_min_age\": " E("65", "I") ","
	"\"patientele.neuro_min_age\": " E("50", "S") ","
	"\"patientele.neuro_ald\": {\"value\": [15, 16, 25], \"tag\": \"B\"},"
	"\"patientele.diabetes_ald\": {\"value\": [8], \"tag\": \"B\", \"note\": \"not confirmed\"},"
	"\"patientele.whole_includes_ame\": " E("true", "S") ","
	"\"forfait.risk_model\": " E("\"peps-gp\"", "I") ","
	"\"forfait.perimeter_acts\": " E("[\"G\", \"VG\"]", "S-trunc") ","
	"\"forfait.local_coefficient\": " E("1.05", "NF") ","
	"\"fidelisation.level\": " E("\"team\"", "I") ","
	"\"fidelisation.without_care\": " E("1", "I") ","
	"\"activity.uplift_quarters\": " E("[\"2024Q1\"]", "NF") ","
	"\"activity.uplift_rate\": " E("0.1", "NF") ","
	"\"quality.bonus_rate\": " E("0.05", "S") ","
	"\"quality.presumed_score\": " E("1.0", "S") ","
	"\"cap.rate\": " E("0.2", "S") ","
	"\"cap.without_prior_ffs\": " E("\"no_cap\"", "I") ","
	"\"retrospective.bonus_share\": " E("1.0", "B") ","
	"\"payment.rounding\": " E("\"half_up\"", "I") ","
	"\"payment.instalment_due_days\": " E("15", "NF") ","
	"\"payment.adjustment_due\": " E("\"03-31\"", "B") "}}";

static const char ipep_body[] = "{\"experiment\": \"IPEP\", \"year\": 2025, \"label\": \"IPEP test\", \"parameters\": {"
	"\"eligibility.min_patients_exclusive\": " E("5000", "S") ","
	"\"eligibility.min_gp_with_patients\": " E("1", "I") ","
	"\"gains.c_ecart\": " E("0.3333333333333333", "S") ","
	"\"gains.c_evolution\": " E("0.6666666666666667", "S") ","
	"\"gains.c_partage\": " E("0.5", "S") ","
	"\"gains.risk_model\": " E("\"ipep-all\"", "I") ","
	"\"patientele.reference_day\": " E("\"12-31\"", "I") ","
	"\"gains.truncate_observed\": " E("true", "I") ","
	"\"quality.target_decile\": " E("8", "S") ","
	"\"quality.target_decile_decreasing\": " E("2", "S") ","
	"\"quality.intermediate_decile\": " E("3", "S-trunc") ","
	"\"quality.intermediate_decile_decreasing\": " E("7", "I") ","
	"\"quality.indicator_points\": " E("10", "NF") ","
	"\"quality.evolution_share\": " E("0.5", "I") ","
	"\"quality.experience_max_points\": " E("20", "S") ","
	"\"modulation.floor_share\": " E("0", "NF") ","
	"\"modulation.full_share\": " E("1", "I") ","
	"\"credits.per_groupement_cents\": " E("0", "NF") ","
	"\"credits.per_patient_cents\": " E("0", "NF") ","
	"\"payment.rounding\": " E("\"half_up\"", "I") ","
	"\"payment.due\": " E("\"06-30\"", "NF") ","
	"\"indicators.catalogue\": " E("[{\"code\": \"RH30\", \"label\": \"RH30\", \"theme\": \"coordination\","
					"\"direction\": \"decreasing\", \"a_la_carte\": false,"
					"\"population\": {\"base\": \"patientele\"},"
					"\"measure\": {\"kind\": \"readmission\", \"days\": 30}}]", "B") ","
	"\"indicators.experience\": " E("{\"questionnaire\": \"EXP\", \"scale\": [1, 4], \"min_respondents\": 10,"
					 "\"dimensions\": [{\"code\": \"A\", \"label\": \"A\", \"items\": [1, 2]}]}", "NF") ","
	"\"indicators.structure_kinds\": " E("[\"MSP\"]", "I") ","
	"\"indicators.min_denominator\": " E("20", "I") ","
	"\"indicators.confidence_z\": " E("1.96", "I") "}}";

static const char eds_body[] = "{\"experiment\": \"EDS\", \"year\": 2025, \"label\": \"EDS test\", \"parameters\": {"
	"\"eligibility.kinds\": " E("[\"ES\"]", "S") ","
	"\"eligibility.require_finess\": " E("true", "I") ","
	"\"episodes.window_before_days\": " E("60", "NF") ","
	"\"episodes.window_after_days\": " E("90", "B") ","
	"\"episodes.lookback_days\": " E("365", "S") ","
	"\"episodes.transfer_gap_days\": " E("1", "I") ","
	"\"trigger.pth_ghm_root\": " E("\"08C48\"", "S") ","
	"\"trigger.ptg_ghm_root\": " E("\"08C24\"", "S") ","
	"\"trigger.colectomy_ghm_root\": " E("\"06C04\"", "S") ","
	"\"trigger.colectomy_diagnoses\": " E("[\"C18\"]", "I") ","
	"\"exclusions.palliative_diagnoses\": " E("[\"Z515\"]", "I") ","
	"\"exclusions.total_colectomy_acts\": " E("[\"HHFA011\"]", "I") ","
	"\"complications.planned_ghm_prefixes\": " E("[\"28Z\"]", "I") ","
	"\"model.pth\": " E("\"eds-pth\"", "I") ","
	"\"model.ptg\": " E("\"eds-ptg\"", "I") ","
	"\"model.colectomy\": " E("\"eds-colectomy\"", "I") ","
	"\"reconciliation.gain_share\": " E("0.5", "NF") ","
	"\"reconciliation.loss_share\": " E("0.5", "NF") ","
	"\"reconciliation.stop_gain\": " E("0.1", "NF") ","
	"\"reconciliation.stop_loss\": " E("0.1", "NF") ","
	"\"reconciliation.two_sided_from_year\": " E("2021", "S-trunc") ","
	"\"quality.envelope_share\": " E("0", "NF") ","
	"\"quality.indicators\": " E("[\"COMPL\", \"LOS\"]", "NF") ","
	"\"payment.rounding\": " E("\"half_up\"", "I") ","
	"\"payment.due\": " E("\"06-30\"", "NF") "}}";

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);

	ck_assert_msg(v != NULL, "bad test JSON: %s: %s", jerr.text, text);
	return v;
}

/* One change to a body: path segments separated by '/', json NULL deletes. */
struct edit {
	const char *path;
	const char *json;
};

static void apply_edit(json_t *body, const struct edit *e)
{
	char path[256], *seg, *slash;
	json_t *at = body;

	snprintf(path, sizeof(path), "%s", e->path);
	seg = path;
	while ((slash = strchr(seg, '/')) != NULL) {
		*slash = '\0';
		at = json_object_get(at, seg);
		ck_assert_msg(json_is_object(at), "edit %s: %s is not an object", e->path, seg);
		seg = slash + 1;
	}
	if (e->json)
		ck_assert_int_eq(json_object_set_new(at, seg, parse(e->json)), 0);
	else
		ck_assert_msg(json_object_del(at, seg) == 0, "edit %s: nothing to delete", e->path);
}

static json_t *edited(const char *base, const struct edit *edits, size_t n)
{
	json_t *body = parse(base);

	for (size_t i = 0; i < n && edits[i].path; i++)
		apply_edit(body, &edits[i]);
	return body;
}

static char *dump(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Every fault is {"field": ..., "reason": ...}, the reason an English sentence. */
static void check_error_shape(const json_t *errors)
{
	size_t i;
	json_t *e;

	json_array_foreach(errors, i, e) {
		const char *reason = json_string_value(json_object_get(e, "reason"));

		ck_assert_int_eq(json_object_size(e), 2);
		ck_assert(json_is_string(json_object_get(e, "field")));
		ck_assert_ptr_nonnull(reason);
		ck_assert_msg(reason[0] >= 'A' && reason[0] <= 'Z' && reason[strlen(reason) - 1] == '.',
			      "not a sentence: \"%s\"", reason);
	}
}

static bool has_field(const json_t *errors, const char *field, const char **reason)
{
	size_t i;
	json_t *e;

	json_array_foreach(errors, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "field")), field) == 0) {
			if (reason)
				*reason = json_string_value(json_object_get(e, "reason"));
			return true;
		}
	}
	return false;
}

/* ---- experiments and schema ---- */

START_TEST(experiment_names)
{
	static const struct {
		const char *s;
		int exp;
	} v[] = {
		{ "PEPS", EXP_PEPS }, { "IPEP", EXP_IPEP }, { "EDS", EXP_EDS }, { "peps", EXP_NONE },
		{ "Eds", EXP_NONE }, { "", EXP_NONE }, { "PEPS ", EXP_NONE }, { "NONE", EXP_NONE },
	};

	for (size_t i = 0; i < A51_ARRAY_LEN(v); i++)
		ck_assert_msg(experiment_parse(v[i].s) == v[i].exp, "\"%s\"", v[i].s);
	ck_assert_int_eq(experiment_parse(NULL), EXP_NONE);
	ck_assert_str_eq(experiment_name(EXP_PEPS), "PEPS");
	ck_assert_str_eq(experiment_name(EXP_IPEP), "IPEP");
	ck_assert_str_eq(experiment_name(EXP_EDS), "EDS");
	ck_assert_ptr_null(experiment_name(EXP_NONE));
	ck_assert_ptr_null(experiment_name(-1));
	ck_assert_ptr_null(experiment_name(EXP_EDS + 1));
}
END_TEST

struct schema_key {
	int exp;
	const char *key;
	int type;
	double min, max;
};

static const struct schema_key schema_keys[] = {
	{ EXP_PEPS, "eligibility.min_team_size", PT_INT, 0, 1000000 },
	{ EXP_PEPS, "eligibility.team_professions", PT_STRING_LIST, 1, 7 },
	{ EXP_PEPS, "eligibility.min_gp", PT_INT, 0, 1000000 },
	{ EXP_PEPS, "eligibility.min_nurses", PT_INT, 0, 1000000 },
	{ EXP_PEPS, "eligibility.legal_forms", PT_STRING_LIST, 1, 23 },
	{ EXP_PEPS, "eligibility.kinds_any_legal_form", PT_STRING_LIST, 1, 11 },
	{ EXP_PEPS, "eligibility.min_patients", PT_INT, 0, 1000000 },
	{ EXP_PEPS, "patientele.elderly_min_age", PT_INT, 0, 120 },
	{ EXP_PEPS, "patientele.neuro_min_age", PT_INT, 0, 120 },
	{ EXP_PEPS, "patientele.neuro_ald", PT_INT_LIST, 1, 32 },
	{ EXP_PEPS, "patientele.diabetes_ald", PT_INT_LIST, 1, 32 },
	{ EXP_PEPS, "patientele.whole_includes_ame", PT_BOOL, 0, 0 },
	{ EXP_PEPS, "forfait.risk_model", PT_STRING, 1, 63 },
	{ EXP_PEPS, "forfait.perimeter_acts", PT_STRING_LIST, 1, 7 },
	{ EXP_PEPS, "forfait.local_coefficient", PT_NUMBER, 0.1, 10 },
	{ EXP_PEPS, "fidelisation.level", PT_STRING, 1, 23 },
	{ EXP_PEPS, "fidelisation.without_care", PT_NUMBER, 0, 1 },
	{ EXP_PEPS, "activity.uplift_quarters", PT_STRING_LIST, 1, 6 },
	{ EXP_PEPS, "activity.uplift_rate", PT_NUMBER, 0, 1 },
	{ EXP_PEPS, "quality.bonus_rate", PT_NUMBER, 0, 1 },
	{ EXP_PEPS, "quality.presumed_score", PT_NUMBER, 0, 1 },
	{ EXP_PEPS, "cap.rate", PT_NUMBER, 0, 10 },
	{ EXP_PEPS, "cap.without_prior_ffs", PT_STRING, 1, 23 },
	{ EXP_PEPS, "retrospective.bonus_share", PT_NUMBER, 0, 1 },
	{ EXP_PEPS, "payment.rounding", PT_STRING, 1, 23 },
	{ EXP_PEPS, "payment.instalment_due_days", PT_INT, 0, 91 },
	{ EXP_PEPS, "payment.adjustment_due", PT_STRING, 1, 5 },
	{ EXP_IPEP, "eligibility.min_patients_exclusive", PT_INT, 0, 1000000 },
	{ EXP_IPEP, "eligibility.min_gp_with_patients", PT_INT, 0, 1000000 },
	{ EXP_IPEP, "gains.c_ecart", PT_NUMBER, 0, 1 },
	{ EXP_IPEP, "gains.c_evolution", PT_NUMBER, 0, 1 },
	{ EXP_IPEP, "gains.c_partage", PT_NUMBER, 0, 1 },
	{ EXP_IPEP, "gains.risk_model", PT_STRING, 1, 63 },
	{ EXP_IPEP, "patientele.reference_day", PT_STRING, 1, 5 },
	{ EXP_IPEP, "gains.truncate_observed", PT_BOOL, 0, 0 },
	{ EXP_IPEP, "quality.target_decile", PT_INT, 1, 9 },
	{ EXP_IPEP, "quality.target_decile_decreasing", PT_INT, 1, 9 },
	{ EXP_IPEP, "quality.intermediate_decile", PT_INT, 1, 9 },
	{ EXP_IPEP, "quality.intermediate_decile_decreasing", PT_INT, 1, 9 },
	{ EXP_IPEP, "quality.indicator_points", PT_NUMBER, 0, 1000 },
	{ EXP_IPEP, "quality.evolution_share", PT_NUMBER, 0, 1 },
	{ EXP_IPEP, "quality.experience_max_points", PT_NUMBER, 0, 1000 },
	{ EXP_IPEP, "modulation.floor_share", PT_NUMBER, 0, 1 },
	{ EXP_IPEP, "modulation.full_share", PT_NUMBER, 0, 1 },
	{ EXP_IPEP, "credits.per_groupement_cents", PT_INT, 0, 1e12 },
	{ EXP_IPEP, "credits.per_patient_cents", PT_INT, 0, 1e9 },
	{ EXP_IPEP, "payment.rounding", PT_STRING, 1, 23 },
	{ EXP_IPEP, "payment.due", PT_STRING, 1, 5 },
	{ EXP_IPEP, "indicators.catalogue", PT_STRUCTURED, 0, 0 },
	{ EXP_IPEP, "indicators.experience", PT_STRUCTURED, 0, 0 },
	{ EXP_IPEP, "indicators.structure_kinds", PT_STRING_LIST, 1, 11 },
	{ EXP_IPEP, "indicators.min_denominator", PT_INT, 0, 1000000 },
	{ EXP_IPEP, "indicators.confidence_z", PT_NUMBER, 0.5, 5 },
	{ EXP_EDS, "eligibility.kinds", PT_STRING_LIST, 1, 11 },
	{ EXP_EDS, "eligibility.require_finess", PT_BOOL, 0, 0 },
	{ EXP_EDS, "episodes.window_before_days", PT_INT, 0, 365 },
	{ EXP_EDS, "episodes.window_after_days", PT_INT, 0, 365 },
	{ EXP_EDS, "episodes.lookback_days", PT_INT, 0, 3650 },
	{ EXP_EDS, "episodes.transfer_gap_days", PT_INT, 0, 7 },
	{ EXP_EDS, "trigger.pth_ghm_root", PT_STRING, 1, 5 },
	{ EXP_EDS, "trigger.ptg_ghm_root", PT_STRING, 1, 5 },
	{ EXP_EDS, "trigger.colectomy_ghm_root", PT_STRING, 1, 5 },
	{ EXP_EDS, "trigger.colectomy_diagnoses", PT_STRING_LIST, 1, 7 },
	{ EXP_EDS, "exclusions.palliative_diagnoses", PT_STRING_LIST, 1, 7 },
	{ EXP_EDS, "exclusions.total_colectomy_acts", PT_STRING_LIST, 1, 7 },
	{ EXP_EDS, "complications.planned_ghm_prefixes", PT_STRING_LIST, 1, 7 },
	{ EXP_EDS, "model.pth", PT_STRING, 1, 63 },
	{ EXP_EDS, "model.ptg", PT_STRING, 1, 63 },
	{ EXP_EDS, "model.colectomy", PT_STRING, 1, 63 },
	{ EXP_EDS, "reconciliation.gain_share", PT_NUMBER, 0, 1 },
	{ EXP_EDS, "reconciliation.loss_share", PT_NUMBER, 0, 1 },
	{ EXP_EDS, "reconciliation.stop_gain", PT_NUMBER, 0, 1 },
	{ EXP_EDS, "reconciliation.stop_loss", PT_NUMBER, 0, 1 },
	{ EXP_EDS, "reconciliation.two_sided_from_year", PT_INT, 2018, 2100 },
	{ EXP_EDS, "quality.envelope_share", PT_NUMBER, 0, 1 },
	{ EXP_EDS, "quality.indicators", PT_STRING_LIST, 1, 7 },
	{ EXP_EDS, "payment.rounding", PT_STRING, 1, 23 },
	{ EXP_EDS, "payment.due", PT_STRING, 1, 5 },
};

START_TEST(schema_is_the_documented_keys)
{
	static const int exps[] = { EXP_PEPS, EXP_IPEP, EXP_EDS };
	size_t n, total = 0;

	for (size_t e = 0; e < A51_ARRAY_LEN(exps); e++) {
		const struct param_def *defs = params_schema(exps[e], &n);
		size_t want = 0;

		ck_assert_ptr_nonnull(defs);
		for (size_t k = 0; k < A51_ARRAY_LEN(schema_keys); k++)
			want += schema_keys[k].exp == exps[e];
		ck_assert_uint_eq(n, want);
		total += n;
		for (size_t i = 0; i < n; i++) {
			const struct schema_key *k = NULL;

			for (size_t j = 0; j < A51_ARRAY_LEN(schema_keys); j++)
				if (schema_keys[j].exp == exps[e] && strcmp(schema_keys[j].key, defs[i].key) == 0)
					k = &schema_keys[j];
			ck_assert_msg(k != NULL, "unexpected key %s", defs[i].key);
			ck_assert_int_eq(defs[i].experiment, exps[e]);
			ck_assert_int_eq(defs[i].type, k->type);
			ck_assert_msg(defs[i].min == k->min && defs[i].max == k->max, "%s: bounds %g..%g", k->key,
				      defs[i].min, defs[i].max);
			ck_assert_msg(defs[i].help && defs[i].help[0], "%s: no help", k->key);
		}
	}
	ck_assert_uint_eq(total, A51_ARRAY_LEN(schema_keys));
	n = 99;
	ck_assert_ptr_null(params_schema(EXP_NONE, &n));
	ck_assert_uint_eq(n, 0);
}
END_TEST

/* ---- params_validate ---- */

START_TEST(valid_bodies_have_no_fault)
{
	const char *bodies[] = { peps_body, ipep_body, eds_body };

	for (size_t i = 0; i < A51_ARRAY_LEN(bodies); i++) {
		json_t *body = parse(bodies[i]), *errors = json_array();
		size_t n = params_validate(body, errors);
		char *s = dump(errors);

		ck_assert_msg(n == 0, "body %zu: %s", i, s);
		ck_assert_uint_eq(json_array_size(errors), 0);
		free(s);
		json_decref(errors);
		json_decref(body);
	}
}
END_TEST

#define MAX_EDITS 5
#define MAX_FIELDS 6

struct broken_case {
	const char *name;
	const char *base;
	struct edit edits[MAX_EDITS];
	const char *fields[MAX_FIELDS];  /* exactly these faults, in any order; none: valid */
	const char *reason;              /* a substring of the first field's reason */
};

#define P(key) "parameters/" key
#define F(key) "parameters." key
#define SEVENTEEN "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]"
#define SIXTEEN "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]"

static const struct broken_case broken_cases[] = {
	/* just inside every bound: valid */
	{ "ages at 0 and 120", peps_body,
	  { { P("patientele.elderly_min_age/value"), "120" }, { P("patientele.neuro_min_age/value"), "0" } },
	  { NULL }, NULL },
	{ "counts at 0 and 1000000", peps_body,
	  { { P("eligibility.min_gp/value"), "0" }, { P("eligibility.min_patients/value"), "1000000" } },
	  { NULL }, NULL },
	{ "ALD at 1 and 32", peps_body, { { P("patientele.neuro_ald/value"), "[1, 32]" } }, { NULL }, NULL },
	{ "16 items", peps_body, { { P("patientele.diabetes_ald/value"), SIXTEEN } }, { NULL }, NULL },
	{ "empty list", peps_body, { { P("eligibility.kinds_any_legal_form/value"), "[]" } }, { NULL }, NULL },
	{ "longest items", peps_body,
	  { { P("eligibility.legal_forms/value"), "[\"ABCDEFGHIJKLMNOPQRSTUVW\"]" },
	    { P("eligibility.team_professions/value"), "[\"ABCDEFG\"]" },
	    { P("eligibility.kinds_any_legal_form/value"), "[\"ABCDEFGHIJK\"]" } },
	  { NULL }, NULL },
	{ "years 2018 and 2100", peps_body, { { "year", "2018" } }, { NULL }, NULL },
	{ "year 2100", ipep_body, { { "year", "2100" } }, { NULL }, NULL },
	{ "I, B and NF need no source", peps_body,
	  { { P("eligibility.min_gp"), "{\"value\": 3, \"tag\": \"NF\"}" },
	    { P("eligibility.min_nurses"), "{\"value\": 1, \"tag\": \"I\", \"source\": \"\"}" } },
	  { NULL }, NULL },
	{ "S-trunc with a source", peps_body, { { P("eligibility.min_gp/tag"), "\"S-trunc\"" } }, { NULL }, NULL },

	/* the parameter set as a whole */
	{ "missing key", peps_body, { { P("eligibility.min_gp"), NULL } }, { F("eligibility.min_gp") },
	  "minimum number of general practitioners" },
	{ "missing IPEP key", ipep_body, { { P("eligibility.min_gp_with_patients"), NULL } },
	  { F("eligibility.min_gp_with_patients") }, "required" },
	{ "unknown key", peps_body, { { P("unknown.key"), E("1", "S") } }, { F("unknown.key") },
	  "PEPS has no such parameter" },
	{ "key of another experiment", peps_body, { { P("eligibility.kinds"), E("[\"ES\"]", "S") } },
	  { F("eligibility.kinds") }, NULL },
	{ "PEPS key in IPEP", ipep_body, { { P("eligibility.min_gp"), E("3", "S") } }, { F("eligibility.min_gp") },
	  "IPEP has no such parameter" },
	{ "parameters missing", peps_body, { { "parameters", NULL } }, { "parameters" }, NULL },
	{ "parameters a list", peps_body, { { "parameters", "[]" } }, { "parameters" }, NULL },
	{ "empty label", peps_body, { { "label", "\"\"" } }, { "label" }, "non-empty" },
	{ "blank label", peps_body, { { "label", "\" \\t \"" } }, { "label" }, NULL },
	{ "label missing", peps_body, { { "label", NULL } }, { "label" }, NULL },
	{ "label a number", peps_body, { { "label", "5" } }, { "label" }, NULL },
	{ "unknown experiment", peps_body, { { "experiment", "\"XYZ\"" } }, { "experiment" }, "PEPS, IPEP or EDS" },
	{ "experiment in lower case", ipep_body, { { "experiment", "\"ipep\"" } }, { "experiment" }, NULL },
	{ "experiment missing", eds_body, { { "experiment", NULL } }, { "experiment" }, NULL },
	{ "experiment a number", eds_body, { { "experiment", "1" } }, { "experiment" }, NULL },
	{ "year too early", peps_body, { { "year", "2017" } }, { "year" }, "between 2018 and 2100" },
	{ "year too late", peps_body, { { "year", "2101" } }, { "year" }, NULL },
	{ "year a string", peps_body, { { "year", "\"2024\"" } }, { "year" }, NULL },
	{ "year a real", peps_body, { { "year", "2024.0" } }, { "year" }, NULL },
	{ "year missing", peps_body, { { "year", NULL } }, { "year" }, NULL },

	/* values */
	{ "integer as a string", peps_body, { { P("eligibility.min_gp/value"), "\"3\"" } },
	  { F("eligibility.min_gp.value") }, "must be an integer, got a string" },
	{ "non-integer 3.0", peps_body, { { P("eligibility.min_gp/value"), "3.0" } },
	  { F("eligibility.min_gp.value") }, "got a real number" },
	{ "non-integer 3.5", peps_body, { { P("eligibility.min_patients/value"), "249.5" } },
	  { F("eligibility.min_patients.value") }, NULL },
	{ "boolean as 1", peps_body, { { P("patientele.whole_includes_ame/value"), "1" } },
	  { F("patientele.whole_includes_ame.value") }, "true or false" },
	{ "boolean null", eds_body, { { P("eligibility.require_finess/value"), "null" } },
	  { F("eligibility.require_finess.value") }, NULL },
	{ "list as a number", peps_body, { { P("patientele.neuro_ald/value"), "15" } },
	  { F("patientele.neuro_ald.value") }, "must be a list" },
	{ "list as a string", peps_body, { { P("eligibility.legal_forms/value"), "\"SISA\"" } },
	  { F("eligibility.legal_forms.value") }, NULL },
	{ "age above 120", peps_body, { { P("patientele.elderly_min_age/value"), "121" } },
	  { F("patientele.elderly_min_age.value") }, "between 0 and 120, got 121" },
	{ "age below 0", peps_body, { { P("patientele.neuro_min_age/value"), "-1" } },
	  { F("patientele.neuro_min_age.value") }, NULL },
	{ "count below 0", peps_body, { { P("eligibility.min_gp/value"), "-1" } },
	  { F("eligibility.min_gp.value") }, "between 0 and 1000000, got -1" },
	{ "count above 1000000", ipep_body, { { P("eligibility.min_patients_exclusive/value"), "1000001" } },
	  { F("eligibility.min_patients_exclusive.value") }, NULL },
	{ "ALD 33", peps_body, { { P("patientele.neuro_ald/value"), "[15, 33]" } },
	  { F("patientele.neuro_ald.value[1]") }, "between 1 and 32, got 33" },
	{ "ALD 0", peps_body, { { P("patientele.diabetes_ald/value"), "[0]" } },
	  { F("patientele.diabetes_ald.value[0]") }, NULL },
	{ "ALD item a real", peps_body, { { P("patientele.diabetes_ald/value"), "[8.0]" } },
	  { F("patientele.diabetes_ald.value[0]") }, "must be an integer" },
	{ "ALD item a string", peps_body, { { P("patientele.diabetes_ald/value"), "[8, \"8\"]" } },
	  { F("patientele.diabetes_ald.value[1]") }, NULL },
	{ "17 items", peps_body, { { P("patientele.diabetes_ald/value"), SEVENTEEN } },
	  { F("patientele.diabetes_ald.value") }, "at most 16 items" },
	{ "17 items, the 17th bad, is one fault", peps_body,
	  { { P("patientele.neuro_ald/value"), "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 99]" } },
	  { F("patientele.neuro_ald.value") }, NULL },
	{ "several bad items", peps_body, { { P("patientele.neuro_ald/value"), "[0, 15, 40]" } },
	  { F("patientele.neuro_ald.value[0]"), F("patientele.neuro_ald.value[2]") }, NULL },
	{ "empty string item", peps_body, { { P("eligibility.legal_forms/value"), "[\"SISA\", \"\"]" } },
	  { F("eligibility.legal_forms.value[1]") }, "non-empty string of at most 23 characters" },
	{ "legal form of 24 characters", peps_body,
	  { { P("eligibility.legal_forms/value"), "[\"ABCDEFGHIJKLMNOPQRSTUVWX\"]" } },
	  { F("eligibility.legal_forms.value[0]") }, NULL },
	{ "profession of 8 characters", peps_body, { { P("eligibility.team_professions/value"), "[\"ABCDEFGH\"]" } },
	  { F("eligibility.team_professions.value[0]") }, "at most 7 characters" },
	{ "unknown EDS indicator", eds_body, { { P("quality.indicators/value"), "[\"COMPL\", \"SMILE\"]" } },
	  { F("quality.indicators.value") }, "SMILE is not an indicator" },
	{ "kind of 12 characters", eds_body, { { P("eligibility.kinds/value"), "[\"ES\", \"ABCDEFGHIJKL\"]" } },
	  { F("eligibility.kinds.value[1]") }, "at most 11 characters" },
	{ "string item a number", peps_body, { { P("eligibility.kinds_any_legal_form/value"), "[1]" } },
	  { F("eligibility.kinds_any_legal_form.value[0]") }, NULL },

	/* entries */
	{ "entry not an object", peps_body, { { P("eligibility.min_gp"), "3" } }, { F("eligibility.min_gp") },
	  "object with a value" },
	{ "value missing", peps_body, { { P("eligibility.min_gp/value"), NULL } }, { F("eligibility.min_gp.value") },
	  "value is required" },
	{ "unknown tag", peps_body, { { P("eligibility.min_gp/tag"), "\"X\"" } }, { F("eligibility.min_gp.tag") },
	  "S, S-trunc, I, B or NF" },
	{ "tag in lower case", peps_body, { { P("eligibility.min_gp/tag"), "\"s\"" } },
	  { F("eligibility.min_gp.tag") }, NULL },
	{ "tag missing", ipep_body, { { P("eligibility.min_gp_with_patients/tag"), NULL } },
	  { F("eligibility.min_gp_with_patients.tag") }, NULL },
	{ "tag a number", peps_body, { { P("eligibility.min_gp/tag"), "1" } }, { F("eligibility.min_gp.tag") }, NULL },
	{ "S without source", peps_body, { { P("eligibility.min_gp/source"), NULL } },
	  { F("eligibility.min_gp.source") }, "source is required" },
	{ "S with an empty source", peps_body, { { P("eligibility.min_gp/source"), "\"\"" } },
	  { F("eligibility.min_gp.source") }, NULL },
	{ "S with a blank source", peps_body, { { P("eligibility.min_gp/source"), "\"  \"" } },
	  { F("eligibility.min_gp.source") }, NULL },
	{ "S-trunc without source", eds_body,
	  { { P("eligibility.kinds/tag"), "\"S-trunc\"" }, { P("eligibility.kinds/source"), NULL } },
	  { F("eligibility.kinds.source") }, NULL },
	{ "source a number", peps_body, { { P("patientele.neuro_ald/source"), "5" } },
	  { F("patientele.neuro_ald.source") }, "must be a string" },
	{ "note a number", peps_body, { { P("patientele.diabetes_ald/note"), "5" } },
	  { F("patientele.diabetes_ald.note") }, NULL },
	{ "misspelt member", peps_body, { { P("eligibility.min_gp/sorce"), "\"x\"" } },
	  { F("eligibility.min_gp.sorce") }, "only value, tag, source and note" },

	/* many faults at once: every one reported */
	{ "five faults together", peps_body,
	  { { "year", "1999" }, { "label", "\"\"" }, { P("eligibility.min_gp/value"), "\"x\"" },
	    { P("patientele.neuro_ald"), NULL }, { P("unknown.key"), E("1", "S") } },
	  { "year", "label", F("eligibility.min_gp.value"), F("patientele.neuro_ald"), F("unknown.key") }, NULL },
	{ "faults within one entry", peps_body,
	  { { P("eligibility.min_gp"), "{\"value\": 2.5, \"tag\": \"S\", \"note\": 1}" } },
	  { F("eligibility.min_gp.value"), F("eligibility.min_gp.source"), F("eligibility.min_gp.note") }, NULL },
	{ "unknown experiment still checks entries", peps_body,
	  { { "experiment", "\"XYZ\"" }, { P("eligibility.min_gp/tag"), "\"Z\"" },
	    { P("eligibility.min_nurses/value"), NULL } },
	  { "experiment", F("eligibility.min_gp.tag"), F("eligibility.min_nurses.value") }, NULL },
	{ "IPEP body with EDS parameters", ipep_body,
	  { { P("eligibility.min_patients_exclusive"), NULL }, { P("eligibility.require_finess"), E("true", "I") } },
	  { F("eligibility.min_patients_exclusive"), F("eligibility.require_finess") }, NULL },
};

START_TEST(broken_bodies)
{
	const struct broken_case *c = &broken_cases[_i];
	json_t *body = edited(c->base, c->edits, MAX_EDITS), *errors = json_array();
	size_t want = 0, n = params_validate(body, errors);
	char *s = dump(errors);

	while (want < MAX_FIELDS && c->fields[want])
		want++;
	ck_assert_msg(n == want, "%s: %zu faults, want %zu: %s", c->name, n, want, s);
	ck_assert_msg(json_array_size(errors) == n, "%s: returned %zu, appended %zu", c->name, n,
		      json_array_size(errors));
	check_error_shape(errors);
	for (size_t i = 0; i < want; i++) {
		const char *reason = NULL;

		ck_assert_msg(has_field(errors, c->fields[i], &reason), "%s: no fault on %s: %s", c->name, c->fields[i],
			      s);
		if (i == 0 && c->reason)
			ck_assert_msg(strstr(reason, c->reason) != NULL, "%s: reason \"%s\" lacks \"%s\"", c->name, reason,
				      c->reason);
	}
	free(s);
	json_decref(errors);
	json_decref(body);
}
END_TEST

START_TEST(body_not_an_object)
{
	static const char *const bodies[] = { "[]", "\"PEPS\"", "null", "3" };

	for (size_t i = 0; i < A51_ARRAY_LEN(bodies); i++) {
		json_t *body = parse(bodies[i]), *errors = json_array();

		ck_assert_uint_eq(params_validate(body, errors), 1);
		ck_assert(has_field(errors, "body", NULL));
		json_decref(errors);
		json_decref(body);
	}
	ck_assert_uint_eq(params_validate(NULL, NULL), 1);
}
END_TEST

/* A caller that only wants a verdict may pass no array: the count is the same. */
START_TEST(count_without_errors_array)
{
	static const struct edit edits[] = { { "year", "3000" }, { "parameters/eligibility.min_gp", NULL } };
	json_t *body = edited(peps_body, edits, A51_ARRAY_LEN(edits)), *valid = parse(eds_body);

	ck_assert_uint_eq(params_validate(body, NULL), 2);
	ck_assert_uint_eq(params_validate(valid, NULL), 0);
	json_decref(valid);
	json_decref(body);
}
END_TEST

/* The field path goes back to the client as JSON: a long key is cut on a
 * character boundary and the fault is still recorded. */
START_TEST(long_unicode_key)
{
	char key[2 * 300 + 1], *s;
	json_t *body = parse(eds_body), *errors = json_array();
	const char *field;

	for (size_t i = 0; i < 300; i++)
		memcpy(key + 2 * i, "\xc3\xa9", 2); /* é */
	key[600] = '\0';
	ck_assert_int_eq(json_object_set_new(json_object_get(body, "parameters"), key, parse(E("1", "S"))), 0);
	ck_assert_uint_eq(params_validate(body, errors), 1);
	ck_assert_uint_eq(json_array_size(errors), 1);
	field = json_string_value(json_object_get(json_array_get(errors, 0), "field"));
	ck_assert_ptr_nonnull(field);
	ck_assert(strncmp(field, "parameters.\xc3\xa9\xc3\xa9", 15) == 0);
	ck_assert_uint_lt(strlen(field), 200);
	s = dump(errors);
	ck_assert_ptr_nonnull(s);
	free(s);
	json_decref(errors);
	json_decref(body);
}
END_TEST

/* ---- params_value and the typed readers ---- */

START_TEST(value_lookup)
{
	json_t *body = parse(peps_body);
	const json_t *v = params_value(body, "eligibility.min_gp");

	ck_assert(json_is_integer(v));
	ck_assert_int_eq(json_integer_value(v), 3);
	ck_assert(json_is_array(params_value(body, "patientele.neuro_ald")));
	ck_assert_ptr_null(params_value(body, "eligibility.kinds"));
	ck_assert_ptr_null(params_value(body, "eligibility"));
	ck_assert_ptr_null(params_value(body, NULL));
	ck_assert_ptr_null(params_value(NULL, "eligibility.min_gp"));
	json_decref(body);
}
END_TEST

static void check_peps_values(const json_t *body)
{
	struct elig_params ep;
	struct patientele_params pp;
	struct a51_error err = { 0 };

	ck_assert_int_eq(params_read_eligibility(body, &ep, &err), 0);
	ck_assert_int_eq(ep.experiment, EXP_PEPS);
	ck_assert_int_eq(ep.min_team_size, 5);
	ck_assert_int_eq(ep.n_team_professions, 2);
	ck_assert_str_eq(ep.team_professions[0], "MG");
	ck_assert_str_eq(ep.team_professions[1], "IDE");
	ck_assert_int_eq(ep.min_gp, 3);
	ck_assert_int_eq(ep.min_nurses, 1);
	ck_assert_int_eq(ep.n_legal_forms, 1);
	ck_assert_str_eq(ep.legal_forms[0], "SISA");
	ck_assert_int_eq(ep.n_kinds_any_legal_form, 1);
	ck_assert_str_eq(ep.kinds_any_legal_form[0], "CDS");
	ck_assert_int_eq(ep.min_patients, 250);
	ck_assert_int_eq(ep.min_patients_exclusive, 0);
	ck_assert_int_eq(ep.min_gp_with_patients, 0);
	ck_assert_int_eq(ep.n_kinds, 0);
	ck_assert(!ep.require_finess);

	ck_assert_int_eq(params_read_patientele(body, &pp, &err), 0);
	ck_assert_int_eq(pp.elderly_min_age, 65);
	ck_assert_int_eq(pp.neuro_min_age, 50);
	ck_assert_int_eq(pp.n_neuro_ald, 3);
	ck_assert_int_eq(pp.neuro_ald[0], 15);
	ck_assert_int_eq(pp.neuro_ald[1], 16);
	ck_assert_int_eq(pp.neuro_ald[2], 25);
	ck_assert_int_eq(pp.n_diabetes_ald, 1);
	ck_assert_int_eq(pp.diabetes_ald[0], 8);
	ck_assert(pp.whole_includes_ame);
}

static void check_ipep_values(const json_t *body)
{
	struct elig_params ep, zero_ep;
	struct patientele_params pp, zero_pp;
	struct a51_error err = { 0 };

	memset(&zero_ep, 0, sizeof(zero_ep));
	memset(&zero_pp, 0, sizeof(zero_pp));
	memset(&ep, 0x5a, sizeof(ep));
	ck_assert_int_eq(params_read_eligibility(body, &ep, &err), 0);
	ck_assert_int_eq(ep.experiment, EXP_IPEP);
	ck_assert_int_eq(ep.min_patients_exclusive, 5000);
	ck_assert_int_eq(ep.min_gp_with_patients, 1);
	/* everything else is zero, whatever was there before */
	ep.experiment = 0;
	ep.min_patients_exclusive = 0;
	ep.min_gp_with_patients = 0;
	ck_assert(memcmp(&ep, &zero_ep, sizeof(ep)) == 0);

	memset(&pp, 0x5a, sizeof(pp));
	ck_assert_int_eq(params_read_patientele(body, &pp, &err), 0);
	ck_assert(memcmp(&pp, &zero_pp, sizeof(pp)) == 0);
}

static void check_eds_values(const json_t *body)
{
	struct elig_params ep;
	struct a51_error err = { 0 };

	ck_assert_int_eq(params_read_eligibility(body, &ep, &err), 0);
	ck_assert_int_eq(ep.experiment, EXP_EDS);
	ck_assert_int_eq(ep.n_kinds, 1);
	ck_assert_str_eq(ep.kinds[0], "ES");
	ck_assert(ep.require_finess);
	ck_assert_int_eq(ep.min_gp, 0);
	ck_assert_int_eq(ep.n_legal_forms, 0);
}

START_TEST(readers_fill_the_structs)
{
	json_t *peps = parse(peps_body), *ipep = parse(ipep_body), *eds = parse(eds_body);

	check_peps_values(peps);
	check_ipep_values(ipep);
	check_eds_values(eds);
	json_decref(peps);
	json_decref(ipep);
	json_decref(eds);
}
END_TEST

struct reader_case {
	const char *name;
	const char *base;
	struct edit edit;
	bool patientele;    /* which reader */
	const char *field;  /* err.field */
};

static const struct reader_case reader_cases[] = {
	{ "missing count", peps_body, { P("eligibility.min_gp"), NULL }, false, "parameters.eligibility.min_gp.value" },
	{ "count as a string", peps_body, { P("eligibility.min_patients/value"), "\"250\"" }, false,
	  "parameters.eligibility.min_patients.value" },
	{ "count as a real", ipep_body, { P("eligibility.min_patients_exclusive/value"), "5000.0" }, false,
	  "parameters.eligibility.min_patients_exclusive.value" },
	{ "count out of bounds", ipep_body, { P("eligibility.min_gp_with_patients/value"), "-3" }, false,
	  "parameters.eligibility.min_gp_with_patients.value" },
	{ "profession too wide for its slot", peps_body, { P("eligibility.team_professions/value"), "[\"ABCDEFGH\"]" },
	  false, "parameters.eligibility.team_professions.value" },
	{ "kind item not a string", eds_body, { P("eligibility.kinds/value"), "[\"ES\", 2]" }, false,
	  "parameters.eligibility.kinds.value" },
	{ "boolean as a string", eds_body, { P("eligibility.require_finess/value"), "\"true\"" }, false,
	  "parameters.eligibility.require_finess.value" },
	{ "no experiment", eds_body, { "experiment", NULL }, false, "experiment" },
	{ "unknown experiment", peps_body, { "experiment", "\"XYZ\"" }, true, "experiment" },
	{ "missing boolean", peps_body, { P("patientele.whole_includes_ame"), NULL }, true,
	  "parameters.patientele.whole_includes_ame.value" },
	{ "ALD out of range", peps_body, { P("patientele.diabetes_ald/value"), "[8, 40]" }, true,
	  "parameters.patientele.diabetes_ald.value" },
	{ "too many ALD", peps_body, { P("patientele.neuro_ald/value"), SEVENTEEN }, true,
	  "parameters.patientele.neuro_ald.value" },
	{ "age as a list", peps_body, { P("patientele.elderly_min_age/value"), "[65]" }, true,
	  "parameters.patientele.elderly_min_age.value" },
};

START_TEST(readers_refuse_bad_bodies)
{
	const struct reader_case *c = &reader_cases[_i];
	json_t *body = edited(c->base, &c->edit, 1);
	struct a51_error err = { 0 };
	unsigned char zero[sizeof(struct elig_params) + sizeof(struct patientele_params)] = { 0 };
	int rc;

	if (c->patientele) {
		struct patientele_params pp;

		memset(&pp, 0x5a, sizeof(pp));
		rc = params_read_patientele(body, &pp, &err);
		ck_assert_msg(memcmp(&pp, zero, sizeof(pp)) == 0, "%s: struct not zeroed", c->name);
	} else {
		struct elig_params ep;

		memset(&ep, 0x5a, sizeof(ep));
		rc = params_read_eligibility(body, &ep, &err);
		ck_assert_msg(memcmp(&ep, zero, sizeof(ep)) == 0, "%s: struct not zeroed", c->name);
	}
	ck_assert_msg(rc == A51_EINVAL, "%s: rc %d", c->name, rc);
	ck_assert_int_eq(err.code, A51_EINVAL);
	ck_assert_msg(strcmp(err.field, c->field) == 0, "%s: field %s", c->name, err.field);
	ck_assert_msg(err.message[0] != '\0', "%s: no message", c->name);
	json_decref(body);
}
END_TEST

/* Every schema key is read by one of the readers: removing it makes one fail,
 * naming it. Together with schema_is_the_documented_keys, the readers and the
 * schema cannot drift apart. */
START_TEST(every_schema_key_is_read)
{
	const char *bodies[] = { peps_body, ipep_body, eds_body };

	for (size_t b = 0; b < A51_ARRAY_LEN(bodies); b++) {
		json_t *body = parse(bodies[b]);
		int exp = experiment_parse(json_string_value(json_object_get(body, "experiment")));
		size_t n;
		const struct param_def *defs = params_schema(exp, &n);

		for (size_t i = 0; i < n; i++) {
			json_t *copy = json_deep_copy(body);
			struct elig_params ep;
			struct patientele_params pp;
			struct peps_params kp;
			struct eds_params xp;
			struct ind_setup setup[1];
			struct a51_error e1 = { 0 }, e2 = { 0 }, e3 = { 0 };
			char want[64];
			int r1, r2, r3;

			json_object_del(json_object_get(copy, "parameters"), defs[i].key);
			r1 = params_read_eligibility(copy, &ep, &e1);
			r2 = params_read_patientele(copy, &pp, &e2);
			r3 = exp == EXP_PEPS ? params_read_peps(copy, &kp, &e3)
			     : exp == EXP_IPEP ? ind_setup_read(copy, setup, &e3) : params_read_eds(copy, &xp, &e3);
			snprintf(want, sizeof(want), "parameters.%s.value", defs[i].key);
			ck_assert_msg(r1 + r2 + r3 == A51_EINVAL, "%s: r1 %d r2 %d r3 %d", defs[i].key, r1, r2, r3);
			ck_assert_str_eq(r1 ? e1.field : r2 ? e2.field : e3.field, want);
			json_decref(copy);
		}
		json_decref(body);
	}
}
END_TEST

/* ---- the seed files ---- */

static const char *const seed_files[] = {
	"peps-2024.json", "peps-2025.json", "ipep-2024.json", "ipep-2025.json", "eds-2024.json", "eds-2025.json",
};

static json_t *load_seed(const char *file)
{
	char path[512];
	json_error_t jerr;
	json_t *body;

	snprintf(path, sizeof(path), "%s/%s", SEED_DIR, file);
	body = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_msg(body != NULL, "%s: %s (line %d)", path, jerr.text, jerr.line);
	return body;
}

START_TEST(seeds_validate)
{
	const char *file = seed_files[_i];
	json_t *body = load_seed(file), *errors = json_array();
	size_t n = params_validate(body, errors);
	char *s = dump(errors), want_exp[8];
	int year = 0;

	ck_assert_msg(n == 0, "%s: %s", file, s);
	/* the name says what is inside: <experiment>-<year>.json */
	ck_assert_int_eq(sscanf(file, "%4[a-z]-%d.json", want_exp, &year), 2);
	for (char *p = want_exp; *p; p++)
		*p = (char)(*p - 'a' + 'A');
	ck_assert_str_eq(json_string_value(json_object_get(body, "experiment")), want_exp);
	ck_assert_int_eq(json_integer_value(json_object_get(body, "year")), year);
	ck_assert_msg(strncmp(json_string_value(json_object_get(body, "label")), want_exp, strlen(want_exp)) == 0,
		      "%s: the label should start with the experiment", file);
	free(s);
	json_decref(errors);
	json_decref(body);
}
END_TEST

START_TEST(seeds_give_the_published_values)
{
	for (size_t i = 0; i < A51_ARRAY_LEN(seed_files); i++) {
		json_t *body = load_seed(seed_files[i]);

		switch (experiment_parse(json_string_value(json_object_get(body, "experiment")))) {
		case EXP_PEPS: check_peps_values(body); break;
		case EXP_IPEP: check_ipep_values(body); break;
		case EXP_EDS: check_eds_values(body); break;
		default: ck_abort_msg("%s: unknown experiment", seed_files[i]);
		}
		json_decref(body);
	}
}
END_TEST

/* The tags and sources of domain.md (§2.2, §2.3, §3.3, §4.1, §8) in every year's file. */
static const struct {
	const char *experiment;
	const char *key;
	const char *tag;
	const char *source;  /* a URL the source must contain; NULL: no source needed */
} seed_tags[] = {
	{ "PEPS", "eligibility.min_team_size", "S", FEMAS },
	{ "PEPS", "eligibility.team_professions", "S", FEMAS },
	{ "PEPS", "eligibility.min_gp", "S", FEMAS },
	{ "PEPS", "eligibility.min_nurses", "S", FEMAS },
	{ "PEPS", "eligibility.legal_forms", "S", CRRCETP },
	{ "PEPS", "eligibility.kinds_any_legal_form", "S", ESPACE },
	{ "PEPS", "eligibility.min_patients", "S", ESPACE },
	{ "PEPS", "patientele.elderly_min_age", "I", NULL },
	{ "PEPS", "patientele.neuro_min_age", "S", CRRCETP },
	{ "PEPS", "patientele.neuro_ald", "B", NULL },
	{ "PEPS", "patientele.diabetes_ald", "B", NULL },
	{ "PEPS", "patientele.whole_includes_ame", "S", "sources/002_816f21bbe75c858d.txt" },
	{ "PEPS", "forfait.risk_model", "I", NULL },
	{ "PEPS", "forfait.perimeter_acts", "S-trunc", "concourspluripro.fr" },
	{ "PEPS", "forfait.local_coefficient", "NF", NULL },
	{ "PEPS", "fidelisation.level", "I", NULL },
	{ "PEPS", "fidelisation.without_care", "I", NULL },
	{ "PEPS", "activity.uplift_quarters", "NF", NULL },
	{ "PEPS", "activity.uplift_rate", "NF", NULL },
	{ "PEPS", "quality.bonus_rate", "S", "JORFARTI000051070193" },
	{ "PEPS", "quality.presumed_score", "S", "JORFARTI000051070193" },
	{ "PEPS", "cap.rate", "S", "JORFTEXT000046618118" },
	{ "PEPS", "cap.without_prior_ffs", "I", NULL },
	{ "PEPS", "retrospective.bonus_share", "B", NULL },
	{ "PEPS", "payment.rounding", "I", NULL },
	{ "PEPS", "payment.instalment_due_days", "NF", NULL },
	{ "PEPS", "payment.adjustment_due", "B", NULL },
	{ "IPEP", "eligibility.min_patients_exclusive", "S", SOLSANTE },
	{ "IPEP", "eligibility.min_gp_with_patients", "I", NULL },
	{ "IPEP", "gains.c_ecart", "S", "JORFARTI000046174555" },
	{ "IPEP", "gains.c_evolution", "S", "JORFARTI000046174555" },
	{ "IPEP", "gains.c_partage", "S", "JORFARTI000046174555" },
	{ "IPEP", "gains.risk_model", "I", NULL },
	{ "IPEP", "patientele.reference_day", "I", NULL },
	{ "IPEP", "gains.truncate_observed", "I", NULL },
	{ "IPEP", "quality.target_decile", "S", "JORFARTI000046174554" },
	{ "IPEP", "quality.target_decile_decreasing", "S", "JORFARTI000046174554" },
	{ "IPEP", "quality.intermediate_decile", "S-trunc", "JORFARTI000046174554" },
	{ "IPEP", "quality.intermediate_decile_decreasing", "I", NULL },
	{ "IPEP", "quality.indicator_points", "NF", NULL },
	{ "IPEP", "quality.evolution_share", "I", NULL },
	{ "IPEP", "quality.experience_max_points", "S", "JORFARTI000046174554" },
	{ "IPEP", "modulation.floor_share", "NF", NULL },
	{ "IPEP", "modulation.full_share", "I", NULL },
	{ "IPEP", "credits.per_groupement_cents", "NF", NULL },
	{ "IPEP", "credits.per_patient_cents", "NF", NULL },
	{ "IPEP", "payment.rounding", "I", NULL },
	{ "IPEP", "payment.due", "NF", NULL },
	{ "IPEP", "indicators.catalogue", "B", NULL },
	{ "IPEP", "indicators.experience", "NF", NULL },
	{ "IPEP", "indicators.structure_kinds", "I", NULL },
	{ "IPEP", "indicators.min_denominator", "I", NULL },
	{ "IPEP", "indicators.confidence_z", "I", NULL },
	{ "EDS", "eligibility.kinds", "S", SANTEGOUV },
	{ "EDS", "eligibility.require_finess", "I", NULL },
	{ "EDS", "episodes.window_before_days", "NF", NULL },
	{ "EDS", "episodes.window_after_days", "B", NULL },
	{ "EDS", "episodes.lookback_days", "S", "sources/002" },
	{ "EDS", "episodes.transfer_gap_days", "I", NULL },
	{ "EDS", "trigger.pth_ghm_root", "S", "sources/002" },
	{ "EDS", "trigger.ptg_ghm_root", "S", "sources/002" },
	{ "EDS", "trigger.colectomy_ghm_root", "S", "sources/002" },
	{ "EDS", "trigger.colectomy_diagnoses", "I", NULL },
	{ "EDS", "exclusions.palliative_diagnoses", "I", NULL },
	{ "EDS", "exclusions.total_colectomy_acts", "I", NULL },
	{ "EDS", "complications.planned_ghm_prefixes", "I", NULL },
	{ "EDS", "model.pth", "I", NULL },
	{ "EDS", "model.ptg", "I", NULL },
	{ "EDS", "model.colectomy", "I", NULL },
	{ "EDS", "reconciliation.gain_share", "NF", NULL },
	{ "EDS", "reconciliation.loss_share", "NF", NULL },
	{ "EDS", "reconciliation.stop_gain", "NF", NULL },
	{ "EDS", "reconciliation.stop_loss", "NF", NULL },
	{ "EDS", "reconciliation.two_sided_from_year", "S-trunc", "sources/002" },
	{ "EDS", "quality.envelope_share", "NF", NULL },
	{ "EDS", "quality.indicators", "NF", NULL },
	{ "EDS", "payment.rounding", "I", NULL },
	{ "EDS", "payment.due", "NF", NULL },
};

START_TEST(seeds_carry_tags_and_sources)
{
	for (size_t f = 0; f < A51_ARRAY_LEN(seed_files); f++) {
		json_t *body = load_seed(seed_files[f]);
		const char *exp = json_string_value(json_object_get(body, "experiment"));
		size_t checked = 0;

		for (size_t i = 0; i < A51_ARRAY_LEN(seed_tags); i++) {
			const json_t *entry;
			const char *source;

			if (strcmp(seed_tags[i].experiment, exp) != 0)
				continue;
			entry = json_object_get(json_object_get(body, "parameters"), seed_tags[i].key);
			ck_assert_msg(entry != NULL, "%s: %s missing", seed_files[f], seed_tags[i].key);
			ck_assert_msg(strcmp(json_string_value(json_object_get(entry, "tag")), seed_tags[i].tag) == 0,
				      "%s: %s should be tagged %s", seed_files[f], seed_tags[i].key, seed_tags[i].tag);
			source = json_string_value(json_object_get(entry, "source"));
			if (seed_tags[i].source)
				ck_assert_msg(source && strstr(source, seed_tags[i].source), "%s: %s source lacks %s",
					      seed_files[f], seed_tags[i].key, seed_tags[i].source);
			/* [I] and [B] values say in a note what is assumed */
			if (strcmp(seed_tags[i].tag, "S") != 0)
				ck_assert_msg(json_is_string(json_object_get(entry, "note")), "%s: %s has no note",
					      seed_files[f], seed_tags[i].key);
			checked++;
		}
		ck_assert_uint_eq(checked, json_object_size(json_object_get(body, "parameters")));
		json_decref(body);
	}
}
END_TEST

static Suite *params_suite(void)
{
	Suite *s = suite_create("params");
	TCase *tc = tcase_create("domain");

	tcase_add_test(tc, experiment_names);
	tcase_add_test(tc, schema_is_the_documented_keys);
	tcase_add_test(tc, valid_bodies_have_no_fault);
	tcase_add_loop_test(tc, broken_bodies, 0, (int)A51_ARRAY_LEN(broken_cases));
	tcase_add_test(tc, body_not_an_object);
	tcase_add_test(tc, count_without_errors_array);
	tcase_add_test(tc, long_unicode_key);
	tcase_add_test(tc, value_lookup);
	tcase_add_test(tc, readers_fill_the_structs);
	tcase_add_loop_test(tc, readers_refuse_bad_bodies, 0, (int)A51_ARRAY_LEN(reader_cases));
	tcase_add_test(tc, every_schema_key_is_read);
	tcase_add_loop_test(tc, seeds_validate, 0, (int)A51_ARRAY_LEN(seed_files));
	tcase_add_test(tc, seeds_give_the_published_values);
	tcase_add_test(tc, seeds_carry_tags_and_sources);
	suite_add_tcase(s, tc);
	return s;
}

A51_CHECK_MAIN(params_suite)
