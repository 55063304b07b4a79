/* Faults, and more than one a51d, on a private cluster loaded with synthetic
 * data: PostgreSQL stopped and restarted under uploads and under jobs, a51d
 * killed (SIGKILL) mid-upload and mid-job, runs failing on a statement timeout
 * and on a full disk, two a51d sharing the uploads and the job queue, the job
 * queue's bound. Each asserts that nothing acknowledged is lost and nothing
 * half-done is kept; at the end, neither the database dump nor any log of the
 * suite holds a clear NIR. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct h_cluster cl;
static struct h_db db;         /* the cluster's database, for h_sqlf and h_pg_dump */
static char dir[512];          /* the synthetic data */
static char nat[64], stok[64]; /* national; the structure S001's own */
static long sid;               /* S001: enrolled in PEPS, its data uploaded */
static char gp[12];            /* one of its GPs */
static char (*pnir)[16];       /* its patients' NIRs */
static size_t npnir;
static char (*needles)[14];    /* every NIR the suite sent, without its key, sorted */
static size_t nneedles, capneedles;
static char logs[32][512];     /* every a51d log of the suite */
static int nlogs;
static pid_t started[32];      /* the a51d of the running test, killed after it if it failed */
static int nstarted;
static char tiny[256];         /* the tmpfs of the disk-full test, while mounted */

/* ---- set-up ---- */

/* An a51d a failed test left running: killed, so that it takes no job of the next. */
static void kill_leftovers(void)
{
	for (int i = 0; i < nstarted; i++)
		if (started[i] > 0 && waitpid(started[i], NULL, WNOHANG) == 0) {
			kill(started[i], SIGKILL);
			waitpid(started[i], NULL, 0);
		}
	nstarted = 0;
}

/* Every test starts with the cluster up and no a51d running. */
static void ensure_pg(void)
{
	kill_leftovers();
	h_cluster_start(&cl, "faults"); /* does nothing when it runs */
}

static void start(struct h_srv *s, const char *const *env)
{
	h_srv_start(s, cl.url, env);
	if (nlogs < 32)
		snprintf(logs[nlogs++], sizeof(logs[0]), "%s", s->log);
	if (nstarted < 32)
		started[nstarted++] = s->pid;
}

static void kill9(struct h_srv *s)
{
	int st;

	ck_assert_int_gt(s->pid, 0);
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &st, 0);
	s->pid = 0;
}

/* "host:pid", as a51d names its workers. */
static void worker_name(const struct h_srv *s, char out[128])
{
	char host[64] = "host";

	gethostname(host, sizeof(host) - 1);
	snprintf(out, 128, "%s:%d", host, (int)s->pid);
}

static void add_needle(const char *nir)
{
	if (strlen(nir) < 13)
		return;
	if (nneedles == capneedles) {
		capneedles = capneedles ? capneedles * 2 : 4096;
		needles = realloc(needles, capneedles * sizeof(*needles));
		ck_assert_ptr_nonnull(needles);
	}
	snprintf(needles[nneedles++], 14, "%.13s", nir);
}

static int cmp13(const void *a, const void *b)
{
	return memcmp(a, b, 13);
}

/* Every value of the column nir of a synthetic CSV file (',' separated, no quotes). */
static void collect_nirs(const char *path, bool of_s001)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int col = -1;

	if (!f)
		return;
	if (fgets(line, sizeof(line), f)) {
		int k = 0;
		for (char *t = strtok(line, ",\n"); t; t = strtok(NULL, ",\n"), k++)
			if (strcmp(t, "nir") == 0)
				col = k;
	}
	while (col >= 0 && fgets(line, sizeof(line), f)) {
		char *p = line;
		for (int k = 0; k < col && p; k++)
			p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
		if (!p)
			continue;
		p[strcspn(p, ",\n")] = '\0';
		add_needle(p);
		if (of_s001) {
			pnir = realloc(pnir, (npnir + 1) * sizeof(*pnir));
			ck_assert_ptr_nonnull(pnir);
			snprintf(pnir[npnir++], 16, "%.15s", p);
		}
	}
	fclose(f);
}

static json_t *api(uint16_t port, const char *method, const char *tok, const char *body, int *st, const char *fmt,
		   ...) __attribute__((format(printf, 6, 7)));
static json_t *api(uint16_t port, const char *method, const char *tok, const char *body, int *st, const char *fmt,
		   ...)
{
	char path[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return h_api_json(port, method, path, tok, body, st);
}

static long submit(uint16_t port, const char *tok, const char *path, const char *body)
{
	int st;
	json_t *j = h_api_json(port, "POST", path, tok, body, &st);
	long id;

	ck_assert_msg(st == 202, "POST %s %s: %d %s", path, body, st, json_dumps(j, JSON_COMPACT));
	id = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	return id;
}

static long submit_fit(uint16_t port, const char *name)
{
	char body[512];

	snprintf(body, sizeof(body),
		 "{\"name\":\"%s\",\"year\":2024,\"target\":\"peps_perimeter\",\"terms\":[\"age_sex\",\"ald_groups\","
		 "\"c2s\",\"ame\",\"n_chronic\"],\"method\":\"wls\"}",
		 name);
	return submit(port, nat, "/v1/risk-models", body);
}

static long submit_whatif(uint16_t port)
{
	char path[64];

	snprintf(path, sizeof(path), "/v1/structures/%ld/peps/runs", sid);
	return submit(port, stok, path, "{\"year\":2024,\"phase\":\"simulation\",\"what_if\":true}");
}

/* Waits for the job to end; its status, attempts and worker as the database has them. */
static void wait_job(uint16_t port, long id, int timeout_s, const char *want)
{
	json_t *j = h_wait_job(port, nat, id, timeout_s);

	ck_assert_msg(strcmp(json_string_value(json_object_get(j, "status")), want) == 0, "job %ld: %s", id,
		      json_dumps(j, JSON_COMPACT));
	json_decref(j);
}

static const char *jobcol(long id, const char *col)
{
	return h_sqlf(&db, "SELECT %s FROM jobs WHERE id = %ld", col, id);
}

/* Rows a job left: risk models or PEPS runs made by it. */
static long results_of(long id)
{
	return strtol(h_sqlf(&db, "SELECT (SELECT count(*) FROM risk_models WHERE job_id = %ld)"
			       " + (SELECT count(*) FROM peps_runs WHERE job_id = %ld)", id, id), NULL, 10);
}

/* Until a query answers want (polled every 50 ms), or the test fails. */
static void wait_sql(const char *want, int timeout_ms, const char *sql)
{
	uint64_t until = h_now_ms() + (uint64_t)timeout_ms;
	char got[256];

	for (;;) {
		snprintf(got, sizeof(got), "%s", h_sqlf(&db, "%s", sql));
		if (strcmp(got, want) == 0)
			return;
		ck_assert_msg(h_now_ms() < until, "%s: %s, not %s after %d ms", sql, got, want, timeout_ms);
		usleep(50000);
	}
}

static void up(void)
{
	char cmd[2048], path[600], scope[48];
	struct h_srv s;
	int st;
	json_t *j;

	ensure_pg();
	snprintf(db.name, sizeof(db.name), "a51");
	snprintf(db.url, sizeof(db.url), "%.500s", cl.url);
	snprintf(dir, sizeof(dir), "%s/faults-synth-%d", getenv("A51_TEST_VARDIR") ? getenv("A51_TEST_VARDIR") : "/tmp",
		 (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "rm -rf '%s' && '%s' synth --patients 800 --structures 3 --year 2024 --reference 2000 --seed 51"
		 " --out '%s' >/dev/null 2>&1",
		 dir, getenv("A51D_BIN"), dir);
	ck_assert_int_eq(system(cmd), 0);

	start(&s, (const char *const[]){ "A51_WORKERS=1", NULL });
	h_token_cli(cl.url, "national", "national", false, nat);
	for (int k = 0; k < 4; k++) {
		static const char *const kinds[] = { "deprivation", "patients", "claims", "stays" };
		snprintf(path, sizeof(path), "%s/reference/%s.csv", dir, kinds[k]);
		collect_nirs(path, false);
		h_upload_csv(s.port, nat, "/v1/reference/uploads", kinds[k], path);
	}
	{
		/* S001 meets PEPS: the structure, its members, its data */
		FILE *f;
		char line[65536];
		snprintf(path, sizeof(path), "%s/structures.ndjson", dir);
		f = fopen(path, "r");
		ck_assert_ptr_nonnull(f);
		while (fgets(line, sizeof(line), f)) {
			json_error_t je;
			json_t *o = json_loads(line, 0, &je), *body, *m;
			size_t i;
			char *text;
			if (strcmp(json_string_value(json_object_get(o, "ref")), "S001") != 0) {
				json_decref(o);
				continue;
			}
			body = json_pack("{s:O,s:O,s:O,s:O,s:O}", "kind", json_object_get(o, "kind"), "name",
					 json_object_get(o, "name"), "region", json_object_get(o, "region"), "commune",
					 json_object_get(o, "commune"), "legal_form", json_object_get(o, "legal_form"));
			text = json_dumps(body, 0);
			j = h_api_json(s.port, "POST", "/v1/structures", nat, text, &st);
			ck_assert_int_eq(st, 201);
			sid = (long)json_integer_value(json_object_get(j, "id"));
			json_decref(j);
			free(text);
			json_decref(body);
			json_array_foreach(json_object_get(o, "members"), i, m) {
				text = json_dumps(m, 0);
				j = api(s.port, "POST", nat, text, &st, "/v1/structures/%ld/members", sid);
				ck_assert_msg(st == 201 || st == 409, "member: %d", st);
				json_decref(j);
				free(text);
				if (!gp[0] && strcmp(json_string_value(json_object_get(m, "profession")), "MG") == 0)
					snprintf(gp, sizeof(gp), "%s", json_string_value(json_object_get(m, "rpps")));
			}
			json_decref(o);
		}
		fclose(f);
	}
	ck_assert_int_gt(sid, 0);
	ck_assert(gp[0]);
	{
		char route[64];
		snprintf(route, sizeof(route), "/v1/structures/%ld/uploads", sid);
		snprintf(path, sizeof(path), "%s/structures/S001/patients.csv", dir);
		collect_nirs(path, true);
		ck_assert_uint_gt(npnir, 100);
		h_upload_csv(s.port, nat, route, "patients", path);
		for (int k = 0; k < 3; k++) {
			static const char *const kinds[] = { "mt_declarations", "claims", "stays" };
			snprintf(path, sizeof(path), "%s/structures/S001/%s.csv", dir, kinds[k]);
			collect_nirs(path, false);
			h_upload_csv(s.port, nat, route, kinds[k], path);
		}
		/* patient-experience answers too: every kind of upload went through */
		snprintf(path, sizeof(path), "%s/questionnaires.csv", dir);
		{
			FILE *f = fopen(path, "w");
			ck_assert_ptr_nonnull(f);
			fprintf(f, "questionnaire,nir,answered_on,item,answer\n");
			for (int p = 0; p < 12; p++)
				for (int item = 1; item <= 3; item++)
					fprintf(f, "IPEP-EXP-2024,%s,2024-06-%02d,%d,%d\n", pnir[p], 1 + p, item,
						1 + (p + item) % 4);
			fclose(f);
		}
		h_upload_csv(s.port, nat, route, "questionnaires", path);
	}
	j = api(s.port, "POST", nat, "{\"experiment\":\"PEPS\",\"option\":\"whole\",\"start_on\":\"2024-01-01\"}", &st,
		"/v1/structures/%ld/enrolments", sid);
	ck_assert_msg(st == 201, "enrol: %d %s", st, json_dumps(j, JSON_COMPACT));
	json_decref(j);
	/* the model PEPS runs read */
	wait_job(s.port, submit_fit(s.port, "peps-gp"), 120, "succeeded");
	snprintf(scope, sizeof(scope), "structure:%ld", sid);
	h_token_api(s.port, nat, scope, stok);
	ck_assert_int_eq(h_srv_stop(&s), 0);
	qsort(needles, nneedles, sizeof(*needles), cmp13);
}

/* ---- uploads ---- */

/* A claims file of S001: n lines with claim ids prefix-0..n-1. */
static char *claims_csv(const char *prefix, int n, size_t *len)
{
	size_t cap = 128 + (size_t)n * 96, o;
	char *b = malloc(cap);

	ck_assert_ptr_nonnull(b);
	o = (size_t)snprintf(b, cap, "claim_id,nir,care_date,rpps,act_code,quantity,base_amount,reimbursed_amount\n");
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(b + o, cap - o, "%s-%d,%s,2024-%02d-%02d,%s,G,1,26.50,18.55\n", prefix, i,
				      pnir[(size_t)i % npnir], 1 + i % 12, 1 + i % 28, gp);
	*len = o;
	return b;
}

static int upload_headers(char *out, size_t cap, const char *key, size_t len)
{
	return snprintf(out, cap,
			"POST /v1/structures/%ld/uploads?kind=claims HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			"Content-Type: text/csv\r\nIdempotency-Key: %s\r\nContent-Length: %zu\r\n\r\n",
			sid, nat, key, len);
}

/* POSTs a claims file with its key; the status (-1: no answer) and, on 201, whether replayed. */
static int post_claims(uint16_t port, const char *key, const char *body, size_t len, bool *replayed, long *id)
{
	char path[96], headers[512], v[16];
	struct h_resp r;
	int st;

	snprintf(path, sizeof(path), "/v1/structures/%ld/uploads?kind=claims", sid);
	snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\nContent-Type: text/csv\r\nIdempotency-Key: %s\r\n",
		 nat, key);
	if (h_call(port, "POST", path, headers, body, len, &r) < 0)
		return -1;
	st = r.status;
	if (replayed)
		*replayed = h_header(&r, "Idempotent-Replayed", v, sizeof(v)) != NULL;
	if (id && st == 201) {
		json_t *j = h_json(&r);
		*id = (long)json_integer_value(json_object_get(j, "id"));
		json_decref(j);
	}
	h_resp_free(&r);
	return st;
}

/* A client sending small files one after the other, each with its own key, for
 * as long as the test runs: some are cut by the restart at whatever point. */
#define LOOP_MAX 400
#define LOOP_LINES 40
struct loop {
	uint16_t port;
	atomic_bool stop;
	atomic_int sent, acked;
	int status[LOOP_MAX];
};

static void *upload_loop(void *arg)
{
	struct loop *l = arg;

	for (int i = 0; i < LOOP_MAX && !atomic_load(&l->stop); i++) {
		char key[32], prefix[32];
		size_t len;
		char *body;
		snprintf(key, sizeof(key), "pgr-%d", i);
		snprintf(prefix, sizeof(prefix), "PGR%d", i);
		body = claims_csv(prefix, LOOP_LINES, &len);
		l->status[i] = post_claims(l->port, key, body, len, NULL, NULL);
		free(body);
		atomic_store(&l->sent, i + 1);
		if (l->status[i] == 201)
			atomic_fetch_add(&l->acked, 1);
		usleep(30000);
	}
	return NULL;
}

/* Every upload with a key like pattern succeeded once, holds exactly its
 * records, and nothing of a failed attempt is stored anywhere. */
static void assert_uploads_whole(const char *pattern, long keys)
{
	char want[32];

	snprintf(want, sizeof(want), "%ld", keys);
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM uploads u WHERE u.idempotency_key LIKE '%s'"
				" AND u.status = 'succeeded' AND u.records = (SELECT count(*) FROM claims c WHERE"
				" c.upload_id = u.id)", pattern), want);
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM uploads WHERE status = 'receiving'"), "0");
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM claims c JOIN uploads u ON u.id = c.upload_id"
				" WHERE u.status <> 'succeeded'"), "0");
}

/* Static, and stopped in down(): a failed assertion leaves the test function
 * while the client still runs. */
static struct loop l;
static pthread_t loop_thread;
static bool loop_running;

START_TEST(postgres_restart_during_uploads)
{
	static const char *const env[] = { "A51_WORKERS=0", NULL };
	struct h_srv a;
	struct h_conn c;
	struct h_resp r;
	char head[512], v[64];
	size_t len, cut, dlen;
	char *big = claims_csv("PGRBIG", 8000, &len), *down_body = claims_csv("PGRDOWN", 20, &dlen);
	long retried = 0, keys = 0;
	uint64_t t0;
	int st;

	ensure_pg();
	start(&a, env);
	l.port = a.port;
	ck_assert_int_eq(pthread_create(&loop_thread, NULL, upload_loop, &l), 0);
	loop_running = true;
	while (atomic_load(&l.acked) < 3)
		usleep(20000);

	/* a big file in flight: its rows are streaming into COPY when PostgreSQL stops */
	cut = len * 6 / 10;
	ck_assert_int_eq(h_conn_open(&c, a.port), 0);
	ck_assert_int_eq(h_conn_send(&c, head, (size_t)upload_headers(head, sizeof(head), "pgr-big", len)), 0);
	ck_assert_int_eq(h_conn_send(&c, big, cut), 0);
	usleep(400000);
	ck_assert_str_eq(h_sqlf(&db, "SELECT status FROM uploads WHERE idempotency_key = 'pgr-big'"), "receiving");
	h_cluster_stop(&cl);
	t0 = h_now_ms();
	ck_assert_int_eq(h_conn_send(&c, big + cut, len - cut), 0);
	ck_assert_int_eq(h_conn_read(&c, &r, false, 10000), 0);
	ck_assert_msg(r.status == 503, "%d %s", r.status, r.body);
	ck_assert(strstr(r.body, "/problems/database-unavailable"));
	ck_assert_msg(strstr(r.body, "stored nothing"), "%s", r.body);
	ck_assert_ptr_nonnull(h_header(&r, "Retry-After", v, sizeof(v)));
	ck_assert_uint_lt(h_now_ms() - t0, 5000);
	h_resp_free(&r);
	h_conn_close(&c);
	/* a new upload meanwhile: refused at once, with Retry-After */
	{
		char path[96], headers[256];
		snprintf(path, sizeof(path), "/v1/structures/%ld/uploads?kind=claims", sid);
		snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\nContent-Type: text/csv\r\n"
			 "Idempotency-Key: pgr-down\r\n", nat);
		t0 = h_now_ms();
		ck_assert_int_eq(h_call(a.port, "POST", path, headers, down_body, dlen, &r), 0);
		ck_assert_msg(r.status == 503, "%d %s", r.status, r.body);
		ck_assert_ptr_nonnull(h_header(&r, "Retry-After", v, sizeof(v)));
		ck_assert_uint_lt(h_now_ms() - t0, 3000);
		h_resp_free(&r);
	}
	usleep(500000);
	h_cluster_start(&cl, "faults");
	t0 = h_now_ms();
	do {
		usleep(100000);
		ck_assert_int_eq(h_get(a.port, "/readyz", NULL, &r), 0);
		st = r.status;
		h_resp_free(&r);
	} while (st != 200 && h_now_ms() - t0 < 10000);
	ck_assert_int_eq(st, 200);
	usleep(500000);
	atomic_store(&l.stop, true);
	pthread_join(loop_thread, NULL);
	loop_running = false;
	ck_assert_int_gt(atomic_load(&l.sent) - atomic_load(&l.acked), 0); /* some were cut */

	/* every key sent again: the ones acknowledged are replayed, the others stored now */
	ck_assert_int_eq(post_claims(a.port, "pgr-big", big, len, NULL, NULL), 201);
	ck_assert_int_eq(post_claims(a.port, "pgr-down", down_body, dlen, NULL, NULL), 201);
	for (int i = 0; i < atomic_load(&l.sent); i++) {
		char key[32], prefix[32];
		bool replayed = false;
		char *body;
		snprintf(key, sizeof(key), "pgr-%d", i);
		snprintf(prefix, sizeof(prefix), "PGR%d", i);
		body = claims_csv(prefix, LOOP_LINES, &len);
		st = post_claims(a.port, key, body, len, &replayed, NULL);
		free(body);
		ck_assert_msg(st == 201, "%s sent again: %d (first %d)", key, st, l.status[i]);
		/* acknowledged the first time: the same answer again, nothing stored twice */
		ck_assert_msg(l.status[i] != 201 || replayed, "%s was acknowledged but not replayed", key);
		retried += l.status[i] != 201;
		keys++;
	}
	ck_assert_int_gt(retried, 0);
	assert_uploads_whole("pgr-%", keys + 2);
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM claims WHERE claim_id LIKE 'PGRBIG-%%'"), "8000");
	/* the big file's first attempt, cut, is recorded as failed (it lost its connection) */
	ck_assert_str_ne(h_sqlf(&db, "SELECT count(*) FROM uploads WHERE status = 'failed' AND dataset = %ld"
				" AND message LIKE '%%lost its database connection%%'", sid), "0");
	free(big);
	free(down_body);
	ck_assert_int_eq(h_srv_stop(&a), 0);
}
END_TEST

/* ---- jobs ---- */

/* Worker connections inside a transaction: the jobs that have read their inputs. */
static void wait_jobs_in_tx(int n, int timeout_ms)
{
	char want[8], sql[200];

	snprintf(want, sizeof(want), "%d", n);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'a51d-worker'"
		 " AND state LIKE 'idle in transaction%%'");
	wait_sql(want, timeout_ms, sql);
}

START_TEST(postgres_restart_during_jobs)
{
	static const char *const env[] = { "A51_WORKERS=2", "A51_JOB_LEASE_S=5", "A51_JOB_CHECKPOINT_DELAY_MS=1000",
					   NULL };
	struct h_srv a;
	long fit, run;
	uint64_t t0;

	ensure_pg();
	start(&a, env);
	/* both jobs mid-transaction: the fit has read its population, the run its inputs */
	fit = submit_fit(a.port, "faults-pg-fit");
	wait_jobs_in_tx(1, 15000);
	run = submit_whatif(a.port);
	wait_jobs_in_tx(2, 15000);
	h_cluster_stop(&cl);
	usleep(1000000);
	h_cluster_start(&cl, "faults");
	t0 = h_now_ms();
	wait_job(a.port, fit, 60, "succeeded");
	wait_job(a.port, run, 60, "succeeded");
	/* they ran again (the interrupted attempt counts), and left one result each */
	ck_assert_str_eq(jobcol(fit, "attempts"), "2");
	ck_assert_str_eq(jobcol(run, "attempts"), "2");
	ck_assert_int_eq(results_of(fit), 1);
	ck_assert_int_eq(results_of(run), 1);
	ck_assert(h_log_contains(&a, "\"event\":\"job.requeued\""));
	ck_assert_uint_lt(h_now_ms() - t0, 40000);
	ck_assert_int_eq(h_srv_stop(&a), 0);
}
END_TEST

/* ---- a51d killed ---- */

/* Until the connection that received an upload is gone: its lock is free. */
static void wait_receiver_gone(const char *key)
{
	char sql[400];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_locks l JOIN uploads u ON l.classid = 1630876021"
		 " AND l.objid = u.id %% 2147483647 WHERE l.locktype = 'advisory' AND u.idempotency_key = '%s'", key);
	wait_sql("0", 10000, sql);
}

START_TEST(sigkill_mid_upload)
{
	static const char *const env[] = { "A51_WORKERS=0", NULL };
	struct h_srv a, b, a2;
	struct h_conn c;
	char head[512];
	size_t len;
	char *body = claims_csv("KIL1", 8000, &len);
	long id = 0;
	bool replayed;

	ensure_pg();
	start(&a, env);
	start(&b, env);
	ck_assert_int_eq(h_conn_open(&c, a.port), 0);
	ck_assert_int_eq(h_conn_send(&c, head, (size_t)upload_headers(head, sizeof(head), "kill-1", len)), 0);
	ck_assert_int_eq(h_conn_send(&c, body, len * 6 / 10), 0);
	usleep(400000);
	ck_assert_str_eq(h_sqlf(&db, "SELECT status FROM uploads WHERE idempotency_key = 'kill-1'"), "receiving");
	kill9(&a);
	h_conn_close(&c);
	wait_receiver_gone("kill-1");
	/* nothing of it is visible, and the other a51d takes the retry with its key */
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM claims WHERE claim_id LIKE 'KIL1-%%'"), "0");
	ck_assert_int_eq(post_claims(b.port, "kill-1", body, len, &replayed, &id), 201);
	ck_assert(!replayed);
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM claims WHERE claim_id LIKE 'KIL1-%%' AND upload_id = %ld", id),
			 "8000");
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM uploads WHERE status = 'failed' AND dataset = %ld"
				" AND message LIKE '%%a51d receiving it stopped%%' AND id < %ld AND id > %ld - 5", sid, id, id),
			 "1");

	/* killed again, with no retry: the next a51d to start records it as failed */
	start(&a2, env);
	ck_assert_int_eq(h_conn_open(&c, a2.port), 0);
	ck_assert_int_eq(h_conn_send(&c, head, (size_t)upload_headers(head, sizeof(head), "kill-2", len)), 0);
	ck_assert_int_eq(h_conn_send(&c, body, len / 2), 0);
	usleep(400000);
	kill9(&a2);
	h_conn_close(&c);
	wait_receiver_gone("kill-2");
	ck_assert_str_eq(h_sqlf(&db, "SELECT status FROM uploads WHERE idempotency_key = 'kill-2'"), "receiving");
	start(&a2, env);
	ck_assert_str_eq(h_sqlf(&db, "SELECT status FROM uploads WHERE idempotency_key = 'kill-2'"), "failed");
	ck_assert(h_log_contains(&a2, "\"event\":\"upload.sweep\""));
	assert_uploads_whole("kill-%", 1);
	free(body);
	ck_assert_int_eq(h_srv_stop(&a2), 0);
	ck_assert_int_eq(h_srv_stop(&b), 0);
}
END_TEST

START_TEST(sigkill_mid_job)
{
	static const char *const env_a[] = { "A51_WORKERS=2", "A51_JOB_LEASE_S=5", "A51_JOB_CHECKPOINT_DELAY_MS=1000",
					     NULL };
	static const char *const env_b[] = { "A51_WORKERS=2", "A51_JOB_LEASE_S=5", NULL };
	struct h_srv a, b;
	char wa[128], wb[128];
	long fit, run;
	uint64_t t0;

	ensure_pg();
	start(&a, env_a);
	worker_name(&a, wa);
	fit = submit_fit(a.port, "faults-kill-fit");
	wait_jobs_in_tx(1, 15000);
	run = submit_whatif(a.port);
	wait_jobs_in_tx(2, 15000);
	ck_assert_str_eq(jobcol(fit, "worker"), wa);
	ck_assert_str_eq(jobcol(run, "worker"), wa);
	kill9(&a);
	t0 = h_now_ms();
	start(&b, env_b);
	worker_name(&b, wb);
	wait_job(b.port, fit, 60, "succeeded");
	wait_job(b.port, run, 60, "succeeded");
	/* taken over once the lease ran out (at most 5 s after the last heartbeat), exactly once */
	ck_assert_uint_lt(h_now_ms() - t0, 30000);
	ck_assert_str_eq(jobcol(fit, "worker"), wb);
	ck_assert_str_eq(jobcol(run, "worker"), wb);
	ck_assert_str_eq(jobcol(fit, "attempts"), "2");
	ck_assert_str_eq(jobcol(run, "attempts"), "2");
	ck_assert_int_eq(results_of(fit), 1);
	ck_assert_int_eq(results_of(run), 1);
	ck_assert_int_eq(h_srv_stop(&b), 0);
}
END_TEST

/* ---- a run that cannot finish ---- */

START_TEST(statement_timeout_fails_a_run)
{
	static const char *const env[] = { "A51_WORKERS=1", "A51_JOB_STATEMENT_TIMEOUT_MS=2000", NULL };
	struct h_srv a;
	PGconn *locker;
	char want[32];
	long run;
	json_t *j;

	ensure_pg();
	start(&a, env);
	/* the run writes its row, then its lines: those wait on a lock until the timeout */
	locker = h_db_connect(&db);
	h_sql1(locker, "BEGIN");
	h_sql1(locker, "LOCK TABLE peps_lines IN ACCESS EXCLUSIVE MODE");
	snprintf(want, sizeof(want), "%s", h_sqlf(&db, "SELECT count(*) FROM peps_runs"));
	run = submit_whatif(a.port);
	j = h_wait_job(a.port, nat, run, 30);
	h_sql1(locker, "ROLLBACK");
	PQfinish(locker);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "failed");
	ck_assert_msg(strstr(json_string_value(json_object_get(j, "error")), "statement timeout") &&
			      strstr(json_string_value(json_object_get(j, "error")), "nothing was written"),
		      "%s", json_dumps(j, JSON_COMPACT));
	json_decref(j);
	ck_assert_str_eq(jobcol(run, "attempts"), "1"); /* not retried: it would block again */
	ck_assert_int_eq(results_of(run), 0);
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM peps_runs"), want);
	/* the lock gone, the same run succeeds */
	run = submit_whatif(a.port);
	wait_job(a.port, run, 60, "succeeded");
	ck_assert_int_eq(results_of(run), 1);
	ck_assert_int_eq(h_srv_stop(&a), 0);
}
END_TEST

/* PEPS lines on a tablespace of a tiny tmpfs, filled up. Needs root (mount);
 * skipped, saying so, where it cannot mount. */
START_TEST(disk_full_fails_a_run)
{
	static const char *const env[] = { "A51_WORKERS=1", NULL };
	struct passwd *pg = getpwnam("postgres");
	struct h_srv a;
	char path[300], sql[400], want[32];
	static char chunk[65536];
	long run;
	json_t *j;
	int fd;

	ensure_pg();
	snprintf(tiny, sizeof(tiny), "/tmp/a51-faults-tiny-%d", (int)getpid());
	mkdir(tiny, 0700);
	if (geteuid() != 0 || mount("tmpfs", tiny, "tmpfs", MS_NOSUID | MS_NODEV, "size=8m,mode=0700") != 0) {
		fprintf(stderr, "disk_full_fails_a_run: skipped, cannot mount a tmpfs (%s)\n", strerror(errno));
		rmdir(tiny);
		tiny[0] = '\0';
		return;
	}
	/* the cluster runs as postgres when the tests run as root */
	ck_assert_int_eq(chown(tiny, pg ? pg->pw_uid : 0, pg ? pg->pw_gid : 0), 0);
	snprintf(sql, sizeof(sql), "CREATE TABLESPACE a51_tiny LOCATION '%s'", tiny);
	h_sqlf(&db, "%s", sql);
	h_sqlf(&db, "ALTER TABLE peps_lines SET TABLESPACE a51_tiny");
	snprintf(path, sizeof(path), "%s/filler", tiny);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	while (write(fd, chunk, sizeof(chunk)) > 0)
		;
	ck_assert_int_eq(errno, ENOSPC);
	close(fd);

	start(&a, env);
	snprintf(want, sizeof(want), "%s", h_sqlf(&db, "SELECT count(*) FROM peps_runs"));
	run = submit_whatif(a.port);
	j = h_wait_job(a.port, nat, run, 30);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "failed");
	ck_assert_msg(strstr(json_string_value(json_object_get(j, "error")), "No space left on device"), "%s",
		      json_dumps(j, JSON_COMPACT));
	json_decref(j);
	ck_assert_str_eq(jobcol(run, "attempts"), "1");
	ck_assert_int_eq(results_of(run), 0);
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM peps_runs"), want);

	/* space again: the same run succeeds */
	unlink(path);
	h_sqlf(&db, "ALTER TABLE peps_lines SET TABLESPACE pg_default");
	h_sqlf(&db, "DROP TABLESPACE a51_tiny");
	ck_assert_int_eq(umount(tiny), 0);
	rmdir(tiny);
	tiny[0] = '\0';
	run = submit_whatif(a.port);
	wait_job(a.port, run, 60, "succeeded");
	ck_assert_int_eq(results_of(run), 1);
	ck_assert_int_eq(h_srv_stop(&a), 0);
}
END_TEST

/* ---- more than one a51d ---- */

/* Lines of a log saying that job id succeeded. */
static int jobs_done(const char *log, long id)
{
	FILE *f = fopen(log, "r");
	char line[8192], needle[64];
	int n = 0;

	ck_assert_ptr_nonnull(f);
	snprintf(needle, sizeof(needle), "\"msg\":\"job %ld (", id);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "\"event\":\"job.done\"") && strstr(line, needle);
	fclose(f);
	return n;
}

START_TEST(two_a51d_share_uploads_and_jobs)
{
	static const char *const env[] = { "A51_WORKERS=2", "A51_JOB_CHECKPOINT_DELAY_MS=150", NULL };
	struct h_srv a, b;
	char wa[128], wb[128], ids[1024] = "", want[16];
	long jobs[20];
	size_t o = 0;

	ensure_pg();
	start(&a, env);
	start(&b, env);
	worker_name(&a, wa);
	worker_name(&b, wb);
	/* uploads through either, retried through the other: one upload each */
	for (int i = 0; i < 6; i++) {
		char key[32], prefix[32];
		size_t len;
		long id1 = 0, id2 = 0;
		bool replayed = false;
		char *body;
		snprintf(key, sizeof(key), "two-%d", i);
		snprintf(prefix, sizeof(prefix), "TWO%d", i);
		body = claims_csv(prefix, 300, &len);
		ck_assert_int_eq(post_claims(i % 2 ? b.port : a.port, key, body, len, NULL, &id1), 201);
		ck_assert_int_eq(post_claims(i % 2 ? a.port : b.port, key, body, len, &replayed, &id2), 201);
		ck_assert(replayed);
		ck_assert_int_eq(id1, id2);
		free(body);
	}
	assert_uploads_whole("two-%", 6);
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM claims WHERE claim_id LIKE 'TWO%%'"), "1800");

	/* twenty jobs, submitted to either: each runs once, and both take some */
	for (int i = 0; i < 20; i++) {
		uint16_t port = i % 2 ? b.port : a.port;
		char name[32];
		snprintf(name, sizeof(name), "two-fit-%d", i);
		jobs[i] = i % 4 < 2 ? submit_fit(port, name) : submit_whatif(port);
		o += (size_t)snprintf(ids + o, sizeof(ids) - o, "%s%ld", i ? "," : "", jobs[i]);
	}
	for (int i = 0; i < 20; i++)
		wait_job(a.port, jobs[i], 120, "succeeded");
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM jobs WHERE id IN (%s) AND attempts = 1", ids), "20");
	snprintf(want, sizeof(want), "%s", h_sqlf(&db, "SELECT count(*) FROM jobs WHERE id IN (%s) AND worker = '%s'",
						ids, wa));
	ck_assert_str_ne(want, "0");
	ck_assert_str_ne(want, "20");
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM jobs WHERE id IN (%s) AND worker IN ('%s', '%s')", ids, wa,
				wb), "20");
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(results_of(jobs[i]), 1);
	ck_assert_str_eq(h_sqlf(&db, "SELECT (SELECT count(*) FROM risk_models WHERE job_id IN (%s))"
				" + (SELECT count(*) FROM peps_runs WHERE job_id IN (%s))", ids, ids), "20");
	ck_assert_int_eq(h_srv_stop(&a), 0);
	ck_assert_int_eq(h_srv_stop(&b), 0);
	/* and each ran once, in one of them: one job.done in both logs together */
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(jobs_done(a.log, jobs[i]) + jobs_done(b.log, jobs[i]), 1);
}
END_TEST

/* ---- back-pressure ---- */

START_TEST(job_queue_is_bounded)
{
	static const char *const env[] = { "A51_WORKERS=0", "A51_MAX_QUEUED_JOBS=3", NULL };
	struct h_srv a;
	struct h_resp r;
	char v[16], path[64];
	long q[3];
	uint64_t t0;
	int st;
	json_t *j;

	ensure_pg();
	/* the queue empty whatever a failed test left */
	h_sqlf(&db, "UPDATE jobs SET status = 'cancelled', finished_at = now() WHERE status = 'queued'");
	start(&a, env);
	q[0] = submit_fit(a.port, "bound-1");
	q[1] = submit_fit(a.port, "bound-2");
	q[2] = submit_whatif(a.port);
	/* a fourth, of either kind: 503 at once, with Retry-After, and nothing queued */
	t0 = h_now_ms();
	ck_assert_int_eq(h_api(a.port, "POST", "/v1/risk-models", nat,
			       "{\"name\":\"bound-4\",\"year\":2024,\"target\":\"peps_perimeter\",\"terms\":[\"age_sex\"],"
			       "\"method\":\"ols\"}", NULL, &r), 0);
	ck_assert_msg(r.status == 503, "%d %s", r.status, r.body);
	ck_assert(strstr(r.body, "/problems/queue-full"));
	ck_assert_str_eq(h_header(&r, "Retry-After", v, sizeof(v)), "10");
	ck_assert_uint_lt(h_now_ms() - t0, 1000);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/structures/%ld/peps/runs", sid);
	j = h_api_json(a.port, "POST", path, stok, "{\"year\":2024,\"phase\":\"simulation\",\"what_if\":true}", &st);
	ck_assert_int_eq(st, 503);
	json_decref(j);
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM jobs WHERE status = 'queued'"), "3");
	/* one place freed: accepted again */
	j = api(a.port, "DELETE", nat, NULL, &st, "/v1/jobs/%ld", q[0]);
	ck_assert_int_eq(st, 200);
	json_decref(j);
	q[0] = submit_fit(a.port, "bound-5");
	for (int i = 0; i < 3; i++) {
		j = api(a.port, "DELETE", nat, NULL, &st, "/v1/jobs/%ld", q[i]);
		ck_assert_int_eq(st, 200);
		json_decref(j);
	}
	ck_assert_int_eq(h_srv_stop(&a), 0);
}
END_TEST

/* ---- health data ---- */

static int cmp_key(const void *key, const void *elt)
{
	return memcmp(key, elt, 13);
}

/* Lines of the file holding one of the suite's NIRs (every 13-character
 * window looked up); the first one found goes to first. */
static long nirs_in(const char *path, char first[14])
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long hits = 0;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while ((n = getline(&line, &cap, f)) > 0) {
		for (ssize_t i = 0; i + 13 <= n; i++) {
			if (line[i] < '1' || line[i] > '8' || !bsearch(line + i, needles, nneedles, sizeof(*needles), cmp_key))
				continue;
			if (!hits++)
				snprintf(first, 14, "%.13s", line + i);
			break;
		}
	}
	free(line);
	fclose(f);
	return hits;
}

static void assert_no_nir(const char *path)
{
	char first[14] = "";
	long hits = nirs_in(path, first);

	ck_assert_msg(hits == 0, "%s: %ld line(s) hold a clear NIR, the first %s", path, hits, first);
}

START_TEST(no_clear_nir_in_dump_or_logs)
{
	char dump[600], pglog[600], first[14];
	FILE *f;

	ck_assert_uint_gt(nneedles, 2000);
	ensure_pg();
	snprintf(dump, sizeof(dump), "%s.dump.sql", logs[0]);
	h_pg_dump(&db, dump);
	assert_no_nir(dump);
	for (int i = 0; i < nlogs; i++)
		assert_no_nir(logs[i]);
	snprintf(pglog, sizeof(pglog), "%s/postgres.log", cl.dir);
	assert_no_nir(pglog);
	/* the search finds one where there is one */
	f = fopen(dump, "a");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "-- %s\n", pnir[7]);
	fclose(f);
	ck_assert_int_eq(nirs_in(dump, first), 1);
	ck_assert(strncmp(first, pnir[7], 13) == 0);
	unlink(dump);
}
END_TEST

static void down(void)
{
	char cmd[1200];

	if (loop_running) {
		atomic_store(&l.stop, true);
		pthread_join(loop_thread, NULL);
	}
	kill_leftovers();
	if (tiny[0]) {
		umount2(tiny, MNT_DETACH);
		rmdir(tiny);
	}
	h_cluster_destroy(&cl);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(pnir);
	free(needles);
}

static Suite *suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("faults");

	tcase_add_unchecked_fixture(tc, up, down);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, postgres_restart_during_uploads);
	tcase_add_test(tc, postgres_restart_during_jobs);
	tcase_add_test(tc, sigkill_mid_upload);
	tcase_add_test(tc, sigkill_mid_job);
	tcase_add_test(tc, statement_timeout_fails_a_run);
	tcase_add_test(tc, disk_full_fails_a_run);
	tcase_add_test(tc, two_a51d_share_uploads_and_jobs);
	tcase_add_test(tc, job_queue_is_bounded);
	tcase_add_test(tc, no_clear_nir_in_dump_or_logs);
	suite_add_tcase(s, tc);
	return s;
}

/* Without fork: the tests share the cluster and its data, and the last one
 * searches everything they left for NIRs. */
int main(void)
{
	return h_run_nofork(suite());
}
