/* Money: integer cents everywhere. Amounts computed in floating point (model
 * predictions, shares) become cents once, at the output, by one rounding rule.
 * The rule of payments is a parameter of the parameter set (the texts do not
 * fix it, domain.md §10: default half-up); MONEY_HALF_UP is that default. */
#ifndef A51_MONEY_H
#define A51_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum money_rounding {
	MONEY_HALF_UP = 0,   /* 0.5 away from zero: 12.5 -> 13, -12.5 -> -13 */
	MONEY_HALF_EVEN,     /* banker's: 12.5 -> 12, 13.5 -> 14 */
	MONEY_DOWN,          /* toward zero */
};

/* Rounds an amount in cents to whole cents. false when it is not finite or
 * does not fit in int64 (out untouched). */
bool money_round(double cents, int mode, int64_t *out);
/* Splits total cents over parts (amounts in cents that add up to about
 * total) so that the whole cents add up to total exactly: each part is
 * floored, then the cents left go one by one to the largest fractions
 * (ties: the earlier part), the largest-remainder method; a total below the
 * floors' sum takes cents back from the smallest fractions. O(n log n).
 * false when a part is not finite, or out of memory. */
bool money_allocate(const double *parts, size_t n, int64_t total, int64_t *out);
/* Parses "half_up" / "half_even" / "down"; -1 when unknown. */
int money_rounding_parse(const char *name);
const char *money_rounding_name(int mode);

#endif
