#include <string.h>

#include "a51/enrolment.h"
#include "a51/params.h"
#include "a51/banned.h"

/* PEPS: a year of preparation and simulation, one retrospective year (FFS kept,
 * bonus), then prospective forfaits. IPEP: action plans and start-up credits,
 * then gains, then gains modulated by quality. EDS: no financial impact, then
 * retrospective, then two-sided risk for the most mature. */
static const char *const peps[] = { "preparation", "retrospective", "prospective" };
static const char *const ipep[] = { "phase1", "phase2", "phase3" };
static const char *const eds[] = { "no_financial_impact", "retrospective", "two_sided" };

const char *const *enrolment_phases(int experiment, size_t *n)
{
	switch (experiment) {
	case EXP_PEPS: *n = 3; return peps;
	case EXP_IPEP: *n = 3; return ipep;
	case EXP_EDS: *n = 3; return eds;
	default: *n = 0; return NULL;
	}
}

int enrolment_phase_index(int experiment, const char *phase)
{
	size_t n;
	const char *const *list = enrolment_phases(experiment, &n);

	for (size_t i = 0; phase && i < n; i++)
		if (strcmp(list[i], phase) == 0)
			return (int)i;
	return -1;
}

const char *enrolment_phase_before(int experiment, const char *phase)
{
	size_t n;
	const char *const *list = enrolment_phases(experiment, &n);
	int i = enrolment_phase_index(experiment, phase);

	return i > 0 ? list[i - 1] : NULL;
}
