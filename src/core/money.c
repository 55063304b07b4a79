#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a51/money.h"
#include "a51/banned.h"

static const char *const names[] = { "half_up", "half_even", "down" };

bool money_round(double cents, int mode, int64_t *out)
{
	double r;

	if (!isfinite(cents) || fabs(cents) >= 9.2e18)
		return false;
	switch (mode) {
	case MONEY_HALF_EVEN: {
		double f = floor(cents), diff = cents - f;
		r = diff > 0.5 ? f + 1 : diff < 0.5 ? f : fmod(f, 2.0) == 0 ? f : f + 1;
		break;
	}
	case MONEY_DOWN: r = trunc(cents); break;
	default: r = round(cents); /* C's round(): halves away from zero */
	}
	*out = (int64_t)r;
	return true;
}

struct frac {
	double f;
	size_t i;
};

static int by_frac_desc(const void *a, const void *b)
{
	const struct frac *x = a, *y = b;

	if (x->f != y->f)
		return x->f < y->f ? 1 : -1;
	return (x->i > y->i) - (x->i < y->i); /* ties: the earlier part first */
}

bool money_allocate(const double *parts, size_t n, int64_t total, int64_t *out)
{
	int64_t sum = 0, left;
	struct frac *fr;
	size_t k;

	for (size_t i = 0; i < n; i++) {
		if (!isfinite(parts[i]) || fabs(parts[i]) >= 9.2e18)
			return false;
		out[i] = (int64_t)floor(parts[i]);
		sum += out[i];
	}
	if (n == 0)
		return total == 0;
	left = total - sum;
	if (left == 0)
		return true;
	if (!(fr = malloc(sizeof(*fr) * n)))
		return false;
	for (size_t i = 0; i < n; i++)
		fr[i] = (struct frac){ parts[i] - (double)out[i], i };
	qsort(fr, n, sizeof(*fr), by_frac_desc);
	/* cents short go to the largest fractions; cents over come off the
	 * smallest; past one round (parts far from total) it goes round again */
	for (k = 0; left > 0; k = (k + 1) % n, left--)
		out[fr[k].i]++;
	for (k = n - 1; left < 0; k = k ? k - 1 : n - 1, left++)
		out[fr[k].i]--;
	free(fr);
	return true;
}

int money_rounding_parse(const char *name)
{
	for (int i = 0; name && i < 3; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

const char *money_rounding_name(int mode)
{
	return mode >= 0 && mode < 3 ? names[mode] : "?";
}
