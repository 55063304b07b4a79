#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "a51/eligibility.h"
#include "a51/util.h"
#include "a51/banned.h"

static const struct {
	int experiment;
	int option;
	const char *name;
} options[] = {
	{ EXP_PEPS, OPT_DIABETIC, "diabetic" },
	{ EXP_PEPS, OPT_ELDERLY, "elderly" },
	{ EXP_PEPS, OPT_WHOLE, "whole" },
	{ EXP_IPEP, OPT_GROUPEMENT, "groupement" },
	{ EXP_EDS, OPT_PTH, "PTH" },
	{ EXP_EDS, OPT_PTG, "PTG" },
	{ EXP_EDS, OPT_COLECTOMY, "COLECTOMY" },
};

int option_parse(int experiment, const char *s)
{
	/* IPEP has a single option: the groupement's patientele. */
	if (experiment == EXP_IPEP && (!s || !*s))
		return OPT_GROUPEMENT;
	if (!s)
		return OPT_NONE;
	for (size_t i = 0; i < A51_ARRAY_LEN(options); i++)
		if (options[i].experiment == experiment && strcmp(s, options[i].name) == 0)
			return options[i].option;
	return OPT_NONE;
}

const char *option_name(int option)
{
	for (size_t i = 0; i < A51_ARRAY_LEN(options); i++)
		if (options[i].option == option)
			return options[i].name;
	return NULL;
}

static bool option_belongs(int experiment, int option)
{
	for (size_t i = 0; i < A51_ARRAY_LEN(options); i++)
		if (options[i].experiment == experiment && options[i].option == option)
			return true;
	return false;
}

/* ---- building the report ---- */

/* The caller's structs may have been filled by hand: list counts are clamped and
 * fixed-width strings are never assumed to be NUL-terminated. */
static int list_count(int n)
{
	return n < 0 ? 0 : n > PARAMS_LIST_MAX ? PARAMS_LIST_MAX : n;
}

static void text_copy(char *dst, size_t cap, const char *src, size_t width)
{
	snprintf(dst, cap, "%.*s", (int)strnlen(src, width), src);
}

static void text_append(char *dst, size_t cap, const char *s, size_t width)
{
	size_t len = strlen(dst);

	if (len + 1 < cap)
		snprintf(dst + len, cap - len, "%.*s", (int)strnlen(s, width), s);
}

/* items is an array of n strings of width bytes each. */
static void text_join(char *dst, size_t cap, const char *items, size_t width, int n, const char *sep)
{
	dst[0] = '\0';
	for (int i = 0; i < list_count(n); i++) {
		if (i > 0)
			text_append(dst, cap, sep, cap);
		text_append(dst, cap, items + (size_t)i * width, width);
	}
}

/* Case-insensitive: legal forms are typed by people ("Sisa", "SISA"). */
static bool text_in(const char *s, size_t swidth, const char *items, size_t width, int n)
{
	size_t len = strnlen(s, swidth);

	if (len == 0)
		return false;
	for (int i = 0; i < list_count(n); i++) {
		const char *item = items + (size_t)i * width;

		if (strnlen(item, width) == len && strncasecmp(s, item, len) == 0)
			return true;
	}
	return false;
}

/* A full report (cannot happen with the criteria below) marks the structure
 * ineligible rather than dropping a criterion silently. */
static struct elig_criterion *crit_new(struct elig_report *r, const char *code, int kind, const char *op, bool met)
{
	struct elig_criterion *c;

	if (r->n >= ELIG_MAX_CRITERIA) {
		r->eligible = false;
		return NULL;
	}
	c = &r->c[r->n++];
	memset(c, 0, sizeof(*c));
	snprintf(c->code, sizeof(c->code), "%s", code);
	snprintf(c->op, sizeof(c->op), "%s", op);
	c->kind = kind;
	c->met = met;
	if (!met)
		r->eligible = false;
	return c;
}

__attribute__((format(printf, 2, 3)))
static void crit_label(struct elig_criterion *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->label, sizeof(c->label), fmt, ap);
	va_end(ap);
}

static struct elig_criterion *crit_number(struct elig_report *r, const char *code, const char *op, long measured,
					  long required)
{
	bool met = strcmp(op, ">") == 0 ? measured > required : measured >= required;
	struct elig_criterion *c = crit_new(r, code, EV_NUMBER, op, met);

	if (c) {
		c->measured = measured;
		c->required = required;
	}
	return c;
}

static const char *plural(long n)
{
	return n == 1 ? "" : "s";
}

/* Guards against misuse by the caller: evaluating with another experiment's
 * parameters, or with an option of another experiment, can only be refused. */
static void criteria_guards(struct elig_report *r, const char *prefix, const struct elig_params *p)
{
	struct elig_criterion *c;
	char code[32];

	if (p->experiment != r->experiment) {
		const char *have = experiment_name(p->experiment);

		snprintf(code, sizeof(code), "%s.parameter_set", prefix);
		c = crit_new(r, code, EV_TEXT, "=", false);
		if (c) {
			crit_label(c, "a parameter set of the experiment");
			snprintf(c->measured_text, sizeof(c->measured_text), "%s", have ? have : "none");
			snprintf(c->required_text, sizeof(c->required_text), "%s", experiment_name(r->experiment));
		}
	}
	if (!option_belongs(r->experiment, r->option)) {
		const char *have = option_name(r->option);

		snprintf(code, sizeof(code), "%s.option", prefix);
		c = crit_new(r, code, EV_TEXT, "in", false);
		if (!c)
			return;
		crit_label(c, "an option of the experiment");
		snprintf(c->measured_text, sizeof(c->measured_text), "%s", have ? have : "none");
		for (size_t i = 0; i < A51_ARRAY_LEN(options); i++) {
			if (options[i].experiment != r->experiment)
				continue;
			if (c->required_text[0])
				text_append(c->required_text, sizeof(c->required_text), ", ", 2);
			text_append(c->required_text, sizeof(c->required_text), options[i].name, 16);
		}
	}
}

static const char *peps_option_scope(int option)
{
	switch (option) {
	case OPT_DIABETIC: return "option diabetic: MT patients in ALD for diabetes";
	case OPT_ELDERLY: return "option elderly: older MT patients, or younger with a neurodegenerative ALD";
	case OPT_WHOLE: return "option whole: all MT patients of the structure";
	default: return "no valid option";
	}
}

static void peps_legal_form(struct elig_report *r, const struct elig_params *p, const struct elig_measures *m)
{
	bool form_ok = text_in(m->legal_form, sizeof(m->legal_form), p->legal_forms[0], sizeof(p->legal_forms[0]),
			       p->n_legal_forms);
	bool kind_ok = text_in(m->kind, sizeof(m->kind), p->kinds_any_legal_form[0],
			       sizeof(p->kinds_any_legal_form[0]), p->n_kinds_any_legal_form);
	struct elig_criterion *c = crit_new(r, "peps.legal_form", EV_TEXT, "in", form_ok || kind_ok);
	char form[sizeof(m->legal_form) + 1];

	if (!c)
		return;
	crit_label(c, "a legal form able to receive the team forfait, or a kind accepted whatever its form");
	text_copy(form, sizeof(form), m->legal_form, sizeof(m->legal_form));
	/* Say why a form outside the list passed: the structure's kind. */
	if (kind_ok && !form_ok)
		snprintf(c->measured_text, sizeof(c->measured_text), "%s (kind %.*s)", form[0] ? form : "none",
			 (int)strnlen(m->kind, sizeof(m->kind)), m->kind);
	else
		snprintf(c->measured_text, sizeof(c->measured_text), "%s", form[0] ? form : "none");

	text_join(c->required_text, sizeof(c->required_text), p->legal_forms[0], sizeof(p->legal_forms[0]),
		  p->n_legal_forms, ", ");
	for (int i = 0; i < list_count(p->n_kinds_any_legal_form); i++) {
		if (c->required_text[0])
			text_append(c->required_text, sizeof(c->required_text), ", ", 2);
		text_append(c->required_text, sizeof(c->required_text), "any form for kind ", 32);
		text_append(c->required_text, sizeof(c->required_text), p->kinds_any_legal_form[i],
			    sizeof(p->kinds_any_legal_form[i]));
	}
	if (!c->required_text[0])
		snprintf(c->required_text, sizeof(c->required_text), "none");
}

static void criteria_peps(struct elig_report *r, const struct elig_params *p, const struct elig_measures *m)
{
	struct elig_criterion *c;
	char professions[96];

	text_join(professions, sizeof(professions), p->team_professions[0], sizeof(p->team_professions[0]),
		  p->n_team_professions, ", ");
	c = crit_number(r, "peps.min_team_size", ">=", m->n_team, p->min_team_size);
	if (c)
		crit_label(c, "at least %d team members with a profession among %s", p->min_team_size,
			   professions[0] ? professions : "(none)");
	c = crit_number(r, "peps.min_gp", ">=", m->n_gp, p->min_gp);
	if (c)
		crit_label(c, "at least %d general practitioner%s (MG)", p->min_gp, plural(p->min_gp));
	c = crit_number(r, "peps.min_nurses", ">=", m->n_nurses, p->min_nurses);
	if (c)
		crit_label(c, "at least %d nurse%s (IDE)", p->min_nurses, plural(p->min_nurses));
	peps_legal_form(r, p, m);
	c = crit_number(r, "peps.min_patients", ">=", m->covered_patients, p->min_patients);
	if (c)
		crit_label(c, "at least %d covered patient%s (%s)", p->min_patients, plural(p->min_patients),
			   peps_option_scope(r->option));
}

static void criteria_ipep(struct elig_report *r, const struct elig_params *p, const struct elig_measures *m)
{
	struct elig_criterion *c;

	c = crit_number(r, "ipep.gp_present", ">=", m->n_gp_with_patients, p->min_gp_with_patients);
	if (c)
		crit_label(c, "at least %d member GP%s declared as MT by at least one patient", p->min_gp_with_patients,
			   plural(p->min_gp_with_patients));
	c = crit_number(r, "ipep.min_patients", ">", m->covered_patients, p->min_patients_exclusive);
	if (c)
		crit_label(c, "more than %d patients whose declared MT is a member GP", p->min_patients_exclusive);
}

static void criteria_eds(struct elig_report *r, const struct elig_params *p, const struct elig_measures *m)
{
	bool kind_ok = text_in(m->kind, sizeof(m->kind), p->kinds[0], sizeof(p->kinds[0]), p->n_kinds);
	struct elig_criterion *c = crit_new(r, "eds.kind", EV_TEXT, "in", kind_ok);

	if (c) {
		crit_label(c, "a structure of a kind that may take part");
		text_copy(c->measured_text, sizeof(c->measured_text), m->kind, sizeof(m->kind));
		if (!c->measured_text[0])
			snprintf(c->measured_text, sizeof(c->measured_text), "none");
		text_join(c->required_text, sizeof(c->required_text), p->kinds[0], sizeof(p->kinds[0]), p->n_kinds,
			  ", ");
		if (!c->required_text[0])
			snprintf(c->required_text, sizeof(c->required_text), "none");
	}
	/* A boolean as a number: false < true, so ">=" reads "has it, or it is not required". */
	c = crit_new(r, "eds.finess", EV_BOOL, ">=", m->has_finess || !p->require_finess);
	if (c) {
		crit_label(c, p->require_finess ? "a FINESS number" : "a FINESS number (not required)");
		c->measured = m->has_finess;
		c->required = p->require_finess;
	}
}

void eligibility_evaluate(int experiment, int option, const struct elig_params *p, const struct elig_measures *m,
			  struct elig_report *out)
{
	memset(out, 0, sizeof(*out));
	out->experiment = experiment;
	out->option = option;
	out->eligible = true;

	switch (experiment) {
	case EXP_PEPS:
		criteria_guards(out, "peps", p);
		criteria_peps(out, p, m);
		break;
	case EXP_IPEP:
		criteria_guards(out, "ipep", p);
		criteria_ipep(out, p, m);
		break;
	case EXP_EDS:
		criteria_guards(out, "eds", p);
		criteria_eds(out, p, m);
		break;
	default:
		break;
	}
	/* No criterion evaluated (unknown experiment) is no evidence of eligibility. */
	if (out->n == 0)
		out->eligible = false;
}

/* ---- JSON ---- */

/* A text cut by a fixed-width field may end inside a UTF-8 sequence, which
 * jansson refuses: such bytes are then shown as '?' rather than losing the report. */
static json_t *json_text(const char *s)
{
	json_t *v = json_string(s);
	char safe[256];
	size_t i;

	if (v)
		return v;
	for (i = 0; s[i] && i + 1 < sizeof(safe); i++)
		safe[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	safe[i] = '\0';
	return json_string(safe);
}

static json_t *json_name(const char *name)
{
	return name ? json_string(name) : json_null();
}

static json_t *criterion_value(const struct elig_criterion *c, bool measured)
{
	switch (c->kind) {
	case EV_NUMBER:
		return json_integer(measured ? c->measured : c->required);
	case EV_BOOL:
		return json_boolean(measured ? c->measured != 0 : c->required != 0);
	default:
		return json_text(measured ? c->measured_text : c->required_text);
	}
}

static json_t *criterion_json(const struct elig_criterion *c)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	/* json_object_set_new() takes ownership even on failure, NULL values included. */
	if (json_object_set_new(o, "code", json_text(c->code)) < 0 ||
	    json_object_set_new(o, "label", json_text(c->label)) < 0 ||
	    json_object_set_new(o, "measured", criterion_value(c, true)) < 0 ||
	    json_object_set_new(o, "required", criterion_value(c, false)) < 0 ||
	    json_object_set_new(o, "op", json_text(c->op)) < 0 ||
	    json_object_set_new(o, "met", json_boolean(c->met)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *eligibility_report_json(const struct elig_report *r)
{
	json_t *root = json_object(), *criteria = json_array();
	int n = r->n < 0 ? 0 : r->n > ELIG_MAX_CRITERIA ? ELIG_MAX_CRITERIA : r->n;

	if (!root || !criteria)
		goto fail;
	for (int i = 0; i < n; i++)
		if (json_array_append_new(criteria, criterion_json(&r->c[i])) < 0)
			goto fail;
	if (json_object_set_new(root, "experiment", json_name(experiment_name(r->experiment))) < 0 ||
	    json_object_set_new(root, "option", json_name(option_name(r->option))) < 0 ||
	    json_object_set_new(root, "eligible", json_boolean(r->eligible)) < 0)
		goto fail;
	if (json_object_set_new(root, "criteria", criteria) < 0) {
		criteria = NULL; /* already released by jansson */
		goto fail;
	}
	return root;
fail:
	json_decref(criteria);
	json_decref(root);
	return NULL;
}
