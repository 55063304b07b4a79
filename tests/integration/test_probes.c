/* Bad input and attack, from the outside:
 * - SQL-injection and path-traversal strings in every path and query
 *   parameter of every GET route (taken from the OpenAPI contract, which a unit
 *   test keeps equal to the route table): never a 5xx, nothing leaked, and the
 *   database unchanged, a canary table included;
 * - traversal in raw request targets; oversized request lines, headers and
 *   bodies;
 * - slow clients (slowloris: hundreds of connections sending their headers a
 *   byte a second) and malformed chunked bodies, while a normal client is
 *   served: its latency is measured and bounded; with A51_CONN_PER_IP, slow
 *   clients from one address cannot take the connections of others. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/check_main.h"
#include "harness.h"
#include "a51/app.h"
#include "a51/router.h"

static struct h_db db;
static struct h_srv srv;
static char nat[64], stok[64], rpps[12];
static long sid;

#define SQLL(...) strtol(h_sqlf(&db, __VA_ARGS__), NULL, 10)

/* Every table's row count, as one string: what probes must leave unchanged. */
static char *fingerprint(void)
{
	return strdup(h_sqlf(&db, "SELECT string_agg(t || '=' || n, ',' ORDER BY t) FROM ("
				  " SELECT c.relname AS t, (xpath('/row/n/text()', query_to_xml("
				  "  format('SELECT count(*) AS n FROM %%I.%%I', 'public', c.relname), false, true, '')))[1]::text AS n"
				  " FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace) x"));
}

static void up(void)
{
	char body[512], path[96], scope[48];
	int st;
	json_t *j;

	h_db_create(&db, "probes");
	h_srv_start(&srv, db.url, (const char *const[]){ "A51_WORKERS=0", "A51_MAX_UPLOAD=1m", NULL });
	h_token_cli(db.url, "national", "national", false, nat);
	j = h_api_json(srv.port, "POST", "/v1/structures", nat,
		       "{\"kind\":\"MSP\",\"name\":\"MSP des Sondes\",\"region\":\"84\",\"commune\":\"69123\","
		       "\"legal_form\":\"SISA\"}", &st);
	ck_assert_int_eq(st, 201);
	sid = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	snprintf(scope, sizeof(scope), "structure:%ld", sid);
	h_token_cli(db.url, "s", scope, false, stok);
	h_rpps(40000001, rpps);
	snprintf(path, sizeof(path), "/v1/structures/%ld/members", sid);
	snprintf(body, sizeof(body), "{\"rpps\":\"%s\",\"profession\":\"MG\",\"last_name\":\"M\",\"first_name\":\"C\","
				     "\"start_on\":\"2022-01-01\"}", rpps);
	j = h_api_json(srv.port, "POST", path, nat, body, &st);
	ck_assert_int_eq(st, 201);
	json_decref(j);
	/* the canary: nothing a request sends may reach it */
	h_sqlf(&db, "CREATE TABLE canary (n int); INSERT INTO canary VALUES (1), (2), (3); SELECT 1");
}

static void down(void)
{
	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_db_drop(&db);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Percent-encodes everything but unreserved characters. */
static void encode(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < cap; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			out[o++] = (char)*p;
		else
			o += (size_t)snprintf(out + o, cap - o, "%%%02X", *p);
	}
	out[o] = '\0';
}

/* What an injection or traversal tries; each is sent percent-encoded, so the
 * handler receives exactly these bytes. */
static const char *probes[] = {
	"' OR '1'='1",
	"1 OR 1=1",
	"1; DROP TABLE canary; --",
	"1'; DELETE FROM canary; --",
	"' UNION SELECT pseudonym::text FROM patients --",
	"1) OR pg_sleep(3) IS NULL --",
	"'||(SELECT token_hash FROM tokens LIMIT 1)||'",
	"$1",
	"\\'; SELECT 1; --",
	"84' OR region <> '84",
	"../../../../../../etc/passwd",
	"..%2F..%2F..%2Fetc%2Fpasswd",
	"/etc/passwd",
	"..\\..\\..\\windows\\win.ini",
	"\xC3\x28\xFF",
	"9223372036854775808",
	"-1",
	"1e3",
	"0x10",
	"${jndi:ldap://x}",
	NULL, /* 3 000 bytes, filled in below */
};

START_TEST(injection_and_traversal_in_every_parameter)
{
	struct h_resp r;
	json_t *api, *paths, *ops, *comp;
	const char *tpl;
	char *before, *after, big[3001];
	struct a51_error err = { 0 };
	struct router *table = router_new(api_routes, api_routes_count, &err);
	size_t nget = 0, nreq = 0, by_class[6] = { 0 };
	uint64_t slowest = 0;
	char slowest_what[512] = "";

	memset(big, 'A', 3000);
	big[3000] = '\0';
	probes[sizeof(probes) / sizeof(probes[0]) - 1] = big;
	ck_assert_ptr_nonnull(table);
	ck_assert_int_eq(h_get(srv.port, "/openapi.json", NULL, &r), 0);
	api = h_json(&r);
	h_resp_free(&r);
	ck_assert_ptr_nonnull(api);
	paths = json_object_get(api, "paths");
	comp = json_object_get(json_object_get(api, "components"), "parameters");
	before = fingerprint();

	json_object_foreach(paths, tpl, ops) {
		json_t *get = json_object_get(ops, "get"), *params, *p;
		size_t i;

		if (!get)
			continue;
		params = json_array();
		nget++;
		{
			struct route_match m;
			char concrete[256];
			size_t o = 0;
			for (const char *t = tpl; *t && o < sizeof(concrete) - 2;) {
				if (*t == '{') {
					concrete[o++] = '1';
					t = strchr(t, '}') + 1;
				} else {
					concrete[o++] = *t++;
				}
			}
			concrete[o] = '\0';
			ck_assert_msg(router_match(table, HTTP_GET, concrete, &m) == ROUTE_FOUND &&
					      strcmp(m.route->def->path, tpl) == 0,
				      "GET %s of the contract is not a route", tpl);
		}
		if (json_object_get(ops, "parameters"))
			json_array_extend(params, json_object_get(ops, "parameters"));
		if (json_object_get(get, "parameters"))
			json_array_extend(params, json_object_get(get, "parameters"));
		json_array_foreach(params, i, p) {
			const char *ref = json_string_value(json_object_get(p, "$ref"));
			const char *name, *in;
			if (ref)
				p = json_object_get(comp, strrchr(ref, '/') + 1);
			name = json_string_value(json_object_get(p, "name"));
			in = json_string_value(json_object_get(p, "in"));
			ck_assert_msg(name && in, "%s: a parameter without name or in", tpl);
			for (size_t k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
				for (int who = 0; who < 2; who++) {
					char url[16384], enc[12000];
					size_t o = 0;
					uint64_t t0;
					const char *t;

					encode(probes[k], enc, sizeof(enc));
					/* the path: the probe in this parameter, plausible values elsewhere */
					for (t = tpl; *t && o < sizeof(url) - 1;) {
						if (*t == '{') {
							const char *e = strchr(t, '}');
							char pname[64];
							snprintf(pname, sizeof(pname), "%.*s", (int)(e - t - 1), t + 1);
							if (strcmp(in, "path") == 0 && strcmp(pname, name) == 0)
								o += (size_t)snprintf(url + o, sizeof(url) - o, "%s", enc);
							else if (strcmp(pname, "id") == 0)
								o += (size_t)snprintf(url + o, sizeof(url) - o, "%ld", sid);
							else if (strcmp(pname, "code") == 0)
								o += (size_t)snprintf(url + o, sizeof(url) - o, "84");
							else if (strcmp(pname, "year") == 0)
								o += (size_t)snprintf(url + o, sizeof(url) - o, "2024");
							else if (strcmp(pname, "rpps") == 0)
								o += (size_t)snprintf(url + o, sizeof(url) - o, "%s", rpps);
							else if (strcmp(pname, "slug") == 0)
								o += (size_t)snprintf(url + o, sizeof(url) - o, "not-found");
							else
								o += (size_t)snprintf(url + o, sizeof(url) - o, "1");
							t = e + 1;
						} else {
							url[o++] = *t++;
						}
					}
					url[o] = '\0';
					if (strcmp(in, "query") == 0)
						snprintf(url + o, sizeof(url) - o, "?%s=%s", name, enc);
					t0 = now_us();
					ck_assert_msg(h_api(srv.port, "GET", url, who ? stok : nat, NULL, NULL, &r) == 0,
						      "GET %s: no answer (a51d down?)", url);
					t0 = now_us() - t0;
					nreq++;
					if (t0 > slowest) {
						slowest = t0;
						snprintf(slowest_what, sizeof(slowest_what), "%.400s", url);
					}
					ck_assert_msg(r.status >= 200 && r.status < 500, "GET %.300s: %d %.200s", url, r.status,
						      r.body);
					by_class[r.status / 100]++;
					ck_assert_msg(!strstr(r.body, "root:x:0:0") && !strstr(r.body, "syntax error") &&
							      !strstr(r.body, "[extensions]") && !strstr(r.body, "SQLSTATE"),
						      "GET %.300s leaks: %.300s", url, r.body);
					/* a probe never makes a statement slow (pg_sleep ran nowhere) */
					ck_assert_msg(t0 < 2500000, "GET %.300s took %llu ms", url, (unsigned long long)t0 / 1000);
					h_resp_free(&r);
				}
			}
		}
		json_decref(params);
	}
	after = fingerprint();
	ck_assert_str_eq(before, after);
	ck_assert_int_eq(SQLL("SELECT count(*) FROM canary"), 3);
	ck_assert_msg(!h_log_contains(&srv, "\"status\":500"), "a probe made a 500: %s", srv.log);
	fprintf(stderr,
		"probes: %zu GET routes, %zu requests (national and structure tokens): %zu 2xx, %zu 4xx, no 5xx;"
		" slowest %llu ms (%.120s); every table's row count unchanged, canary intact\n",
		nget, nreq, by_class[2], by_class[4], (unsigned long long)slowest / 1000, slowest_what);
	free(before);
	free(after);
	json_decref(api);
	router_free(table);
}
END_TEST

/* A raw request on its own connection: the status, 0 when the server only
 * closed. The body must not hold the password file. */
static int raw(const char *req, size_t len, char *body, size_t cap)
{
	struct h_conn c;
	struct h_resp r;
	int st = 0;

	ck_assert_int_eq(h_conn_open(&c, srv.port), 0);
	h_conn_send(&c, req, len);
	if (h_conn_read(&c, &r, false, 10000) == 0) {
		st = r.status;
		if (body)
			snprintf(body, cap, "%s", r.body ? r.body : "");
		h_resp_free(&r);
	}
	h_conn_close(&c);
	return st;
}

START_TEST(traversal_in_request_targets)
{
	static const char *const targets[] = {
		"/../../../../etc/passwd", "/v1/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
		"/v1/structures/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "//etc//passwd", "/openapi.json/../../etc/passwd",
		"/problems/..%2f..%2f..%2fetc%2fpasswd", "/problems/../../../etc/passwd", "/./healthz/..",
		"/v1/structures/1/..;/..;/etc/passwd", "/problems/%00", "/\\..\\..\\etc\\passwd", "http://evil/healthz",
		"*",
	};
	char req[1024], body[65536];

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
				 targets[i], nat);
		int st = raw(req, (size_t)n, body, sizeof(body));
		ck_assert_msg(st == 0 || (st >= 400 && st < 500) || (st == 200 && strstr(targets[i], "healthz")),
			      "GET %s: %d", targets[i], st);
		ck_assert_msg(!strstr(body, "root:") && !strstr(body, "[extensions]"), "GET %s: %s", targets[i], body);
	}
}
END_TEST

START_TEST(oversized_requests)
{
	size_t cap = 300000;
	char *req = malloc(cap);
	int n, st;
	struct h_resp r;

	ck_assert_ptr_nonnull(req);
	/* a 100 KB header (the per-connection memory is 64 KB) */
	n = snprintf(req, cap, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + n, 'a', 100000);
	n += 100000;
	n += snprintf(req + n, cap - (size_t)n, "\r\n\r\n");
	st = raw(req, (size_t)n, NULL, 0);
	ck_assert_msg(st == 0 || st == 413 || st == 431 || st == 400, "100 KB header: %d", st);
	/* 3 000 headers */
	n = snprintf(req, cap, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < 3000; i++)
		n += snprintf(req + n, cap - (size_t)n, "X-H%d: v\r\n", i);
	n += snprintf(req + n, cap - (size_t)n, "\r\n");
	st = raw(req, (size_t)n, NULL, 0);
	ck_assert_msg(st == 0 || st == 413 || st == 431 || st == 400, "3 000 headers: %d", st);
	/* a 100 KB request target */
	n = snprintf(req, cap, "GET /v1/structures?name=");
	memset(req + n, 'b', 100000);
	n += 100000;
	n += snprintf(req + n, cap - (size_t)n, " HTTP/1.1\r\nHost: x\r\n\r\n");
	st = raw(req, (size_t)n, NULL, 0);
	ck_assert_msg(st == 0 || st == 414 || st == 413 || st == 431 || st == 400, "100 KB target: %d", st);
	/* bodies announced larger than allowed: refused before they are read */
	n = snprintf(req, cap, "POST /v1/structures HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			       "Content-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n{", nat);
	ck_assert_int_eq(raw(req, (size_t)n, NULL, 0), 413);
	n = snprintf(req, cap, "POST /v1/structures/%ld/uploads?kind=patients HTTP/1.1\r\nHost: x\r\n"
			       "Authorization: Bearer %s\r\nContent-Type: text/csv\r\nContent-Length: 2097152\r\n\r\nnir",
		     sid, nat);
	ck_assert_int_eq(raw(req, (size_t)n, NULL, 0), 413);
	n = snprintf(req, cap, "POST /v1/structures HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			       "Content-Type: application/json\r\nContent-Length: 99999999999999999999999\r\n\r\n{", nat);
	st = raw(req, (size_t)n, NULL, 0);
	ck_assert_msg(st == 0 || st == 400 || st == 413, "an overflowing Content-Length: %d", st);
	free(req);
	/* and the server is fine */
	ck_assert_int_eq(h_get(srv.port, "/healthz", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	h_resp_free(&r);
}
END_TEST

/* ---- attacks running in a child while the parent is a normal client ---- */

/* A socket to port, from source address src (127.0.0.x), non-blocking after connect. */
static int dial(uint16_t port, const char *src)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) }, s = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	inet_pton(AF_INET, src, &s.sin_addr);
	if (bind(fd, (struct sockaddr *)&s, sizeof(s)) < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Slowloris: n connections from src, each sending a request line, then one
 * header byte a second, never ending its headers, for seconds. Writes to
 * report how many connected and how many the server still held at the end. */
static void slowloris(uint16_t port, const char *src, int n, int seconds, int report)
{
	int *fds = calloc((size_t)n, sizeof(int)), open_ = 0, held = 0;

	for (int i = 0; i < n; i++) {
		fds[i] = dial(port, src);
		if (fds[i] >= 0 && send(fds[i], "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", 41, MSG_NOSIGNAL) == 41)
			open_++;
	}
	for (int s = 0; s < seconds; s++) {
		sleep(1);
		for (int i = 0; i < n; i++)
			if (fds[i] >= 0 && send(fds[i], "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
				close(fds[i]);
				fds[i] = -1;
			}
	}
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0) {
			char c;
			/* still held: nothing to read, no end of file */
			if (recv(fds[i], &c, 1, MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				held++;
			close(fds[i]);
		}
	free(fds);
	{
		int counts[2] = { open_, held };
		if (write(report, counts, sizeof(counts)) != (ssize_t)sizeof(counts))
			_exit(2);
	}
	_exit(open_ > 0 ? 0 : 1);
}

/* Starts slowloris in a child; *pipe_rd gets its report. */
static pid_t start_slowloris(uint16_t port, int n, int seconds, int *pipe_rd)
{
	int fds[2];
	pid_t kid;

	ck_assert_int_eq(pipe(fds), 0);
	kid = fork();
	ck_assert_int_ge(kid, 0);
	if (kid == 0) {
		close(fds[0]);
		slowloris(port, "127.0.0.2", n, seconds, fds[1]);
	}
	close(fds[1]);
	*pipe_rd = fds[0];
	return kid;
}

static void end_slowloris(pid_t kid, int rd, int *opened, int *held)
{
	int counts[2] = { 0, 0 }, st;

	ck_assert_int_eq(read(rd, counts, sizeof(counts)), (ssize_t)sizeof(counts));
	close(rd);
	waitpid(kid, &st, 0);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the slow clients could not connect");
	*opened = counts[0];
	*held = counts[1];
}

static const char *const chunk_bodies[] = {
	"zz\r\nhello\r\n0\r\n\r\n",                      /* not hex */
	"fffffffffffffffff\r\nx\r\n",                    /* overflows 64 bits */
	"-1\r\nx\r\n",                                   /* negative */
	"5\r\nhelloXX0\r\n\r\n",                         /* no CRLF after the data */
	"5;;;;=\"\r\nhello\r\n0\r\n\r\n",                /* broken extension */
	"10\r\nshort\r\n",                               /* shorter than announced, then silence */
	"3\r\n{}}\r\n0\r\nX-Trailer: \xff\r\n\r\n",      /* odd trailer */
	"1\r\n",                                         /* and nothing more */
	"0\r\n\r\nGET /v1/regions HTTP/1.1\r\nHost: x\r\n\r\n", /* a request tucked after the last chunk */
};
static const char *const chunk_heads[] = {
	"Transfer-Encoding: chunked\r\n",
	"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
	"Transfer-Encoding: chunked, identity\r\n",
	"Transfer-Encoding: gzip\r\n",
};
#define NBODIES (sizeof(chunk_bodies) / sizeof(chunk_bodies[0]))
#define NHEADS (sizeof(chunk_heads) / sizeof(chunk_heads[0]))

/* Malformed chunked bodies, one after the other on new connections, each
 * left hanging or closed, for seconds. */
static void bad_chunks(uint16_t port, const char *token, int seconds)
{
	uint64_t until = h_now_ms() + (uint64_t)seconds * 1000;
	int hanging[64], nh = 0;
	unsigned i = 0;

	while (h_now_ms() < until) {
		char req[1024];
		int fd = dial(port, "127.0.0.3"), n;

		if (fd < 0) {
			usleep(10000);
			continue;
		}
		n = snprintf(req, sizeof(req),
			     "POST /v1/structures HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			     "Content-Type: application/json\r\n%s\r\n%s",
			     token, chunk_heads[i % NHEADS], chunk_bodies[(i / NHEADS) % NBODIES]);
		send(fd, req, (size_t)n, MSG_NOSIGNAL);
		if (i % 3 == 0 && nh < 64) {
			hanging[nh++] = fd; /* keep some open, silent */
		} else {
			char buf[4096];
			struct timeval tv = { 0, 200000 };
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			while (recv(fd, buf, sizeof(buf), 0) > 0)
				;
			close(fd);
		}
		i++;
	}
	for (int k = 0; k < nh; k++)
		close(hanging[k]);
	_exit(i > 0 ? 0 : 1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The normal client during an attack: n requests (a fresh connection for
 * /healthz, then an authenticated read of the database), every one answered
 * 200; latencies in ms into *p50, *p95, *max. */
static void normal_client(uint16_t port, int n, double *p50, double *p95, double *max)
{
	uint64_t *lat = calloc((size_t)n, sizeof(uint64_t));

	for (int i = 0; i < n; i++) {
		struct h_resp r;
		uint64_t t0 = now_us();
		int rc = i % 2 ? h_api(port, "GET", "/v1/regions/84", nat, NULL, NULL, &r) : h_get(port, "/healthz", NULL, &r);

		lat[i] = now_us() - t0;
		ck_assert_msg(rc == 0, "request %d of the normal client got no answer", i);
		ck_assert_msg(r.status == 200, "request %d of the normal client: %d", i, r.status);
		h_resp_free(&r);
		usleep(50000);
	}
	qsort(lat, (size_t)n, sizeof(uint64_t), cmp_u64);
	*p50 = (double)lat[n / 2] / 1000;
	*p95 = (double)lat[(n * 95) / 100] / 1000;
	*max = (double)lat[n - 1] / 1000;
	free(lat);
}

static void baseline(uint16_t port, const char *what)
{
	double p50, p95, max;

	normal_client(port, 40, &p50, &p95, &max);
	fprintf(stderr, "%s: normal client without attack: p50 %.1f ms, p95 %.1f ms, max %.1f ms\n", what, p50, p95, max);
}

START_TEST(slow_clients_do_not_starve_others)
{
	double p50, p95, max;
	pid_t kid;
	int rd, opened, held;

	baseline(srv.port, "slowloris");
	kid = start_slowloris(srv.port, 400, 8, &rd);
	sleep(2); /* every slow connection open and dripping */
	normal_client(srv.port, 80, &p50, &p95, &max);
	end_slowloris(kid, rd, &opened, &held);
	fprintf(stderr, "slowloris: %d connections dripping a header byte a second (%d still held by a51d after 8 s);"
			" normal client (80 requests): p50 %.1f ms, p95 %.1f ms, max %.1f ms\n", opened, held, p50, p95, max);
	/* the attack was real: the server kept them all open, waiting for their headers */
	ck_assert_int_eq(opened, 400);
	ck_assert_int_ge(held, 390);
	ck_assert_msg(p95 < 250 && max < 1000, "the normal client was slowed down: p95 %.1f ms, max %.1f ms", p95, max);
}
END_TEST

/* With a connection limit that slow clients could fill, A51_CONN_PER_IP
 * keeps connections for the other addresses. */
START_TEST(per_ip_limit_keeps_room_for_others)
{
	struct h_srv small;
	double p50, p95, max;
	pid_t kid;
	int rd, opened, held;

	h_srv_start(&small, db.url,
		    (const char *const[]){ "A51_WORKERS=0", "A51_CONN_LIMIT=200", "A51_CONN_PER_IP=50", NULL });
	kid = start_slowloris(small.port, 400, 8, &rd);
	sleep(2);
	normal_client(small.port, 60, &p50, &p95, &max);
	end_slowloris(kid, rd, &opened, &held);
	fprintf(stderr, "slowloris past the limits: %d slow connections from one address against A51_CONN_LIMIT=200,"
			" A51_CONN_PER_IP=50 (a51d held %d of them); normal client (60 requests): p50 %.1f ms,"
			" p95 %.1f ms, max %.1f ms\n", opened, held, p50, p95, max);
	ck_assert_int_le(held, 50);
	ck_assert_msg(p95 < 250 && max < 1000, "p95 %.1f ms, max %.1f ms", p95, max);
	ck_assert_int_eq(h_srv_stop(&small), 0);
}
END_TEST

START_TEST(malformed_chunked_bodies_do_not_hurt_others)
{
	double p50, p95, max;
	pid_t kid;
	int st;
	char body[4096];

	/* each kind once, on its own: refused or hung up on (or left waiting for
	 * the rest), never a 2xx or a 5xx */
	for (size_t h = 0; h < NHEADS; h++) {
		for (size_t b = 0; b < NBODIES; b++) {
			struct h_conn c;
			struct h_resp r;
			int n = snprintf(body, sizeof(body),
					 "POST /v1/structures HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
					 "Content-Type: application/json\r\n%s\r\n%s", nat, chunk_heads[h], chunk_bodies[b]);
			ck_assert_int_eq(h_conn_open(&c, srv.port), 0);
			h_conn_send(&c, body, (size_t)n);
			st = h_conn_read(&c, &r, false, 500) == 0 ? r.status : 0;
			if (st)
				h_resp_free(&r);
			h_conn_close(&c);
			ck_assert_msg(st == 0 || (st >= 400 && st < 500), "%s + %s: %d", chunk_heads[h], chunk_bodies[b], st);
		}
	}
	baseline(srv.port, "bad chunks");
	kid = fork();
	ck_assert_int_ge(kid, 0);
	if (kid == 0)
		bad_chunks(srv.port, nat, 8);
	sleep(1);
	normal_client(srv.port, 80, &p50, &p95, &max);
	fprintf(stderr, "malformed chunked bodies sent without pause (some left hanging); normal client (80 requests):"
			" p50 %.1f ms, p95 %.1f ms, max %.1f ms\n", p50, p95, max);
	ck_assert_msg(p95 < 250 && max < 1000, "p95 %.1f ms, max %.1f ms", p95, max);
	waitpid(kid, &st, 0);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the flood did not run");
	ck_assert_msg(!h_log_contains(&srv, "\"status\":500"), "a malformed body made a 500: %s", srv.log);
	ck_assert_int_eq(SQLL("SELECT count(*) FROM structures"), 1); /* no half-read body created anything */
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("probes");
	TCase *t = tcase_create("probes");

	tcase_add_unchecked_fixture(t, up, down);
	tcase_set_timeout(t, 240);
	tcase_add_test(t, injection_and_traversal_in_every_parameter);
	tcase_add_test(t, traversal_in_request_targets);
	tcase_add_test(t, oversized_requests);
	tcase_add_test(t, slow_clients_do_not_starve_others);
	tcase_add_test(t, per_ip_limit_keeps_room_for_others);
	tcase_add_test(t, malformed_chunked_bodies_do_not_hurt_others);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
