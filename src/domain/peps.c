#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/dates.h"
#include "a51/money.h"
#include "a51/peps.h"
#include "a51/util.h"
#include "a51/banned.h"

static const char *const phase_names[] = { "", "simulation", "retrospective", "prospective" };
static const char *const phase_enrolment[] = { "", "preparation", "retrospective", "prospective" };
static const char *const key_names[] = { "", "equal", "fte", "patients", "prior_ffs" };

int peps_phase_parse(const char *s)
{
	for (int i = 1; s && i <= PEPS_PROSPECTIVE; i++)
		if (strcmp(s, phase_names[i]) == 0)
			return i;
	return 0;
}

const char *peps_phase_name(int phase)
{
	return phase >= PEPS_SIMULATION && phase <= PEPS_PROSPECTIVE ? phase_names[phase] : "";
}

const char *peps_phase_enrolment(int phase)
{
	return phase >= PEPS_SIMULATION && phase <= PEPS_PROSPECTIVE ? phase_enrolment[phase] : "";
}

int peps_phase_check(const json_t *enrol, int64_t structure_id, int phase, const char *from, const char *to,
		     struct a51_error *err)
{
	const char *at_to = json_string_value(json_object_get(enrol, "phase"));
	const char *at_from = json_string_value(json_object_get(enrol, "phase_from"));
	const char *want = peps_phase_enrolment(phase);

	if (!at_to || strcmp(at_to, want) != 0 || !at_from || strcmp(at_from, want) != 0)
		return a51_error_set(err, A51_EINVAL, "phase",
				     "structure %lld is in phase %s on %s and %s on %s: a %s run needs the %s phase over "
				     "the whole period (run the quarters of each phase apart)",
				     (long long)structure_id, at_from ? at_from : "(none)", from, at_to ? at_to : "(none)", to,
				     peps_phase_name(phase), want);
	return 0;
}

int peps_key_parse(const char *s)
{
	for (int i = 1; s && i <= PEPS_KEY_PRIOR_FFS; i++)
		if (strcmp(s, key_names[i]) == 0)
			return i;
	return 0;
}

const char *peps_key_name(int key)
{
	return key >= PEPS_KEY_EQUAL && key <= PEPS_KEY_PRIOR_FFS ? key_names[key] : "";
}

int peps_year_days(int year)
{
	return (int)(date_from_ymd(year + 1, 1, 1) - date_from_ymd(year, 1, 1));
}

int peps_quarter_days(int year, int quarter)
{
	int32_t a = date_from_ymd(year, 3 * quarter - 2, 1);
	int32_t b = quarter == 4 ? date_from_ymd(year + 1, 1, 1) : date_from_ymd(year, 3 * quarter + 1, 1);

	return (int)(b - a);
}

static bool rounds(int mode, double v, int64_t *out)
{
	return money_round(v, mode, out);
}

/* Shares total over the lines in proportion to their weights, whole cents
 * adding up to total. */
static int share_lines(const double *w, size_t n, int64_t total, struct peps_line *lines, struct a51_error *err)
{
	double sum = 0;
	double *parts;
	int64_t *cents;
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		sum += w[i];
	if (n == 0)
		return 0;
	parts = malloc(sizeof(double) * n);
	cents = malloc(sizeof(int64_t) * n);
	if (!parts || !cents) {
		rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		parts[i] = sum > 0 ? w[i] * ((double)total / sum) : 0;
	if (sum <= 0 && total != 0) {
		rc = a51_error_set(err, A51_EINTERNAL, "lines", "a total of %lld cents with nothing to share it by",
				   (long long)total);
		goto out;
	}
	if (!money_allocate(parts, n, total, cents)) {
		rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		lines[i].amount = cents[i];
out:
	free(parts);
	free(cents);
	return rc;
}

static void due(struct peps_item *it, int32_t day)
{
	date_to_ymd(day, &it->due_y, &it->due_m, &it->due_d);
}

/* The adjustment's day of the next year: MM-DD, checked by params_read_peps. */
static int32_t adjustment_day(const struct peps_params *p, int year)
{
	const char *d = p->adjustment_due;

	return date_from_ymd(year + 1, (d[0] - '0') * 10 + (d[1] - '0'), (d[3] - '0') * 10 + (d[4] - '0'));
}

int peps_compute(const struct peps_params *p, const struct peps_run_spec *spec, const struct peps_patient *pts,
		 size_t n, struct peps_line *lines, struct peps_result *out, struct a51_error *err)
{
	int mode = money_rounding_parse(p->rounding);
	bool team_level = strcmp(p->fidelisation_level, "patient") != 0;
	double uplift[4], score, ydays, cap = INFINITY, earned = 0, earned_q[4] = { 0 }, instal_q[4] = { 0 };
	double team = 0, all = 0, fid_sum = 0, *w = NULL;
	int q0 = spec->quarter ? spec->quarter - 1 : 0, q1 = spec->quarter ? spec->quarter : 4;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (mode < 0)
		return a51_error_set(err, A51_EINVAL, "payment.rounding", "unknown rounding %s", p->rounding);
	if (spec->phase < PEPS_SIMULATION || spec->phase > PEPS_PROSPECTIVE)
		return a51_error_set(err, A51_EINVAL, "phase", "the phase is simulation, retrospective or prospective");
	if (spec->quarter < 0 || spec->quarter > 4)
		return a51_error_set(err, A51_EINVAL, "quarter", "a quarter is 1 to 4");
	if (spec->quarter && spec->phase == PEPS_RETROSPECTIVE)
		return a51_error_set(err, A51_EINVAL, "quarter",
				     "a retrospective bonus is computed on the whole year: no quarter");
	score = spec->quality_score >= 0 ? spec->quality_score : p->quality_presumed_score;
	if (score > 1)
		return a51_error_set(err, A51_EINVAL, "quality_score", "a quality score is 0 to 1");
	for (int q = 0; q < 4; q++) {
		char name[16];
		uplift[q] = 1;
		snprintf(name, sizeof(name), "%dQ%d", spec->year, q + 1);
		for (int k = 0; k < p->n_uplift_quarters; k++)
			if (strcmp(p->uplift_quarters[k], name) == 0)
				uplift[q] = 1 + p->uplift_rate;
	}
	ydays = peps_year_days(spec->year);
	out->patients = (int)n;
	out->quality_factor = 1 + p->quality_bonus_rate * score;
	out->local_coefficient = p->local_coefficient;

	/* fidelisation: the team's share of its patients' perimeter care */
	for (size_t i = 0; i < n; i++) {
		team += (double)pts[i].team_cents;
		all += (double)pts[i].all_cents;
		for (int q = 0; q < 4; q++)
			out->ffs_cents[q] += pts[i].ffs_cents[q];
		out->prior_ffs_cents += pts[i].prior_ffs_cents;
	}
	out->fidelisation = all > 0 ? fmin(1.0, team / all) : p->fidelisation_without_care;
	for (int q = q0; q < q1; q++)
		out->ffs_total_cents += out->ffs_cents[q];

	for (size_t i = 0; i < n; i++) {
		const struct peps_patient *pt = &pts[i];
		struct peps_line *l = &lines[i];
		memset(l, 0, sizeof(*l));
		l->fidelisation = team_level ? out->fidelisation
				  : pt->all_cents > 0 ? fmin(1.0, (double)pt->team_cents / (double)pt->all_cents)
						      : p->fidelisation_without_care;
		fid_sum += l->fidelisation;
		l->rate = pt->base * l->fidelisation * p->local_coefficient * out->quality_factor;
		for (int q = q0; q < q1; q++) {
			double e = l->rate * pt->covered_days[q] / ydays * uplift[q];
			double s = (pt->covered_at_start >> q) & 1u ? l->rate / 4 * uplift[q] : 0;
			l->earned += e;
			l->instalments += s;
			earned_q[q] += e;
			instal_q[q] += s;
		}
		earned += l->earned;
	}
	if (!team_level)
		out->fidelisation = n ? fid_sum / (double)n : p->fidelisation_without_care;
	out->earned = earned;

	/* the cap, on the period's share of the year */
	if (out->prior_ffs_cents > 0 || strcmp(p->cap_without_prior_ffs, "zero") == 0) {
		double days = 0;
		for (int q = q0; q < q1; q++)
			days += peps_quarter_days(spec->year, q + 1);
		out->capped = true;
		cap = (1 + p->cap_rate) * (double)out->prior_ffs_cents * (spec->quarter ? days / ydays : 1.0);
		if (!rounds(mode, cap, &out->cap_cents))
			return a51_error_set(err, A51_EINVAL, "cap", "the cap is not a finite amount");
	}
	if (!rounds(mode, earned, &out->earned_cents))
		return a51_error_set(err, A51_EINVAL, "earned", "the forfait is not a finite amount");
	out->forfait_cents = out->capped && out->cap_cents < out->earned_cents ? out->cap_cents : out->earned_cents;
	out->cap_effect_cents = out->earned_cents - out->forfait_cents;
	{
		/* the forfait by quarter, after the cap's ratio, adding up to the forfait */
		double parts[4] = { 0 };
		int64_t cents[4];
		double ratio = earned > 0 ? (double)out->forfait_cents / earned : 0;
		for (int q = 0; q < 4; q++)
			parts[q] = earned_q[q] * ratio;
		if (!money_allocate(parts, 4, out->forfait_cents, cents))
			return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		memcpy(out->forfait_by_quarter, cents, sizeof(cents));
	}

	if (!(w = malloc(sizeof(double) * (n ? n : 1))))
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n; i++)
		w[i] = lines[i].earned;
	switch (spec->phase) {
	case PEPS_SIMULATION:
		/* nothing is paid: the lines show each patient's share of the forfait */
		rc = share_lines(w, n, out->forfait_cents, lines, err);
		break;
	case PEPS_RETROSPECTIVE: {
		int64_t bonus = 0;
		struct peps_item *it = &out->items[out->nitems];
		double gap = (double)(out->forfait_cents - out->ffs_total_cents);
		if (gap > 0 && !rounds(mode, gap * p->retrospective_bonus_share, &bonus)) {
			rc = a51_error_set(err, A51_EINVAL, "bonus", "the bonus is not a finite amount");
			break;
		}
		it->kind = PEPS_BONUS;
		it->cents = bonus;
		due(it, adjustment_day(p, spec->year));
		out->nitems++;
		out->total_cents = bonus;
		rc = share_lines(w, n, bonus, lines, err);
		break;
	}
	case PEPS_PROSPECTIVE: {
		int64_t paid = 0;
		for (int q = q0; q < q1; q++) {
			struct peps_item *it = &out->items[out->nitems++];
			double v = instal_q[q];
			/* an instalment is held to the quarter's part of the cap */
			if (out->capped)
				v = fmin(v, (1 + p->cap_rate) * (double)out->prior_ffs_cents / 4);
			it->kind = PEPS_INSTALMENT;
			it->quarter = q + 1;
			if (spec->have_paid[q])
				it->cents = spec->paid[q];
			else if (!rounds(mode, v, &it->cents)) {
				free(w);
				return a51_error_set(err, A51_EINVAL, "instalment", "an instalment is not a finite amount");
			}
			due(it, date_from_ymd(spec->year, 3 * q + 1, 1) + p->instalment_due_days);
			paid += it->cents;
		}
		if (spec->quarter) {
			/* one quarter's instalment: the lines share it */
			for (size_t i = 0; i < n; i++)
				w[i] = lines[i].instalments;
			out->total_cents = paid;
		} else {
			struct peps_item *it = &out->items[out->nitems++];
			it->kind = PEPS_ADJUSTMENT;
			it->cents = out->forfait_cents - paid; /* may be negative: a recovery */
			due(it, adjustment_day(p, spec->year));
			out->total_cents = out->forfait_cents;
		}
		rc = share_lines(w, n, out->total_cents, lines, err);
		break;
	}
	}
	free(w);
	return rc;
}

int peps_split(int64_t total_cents, const double *weights, size_t n, int64_t *out, struct a51_error *err)
{
	double sum = 0, *parts;
	bool ok;

	for (size_t i = 0; i < n; i++) {
		if (!(weights[i] >= 0) || !isfinite(weights[i]))
			return a51_error_set(err, A51_EINVAL, "key", "a weight is negative or not a number");
		sum += weights[i];
	}
	if (n == 0 || sum <= 0)
		return a51_error_set(err, A51_EINVAL, "key", "every member weighs zero under this key: nothing to split by");
	if (!(parts = malloc(sizeof(double) * n)))
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n; i++)
		parts[i] = (double)total_cents * (weights[i] / sum);
	ok = money_allocate(parts, n, total_cents, out);
	free(parts);
	return ok ? 0 : a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
}
