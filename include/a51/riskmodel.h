/* Risk models: what a model is (its definition, validated) and how a patient
 * becomes a row of its design matrix. Pure: the data comes in as plain
 * structs, the statistics are in stats.h. */
#ifndef A51_RISKMODEL_H
#define A51_RISKMODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "a51/error.h"

enum rm_target { RT_NONE = 0, RT_PEPS_PERIMETER, RT_TOWN_ALL, RT_ALL_CARE, RT_EPISODE };
enum rm_method { RM_NONE = 0, RM_OLS, RM_WLS, RM_LOG_OLS, RM_GLM_GAMMA, RM_GLM_POISSON };
enum rm_term { TERM_AGE_SEX = 0, TERM_ALD_GROUPS, TERM_C2S, TERM_AME, TERM_N_CHRONIC, TERM_DEPRIVATION, TERM__COUNT };
enum rm_truncation { TRUNC_NONE = 0, TRUNC_PERCENTILE, TRUNC_WINSORIZE };

#define RM_ALD_GROUPS 7
#define RM_MAX_ACTS 32
#define RM_MAX_INTERACTIONS 4
#define RM_MAX_COLUMNS 256

struct rm_def {
	char name[64];
	int year;
	char region[4];             /* "" national; else the reference population of that region */
	int target;                 /* enum rm_target */
	char acts[RM_MAX_ACTS][8];  /* the claims that make the target (act codes); empty: every act */
	int nacts;
	bool include_stays;         /* hospital stays (all_care) */
	char episode_option[12];    /* RT_EPISODE: PTH, PTG or COLECTOMY (eds.h) */
	unsigned terms;             /* bits of enum rm_term */
	int interactions[RM_MAX_INTERACTIONS][2];
	int ninteractions;
	int method;
	bool exposure_weights;
	int truncation;
	double trunc_p;             /* TRUNC_PERCENTILE: cap at this quantile (e.g. 0.99) */
	double wins_low, wins_high; /* TRUNC_WINSORIZE quantiles, per age-sex cell */
	int ald_groups[RM_ALD_GROUPS][16]; /* ALD codes of each group; the last group takes the rest */
	int nald[RM_ALD_GROUPS];
};

/* Validates a definition body (every fault appended to errors as {field,
 * reason}) and fills def. Returns the number of faults. */
size_t rm_def_parse(const json_t *body, struct rm_def *def, json_t *errors);
/* The definition as stored (defaults made explicit). New reference. */
json_t *rm_def_json(const struct rm_def *def);
const char *rm_method_name(int method);
const char *rm_target_name(int target);

/* A patient on the model's date, as the database gives it. */
struct rm_patient {
	int64_t id;
	int cell;                   /* 0..19: sex and age band (synth_cell_names order) */
	unsigned ald;               /* bits of the ALD groups active */
	bool c2s, ame;
	int depriv;                 /* deprivation quintile of the commune, 1..5; 0 unknown */
	double exposure;            /* share of the year covered, 0..1 */
	double y;                   /* target, cents, for the year (not annualised) */
};

/* The design: column names, and the row of a patient. */
struct rm_design {
	size_t p;
	char names[RM_MAX_COLUMNS][48];
	/* for contributions and groups */
	int block[RM_MAX_COLUMNS];  /* enum rm_term of each column (-1 intercept, 100+k interaction k) */
};

int rm_design_init(const struct rm_def *def, struct rm_design *d, struct a51_error *err);
/* Fills x[0..p) for the patient. */
void rm_design_row(const struct rm_def *def, const struct rm_design *d, const struct rm_patient *pt, double *x);

/* A stored model (as store_rm_get gives it) made ready for predictions:
 * coefficients (NaN for dropped terms), smearing, positive shares by cell. */
int rm_model_load(const json_t *model, struct rm_def *def, struct rm_design *d, double *coef, double *smearing,
		  double share[20], struct a51_error *err);
/* Expected annual cost (cents) of a design row. */
double rm_model_predict(const struct rm_def *def, const double *coef, size_t p, const double *x, double smearing,
			double share);
/* Why a row costs what it is expected to: the columns that count for it
 * (cols) with their parts of the expected cost (parts, cents), which sum to
 * *expected. Additive models: coef x value. Multiplicative ones (log_ols,
 * GLMs): the intercept's base cost, then the rest shared by the terms in
 * proportion to their part of the linear predictor. Returns how many. */
size_t rm_explain(const struct rm_def *def, const struct rm_design *d, const double *coef, const double *x,
		  double smearing, double share, double *expected, size_t *cols, double *parts);

/* The name of a term (enum rm_term), as definitions spell it. */
const char *rm_term_name(int term);
/* The cell of a sex (1, 2) and an age. */
int rm_cell(int sex, int age);
extern const char *const rm_cell_names[20];
extern const char *const rm_ald_group_names[RM_ALD_GROUPS];

#endif
