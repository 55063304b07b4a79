#include <math.h>
#include <stdio.h>
#include <string.h>

#include "a51/riskmodel.h"
#include "a51/util.h"
#include "a51/banned.h"

const char *const rm_cell_names[20] = {
	"M_0_4", "M_5_14", "M_15_24", "M_25_34", "M_35_44", "M_45_54", "M_55_64", "M_65_74", "M_75_84", "M_85p",
	"F_0_4", "F_5_14", "F_15_24", "F_25_34", "F_35_44", "F_45_54", "F_55_64", "F_65_74", "F_75_84", "F_85p",
};
const char *const rm_ald_group_names[RM_ALD_GROUPS] = {
	"ald_diabetes", "ald_cardio", "ald_cancer", "ald_psych", "ald_neuro", "ald_resp", "ald_other",
};
static const char *const term_names[TERM__COUNT] = { "age_sex", "ald_groups", "c2s", "ame", "n_chronic",
						     "deprivation" };
#define TERM_LIST "age_sex, ald_groups, c2s, ame, n_chronic, deprivation"
static const char *const method_names[] = { "", "ols", "wls", "log_ols", "glm_gamma", "glm_poisson" };
static const char *const target_names[] = { "", "peps_perimeter", "town_all", "all_care", "episode" };
#define REF_CELL 3 /* M_25_34 */

/* Acts of general practice: the PEPS substitution perimeter by default. */
static const char *const gp_acts[] = { "G", "GS", "VG", "VGS", "TCG", "MCG", "MU", "MD", "GL1", "GL2", "GL3" };
/* ALD groups: diabetes; cardiovascular (1 stroke, 3 arteriopathy, 5 heart failure, 13 coronary);
 * cancer; psychiatric; neurological (9, 15 Alzheimer, 16 Parkinson, 25 multiple sclerosis);
 * respiratory (14); and every other ALD. */
static const int default_groups[RM_ALD_GROUPS - 1][5] = { { 8 }, { 1, 3, 5, 13 }, { 30 }, { 23 }, { 9, 15, 16, 25 }, { 14 } };
static const int default_ngroups[RM_ALD_GROUPS - 1] = { 1, 4, 1, 1, 4, 1 };

const char *rm_term_name(int t)
{
	return t >= 0 && t < TERM__COUNT ? term_names[t] : "";
}

const char *rm_method_name(int m)
{
	return m > 0 && m <= RM_GLM_POISSON ? method_names[m] : "";
}

const char *rm_target_name(int t)
{
	return t > 0 && t <= RT_EPISODE ? target_names[t] : "";
}

int rm_cell(int sex, int age)
{
	static const int low[10] = { 0, 5, 15, 25, 35, 45, 55, 65, 75, 85 };
	int b = 9;

	while (b > 0 && age < low[b])
		b--;
	return (sex == 2 ? 10 : 0) + b;
}

static void fault(json_t *errors, const char *field, const char *reason)
{
	json_array_append_new(errors, json_pack("{s:s,s:s}", "field", field, "reason", reason));
}

static int find(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (names[i][0] && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

size_t rm_def_parse(const json_t *body, struct rm_def *d, json_t *errors)
{
	size_t before = json_array_size(errors);
	const char *s;
	json_t *v, *item;
	size_t i;
	static const char *const known[] = { "name", "year", "region", "target", "acts", "terms", "interactions",
					     "method", "exposure_weights", "truncation", "ald_groups", "include_stays",
					     "episode_option" };

	memset(d, 0, sizeof(*d));
	if (!json_is_object(body)) {
		fault(errors, "", "the body must be a JSON object");
		return 1;
	}
	{
		const char *key;
		json_object_foreach((json_t *)body, key, v)
			if (find(known, A51_ARRAY_LEN(known), key) < 0)
				fault(errors, key, "unknown field");
	}
	s = json_string_value(json_object_get(body, "name"));
	if (!s || !*s || strlen(s) >= sizeof(d->name))
		fault(errors, "name", "a name of 1 to 63 characters is required");
	else
		snprintf(d->name, sizeof(d->name), "%s", s);
	v = json_object_get(body, "year");
	if (!json_is_integer(v) || json_integer_value(v) < 2018 || json_integer_value(v) > 2100)
		fault(errors, "year", "the year of the reference data, 2018 to 2100, is required");
	else
		d->year = (int)json_integer_value(v);
	if ((v = json_object_get(body, "region")) && !json_is_null(v)) {
		s = json_string_value(v);
		if (!s || strlen(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
			fault(errors, "region", "must be a two-digit INSEE region code");
		else
			snprintf(d->region, sizeof(d->region), "%s", s);
	}
	d->target = find(target_names, A51_ARRAY_LEN(target_names), json_string_value(json_object_get(body, "target")));
	if (d->target <= 0) {
		fault(errors, "target", "must be peps_perimeter, town_all, all_care or episode");
		d->target = RT_NONE;
	}
	/* an episode model: the cost of surgical episodes of one kind (EDS), risk factors at admission */
	if ((v = json_object_get(body, "episode_option")) && !json_is_null(v)) {
		s = json_string_value(v);
		if (d->target != RT_EPISODE)
			fault(errors, "episode_option", "only with the target episode");
		else if (!s || (strcmp(s, "PTH") && strcmp(s, "PTG") && strcmp(s, "COLECTOMY")))
			fault(errors, "episode_option", "PTH, PTG or COLECTOMY");
		else
			snprintf(d->episode_option, sizeof(d->episode_option), "%s", s);
	} else if (d->target == RT_EPISODE) {
		fault(errors, "episode_option", "an episode model says which episodes: PTH, PTG or COLECTOMY");
	}
	d->include_stays = d->target == RT_ALL_CARE;
	/* the stored form (rm_def_json) reads back as it was written */
	if ((v = json_object_get(body, "include_stays"))) {
		if (!json_is_boolean(v) || json_is_true(v) != d->include_stays)
			fault(errors, "include_stays", "follows the target: true for all_care only");
	}
	if (d->target == RT_PEPS_PERIMETER)
		for (i = 0; i < A51_ARRAY_LEN(gp_acts); i++)
			snprintf(d->acts[d->nacts++], 8, "%s", gp_acts[i]);
	if ((v = json_object_get(body, "acts")) && json_is_string(v) && strcmp(json_string_value(v), "all") == 0) {
		d->nacts = 0;
	} else if (v) {
		if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > RM_MAX_ACTS) {
			fault(errors, "acts", "must be a list of 1 to 32 act codes");
		} else {
			d->nacts = 0;
			json_array_foreach(v, i, item) {
				s = json_string_value(item);
				if (!s || !*s || strlen(s) > 7)
					fault(errors, "acts", "each act code is 1 to 7 characters");
				else
					snprintf(d->acts[d->nacts++], 8, "%s", s);
			}
		}
	}
	v = json_object_get(body, "terms");
	if (!json_is_array(v) || json_array_size(v) == 0) {
		fault(errors, "terms", "a list of terms is required: " TERM_LIST);
	} else {
		json_array_foreach(v, i, item) {
			int t = find(term_names, TERM__COUNT, json_string_value(item));
			if (t < 0)
				fault(errors, "terms", "unknown term: the terms are " TERM_LIST);
			else
				d->terms |= 1u << t;
		}
	}
	if (d->target == RT_EPISODE && (d->terms & (1u << TERM_DEPRIVATION)))
		fault(errors, "terms", "an episode model has no deprivation term: its sources carry no commune");
	if (d->target == RT_EPISODE && d->nacts)
		fault(errors, "acts", "an episode's cost is every item of its perimeter: acts is \"all\"");
	if ((v = json_object_get(body, "interactions"))) {
		if (!json_is_array(v) || json_array_size(v) > RM_MAX_INTERACTIONS) {
			fault(errors, "interactions", "must be a list of at most 4 pairs of terms");
		} else {
			json_array_foreach(v, i, item) {
				int a = find(term_names, TERM__COUNT, json_string_value(json_array_get(item, 0)));
				int b = find(term_names, TERM__COUNT, json_string_value(json_array_get(item, 1)));
				if (!json_is_array(item) || json_array_size(item) != 2 || a < 0 || b < 0 || a == b)
					fault(errors, "interactions", "each interaction is a pair of two different terms");
				else if (!(d->terms & (1u << a)) || !(d->terms & (1u << b)))
					fault(errors, "interactions", "both terms of an interaction must be in terms");
				else {
					d->interactions[d->ninteractions][0] = a;
					d->interactions[d->ninteractions][1] = b;
					d->ninteractions++;
				}
			}
		}
	}
	d->method = find(method_names, A51_ARRAY_LEN(method_names), json_string_value(json_object_get(body, "method")));
	if (d->method <= 0) {
		fault(errors, "method", "must be ols, wls, log_ols, glm_gamma or glm_poisson");
		d->method = RM_NONE;
	}
	v = json_object_get(body, "exposure_weights");
	d->exposure_weights = v ? json_is_true(v) : d->method == RM_WLS;
	if (v && !json_is_boolean(v))
		fault(errors, "exposure_weights", "must be true or false");
	if (d->method == RM_WLS && !d->exposure_weights)
		fault(errors, "exposure_weights", "wls weighs by exposure: it cannot be false");
	if ((v = json_object_get(body, "truncation")) && !json_is_null(v)) {
		const char *type = json_string_value(json_object_get(v, "type"));
		if (type && strcmp(type, "percentile") == 0) {
			json_t *p = json_object_get(v, "p");
			d->truncation = TRUNC_PERCENTILE;
			d->trunc_p = json_number_value(p);
			if (!json_is_number(p) || d->trunc_p <= 0.5 || d->trunc_p >= 1)
				fault(errors, "truncation.p", "the cap is a quantile between 0.5 and 1, e.g. 0.99");
		} else if (type && strcmp(type, "winsorize") == 0) {
			d->truncation = TRUNC_WINSORIZE;
			d->wins_low = json_number_value(json_object_get(v, "low"));
			d->wins_high = json_number_value(json_object_get(v, "high"));
			if (!(d->wins_low >= 0 && d->wins_low < 0.5 && d->wins_high > 0.5 && d->wins_high <= 1))
				fault(errors, "truncation", "winsorize needs low in [0, 0.5) and high in (0.5, 1]");
		} else {
			fault(errors, "truncation.type", "must be percentile or winsorize");
		}
	}
	for (int g = 0; g < RM_ALD_GROUPS - 1; g++) {
		d->nald[g] = default_ngroups[g];
		memcpy(d->ald_groups[g], default_groups[g], sizeof(default_groups[g]));
	}
	if ((v = json_object_get(body, "ald_groups"))) {
		const char *key;
		json_t *codes;
		if (!json_is_object(v)) {
			fault(errors, "ald_groups", "must map group names to lists of ALD codes");
		} else {
			json_object_foreach(v, key, codes) {
				int g = find(rm_ald_group_names, RM_ALD_GROUPS - 1, key);
				if (strcmp(key, "ald_other") == 0 && json_is_string(codes))
					continue; /* "every other ALD", as stored */
				if (g < 0 || !json_is_array(codes) || json_array_size(codes) > 16) {
					fault(errors, "ald_groups", "the groups are ald_diabetes, ald_cardio, ald_cancer, "
								    "ald_psych, ald_neuro, ald_resp (ald_other takes the rest)");
					continue;
				}
				d->nald[g] = 0;
				json_array_foreach(codes, i, item) {
					if (!json_is_integer(item) || json_integer_value(item) < 1 || json_integer_value(item) > 32)
						fault(errors, "ald_groups", "ALD codes are 1 to 32");
					else
						d->ald_groups[g][d->nald[g]++] = (int)json_integer_value(item);
				}
			}
		}
	}
	return json_array_size(errors) - before;
}

json_t *rm_def_json(const struct rm_def *d)
{
	json_t *j = json_object(), *terms = json_array(), *acts = json_array(), *inter = json_array(),
	       *groups = json_object();

	json_object_set_new(j, "name", json_string(d->name));
	json_object_set_new(j, "year", json_integer(d->year));
	json_object_set_new(j, "region", d->region[0] ? json_string(d->region) : json_null());
	json_object_set_new(j, "target", json_string(rm_target_name(d->target)));
	for (int i = 0; i < d->nacts; i++)
		json_array_append_new(acts, json_string(d->acts[i]));
	json_object_set_new(j, "acts", d->nacts ? acts : (json_decref(acts), json_string("all")));
	json_object_set_new(j, "include_stays", json_boolean(d->include_stays));
	if (d->target == RT_EPISODE)
		json_object_set_new(j, "episode_option", json_string(d->episode_option));
	for (int t = 0; t < TERM__COUNT; t++)
		if (d->terms & (1u << t))
			json_array_append_new(terms, json_string(term_names[t]));
	json_object_set_new(j, "terms", terms);
	for (int k = 0; k < d->ninteractions; k++)
		json_array_append_new(inter, json_pack("[s,s]", term_names[d->interactions[k][0]],
						      term_names[d->interactions[k][1]]));
	json_object_set_new(j, "interactions", inter);
	json_object_set_new(j, "method", json_string(rm_method_name(d->method)));
	json_object_set_new(j, "exposure_weights", json_boolean(d->exposure_weights));
	if (d->truncation == TRUNC_PERCENTILE)
		json_object_set_new(j, "truncation", json_pack("{s:s,s:f}", "type", "percentile", "p", d->trunc_p));
	else if (d->truncation == TRUNC_WINSORIZE)
		json_object_set_new(j, "truncation", json_pack("{s:s,s:f,s:f,s:s}", "type", "winsorize", "low",
							       d->wins_low, "high", d->wins_high, "by", "age_sex"));
	else
		json_object_set_new(j, "truncation", json_null());
	for (int g = 0; g < RM_ALD_GROUPS - 1; g++) {
		json_t *codes = json_array();
		for (int k = 0; k < d->nald[g]; k++)
			json_array_append_new(codes, json_integer(d->ald_groups[g][k]));
		json_object_set_new(groups, rm_ald_group_names[g], codes);
	}
	json_object_set_new(groups, "ald_other", json_string("every other ALD"));
	json_object_set_new(j, "ald_groups", groups);
	return j;
}

/* Columns of one term block, values for a patient. */
static int block_width(int t)
{
	switch (t) {
	case TERM_AGE_SEX: return 19;
	case TERM_ALD_GROUPS: return RM_ALD_GROUPS;
	case TERM_N_CHRONIC: return 3; /* 1, 2, 3 or more groups (0 is the reference) */
	case TERM_DEPRIVATION: return 5; /* quintiles 2 to 5 (1 is the reference), and unknown */
	default: return 1;
	}
}

static void block_name(int t, int k, char *out, size_t cap)
{
	switch (t) {
	case TERM_AGE_SEX: snprintf(out, cap, "%s", rm_cell_names[k < REF_CELL ? k : k + 1]); break;
	case TERM_ALD_GROUPS: snprintf(out, cap, "%s", rm_ald_group_names[k]); break;
	case TERM_N_CHRONIC: snprintf(out, cap, "n_chronic_%d%s", k + 1, k == 2 ? "p" : ""); break;
	case TERM_DEPRIVATION:
		if (k < 4)
			snprintf(out, cap, "deprivation_q%d", k + 2);
		else
			snprintf(out, cap, "deprivation_unknown");
		break;
	default: snprintf(out, cap, "%s", term_names[t]);
	}
}

static double block_value(int t, int k, const struct rm_patient *pt)
{
	switch (t) {
	case TERM_AGE_SEX: return pt->cell == (k < REF_CELL ? k : k + 1);
	case TERM_ALD_GROUPS: return (pt->ald >> k) & 1u;
	case TERM_C2S: return pt->c2s;
	case TERM_AME: return pt->ame;
	case TERM_DEPRIVATION: return k < 4 ? pt->depriv == k + 2 : pt->depriv == 0;
	case TERM_N_CHRONIC: {
		int n = __builtin_popcount(pt->ald);
		return (n > 3 ? 3 : n) == k + 1;
	}
	default: return 0;
	}
}

int rm_design_init(const struct rm_def *def, struct rm_design *d, struct a51_error *err)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->names[0], sizeof(d->names[0]), "intercept");
	d->block[0] = -1;
	d->p = 1;
	for (int t = 0; t < TERM__COUNT; t++) {
		if (!(def->terms & (1u << t)))
			continue;
		for (int k = 0; k < block_width(t); k++) {
			block_name(t, k, d->names[d->p], sizeof(d->names[d->p]));
			d->block[d->p++] = t;
		}
	}
	for (int i = 0; i < def->ninteractions; i++) {
		int a = def->interactions[i][0], b = def->interactions[i][1];
		for (int ka = 0; ka < block_width(a); ka++)
			for (int kb = 0; kb < block_width(b); kb++) {
				char na[24], nb[24];
				if (d->p >= RM_MAX_COLUMNS)
					return a51_error_set(err, A51_EINVAL, "interactions", "too many columns");
				block_name(a, ka, na, sizeof(na));
				block_name(b, kb, nb, sizeof(nb));
				snprintf(d->names[d->p], sizeof(d->names[d->p]), "%s:%s", na, nb);
				d->block[d->p++] = 100 + i;
			}
	}
	return 0;
}

void rm_design_row(const struct rm_def *def, const struct rm_design *d, const struct rm_patient *pt, double *x)
{
	size_t c = 0;

	x[c++] = 1.0;
	for (int t = 0; t < TERM__COUNT; t++)
		if (def->terms & (1u << t))
			for (int k = 0; k < block_width(t); k++)
				x[c++] = block_value(t, k, pt);
	for (int i = 0; i < def->ninteractions; i++) {
		int a = def->interactions[i][0], b = def->interactions[i][1];
		for (int ka = 0; ka < block_width(a); ka++)
			for (int kb = 0; kb < block_width(b); kb++)
				x[c++] = block_value(a, ka, pt) * block_value(b, kb, pt);
	}
	(void)d;
}

/* x . coef, skipping dropped (NaN) coefficients. */
static double linear(const double *coef, size_t p, const double *x)
{
	double eta = 0;

	for (size_t k = 0; k < p; k++)
		if (!isnan(coef[k]) && x[k] != 0)
			eta += coef[k] * x[k];
	return eta;
}

static bool multiplicative(int method)
{
	return method == RM_LOG_OLS || method == RM_GLM_GAMMA || method == RM_GLM_POISSON;
}

double rm_model_predict(const struct rm_def *def, const double *coef, size_t p, const double *x, double smearing,
			double share)
{
	double eta = linear(coef, p, x);

	switch (def->method) {
	case RM_LOG_OLS: return exp(eta) * smearing * share;
	case RM_GLM_GAMMA: return exp(eta) * share;
	case RM_GLM_POISSON: return exp(eta);
	default: return eta;
	}
}

size_t rm_explain(const struct rm_def *def, const struct rm_design *d, const double *coef, const double *x,
		  double smearing, double share, double *expected, size_t *cols, double *parts)
{
	size_t n = 0;
	double e = rm_model_predict(def, coef, d->p, x, smearing, share);

	*expected = e;
	if (!multiplicative(def->method)) {
		for (size_t k = 0; k < d->p; k++)
			if (!isnan(coef[k]) && x[k] != 0) {
				cols[n] = k;
				parts[n++] = coef[k] * x[k];
			}
		return n;
	}
	{
		/* the base (intercept) cost, then the rest of the cost shared by the
		 * terms in proportion to their part of the linear predictor */
		double base = rm_model_predict(def, coef, 1, x, smearing, share), rest = e - base, sum = 0;
		cols[n] = 0;
		parts[n++] = base;
		for (size_t k = 1; k < d->p; k++)
			if (!isnan(coef[k]) && x[k] != 0)
				sum += coef[k] * x[k];
		for (size_t k = 1; k < d->p; k++)
			if (!isnan(coef[k]) && x[k] != 0) {
				cols[n] = k;
				parts[n++] = sum != 0 ? rest * coef[k] * x[k] / sum : 0;
			}
	}
	return n;
}

int rm_model_load(const json_t *model, struct rm_def *def, struct rm_design *d, double *coef, double *smearing,
		  double share[20], struct a51_error *err)
{
	json_t *errors = json_array(), *c;
	size_t i;
	const json_t *stats = json_object_get(model, "stats");

	if (rm_def_parse(json_object_get(model, "definition"), def, errors) > 0 || rm_design_init(def, d, err) < 0) {
		json_decref(errors);
		return a51_error_set(err, A51_EINTERNAL, "model", "the stored model's definition does not parse");
	}
	json_decref(errors);
	for (size_t k = 0; k < d->p; k++)
		coef[k] = NAN;
	json_array_foreach(json_object_get(model, "coefficients"), i, c) {
		json_t *e = json_object_get(c, "estimate");
		if (i < d->p)
			coef[i] = json_is_number(e) ? json_number_value(e) : NAN;
	}
	*smearing = json_is_number(json_object_get(stats, "smearing"))
			    ? json_number_value(json_object_get(stats, "smearing"))
			    : 1.0;
	for (int k = 0; k < 20; k++) {
		json_t *v = json_object_get(json_object_get(stats, "positive_share_by_cell"), rm_cell_names[k]);
		share[k] = json_is_number(v) ? json_number_value(v) : 1.0;
	}
	return 0;
}
