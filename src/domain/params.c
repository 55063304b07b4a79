#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "a51/eds.h"
#include "a51/indicators.h"
#include "a51/params.h"
#include "a51/util.h"
#include "a51/banned.h"

#define COUNT_MAX 1000000
#define AGE_MAX 120
#define ALD_MIN 1
#define ALD_MAX 32 /* 1..30 of the list, 31 "hors liste", 32 "polypathologies" */
#define YEAR_MIN 2018
#define YEAR_MAX 2100
#define LIST_ITEM_MAX 23 /* the widest string list slot: legal_forms[][24] */

static const char *const experiment_names[] = {
	[EXP_PEPS] = "PEPS",
	[EXP_IPEP] = "IPEP",
	[EXP_EDS] = "EDS",
};

int experiment_parse(const char *s)
{
	if (!s)
		return EXP_NONE;
	for (size_t i = 0; i < A51_ARRAY_LEN(experiment_names); i++)
		if (experiment_names[i] && strcmp(s, experiment_names[i]) == 0)
			return (int)i;
	return EXP_NONE;
}

const char *experiment_name(int experiment)
{
	if (experiment <= EXP_NONE || (size_t)experiment >= A51_ARRAY_LEN(experiment_names))
		return NULL;
	return experiment_names[experiment];
}

/*
 * The schema. For PT_STRING_LIST, min and max bound the length in bytes of each
 * item: max is the capacity of the slot the item is read into, minus its NUL,
 * so that a body that validates can always be read.
 */
#define COUNT(exp, key, help) { exp, key, PT_INT, 0, COUNT_MAX, help, NULL, NULL }
#define AGE(exp, key, help) { exp, key, PT_INT, 0, AGE_MAX, help, NULL, NULL }
#define ALDS(exp, key, help) { exp, key, PT_INT_LIST, ALD_MIN, ALD_MAX, help, NULL, NULL }
#define WORDS(exp, key, width, help) { exp, key, PT_STRING_LIST, 1, width, help, NULL, NULL }
#define FLAG(exp, key, help) { exp, key, PT_BOOL, 0, 0, help, NULL, NULL }
#define INTS(exp, key, lo, hi, help) { exp, key, PT_INT, lo, hi, help, NULL, NULL }
#define NUM(exp, key, lo, hi, help) { exp, key, PT_NUMBER, lo, hi, help, NULL, NULL }
#define TEXT(exp, key, width, help) { exp, key, PT_STRING, 1, width, help, NULL, NULL }
#define CHOICE(exp, key, allowed, help) { exp, key, PT_STRING, 1, 23, help, allowed, NULL }
#define STRUCTURED(exp, key, fn, help) { exp, key, PT_STRUCTURED, 0, 0, help, NULL, fn }

static const struct param_def peps_schema[] = {
	COUNT(EXP_PEPS, "eligibility.min_team_size",
	      "minimum number of team members whose profession is in eligibility.team_professions"),
	WORDS(EXP_PEPS, "eligibility.team_professions", 7, "professions counted in the team size (MG, IDE)"),
	COUNT(EXP_PEPS, "eligibility.min_gp", "minimum number of general practitioners (MG) in the team"),
	COUNT(EXP_PEPS, "eligibility.min_nurses", "minimum number of nurses (IDE) in the team"),
	WORDS(EXP_PEPS, "eligibility.legal_forms", 23, "legal forms able to receive the team forfait (SISA)"),
	WORDS(EXP_PEPS, "eligibility.kinds_any_legal_form", 11,
	      "structure kinds eligible whatever their legal form (CDS)"),
	COUNT(EXP_PEPS, "eligibility.min_patients", "minimum number of covered MT patients of the option"),
	AGE(EXP_PEPS, "patientele.elderly_min_age", "option elderly: minimum age on the reference date"),
	AGE(EXP_PEPS, "patientele.neuro_min_age",
	    "option elderly: minimum age of patients with a neurodegenerative ALD"),
	ALDS(EXP_PEPS, "patientele.neuro_ald", "option elderly: ALD codes of neurodegenerative diseases"),
	ALDS(EXP_PEPS, "patientele.diabetes_ald", "option diabetic: ALD codes of diabetes"),
	FLAG(EXP_PEPS, "patientele.whole_includes_ame", "option whole: AME beneficiaries are covered too"),
	/* the forfait (domain.md §2.5) */
	TEXT(EXP_PEPS, "forfait.risk_model", 63,
	     "name of the national risk model whose latest version gives each patient's reference cost"),
	WORDS(EXP_PEPS, "forfait.perimeter_acts", 7,
	      "act codes of the substitution perimeter: fidelisation and the fee-for-service it replaces"),
	NUM(EXP_PEPS, "forfait.local_coefficient", 0.1, 10, "the local coefficient (spending level, supply, poverty)"),
	CHOICE(EXP_PEPS, "fidelisation.level", "team,patient",
	       "team: one share for the team; patient: each patient's own share of perimeter care"),
	NUM(EXP_PEPS, "fidelisation.without_care", 0, 1,
	    "the fidelisation of a patient (or team) with no perimeter care in the year"),
	WORDS(EXP_PEPS, "activity.uplift_quarters", 6, "quarters of extreme activity (e.g. an epidemic), as 2024Q1"),
	NUM(EXP_PEPS, "activity.uplift_rate", 0, 1, "extra share of the forfait in those quarters"),
	NUM(EXP_PEPS, "quality.bonus_rate", 0, 1, "the quality bonus at a full score, as a share of the forfait"),
	NUM(EXP_PEPS, "quality.presumed_score", 0, 1, "the quality score presumed while none is measured (0..1)"),
	NUM(EXP_PEPS, "cap.rate", 0, 10,
	    "the year's remuneration is at most (1 + rate) x the fee-for-service of the year before"),
	CHOICE(EXP_PEPS, "cap.without_prior_ffs", "no_cap,zero",
	       "when the team billed nothing on the perimeter the year before: no cap, or a cap of zero"),
	NUM(EXP_PEPS, "retrospective.bonus_share", 0, 1,
	    "retrospective phase: share of max(0, forfait - fee-for-service) paid as a bonus"),
	CHOICE(EXP_PEPS, "payment.rounding", "half_up,half_even,down", "how amounts become whole cents"),
	INTS(EXP_PEPS, "payment.instalment_due_days", 0, 91, "an instalment is due this many days after its quarter starts"),
	TEXT(EXP_PEPS, "payment.adjustment_due", 5, "the year-end adjustment and bonuses are due on this MM-DD of the next year"),
};

static const struct param_def ipep_schema[] = {
	COUNT(EXP_IPEP, "eligibility.min_patients_exclusive",
	      "the MT patientele of the member GPs must be strictly greater than this"),
	COUNT(EXP_IPEP, "eligibility.min_gp_with_patients",
	      "minimum number of member GPs who are the MT of at least one patient"),
	NUM(EXP_IPEP, "gains.c_ecart", 0, 1, "weight of the level gap (C_ecart)"),
	NUM(EXP_IPEP, "gains.c_evolution", 0, 1, "weight of the evolution gap (C_evolution); C_ecart + C_evolution = 1"),
	NUM(EXP_IPEP, "gains.c_partage", 0, 1, "share of the weighted gains paid back (C_partage)"),
	TEXT(EXP_IPEP, "gains.risk_model", 63, "name of the national risk model giving each patient's expected spending"),
	TEXT(EXP_IPEP, "patientele.reference_day", 5,
	     "MM-DD of the year: patients whose declared GP is a member GP that day make the patientele"),
	FLAG(EXP_IPEP, "gains.truncate_observed", "observed spending is capped like the model's target"),
	INTS(EXP_IPEP, "quality.target_decile", 1, 9, "target: this decile of the territories' results"),
	INTS(EXP_IPEP, "quality.target_decile_decreasing", 1, 9, "target of a decreasing indicator"),
	INTS(EXP_IPEP, "quality.intermediate_decile", 1, 9, "intermediate objective: this decile"),
	INTS(EXP_IPEP, "quality.intermediate_decile_decreasing", 1, 9, "intermediate objective of a decreasing indicator"),
	NUM(EXP_IPEP, "quality.indicator_points", 0, 1000, "points of each indicator (all weigh the same)"),
	NUM(EXP_IPEP, "quality.evolution_share", 0, 1,
	    "below the intermediate objective: at most this share of the points, for the way covered towards it"),
	NUM(EXP_IPEP, "quality.experience_max_points", 0, 1000, "points from the patient-experience questionnaire, at most"),
	NUM(EXP_IPEP, "modulation.floor_share", 0, 1, "no gains below this share of the maximum score"),
	NUM(EXP_IPEP, "modulation.full_share", 0, 1, "all the gains from this share of the maximum score"),
	INTS(EXP_IPEP, "credits.per_groupement_cents", 0, 1e12, "start-up credits of a groupement in phase 1, cents"),
	INTS(EXP_IPEP, "credits.per_patient_cents", 0, 1e9, "start-up credits per patient in phase 1, cents"),
	CHOICE(EXP_IPEP, "payment.rounding", "half_up,half_even,down", "how amounts become whole cents"),
	TEXT(EXP_IPEP, "payment.due", 5, "the incentive is due on this MM-DD of the next year"),
	STRUCTURED(EXP_IPEP, "indicators.catalogue", ind_catalogue_check,
		   "the quality indicators: code, label, theme, direction, population, measure (indicators.h)"),
	STRUCTURED(EXP_IPEP, "indicators.experience", ind_experience_check,
		   "the patient-experience questionnaire: its name, answer scale, dimensions and their items"),
	WORDS(EXP_IPEP, "indicators.structure_kinds", 11, "kinds of structure whose indicators are computed"),
	COUNT(EXP_IPEP, "indicators.min_denominator", "a value enters the territory's deciles from this denominator"),
	NUM(EXP_IPEP, "indicators.confidence_z", 0.5, 5, "normal quantile of the confidence intervals (1.96: 95 %)"),
};

static const struct param_def eds_schema[] = {
	WORDS(EXP_EDS, "eligibility.kinds", 11, "structure kinds that may take part (ES)"),
	FLAG(EXP_EDS, "eligibility.require_finess", "the structure must have a FINESS number"),
	INTS(EXP_EDS, "episodes.window_before_days", 0, 365, "the window opens this many days before admission"),
	INTS(EXP_EDS, "episodes.window_after_days", 0, 365, "the window closes this many days after the index discharge"),
	INTS(EXP_EDS, "episodes.lookback_days", 0, 3650, "a similar intervention this many days before excludes"),
	INTS(EXP_EDS, "episodes.transfer_gap_days", 0, 7, "an MCO transfer admitted within this many days is chained"),
	TEXT(EXP_EDS, "trigger.pth_ghm_root", 5, "GHM root of a total hip replacement"),
	TEXT(EXP_EDS, "trigger.ptg_ghm_root", 5, "GHM root of a total knee replacement"),
	TEXT(EXP_EDS, "trigger.colectomy_ghm_root", 5, "GHM root of a colectomy"),
	WORDS(EXP_EDS, "trigger.colectomy_diagnoses", 7, "main diagnoses (ICD-10 prefixes) of a colectomy for colon cancer"),
	WORDS(EXP_EDS, "exclusions.palliative_diagnoses", 7, "diagnoses (ICD-10 prefixes) of a discharge to palliative care"),
	WORDS(EXP_EDS, "exclusions.total_colectomy_acts", 7, "CCAM acts of a total colectomy"),
	WORDS(EXP_EDS, "complications.planned_ghm_prefixes", 7, "GHM prefixes of planned sessions: not complications"),
	TEXT(EXP_EDS, "model.pth", 63, "name of the risk model of hip episodes"),
	TEXT(EXP_EDS, "model.ptg", 63, "name of the risk model of knee episodes"),
	TEXT(EXP_EDS, "model.colectomy", 63, "name of the risk model of colectomy episodes"),
	NUM(EXP_EDS, "reconciliation.gain_share", 0, 1, "share of a gain (target above actual) paid to the establishment"),
	NUM(EXP_EDS, "reconciliation.loss_share", 0, 1, "two-sided: share of a loss the establishment pays back"),
	NUM(EXP_EDS, "reconciliation.stop_gain", 0, 1, "two-sided: the gain paid is at most this share of the target"),
	NUM(EXP_EDS, "reconciliation.stop_loss", 0, 1, "two-sided: the loss paid back is at most this share of the target"),
	INTS(EXP_EDS, "reconciliation.two_sided_from_year", 2018, 2100, "two-sided reconciliation from this year on"),
	NUM(EXP_EDS, "quality.envelope_share", 0, 1, "the quality envelope, as a share of the target, at a full score"),
	WORDS(EXP_EDS, "quality.indicators", 7,
	      "indicators scored against the model's national reference: COMPL, LOS, PREOP, CHEMO"),
	CHOICE(EXP_EDS, "payment.rounding", "half_up,half_even,down", "how amounts become whole cents"),
	TEXT(EXP_EDS, "payment.due", 5, "the reconciliation is due on this MM-DD of the next year"),
};

const struct param_def *params_schema(int experiment, size_t *n)
{
	switch (experiment) {
	case EXP_PEPS:
		*n = A51_ARRAY_LEN(peps_schema);
		return peps_schema;
	case EXP_IPEP:
		*n = A51_ARRAY_LEN(ipep_schema);
		return ipep_schema;
	case EXP_EDS:
		*n = A51_ARRAY_LEN(eds_schema);
		return eds_schema;
	default:
		*n = 0;
		return NULL;
	}
}

static const struct param_def *schema_find(int experiment, const char *key)
{
	size_t n;
	const struct param_def *defs = params_schema(experiment, &n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(defs[i].key, key) == 0)
			return &defs[i];
	return NULL;
}

/* ---- validation ---- */

/* Counts the fault even when appending fails (no memory, or no array given), so
 * that a body is never declared valid because its faults could not be recorded. */
__attribute__((format(printf, 3, 4)))
static size_t fault(json_t *errors, const char *field, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	if (!json_is_array(errors))
		return 1;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	json_array_append_new(errors, json_pack("{s:s, s:s}", "field", field, "reason", reason));
	return 1;
}

/* "parameters.<key>" or "parameters.<key>.<member>". A long key is cut at a
 * character boundary: the path goes back out as JSON, which must stay UTF-8. */
static void field_path(char *dst, size_t cap, const char *key, const char *member)
{
	size_t klen = strlen(key), mlen = member ? strlen(member) : 0;

	if (klen > 160)
		for (klen = 160; klen > 0 && ((unsigned char)key[klen] & 0xC0) == 0x80; klen--)
			;
	if (mlen > 64)
		for (mlen = 64; mlen > 0 && ((unsigned char)member[mlen] & 0xC0) == 0x80; mlen--)
			;
	snprintf(dst, cap, "parameters.%.*s%s%.*s", (int)klen, key, member ? "." : "", (int)mlen,
		 member ? member : "");
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "a list";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static bool is_blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return false;
	return true;
}

static bool tag_known(const char *t)
{
	static const char *const tags[] = { "S", "S-trunc", "I", "B", "NF" };

	for (size_t i = 0; i < A51_ARRAY_LEN(tags); i++)
		if (strcmp(t, tags[i]) == 0)
			return true;
	return false;
}

static bool int_in_bounds(const json_t *v, const struct param_def *d)
{
	json_int_t i = json_integer_value(v);

	return (double)i >= d->min && (double)i <= d->max;
}

static size_t check_list_item(json_t *errors, const char *field, const struct param_def *d, const json_t *item)
{
	if (d->type == PT_INT_LIST) {
		if (!json_is_integer(item))
			return fault(errors, field, "Each item must be an integer, got %s.", json_kind(item));
		if (!int_in_bounds(item, d))
			return fault(errors, field, "Each item must be between %.0f and %.0f, got %" JSON_INTEGER_FORMAT ".",
				     d->min, d->max, json_integer_value(item));
		return 0;
	}
	size_t width = d->max < LIST_ITEM_MAX ? (size_t)d->max : LIST_ITEM_MAX;

	if (!json_is_string(item) || json_string_length(item) < 1 || json_string_length(item) > width)
		return fault(errors, field, "Each item must be a non-empty string of at most %zu characters.", width);
	return 0;
}

/* Whether s is one of the comma-separated words of allowed. */
static bool choice_ok(const char *allowed, const char *s)
{
	size_t n = strlen(s);

	for (const char *p = allowed; *p;) {
		size_t w = strcspn(p, ",");
		if (w == n && strncmp(p, s, n) == 0)
			return true;
		p += w;
		if (*p == ',')
			p++;
	}
	return false;
}

static size_t check_value(json_t *errors, const char *key, const struct param_def *d, const json_t *v)
{
	char field[256];
	size_t n = 0;

	field_path(field, sizeof(field), key, "value");
	switch (d->type) {
	case PT_INT:
		if (!json_is_integer(v))
			return fault(errors, field, "The value must be an integer, got %s.", json_kind(v));
		if (!int_in_bounds(v, d))
			return fault(errors, field, "The value must be between %.0f and %.0f, got %" JSON_INTEGER_FORMAT ".",
				     d->min, d->max, json_integer_value(v));
		return 0;
	case PT_NUMBER:
		if (!json_is_number(v))
			return fault(errors, field, "The value must be a number, got %s.", json_kind(v));
		if (json_number_value(v) < d->min || json_number_value(v) > d->max)
			return fault(errors, field, "The value must be between %g and %g, got %g.", d->min, d->max,
				     json_number_value(v));
		return 0;
	case PT_BOOL:
		if (!json_is_boolean(v))
			return fault(errors, field, "The value must be true or false, got %s.", json_kind(v));
		return 0;
	case PT_STRING:
		if (!json_is_string(v) || json_string_length(v) == 0)
			return fault(errors, field, "The value must be a non-empty string.");
		if (d->max > 0 && json_string_length(v) > (size_t)d->max)
			return fault(errors, field, "The value must be at most %.0f characters.", d->max);
		if (d->allowed && !choice_ok(d->allowed, json_string_value(v)))
			return fault(errors, field, "The value must be one of %s.", d->allowed);
		return 0;
	case PT_INT_LIST:
	case PT_STRING_LIST: {
		size_t len = json_array_size(v);

		if (!json_is_array(v))
			return fault(errors, field, "The value must be a list, got %s.", json_kind(v));
		if (len > PARAMS_LIST_MAX) {
			n += fault(errors, field, "The list must have at most %d items, got %zu.", PARAMS_LIST_MAX, len);
			len = PARAMS_LIST_MAX; /* a huge list must not give as many faults */
		}
		for (size_t i = 0; i < len; i++) {
			char item[sizeof(field) + 24];

			snprintf(item, sizeof(item), "%s[%zu]", field, i);
			n += check_list_item(errors, item, d, json_array_get(v, i));
		}
		return n;
	}
	case PT_STRUCTURED:
		return d->check(errors, field, v);
	}
	return fault(errors, field, "The schema gives this parameter an unknown type.");
}

/* One entry of "parameters"; d is NULL when the experiment is unknown, and then
 * only the shape common to every parameter is checked. */
static size_t check_entry(json_t *errors, const char *key, json_t *entry, const struct param_def *d)
{
	static const char *const members[] = { "value", "tag", "source", "note" };
	const json_t *v, *tag, *source, *note;
	const char *member;
	json_t *ignored;
	char field[256];
	size_t n = 0;

	field_path(field, sizeof(field), key, NULL);
	if (!json_is_object(entry))
		return fault(errors, field, "Each parameter must be an object with a value, a tag and a source.");

	json_object_foreach(entry, member, ignored) {
		bool known = false;

		for (size_t i = 0; i < A51_ARRAY_LEN(members); i++)
			known = known || strcmp(member, members[i]) == 0;
		if (!known) {
			field_path(field, sizeof(field), key, member);
			n += fault(errors, field, "A parameter has only value, tag, source and note.");
		}
	}

	v = json_object_get(entry, "value");
	if (!v) {
		field_path(field, sizeof(field), key, "value");
		n += fault(errors, field, "The value is required.");
	} else if (d) {
		n += check_value(errors, key, d, v);
	}

	tag = json_object_get(entry, "tag");
	field_path(field, sizeof(field), key, "tag");
	if (!json_is_string(tag) || !tag_known(json_string_value(tag)))
		n += fault(errors, field, "The tag must be one of S, S-trunc, I, B or NF.");

	source = json_object_get(entry, "source");
	field_path(field, sizeof(field), key, "source");
	if (source && !json_is_string(source))
		n += fault(errors, field, "The source must be a string, got %s.", json_kind(source));
	else if (json_is_string(tag) && (strcmp(json_string_value(tag), "S") == 0 ||
					 strcmp(json_string_value(tag), "S-trunc") == 0) &&
		 (!source || is_blank(json_string_value(source))))
		n += fault(errors, field, "A source is required when the tag is S or S-trunc.");

	note = json_object_get(entry, "note");
	field_path(field, sizeof(field), key, "note");
	if (note && !json_is_string(note))
		n += fault(errors, field, "The note must be a string, got %s.", json_kind(note));
	return n;
}

size_t params_validate(const json_t *body, json_t *errors)
{
	const json_t *e, *year, *label;
	json_t *params, *entry;
	const char *key;
	int exp = EXP_NONE;
	size_t n = 0;

	if (!json_is_object(body))
		return fault(errors, "body", "The body must be a JSON object.");

	e = json_object_get(body, "experiment");
	if (json_is_string(e))
		exp = experiment_parse(json_string_value(e));
	if (exp == EXP_NONE)
		n += fault(errors, "experiment", "The experiment must be PEPS, IPEP or EDS.");

	year = json_object_get(body, "year");
	if (!json_is_integer(year) || json_integer_value(year) < YEAR_MIN || json_integer_value(year) > YEAR_MAX)
		n += fault(errors, "year", "The year must be an integer between %d and %d.", YEAR_MIN, YEAR_MAX);

	label = json_object_get(body, "label");
	if (!json_is_string(label) || is_blank(json_string_value(label)))
		n += fault(errors, "label", "The label must be a non-empty string.");

	/* Unknown members would be stored and change the checksum unseen. */
	{
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)body, k, v) {
			if (strcmp(k, "experiment") && strcmp(k, "year") && strcmp(k, "label") && strcmp(k, "parameters"))
				n += fault(errors, k, "Unknown member: a parameter set has experiment, year, label and "
						      "parameters only.");
		}
	}

	/* jansson's iterators take a non-const object; nothing below modifies it. */
	params = json_object_get(body, "parameters");
	if (!json_is_object(params))
		return n + fault(errors, "parameters", "The parameters must be an object mapping each key to its entry.");

	if (exp != EXP_NONE) {
		size_t ndefs;
		const struct param_def *defs = params_schema(exp, &ndefs);

		for (size_t i = 0; i < ndefs; i++) {
			char field[256];

			if (json_object_get(params, defs[i].key))
				continue;
			field_path(field, sizeof(field), defs[i].key, NULL);
			n += fault(errors, field, "This parameter is required: %s.", defs[i].help);
		}
	}

	json_object_foreach(params, key, entry) {
		const struct param_def *d = NULL;

		if (exp != EXP_NONE) {
			d = schema_find(exp, key);
			if (!d) {
				char field[256];

				field_path(field, sizeof(field), key, NULL);
				n += fault(errors, field, "%s has no such parameter.", experiment_name(exp));
				continue;
			}
		}
		n += check_entry(errors, key, entry, d);
	}
	/* rules across values (C_ecart + C_evolution = 1) and shapes (2024Q1,
	 * MM-DD) that the readers check: a set that validates must read */
	if (n == 0 && exp != EXP_NONE) {
		struct a51_error err = { 0 };
		struct peps_params kp;
		struct ipep_params ip;
		struct eds_params xp;
		int rc = exp == EXP_PEPS ? params_read_peps(body, &kp, &err)
			 : exp == EXP_IPEP ? params_read_ipep(body, &ip, &err) : params_read_eds(body, &xp, &err);
		if (rc < 0)
			n += fault(errors, err.field, "%s", err.message);
	}
	return n;
}

const json_t *params_value(const json_t *body, const char *key)
{
	if (!key)
		return NULL;
	return json_object_get(json_object_get(json_object_get(body, "parameters"), key), "value");
}

/* ---- typed readers ---- */

/* Where each key lands in the struct it is read into; its type and bounds come
 * from the schema, so the two tables cannot disagree on them. */
struct param_slot {
	int experiment;
	const char *key;
	size_t off;    /* the value, or the first item of a list */
	size_t width;  /* PT_STRING_LIST: bytes per item, NUL included */
	size_t n_off;  /* lists: the item count (int) */
};

#define E_ONE(exp, key, f) { exp, key, offsetof(struct elig_params, f), 0, 0 }
#define E_WORDS(exp, key, f, nf) \
	{ exp, key, offsetof(struct elig_params, f), sizeof(((struct elig_params *)0)->f[0]), \
	  offsetof(struct elig_params, nf) }
#define P_ONE(key, f) { EXP_PEPS, key, offsetof(struct patientele_params, f), 0, 0 }
#define P_INTS(key, f, nf) \
	{ EXP_PEPS, key, offsetof(struct patientele_params, f), 0, offsetof(struct patientele_params, nf) }

static const struct param_slot elig_slots[] = {
	E_ONE(EXP_PEPS, "eligibility.min_team_size", min_team_size),
	E_WORDS(EXP_PEPS, "eligibility.team_professions", team_professions, n_team_professions),
	E_ONE(EXP_PEPS, "eligibility.min_gp", min_gp),
	E_ONE(EXP_PEPS, "eligibility.min_nurses", min_nurses),
	E_WORDS(EXP_PEPS, "eligibility.legal_forms", legal_forms, n_legal_forms),
	E_WORDS(EXP_PEPS, "eligibility.kinds_any_legal_form", kinds_any_legal_form, n_kinds_any_legal_form),
	E_ONE(EXP_PEPS, "eligibility.min_patients", min_patients),
	E_ONE(EXP_IPEP, "eligibility.min_patients_exclusive", min_patients_exclusive),
	E_ONE(EXP_IPEP, "eligibility.min_gp_with_patients", min_gp_with_patients),
	E_WORDS(EXP_EDS, "eligibility.kinds", kinds, n_kinds),
	E_ONE(EXP_EDS, "eligibility.require_finess", require_finess),
};

static const struct param_slot patientele_slots[] = {
	P_ONE("patientele.elderly_min_age", elderly_min_age),
	P_ONE("patientele.neuro_min_age", neuro_min_age),
	P_INTS("patientele.neuro_ald", neuro_ald, n_neuro_ald),
	P_INTS("patientele.diabetes_ald", diabetes_ald, n_diabetes_ald),
	P_ONE("patientele.whole_includes_ame", whole_includes_ame),
};

#define K_ONE(key, f) { EXP_PEPS, key, offsetof(struct peps_params, f), sizeof(((struct peps_params *)0)->f), 0 }
#define K_WORDS(key, f, nf) \
	{ EXP_PEPS, key, offsetof(struct peps_params, f), sizeof(((struct peps_params *)0)->f[0]), \
	  offsetof(struct peps_params, nf) }

static const struct param_slot peps_slots[] = {
	K_ONE("forfait.risk_model", risk_model),
	K_WORDS("forfait.perimeter_acts", perimeter_acts, n_perimeter_acts),
	K_ONE("forfait.local_coefficient", local_coefficient),
	K_ONE("fidelisation.level", fidelisation_level),
	K_ONE("fidelisation.without_care", fidelisation_without_care),
	K_WORDS("activity.uplift_quarters", uplift_quarters, n_uplift_quarters),
	K_ONE("activity.uplift_rate", uplift_rate),
	K_ONE("quality.bonus_rate", quality_bonus_rate),
	K_ONE("quality.presumed_score", quality_presumed_score),
	K_ONE("cap.rate", cap_rate),
	K_ONE("cap.without_prior_ffs", cap_without_prior_ffs),
	K_ONE("retrospective.bonus_share", retrospective_bonus_share),
	K_ONE("payment.rounding", rounding),
	K_ONE("payment.instalment_due_days", instalment_due_days),
	K_ONE("payment.adjustment_due", adjustment_due),
};

#define I_ONE(key, f) { EXP_IPEP, key, offsetof(struct ipep_params, f), sizeof(((struct ipep_params *)0)->f), 0 }

static const struct param_slot ipep_slots[] = {
	I_ONE("gains.c_ecart", c_ecart),
	I_ONE("gains.c_evolution", c_evolution),
	I_ONE("gains.c_partage", c_partage),
	I_ONE("gains.risk_model", risk_model),
	I_ONE("patientele.reference_day", reference_day),
	I_ONE("gains.truncate_observed", truncate_observed),
	I_ONE("quality.target_decile", target_decile),
	I_ONE("quality.target_decile_decreasing", target_decile_decreasing),
	I_ONE("quality.intermediate_decile", intermediate_decile),
	I_ONE("quality.intermediate_decile_decreasing", intermediate_decile_decreasing),
	I_ONE("quality.indicator_points", indicator_points),
	I_ONE("quality.evolution_share", evolution_share),
	I_ONE("quality.experience_max_points", experience_max_points),
	I_ONE("modulation.floor_share", modulation_floor),
	I_ONE("modulation.full_share", modulation_full),
	I_ONE("credits.per_groupement_cents", credits_per_groupement_cents),
	I_ONE("credits.per_patient_cents", credits_per_patient_cents),
	I_ONE("payment.rounding", rounding),
	I_ONE("payment.due", payment_due),
};

#define X_ONE(key, f) { EXP_EDS, key, offsetof(struct eds_params, f), sizeof(((struct eds_params *)0)->f), 0 }
#define X_WORDS(key, f, nf) \
	{ EXP_EDS, key, offsetof(struct eds_params, f), sizeof(((struct eds_params *)0)->f[0]), \
	  offsetof(struct eds_params, nf) }

static const struct param_slot eds_slots[] = {
	X_ONE("episodes.window_before_days", window_before),
	X_ONE("episodes.window_after_days", window_after),
	X_ONE("episodes.lookback_days", lookback),
	X_ONE("episodes.transfer_gap_days", transfer_gap),
	X_ONE("trigger.pth_ghm_root", root_pth),
	X_ONE("trigger.ptg_ghm_root", root_ptg),
	X_ONE("trigger.colectomy_ghm_root", root_colectomy),
	X_WORDS("trigger.colectomy_diagnoses", colectomy_diagnoses, n_colectomy_diagnoses),
	X_WORDS("exclusions.palliative_diagnoses", palliative_diagnoses, n_palliative_diagnoses),
	X_WORDS("exclusions.total_colectomy_acts", total_colectomy_acts, n_total_colectomy_acts),
	X_WORDS("complications.planned_ghm_prefixes", planned_ghm_prefixes, n_planned_ghm_prefixes),
	X_ONE("model.pth", model_pth),
	X_ONE("model.ptg", model_ptg),
	X_ONE("model.colectomy", model_colectomy),
	X_ONE("reconciliation.gain_share", gain_share),
	X_ONE("reconciliation.loss_share", loss_share),
	X_ONE("reconciliation.stop_gain", stop_gain),
	X_ONE("reconciliation.stop_loss", stop_loss),
	X_ONE("reconciliation.two_sided_from_year", two_sided_from),
	X_ONE("quality.envelope_share", quality_envelope),
	X_WORDS("quality.indicators", quality_indicators, n_quality_indicators),
	X_ONE("payment.rounding", rounding),
	X_ONE("payment.due", payment_due),
};

static int read_experiment(const json_t *body, struct a51_error *err)
{
	const json_t *e = json_object_get(body, "experiment");
	int exp = json_is_string(e) ? experiment_parse(json_string_value(e)) : EXP_NONE;

	if (exp == EXP_NONE)
		return a51_error_set(err, A51_EINVAL, "experiment", "the experiment must be PEPS, IPEP or EDS");
	return exp;
}

static int read_slot(const json_t *body, const struct param_slot *s, char *base, struct a51_error *err)
{
	const struct param_def *d;
	const json_t *v;
	char field[64];
	size_t len;

	snprintf(field, sizeof(field), "parameters.%s.value", s->key);
	d = schema_find(s->experiment, s->key);
	v = params_value(body, s->key);
	if (!d)
		return a51_error_set(err, A51_EINTERNAL, field, "parameter %s is not in the schema", s->key);
	if (!v)
		return a51_error_set(err, A51_EINVAL, field, "parameter %s is missing", s->key);

	switch (d->type) {
	case PT_INT:
		if (!json_is_integer(v) || !int_in_bounds(v, d))
			return a51_error_set(err, A51_EINVAL, field, "parameter %s must be an integer between %.0f and %.0f",
					     s->key, d->min, d->max);
		if (s->width == sizeof(int64_t)) /* amounts in cents */
			*(int64_t *)(void *)(base + s->off) = (int64_t)json_integer_value(v);
		else
			*(int *)(void *)(base + s->off) = (int)json_integer_value(v);
		return 0;
	case PT_BOOL:
		if (!json_is_boolean(v))
			return a51_error_set(err, A51_EINVAL, field, "parameter %s must be true or false", s->key);
		*(bool *)(void *)(base + s->off) = json_is_true(v);
		return 0;
	case PT_NUMBER:
		if (!json_is_number(v) || json_number_value(v) < d->min || json_number_value(v) > d->max)
			return a51_error_set(err, A51_EINVAL, field, "parameter %s must be a number between %g and %g",
					     s->key, d->min, d->max);
		*(double *)(void *)(base + s->off) = json_number_value(v);
		return 0;
	case PT_STRING:
		/* s->width is the slot's size here: the value and its NUL must fit */
		if (!json_is_string(v) || json_string_length(v) < 1 || json_string_length(v) >= s->width ||
		    (d->allowed && !choice_ok(d->allowed, json_string_value(v))))
			return a51_error_set(err, A51_EINVAL, field, "parameter %s must be %s%s", s->key,
					     d->allowed ? "one of " : "a short non-empty string",
					     d->allowed ? d->allowed : "");
		memcpy(base + s->off, json_string_value(v), json_string_length(v) + 1);
		return 0;
	case PT_INT_LIST:
	case PT_STRING_LIST:
		len = json_array_size(v);
		if (!json_is_array(v) || len > PARAMS_LIST_MAX)
			return a51_error_set(err, A51_EINVAL, field, "parameter %s must be a list of at most %d items",
					     s->key, PARAMS_LIST_MAX);
		for (size_t i = 0; i < len; i++) {
			const json_t *item = json_array_get(v, i);

			if (d->type == PT_INT_LIST) {
				if (!json_is_integer(item) || !int_in_bounds(item, d))
					return a51_error_set(err, A51_EINVAL, field,
							     "item %zu of %s must be an integer between %.0f and %.0f",
							     i, s->key, d->min, d->max);
				((int *)(void *)(base + s->off))[i] = (int)json_integer_value(item);
				continue;
			}
			if (!json_is_string(item) || json_string_length(item) < 1 ||
			    json_string_length(item) >= s->width)
				return a51_error_set(err, A51_EINVAL, field,
						     "item %zu of %s must be a non-empty string of at most %zu characters",
						     i, s->key, s->width - 1);
			memcpy(base + s->off + i * s->width, json_string_value(item), json_string_length(item) + 1);
		}
		*(int *)(void *)(base + s->n_off) = (int)len;
		return 0;
	default:
		return a51_error_set(err, A51_EINTERNAL, field, "parameter %s has a type the readers do not handle",
				     s->key);
	}
}

/* On failure the whole struct is zeroed again: half a parameter set is worse
 * than none. */
static int read_slots(const json_t *body, int exp, const struct param_slot *slots, size_t n, void *out,
		      size_t size, struct a51_error *err)
{
	for (size_t i = 0; i < n; i++) {
		int rc;

		if (slots[i].experiment != exp)
			continue;
		rc = read_slot(body, &slots[i], out, err);
		if (rc < 0) {
			memset(out, 0, size);
			return rc;
		}
	}
	return 0;
}

int params_read_eligibility(const json_t *body, struct elig_params *out, struct a51_error *err)
{
	int exp, rc;

	memset(out, 0, sizeof(*out));
	exp = read_experiment(body, err);
	if (exp < 0)
		return exp;
	rc = read_slots(body, exp, elig_slots, A51_ARRAY_LEN(elig_slots), out, sizeof(*out), err);
	if (rc == 0)
		out->experiment = exp;
	return rc;
}

int params_read_patientele(const json_t *body, struct patientele_params *out, struct a51_error *err)
{
	int exp;

	memset(out, 0, sizeof(*out));
	exp = read_experiment(body, err);
	if (exp < 0)
		return exp;
	return read_slots(body, exp, patientele_slots, A51_ARRAY_LEN(patientele_slots), out, sizeof(*out), err);
}

int params_read_peps(const json_t *body, struct peps_params *out, struct a51_error *err)
{
	int exp, rc;

	memset(out, 0, sizeof(*out));
	exp = read_experiment(body, err);
	if (exp < 0)
		return exp;
	if (exp != EXP_PEPS)
		return a51_error_set(err, A51_EINVAL, "experiment", "a PEPS parameter set is needed");
	rc = read_slots(body, exp, peps_slots, A51_ARRAY_LEN(peps_slots), out, sizeof(*out), err);
	if (rc < 0)
		return rc;
	/* shapes the schema cannot say: 2024Q1, MM-DD */
	for (int i = 0; i < out->n_uplift_quarters; i++) {
		const char *q = out->uplift_quarters[i];
		if (strlen(q) != 6 || q[4] != 'Q' || q[5] < '1' || q[5] > '4' || strspn(q, "0123456789") != 4) {
			memset(out, 0, sizeof(*out));
			return a51_error_set(err, A51_EINVAL, "parameters.activity.uplift_quarters.value",
					     "quarters are written like 2024Q1");
		}
	}
	{
		/* a day of every year: February has 28 */
		static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
		const char *d = out->adjustment_due;
		int m = (d[0] - '0') * 10 + (d[1] - '0'), day = (d[3] - '0') * 10 + (d[4] - '0');
		if (strlen(d) != 5 || d[2] != '-' || strspn(d, "0123456789-") != 5 || m < 1 || m > 12 || day < 1 ||
		    day > mdays[m - 1]) {
			memset(out, 0, sizeof(*out));
			return a51_error_set(err, A51_EINVAL, "parameters.payment.adjustment_due.value",
					     "the adjustment's due date is MM-DD, a day that every year has");
		}
	}
	return 0;
}

/* MM-DD of a day every year has (February has 28). */
static bool month_day_ok(const char *d)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int m, day;

	if (strlen(d) != 5 || d[2] != '-' || strspn(d, "0123456789-") != 5)
		return false;
	m = (d[0] - '0') * 10 + (d[1] - '0');
	day = (d[3] - '0') * 10 + (d[4] - '0');
	return m >= 1 && m <= 12 && day >= 1 && day <= mdays[m - 1];
}

int params_read_ipep(const json_t *body, struct ipep_params *out, struct a51_error *err)
{
	int exp, rc;

	memset(out, 0, sizeof(*out));
	exp = read_experiment(body, err);
	if (exp < 0)
		return exp;
	if (exp != EXP_IPEP)
		return a51_error_set(err, A51_EINVAL, "experiment", "an IPEP parameter set is needed");
	if ((rc = read_slots(body, exp, ipep_slots, A51_ARRAY_LEN(ipep_slots), out, sizeof(*out), err)) < 0)
		return rc;
	if (fabs(out->c_ecart + out->c_evolution - 1) > 1e-9)
		rc = a51_error_set(err, A51_EINVAL, "parameters.gains.c_evolution.value",
				   "C_ecart + C_evolution must be 1 (domain.md 3.5.1)");
	else if (!month_day_ok(out->reference_day))
		rc = a51_error_set(err, A51_EINVAL, "parameters.patientele.reference_day.value", "A MM-DD every year has.");
	else if (!month_day_ok(out->payment_due))
		rc = a51_error_set(err, A51_EINVAL, "parameters.payment.due.value", "A MM-DD every year has.");
	else if (out->modulation_full < out->modulation_floor)
		rc = a51_error_set(err, A51_EINVAL, "parameters.modulation.full_share.value",
				   "the full share cannot be below the floor");
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

int params_read_eds(const json_t *body, struct eds_params *out, struct a51_error *err)
{
	int exp, rc;

	memset(out, 0, sizeof(*out));
	exp = read_experiment(body, err);
	if (exp < 0)
		return exp;
	if (exp != EXP_EDS)
		return a51_error_set(err, A51_EINVAL, "experiment", "an EDS parameter set is needed");
	if ((rc = read_slots(body, exp, eds_slots, A51_ARRAY_LEN(eds_slots), out, sizeof(*out), err)) < 0)
		return rc;
	if (!month_day_ok(out->payment_due)) {
		memset(out, 0, sizeof(*out));
		return a51_error_set(err, A51_EINVAL, "parameters.payment.due.value", "A MM-DD every year has.");
	}
	for (int i = 0; i < out->n_quality_indicators; i++)
		if (eds_indicator_parse(out->quality_indicators[i]) < 0) {
			char bad[8];
			snprintf(bad, sizeof(bad), "%s", out->quality_indicators[i]);
			memset(out, 0, sizeof(*out));
			return a51_error_set(err, A51_EINVAL, "parameters.quality.indicators.value",
					     "%s is not an indicator: COMPL, LOS, PREOP or CHEMO.", bad);
		}
	return 0;
}
