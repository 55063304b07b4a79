/* Internal to the generator: the population model and its constants. */
#ifndef A51_SYNTH_MODEL_H
#define A51_SYNTH_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "a51/rng.h"
#include "a51/synth.h"

enum { ALDG_DIABETES, ALDG_CARDIO, ALDG_CANCER, ALDG_PSYCH, ALDG_NEURO, ALDG_RESP, ALDG_OTHER };

struct person {
	char nir[16];
	int sex;                 /* 1 male, 2 female */
	int birth_year, birth_month;
	char commune[6];
	bool c2s, ame;
	int32_t death;           /* day, or INT32_MAX */
	uint8_t ald;             /* bit per ALD group */
	int32_t ald_start[SYNTH_ALD_GROUPS];
	int ald_code[SYNTH_ALD_GROUPS];
	int gp, gp2;             /* professional index, -1 none; gp2 from switch_day */
	int32_t mt_start, switch_day;
	bool colon_cancer;
};

/* The age-sex cell of a person on a day: 0..19 (see synth_cell_names). */
int model_cell(int sex, int age);
/* Expected yearly counts (exposure 1) of each act family, additive in the
 * design terms; and their mean price in cents for a year. */
enum { ACT_G, ACT_AMI, ACT_AMK, ACT_CS, ACT_PHA, ACT_BIO, ACT_MCO, ACT__COUNT };
double model_rate(int act, int cell, uint8_t ald, bool c2s);
double model_price_cents(int act, int year);
/* The coefficient of term t (0 intercept, 1..19 cells but the reference, then
 * ALD groups, then c2s) of act a: rate contributions before prices. */
double model_term_rate(int act, int term);
int model_terms(void);
const char *model_term_name(int term);

void model_person(struct rng *r, long index, const char *region_dept, int year_first, int year_last,
		  struct person *p);

/* The communes patients live in: a 2-character département prefix and a
 * 3-digit number, as model_person writes them. */
#define COMMUNE_PREFIXES 64
struct commune_set {
	char prefix[COMMUNE_PREFIXES][3];
	int nprefix;
	uint8_t seen[COMMUNE_PREFIXES][1000];
};
/* Adds a 5-character code; -1 when it is not of that form or the set is full. */
int commune_set_add(struct commune_set *s, const char *code);
/* Calls each(ctx, code) for every code of the set, in code order. */
void commune_set_each(const struct commune_set *s, void (*each)(void *ctx, const char *code), void *ctx);

/* The deprivation of a commune, FDep-like: a score (standard normal, 3
 * decimals, higher is more deprived) and its quintile under the normal's
 * quintile cut points (1 least deprived). Drawn from a stream forked off dep
 * by the code alone: a commune gets the same figures whatever the others. */
void model_deprivation(const struct rng *dep, const char *code, int *quintile, double *score);

#endif
