/* Parameter sets: every threshold and coefficient of the payment rules, as
 * versioned data. Code holds the shape of each formula; a parameter set holds
 * its values, each with its source and how sure it is (domain.md §0 tags).
 *
 * A body is JSON:
 *   {"experiment": "PEPS", "year": 2024, "label": "...",
 *    "parameters": {"eligibility.min_gp": {"value": 3, "tag": "S",
 *                   "source": "https://...", "note": "..."}, ...}}
 * Pure: no I/O. */
#ifndef A51_PARAMS_H
#define A51_PARAMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "a51/error.h"

enum experiment { EXP_NONE = 0, EXP_PEPS, EXP_IPEP, EXP_EDS };

/* "PEPS" -> EXP_PEPS; EXP_NONE when unknown (case-sensitive). */
int experiment_parse(const char *s);
const char *experiment_name(int experiment);

enum param_type { PT_INT, PT_NUMBER, PT_BOOL, PT_STRING, PT_INT_LIST, PT_STRING_LIST, PT_STRUCTURED };

struct param_def {
	int experiment;
	const char *key;
	int type;          /* enum param_type */
	double min, max;   /* bounds of PT_INT/PT_NUMBER values and of list items of PT_INT_LIST */
	const char *help;  /* what it means, in one line */
	const char *allowed; /* PT_STRING: the comma-separated words it may be, or NULL for any */
	/* PT_STRUCTURED: checks the value, appending {field, reason} to errors; returns how many */
	size_t (*check)(json_t *errors, const char *field, const json_t *v);
};

/* Every key the experiment's parameter sets must define. */
const struct param_def *params_schema(int experiment, size_t *n);

/* Checks a body: experiment known, year 2018..2100, label non-empty, every
 * schema key present with the right type and within bounds, no unknown key,
 * tag one of S, S-trunc, I, B, NF, and a non-empty source for S and S-trunc.
 * Appends {"field": "parameters.<key>.value", "reason": "..."} objects to errors
 * (a JSON array) and returns how many were appended (0: valid). */
size_t params_validate(const json_t *body, json_t *errors);

/* Value of a key of a validated body (NULL if absent). */
const json_t *params_value(const json_t *body, const char *key);

/* What eligibility needs (domain.md §2.2, §3.3, §4), read from a validated body. */
#define PARAMS_LIST_MAX 16

struct elig_params {
	int experiment;
	/* PEPS */
	int min_team_size;                            /* members whose profession is in team_professions */
	char team_professions[PARAMS_LIST_MAX][8];
	int n_team_professions;
	int min_gp, min_nurses;
	char legal_forms[PARAMS_LIST_MAX][24];        /* legal forms able to receive a forfait */
	int n_legal_forms;
	char kinds_any_legal_form[PARAMS_LIST_MAX][12]; /* kinds eligible whatever the form (CDS) */
	int n_kinds_any_legal_form;
	int min_patients;                             /* covered patients of the option, >= */
	/* IPEP */
	int min_patients_exclusive;                   /* MT patientèle, strictly greater */
	int min_gp_with_patients;
	/* EDS */
	char kinds[PARAMS_LIST_MAX][12];
	int n_kinds;
	bool require_finess;
};

/* Who the covered patientèle is, for each option (domain.md §2.3). */
struct patientele_params {
	int elderly_min_age;                          /* age >= this on the reference date */
	int neuro_min_age;                            /* and >= this with a neurodegenerative ALD */
	int neuro_ald[PARAMS_LIST_MAX];
	int n_neuro_ald;
	int diabetes_ald[PARAMS_LIST_MAX];
	int n_diabetes_ald;
	bool whole_includes_ame;
};

/* Fill the structs from a validated body of the right experiment. 0, or A51_EINVAL
 * naming the missing or mistyped key. */
int params_read_eligibility(const json_t *body, struct elig_params *out, struct a51_error *err);
int params_read_patientele(const json_t *body, struct patientele_params *out, struct a51_error *err);

/* What a PEPS run needs (domain.md §2.5-2.8); every rule not confirmed by the
 * texts is one of these, never a constant. */
struct peps_params {
	char risk_model[64];
	char perimeter_acts[PARAMS_LIST_MAX][8];
	int n_perimeter_acts;
	double local_coefficient;
	char fidelisation_level[24];                  /* team | patient */
	double fidelisation_without_care;
	char uplift_quarters[PARAMS_LIST_MAX][8];     /* "2024Q1" */
	int n_uplift_quarters;
	double uplift_rate;
	double quality_bonus_rate, quality_presumed_score;
	double cap_rate;
	char cap_without_prior_ffs[24];               /* no_cap | zero */
	double retrospective_bonus_share;
	char rounding[24];                            /* half_up | half_even | down */
	int instalment_due_days;
	char adjustment_due[8];                       /* MM-DD */
};
int params_read_peps(const json_t *body, struct peps_params *out, struct a51_error *err);

/* What an IPEP run needs (domain.md §3.5-3.8). */
struct ipep_params {
	double c_ecart, c_evolution, c_partage;
	char risk_model[64];
	char reference_day[8];          /* MM-DD of year N: whose médecin traitant counts */
	bool truncate_observed;         /* observed spending capped like the model's target */
	int target_decile, target_decile_decreasing;
	int intermediate_decile, intermediate_decile_decreasing;
	double indicator_points;        /* points of each indicator */
	double evolution_share;         /* below the intermediate objective: at most this share of the points */
	double experience_max_points;   /* the questionnaire's bonus, at most */
	double modulation_floor, modulation_full; /* g: 0 below floor share, 1 from full share, linear between */
	int64_t credits_per_groupement_cents, credits_per_patient_cents;
	char rounding[24];
	char payment_due[8];            /* MM-DD of year N+1 */
};

int params_read_ipep(const json_t *body, struct ipep_params *out, struct a51_error *err);

/* What EDS episodes and runs need (domain.md §4, the preface). */
struct eds_params {
	int window_before, window_after, lookback, transfer_gap;
	char root_pth[8], root_ptg[8], root_colectomy[8];
	char colectomy_diagnoses[PARAMS_LIST_MAX][8];
	int n_colectomy_diagnoses;
	char palliative_diagnoses[PARAMS_LIST_MAX][8];
	int n_palliative_diagnoses;
	char total_colectomy_acts[PARAMS_LIST_MAX][8];
	int n_total_colectomy_acts;
	char planned_ghm_prefixes[PARAMS_LIST_MAX][8];
	int n_planned_ghm_prefixes;
	char model_pth[64], model_ptg[64], model_colectomy[64];
	double gain_share, loss_share, stop_gain, stop_loss;
	int two_sided_from;
	double quality_envelope;
	char quality_indicators[PARAMS_LIST_MAX][8]; /* enum eds_indicator codes */
	int n_quality_indicators;
	char rounding[24];
	char payment_due[8];
};
int params_read_eds(const json_t *body, struct eds_params *out, struct a51_error *err);


#endif
