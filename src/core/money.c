#include <math.h>
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

bool money_allocate(const double *parts, size_t n, int64_t total, int64_t *out)
{
	int64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		if (!isfinite(parts[i]) || fabs(parts[i]) >= 9.2e18)
			return false;
		out[i] = (int64_t)floor(parts[i]);
		sum += out[i];
	}
	/* O(n) per cent left; n is a few dozen terms and the cents left fewer than n */
	while (n && sum != total) {
		size_t best = 0;
		double bf = sum < total ? -1 : 2;
		for (size_t i = 0; i < n; i++) {
			double f = parts[i] - (double)out[i]; /* in [0, 1) at first; moves by whole cents */
			if (sum < total ? f > bf : f < bf) {
				bf = f;
				best = i;
			}
		}
		out[best] += sum < total ? 1 : -1;
		sum += sum < total ? 1 : -1;
	}
	return n > 0 || total == 0;
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
