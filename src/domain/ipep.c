#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a51/dates.h"
#include "a51/ipep.h"
#include "a51/money.h"
#include "a51/banned.h"

static const char *const phase_names[] = { "", "phase1", "phase2", "phase3" };

int ipep_phase_parse(const char *s)
{
	for (int i = 1; s && i <= IPEP_PHASE3; i++)
		if (strcmp(s, phase_names[i]) == 0)
			return i;
	return 0;
}

const char *ipep_phase_name(int phase)
{
	return phase >= IPEP_PHASE1 && phase <= IPEP_PHASE3 ? phase_names[phase] : "";
}

int ipep_phase_check(const json_t *enrol, int64_t structure_id, const char *from, const char *to,
		     struct a51_error *err)
{
	const char *at_to = json_string_value(json_object_get(enrol, "phase"));
	const char *at_from = json_string_value(json_object_get(enrol, "phase_from"));

	if (!at_to || !at_from || strcmp(at_to, at_from) != 0 || !ipep_phase_parse(at_to))
		return a51_error_set(err, A51_EINVAL, "phase",
				     "groupement %lld is in phase %s on %s and %s on %s: an official IPEP run needs one "
				     "phase over the whole year",
				     (long long)structure_id, at_from ? at_from : "(none)", from, at_to ? at_to : "(none)", to);
	return 0;
}

int ipep_data_check(int64_t structure_id, int year, const char *first, const char *last, struct a51_error *err)
{
	int32_t f, l;

	if (!first || !last || date_parse(first, &f) < 0 || date_parse(last, &l) < 0)
		return a51_error_set(err, A51_EINVAL, "year",
				     "structure %lld has no claims: an IPEP run of %d needs them from %d-01-01 to %d-12-31"
				     " (years N-1 and N)",
				     (long long)structure_id, year, year - 1, year);
	if (f > date_from_ymd(year - 1, 1, 1) || l < date_from_ymd(year, 12, 31))
		return a51_error_set(err, A51_EINVAL, "year",
				     "the claims of structure %lld run from %s to %s: they do not cover %d-01-01 to"
				     " %d-12-31, which an IPEP run of %d needs (years N-1 and N)",
				     (long long)structure_id, first, last, year - 1, year, year);
	return 0;
}

static double clamp01(double x)
{
	return x < 0 ? 0 : x > 1 ? 1 : x;
}

/* One indicator: the target reached, the share of the way from the
 * intermediate objective to the target, or the way covered towards the
 * objective since the year before. A decreasing indicator mirrors it all. */
static void score_one(const struct ipep_params *p, const struct ipep_indicator *k, struct ipep_indicator_score *s)
{
	double sign = k->decreasing ? -1 : 1, v = sign * k->value, prev = sign * k->previous, t, o;
	int td = k->decreasing ? p->target_decile_decreasing : p->target_decile;
	int od = k->decreasing ? p->intermediate_decile_decreasing : p->intermediate_decile;

	s->target = k->deciles[td - 1];
	s->intermediate = k->deciles[od - 1];
	t = sign * s->target;
	o = sign * s->intermediate;
	s->points = 0;
	if (isnan(k->value)) {
		s->how = "no data";
	} else if (v >= t) {
		s->points = p->indicator_points;
		s->how = "target reached";
	} else if (v >= o) {
		s->points = t > o ? p->indicator_points * (v - o) / (t - o) : p->indicator_points;
		s->how = "between objective and target";
	} else if (isnan(k->previous) || o <= prev) {
		s->how = isnan(k->previous) ? "below the objective, no previous year" : "below the objective, no progress";
	} else {
		s->points = p->indicator_points * p->evolution_share * clamp01((v - prev) / (o - prev));
		s->how = "evolution";
	}
}

void ipep_score(const struct ipep_params *p, const struct ipep_indicator *ind, size_t n, double experience,
		struct ipep_indicator_score *scores, struct ipep_quality *q)
{
	memset(q, 0, sizeof(*q));
	for (size_t i = 0; i < n; i++) {
		score_one(p, &ind[i], &scores[i]);
		q->points += scores[i].points;
	}
	q->experience_missing = experience < 0 || isnan(experience);
	q->experience_points = q->experience_missing ? 0 : fmin(experience, p->experience_max_points);
	q->points += q->experience_points;
	q->max_points = p->indicator_points * (double)n + p->experience_max_points;
	q->share = q->max_points > 0 ? q->points / q->max_points : 0;
	if (q->share < p->modulation_floor)
		q->modulation = 0;
	else if (q->share >= p->modulation_full)
		q->modulation = 1;
	else
		q->modulation = (q->share - p->modulation_floor) / (p->modulation_full - p->modulation_floor);
}

int ipep_compute(const struct ipep_params *p, int phase, long min_patients, const struct ipep_patient *pts, size_t n,
		 const struct ipep_quality *q, struct ipep_result *out, int64_t *lines_cents, struct a51_error *err)
{
	int mode = money_rounding_parse(p->rounding);
	double e[2] = { 0 }, o[2] = { 0 }, m;
	int64_t credits;

	memset(out, 0, sizeof(*out));
	if (mode < 0)
		return a51_error_set(err, A51_EINVAL, "payment.rounding", "unknown rounding %s", p->rounding);
	if (phase < IPEP_PHASE1 || phase > IPEP_PHASE3)
		return a51_error_set(err, A51_EINVAL, "phase", "the phase is phase1, phase2 or phase3");
	out->patients = (int)n;
	out->eligible = (long)n > min_patients;
	out->quality = *q;
	/* per patient-year: expected costs are annual, observed spending is the year's */
	for (size_t i = 0; i < n; i++)
		for (int y = 0; y < 2; y++) {
			out->exposure[y] += pts[i].exposure[y];
			e[y] += pts[i].expected[y] * pts[i].exposure[y];
			o[y] += pts[i].observed[y];
		}
	for (int y = 0; y < 2; y++) {
		out->expected_pp[y] = out->exposure[y] > 0 ? e[y] / out->exposure[y] : 0;
		out->observed_pp[y] = out->exposure[y] > 0 ? o[y] / out->exposure[y] : 0;
	}
	out->level_gap_pp = out->expected_pp[1] - out->observed_pp[1];
	out->evolution_gap_pp = (out->expected_pp[1] - out->expected_pp[0]) - (out->observed_pp[1] - out->observed_pp[0]);
	/* a year without patients has no evolution to measure */
	if (out->exposure[0] <= 0)
		out->evolution_gap_pp = 0;
	out->level_floored_pp = fmax(0, out->level_gap_pp);
	out->evolution_floored_pp = fmax(0, out->evolution_gap_pp);
	out->shared_pp = p->c_partage * (p->c_ecart * out->level_floored_pp + p->c_evolution * out->evolution_floored_pp);
	m = out->shared_pp * (double)n;
	if (!money_round(m, mode, &out->gains_cents))
		return a51_error_set(err, A51_EINVAL, "gains", "the gains are not a finite amount");
	switch (phase) {
	case IPEP_PHASE1:
		out->modulated_cents = 0; /* quality only: the score is shown, the credits are paid */
		credits = p->credits_per_groupement_cents + p->credits_per_patient_cents * (int64_t)n;
		out->credits_cents = credits;
		break;
	case IPEP_PHASE2: out->modulated_cents = out->gains_cents; break;
	default:
		if (!money_round((double)out->gains_cents * q->modulation, mode, &out->modulated_cents))
			return a51_error_set(err, A51_EINVAL, "gains", "the modulated gains are not a finite amount");
	}
	if (!out->eligible) {
		out->modulated_cents = 0;
		out->credits_cents = 0;
	}
	out->total_cents = out->modulated_cents + out->credits_cents;
	if (n) {
		/* every patient counts the same: equal shares of the total */
		double *parts = malloc(sizeof(double) * n);
		bool ok;
		if (!parts)
			return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		for (size_t i = 0; i < n; i++)
			parts[i] = (double)out->total_cents / (double)n;
		ok = money_allocate(parts, n, out->total_cents, lines_cents);
		free(parts);
		if (!ok)
			return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	}
	return 0;
}
