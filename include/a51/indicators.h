/* Quality indicators as data (issue 9, domain.md §3.7): each indicator of the
 * catalogue names its population (the structure's médecin-traitant patientèle
 * or every patient it uploaded, narrowed by age, ALD, C2S), a measure the
 * store knows how to count (an MT declared; acts in the year; acts in enough
 * quarters; re-hospitalisation within D days; stays for given diagnoses) and
 * its direction. The catalogue and the patient-experience dimensions live in
 * the IPEP parameter set, tagged like every other rule.
 *
 * This module is pure: validating and reading those definitions, the Wilson
 * interval of a proportion, the deciles of a territory, the experience
 * scores. The counting is SQL (store/indicators.c). */
#ifndef A51_INDICATORS_H
#define A51_INDICATORS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "a51/error.h"
#include "a51/params.h"

#define IND_MAX 24          /* indicators in a catalogue */
#define IND_LIST_MAX 16     /* codes, diagnoses or ALDs of one indicator */
#define IND_DIMS_MAX 8      /* patient-experience dimensions */
#define IND_ITEMS_MAX 64    /* questionnaire items of one dimension */

enum ind_base { IND_BASE_PATIENTELE, IND_BASE_LINKED };
enum ind_measure {
	IND_MT_DECLARED,    /* a médecin traitant declared on 31 December */
	IND_ACTS,           /* at least `min` claims with one of `codes` in the year */
	IND_ACTS_QUARTERS,  /* at least `min` such claims in each of `quarters` quarters */
	IND_READMISSION,    /* among patients with an MCO stay: another within 1..`days` days */
	IND_STAYS_DIAGNOSIS /* an MCO stay whose main diagnosis starts with one of `codes` */
};

struct ind_def {
	char code[24];
	char label[128];
	char theme[24];
	bool decreasing, a_la_carte, care_gap;
	int base;                          /* enum ind_base */
	int age_min, age_max;              /* age on 31 December */
	int ald[IND_LIST_MAX], n_ald;      /* any of them during the year; none: no condition */
	int c2s;                           /* -1 any, 0 without, 1 with */
	int measure;                       /* enum ind_measure */
	char codes[IND_LIST_MAX][16];
	int n_codes;
	int min, quarters, days;
};

struct ind_catalogue {
	struct ind_def d[IND_MAX];
	int n;
};

struct ind_dimension {
	char code[24];
	char label[96];
	int items[IND_ITEMS_MAX], n_items;
};

struct ind_experience {
	char questionnaire[32];            /* answers of questionnaire "<this>-<year>" */
	int scale_min, scale_max;          /* answer range; scores are 0..100 over it */
	int min_respondents;               /* fewer: no score */
	struct ind_dimension dims[IND_DIMS_MAX];
	int n_dims;
};

const char *ind_measure_name(int measure);
const char *ind_base_name(int base);

/* Validators of the parameter-set values "indicators.catalogue" and
 * "indicators.experience": append {field, reason} to errors, return how many. */
size_t ind_catalogue_check(json_t *errors, const char *field, const json_t *v);
size_t ind_experience_check(json_t *errors, const char *field, const json_t *v);

/* Readers of validated values. 0, or A51_EINVAL naming the key. */
int ind_catalogue_read(const json_t *v, struct ind_catalogue *out, struct a51_error *err);
int ind_experience_read(const json_t *v, struct ind_experience *out, struct a51_error *err);
const struct ind_def *ind_find(const struct ind_catalogue *c, const char *code);

/* What an indicator run reads of an IPEP parameter set. */
struct ind_setup {
	struct ind_catalogue cat;
	struct ind_experience exp;
	struct ipep_params ip;          /* targets and points, as IPEP scores them */
	char kinds[192];                /* structure kinds, as a PostgreSQL text[] literal */
	long min_den;                   /* a value enters the deciles from this denominator */
	double z;                       /* quantile of the confidence intervals */
};
/* From a validated IPEP body. 0, or A51_EINVAL naming the key. */
int ind_setup_read(const json_t *body, struct ind_setup *s, struct a51_error *err);

/* Wilson score interval of num/den at the normal quantile z (1.96 for 95 %);
 * [0, 1] when den is 0. */
void ind_wilson(long long num, long long den, double z, double *lo, double *hi);

/* Deciles 1..9 of n values (sorted in place), linear between order
 * statistics (Hyndman-Fan type 7, R's default). false when n is 0. */
bool ind_deciles(double *values, size_t n, double out[9]);

/* Mean answer on the scale -> 0..100. */
double ind_scale_score(double mean, int scale_min, int scale_max);

#endif
