/* IPEP: a groupement's collective incentive for a year (domain.md §3), as pure
 * arithmetic on what the database measured. Coefficients come from the year's
 * parameter set (struct ipep_params); amounts are cents.
 *
 * Efficiency gains, per patient of the patientèle (means weighted by the
 * share of each year a patient was alive):
 *   E = expected_N - observed_N                                  (level gap)
 *   V = (expected_N - expected_N-1) - (observed_N - observed_N-1) (evolution gap)
 *   M = C_partage x (C_ecart x max(0, E) + C_evolution x max(0, V))
 *   gains = M x patients
 * Each gap is floored at zero on its own: an unfavourable level does not take
 * away what was gained on the evolution, nor the reverse. IPEP is strictly an
 * incentive: nothing is ever negative.
 *
 * Quality: every indicator weighs the same. Reaching the target (the 8th
 * decile of the territories' results, the 2nd for a decreasing indicator)
 * earns its points; between the intermediate objective (3rd decile, 7th when
 * decreasing) and the target, a share of them in proportion; below it, a share
 * for the way covered since the year before towards the objective. Up to 20
 * more points come from the patient-experience questionnaire. The money is
 * modulated by g(score share), a ramp between two shares.
 *
 * Phases: phase1 pays the start-up credits (the score is computed and shown);
 * phase2 pays the gains; phase3 pays the gains modulated by the score. */
#ifndef A51_IPEP_H
#define A51_IPEP_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "a51/error.h"
#include "a51/params.h"

/* One patient of the patientèle: spending and exposure of both years. */
struct ipep_patient {
	int64_t id;
	double expected[2];             /* [0] N-1, [1] N: annual expected cost, cents */
	double observed[2];             /* spending of the year, cents (not annualised) */
	double exposure[2];             /* share of the year alive, 0..1 */
};

/* One quality indicator of the groupement for the year. */
struct ipep_indicator {
	char code[32];
	bool a_la_carte, decreasing;
	double value, previous;         /* previous: NAN when not measured */
	double deciles[9];              /* 1st to 9th decile of the territories' results */
};

struct ipep_indicator_score {
	double target, intermediate;
	double points;
	const char *how;                /* "target reached", "between objective and target", "evolution", "no data" */
};

struct ipep_quality {
	double points, max_points;      /* indicators + experience */
	double experience_points;       /* after the cap; 0 when missing */
	bool experience_missing;
	double share;                   /* points / max_points */
	double modulation;              /* g(share) */
};

enum ipep_phase { IPEP_PHASE1 = 1, IPEP_PHASE2, IPEP_PHASE3 };
int ipep_phase_parse(const char *s);
const char *ipep_phase_name(int phase);
/* An official run takes the enrolment's phase, which must hold over the whole
 * year: enrol is {phase_from, phase}. 0, or A51_EINVAL saying why. */
int ipep_phase_check(const json_t *enrol, int64_t structure_id, const char *from, const char *to,
		     struct a51_error *err);

/* The spending of both years comes from the groupement's claims: they must
 * run from 1 January of N-1 (or before) to 31 December of N (or after).
 * first and last are the dataset's first and last care dates (YYYY-MM-DD,
 * empty: no claims). 0, or A51_EINVAL on field "year" saying what the data
 * cover and what the year needs. */
int ipep_data_check(int64_t structure_id, int year, const char *first, const char *last, struct a51_error *err);

struct ipep_result {
	int patients;
	bool eligible;                  /* the patientèle is above the floor: otherwise nothing is paid */
	double exposure[2];             /* patient-years */
	double expected_pp[2], observed_pp[2];
	double level_gap_pp, evolution_gap_pp;      /* E and V, cents per patient */
	double level_floored_pp, evolution_floored_pp;
	double shared_pp;               /* M */
	int64_t gains_cents;            /* M x patients */
	int64_t modulated_cents;        /* what the phase pays of the gains */
	int64_t credits_cents;
	int64_t total_cents;
	struct ipep_quality quality;
};

/* Scores the indicators (scores: n entries) and the questionnaire
 * (experience < 0: missing). */
void ipep_score(const struct ipep_params *p, const struct ipep_indicator *ind, size_t n, double experience,
		struct ipep_indicator_score *scores, struct ipep_quality *q);

/* Computes a run: lines_cents (n entries) gets each patient's share of the
 * total, adding up to it. A patientèle of min_patients or fewer (the
 * eligibility floor, "more than 5 000") is paid nothing. */
int ipep_compute(const struct ipep_params *p, int phase, long min_patients, const struct ipep_patient *pts, size_t n,
		 const struct ipep_quality *q, struct ipep_result *out, int64_t *lines_cents, struct a51_error *err);

#endif
