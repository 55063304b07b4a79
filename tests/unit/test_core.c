/* core/: hashing, buffers, arena, number parsing, configuration. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "a51/arena.h"
#include "a51/buf.h"
#include "a51/config.h"
#include "a51/sha256.h"
#include "a51/util.h"
#include "common/check_main.h"

static void hex_of(const uint8_t *d, char *out)
{
	util_hex(d, SHA256_LEN, out);
}

START_TEST(sha256_fips_vectors)
{
	static const struct { const char *in, *hex; } v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	uint8_t d[SHA256_LEN];
	char hex[65];

	for (size_t i = 0; i < A51_ARRAY_LEN(v); i++) {
		sha256(v[i].in, strlen(v[i].in), d);
		hex_of(d, hex);
		ck_assert_str_eq(hex, v[i].hex);
	}
}
END_TEST

START_TEST(sha256_million_a_in_odd_pieces)
{
	struct sha256 s;
	char chunk[997], hex[65];
	uint8_t d[SHA256_LEN];
	size_t left = 1000000;

	memset(chunk, 'a', sizeof(chunk));
	sha256_init(&s);
	while (left) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
		sha256_update(&s, chunk, n);
		left -= n;
	}
	sha256_final(&s, d);
	hex_of(d, hex);
	ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

START_TEST(hmac_rfc4231)
{
	uint8_t key1[20], key6[131], d[SHA256_LEN];
	char hex[65];
	const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";

	memset(key1, 0x0b, sizeof(key1));
	hmac_sha256(key1, sizeof(key1), "Hi There", 8, d);
	hex_of(d, hex);
	ck_assert_str_eq(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
	hex_of(d, hex);
	ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

	memset(key6, 0xaa, sizeof(key6));
	hmac_sha256(key6, sizeof(key6), m6, strlen(m6), d);
	hex_of(d, hex);
	ck_assert_str_eq(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}
END_TEST

START_TEST(buf_json_escaping)
{
	struct buf b;
	const char in[] = "a\"b\\c\n\x01\xc3\xa9";

	buf_init(&b);
	buf_json_str(&b, in, sizeof(in) - 1);
	ck_assert_str_eq(b.data, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
	buf_printf(&b, "%d-%s", 42, "x");
	ck_assert_uint_eq(b.len, strlen(b.data));
	ck_assert(!b.oom);
	buf_release(&b);
}
END_TEST

START_TEST(arena_alignment_growth_and_failure)
{
	struct arena a;
	void *big;

	arena_init(&a);
	for (int i = 1; i < 2000; i++) {
		char *p = arena_alloc(&a, (size_t)(i % 37) + 1);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % 16, 0);
		memset(p, 'x', (size_t)(i % 37) + 1);
	}
	big = arena_alloc(&a, 3u << 20); /* larger than any chunk: gets its own */
	ck_assert_ptr_nonnull(big);
	ck_assert_str_eq(arena_printf(&a, "%s-%d", "n", 7), "n-7");
	arena_release(&a);

	/* A failed malloc is reported, and the arena stays usable afterwards. */
	arena_fail_after(1);
	ck_assert_ptr_null(arena_alloc(&a, 8));
	ck_assert_ptr_null(a.head);
	ck_assert_str_eq(arena_strdup(&a, "x"), "x");
	arena_fail_after(0);
	arena_release(&a);
}
END_TEST

START_TEST(parse_numbers_and_sizes)
{
	int64_t v;
	uint64_t u;

	ck_assert_int_eq(util_parse_i64("42", 0, 100, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(util_parse_i64("-3", -5, 5, &v), 0);
	ck_assert_int_eq(util_parse_i64("101", 0, 100, &v), -1);
	ck_assert_int_eq(util_parse_i64("4x", 0, 100, &v), -1);
	ck_assert_int_eq(util_parse_i64("", 0, 100, &v), -1);
	ck_assert_int_eq(util_parse_i64(" 4", 0, 100, &v), -1);
	ck_assert_int_eq(util_parse_i64("99999999999999999999", INT64_MIN, INT64_MAX, &v), -1);
	ck_assert_int_eq(util_parse_size("512k", UINT64_MAX, &u), 0);
	ck_assert_uint_eq(u, 512u << 10);
	ck_assert_int_eq(util_parse_size("4M", UINT64_MAX, &u), 0);
	ck_assert_uint_eq(u, 4u << 20);
	ck_assert_int_eq(util_parse_size("1g", UINT64_MAX, &u), 0);
	ck_assert_uint_eq(u, 1u << 30);
	ck_assert_int_eq(util_parse_size("2m", 1u << 20, &u), -1);
	ck_assert_int_eq(util_parse_size("1.5m", UINT64_MAX, &u), -1);
	ck_assert_int_eq(util_parse_size("-1", UINT64_MAX, &u), -1);
	ck_assert_int_eq(util_parse_size("16EB", UINT64_MAX, &u), -1);
	ck_assert_int_eq(util_parse_size("99999999999g", UINT64_MAX, &u), -1);
}
END_TEST

START_TEST(hex_roundtrip)
{
	uint8_t in[4] = { 0x00, 0xab, 0x7f, 0xff }, out[4];
	char hex[9];

	util_hex(in, 4, hex);
	ck_assert_str_eq(hex, "00ab7fff");
	ck_assert_int_eq(util_unhex(hex, 4, out), 0);
	ck_assert_mem_eq(in, out, 4);
	ck_assert_int_eq(util_unhex("00ab7fzz", 4, out), -1);
	ck_assert_int_eq(util_unhex("00ab7fff00", 4, out), -1);
	ck_assert(util_ct_equal(in, out, 4));
	out[3] ^= 1;
	ck_assert(!util_ct_equal(in, out, 4));
}
END_TEST

/* ---- configuration ---- */

static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
	for (const char *const *p = fake_env; p && *p; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

START_TEST(config_env_then_flags)
{
	static const char *const env[] = { "A51_LISTEN", "0.0.0.0:9000", "A51_HTTP_THREADS", "3",
					   "A51_MAX_BODY", "2m", "A51_LOG_LEVEL", "debug", NULL };
	char *argv[] = { "a51d", "--http-threads=5", "--db-pool", "7", "serve", NULL };
	struct a51_config c;
	struct a51_error err = { 0 };
	int idx = 1;

	config_defaults(&c);
	fake_env = env;
	ck_assert_int_eq(config_apply_env(&c, fake_getenv, &err), 0);
	ck_assert_str_eq(c.listen, "0.0.0.0:9000");
	ck_assert_int_eq(c.http_threads, 3);
	ck_assert_uint_eq(c.max_body, 2u << 20);
	ck_assert_int_eq(c.log_level, 0);
	ck_assert_int_eq(config_apply_args(&c, 5, argv, &idx, &err), 0);
	ck_assert_int_eq(idx, 4);
	ck_assert_str_eq(argv[idx], "serve");
	ck_assert_int_eq(c.http_threads, 5);
	ck_assert_int_eq(c.db_pool, 7);
}
END_TEST

START_TEST(config_bad_values_name_the_variable)
{
	static const struct { const char *var, *value, *needle; } bad[] = {
		{ "A51_HTTP_THREADS", "0", "A51_HTTP_THREADS must be an integer between 1 and 256" },
		{ "A51_HTTP_THREADS", "many", "A51_HTTP_THREADS" },
		{ "A51_DB_POOL", "-1", "A51_DB_POOL" },
		{ "A51_MAX_BODY", "lots", "A51_MAX_BODY must be a positive size" },
		{ "A51_MAX_BODY", "0", "A51_MAX_BODY" },
		{ "A51_LOG_LEVEL", "verbose", "A51_LOG_LEVEL must be one of" },
		{ "A51_ACCESS_LOG", "maybe", "A51_ACCESS_LOG must be true or false" },
		{ "A51_MODE", "staging", "A51_MODE must be production, demo or test" },
	};
	for (size_t i = 0; i < A51_ARRAY_LEN(bad); i++) {
		const char *env[] = { bad[i].var, bad[i].value, NULL };
		struct a51_config c, before;
		struct a51_error err = { 0 };

		config_defaults(&c);
		before = c;
		fake_env = env;
		ck_assert_int_eq(config_apply_env(&c, fake_getenv, &err), A51_EINVAL);
		ck_assert_msg(strstr(err.message, bad[i].needle), "message \"%s\" lacks \"%s\"", err.message,
			      bad[i].needle);
		ck_assert_str_eq(err.field, bad[i].var);
		ck_assert_mem_eq(&c, &before, sizeof(c)); /* nothing half-applied */
	}
}
END_TEST

START_TEST(config_bad_flag_and_missing_value)
{
	char *argv1[] = { "a51d", "--db-pool=x", NULL };
	char *argv2[] = { "a51d", "--listen", NULL };
	struct a51_config c;
	struct a51_error err = { 0 };
	int idx = 1;

	config_defaults(&c);
	ck_assert_int_eq(config_apply_args(&c, 2, argv1, &idx, &err), A51_EINVAL);
	ck_assert_str_eq(err.field, "--db-pool");
	idx = 1;
	ck_assert_int_eq(config_apply_args(&c, 2, argv2, &idx, &err), A51_EINVAL);
	ck_assert(strstr(err.message, "needs a value"));
}
END_TEST

START_TEST(config_listen_forms)
{
	char host[64];
	uint16_t port;
	struct a51_error err = { 0 };

	ck_assert_int_eq(config_listen_split("127.0.0.1:8080", host, sizeof(host), &port, &err), 0);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_uint_eq(port, 8080);
	ck_assert_int_eq(config_listen_split("[::1]:0", host, sizeof(host), &port, &err), 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_uint_eq(port, 0);
	ck_assert_int_eq(config_listen_split("localhost", host, sizeof(host), &port, &err), A51_EINVAL);
	ck_assert_int_eq(config_listen_split(":80", host, sizeof(host), &port, &err), A51_EINVAL);
	ck_assert_int_eq(config_listen_split("h:70000", host, sizeof(host), &port, &err), A51_EINVAL);
	ck_assert_int_eq(config_listen_split("[::1]80", host, sizeof(host), &port, &err), A51_EINVAL);
}
END_TEST

START_TEST(config_production_needs_pseudo_key)
{
	struct a51_config c;
	struct a51_error err = { 0 };

	config_defaults(&c);
	ck_assert_int_eq(config_validate(&c, &err), A51_EINVAL);
	ck_assert_str_eq(err.field, "A51_PSEUDO_KEY");
	c.mode = A51_MODE_TEST;
	ck_assert_int_eq(config_validate(&c, &err), 0);
	c.mode = A51_MODE_PRODUCTION;
	memset(c.pseudo_key, 'k', 40);
	ck_assert_int_eq(config_validate(&c, &err), 0);
}
END_TEST

START_TEST(config_tls_files_go_together)
{
	struct a51_config c;
	struct a51_error err = { 0 };

	config_defaults(&c);
	c.mode = A51_MODE_TEST;
	snprintf(c.tls_cert, sizeof(c.tls_cert), "/etc/a51/tls/cert.pem");
	ck_assert_int_eq(config_validate(&c, &err), A51_EINVAL);
	ck_assert_str_eq(err.field, "A51_TLS_KEY");
	snprintf(c.tls_key, sizeof(c.tls_key), "/etc/a51/tls/key.pem");
	ck_assert_int_eq(config_validate(&c, &err), 0);
	c.tls_cert[0] = '\0';
	ck_assert_int_eq(config_validate(&c, &err), A51_EINVAL);
	ck_assert_str_eq(err.field, "A51_TLS_CERT");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("core");
	TCase *t = tcase_create("core");

	tcase_add_test(t, sha256_fips_vectors);
	tcase_add_test(t, sha256_million_a_in_odd_pieces);
	tcase_add_test(t, hmac_rfc4231);
	tcase_add_test(t, buf_json_escaping);
	tcase_add_test(t, arena_alignment_growth_and_failure);
	tcase_add_test(t, parse_numbers_and_sizes);
	tcase_add_test(t, hex_roundtrip);
	tcase_add_test(t, config_env_then_flags);
	tcase_add_test(t, config_bad_values_name_the_variable);
	tcase_add_test(t, config_bad_flag_and_missing_value);
	tcase_add_test(t, config_listen_forms);
	tcase_add_test(t, config_production_needs_pseudo_key);
	tcase_add_test(t, config_tls_files_go_together);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
