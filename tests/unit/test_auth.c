/* core/auth and core/dates: permissions, scopes, grants, tokens, pseudonyms, calendar. */
#include <check.h>
#include <string.h>

#include "a51/auth.h"
#include "a51/config.h"
#include "a51/dates.h"
#include "a51/util.h"
#include "common/check_main.h"

static struct caller who(int kind, bool write, const char *region, int64_t sid)
{
	struct caller c = { .kind = kind, .write = write, .structure_id = sid };

	snprintf(c.region, sizeof(c.region), "%s", region ? region : "");
	auth_scope_format(&c);
	return c;
}

START_TEST(permission_table)
{
	/* rows: caller; columns: PUBLIC READ WRITE ARS_READ ARS_WRITE NAT_READ NAT_WRITE */
	static const struct { int kind; bool write; bool ok[7]; } t[] = {
		{ CALLER_NONE, false, { 1, 0, 0, 0, 0, 0, 0 } },
		{ CALLER_NATIONAL, true, { 1, 1, 1, 1, 1, 1, 1 } },
		{ CALLER_NATIONAL, false, { 1, 1, 0, 1, 0, 1, 0 } },
		{ CALLER_ARS, true, { 1, 1, 1, 1, 1, 0, 0 } },
		{ CALLER_ARS, false, { 1, 1, 0, 1, 0, 0, 0 } },
		{ CALLER_STRUCTURE, true, { 1, 1, 1, 0, 0, 0, 0 } },
		{ CALLER_STRUCTURE, false, { 1, 1, 0, 0, 0, 0, 0 } },
	};
	for (size_t i = 0; i < A51_ARRAY_LEN(t); i++) {
		struct caller c = who(t[i].kind, t[i].write, "84", 3);
		for (int p = PERM_PUBLIC; p <= PERM_NATIONAL_WRITE; p++)
			ck_assert_msg(auth_permits(&c, p) == t[i].ok[p], "caller %zu perm %d", i, p);
	}
}
END_TEST

START_TEST(scopes_parse)
{
	struct caller c = { .write = true };
	struct a51_error err = { 0 };

	ck_assert_int_eq(auth_scope_parse("national", &c, &err), 0);
	ck_assert_int_eq(c.kind, CALLER_NATIONAL);
	ck_assert(c.write);
	ck_assert_str_eq(c.scope, "national");
	ck_assert_int_eq(auth_scope_parse("ars:84", &c, &err), 0);
	ck_assert_int_eq(c.kind, CALLER_ARS);
	ck_assert_str_eq(c.region, "84");
	ck_assert_int_eq(auth_scope_parse("structure:12", &c, &err), 0);
	ck_assert_int_eq(c.structure_id, 12);
	ck_assert_str_eq(c.scope, "structure:12");
	static const char *const bad[] = { "", "National", "ars:", "ars:8", "ars:845", "ars:8a", "structure:",
					   "structure:0", "structure:-3", "structure:1x", "region:84", "ars84" };
	for (size_t i = 0; i < A51_ARRAY_LEN(bad); i++) {
		ck_assert_msg(auth_scope_parse(bad[i], &c, &err) == A51_EINVAL, "%s accepted", bad[i]);
		ck_assert_str_eq(err.field, "scope");
	}
}
END_TEST

START_TEST(grants)
{
	struct caller nat = who(CALLER_NATIONAL, true, NULL, 0), nat_ro = who(CALLER_NATIONAL, false, NULL, 0);
	struct caller ars = who(CALLER_ARS, true, "84", 0), ars_ro = who(CALLER_ARS, false, "84", 0);
	struct caller st = who(CALLER_STRUCTURE, true, NULL, 5);
	struct caller t_nat = who(CALLER_NATIONAL, false, NULL, 0), t_ars84 = who(CALLER_ARS, false, "84", 0);
	struct caller t_ars11 = who(CALLER_ARS, false, "11", 0), t_s = who(CALLER_STRUCTURE, false, NULL, 9);

	ck_assert(auth_can_grant(&nat, &t_nat, NULL));
	ck_assert(auth_can_grant(&nat, &t_ars11, "11"));
	ck_assert(auth_can_grant(&nat, &t_s, "27"));
	ck_assert(!auth_can_grant(&nat_ro, &t_s, "27"));
	ck_assert(!auth_can_grant(&ars, &t_nat, NULL));
	ck_assert(auth_can_grant(&ars, &t_ars84, "84"));
	ck_assert(!auth_can_grant(&ars, &t_ars11, "11"));
	ck_assert(auth_can_grant(&ars, &t_s, "84"));
	ck_assert(!auth_can_grant(&ars, &t_s, "11"));
	ck_assert(!auth_can_grant(&ars, &t_s, NULL));
	ck_assert(!auth_can_grant(&ars_ro, &t_s, "84"));
	ck_assert(!auth_can_grant(&st, &t_s, "84"));
}
END_TEST

START_TEST(tokens)
{
	char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1];
	uint8_t ha[32], hb[32], again[32];

	ck_assert_int_eq(auth_token_generate(a, ha), 0);
	ck_assert_int_eq(auth_token_generate(b, hb), 0);
	ck_assert_uint_eq(strlen(a), AUTH_TOKEN_LEN);
	ck_assert(auth_token_wellformed(a));
	ck_assert_str_ne(a, b);
	auth_token_hash(a, again);
	ck_assert_mem_eq(ha, again, 32);
	ck_assert(!auth_token_wellformed("a51_short"));
	a[10] = '+';
	ck_assert(!auth_token_wellformed(a));
	ck_assert(!auth_token_wellformed("b51_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	ck_assert(auth_token_wellformed("a51_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
}
END_TEST

START_TEST(pseudonyms)
{
	uint8_t key[128], k2[128], p1[32], p2[32], p3[32];
	size_t n = auth_pseudo_key("", A51_MODE_DEMO, key, sizeof(key));
	size_t n2 = auth_pseudo_key("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", A51_MODE_PRODUCTION,
				    k2, sizeof(k2));

	ck_assert_uint_gt(n, 16);
	ck_assert_uint_eq(n2, 32);
	ck_assert_uint_eq(k2[0], 0x00);
	ck_assert_uint_eq(k2[31], 0xff);
	ck_assert_uint_eq(auth_pseudo_key("", A51_MODE_PRODUCTION, k2, sizeof(k2)), 0);
	auth_nir_pseudonym(key, n, "295109912611193", p1);
	auth_nir_pseudonym(key, n, "295109912611193", p2);
	auth_nir_pseudonym(k2, 16, "295109912611193", p3);
	ck_assert_mem_eq(p1, p2, 32); /* deterministic: the same person is found again */
	ck_assert(memcmp(p1, p3, 32) != 0); /* and depends on the key */
	auth_nir_pseudonym(key, n, "253072B07300470", p2);
	ck_assert(memcmp(p1, p2, 32) != 0);
}
END_TEST

START_TEST(dates)
{
	int32_t d;
	char s[11];
	int y, m, dd;

	ck_assert_int_eq(date_parse("1970-01-01", &d), 0);
	ck_assert_int_eq(d, 0);
	ck_assert_int_eq(date_parse("2024-02-29", &d), 0);
	date_format(d, s);
	ck_assert_str_eq(s, "2024-02-29");
	date_to_ymd(d + 1, &y, &m, &dd);
	ck_assert(y == 2024 && m == 3 && dd == 1);
	ck_assert_int_eq(date_parse("2023-02-29", &d), -1);
	ck_assert_int_eq(date_parse("2000-02-29", &d), 0);
	ck_assert_int_eq(date_parse("1900-02-29", &d), -1);
	ck_assert_int_eq(date_parse("2024-13-01", &d), -1);
	ck_assert_int_eq(date_parse("2024-1-01", &d), -1);
	ck_assert_int_eq(date_parse("2024-01-01x", &d), -1);
	ck_assert_int_eq(date_parse("20240101", &d), -1);
	ck_assert_int_eq(date_from_ymd(2024, 3, 1) - date_from_ymd(2024, 2, 1), 29);
	/* ages: the birthday counts from the first of the birth month */
	ck_assert_int_eq(date_age_at(1959, 3, date_from_ymd(2024, 3, 1)), 65);
	ck_assert_int_eq(date_age_at(1959, 4, date_from_ymd(2024, 3, 31)), 64);
	ck_assert_int_eq(date_age_at(1959, 0, date_from_ymd(2024, 1, 1)), 65);
	for (int32_t k = -1000; k < 100000; k += 37) {
		date_to_ymd(k, &y, &m, &dd);
		ck_assert_int_eq(date_from_ymd(y, m, dd), k);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("auth");
	TCase *t = tcase_create("auth");

	tcase_add_test(t, permission_table);
	tcase_add_test(t, scopes_parse);
	tcase_add_test(t, grants);
	tcase_add_test(t, tokens);
	tcase_add_test(t, pseudonyms);
	tcase_add_test(t, dates);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
