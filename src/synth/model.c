/* The synthetic population: a French age-sex pyramid, ALD prevalence, C2S and
 * AME, mortality; and additive rates of care whose coefficients are the truth
 * that fitted risk models are checked against. Figures are plausible orders of
 * magnitude for France, not official statistics. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "a51/dates.h"
#include "model.h"
#include "a51/banned.h"

const char *const synth_cell_names[SYNTH_CELLS] = {
	"M_0_4", "M_5_14", "M_15_24", "M_25_34", "M_35_44", "M_45_54", "M_55_64", "M_65_74", "M_75_84", "M_85p",
	"F_0_4", "F_5_14", "F_15_24", "F_25_34", "F_35_44", "F_45_54", "F_55_64", "F_65_74", "F_75_84", "F_85p",
};
const char *const synth_ald_group_names[SYNTH_ALD_GROUPS] = {
	"ald_diabetes", "ald_cardio", "ald_cancer", "ald_psych", "ald_neuro", "ald_resp", "ald_other",
};

#define REF_CELL 3 /* M_25_34: the reference of the dummies */

static const int band_low[10] = { 0, 5, 15, 25, 35, 45, 55, 65, 75, 85 };

int model_cell(int sex, int age)
{
	int b = 9;

	while (b > 0 && age < band_low[b])
		b--;
	return (sex == 2 ? 10 : 0) + b;
}

/* [act][cell] yearly counts for a person without ALD nor C2S */
static const double base[ACT__COUNT][SYNTH_CELLS] = {
	[ACT_G] = { 5.0, 2.2, 1.8, 2.2, 2.6, 3.0, 3.6, 4.6, 6.2, 8.0, 4.8, 2.2, 3.0, 3.6, 3.6, 3.8, 4.2, 4.9, 6.5, 8.5 },
	[ACT_AMI] = { 0.2, 0.1, 0.2, 0.3, 0.4, 0.6, 1.0, 2.0, 6.0, 18.0, 0.2, 0.1, 0.3, 0.5, 0.5, 0.7, 1.1, 2.2, 7.0, 22.0 },
	[ACT_AMK] = { 0.1, 0.3, 0.6, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0, 4.0, 0.1, 0.3, 0.8, 1.0, 1.3, 1.6, 2.0, 2.5, 3.5, 4.0 },
	[ACT_CS] = { 0.5, 0.4, 0.4, 0.5, 0.6, 0.8, 1.1, 1.5, 1.8, 1.5, 0.5, 0.4, 0.9, 1.2, 1.1, 1.1, 1.3, 1.6, 1.7, 1.4 },
	[ACT_PHA] = { 3, 2, 2, 2.5, 3, 4, 6, 9, 12, 14, 3, 2, 3.5, 4, 4, 5, 7, 10, 13, 15 },
	[ACT_BIO] = { 0.5, 0.3, 0.4, 0.6, 0.8, 1.0, 1.4, 1.8, 2.0, 2.0, 0.5, 0.3, 0.9, 1.1, 1.0, 1.2, 1.5, 1.9, 2.0, 2.0 },
	[ACT_MCO] = { 0.08, 0.03, 0.04, 0.05, 0.06, 0.08, 0.12, 0.18, 0.28, 0.40,
		      0.07, 0.03, 0.08, 0.10, 0.09, 0.09, 0.11, 0.15, 0.24, 0.36 },
};
static const double ald_incr[ACT__COUNT][SYNTH_ALD_GROUPS] = {
	[ACT_G] = { 3.0, 3.0, 2.5, 3.5, 4.0, 2.0, 1.5 },
	[ACT_AMI] = { 12.0, 3.0, 6.0, 2.0, 20.0, 2.0, 2.0 },
	[ACT_AMK] = { 0.5, 1.0, 1.5, 0.2, 10.0, 1.0, 1.0 },
	[ACT_CS] = { 1.0, 2.0, 3.0, 1.5, 1.5, 1.5, 1.0 },
	[ACT_PHA] = { 10, 10, 8, 9, 9, 8, 6 },
	[ACT_BIO] = { 3.0, 2.0, 3.0, 1.0, 1.0, 0.8, 1.0 },
	[ACT_MCO] = { 0.10, 0.25, 0.60, 0.15, 0.20, 0.25, 0.10 },
};
static const double c2s_incr[ACT__COUNT] = { 1.2, 0.5, 0.0, 0.2, 1.5, 0.3, 0.03 };

double model_rate(int act, int cell, uint8_t ald, bool c2s)
{
	double r = base[act][cell];

	for (int g = 0; g < SYNTH_ALD_GROUPS; g++)
		if (ald & (1u << g))
			r += ald_incr[act][g];
	return r + (c2s ? c2s_incr[act] : 0);
}

/* Mean price of one unit in cents: the G family includes 12 % home visits with
 * their 10 EUR majoration; an AMI contact is the act (AMI 1 to 3) and its travel
 * allowance; PHA, BIO and MCO amounts are log-normal with these means. */
double model_price_cents(int act, int year)
{
	switch (act) {
	case ACT_G: return (year >= 2025 ? 3000 : year >= 2024 ? 2650 : 2500) + 0.12 * 1000;
	case ACT_AMI: return 1.5 * 315 + 275;
	case ACT_AMK: return 1720;
	case ACT_CS: return 3000;
	case ACT_PHA: return 3500;
	case ACT_BIO: return 2500;
	case ACT_MCO: return 450000;
	default: return 0;
	}
}

int model_terms(void)
{
	return 1 + (SYNTH_CELLS - 1) + SYNTH_ALD_GROUPS + 1;
}

const char *model_term_name(int t)
{
	if (t == 0)
		return "intercept";
	if (t < SYNTH_CELLS)
		return synth_cell_names[t <= REF_CELL - 1 ? t - 1 : t];
	if (t < SYNTH_CELLS + SYNTH_ALD_GROUPS)
		return synth_ald_group_names[t - SYNTH_CELLS];
	return "c2s";
}

double model_term_rate(int act, int t)
{
	if (t == 0)
		return base[act][REF_CELL];
	if (t < SYNTH_CELLS) {
		int cell = t <= REF_CELL - 1 ? t - 1 : t;
		return base[act][cell] - base[act][REF_CELL];
	}
	if (t < SYNTH_CELLS + SYNTH_ALD_GROUPS)
		return ald_incr[act][t - SYNTH_CELLS];
	return c2s_incr[act];
}

/* ---- the population ---- */

static const double band_share[10] = { 5.3, 12.0, 11.7, 11.5, 12.6, 13.0, 12.9, 11.2, 7.0, 3.2 };
static const double female_share[10] = { 0.49, 0.49, 0.49, 0.51, 0.51, 0.51, 0.52, 0.54, 0.58, 0.67 };
static const double ald_prev[SYNTH_ALD_GROUPS][10] = {
	{ 0.002, 0.002, 0.004, 0.008, 0.02, 0.05, 0.10, 0.15, 0.17, 0.15 },
	{ 0, 0, 0.002, 0.004, 0.01, 0.03, 0.07, 0.13, 0.22, 0.30 },
	{ 0.001, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.08, 0.09, 0.08 },
	{ 0.002, 0.01, 0.02, 0.03, 0.03, 0.03, 0.025, 0.02, 0.02, 0.02 },
	{ 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.01, 0.02, 0.05, 0.12 },
	{ 0.005, 0.008, 0.005, 0.005, 0.006, 0.01, 0.015, 0.02, 0.025, 0.025 },
	{ 0.005, 0.01, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06 },
};
static const double c2s_share[10] = { 0.16, 0.16, 0.14, 0.12, 0.11, 0.10, 0.08, 0.04, 0.03, 0.03 };
static const double mortality[10] = { 0.0008, 0.0001, 0.0004, 0.0006, 0.0012, 0.003, 0.007, 0.014, 0.04, 0.13 };

static int nir_key(const char *first13)
{
	char digits[14];
	unsigned long long v;

	memcpy(digits, first13, 13);
	digits[13] = '\0';
	if (digits[5] == '2' && digits[6] == 'A')
		digits[5] = '1', digits[6] = '9';
	else if (digits[5] == '2' && digits[6] == 'B')
		digits[5] = '1', digits[6] = '8';
	for (int i = 0; i < 13; i++)
		if (digits[i] < '0' || digits[i] > '9')
			return 0;
	sscanf(digits, "%llu", &v);
	return (int)(97 - v % 97);
}

void model_person(struct rng *r, long index, const char *dept, int year_first, int year_last, struct person *p)
{
	int band = (int)rng_pick(r, band_share, 10), age, ald_codes[SYNTH_ALD_GROUPS] = { 8, 5, 30, 23, 15, 14, 31 };
	int32_t ref = date_from_ymd(year_first, 1, 1), end = date_from_ymd(year_last, 12, 31);
	char first13[32];

	memset(p, 0, sizeof(*p));
	p->sex = rng_bernoulli(r, female_share[band]) ? 2 : 1;
	age = band_low[band] + (int)rng_range(r, 0, band == 9 ? 14 : band == 0 ? 4 : 9);
	p->birth_year = year_first - age;
	p->birth_month = (int)rng_range(r, 1, 12);
	/* NIR: unique by construction: the caller gives each person of a
	 * department of birth its own index below 989 010 (990 communes x 999
	 * order numbers). */
	snprintf(first13, sizeof(first13), "%d%02d%02d%.2s%03ld%03ld", p->sex, p->birth_year % 100, p->birth_month,
		 dept, (long)((unsigned long)index / 999 % 990 + 1), (long)((unsigned long)index % 999 + 1));
	snprintf(p->nir, sizeof(p->nir), "%.13s%02d", first13, nir_key(first13));
	snprintf(p->commune, sizeof(p->commune), "%.2s%03d", dept, (int)rng_range(r, 1, 300));
	p->c2s = rng_bernoulli(r, c2s_share[band]);
	p->ame = !p->c2s && age >= 18 && age < 65 && rng_bernoulli(r, 0.004);
	for (int g = 0; g < SYNTH_ALD_GROUPS; g++) {
		if (!rng_bernoulli(r, ald_prev[g][band]))
			continue;
		p->ald |= (uint8_t)(1u << g);
		/* most ALD started years ago; a few start during the period */
		p->ald_start[g] = rng_bernoulli(r, 0.85) ? ref - (int32_t)rng_range(r, 30, 3650)
							 : ref + (int32_t)rng_range(r, 0, end - ref);
		p->ald_code[g] = ald_codes[g];
		if (g == ALDG_NEURO)
			p->ald_code[g] = age >= 65 ? 15 : age >= 50 ? 16 : 25;
		if (g == ALDG_CARDIO && rng_bernoulli(r, 0.5))
			p->ald_code[g] = 13;
		if (g == ALDG_CANCER)
			p->colon_cancer = rng_bernoulli(r, 0.15);
	}
	p->death = INT32_MAX;
	for (int y = year_first; y <= year_last; y++) {
		double q = mortality[band] * ((p->ald & (1u << ALDG_CANCER)) ? 2.5 : 1.0);
		if (rng_bernoulli(r, q)) {
			int32_t born = date_from_ymd(p->birth_year, p->birth_month, 1);
			p->death = date_from_ymd(y, 1, 1) + (int32_t)rng_range(r, 0, 364);
			if (p->death < born) /* a baby of the year dies after its birth month began */
				p->death = born + (int32_t)rng_range(r, 0, 27);
			break;
		}
	}
	p->gp = p->gp2 = -1;
	p->switch_day = INT32_MAX;
}

/* ---- communes and their deprivation ---- */

int commune_set_add(struct commune_set *s, const char *code)
{
	int k, num = 0;

	if (strlen(code) != 5)
		return -1;
	for (int i = 2; i < 5; i++) {
		if (code[i] < '0' || code[i] > '9')
			return -1;
		num = num * 10 + (code[i] - '0');
	}
	for (k = 0; k < s->nprefix && memcmp(s->prefix[k], code, 2) != 0; k++)
		;
	if (k == s->nprefix) {
		if (k == COMMUNE_PREFIXES)
			return -1;
		memcpy(s->prefix[k], code, 2);
		s->prefix[k][2] = '\0';
		s->nprefix++;
	}
	s->seen[k][num] = 1;
	return 0;
}

void commune_set_each(const struct commune_set *s, void (*each)(void *ctx, const char *code), void *ctx)
{
	int order[COMMUNE_PREFIXES];

	for (int k = 0; k < s->nprefix; k++) {
		int j = k;
		while (j > 0 && strcmp(s->prefix[order[j - 1]], s->prefix[k]) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = k;
	}
	for (int i = 0; i < s->nprefix; i++)
		for (int num = 0; num < 1000; num++) {
			char code[6];
			if (!s->seen[order[i]][num])
				continue;
			snprintf(code, sizeof(code), "%s%03d", s->prefix[order[i]], num);
			each(ctx, code);
		}
}

void model_deprivation(const struct rng *dep, const char *code, int *quintile, double *score)
{
	/* quintiles of the standard normal */
	static const double cut[4] = { -0.8416, -0.2533, 0.2533, 0.8416 };
	struct rng r;
	uint64_t label = 0;

	for (int i = 0; i < 5; i++)
		label = label << 8 | (unsigned char)code[i];
	rng_fork(&r, dep, label);
	*score = round(rng_normal(&r) * 1000) / 1000;
	if (*score == 0)
		*score = 0; /* never "-0.000" */
	*quintile = 1;
	for (int i = 0; i < 4; i++)
		*quintile += *score > cut[i];
}
