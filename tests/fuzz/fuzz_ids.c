/* libFuzzer target for the identifier validators (core/ids.c): NIR, RPPS,
 * SIREN, SIRET, FINESS. The input is the identifier as a client sends it (up
 * to its first NUL). Checked against the contract of ids.h and a reference
 * Luhn and NIR key written here: an accepted value has the documented form and
 * key; a NIR's canonical form is accepted again unchanged and splits into
 * parts; a refused one leaves nothing behind; no message quotes the input. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a51/ids.h"
#include "a51/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool luhn(const char *s, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[n - 1 - i] - '0') * (i % 2 ? 2 : 1);
		sum += d / 10 + d % 10;
	}
	return sum % 10 == 0;
}

/* 97 - N mod 97 over the 13 first characters, 2A/2B read as 19/18. */
static int nir_key(const char *s)
{
	char d[14];
	uint64_t n = 0;

	memcpy(d, s, 13);
	d[13] = '\0';
	if (d[5] == '2' && (d[6] == 'A' || d[6] == 'B')) {
		d[5] = '1';
		d[6] = d[6] == 'A' ? '9' : '8';
	}
	if (!digits(d, 13))
		return -1;
	for (int i = 0; i < 13; i++)
		n = n * 10 + (uint64_t)(d[i] - '0');
	return (int)(97 - n % 97);
}

/* A message may not repeat the input when the input is long enough to be one. */
static void no_echo(const struct a51_error *e, const char *in)
{
	if (strlen(in) >= 6 && strstr(e->message, in))
		abort();
}

static void check_nir(const char *in)
{
	struct a51_error e = { 0 };
	char out[16], again[16];
	struct nir_parts parts;
	int rc;

	memset(out, 'x', sizeof(out));
	rc = ids_nir_normalise(in, out, &e);
	if (rc) {
		if (rc != A51_EINVAL || strcmp(e.field, "nir") != 0 || out[0] != '\0')
			abort();
		for (int i = 0; i < 16; i++)
			if (out[i] != '\0' && out[i] != 'x')
				abort(); /* nothing half-validated left in out */
		no_echo(&e, in);
		return;
	}
	if (strlen(out) != 15 || !strchr("123478", out[0]) || !digits(out + 13, 2) ||
	    nir_key(out) != (out[13] - '0') * 10 + (out[14] - '0') || ids_nir_key(out) != nir_key(out))
		abort();
	/* the canonical form is a fixed point */
	if (ids_nir_normalise(out, again, NULL) != 0 || strcmp(again, out) != 0)
		abort();
	/* what was removed: spaces only, and 2a/2b upper-cased */
	{
		size_t k = 0;
		for (const char *p = in; *p; p++) {
			if (*p == ' ')
				continue;
			if (k >= 15 || (*p != out[k] && !((*p == 'a' || *p == 'b') && *p - 'a' + 'A' == out[k])))
				abort();
			k++;
		}
	}
	if (ids_nir_parts(out, &parts) != 0 || parts.sex != out[0] - '0' ||
	    parts.birth_year2 != (out[1] - '0') * 10 + (out[2] - '0') || parts.birth_month < 1 ||
	    parts.birth_month > 99 || (strlen(parts.dept) != 2 && strlen(parts.dept) != 3) ||
	    memcmp(parts.dept, out + 5, strlen(parts.dept)) != 0)
		abort();
}

static void check_digits_id(const char *in, size_t len, int (*fn)(const char *, struct a51_error *),
			    const char *field)
{
	struct a51_error e = { 0 };
	int rc = fn(in, &e);

	if (rc == 0) {
		if (strlen(in) != len || !digits(in, len))
			abort();
		return;
	}
	if (rc != A51_EINVAL || strcmp(e.field, field) != 0)
		abort();
	no_echo(&e, in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	struct a51_error e = { 0 };
	enum finess_key key;

	if (!in)
		abort();
	memcpy(in, data, size);
	in[size] = '\0';

	check_nir(in);
	if (size >= 13) {
		int k = ids_nir_key(in); /* reads exactly 13 bytes, NUL or not */
		if (k != nir_key(in) || (k != -1 && (k < 1 || k > 97)))
			abort();
	}
	if (size >= 15) {
		struct nir_parts p;
		char canon[16];
		/* a raw 15-byte NIR is accepted exactly when its normalised form is itself */
		bool ok = ids_nir_parts(in, &p) == 0;
		char head[16];
		memcpy(head, in, 15);
		head[15] = '\0';
		bool same = strlen(head) == 15 && ids_nir_normalise(head, canon, NULL) == 0 && strcmp(canon, head) == 0;
		if (ok != same)
			abort();
	}

	check_digits_id(in, 11, ids_rpps_check, "rpps");
	if (ids_rpps_check(in, NULL) == 0 && !luhn(in, 11))
		abort();
	check_digits_id(in, 9, ids_siren_check, "siren");
	if (ids_siren_check(in, NULL) == 0 && !luhn(in, 9))
		abort();
	check_digits_id(in, 14, ids_siret_check, "siret");
	if (ids_siret_check(in, NULL) == 0) {
		unsigned sum = 0;
		for (int i = 0; i < 14; i++)
			sum += (unsigned)(in[i] - '0');
		if (!luhn(in, 9))
			abort();
		if (memcmp(in, "356000000", 9) == 0 && strcmp(in, "35600000000048") != 0 ? sum % 5 != 0 : !luhn(in, 14))
			abort();
	}

	if (ids_finess_check(in, &key, &e) == 0) {
		bool corsica = in[0] == '2' && (in[1] == 'A' || in[1] == 'B');
		if (strlen(in) != 9 || !digits(in + 2, 7) || (!corsica && !digits(in, 2)))
			abort();
		if (corsica ? key != FINESS_KEY_UNKNOWN : key != (luhn(in, 9) ? FINESS_KEY_OK : FINESS_KEY_BAD))
			abort();
	} else {
		if (key != FINESS_KEY_UNKNOWN || strcmp(e.field, "finess") != 0)
			abort();
		no_echo(&e, in);
	}
	free(in);
	return 0;
}
