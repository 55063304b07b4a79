#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "a51/ids.h"
#include "a51/banned.h"

#define NIR_LEN 15

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

static int two_digits(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* Luhn from the right: every second digit doubled, the digits of products summed.
 * The caller has checked that digits[0..n) are all digits. */
static bool luhn_ok(const char *digits, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(digits[n - 1 - i] - '0');

		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

static bool nir_corsica(const char *dept)
{
	return dept[0] == '2' && (dept[1] == 'A' || dept[1] == 'B');
}

int ids_nir_key(const char first13[13])
{
	uint64_t n = 0;

	for (int i = 0; i < 13; i++) {
		unsigned d;

		if (is_digit(first13[i]))
			d = (unsigned)(first13[i] - '0');
		else if (i == 6 && nir_corsica(first13 + 5))
			d = first13[i] == 'A' ? 9 : 8; /* 2A counts as 19, 2B as 18 */
		else
			return -1;
		if (i == 5 && nir_corsica(first13 + 5))
			d = 1;
		n = n * 10 + d; /* 13 digits: below 10^13, far from 2^64 */
	}
	return (int)(97 - n % 97);
}

static bool nir_month_ok(int m)
{
	/* 20-42 and 50-99 are fictitious months of people whose civil record gave no
	 * month; the spec ([S] comptavoo) cites 20-30 and 50+, INSEE practice goes up to 42. */
	return (m >= 1 && m <= 12) || (m >= 20 && m <= 42) || m >= 50;
}

/* Full check of a canonical NIR. Messages name positions, never the characters, so
 * that nothing of the NIR leaks into logs; the two keys alone identify no one. */
static int nir_check(const char *nir, struct a51_error *err)
{
	int key, given;

	if (!all_digits(nir, 5) || !all_digits(nir + 7, 8) ||
	    !(all_digits(nir + 5, 2) || nir_corsica(nir + 5)))
		return a51_error_set(err, A51_EINVAL, "nir",
				     "must contain only digits, except 2A or 2B at positions 6-7 (Corsica)");
	if (!strchr("123478", nir[0]))
		return a51_error_set(err, A51_EINVAL, "nir", "position 1 (sex) must be 1, 2, 3, 4, 7 or 8");
	if (!nir_month_ok(two_digits(nir + 3)))
		return a51_error_set(err, A51_EINVAL, "nir",
				     "positions 4-5 (birth month) must be 01-12, 20-42 or 50-99");
	key = ids_nir_key(nir);
	given = two_digits(nir + 13);
	if (key != given)
		return a51_error_set(err, A51_EINVAL, "nir",
				     "the key (last 2 digits) does not match the first 13 characters");
	return 0;
}

int ids_nir_normalise(const char *in, char out[16], struct a51_error *err)
{
	size_t n = 0;
	int rc;

	/* Spaces are how a NIR is printed on the carte Vitale ("2 95 10 99 126 111 93");
	 * anything else, tabs and dashes included, is left to fail the checks. */
	for (const char *p = in; *p; p++) {
		char c = *p;

		if (c == ' ')
			continue;
		if (c == 'a' || c == 'b')
			c = (char)(c - 'a' + 'A');
		if (n < NIR_LEN)
			out[n] = c;
		n++;
	}
	if (n != NIR_LEN) {
		/* what was copied is part of a NIR: leave none of it behind either */
		memset(out, 0, NIR_LEN + 1);
		return a51_error_set(err, A51_EINVAL, "nir",
				     "must be 15 characters (13 digits and a 2-digit key), spaces aside");
	}
	out[NIR_LEN] = '\0';
	rc = nir_check(out, err);
	if (rc)
		memset(out, 0, NIR_LEN + 1); /* no half-validated health data left behind */
	return rc;
}

int ids_nir_parts(const char nir15[15], struct nir_parts *out)
{
	size_t dlen;

	memset(out, 0, sizeof(*out));
	if (nir_check(nir15, NULL))
		return A51_EINVAL;
	out->sex = nir15[0] - '0';
	out->birth_year2 = two_digits(nir15 + 1);
	out->birth_month = two_digits(nir15 + 3);
	/* Overseas départements 97x/98x take a third digit from the commune field. */
	dlen = nir15[5] == '9' && (nir15[6] == '7' || nir15[6] == '8') ? 3 : 2;
	memcpy(out->dept, nir15 + 5, dlen);
	out->dept[dlen] = '\0';
	return 0;
}

/* Length then characters then key: the first failure is the most useful to report. */
static int digits_check(const char *s, size_t len, const char *field, struct a51_error *err)
{
	if (strlen(s) != len)
		return a51_error_set(err, A51_EINVAL, field, "must be %zu digits", len);
	if (!all_digits(s, len))
		return a51_error_set(err, A51_EINVAL, field, "must contain only digits");
	return 0;
}

int ids_rpps_check(const char *s, struct a51_error *err)
{
	int rc = digits_check(s, 11, "rpps", err);

	if (rc)
		return rc;
	if (!luhn_ok(s, 11))
		return a51_error_set(err, A51_EINVAL, "rpps", "the check digit (Luhn) is wrong");
	return 0;
}

int ids_siren_check(const char *s, struct a51_error *err)
{
	int rc = digits_check(s, 9, "siren", err);

	if (rc)
		return rc;
	if (!luhn_ok(s, 9))
		return a51_error_set(err, A51_EINVAL, "siren", "the check digit (Luhn) is wrong");
	return 0;
}

int ids_siret_check(const char *s, struct a51_error *err)
{
	int rc = digits_check(s, 14, "siret", err);
	unsigned sum = 0;

	if (rc)
		return rc;
	if (!luhn_ok(s, 9))
		return a51_error_set(err, A51_EINVAL, "siret",
				     "the SIREN part (first 9 digits) has a wrong check digit (Luhn)");
	/* La Poste numbers its many establishments under one SIREN with a weaker key;
	 * its head office predates the rule and keeps a Luhn key. */
	if (memcmp(s, "356000000", 9) == 0 && strcmp(s, "35600000000048") != 0) {
		for (size_t i = 0; i < 14; i++)
			sum += (unsigned)(s[i] - '0');
		if (sum % 5 != 0)
			return a51_error_set(err, A51_EINVAL, "siret",
					     "La Poste SIRET: the sum of the digits must be a multiple of 5");
		return 0;
	}
	if (!luhn_ok(s, 14))
		return a51_error_set(err, A51_EINVAL, "siret", "the check digit (Luhn) is wrong");
	return 0;
}

static bool finess_dept_ok(const char *s)
{
	int d;

	if (nir_corsica(s))
		return true;
	if (!all_digits(s, 2))
		return false;
	d = two_digits(s);
	/* "20" (pre-1976 Corsica) is kept: rejecting it is a hard error nothing supports. */
	return (d >= 1 && d <= 95) || d == 97 || d == 98;
}

int ids_finess_check(const char *s, enum finess_key *key, struct a51_error *err)
{
	if (key)
		*key = FINESS_KEY_UNKNOWN;
	if (strlen(s) != 9)
		return a51_error_set(err, A51_EINVAL, "finess", "must be 9 characters");
	if (!finess_dept_ok(s))
		return a51_error_set(err, A51_EINVAL, "finess",
				     "positions 1-2 (département) must be 01-95, 2A, 2B, 97 or 98");
	if (!all_digits(s + 2, 7))
		return a51_error_set(err, A51_EINVAL, "finess", "positions 3-9 must be digits");
	/* Luhn is background knowledge only ([B]); how 2A/2B enter it is not known, so
	 * Corsica stays FINESS_KEY_UNKNOWN rather than guessing a letter mapping. */
	if (key && !nir_corsica(s))
		*key = luhn_ok(s, 9) ? FINESS_KEY_OK : FINESS_KEY_BAD;
	return 0;
}
