#include <math.h>
#include <stdio.h>
#include <string.h>

#include "a51/eds.h"
#include "a51/money.h"
#include "a51/banned.h"

static const char *const option_names[] = { "PTH", "PTG", "COLECTOMY" };
static const char *const segment_names[] = { "pre", "index", "post", "complication" };
static const char *const exclusion_names[] = { "not_from_home", "emergency", "death", "palliative",
					       "prior_intervention", "total_colectomy" };
static const char *const phase_names[] = { "", "no_financial_impact", "retrospective", "two_sided" };

int eds_option_parse(const char *s)
{
	for (int i = 0; s && i < EDS__OPTIONS; i++)
		if (strcmp(s, option_names[i]) == 0)
			return i;
	return -1;
}

const char *eds_option_name(int option)
{
	return option >= 0 && option < EDS__OPTIONS ? option_names[option] : "";
}

const char *eds_segment_name(int segment)
{
	return segment >= 0 && segment < EDS__SEGMENTS ? segment_names[segment] : "";
}

int eds_phase_parse(const char *s)
{
	for (int i = 1; s && i <= EDS_TWO_SIDED; i++)
		if (strcmp(s, phase_names[i]) == 0)
			return i;
	return 0;
}

const char *eds_phase_name(int phase)
{
	return phase >= EDS_NO_IMPACT && phase <= EDS_TWO_SIDED ? phase_names[phase] : "";
}

void eds_exclusion_names(unsigned mask, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(exclusion_names) / sizeof(exclusion_names[0]); i++)
		if (mask & (1u << i))
			len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s", len ? "," : "", exclusion_names[i]);
}

static bool prefixed(const char *s, const char (*list)[8], int n)
{
	for (int i = 0; i < n; i++)
		if (list[i][0] && strncmp(s, list[i], strlen(list[i])) == 0)
			return true;
	return false;
}

static const char *root_of(const struct eds_params *p, int option)
{
	return option == EDS_PTH ? p->root_pth : option == EDS_PTG ? p->root_ptg : p->root_colectomy;
}

/* A stay that opens an episode of the option, wherever and whenever. */
static bool is_trigger(const struct eds_params *p, int option, const struct eds_stay *s)
{
	const char *root = root_of(p, option);

	if (strcmp(s->field, "MCO") != 0 || strncmp(s->ghm, root, strlen(root)) != 0)
		return false;
	return option != EDS_COLECTOMY ||
	       prefixed(s->main_diag, p->colectomy_diagnoses, p->n_colectomy_diagnoses);
}

/* The episode an item of that day belongs to: among those whose window holds
 * it, the one admitted last on or before the day; else the first admitted
 * after it (the item is before its stay). -1 for none. */
static int pick(const struct eds_episode *e, size_t n, int32_t day)
{
	int after = -1, before = -1;

	for (size_t k = 0; k < n; k++) {
		if (day < e[k].window_from || day > e[k].window_to)
			continue;
		if (e[k].admission <= day) {
			if (after < 0 || e[k].admission > e[after].admission)
				after = (int)k;
		} else if (before < 0 || e[k].admission < e[before].admission) {
			before = (int)k;
		}
	}
	return after >= 0 ? after : before;
}

size_t eds_build(const struct eds_params *p, int option, const char *finess, int32_t from, int32_t to,
		 int32_t death, const struct eds_stay *stays, size_t nstays, const struct eds_claim *claims, size_t nclaims,
		 struct eds_episode *episodes, size_t max, struct eds_assignment *stay_at,
		 struct eds_assignment *claim_at)
{
	size_t n = 0;

	for (size_t i = 0; i < nstays; i++)
		stay_at[i] = (struct eds_assignment){ -1, -1 };
	for (size_t i = 0; i < nclaims; i++)
		claim_at[i] = (struct eds_assignment){ -1, -1 };
	for (size_t t = 0; t < nstays && n < max; t++) {
		const struct eds_stay *s = &stays[t];
		struct eds_episode *e;
		size_t last = t;
		if (!is_trigger(p, option, s) || s->admission < from || s->admission > to ||
		    (finess && strcmp(s->finess, finess) != 0))
			continue;
		/* a stay already chained into an earlier episode's index is not a new one */
		if (stay_at[t].episode >= 0)
			continue;
		e = &episodes[n];
		memset(e, 0, sizeof(*e));
		e->option = option;
		e->trigger = t;
		e->chemo_delay = -1;
		/* transfers chained into the index stay */
		for (size_t k = t + 1; k < nstays; k++) {
			const struct eds_stay *prev = &stays[last], *nx = &stays[k];
			if (strcmp(nx->field, "MCO") == 0 && prev->exit_mode == '7' && nx->entry_mode == '7' &&
			    nx->admission >= prev->admission && nx->admission <= prev->discharge + p->transfer_gap)
				last = k;
			else if (nx->admission > prev->discharge + p->transfer_gap)
				break;
		}
		e->chain_last = last;
		e->admission = s->admission;
		e->discharge = stays[last].discharge;
		e->window_from = e->admission - p->window_before;
		e->window_to = e->discharge + p->window_after;
		if (death > e->discharge && death <= e->window_to) {
			e->died_in_window = true;
			e->window_to = death;
		}
		/* exclusions */
		if (s->entry_mode != '8')
			e->excluded |= EDS_X_NOT_FROM_HOME;
		if (s->provenance == '5')
			e->excluded |= EDS_X_EMERGENCY;
		if (stays[last].exit_mode == '9')
			e->excluded |= EDS_X_DEATH;
		for (size_t k = t; k <= last; k++)
			if (prefixed(stays[k].main_diag, p->palliative_diagnoses, p->n_palliative_diagnoses))
				e->excluded |= EDS_X_PALLIATIVE;
		for (size_t k = 0; k < nstays; k++)
			if (k != t && is_trigger(p, option, &stays[k]) && stays[k].admission < s->admission &&
			    stays[k].admission >= s->admission - p->lookback)
				e->excluded |= EDS_X_PRIOR_INTERVENTION;
		if (option == EDS_COLECTOMY)
			for (size_t k = t; k <= last; k++)
				if (prefixed(stays[k].procedure, p->total_colectomy_acts, p->n_total_colectomy_acts))
					e->excluded |= EDS_X_TOTAL_COLECTOMY;
		for (size_t k = t; k <= last; k++) {
			stay_at[k] = (struct eds_assignment){ (int)n, EDS_INDEX };
			e->cents[EDS_INDEX] += stays[k].cents;
			if (strcmp(stays[k].field, "MCO") == 0)
				e->mco_days += stays[k].discharge - stays[k].admission;
		}
		n++;
	}
	/* the other items: to the episode admitted last before them whose window
	 * holds them, or else to the next episode they come before */
	for (size_t i = 0; i < nstays; i++) {
		int best;
		if (stay_at[i].episode >= 0 || (best = pick(episodes, n, stays[i].admission)) < 0)
			continue;
		{
			struct eds_episode *e = &episodes[best];
			const struct eds_stay *s = &stays[i];
			int seg = s->admission < e->admission ? EDS_PRE : EDS_POST;
			bool planned = prefixed(s->ghm, p->planned_ghm_prefixes, p->n_planned_ghm_prefixes);
			if (seg == EDS_POST && strcmp(s->field, "MCO") == 0 && !planned) {
				seg = EDS_COMPLICATION;
				e->complications++;
				e->mco_days += s->discharge - s->admission;
			}
			if (seg == EDS_POST && planned && (e->chemo_delay < 0 || s->admission - e->admission < e->chemo_delay))
				e->chemo_delay = s->admission - e->admission;
			stay_at[i] = (struct eds_assignment){ best, seg };
			e->cents[seg] += s->cents;
		}
	}
	for (size_t i = 0; i < nclaims; i++) {
		int best = pick(episodes, n, claims[i].day);
		if (best < 0)
			continue;
		{
			struct eds_episode *e = &episodes[best];
			int seg = claims[i].day < e->admission ? EDS_PRE : claims[i].day <= e->discharge ? EDS_INDEX : EDS_POST;
			if (seg == EDS_PRE && strcmp(claims[i].act, "BIO") == 0)
				e->pre_biology = true;
			claim_at[i] = (struct eds_assignment){ best, seg };
			e->cents[seg] += claims[i].cents;
		}
	}
	return n;
}

int eds_reconcile(const struct eds_params *p, int phase, int year, const double *expected, const int64_t *actual,
		  size_t n, double quality_score, struct eds_reconciliation *out, struct a51_error *err)
{
	int mode = money_rounding_parse(p->rounding);
	double target = 0;
	int64_t gap;

	memset(out, 0, sizeof(*out));
	if (mode < 0)
		return a51_error_set(err, A51_EINVAL, "payment.rounding", "unknown rounding %s", p->rounding);
	if (phase < EDS_NO_IMPACT || phase > EDS_TWO_SIDED)
		return a51_error_set(err, A51_EINVAL, "phase", "the phase is no_financial_impact, retrospective or two_sided");
	out->episodes = (int)n;
	for (size_t i = 0; i < n; i++) {
		target += expected[i];
		out->actual_cents += actual[i];
	}
	if (!money_round(target, mode, &out->target_cents))
		return a51_error_set(err, A51_EINVAL, "target", "the target is not a finite amount");
	gap = out->target_cents - out->actual_cents;
	out->gap_cents = gap;
	out->quality_score = quality_score < 0 ? 0 : quality_score > 1 ? 1 : quality_score;
	if (phase == EDS_NO_IMPACT)
		return 0; /* a report: nothing is paid */
	out->two_sided = phase == EDS_TWO_SIDED && year >= p->two_sided_from;
	if (gap > 0)
		money_round((double)gap * p->gain_share, mode, &out->shared_cents);
	else if (out->two_sided)
		money_round((double)gap * p->loss_share, mode, &out->shared_cents);
	out->bounded_cents = out->shared_cents;
	if (out->two_sided) {
		int64_t cap_gain, cap_loss;
		money_round((double)out->target_cents * p->stop_gain, mode, &cap_gain);
		money_round((double)out->target_cents * p->stop_loss, mode, &cap_loss);
		if (out->bounded_cents > cap_gain)
			out->bounded_cents = cap_gain;
		if (out->bounded_cents < -cap_loss)
			out->bounded_cents = -cap_loss;
	}
	money_round((double)out->target_cents * p->quality_envelope * out->quality_score, mode, &out->quality_cents);
	out->total_cents = out->bounded_cents + out->quality_cents;
	return 0;
}

static const char *const indicator_codes[EDS__INDICATORS] = { "COMPL", "LOS", "PREOP", "CHEMO" };

int eds_indicator_parse(const char *code)
{
	for (int i = 0; code && i < EDS__INDICATORS; i++)
		if (strcmp(code, indicator_codes[i]) == 0)
			return i;
	return -1;
}

const char *eds_indicator_name(int ind)
{
	return ind >= 0 && ind < EDS__INDICATORS ? indicator_codes[ind] : "";
}

double eds_quality_score(const struct eds_params *p, const struct eds_indicators *est, const struct eds_indicators *ref,
			 int scored[EDS__INDICATORS])
{
	int n = 0, good = 0;

	for (int i = 0; i < EDS__INDICATORS; i++)
		scored[i] = -1;
	for (int k = 0; k < p->n_quality_indicators; k++) {
		int i = eds_indicator_parse(p->quality_indicators[k]);
		if (i < 0 || scored[i] >= 0 || !est->have[i] || !ref->have[i])
			continue;
		scored[i] = i == EDS_IND_PREOP ? est->value[i] >= ref->value[i] : est->value[i] <= ref->value[i];
		good += scored[i];
		n++;
	}
	return n ? (double)good / n : 0;
}
