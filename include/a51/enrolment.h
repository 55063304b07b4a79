/* Enrolment phases of each experiment (domain.md §2.6, §3.9, §4.1). Pure. */
#ifndef A51_ENROLMENT_H
#define A51_ENROLMENT_H

#include <stddef.h>

/* The phases of an experiment, in order; NULL/0 for an unknown experiment. */
const char *const *enrolment_phases(int experiment, size_t *n);
/* The phase that must be current for `phase` to begin: NULL when `phase` is the
 * first phase or not a phase of the experiment (see enrolment_phase_index). */
const char *enrolment_phase_before(int experiment, const char *phase);
/* Position of phase in the order, or -1. */
int enrolment_phase_index(int experiment, const char *phase);

#endif
