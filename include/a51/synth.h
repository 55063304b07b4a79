/* Synthetic data: a region of structures with their professionals and
 * patients, médecin-traitant declarations, town claims, hospital stays (hip and
 * knee replacements and colectomies among them, with their before and after)
 * and patient-experience answers — and a France-wide reference population.
 * Deterministic for a seed. Spending follows an additive model with known
 * coefficients (written to truth.json), so that fitted risk models can be
 * checked against the truth. */
#ifndef A51_SYNTH_H
#define A51_SYNTH_H

#include <stdint.h>

#include "a51/error.h"

struct synth_options {
	long patients;        /* in the region */
	int structures;       /* in the region */
	long reference;       /* patients of the reference population (0: none) */
	int year;             /* the last year of data */
	int years;            /* years of claims and stays, ending with `year` */
	uint64_t seed;
	int surgery_rate;     /* multiplies the rates of surgical episodes (EDS tests and demos); 0 or 1: as is */
	char region[4];
	const char *out;      /* directory, created if needed */
	const unsigned char *pseudo_key; /* only to print nothing: NIRs are written in clear for upload */
};

struct synth_counts {
	long structures, professionals, patients, reference_patients, declarations, claims, stays, answers;
};

/* Writes the files; returns 0 or an error (I/O). */
int synth_run(const struct synth_options *o, struct synth_counts *out, struct a51_error *err);

/* The design terms of the truth (and of risk models fitted on synth data):
 * "intercept", "F_0_4" ... "M_85", "ald_diabetes" ... "c2s". */
#define SYNTH_CELLS 20
#define SYNTH_ALD_GROUPS 7
extern const char *const synth_cell_names[SYNTH_CELLS];
extern const char *const synth_ald_group_names[SYNTH_ALD_GROUPS];

#endif
