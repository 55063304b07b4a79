/* core/ids: NIR, RPPS, SIREN/SIRET, FINESS against the spec vectors (domain.md s. 6)
 * and against vectors whose keys were computed independently (Python, spec algorithm). */
#include <check.h>
#include <string.h>

#include "a51/ids.h"
#include "a51/util.h"
#include "common/check_main.h"

/* rc 0: want is the canonical output; otherwise a substring of the reason. */
struct id_case {
	const char *in;
	int rc;
	const char *want;
};

#define NIR_LEN_MSG "must be 15 characters (13 digits and a 2-digit key)"
#define NIR_CHR_MSG "must contain only digits, except 2A or 2B at positions 6-7"
#define NIR_SEX_MSG "position 1 (sex) must be 1, 2, 3, 4, 7 or 8"
#define NIR_MONTH_MSG "positions 4-5 (birth month) must be 01-12, 20-42 or 50-99"

static const struct id_case nir_cases[] = {
	/* spec 6.1 vectors */
	{ "295109912611193", 0, "295109912611193" },
	{ "253072B07300470", 0, "253072B07300470" },
	{ "253072A07300443", 0, "253072A07300443" },
	{ "189127512501282", 0, "189127512501282" },
	{ "206127511100564", 0, "206127511100564" },
	{ "295109912611199", A51_EINVAL, "the key (last 2 digits) does not match" },
	/* printed forms and lower-case Corsica */
	{ "2 95 10 99 126 111 93", 0, "295109912611193" },
	{ "  295109912611193  ", 0, "295109912611193" },
	{ "2 53 07 2b 073 004 70", 0, "253072B07300470" },
	{ "253072a07300443", 0, "253072A07300443" },
	/* other accepted sex digits, months at every range boundary, overseas, abroad */
	{ "385019912345637", 0, "385019912345637" },
	{ "485019912345684", 0, "485019912345684" },
	{ "785019912345631", 0, "785019912345631" },
	{ "885019912345678", 0, "885019912345678" },
	{ "185017512345609", 0, "185017512345609" },
	{ "185127512345688", 0, "185127512345688" },
	{ "185207512345622", 0, "185207512345622" },
	{ "185427512345683", 0, "185427512345683" },
	{ "185507512345617", 0, "185507512345617" },
	{ "185997512345625", 0, "185997512345625" },
	{ "185019711234550", 0, "185019711234550" },
	{ "185019881234572", 0, "185019881234572" },
	{ "899129999999902", 0, "899129999999902" },  /* N13 needs more than 32 bits */
	{ "100010100100105", 0, "100010100100105" },  /* key below 10 keeps its 0 */
	/* length */
	{ "", A51_EINVAL, NIR_LEN_MSG },
	{ "     ", A51_EINVAL, NIR_LEN_MSG },
	{ "29510991261119", A51_EINVAL, NIR_LEN_MSG },
	{ "2951099126111930", A51_EINVAL, NIR_LEN_MSG },
	{ "2 95 10 99 126 111 93 0", A51_EINVAL, NIR_LEN_MSG },
	{ "2951099126111934567890123456789", A51_EINVAL, NIR_LEN_MSG },
	{ "29510991261119\t3", A51_EINVAL, NIR_LEN_MSG },
	/* characters */
	{ "A95109912611193", A51_EINVAL, NIR_CHR_MSG },
	{ "295109912611A93", A51_EINVAL, NIR_CHR_MSG },
	{ "2951099126111X3", A51_EINVAL, NIR_CHR_MSG },   /* non-digit key */
	{ "29510991261119b", A51_EINVAL, NIR_CHR_MSG },   /* b only counts at 6-7 */
	{ "253072C07300470", A51_EINVAL, NIR_CHR_MSG },   /* 2C */
	{ "25307BA07300443", A51_EINVAL, NIR_CHR_MSG },
	{ "25307A207300443", A51_EINVAL, NIR_CHR_MSG },
	{ "2530720A7300443", A51_EINVAL, NIR_CHR_MSG },
	{ "2530721A7300443", A51_EINVAL, NIR_CHR_MSG },
	{ "2951099126111\t3", A51_EINVAL, NIR_CHR_MSG },
	{ "2-95-10-99-126-111-93", A51_EINVAL, NIR_LEN_MSG },
	{ "29510-9912611193", A51_EINVAL, NIR_LEN_MSG },
	{ "2951O9912611193", A51_EINVAL, NIR_CHR_MSG },   /* letter O for zero */
	/* sex digit (keys correct, so only the sex is wrong) */
	{ "085019912345690", A51_EINVAL, NIR_SEX_MSG },
	{ "585019912345634", A51_EINVAL, NIR_SEX_MSG },
	{ "685019912345681", A51_EINVAL, NIR_SEX_MSG },
	{ "985019912345628", A51_EINVAL, NIR_SEX_MSG },
	/* month just outside each range (keys correct) */
	{ "185007512345690", A51_EINVAL, NIR_MONTH_MSG },
	{ "185137512345607", A51_EINVAL, NIR_MONTH_MSG },
	{ "185197512345606", A51_EINVAL, NIR_MONTH_MSG },
	{ "185437512345602", A51_EINVAL, NIR_MONTH_MSG },
	{ "185497512345601", A51_EINVAL, NIR_MONTH_MSG },
	/* keys */
	{ "295109912611194", A51_EINVAL, "the key (last 2 digits) does not match" },
	{ "295109912611100", A51_EINVAL, "the key (last 2 digits) does not match" },
	{ "295109912611198", A51_EINVAL, "the key (last 2 digits) does not match" },
	{ "253072A07300470", A51_EINVAL, "the key (last 2 digits) does not match" },
	{ "253072B07300443", A51_EINVAL, "the key (last 2 digits) does not match" },
	{ "253072A07300416", A51_EINVAL, "the key (last 2 digits) does not match" },  /* wrong A->0 rule */
	{ "253072007300443", A51_EINVAL, "the key (last 2 digits) does not match" },
	{ "189127512501228", A51_EINVAL, "the key (last 2 digits) does not match" },
};

/* The privacy rule: a message may show the two 2-digit keys, never a longer run of
 * digits (which would be a piece of the NIR). */
static size_t longest_digit_run(const char *s)
{
	size_t best = 0, cur = 0;

	for (; *s; s++) {
		cur = (*s >= '0' && *s <= '9') ? cur + 1 : 0;
		if (cur > best)
			best = cur;
	}
	return best;
}

static void check_nir_case(const struct id_case *c)
{
	struct a51_error err = { 0 };
	char out[16];
	int rc;

	memset(out, 'x', sizeof(out));
	rc = ids_nir_normalise(c->in, out, &err);
	ck_assert_msg(rc == c->rc, "\"%s\": rc %d, want %d (%s)", c->in, rc, c->rc, err.message);
	if (rc == 0) {
		ck_assert_msg(strcmp(out, c->want) == 0, "\"%s\" -> \"%s\"", c->in, out);
		ck_assert_int_eq(err.code, 0);
		return;
	}
	ck_assert_int_eq(err.code, A51_EINVAL);
	ck_assert_str_eq(err.field, "nir");
	ck_assert_msg(strstr(err.message, c->want) != NULL, "\"%s\": \"%s\"", c->in, err.message);
	ck_assert_msg(out[0] == '\0', "\"%s\": output left behind on failure", c->in);
	ck_assert_msg(longest_digit_run(err.message) <= 2, "\"%s\": \"%s\"", c->in, err.message);
}

START_TEST(nir_normalise_table)
{
	for (size_t i = 0; i < A51_ARRAY_LEN(nir_cases); i++)
		check_nir_case(&nir_cases[i]);
}
END_TEST

START_TEST(nir_failure_leaves_no_digits)
{
	struct a51_error err = { 0 };
	char out[16];

	/* Fails on its key, i.e. after the whole NIR was copied into out. */
	ck_assert_int_eq(ids_nir_normalise("295109912611194", out, &err), A51_EINVAL);
	for (size_t i = 0; i < sizeof(out); i++)
		ck_assert_msg(out[i] == '\0', "byte %zu left: %c", i, out[i]);
	/* A NULL err is allowed, as everywhere a51_error is used. */
	ck_assert_int_eq(ids_nir_normalise("295109912611194", out, NULL), A51_EINVAL);
	ck_assert_int_eq(ids_nir_normalise("295109912611193", out, NULL), 0);
	/* Too long: the first 15 characters were copied before the length was known (found by fuzz_ids). */
	memset(out, 'x', sizeof(out));
	ck_assert_int_eq(ids_nir_normalise("2951099126111931", out, NULL), A51_EINVAL);
	for (size_t i = 0; i < sizeof(out); i++)
		ck_assert_msg(out[i] == '\0', "byte %zu left after a length failure: %c", i, out[i]);
}
END_TEST

START_TEST(nir_key_vectors)
{
	static const struct {
		const char *first13;
		int key;
	} v[] = {
		{ "2951099126111", 93 }, { "253072B073004", 70 }, { "253072A073004", 43 },
		{ "1891275125012", 82 }, { "2061275111005", 64 }, { "8991299999999", 2 },
		{ "1000101001001", 5 }, { "0000000000000", 97 }, { "9999999999999", 97 - 9999999999999 % 97 },
		{ "253072C073004", -1 }, { "253072a073004", -1 }, { "2530A2B073004", -1 },
		{ "25307B2073004", -1 }, { "2A5072B073004", -1 }, { "295109912611 ", -1 },
		{ "29510991261-1", -1 },
	};

	for (size_t i = 0; i < A51_ARRAY_LEN(v); i++)
		ck_assert_msg(ids_nir_key(v[i].first13) == v[i].key, "%s: %d, want %d", v[i].first13,
			      ids_nir_key(v[i].first13), v[i].key);
	/* Reads 13 characters only: the rest of the buffer is irrelevant. */
	ck_assert_int_eq(ids_nir_key("295109912611193"), 93);
	ck_assert_int_eq(ids_nir_key("2951099126111XY"), 93);
}
END_TEST

/* 97 is prime and larger than 9, so the key must change with any single digit. */
START_TEST(nir_key_catches_every_single_digit_change)
{
	static const char *const base[] = { "2951099126111", "1891275125012", "253072A073004" };
	char buf[14];

	for (size_t b = 0; b < A51_ARRAY_LEN(base); b++) {
		int key = ids_nir_key(base[b]);

		ck_assert_int_gt(key, 0);
		for (int pos = 0; pos < 13; pos++) {
			if (base[b][pos] < '0' || base[b][pos] > '9')
				continue;
			for (char d = '0'; d <= '9'; d++) {
				if (d == base[b][pos])
					continue;
				memcpy(buf, base[b], sizeof(buf));
				buf[pos] = d;
				ck_assert_msg(ids_nir_key(buf) != key, "%s pos %d -> %c", base[b], pos, d);
			}
		}
	}
}
END_TEST

/* Exactly one of the 100 two-digit suffixes is accepted, and no message leaks. */
START_TEST(nir_only_one_key_passes)
{
	static const char *const valid[] = {
		"295109912611193", "253072B07300470", "253072A07300443",
		"189127512501282", "206127511100564", "899129999999902",
	};
	struct a51_error err;
	char in[16], out[16];

	for (size_t v = 0; v < A51_ARRAY_LEN(valid); v++) {
		int accepted = 0;

		for (int k = 0; k < 100; k++) {
			memcpy(in, valid[v], sizeof(in));
			in[13] = (char)('0' + k / 10);
			in[14] = (char)('0' + k % 10);
			memset(&err, 0, sizeof(err));
			if (ids_nir_normalise(in, out, &err) == 0) {
				accepted++;
				ck_assert_str_eq(in, valid[v]);
			} else {
				ck_assert_msg(strstr(err.message, "does not match") != NULL, "%s", err.message);
				ck_assert_msg(longest_digit_run(err.message) <= 2, "%s", err.message);
				ck_assert_msg(strstr(err.message, in) == NULL, "%s", err.message);
			}
		}
		ck_assert_msg(accepted == 1, "%s: %d keys accepted", valid[v], accepted);
	}
}
END_TEST

START_TEST(nir_parts_table)
{
	static const struct {
		const char *nir;
		int rc, sex, year, month;
		const char *dept;
	} v[] = {
		{ "295109912611193", 0, 2, 95, 10, "99" },
		{ "253072A07300443", 0, 2, 53, 7, "2A" },
		{ "253072B07300470", 0, 2, 53, 7, "2B" },
		{ "189127512501282", 0, 1, 89, 12, "75" },
		{ "185019711234550", 0, 1, 85, 1, "971" },
		{ "185019881234572", 0, 1, 85, 1, "988" },
		{ "885019912345678", 0, 8, 85, 1, "99" },
		{ "185997512345625", 0, 1, 85, 99, "75" },
		{ "295109912611199", A51_EINVAL, 0, 0, 0, "" },
		{ "253072a07300443", A51_EINVAL, 0, 0, 0, "" },  /* not canonical */
		{ "585019912345634", A51_EINVAL, 0, 0, 0, "" },
	};
	struct nir_parts p;

	for (size_t i = 0; i < A51_ARRAY_LEN(v); i++) {
		memset(&p, 0x55, sizeof(p));
		ck_assert_msg(ids_nir_parts(v[i].nir, &p) == v[i].rc, "%s", v[i].nir);
		ck_assert_msg(p.sex == v[i].sex && p.birth_year2 == v[i].year &&
			      p.birth_month == v[i].month, "%s: %d %d %d", v[i].nir, p.sex,
			      p.birth_year2, p.birth_month);
		ck_assert_msg(strcmp(p.dept, v[i].dept) == 0, "%s: dept \"%s\"", v[i].nir, p.dept);
	}
}
END_TEST

static void run_table(int (*fn)(const char *, struct a51_error *), const char *field,
		      const struct id_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct a51_error err = { 0 };
		int rc = fn(cases[i].in, &err);

		ck_assert_msg(rc == cases[i].rc, "%s \"%s\": rc %d, want %d (%s)", field, cases[i].in,
			      rc, cases[i].rc, err.message);
		if (rc == 0) {
			ck_assert_int_eq(err.code, 0);
			continue;
		}
		ck_assert_int_eq(err.code, A51_EINVAL);
		ck_assert_str_eq(err.field, field);
		ck_assert_msg(strstr(err.message, cases[i].want) != NULL, "%s \"%s\": \"%s\"", field,
			      cases[i].in, err.message);
	}
}

/* Luhn detects every single-digit substitution. */
static void check_single_digit_changes(int (*fn)(const char *, struct a51_error *),
				       const char *valid)
{
	char buf[32];
	size_t len = strlen(valid);

	ck_assert_int_eq(fn(valid, NULL), 0);
	for (size_t pos = 0; pos < len; pos++) {
		for (char d = '0'; d <= '9'; d++) {
			if (d == valid[pos])
				continue;
			memcpy(buf, valid, len + 1);
			buf[pos] = d;
			ck_assert_msg(fn(buf, NULL) == A51_EINVAL, "%s accepted", buf);
		}
	}
}

#define LUHN_MSG "the check digit (Luhn) is wrong"

START_TEST(rpps_table)
{
	static const struct id_case v[] = {
		{ "10000000009", 0, NULL },
		{ "12345678903", 0, NULL },
		{ "19999999998", 0, NULL },
		{ "10000000017", 0, NULL },
		{ "81000000000", 0, NULL },
		{ "00000000000", 0, NULL },
		{ "10000000008", A51_EINVAL, LUHN_MSG },
		{ "12345679803", A51_EINVAL, LUHN_MSG },   /* 8 and 9 swapped */
		{ "12345678930", A51_EINVAL, LUHN_MSG },
		{ "1000000000", A51_EINVAL, "must be 11 digits" },
		{ "100000000090", A51_EINVAL, "must be 11 digits" },
		{ "", A51_EINVAL, "must be 11 digits" },
		{ " 10000000009", A51_EINVAL, "must be 11 digits" },
		{ "1000000000A", A51_EINVAL, "must contain only digits" },
		{ "1000 000009", A51_EINVAL, "must contain only digits" },
		{ "-1000000009", A51_EINVAL, "must contain only digits" },
	};

	run_table(ids_rpps_check, "rpps", v, A51_ARRAY_LEN(v));
	check_single_digit_changes(ids_rpps_check, "12345678903");
}
END_TEST

START_TEST(siren_table)
{
	static const struct id_case v[] = {
		{ "732829320", 0, NULL },
		{ "356000000", 0, NULL },
		{ "123456782", 0, NULL },
		{ "732829321", A51_EINVAL, LUHN_MSG },
		{ "723829320", A51_EINVAL, LUHN_MSG },
		{ "123456780", A51_EINVAL, LUHN_MSG },
		{ "73282932", A51_EINVAL, "must be 9 digits" },
		{ "7328293200", A51_EINVAL, "must be 9 digits" },
		{ "", A51_EINVAL, "must be 9 digits" },
		{ "73282932A", A51_EINVAL, "must contain only digits" },
		{ "732 829 3", A51_EINVAL, "must contain only digits" },
	};

	run_table(ids_siren_check, "siren", v, A51_ARRAY_LEN(v));
	check_single_digit_changes(ids_siren_check, "732829320");
}
END_TEST

START_TEST(siret_table)
{
	static const struct id_case v[] = {
		{ "73282932000074", 0, NULL },
		{ "73282932000017", 0, NULL },
		{ "35600000000048", 0, NULL },   /* La Poste head office: Luhn */
		{ "35600000049837", 0, NULL },   /* La Poste: sum 45, fails Luhn */
		{ "35600000000001", 0, NULL },   /* La Poste: sum 15, fails Luhn */
		{ "35600000000006", 0, NULL },   /* La Poste: sum 20, passes Luhn too */
		{ "73282932000079", A51_EINVAL, LUHN_MSG },
		{ "73282932000047", A51_EINVAL, LUHN_MSG },
		{ "12345678000006", A51_EINVAL, "SIREN part" },   /* 14 pass Luhn, 9 do not */
		{ "35600000000014", A51_EINVAL, "multiple of 5" }, /* passes Luhn, sum 19 */
		{ "35600000000013", A51_EINVAL, "multiple of 5" },
		{ "35600000000049", A51_EINVAL, "multiple of 5" },
		{ "7328293200007", A51_EINVAL, "must be 14 digits" },
		{ "732829320000740", A51_EINVAL, "must be 14 digits" },
		{ "", A51_EINVAL, "must be 14 digits" },
		{ "MONACOCONFO001", A51_EINVAL, "must contain only digits" },
		{ "7328293200007 ", A51_EINVAL, "must contain only digits" },
	};

	run_table(ids_siret_check, "siret", v, A51_ARRAY_LEN(v));
	check_single_digit_changes(ids_siret_check, "73282932000074");
}
END_TEST

START_TEST(finess_table)
{
	static const struct {
		const char *in;
		int rc;
		enum finess_key key;
		const char *msg;
	} v[] = {
		/* Luhn verified by computation; the first three are well-known CHU numbers */
		{ "750712184", 0, FINESS_KEY_OK, NULL },
		{ "130786049", 0, FINESS_KEY_OK, NULL },
		{ "690781810", 0, FINESS_KEY_OK, NULL },
		{ "010000008", 0, FINESS_KEY_OK, NULL },
		{ "950000000", 0, FINESS_KEY_OK, NULL },
		{ "200000008", 0, FINESS_KEY_OK, NULL },
		{ "971000005", 0, FINESS_KEY_OK, NULL },
		{ "980000004", 0, FINESS_KEY_OK, NULL },
		/* wrong key: a warning, not an error */
		{ "750712185", 0, FINESS_KEY_BAD, NULL },
		{ "750712148", 0, FINESS_KEY_BAD, NULL },
		{ "010000000", 0, FINESS_KEY_BAD, NULL },
		/* Corsica: no known rule */
		{ "2A0000029", 0, FINESS_KEY_UNKNOWN, NULL },
		{ "2B1234567", 0, FINESS_KEY_UNKNOWN, NULL },
		/* format errors */
		{ "", A51_EINVAL, FINESS_KEY_UNKNOWN, "must be 9 characters" },
		{ "75071218", A51_EINVAL, FINESS_KEY_UNKNOWN, "must be 9 characters" },
		{ "7507121840", A51_EINVAL, FINESS_KEY_UNKNOWN, "must be 9 characters" },
		{ "75 071 218 4", A51_EINVAL, FINESS_KEY_UNKNOWN, "must be 9 characters" },
		{ "000000000", A51_EINVAL, FINESS_KEY_UNKNOWN, "positions 1-2" },
		{ "960000000", A51_EINVAL, FINESS_KEY_UNKNOWN, "positions 1-2" },
		{ "990000000", A51_EINVAL, FINESS_KEY_UNKNOWN, "positions 1-2" },
		{ "9A0000000", A51_EINVAL, FINESS_KEY_UNKNOWN, "positions 1-2" },
		{ "2C0000000", A51_EINVAL, FINESS_KEY_UNKNOWN, "positions 1-2" },
		{ "2a0000029", A51_EINVAL, FINESS_KEY_UNKNOWN, "positions 1-2" },
		{ "A20000000", A51_EINVAL, FINESS_KEY_UNKNOWN, "positions 1-2" },
		{ " 75071218", A51_EINVAL, FINESS_KEY_UNKNOWN, "positions 1-2" },
		{ "75071218X", A51_EINVAL, FINESS_KEY_UNKNOWN, "positions 3-9" },
		{ "97A000000", A51_EINVAL, FINESS_KEY_UNKNOWN, "positions 3-9" },
		{ "750 12184", A51_EINVAL, FINESS_KEY_UNKNOWN, "positions 3-9" },
		{ "2A000002B", A51_EINVAL, FINESS_KEY_UNKNOWN, "positions 3-9" },
	};
	char buf[10];

	for (size_t i = 0; i < A51_ARRAY_LEN(v); i++) {
		struct a51_error err = { 0 };
		enum finess_key key = (enum finess_key)99;
		int rc = ids_finess_check(v[i].in, &key, &err);

		ck_assert_msg(rc == v[i].rc, "\"%s\": rc %d (%s)", v[i].in, rc, err.message);
		ck_assert_msg(key == v[i].key, "\"%s\": key %d, want %d", v[i].in, key, v[i].key);
		if (rc == 0) {
			ck_assert_int_eq(err.code, 0);
			ck_assert_int_eq(ids_finess_check(v[i].in, NULL, NULL), 0);
			continue;
		}
		ck_assert_str_eq(err.field, "finess");
		ck_assert_msg(strstr(err.message, v[i].msg) != NULL, "\"%s\": %s", v[i].in, err.message);
	}
	/* Only the right last digit gives FINESS_KEY_OK. */
	for (char d = '0'; d <= '9'; d++) {
		enum finess_key key;

		memcpy(buf, "750712184", sizeof(buf));
		buf[8] = d;
		ck_assert_int_eq(ids_finess_check(buf, &key, NULL), 0);
		ck_assert_int_eq(key, d == '4' ? FINESS_KEY_OK : FINESS_KEY_BAD);
	}
}
END_TEST

static Suite *ids_suite(void)
{
	Suite *s = suite_create("ids");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, nir_normalise_table);
	tcase_add_test(tc, nir_failure_leaves_no_digits);
	tcase_add_test(tc, nir_key_vectors);
	tcase_add_test(tc, nir_key_catches_every_single_digit_change);
	tcase_add_test(tc, nir_only_one_key_passes);
	tcase_add_test(tc, nir_parts_table);
	tcase_add_test(tc, rpps_table);
	tcase_add_test(tc, siren_table);
	tcase_add_test(tc, siret_table);
	tcase_add_test(tc, finess_table);
	suite_add_tcase(s, tc);
	return s;
}

A51_CHECK_MAIN(ids_suite)
