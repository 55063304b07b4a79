#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/indicators.h"
#include "a51/util.h"
#include "a51/banned.h"

static const char *const measure_names[] = {
	[IND_MT_DECLARED] = "mt_declared",
	[IND_ACTS] = "acts",
	[IND_ACTS_QUARTERS] = "acts_quarters",
	[IND_READMISSION] = "readmission",
	[IND_STAYS_DIAGNOSIS] = "stays_diagnosis",
};
static const char *const base_names[] = { [IND_BASE_PATIENTELE] = "patientele", [IND_BASE_LINKED] = "linked" };
static const char *const themes[] = { "access", "coordination", "prevention", "prescriptions",
				      "diabetes", "elderly", "precarious", "unscheduled" };

const char *ind_measure_name(int m)
{
	return m >= 0 && (size_t)m < A51_ARRAY_LEN(measure_names) ? measure_names[m] : NULL;
}

const char *ind_base_name(int b)
{
	return b >= 0 && (size_t)b < A51_ARRAY_LEN(base_names) ? base_names[b] : NULL;
}

static int name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

/* ---- validation ---- */

__attribute__((format(printf, 4, 5)))
static size_t fault(json_t *errors, const char *field, const char *member, const char *fmt, ...)
{
	char path[256], reason[256];
	va_list ap;

	if (!json_is_array(errors))
		return 1;
	snprintf(path, sizeof(path), "%s%s", field, member ? member : "");
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	json_array_append_new(errors, json_pack("{s:s, s:s}", "field", path, "reason", reason));
	return 1;
}

/* Members of o not in known[]: each is a fault. */
static size_t only(json_t *errors, const char *field, const json_t *o, const char *const *known)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	json_object_foreach((json_t *)o, k, v) {
		bool ok = false;
		for (size_t i = 0; known[i] && !ok; i++)
			ok = strcmp(k, known[i]) == 0;
		if (!ok) {
			char m[96];
			snprintf(m, sizeof(m), ".%.64s", k);
			n += fault(errors, field, m, "Unknown member.");
		}
	}
	return n;
}

static bool word_ok(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '-' || *p == '.'))
			return false;
	return true;
}

static size_t check_text(json_t *errors, const char *field, const char *member, const json_t *v, size_t max,
			 bool word)
{
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
	    (word && !word_ok(json_string_value(v), max)))
		return fault(errors, field, member, word ? "Must be 1 to %zu letters, digits, '_', '-' or '.'."
							  : "Must be a non-empty string of at most %zu bytes.", max);
	return 0;
}

/* An optional integer in [lo, hi]; required when req. */
static size_t check_int(json_t *errors, const char *field, const char *member, const json_t *v, bool req, long lo,
			long hi)
{
	if (!v)
		return req ? fault(errors, field, member, "Required.") : 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return fault(errors, field, member, "Must be an integer from %ld to %ld.", lo, hi);
	return 0;
}

static size_t check_codes(json_t *errors, const char *field, const json_t *v)
{
	size_t n = 0;

	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > IND_LIST_MAX)
		return fault(errors, field, ".measure.codes", "Must be a list of 1 to %d codes.", IND_LIST_MAX);
	for (size_t i = 0; i < json_array_size(v); i++) {
		char m[48];
		snprintf(m, sizeof(m), ".measure.codes[%zu]", i);
		n += check_text(errors, field, m, json_array_get(v, i), 15, true);
	}
	return n;
}

static size_t check_population(json_t *errors, const char *field, const json_t *p)
{
	static const char *const known[] = { "base", "age_min", "age_max", "ald", "c2s", NULL };
	const json_t *ald = json_object_get(p, "ald"), *c2s = json_object_get(p, "c2s");
	const json_t *amin = json_object_get(p, "age_min"), *amax = json_object_get(p, "age_max");
	size_t n;

	if (!json_is_object(p))
		return fault(errors, field, ".population", "Must be an object with a base (patientele or linked).");
	n = only(errors, field, p, known);
	if (name_index(base_names, A51_ARRAY_LEN(base_names), json_string_value(json_object_get(p, "base"))) < 0)
		n += fault(errors, field, ".population.base", "Must be patientele or linked.");
	n += check_int(errors, field, ".population.age_min", amin, false, 0, 120);
	n += check_int(errors, field, ".population.age_max", amax, false, 0, 120);
	if (json_is_integer(amin) && json_is_integer(amax) && json_integer_value(amax) < json_integer_value(amin))
		n += fault(errors, field, ".population.age_max", "Must not be below age_min.");
	if (ald) {
		if (!json_is_array(ald) || json_array_size(ald) > IND_LIST_MAX)
			n += fault(errors, field, ".population.ald", "Must be a list of at most %d ALD codes.", IND_LIST_MAX);
		else
			for (size_t i = 0; i < json_array_size(ald); i++) {
				char m[48];
				snprintf(m, sizeof(m), ".population.ald[%zu]", i);
				n += check_int(errors, field, m, json_array_get(ald, i), true, 1, 32);
			}
	}
	if (c2s && !json_is_boolean(c2s) && !json_is_null(c2s))
		n += fault(errors, field, ".population.c2s", "Must be true, false or null (any).");
	return n;
}

static size_t check_measure(json_t *errors, const char *field, const json_t *m, bool decreasing, bool care_gap)
{
	static const char *const known[] = { "kind", "codes", "min", "quarters", "days", NULL };
	const json_t *codes = json_object_get(m, "codes"), *min = json_object_get(m, "min");
	const json_t *quarters = json_object_get(m, "quarters"), *days = json_object_get(m, "days");
	int kind;
	size_t n;

	if (!json_is_object(m))
		return fault(errors, field, ".measure", "Must be an object with a kind.");
	n = only(errors, field, m, known);
	kind = name_index(measure_names, A51_ARRAY_LEN(measure_names), json_string_value(json_object_get(m, "kind")));
	switch (kind) {
	case IND_MT_DECLARED:
		if (codes || min || quarters || days)
			n += fault(errors, field, ".measure", "An mt_declared measure takes no codes, min, quarters or days.");
		break;
	case IND_ACTS:
	case IND_ACTS_QUARTERS:
		n += check_codes(errors, field, codes);
		n += check_int(errors, field, ".measure.min", min, true, 1, 366);
		if (kind == IND_ACTS_QUARTERS)
			n += check_int(errors, field, ".measure.quarters", quarters, true, 1, 4);
		else if (quarters)
			n += fault(errors, field, ".measure.quarters", "Only an acts_quarters measure has quarters.");
		if (days)
			n += fault(errors, field, ".measure.days", "Only a readmission measure has days.");
		break;
	case IND_READMISSION:
		n += check_int(errors, field, ".measure.days", days, true, 1, 365);
		if (codes || min || quarters)
			n += fault(errors, field, ".measure", "A readmission measure takes only days.");
		break;
	case IND_STAYS_DIAGNOSIS:
		n += check_codes(errors, field, codes);
		if (min || quarters || days)
			n += fault(errors, field, ".measure", "A stays_diagnosis measure takes only codes (diagnosis prefixes).");
		break;
	default:
		return n + fault(errors, field, ".measure.kind",
				 "Must be mt_declared, acts, acts_quarters, readmission or stays_diagnosis.");
	}
	/* a care gap is a recommended act not done: only an act measure going up has one */
	if (care_gap && (kind != IND_ACTS || decreasing))
		n += fault(errors, field, ".care_gap", "Only an increasing acts measure has care gaps.");
	return n;
}

size_t ind_catalogue_check(json_t *errors, const char *field, const json_t *v)
{
	static const char *const known[] = { "code", "label", "theme", "direction", "a_la_carte", "care_gap",
					     "population", "measure", NULL };
	size_t n = 0;

	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > IND_MAX)
		return fault(errors, field, NULL, "Must be a list of 1 to %d indicators.", IND_MAX);
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *d = json_array_get(v, i), *code, *dir, *alc, *gap;
		char f[200];
		bool decreasing;

		snprintf(f, sizeof(f), "%.150s[%zu]", field, i);
		if (!json_is_object(d)) {
			n += fault(errors, f, NULL, "Each indicator must be an object.");
			continue;
		}
		n += only(errors, f, d, known);
		code = json_object_get(d, "code");
		n += check_text(errors, f, ".code", code, 23, true);
		for (size_t j = 0; j < i && json_is_string(code); j++)
			if (json_equal(code, json_object_get(json_array_get(v, j), "code"))) {
				n += fault(errors, f, ".code", "Indicator %zu has the same code.", j);
				break;
			}
		n += check_text(errors, f, ".label", json_object_get(d, "label"), 127, false);
		if (name_index(themes, A51_ARRAY_LEN(themes), json_string_value(json_object_get(d, "theme"))) < 0)
			n += fault(errors, f, ".theme", "Must be access, coordination, prevention, prescriptions, diabetes, "
				   "elderly, precarious or unscheduled.");
		dir = json_object_get(d, "direction");
		decreasing = json_is_string(dir) && strcmp(json_string_value(dir), "decreasing") == 0;
		if (!json_is_string(dir) || (!decreasing && strcmp(json_string_value(dir), "increasing") != 0))
			n += fault(errors, f, ".direction", "Must be increasing or decreasing.");
		alc = json_object_get(d, "a_la_carte");
		if (!json_is_boolean(alc))
			n += fault(errors, f, ".a_la_carte", "Must be true or false.");
		gap = json_object_get(d, "care_gap");
		if (gap && !json_is_boolean(gap))
			n += fault(errors, f, ".care_gap", "Must be true or false.");
		n += check_population(errors, f, json_object_get(d, "population"));
		n += check_measure(errors, f, json_object_get(d, "measure"), decreasing, json_is_true(gap));
	}
	return n;
}

size_t ind_experience_check(json_t *errors, const char *field, const json_t *v)
{
	static const char *const known[] = { "questionnaire", "scale", "min_respondents", "dimensions", NULL };
	static const char *const dknown[] = { "code", "label", "items", NULL };
	const json_t *scale = json_object_get(v, "scale"), *dims = json_object_get(v, "dimensions");
	size_t n;

	if (!json_is_object(v))
		return fault(errors, field, NULL, "Must be an object: questionnaire, scale, min_respondents, dimensions.");
	n = only(errors, field, v, known);
	n += check_text(errors, field, ".questionnaire", json_object_get(v, "questionnaire"), 31, true);
	if (!json_is_array(scale) || json_array_size(scale) != 2 || !json_is_integer(json_array_get(scale, 0)) ||
	    !json_is_integer(json_array_get(scale, 1)) || json_integer_value(json_array_get(scale, 0)) < 0 ||
	    json_integer_value(json_array_get(scale, 1)) > 100 ||
	    json_integer_value(json_array_get(scale, 0)) >= json_integer_value(json_array_get(scale, 1)))
		n += fault(errors, field, ".scale", "Must be [lowest, highest] answers, integers 0..100, lowest first.");
	n += check_int(errors, field, ".min_respondents", json_object_get(v, "min_respondents"), true, 0, 1000000);
	if (!json_is_array(dims) || json_array_size(dims) == 0 || json_array_size(dims) > IND_DIMS_MAX)
		return n + fault(errors, field, ".dimensions", "Must be a list of 1 to %d dimensions.", IND_DIMS_MAX);
	for (size_t i = 0; i < json_array_size(dims); i++) {
		const json_t *d = json_array_get(dims, i), *items = json_object_get(d, "items");
		char f[200];

		snprintf(f, sizeof(f), "%.150s.dimensions[%zu]", field, i);
		if (!json_is_object(d)) {
			n += fault(errors, f, NULL, "Each dimension must be an object: code, label, items.");
			continue;
		}
		n += only(errors, f, d, dknown);
		n += check_text(errors, f, ".code", json_object_get(d, "code"), 23, true);
		n += check_text(errors, f, ".label", json_object_get(d, "label"), 95, false);
		if (!json_is_array(items) || json_array_size(items) == 0 || json_array_size(items) > IND_ITEMS_MAX) {
			n += fault(errors, f, ".items", "Must be a list of 1 to %d item numbers.", IND_ITEMS_MAX);
			continue;
		}
		for (size_t j = 0; j < json_array_size(items); j++) {
			char m[32];
			snprintf(m, sizeof(m), ".items[%zu]", j);
			n += check_int(errors, f, m, json_array_get(items, j), true, 1, 32767);
		}
	}
	return n;
}

/* ---- reading ---- */

static void copy_str(char *dst, size_t cap, const json_t *v)
{
	snprintf(dst, cap, "%s", json_is_string(v) ? json_string_value(v) : "");
}

static int get_int(const json_t *o, const char *k, int dflt)
{
	const json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

int ind_catalogue_read(const json_t *v, struct ind_catalogue *out, struct a51_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!v || ind_catalogue_check(NULL, "", v) != 0)
		return a51_error_set(err, A51_EINVAL, "parameters.indicators.catalogue.value",
				     "parameter indicators.catalogue is missing or not valid");
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *d = json_array_get(v, i), *p = json_object_get(d, "population"),
			     *m = json_object_get(d, "measure"), *ald = json_object_get(p, "ald"),
			     *c2s = json_object_get(p, "c2s"), *codes = json_object_get(m, "codes");
		struct ind_def *x = &out->d[out->n++];

		copy_str(x->code, sizeof(x->code), json_object_get(d, "code"));
		copy_str(x->label, sizeof(x->label), json_object_get(d, "label"));
		copy_str(x->theme, sizeof(x->theme), json_object_get(d, "theme"));
		x->decreasing = strcmp(json_string_value(json_object_get(d, "direction")), "decreasing") == 0;
		x->a_la_carte = json_is_true(json_object_get(d, "a_la_carte"));
		x->care_gap = json_is_true(json_object_get(d, "care_gap"));
		x->base = name_index(base_names, A51_ARRAY_LEN(base_names), json_string_value(json_object_get(p, "base")));
		x->age_min = get_int(p, "age_min", 0);
		x->age_max = get_int(p, "age_max", 120);
		for (size_t j = 0; j < json_array_size(ald); j++)
			x->ald[x->n_ald++] = (int)json_integer_value(json_array_get(ald, j));
		x->c2s = json_is_boolean(c2s) ? json_is_true(c2s) : -1;
		x->measure = name_index(measure_names, A51_ARRAY_LEN(measure_names),
					json_string_value(json_object_get(m, "kind")));
		for (size_t j = 0; j < json_array_size(codes); j++)
			copy_str(x->codes[x->n_codes++], sizeof(x->codes[0]), json_array_get(codes, j));
		x->min = get_int(m, "min", 1);
		x->quarters = get_int(m, "quarters", 0);
		x->days = get_int(m, "days", 0);
	}
	return 0;
}

int ind_experience_read(const json_t *v, struct ind_experience *out, struct a51_error *err)
{
	const json_t *dims = json_object_get(v, "dimensions");

	memset(out, 0, sizeof(*out));
	if (!v || ind_experience_check(NULL, "", v) != 0)
		return a51_error_set(err, A51_EINVAL, "parameters.indicators.experience.value",
				     "parameter indicators.experience is missing or not valid");
	copy_str(out->questionnaire, sizeof(out->questionnaire), json_object_get(v, "questionnaire"));
	out->scale_min = (int)json_integer_value(json_array_get(json_object_get(v, "scale"), 0));
	out->scale_max = (int)json_integer_value(json_array_get(json_object_get(v, "scale"), 1));
	out->min_respondents = get_int(v, "min_respondents", 0);
	for (size_t i = 0; i < json_array_size(dims); i++) {
		const json_t *d = json_array_get(dims, i), *items = json_object_get(d, "items");
		struct ind_dimension *x = &out->dims[out->n_dims++];

		copy_str(x->code, sizeof(x->code), json_object_get(d, "code"));
		copy_str(x->label, sizeof(x->label), json_object_get(d, "label"));
		for (size_t j = 0; j < json_array_size(items); j++)
			x->items[x->n_items++] = (int)json_integer_value(json_array_get(items, j));
	}
	return 0;
}

/* A text[] literal: each item double-quoted, '"' and '\\' escaped. */
static bool text_array(char *dst, size_t cap, const json_t *list)
{
	size_t off = 0;

	if (cap < 3)
		return false;
	dst[off++] = '{';
	for (size_t i = 0; i < json_array_size(list); i++) {
		const char *w = json_string_value(json_array_get(list, i));
		if (!w || off + 4 >= cap)
			return false;
		if (i)
			dst[off++] = ',';
		dst[off++] = '"';
		for (; *w; w++) {
			if (off + 4 >= cap)
				return false;
			if (*w == '"' || *w == '\\')
				dst[off++] = '\\';
			dst[off++] = *w;
		}
		dst[off++] = '"';
	}
	if (off + 2 > cap)
		return false;
	dst[off++] = '}';
	dst[off] = '\0';
	return true;
}

int ind_setup_read(const json_t *body, struct ind_setup *s, struct a51_error *err)
{
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = ind_catalogue_read(params_value(body, "indicators.catalogue"), &s->cat, err)) < 0 ||
	    (rc = ind_experience_read(params_value(body, "indicators.experience"), &s->exp, err)) < 0 ||
	    (rc = params_read_ipep(body, &s->ip, err)) < 0)
		return rc;
	if (!json_is_integer(params_value(body, "indicators.min_denominator")))
		return a51_error_set(err, A51_EINVAL, "parameters.indicators.min_denominator.value",
				     "parameter indicators.min_denominator must be an integer");
	if (!json_is_number(params_value(body, "indicators.confidence_z")))
		return a51_error_set(err, A51_EINVAL, "parameters.indicators.confidence_z.value",
				     "parameter indicators.confidence_z must be a number");
	s->min_den = (long)json_integer_value(params_value(body, "indicators.min_denominator"));
	s->z = json_number_value(params_value(body, "indicators.confidence_z"));
	if (!json_is_array(params_value(body, "indicators.structure_kinds")) ||
	    !text_array(s->kinds, sizeof(s->kinds), params_value(body, "indicators.structure_kinds")))
		return a51_error_set(err, A51_EINVAL, "parameters.indicators.structure_kinds.value",
				     "parameter indicators.structure_kinds must be a short list of structure kinds");
	return 0;
}

const struct ind_def *ind_find(const struct ind_catalogue *c, const char *code)
{
	for (int i = 0; code && i < c->n; i++)
		if (strcmp(c->d[i].code, code) == 0)
			return &c->d[i];
	return NULL;
}

/* ---- arithmetic ---- */

void ind_wilson(long long num, long long den, double z, double *lo, double *hi)
{
	double n = (double)den, p, z2n, centre, half;

	if (den <= 0) {
		*lo = 0;
		*hi = 1;
		return;
	}
	p = (double)num / n;
	z2n = z * z / n;
	centre = (p + z2n / 2) / (1 + z2n);
	half = z * sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n);
	/* at the bounds the interval closes on them exactly, not a rounding away */
	*lo = num == 0 ? 0 : fmax(0, centre - half);
	*hi = num == den ? 1 : fmin(1, centre + half);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

bool ind_deciles(double *v, size_t n, double out[9])
{
	if (n == 0)
		return false;
	qsort(v, n, sizeof(double), cmp_double);
	for (int k = 1; k <= 9; k++) {
		double h = (double)(n - 1) * k / 10.0;
		size_t lo = (size_t)floor(h);
		size_t hi = lo + 1 < n ? lo + 1 : lo;
		out[k - 1] = v[lo] + (h - (double)lo) * (v[hi] - v[lo]);
	}
	return true;
}

double ind_scale_score(double mean, int scale_min, int scale_max)
{
	return 100.0 * (mean - scale_min) / (double)(scale_max - scale_min);
}
