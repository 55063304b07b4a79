/* Deterministic pseudo-random numbers (xoshiro256**, seeded by splitmix64) and
 * the distributions the synthetic-data generator needs. Same seed, same stream,
 * on every machine. Not for secrets (util_random_bytes is). */
#ifndef A51_RNG_H
#define A51_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
/* An independent stream derived from r and a label (e.g. a patient number). */
void rng_fork(struct rng *child, const struct rng *parent, uint64_t label);
uint64_t rng_u64(struct rng *r);
double rng_uniform(struct rng *r);                 /* [0, 1) */
int64_t rng_range(struct rng *r, int64_t lo, int64_t hi); /* [lo, hi] */
int rng_bernoulli(struct rng *r, double p);
double rng_normal(struct rng *r);
double rng_gamma(struct rng *r, double shape);     /* scale 1 */
double rng_lognormal(struct rng *r, double mu, double sigma);
int64_t rng_poisson(struct rng *r, double mean);
/* Index drawn with probability weights[i] / sum(weights). */
size_t rng_pick(struct rng *r, const double *weights, size_t n);

#endif
