/* EDS: surgical episodes built from a patient's stays and claims, their costs
 * by segment, and the reconciliation of an establishment's year (domain.md
 * §4 and the preface). Windows, lists and amounts come from the EDS parameter
 * set (struct eds_params); dates are days (dates.h); amounts are cents.
 *
 * An episode starts with a trigger stay: an MCO stay whose GHM has the
 * option's root (08C48 hip, 08C24 knee, 06C04 colectomy, the latter with a
 * colon-cancer main diagnosis), admitted in the year, at the establishment.
 * MCO stays it transfers into (exit 7 then entry 7, the next day at the
 * latest) are chained into its index stay. Its window runs from
 * window_before days before admission to window_after days after the index
 * discharge (day 90 in, day 91 out). In the window: pre (before admission),
 * index (the chain and the claims during it), post (after discharge: visits,
 * nursing, physiotherapy, SSR, HAD, planned sessions) and complications
 * (MCO re-admissions other than planned sessions), kept apart.
 *
 * Exclusions, each with its reason: admission other than from home; through
 * the emergency department; death during the index stay; discharge to
 * palliative care; a similar intervention (a trigger of the same option)
 * in the look-back days before; a total colectomy. An item in the windows of
 * two episodes of the patient belongs to the one admitted last before it. */
#ifndef A51_EDS_H
#define A51_EDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "a51/error.h"
#include "a51/params.h"

enum eds_option { EDS_PTH = 0, EDS_PTG, EDS_COLECTOMY, EDS__OPTIONS };
int eds_option_parse(const char *s);      /* "PTH" -> EDS_PTH; -1 */
const char *eds_option_name(int option);

struct eds_stay {
	int64_t ref;                  /* the caller's handle (row id) */
	char field[4];                /* MCO, SSR, HAD */
	int32_t admission, discharge;
	char ghm[8], main_diag[8], procedure[8], finess[10];
	char entry_mode, provenance, exit_mode, destination; /* PMSI codes, '\0' when empty */
	int64_t cents;
};

struct eds_claim {
	int64_t ref;
	int32_t day;
	char act[8];
	int64_t cents;
};

enum eds_segment { EDS_PRE = 0, EDS_INDEX, EDS_POST, EDS_COMPLICATION, EDS__SEGMENTS };
const char *eds_segment_name(int segment);

enum eds_exclusion {
	EDS_X_NOT_FROM_HOME = 1u << 0,
	EDS_X_EMERGENCY = 1u << 1,
	EDS_X_DEATH = 1u << 2,
	EDS_X_PALLIATIVE = 1u << 3,
	EDS_X_PRIOR_INTERVENTION = 1u << 4,
	EDS_X_TOTAL_COLECTOMY = 1u << 5,
};
/* The reasons of a mask, comma-separated, into out. */
void eds_exclusion_names(unsigned mask, char *out, size_t cap);

struct eds_episode {
	int option;
	size_t trigger;               /* index of the trigger stay in the patient's stays */
	size_t chain_last;            /* the last stay chained into the index (== trigger when none) */
	int32_t admission, discharge; /* of the index chain */
	int32_t window_from, window_to;
	unsigned excluded;            /* bits of enum eds_exclusion; 0: included */
	int64_t cents[EDS__SEGMENTS];
	int complications;            /* re-admissions */
	int mco_days;                 /* length of the episode's MCO stays (index chain and re-admissions) */
	bool pre_biology;             /* a biology claim before admission (anaemia, undernutrition screening) */
	int chemo_delay;              /* days from admission to the first chemotherapy session; -1: none */
	bool died_in_window;          /* after the index stay: the window ends on that day */
};

/* Where each stay and claim of the patient went: the episode (index in the
 * episodes array, -1 for none) and the segment. */
struct eds_assignment {
	int episode;
	int segment;
};

/* Builds the episodes of one patient of an establishment for one option (the
 * stays and claims sorted by date): triggers admitted in [from, to] at
 * finess (NULL: anywhere), for a patient who died on death (INT32_MAX: alive).
 * episodes gets at most max. stay_at and claim_at (n entries each)
 * get where every item went. Returns the number of episodes. */
size_t eds_build(const struct eds_params *p, int option, const char *finess, int32_t from, int32_t to,
		 int32_t death, const struct eds_stay *stays, size_t nstays, const struct eds_claim *claims, size_t nclaims,
		 struct eds_episode *episodes, size_t max, struct eds_assignment *stay_at,
		 struct eds_assignment *claim_at);

/* Reconciliation of an establishment's year over its included episodes. */
enum eds_phase { EDS_NO_IMPACT = 1, EDS_RETROSPECTIVE, EDS_TWO_SIDED };
int eds_phase_parse(const char *s);
const char *eds_phase_name(int phase);

struct eds_reconciliation {
	int episodes;
	int64_t target_cents;         /* expected costs + the complications forfait of every episode */
	int64_t actual_cents;         /* every segment, complications included */
	int64_t gap_cents;            /* target - actual: positive, a gain */
	bool two_sided;
	int64_t shared_cents;         /* the gap times the share (a gain only, unless two-sided) */
	int64_t bounded_cents;        /* after the stop-gain / stop-loss */
	double quality_score;
	int64_t quality_cents;        /* the quality envelope */
	int64_t total_cents;          /* what the year pays (negative: the establishment owes) */
};

/* expected and actual: per included episode (n). */
int eds_reconcile(const struct eds_params *p, int phase, int year, const double *expected, const int64_t *actual,
		  size_t n, double quality_score, struct eds_reconciliation *out, struct a51_error *err);

/* The quality indicators (domain.md §4.2: defined with the HAS, list not
 * published): complication rate needing re-hospitalisation, mean length of
 * the episode's MCO stays, share of episodes with pre-operative biology
 * screening, mean delay from surgery to chemotherapy (colectomy). */
enum eds_indicator { EDS_IND_COMPL = 0, EDS_IND_LOS, EDS_IND_PREOP, EDS_IND_CHEMO, EDS__INDICATORS };
int eds_indicator_parse(const char *code);  /* "COMPL" -> EDS_IND_COMPL; -1 */
const char *eds_indicator_name(int ind);

struct eds_indicators {
	double value[EDS__INDICATORS];
	bool have[EDS__INDICATORS];
};
/* The quality score, 0..1: each indicator the parameter set lists that both
 * the establishment and the reference have scores 1 when at least as good as
 * the reference (lower is better, but for PREOP), else 0; the score is their
 * mean, 0 when none could be scored. scored[i]: 1, 0, or -1 not scored. */
double eds_quality_score(const struct eds_params *p, const struct eds_indicators *est, const struct eds_indicators *ref,
			 int scored[EDS__INDICATORS]);

#endif
