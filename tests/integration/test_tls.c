/* HTTPS: a51d given a certificate and key (A51_TLS_CERT, A51_TLS_KEY) serves
 * TLS 1.2/1.3 only, and nothing in plain HTTP; a missing file, a file of the
 * wrong kind or a key of another certificate stops start-up with a message
 * naming the variable. Certificates are made at test time with the openssl
 * command; requests go through the curl command, which verifies the server
 * against the test's own certificate. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/check_main.h"
#include "harness.h"

static struct h_db db;
static char dir[512], cert[600], key[600], other_key[600], other_cert[600];

static void sh(const char *cmd)
{
	ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

static void up(void)
{
	char cmd[4096];
	const char *var = getenv("A51_TEST_VARDIR");

	snprintf(dir, sizeof(dir), "%s/tls-%d", var ? var : "/tmp", (int)getpid());
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(other_cert, sizeof(other_cert), "%s/other-cert.pem", dir);
	snprintf(other_key, sizeof(other_key), "%s/other-key.pem", dir);
	/* a self-signed certificate for localhost and 127.0.0.1, and another pair */
	snprintf(cmd, sizeof(cmd),
		 "rm -rf '%s' && mkdir -p '%s' && cd '%s' &&"
		 " openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
		 " -keyout key.pem -out cert.pem -subj /CN=localhost"
		 " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1 &&"
		 " openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
		 " -keyout other-key.pem -out other-cert.pem -subj /CN=other >/dev/null 2>&1",
		 dir, dir, dir);
	sh(cmd);
	h_db_create(&db, "tls");
}

static void down(void)
{
	char cmd[600];

	h_db_drop(&db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	sh(cmd);
}

/* curl over HTTPS, verifying against the test's certificate: the HTTP status
 * (0 when no answer), the body into out. extra: more curl arguments. */
static int https(uint16_t port, const char *path, const char *token, const char *extra, char *out, size_t cap)
{
	char cmd[2048], line[256];
	FILE *p;
	size_t len = 0;
	int status = 0;

	snprintf(cmd, sizeof(cmd),
		 "curl -sS --max-time 5 --cacert '%s' %s%s%s %s -w '\\n%%{http_code}' 'https://localhost:%u%s' 2>&1", cert,
		 token ? "-H 'Authorization: Bearer " : "", token ? token : "", token ? "'" : "", extra ? extra : "",
		 (unsigned)port, path);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	out[0] = '\0';
	while (fgets(line, sizeof(line), p)) {
		size_t n = strlen(line);
		if (len + n < cap) {
			memcpy(out + len, line, n + 1);
			len += n;
		}
	}
	pclose(p);
	/* the status is the last line */
	{
		char *nl = strrchr(out, '\n');
		status = atoi(nl ? nl + 1 : out);
		if (nl)
			*nl = '\0';
	}
	return status;
}

START_TEST(serves_https_and_refuses_plain_http)
{
	char env_cert[700], env_key[700], body[4096], token[64];
	const char *env[] = { env_cert, env_key, "A51_WORKERS=0", NULL };
	struct h_srv srv;
	struct h_resp r;
	uint64_t until;
	int st = 0;

	snprintf(env_cert, sizeof(env_cert), "A51_TLS_CERT=%s", cert);
	snprintf(env_key, sizeof(env_key), "A51_TLS_KEY=%s", key);
	h_srv_spawn(&srv, db.url, env);
	until = h_now_ms() + 20000;
	while (h_now_ms() < until && (st = https(srv.port, "/healthz", NULL, NULL, body, sizeof(body))) != 200)
		usleep(50000);
	ck_assert_msg(st == 200, "no HTTPS answer within 20 s (%s); log: %s", body, srv.log);
	ck_assert(h_log_contains(&srv, "serving on https://"));

	/* an authenticated request, over a verified connection */
	h_token_cli(db.url, "national", "national", true, token);
	ck_assert_int_eq(https(srv.port, "/v1/regions", token, NULL, body, sizeof(body)), 200);
	ck_assert_ptr_nonnull(strstr(body, "\"code\":\"84\""));
	ck_assert_int_eq(https(srv.port, "/v1/regions", NULL, NULL, body, sizeof(body)), 401);
	/* keep-alive works through TLS too: two requests, one connection */
	{
		char cmd[1024];
		snprintf(cmd, sizeof(cmd),
			 "curl -sv --max-time 5 --cacert '%s' https://localhost:%u/healthz https://localhost:%u/healthz 2>&1"
			 " | grep -q 'Re-using existing connection'", cert, (unsigned)srv.port, (unsigned)srv.port);
		sh(cmd);
	}
	/* a client that does not trust the certificate refuses it (it is not a public one) */
	{
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "curl -s --max-time 5 -o /dev/null https://localhost:%u/healthz", (unsigned)srv.port);
		ck_assert_int_ne(system(cmd), 0);
	}
	/* TLS 1.1 and below are refused */
	ck_assert_int_eq(https(srv.port, "/healthz", NULL, "--tlsv1.0 --tls-max 1.1", body, sizeof(body)), 0);

	/* plain HTTP on the same port: no HTTP answer at all */
	ck_assert_msg(h_get(srv.port, "/healthz", NULL, &r) != 0 || r.status == 0, "plain HTTP answered %d", r.status);
	/* and the server is still fine afterwards */
	ck_assert_int_eq(https(srv.port, "/healthz", NULL, NULL, body, sizeof(body)), 200);
	ck_assert_int_eq(h_srv_stop(&srv), 0);
}
END_TEST

/* serve with these TLS variables: its exit status, and its message in out */
static int serve_with(const char *cert_path, const char *key_path, char *out, size_t cap)
{
	char url[600], c[700], k[700];
	const char *argv[] = { "serve", NULL };
	const char *env[4] = { url, NULL, NULL, NULL };
	int n = 1;

	snprintf(url, sizeof(url), "A51_DATABASE_URL=%s", db.url);
	if (cert_path) {
		snprintf(c, sizeof(c), "A51_TLS_CERT=%s", cert_path);
		env[n++] = c;
	}
	if (key_path) {
		snprintf(k, sizeof(k), "A51_TLS_KEY=%s", key_path);
		env[n++] = k;
	}
	return h_run_a51d(argv, env, out, cap);
}

START_TEST(bad_files_stop_startup_by_name)
{
	static const struct { int cert, key; const char *want; } cases[] = {
		/* 0 the good one, 1 another's, 2 missing, 3 one without the other */
		{ 2, 0, "A51_TLS_CERT: cannot read" },
		{ 0, 2, "A51_TLS_KEY: cannot read" },
		{ 0, 1, "A51_TLS_KEY: the key in" },
		{ 1, 0, "is not the key of the certificate in A51_TLS_CERT" },
		{ 0, 3, "A51_TLS_CERT and A51_TLS_KEY go together" },
		{ 3, 0, "A51_TLS_CERT and A51_TLS_KEY go together" },
		{ 4, 0, "A51_TLS_CERT: " }, /* a key given as the certificate */
		{ 0, 4, "A51_TLS_KEY: " },  /* a certificate given as the key */
	};
	char missing[600], out[4096];

	snprintf(missing, sizeof(missing), "%s/no-such-file.pem", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *certs[] = { cert, other_cert, missing, NULL, key };
		const char *keys[] = { key, other_key, missing, NULL, cert };
		int rc = serve_with(certs[cases[i].cert], keys[cases[i].key], out, sizeof(out));
		ck_assert_msg(rc == 2, "case %zu: exit %d: %s", i, rc, out);
		ck_assert_msg(strstr(out, cases[i].want), "case %zu: %s", i, out);
		ck_assert_msg(!strstr(out, "BEGIN"), "case %zu: PEM in the message: %s", i, out);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tls");
	TCase *t = tcase_create("tls");

	tcase_add_unchecked_fixture(t, up, down);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, serves_https_and_refuses_plain_http);
	tcase_add_test(t, bad_files_stop_startup_by_name);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
