#include <math.h>

#include "a51/rng.h"
#include "a51/banned.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

void rng_fork(struct rng *child, const struct rng *parent, uint64_t label)
{
	uint64_t x = parent->s[0] ^ (parent->s[1] << 1) ^ (label * 0xd1342543de82ef95ull);

	for (int i = 0; i < 4; i++)
		child->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_u64(struct rng *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double rng_uniform(struct rng *r)
{
	return (double)(rng_u64(r) >> 11) * 0x1.0p-53;
}

int64_t rng_range(struct rng *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng_uniform(r) * (double)(hi - lo + 1));
}

int rng_bernoulli(struct rng *r, double p)
{
	return rng_uniform(r) < p;
}

double rng_normal(struct rng *r)
{
	double u1 = rng_uniform(r), u2 = rng_uniform(r);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Marsaglia and Tsang; shape < 1 through the boost U^(1/shape). */
double rng_gamma(struct rng *r, double shape)
{
	double d, c;

	if (shape < 1.0) {
		double u = rng_uniform(r);
		return rng_gamma(r, shape + 1.0) * pow(u < 1e-300 ? 1e-300 : u, 1.0 / shape);
	}
	d = shape - 1.0 / 3.0;
	c = 1.0 / sqrt(9.0 * d);
	for (;;) {
		double x = rng_normal(r), v = 1.0 + c * x, u;
		if (v <= 0)
			continue;
		v = v * v * v;
		u = rng_uniform(r);
		if (u < 1.0 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
			return d * v;
	}
}

double rng_lognormal(struct rng *r, double mu, double sigma)
{
	return exp(mu + sigma * rng_normal(r));
}

/* Inversion for small means; a gamma-Poisson split keeps large means fast. */
int64_t rng_poisson(struct rng *r, double mean)
{
	int64_t k = 0;

	if (mean <= 0)
		return 0;
	while (mean > 30) {
		/* Poisson(mean) = Poisson(mean - m) + Poisson(m): peel off 20 at a time */
		double m = 20;
		double p = exp(-m), s = p, u = rng_uniform(r);
		int64_t j = 0;
		while (u > s && j < 1000) {
			j++;
			p *= m / (double)j;
			s += p;
		}
		k += j;
		mean -= m;
	}
	{
		double p = exp(-mean), s = p, u = rng_uniform(r);
		int64_t j = 0;
		while (u > s && j < 1000) {
			j++;
			p *= mean / (double)j;
			s += p;
		}
		k += j;
	}
	return k;
}

size_t rng_pick(struct rng *r, const double *weights, size_t n)
{
	double total = 0, u, acc = 0;

	for (size_t i = 0; i < n; i++)
		total += weights[i];
	u = rng_uniform(r) * total;
	for (size_t i = 0; i < n; i++) {
		acc += weights[i];
		if (u < acc)
			return i;
	}
	return n - 1;
}
