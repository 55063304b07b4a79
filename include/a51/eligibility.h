/* Eligibility of a structure to an experiment (domain.md §2.2, §3.3, §4): the
 * criteria of the parameter set against what a51 measured. Pure. */
#ifndef A51_ELIGIBILITY_H
#define A51_ELIGIBILITY_H

#include <jansson.h>
#include <stdbool.h>

#include "a51/params.h"

enum option {
	OPT_NONE = 0,
	OPT_DIABETIC, OPT_ELDERLY, OPT_WHOLE,   /* PEPS */
	OPT_GROUPEMENT,                         /* IPEP: the groupement's patientèle */
	OPT_PTH, OPT_PTG, OPT_COLECTOMY,        /* EDS */
};

/* "diabetic" -> OPT_DIABETIC when it belongs to experiment; OPT_NONE otherwise.
 * For IPEP, NULL or "" means OPT_GROUPEMENT. */
int option_parse(int experiment, const char *s);
const char *option_name(int option);

/* What a51 measured at the evaluation date. */
struct elig_measures {
	char kind[12];
	char legal_form[24];
	bool has_finess;
	int n_team;                 /* active members whose profession is in team_professions */
	int n_gp;                   /* active MG members */
	int n_nurses;               /* active IDE members */
	long covered_patients;      /* PEPS: covered patients of the option; IPEP: MT patientèle */
	int n_gp_with_patients;     /* IPEP: member GPs who are médecin traitant of at least one patient */
};

enum elig_value_kind { EV_NUMBER, EV_TEXT, EV_BOOL };

struct elig_criterion {
	char code[32];              /* "peps.min_gp" */
	char label[128];            /* one sentence, in English */
	int kind;                   /* enum elig_value_kind */
	long measured, required;    /* EV_NUMBER, EV_BOOL (0/1) */
	char measured_text[48];     /* EV_TEXT */
	char required_text[160];    /* EV_TEXT: the accepted values, comma-separated */
	char op[4];                 /* ">=", ">", "in", "=" */
	bool met;
};

#define ELIG_MAX_CRITERIA 10

struct elig_report {
	int experiment, option;
	bool eligible;              /* every criterion met */
	int n;
	struct elig_criterion c[ELIG_MAX_CRITERIA];
};

/* Evaluates every criterion of the experiment (never stops at the first unmet). */
void eligibility_evaluate(int experiment, int option, const struct elig_params *p, const struct elig_measures *m,
			  struct elig_report *out);

/* {"experiment","option","eligible","criteria":[{"code","label","measured","required","op","met"}]}
 * New reference. */
json_t *eligibility_report_json(const struct elig_report *r);

#endif
