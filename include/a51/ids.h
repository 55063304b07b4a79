/* Identifier validation (spec domain.md section 6): NIR, RPPS, SIREN/SIRET, FINESS.
 * Pure functions: no I/O, no allocation. Every input string must be non-NULL and
 * NUL-terminated. Error messages never quote the input (a NIR is health data). */
#ifndef A51_IDS_H
#define A51_IDS_H

#include "a51/error.h"

/* Parts of a valid NIR that later rules need (age, provisional number, origin). */
struct nir_parts {
	int sex;         /* raw digit 1: 1/2 normal, 3/4 foreigner being registered,
			  * 7/8 provisional; odd = male, even = female */
	int birth_year2; /* 0..99, the century is not encoded */
	int birth_month; /* 1..12, or 20..42 / 50..99 when the civil record had none */
	char dept[4];    /* "75", "2A", "99" (abroad), or 3 digits
			  * when positions 6-7 are 97/98 (overseas: "971") */
};

/* The FINESS check-digit rule is unconfirmed ([B] in the spec), so a wrong key is
 * reported, not rejected; Corsican numbers (2A/2B) have no known rule at all. */
enum finess_key {
	FINESS_KEY_OK,
	FINESS_KEY_BAD,
	FINESS_KEY_UNKNOWN,
};

/* Validates a NIR fully and writes its canonical 15-character form (spaces removed,
 * 2a/2b upper-cased) NUL-terminated into out. Returns 0, or A51_EINVAL with err->field
 * "nir" and the reason; out is then all NULs. Accepted: sex 1,2,3,4,7,8;
 * month 01-12, 20-42, 50-99; positions 6-7 digits or 2A/2B; key = 97 - N13 mod 97. */
int ids_nir_normalise(const char *in, char out[16], struct a51_error *err);

/* Key (1..97) of the first 13 characters of a canonical NIR, 2A counting as 19 and
 * 2B as 18; -1 if a character is not a digit (outside an upper-case 2A/2B at 6-7).
 * Only the 13 characters are read; no NUL is needed. */
int ids_nir_key(const char first13[13]);

/* Splits a canonical NIR (as written by ids_nir_normalise) into *out. Re-validates
 * it, key included: returns 0, or A51_EINVAL with *out zeroed. */
int ids_nir_parts(const char nir15[15], struct nir_parts *out);

/* RPPS: exactly 11 digits, Luhn over all 11. 0, or A51_EINVAL, err->field "rpps". */
int ids_rpps_check(const char *s, struct a51_error *err);

/* SIREN: exactly 9 digits, Luhn over all 9. 0, or A51_EINVAL, err->field "siren". */
int ids_siren_check(const char *s, struct a51_error *err);

/* SIRET: exactly 14 digits whose first 9 are a valid SIREN and which pass Luhn, except
 * La Poste establishments (356000000 prefix, head office 35600000000048 aside) whose
 * digit sum must be a multiple of 5. 0, or A51_EINVAL, err->field "siret". Letters
 * (some Monaco entities) are rejected. */
int ids_siret_check(const char *s, struct a51_error *err);

/* FINESS: 9 characters, département 01-95, 2A, 2B, 97 or 98 then digits. A bad format
 * returns A51_EINVAL (err->field "finess"); otherwise 0, with *key (may be NULL) set
 * to the Luhn result, or FINESS_KEY_UNKNOWN for Corsica and on error. */
int ids_finess_check(const char *s, enum finess_key *key, struct a51_error *err);

#endif
