#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

uint64_t h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint16_t h_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* ---- databases ---- */

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static PGconn *admin_connect(void)
{
	char conninfo[600];
	PGconn *pg;

	snprintf(conninfo, sizeof(conninfo), "host=%s port=%s user=%s dbname=postgres",
		 env_or("A51_TEST_PGHOST", "/tmp"), env_or("A51_TEST_PGPORT", "5432"), env_or("A51_TEST_PGUSER", "a51"));
	pg = PQconnectdb(conninfo);
	ck_assert_msg(PQstatus(pg) == CONNECTION_OK,
		      "cannot reach the test cluster (%s): %s — run the tests with `make test`", conninfo,
		      PQerrorMessage(pg));
	PQsetNoticeProcessor(pg, quiet, NULL);
	return pg;
}

static void admin_exec(const char *sql)
{
	PGconn *pg = admin_connect();
	PGresult *res = PQexec(pg, sql);

	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(pg);
}

void h_db_create(struct h_db *db, const char *tag)
{
	static int seq;
	char sql[128];

	snprintf(db->name, sizeof(db->name), "a51_it_%s_%d_%d", tag, (int)getpid(), seq++);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\"", db->name);
	admin_exec(sql);
	snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", db->name);
	admin_exec(sql);
	snprintf(db->url, sizeof(db->url), "postgresql:///%s?host=%s&port=%s&user=%s", db->name,
		 env_or("A51_TEST_PGHOST", "/tmp"), env_or("A51_TEST_PGPORT", "5432"), env_or("A51_TEST_PGUSER", "a51"));
}

void h_db_drop(struct h_db *db)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", db->name);
	admin_exec(sql);
}

PGconn *h_db_connect(const struct h_db *db)
{
	PGconn *pg = PQconnectdb(db->url);

	ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
	return pg;
}

const char *h_sql1(PGconn *pg, const char *sql)
{
	static char out[1 << 20]; /* long aggregates are compared whole */
	PGresult *res = PQexec(pg, sql);

	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s",
		      sql, PQresultErrorMessage(res));
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return NULL;
	}
	snprintf(out, sizeof(out), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return out;
}

const char *h_sqlf(struct h_db *db, const char *fmt, ...)
{
	static char out[1 << 20];
	char q[16384];
	PGconn *pg = h_db_connect(db);
	const char *v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	v = h_sql1(pg, q);
	snprintf(out, sizeof(out), "%s", v ? v : "(null)");
	PQfinish(pg);
	return out;
}

int h_run_nofork(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---- a51d processes ---- */

static const char *a51d_bin(void)
{
	const char *bin = getenv("A51D_BIN");

	ck_assert_msg(bin && access(bin, X_OK) == 0, "A51D_BIN must name the a51d binary");
	return bin;
}

static void log_path(char *out, size_t cap, const char *what)
{
	static int seq;
	const char *dir = env_or("A51_TEST_LOGDIR", "/tmp");

	mkdir(dir, 0755);
	snprintf(out, cap, "%s/%s-%d-%d.log", dir, what, (int)getpid(), seq++);
}

static void child_env(const char *const *env)
{
	for (; env && *env; env++) {
		char name[128];
		const char *eq = strchr(*env, '=');
		size_t n = eq ? (size_t)(eq - *env) : 0;
		if (!eq || n >= sizeof(name))
			continue;
		memcpy(name, *env, n);
		name[n] = '\0';
		setenv(name, eq + 1, 1);
	}
}

void h_srv_spawn(struct h_srv *s, const char *url, const char *const *env)
{
	const char *bin = a51d_bin();
	char listen[64];

	s->port = h_free_port();
	log_path(s->log, sizeof(s->log), "a51d");
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", s->port);
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		setenv("A51_DATABASE_URL", url, 1);
		setenv("A51_LISTEN", listen, 1);
		setenv("A51_MODE", "test", 1);
		setenv("A51_SHUTDOWN_GRACE", "5", 1);
		child_env(env);
		execl(bin, bin, "serve", (char *)NULL);
		_exit(127);
	}
}

void h_srv_start(struct h_srv *s, const char *url, const char *const *env)
{
	uint64_t until;

	h_srv_spawn(s, url, env);
	until = h_now_ms() + 20000;
	while (h_now_ms() < until) {
		struct h_resp r;
		int status;

		if (waitpid(s->pid, &status, WNOHANG) == s->pid)
			ck_abort_msg("a51d exited during start-up (status %d); log: %s", status, s->log);
		if (h_get(s->port, "/healthz", NULL, &r) == 0) {
			int st = r.status;
			h_resp_free(&r);
			if (st == 200)
				return;
		}
		usleep(20000);
	}
	kill(s->pid, SIGKILL);
	ck_abort_msg("a51d did not answer /healthz within 20 s; log: %s", s->log);
}

int h_srv_stop(struct h_srv *s)
{
	int status;
	uint64_t until = h_now_ms() + 15000;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	while (waitpid(s->pid, &status, WNOHANG) == 0) {
		if (h_now_ms() > until) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
			s->pid = 0;
			return -1;
		}
		usleep(10000);
	}
	s->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int h_run_a51d(const char *const *argv, const char *const *env, char *out, size_t cap)
{
	const char *bin = a51d_bin();
	char *args[32];
	int pipefd[2], status;
	size_t n = 0, len = 0;
	pid_t pid;

	args[n++] = (char *)bin;
	for (; argv && *argv && n < 31; argv++)
		args[n++] = (char *)*argv;
	args[n] = NULL;
	ck_assert_int_eq(pipe(pipefd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		setenv("A51_MODE", "test", 1);
		child_env(env);
		execv(bin, args);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		char tmp[4096];
		ssize_t r = read(pipefd[0], tmp, sizeof(tmp));
		if (r <= 0)
			break;
		if (out && len + 1 < cap) {
			size_t take = (size_t)r < cap - 1 - len ? (size_t)r : cap - 1 - len;
			memcpy(out + len, tmp, take);
			len += take;
		}
	}
	if (out && cap)
		out[len] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool log_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

bool h_log_contains(const struct h_srv *s, const char *needle)
{
	/* a51d batches log lines (flushed at least every 50 ms): give it time */
	uint64_t until = h_now_ms() + 2000;

	while (!log_has(s->log, needle)) {
		if (h_now_ms() > until)
			return false;
		usleep(20000);
	}
	return true;
}

/* ---- HTTP client ---- */

int h_conn_open(struct h_conn *c, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1;

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

int h_conn_send(struct h_conn *c, const void *p, size_t n)
{
	const char *q = p;

	while (n) {
		ssize_t w = send(c->fd, q, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fill(struct h_conn *c, uint64_t deadline)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	ssize_t r;
	int wait;

	if (c->len + 4096 + 1 > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16384;
		char *p = realloc(c->buf, cap);
		if (!p)
			return -1;
		c->buf = p;
		c->cap = cap;
	}
	wait = (int)(deadline > h_now_ms() ? deadline - h_now_ms() : 0);
	if (poll(&pfd, 1, wait) <= 0)
		return -1;
	r = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
	if (r <= 0)
		return r == 0 ? 0 : -1;
	c->len += (size_t)r;
	c->buf[c->len] = '\0';
	return 1;
}

static void consume(struct h_conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
	if (c->buf)
		c->buf[c->len] = '\0';
}

int h_conn_read(struct h_conn *c, struct h_resp *r, bool head_only, int timeout_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;
	char *end, val[64];
	size_t hlen;
	int f;

	memset(r, 0, sizeof(*r));
	while (!c->buf || !(end = strstr(c->buf, "\r\n\r\n"))) {
		if ((f = fill(c, deadline)) <= 0)
			return -1;
	}
	hlen = (size_t)(end - c->buf) + 4;
	r->head = strndup(c->buf, hlen);
	if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
		return -1;
	consume(c, hlen);
	r->closed = h_header(r, "Connection", val, sizeof(val)) && strcasecmp(val, "close") == 0;
	if (head_only || r->status == 204 || r->status == 304 || r->status / 100 == 1) {
		r->body = strdup("");
		return 0;
	}
	if (h_header(r, "Transfer-Encoding", val, sizeof(val)) && strcasecmp(val, "chunked") == 0) {
		size_t blen = 0;
		char *body = malloc(1);
		for (;;) {
			char *eol;
			unsigned long sz;
			while (!(eol = strstr(c->buf ? c->buf : "", "\r\n")))
				if (fill(c, deadline) <= 0)
					goto bad_chunk;
			sz = strtoul(c->buf, NULL, 16);
			consume(c, (size_t)(eol - c->buf) + 2);
			while (c->len < sz + 2)
				if (fill(c, deadline) <= 0)
					goto bad_chunk;
			body = realloc(body, blen + sz + 1);
			memcpy(body + blen, c->buf, sz);
			blen += sz;
			consume(c, sz + 2);
			if (sz == 0)
				break;
		}
		body[blen] = '\0';
		r->body = body;
		r->body_len = blen;
		return 0;
bad_chunk:
		free(body);
		return -1;
	}
	if (h_header(r, "Content-Length", val, sizeof(val))) {
		size_t n = strtoul(val, NULL, 10);
		while (c->len < n)
			if (fill(c, deadline) <= 0)
				return -1;
		r->body = strndup(c->buf, n);
		r->body_len = n;
		consume(c, n);
		return 0;
	}
	/* no length: the body runs to the end of the connection */
	while ((f = fill(c, deadline)) > 0)
		;
	r->body = strndup(c->buf ? c->buf : "", c->len);
	r->body_len = c->len;
	r->closed = true;
	consume(c, c->len);
	return 0;
}

void h_conn_close(struct h_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

int h_call(uint16_t port, const char *method, const char *path, const char *headers, const char *body,
	   size_t body_len, struct h_resp *r)
{
	struct h_conn c;
	char head[4096];
	int n, rc;

	memset(r, 0, sizeof(*r));
	if (h_conn_open(&c, port) < 0)
		return -1;
	if (body)
		n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n%s\r\n",
			     method, path, body_len, headers ? headers : "");
	else
		n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", method, path,
			     headers ? headers : "");
	rc = h_conn_send(&c, head, (size_t)n);
	if (rc == 0 && body)
		rc = h_conn_send(&c, body, body_len);
	if (rc == 0)
		rc = h_conn_read(&c, r, strcmp(method, "HEAD") == 0, 30000);
	h_conn_close(&c);
	return rc;
}

int h_get(uint16_t port, const char *path, const char *headers, struct h_resp *r)
{
	return h_call(port, "GET", path, headers, NULL, 0, r);
}

const char *h_header(const struct h_resp *r, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	const char *p = r->head ? strstr(r->head, "\r\n") : NULL;

	while (p && p[2] != '\r') {
		const char *line = p + 2, *eol = strstr(line, "\r\n");
		if (!eol)
			break;
		if ((size_t)(eol - line) > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			size_t len;
			while (*v == ' ')
				v++;
			len = (size_t)(eol - v);
			if (len >= cap)
				len = cap - 1;
			memcpy(out, v, len);
			out[len] = '\0';
			return out;
		}
		p = eol;
	}
	return NULL;
}

json_t *h_json(const struct h_resp *r)
{
	json_error_t e;

	return r->body ? json_loadb(r->body, r->body_len, 0, &e) : NULL;
}

void h_resp_free(struct h_resp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* ---- private clusters ---- */

static int run_pg_script(struct h_cluster *cl, const char *verb)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "mkdir -p \"$(dirname '%s')\" && A51_PG_DIR='%s' A51_PG_PORT=%u '%s/scripts/pg.sh' %s >>'%s.log' 2>&1",
		 cl->dir, cl->dir, cl->port, env_or("A51_SOURCE_ROOT", "."), verb, cl->dir);
	return system(cmd);
}

void h_cluster_start(struct h_cluster *cl, const char *tag)
{
	if (!cl->dir[0]) {
		snprintf(cl->dir, sizeof(cl->dir), "%s/pg-%s-%d", env_or("A51_TEST_VARDIR", "/tmp"), tag, (int)getpid());
		cl->port = h_free_port();
		snprintf(cl->url, sizeof(cl->url), "postgresql:///a51?host=%s/run&port=%u&user=a51", cl->dir, cl->port);
	}
	ck_assert_msg(run_pg_script(cl, "start") == 0, "cannot start a test cluster in %s (see %s.log)", cl->dir,
		      cl->dir);
}

void h_cluster_stop(struct h_cluster *cl)
{
	ck_assert_int_eq(run_pg_script(cl, "stop"), 0);
}

void h_cluster_destroy(struct h_cluster *cl)
{
	char cmd[2048];

	run_pg_script(cl, "stop");
	/* pg.sh may have put the data elsewhere and linked it: remove both. */
	snprintf(cmd, sizeof(cmd), "rm -rf \"$(readlink -f '%s')\" '%s' '%s.log'", cl->dir, cl->dir, cl->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", cl->dir);
}

/* ---- a51 specifics ---- */

void h_token_cli(const char *db_url, const char *name, const char *scope, bool read_only, char out[64])
{
	char env_url[600], buf[4096];
	const char *env[] = { env_url, NULL };
	const char *argv[] = { "token", "create", "--name", name, "--scope", scope, read_only ? "--read-only" : NULL,
			       NULL };
	char *tok;

	snprintf(env_url, sizeof(env_url), "A51_DATABASE_URL=%s", db_url);
	ck_assert_msg(h_run_a51d(argv, env, buf, sizeof(buf)) == 0, "token create failed: %s", buf);
	tok = strstr(buf, "a51_");
	ck_assert_msg(tok != NULL, "no token in: %s", buf);
	snprintf(out, 64, "%.47s", tok);
}

int h_api(uint16_t port, const char *method, const char *path, const char *token, const char *body,
	  const char *headers, struct h_resp *r)
{
	char h[2048];

	snprintf(h, sizeof(h), "%s%s%s%s%s", token ? "Authorization: Bearer " : "", token ? token : "",
		 token ? "\r\n" : "", body ? "Content-Type: application/json\r\n" : "", headers ? headers : "");
	return h_call(port, method, path, h, body, body ? strlen(body) : 0, r);
}

json_t *h_api_json(uint16_t port, const char *method, const char *path, const char *token, const char *body,
		   int *status)
{
	struct h_resp r;
	json_t *j;

	ck_assert_msg(h_api(port, method, path, token, body, NULL, &r) == 0, "%s %s: no answer", method, path);
	*status = r.status;
	j = h_json(&r);
	h_resp_free(&r);
	return j;
}

static char luhn_digit(const char *s)
{
	int total = 0, n = (int)strlen(s);

	for (int i = 0; i < n; i++) {
		int d = s[n - 1 - i] - '0';
		if (i % 2 == 0) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		total += d;
	}
	return (char)('0' + (10 - total % 10) % 10);
}

void h_rpps(long n, char out[12])
{
	snprintf(out, 12, "%010ld", n % 10000000000L);
	out[10] = luhn_digit(out);
	out[11] = '\0';
}

void h_nir(int sex, int yy, int mm, const char *dept, int commune, int order, char out[16])
{
	char digits[16];
	unsigned long long v;

	snprintf(out, 16, "%d%02d%02d%s%03d%03d", sex, yy, mm, dept, commune % 1000, order % 1000);
	snprintf(digits, sizeof(digits), "%s", out);
	if (digits[5] == '2' && digits[6] == 'A')
		digits[5] = '1', digits[6] = '9';
	else if (digits[5] == '2' && digits[6] == 'B')
		digits[5] = '1', digits[6] = '8';
	v = strtoull(digits, NULL, 10);
	snprintf(out + 13, 3, "%02llu", 97 - v % 97);
}

void h_assert_file_lacks(const char *path, const char *const *needles, size_t n)
{
	FILE *f = fopen(path, "r");
	char line[16384];
	long lineno = 0;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(!strstr(line, needles[i]), "%s line %ld contains %s", path, lineno, needles[i]);
	}
	fclose(f);
}

void h_pg_dump(const struct h_db *db, const char *path)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "pg_dump --no-owner '%s' > '%s'", db->url, path);
	ck_assert_msg(system(cmd) == 0, "pg_dump failed: %s", cmd);
}

char *h_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return p;
}

void h_upload_csv(uint16_t port, const char *token, const char *route, const char *kind, const char *file)
{
	char path[256], headers[256];
	struct h_resp r;
	size_t len;
	char *body = h_slurp(file, &len);

	snprintf(path, sizeof(path), "%s?kind=%s", route, kind);
	snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\nContent-Type: text/csv\r\n", token);
	ck_assert_int_eq(h_call(port, "POST", path, headers, body, len, &r), 0);
	ck_assert_msg(r.status == 201, "upload %s %s: %d %.400s", route, kind, r.status, r.body);
	h_resp_free(&r);
	free(body);
}

void h_token_api(uint16_t port, const char *national, const char *scope, char out[64])
{
	char body[128];
	int st;
	json_t *j;

	snprintf(body, sizeof(body), "{\"name\":\"t\",\"scope\":\"%s\",\"write\":true}", scope);
	j = h_api_json(port, "POST", "/v1/tokens", national, body, &st);
	ck_assert_int_eq(st, 201);
	snprintf(out, 64, "%s", json_string_value(json_object_get(j, "token")));
	json_decref(j);
}

long h_param_set_variant(uint16_t port, const char *national, long id, const char *label, int year,
			 const char *changes)
{
	char path[64];
	int st;
	json_t *ps, *body, *edits = NULL, *v, *j;
	json_error_t je;
	const char *key;
	char *text;
	long made;

	snprintf(path, sizeof(path), "/v1/parameter-sets/%ld", id);
	ps = h_api_json(port, "GET", path, national, NULL, &st);
	ck_assert_int_eq(st, 200);
	body = json_deep_copy(json_object_get(ps, "body"));
	json_decref(ps);
	ck_assert_ptr_nonnull(body);
	if (changes) {
		edits = json_loads(changes, 0, &je);
		ck_assert_msg(edits != NULL, "changes: %s", je.text);
	}
	json_object_foreach(edits, key, v)
		json_object_set(json_object_get(json_object_get(body, "parameters"), key), "value", v);
	json_decref(edits);
	json_object_set_new(body, "label", json_string(label));
	if (year)
		json_object_set_new(body, "year", json_integer(year));
	text = json_dumps(body, 0);
	j = h_api_json(port, "POST", "/v1/parameter-sets", national, text, &st);
	ck_assert_msg(st == 201, "parameter set %s: %d %s", label, st, json_dumps(j, JSON_COMPACT));
	made = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	json_decref(body);
	free(text);
	return made;
}

json_t *h_wait_job(uint16_t port, const char *token, long id, int timeout_s)
{
	uint64_t until = h_now_ms() + (uint64_t)timeout_s * 1000;
	char path[64];

	snprintf(path, sizeof(path), "/v1/jobs/%ld", id);
	for (;;) {
		int st;
		json_t *j = h_api_json(port, "GET", path, token, NULL, &st);
		const char *status;
		ck_assert_int_eq(st, 200);
		status = json_string_value(json_object_get(j, "status"));
		if (strcmp(status, "queued") != 0 && strcmp(status, "running") != 0)
			return j;
		ck_assert_msg(h_now_ms() < until, "job %ld still %s after %d s", id, status, timeout_s);
		json_decref(j);
		usleep(100000);
	}
}
