/* PEPS: the team forfait of a year (domain.md §2.5-2.7), as pure arithmetic
 * on what the database measured. Every coefficient comes from the year's
 * parameter set (struct peps_params); amounts are cents.
 *
 * For each covered patient i:
 *   rate_i    = base_i x fidelisation x local coefficient x (1 + bonus_rate x quality score)
 *               (base_i: the risk model's expected annual cost on the perimeter)
 *   earned_i  = sum over quarters q of rate_i x covered_days_i,q / days_of_year x (1 + uplift_q)
 *   instalment_i,q = rate_i / 4 x (1 + uplift_q) when i is covered on the quarter's first day
 * The year's remuneration is capped at (1 + cap.rate) x the team's perimeter
 * fee-for-service of the year before on the same patients.
 *
 * Phases: simulation (the forfait side by side with the fee-for-service the
 * team billed, by quarter, nothing paid); retrospective (fee-for-service goes
 * on; a bonus of max(0, forfait - fee-for-service) x bonus share is paid after
 * the year); prospective (four quarterly instalments from the patients covered
 * at each quarter's start, then a year-end adjustment to what was earned).
 *
 * Totals are rounded once (payment.rounding); lines are shares of their total
 * by largest remainders, so that they add up to it exactly. */
#ifndef A51_PEPS_H
#define A51_PEPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "a51/error.h"
#include "a51/params.h"

enum peps_phase { PEPS_SIMULATION = 1, PEPS_RETROSPECTIVE, PEPS_PROSPECTIVE };

int peps_phase_parse(const char *s);
const char *peps_phase_name(int phase);
/* The enrolment phase (enrolment.h) a run phase belongs to: preparation for a
 * simulation, retrospective, prospective. */
const char *peps_phase_enrolment(int phase);
/* An official run needs its phase in force over the whole period: enrol is
 * {phase_from, phase} (on from and to). 0, or A51_EINVAL saying why. */
int peps_phase_check(const json_t *enrol, int64_t structure_id, int phase, const char *from, const char *to,
		     struct a51_error *err);

/* One covered patient, as measured for the year. */
struct peps_patient {
	int64_t id;
	double base;                  /* expected annual cost on the perimeter, cents (risk model) */
	int covered_days[4];          /* days covered in each quarter */
	uint8_t covered_at_start;     /* bit q: covered on the first day of quarter q */
	int64_t team_cents;           /* perimeter care of the year by the team's members */
	int64_t all_cents;            /* perimeter care of the year by anyone */
	int64_t ffs_cents[4];         /* perimeter fee-for-service billed by the team, by quarter */
	int64_t prior_ffs_cents;      /* the same, the year before (the cap's base) */
};

/* A run's choices besides the parameters. */
struct peps_run_spec {
	int year;
	int phase;                    /* enum peps_phase */
	int quarter;                  /* 1..4: that quarter alone (prospective instalment, or simulation); 0: the year */
	double quality_score;         /* 0..1; < 0: the parameter set's presumed score */
	/* a prospective year: the instalments the quarter runs paid, used as they
	 * were so that the adjustment settles what was paid */
	bool have_paid[4];
	int64_t paid[4];
};

/* What a patient gets, and why. */
struct peps_line {
	double fidelisation;          /* the share applied to this patient */
	double rate;                  /* annual rate after coefficients, cents */
	double earned;                /* earned over the run's period (before the cap), cents */
	double instalments;           /* the run's instalments for this patient (before the cap), cents */
	int64_t amount;               /* the patient's share of the run's total, whole cents */
};

enum peps_item_kind { PEPS_INSTALMENT = 1, PEPS_ADJUSTMENT, PEPS_BONUS };

struct peps_item {
	int kind;                     /* enum peps_item_kind */
	int quarter;                  /* 1..4 for an instalment, 0 otherwise */
	int due_y, due_m, due_d;
	int64_t cents;
};

struct peps_result {
	int patients;
	double fidelisation;          /* the team's (fidelisation.level = team), else the mean applied */
	double quality_factor, local_coefficient;
	double earned;                /* over the period, before the cap, cents */
	int64_t earned_cents;         /* rounded */
	int64_t ffs_cents[4];         /* the team's perimeter fee-for-service by quarter */
	int64_t ffs_total_cents;
	int64_t prior_ffs_cents;
	bool capped;                  /* the cap was applied (it may not bind) */
	int64_t cap_cents;            /* the cap's level, when there is one */
	int64_t cap_effect_cents;     /* what the cap took off (>= 0) */
	int64_t forfait_cents;        /* earned after the cap */
	int64_t forfait_by_quarter[4];/* simulation: earned by quarter (after the cap's ratio) */
	int64_t total_cents;          /* what the run pays: sum of the schedule (0 in simulation) */
	struct peps_item items[6];
	int nitems;
};

/* Computes a run over n patients (lines: n entries, filled). Fails with
 * A51_EINVAL on a spec or parameters it cannot use (field named). */
int peps_compute(const struct peps_params *p, const struct peps_run_spec *spec, const struct peps_patient *pts,
		 size_t n, struct peps_line *lines, struct peps_result *out, struct a51_error *err);

/* Days in a quarter (1..4) of a year, and in the year. */
int peps_quarter_days(int year, int quarter);
int peps_year_days(int year);

/* ---- distribution proposals: how the team may split a total ---- */

enum peps_key { PEPS_KEY_EQUAL = 1, PEPS_KEY_FTE, PEPS_KEY_PATIENTS, PEPS_KEY_PRIOR_FFS };
int peps_key_parse(const char *s);
const char *peps_key_name(int key);

/* Shares total_cents over n members by their weights (largest remainders):
 * equal weights for PEPS_KEY_EQUAL. Fails (A51_EINVAL) when every weight is
 * zero or one is negative. */
int peps_split(int64_t total_cents, const double *weights, size_t n, int64_t *out, struct a51_error *err);

#endif
