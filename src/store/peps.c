/* SQL of PEPS runs: what a team's year is made of (who was covered when, the
 * team's share of its patients' perimeter care, the fee-for-service it billed
 * this year and the year before), read with one COPY per structure; the runs,
 * their lines, schedules and splits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/buf.h"
#include "a51/peps.h"
#include "a51/sha256.h"
#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

/* As in store/riskmodels.c: COPY takes no bind parameters, so the values are
 * transaction settings set by a parameterised set_config, read once each. */
static const char SETTINGS[] =
	"SELECT set_config('a51.pp_structure', $1, true), set_config('a51.pp_year', $2, true),"
	" set_config('a51.pp_option', $3, true), set_config('a51.pp_elderly_age', $4, true),"
	" set_config('a51.pp_neuro_age', $5, true), set_config('a51.pp_neuro_ald', $6, true),"
	" set_config('a51.pp_diabetes_ald', $7, true), set_config('a51.pp_ame', $8, true),"
	" set_config('a51.pp_acts', $9, true), set_config('jit', 'off', true)";

#define S_SID "(SELECT current_setting('a51.pp_structure')::bigint)"
#define S_Y "(SELECT current_setting('a51.pp_year')::int)"
#define S_OPT "(SELECT current_setting('a51.pp_option'))"
#define S_INT(n) "(SELECT current_setting('a51.pp_" n "')::int)"
#define S_ARR(n, t) "CAST((SELECT current_setting('a51.pp_" n "')) AS " t "[])"
#define QR(q) "datemultirange(daterange(make_date(" S_Y ", " #q " * 3 - 2, 1), (make_date(" S_Y ", " #q " * 3 - 2, 1)" \
	      " + interval '3 months')::date))"
#define DAYS(q) "(SELECT coalesce(sum(upper(x) - lower(x)), 0) FROM unnest(c.cov * " QR(q) ") x)"
#define START(q) "(c.cov @> make_date(" S_Y ", " #q " * 3 - 2, 1))::int"

/* One row per covered patient: the days covered in each quarter (declared
 * to a GP while a member, alive, and in the option's population), whether
 * covered on each quarter's first day, and the perimeter care of the year by
 * the team and by anyone, the team's fee-for-service by quarter on covered
 * days, and the year before. Claims come from the structure's own dataset. */
static const char INPUTS[] =
	"COPY (WITH yr AS (SELECT daterange(make_date(" S_Y ", 1, 1), make_date(" S_Y " + 1, 1, 1)) AS r),"
	" team AS (SELECT p.rpps, p.profession, daterange(m.start_on, m.end_on, '[]') AS r FROM memberships m"
	"   JOIN professionals p ON p.id = m.professional_id WHERE m.structure_id = " S_SID "),"
	" decl AS (SELECT d.patient_id, range_agg(daterange(d.start_on, d.end_on, '[]') * t.r * yr.r) AS cov"
	"   FROM mt_declarations d JOIN team t ON t.rpps = d.gp_rpps AND t.profession = 'MG' CROSS JOIN yr"
	"   WHERE daterange(d.start_on, d.end_on, '[]') && t.r AND daterange(d.start_on, d.end_on, '[]') && yr.r"
	"   GROUP BY d.patient_id),"
	" pat AS (SELECT p.id, decl.cov"
	"   * datemultirange(daterange(make_date(p.birth_year, coalesce(p.birth_month, 1), 1), p.death_date, '[]'))"
	"   * CASE " S_OPT
	"     WHEN 'whole' THEN CASE WHEN p.ame AND NOT (SELECT current_setting('a51.pp_ame')::bool)"
	"       THEN '{}'::datemultirange ELSE '{(,)}'::datemultirange END"
	"     WHEN 'diabetic' THEN coalesce((SELECT range_agg(daterange(a.start_on, a.end_on, '[]')) FROM patient_ald a"
	"       WHERE a.patient_id = p.id AND a.ald = ANY(" S_ARR("diabetes_ald", "int") ")), '{}')"
	"     ELSE datemultirange(daterange(make_date(p.birth_year + " S_INT("elderly_age") ", coalesce(p.birth_month, 1), 1),"
	"       NULL)) + (datemultirange(daterange(make_date(p.birth_year + " S_INT("neuro_age") ","
	"       coalesce(p.birth_month, 1), 1), NULL)) * coalesce((SELECT range_agg(daterange(a.start_on, a.end_on, '[]'))"
	"       FROM patient_ald a WHERE a.patient_id = p.id AND a.ald = ANY(" S_ARR("neuro_ald", "int") ")), '{}'))"
	"     END AS cov FROM decl JOIN patients p ON p.id = decl.patient_id),"
	" c AS (SELECT id, cov FROM pat WHERE NOT isempty(cov)),"
	" cl AS (SELECT x.patient_id, x.care_date, x.base_cents,"
	"   EXISTS (SELECT 1 FROM team t WHERE t.rpps = x.rpps AND t.r @> x.care_date) AS by_team"
	"   FROM claims x JOIN c ON c.id = x.patient_id WHERE x.dataset = " S_SID
	"   AND x.care_date >= make_date(" S_Y " - 1, 1, 1) AND x.care_date < make_date(" S_Y " + 1, 1, 1)"
	"   AND x.act_code = ANY(" S_ARR("acts", "text") ")),"
	" agg AS (SELECT cl.patient_id,"
	"   sum(cl.base_cents) FILTER (WHERE cl.care_date >= make_date(" S_Y ", 1, 1) AND cl.by_team) AS team_cents,"
	"   sum(cl.base_cents) FILTER (WHERE cl.care_date >= make_date(" S_Y ", 1, 1)) AS all_cents,"
	"   sum(cl.base_cents) FILTER (WHERE cl.by_team AND c.cov @> cl.care_date"
	"     AND extract(quarter FROM cl.care_date) = 1 AND cl.care_date >= make_date(" S_Y ", 1, 1)) AS f1,"
	"   sum(cl.base_cents) FILTER (WHERE cl.by_team AND c.cov @> cl.care_date"
	"     AND extract(quarter FROM cl.care_date) = 2 AND cl.care_date >= make_date(" S_Y ", 1, 1)) AS f2,"
	"   sum(cl.base_cents) FILTER (WHERE cl.by_team AND c.cov @> cl.care_date"
	"     AND extract(quarter FROM cl.care_date) = 3 AND cl.care_date >= make_date(" S_Y ", 1, 1)) AS f3,"
	"   sum(cl.base_cents) FILTER (WHERE cl.by_team AND c.cov @> cl.care_date"
	"     AND extract(quarter FROM cl.care_date) = 4 AND cl.care_date >= make_date(" S_Y ", 1, 1)) AS f4,"
	"   sum(cl.base_cents) FILTER (WHERE cl.by_team AND cl.care_date < make_date(" S_Y ", 1, 1)) AS prior"
	"   FROM cl JOIN c ON c.id = cl.patient_id GROUP BY cl.patient_id)"
	" SELECT c.id, " DAYS(1) ", " DAYS(2) ", " DAYS(3) ", " DAYS(4) ","
	"   " START(1) " | (" START(2) " << 1) | (" START(3) " << 2) | (" START(4) " << 3),"
	"   coalesce(agg.team_cents, 0), coalesce(agg.all_cents, 0), coalesce(agg.f1, 0), coalesce(agg.f2, 0),"
	"   coalesce(agg.f3, 0), coalesce(agg.f4, 0), coalesce(agg.prior, 0)"
	" FROM c LEFT JOIN agg ON agg.patient_id = c.id ORDER BY c.id) TO STDOUT";

static void int_list(const int *v, int n, char *out, size_t cap)
{
	size_t len = (size_t)snprintf(out, cap, "{");

	for (int i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%d", i ? "," : "", v[i]);
	if (len < cap)
		snprintf(out + len, cap - len, "}");
}

/* id, days x4, bits, team, all, ffs x4, prior: 13 fields. */
static int parse_inputs(char *row, int n, struct peps_patient *pt)
{
	char *f[13], *s, *end;
	int k = 0;
	int64_t v[13];

	if (n < 1 || row[n - 1] != '\n')
		return -1;
	row[n - 1] = '\0';
	for (s = row, f[k++] = s; *s && k < 13; s++)
		if (*s == '\t') {
			*s = '\0';
			f[k++] = s + 1;
		}
	if (k != 13)
		return -1;
	for (int i = 0; i < 13; i++) {
		v[i] = strtoll(f[i], &end, 10);
		if (*end)
			return -1;
	}
	memset(pt, 0, sizeof(*pt));
	pt->id = v[0];
	for (int q = 0; q < 4; q++) {
		pt->covered_days[q] = (int)v[1 + q];
		pt->ffs_cents[q] = v[8 + q];
	}
	pt->covered_at_start = (uint8_t)v[5];
	pt->team_cents = v[6];
	pt->all_cents = v[7];
	pt->prior_ffs_cents = v[12];
	return 0;
}

const char *store_peps_inputs_sql(void)
{
	return INPUTS;
}

struct inputs_read {
	struct sha256 *digest;
	store_peps_row_fn fn;
	void *ctx;
};

static int inputs_row(void *ctx, char *row, int n, struct a51_error *err)
{
	struct inputs_read *ir = ctx;
	struct peps_patient pt;

	if (ir->digest)
		sha256_update(ir->digest, row, (size_t)n);
	if (parse_inputs(row, n, &pt) < 0)
		return a51_error_set(err, A51_EDB, "inputs", "unexpected COPY row");
	return ir->fn(ir->ctx, &pt, err);
}

int store_peps_inputs(struct db_conn *c, int64_t structure_id, int year, const char *option,
		      const struct patientele_params *pp, const struct peps_params *kp, struct sha256 *digest,
		      store_peps_row_fn fn, void *ctx, struct a51_error *err)
{
	char sid[24], y[8], age1[8], age2[8], neuro[128], diab[128], acts[256] = "{";
	const char *p[9];
	struct inputs_read ir = { digest, fn, ctx };
	int rc;

	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	snprintf(y, sizeof(y), "%d", year);
	snprintf(age1, sizeof(age1), "%d", pp->elderly_min_age);
	snprintf(age2, sizeof(age2), "%d", pp->neuro_min_age);
	int_list(pp->neuro_ald, pp->n_neuro_ald, neuro, sizeof(neuro));
	int_list(pp->diabetes_ald, pp->n_diabetes_ald, diab, sizeof(diab));
	for (int i = 0; i < kp->n_perimeter_acts; i++)
		snprintf(acts + strlen(acts), sizeof(acts) - strlen(acts), "%s\"%s\"", i ? "," : "", kp->perimeter_acts[i]);
	snprintf(acts + strlen(acts), sizeof(acts) - strlen(acts), "}");
	p[0] = sid;
	p[1] = y;
	p[2] = option;
	p[3] = age1;
	p[4] = age2;
	p[5] = neuro;
	p[6] = diab;
	p[7] = pp->whole_includes_ame ? "true" : "false";
	p[8] = acts;
	if ((rc = db_run_params(c, SETTINGS, 9, p, true, err)) < 0)
		return rc;
	return db_copy_out(c, INPUTS, inputs_row, &ir, err);
}

/* ---- the context of a run ---- */

static const struct db_stmt Q_MODEL = {
	"peps_model",
	"SELECT id FROM risk_models WHERE name = $1 AND region IS NULL ORDER BY version DESC LIMIT 1", 1
};

int store_rm_latest(struct db_conn *c, const char *key, const char *name, int64_t *id, struct a51_error *err)
{
	const char *p[1] = { name };
	json_t *row;
	int rc = store_one(c, &Q_MODEL, p, &row, err);

	if (rc == A51_ENOTFOUND)
		return a51_error_set(err, A51_EINVAL, key,
				     "no national risk model named %s: fit one (POST /v1/risk-models) first", name);
	if (rc < 0)
		return rc;
	*id = json_integer_value(json_object_get(row, "id"));
	json_decref(row);
	return 0;
}

/* ---- runs ---- */

static const struct db_stmt Q_RUN_INSERT = {
	"peps_run_insert",
	"INSERT INTO peps_runs (structure_id, region, year, quarter, phase, what_if, option, enrolment_id,"
	" parameter_set_id, model_id, batch_id, job_id, inputs_digest, code_version, patients, total_cents, result,"
	" created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17::jsonb, $18)"
	" RETURNING id",
	18
};

int store_peps_run_insert(struct db_conn *c, const struct actor *a, const struct peps_run_record *r, int64_t *id,
			  struct a51_error *err)
{
	char sid[24], y[8], q[8], enr[24], ps[24], model[24], batch[24], job[24], pts[16], total[24], by[24];
	char *result = json_dumps(r->result, JSON_COMPACT | JSON_REAL_PRECISION(15));
	const char *p[18];
	json_t *row;
	int rc;

	if (!result)
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	snprintf(sid, sizeof(sid), "%lld", (long long)r->structure_id);
	snprintf(y, sizeof(y), "%d", r->year);
	snprintf(q, sizeof(q), "%d", r->quarter);
	snprintf(enr, sizeof(enr), "%lld", (long long)r->enrolment_id);
	snprintf(ps, sizeof(ps), "%lld", (long long)r->parameter_set_id);
	snprintf(model, sizeof(model), "%lld", (long long)r->model_id);
	snprintf(batch, sizeof(batch), "%lld", (long long)r->batch_id);
	snprintf(job, sizeof(job), "%lld", (long long)r->job_id);
	snprintf(pts, sizeof(pts), "%d", r->patients);
	snprintf(total, sizeof(total), "%lld", (long long)r->total_cents);
	snprintf(by, sizeof(by), "%lld", (long long)a->caller->token_id);
	p[0] = sid;
	p[1] = r->region;
	p[2] = y;
	p[3] = r->quarter ? q : NULL;
	p[4] = r->phase;
	p[5] = r->what_if ? "true" : "false";
	p[6] = r->option;
	p[7] = r->enrolment_id ? enr : NULL;
	p[8] = ps;
	p[9] = model;
	p[10] = r->batch_id ? batch : NULL;
	p[11] = r->job_id ? job : NULL;
	p[12] = r->inputs_digest;
	p[13] = r->code_version;
	p[14] = pts;
	p[15] = total;
	p[16] = result;
	p[17] = a->caller->token_id ? by : NULL;
	rc = store_one(c, &Q_RUN_INSERT, p, &row, err);
	free(result);
	if (rc < 0)
		return rc;
	*id = json_integer_value(json_object_get(row, "id"));
	json_decref(row);
	{
		struct audit_rec rec = { .action = "create", .resource_type = "peps_run", .region = r->region,
					 .structure_id = r->structure_id };
		json_t *after = json_pack("{s:i,s:s,s:b,s:I,s:s}", "year", r->year, "phase", r->phase, "what_if",
					  r->what_if, "total_cents", (json_int_t)r->total_cents, "inputs_digest",
					  r->inputs_digest);
		snprintf(rec.resource_id, sizeof(rec.resource_id), "%lld", (long long)*id);
		rec.after = after;
		rc = store_audit(c, a, &rec, err);
		json_decref(after);
	}
	return rc;
}

int store_peps_lines_begin(struct db_conn *c, struct a51_error *err)
{
	return db_copy_in_begin(c, "COPY peps_lines (run_id, patient_id, cell, ald_groups, flags, covered_days,"
				   " covered_at_start, base_cents, fidelisation, rate_cents, earned_cents, team_cents,"
				   " all_cents, ffs_cents, amount_cents) FROM STDIN", err);
}

static const struct db_stmt Q_ITEM = {
	"peps_item",
	"INSERT INTO peps_schedule (run_id, seq, kind, quarter, due_on, cents) VALUES ($1, $2, $3, $4, $5::date, $6)", 6
};

int store_peps_item(struct db_conn *c, int64_t run_id, int seq, const char *kind, int quarter, const char *due_on,
		    int64_t cents, struct a51_error *err)
{
	char r[24], s[8], q[8], v[24];
	const char *p[6] = { r, s, kind, quarter ? q : NULL, due_on, v };
	PGresult *res;

	snprintf(r, sizeof(r), "%lld", (long long)run_id);
	snprintf(s, sizeof(s), "%d", seq);
	snprintf(q, sizeof(q), "%d", quarter);
	snprintf(v, sizeof(v), "%lld", (long long)cents);
	if (!(res = db_exec(c, &Q_ITEM, p, err)))
		return err->code;
	PQclear(res);
	return 0;
}

/* The run that counts: the latest official run of its structure, year,
 * quarter and phase (a re-run supersedes; what-ifs never count). */
#define CURRENT_COND                                                                                        \
	"(NOT r.what_if AND NOT EXISTS (SELECT 1 FROM peps_runs o WHERE NOT o.what_if"                         \
	" AND o.structure_id = r.structure_id AND o.year = r.year AND o.quarter IS NOT DISTINCT FROM r.quarter" \
	" AND o.phase = r.phase AND o.id > r.id))"
#define CURRENT CURRENT_COND " AS current"

/* National callers see every run; an ARS its region's; a structure its own. */
#define RUN_SCOPE \
	"($1 = 'national' OR ($1 = 'ars' AND r.region = $2) OR ($1 = 'structure' AND r.structure_id = $3::bigint))"
#define RUN_COLUMNS                                                                                          \
	"r.id, r.structure_id, r.region, r.year, r.quarter, r.phase, r.what_if, r.option, r.enrolment_id,"   \
	" r.parameter_set_id, r.model_id, r.batch_id, r.job_id, r.inputs_digest, r.code_version, r.patients,"  \
	" r.total_cents, r.result, " CURRENT ","                                                               \
	" to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at,"           \
	" coalesce((SELECT json_agg(json_build_object('seq', s.seq, 'kind', s.kind, 'quarter', s.quarter,"      \
	"  'due_on', s.due_on, 'cents', s.cents) ORDER BY s.seq) FROM peps_schedule s WHERE s.run_id = r.id),"  \
	"  '[]') AS schedule"

static const struct db_stmt Q_RUN_GET = {
	"peps_run_get", "SELECT " RUN_COLUMNS " FROM peps_runs r WHERE r.id = $4 AND " RUN_SCOPE, 4
};

static void scope4(const struct caller *caller, int64_t id, struct scope_params *sp, char *sid, const char **p)
{
	store_scope(caller, sp);
	snprintf(sid, 24, "%lld", (long long)id);
	p[0] = sp->v[0];
	p[1] = sp->v[1];
	p[2] = sp->v[2];
	p[3] = sid;
}

/* The instalments the current official prospective quarter runs of a
 * structure's year paid: [{quarter, cents}]. */
static const struct db_stmt Q_PAID = {
	"peps_paid",
	"SELECT s.quarter, s.cents FROM peps_runs r JOIN peps_schedule s ON s.run_id = r.id AND s.kind = 'instalment'"
	" WHERE r.structure_id = $1 AND r.year = $2 AND r.quarter IS NOT NULL AND r.phase = 'prospective'"
	" AND " CURRENT_COND " ORDER BY s.quarter",
	2
};

int store_peps_paid(struct db_conn *c, int64_t structure_id, int year, json_t **items, struct a51_error *err)
{
	char sid[24], y[8];
	const char *p[2] = { sid, y };

	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	snprintf(y, sizeof(y), "%d", year);
	return store_all(c, &Q_PAID, p, items, err);
}

static const struct db_stmt Q_BATCH_GET = {
	"peps_batch_get",
	"SELECT b.id, b.year, b.quarter, b.phase, b.region, b.job_id, b.summary,"
	" to_char(b.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"
	" FROM peps_batches b WHERE b.id = $3 AND ($1 = 'national' OR ($1 = 'ars' AND b.region = $2))",
	3
};

int store_peps_batch_get(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out,
			 struct a51_error *err)
{
	struct scope_params sp;
	char sid[24];
	const char *p[3];
	int rc;

	store_scope(caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	p[0] = sp.v[0];
	p[1] = sp.v[1];
	p[2] = sid;
	rc = store_one(c, &Q_BATCH_GET, p, out, err);
	if (rc == A51_ENOTFOUND)
		a51_error_set(err, A51_ENOTFOUND, "id", "no PEPS batch %lld", (long long)id);
	return rc;
}


int store_peps_run_get(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out,
		       struct a51_error *err)
{
	struct scope_params sp;
	char sid[24];
	const char *p[4];
	int rc;

	scope4(caller, id, &sp, sid, p);
	rc = store_one(c, &Q_RUN_GET, p, out, err);
	if (rc == A51_ENOTFOUND)
		a51_error_set(err, A51_ENOTFOUND, "id", "no PEPS run %lld", (long long)id);
	return rc;
}

static const struct db_stmt Q_RUNS = {
	"peps_runs_list",
	"SELECT r.id, r.structure_id, r.region, r.year, r.quarter, r.phase, r.what_if, r.option, r.patients,"
	" r.total_cents, r.batch_id, r.inputs_digest, " CURRENT ","
	" to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"
	" FROM peps_runs r WHERE " RUN_SCOPE " AND ($4::bigint = 0 OR r.structure_id = $4)"
	" AND ($5::int = 0 OR r.year = $5) AND ($6::text IS NULL OR r.phase = $6)"
	" AND ($7::text IS NULL OR r.what_if = $7::bool) AND ($8::bigint = 0 OR r.batch_id = $8)"
	" AND ($9::bigint = 0 OR r.id < $9) AND (NOT $11::bool OR " CURRENT_COND ") ORDER BY r.id DESC LIMIT $10",
	11
};

int store_peps_runs_list(struct db_conn *c, const struct caller *caller, const struct peps_run_filter *f,
			 json_t **items, struct a51_error *err)
{
	struct scope_params sp;
	char sid[24], y[8], batch[24], before[24], limit[16];
	const char *p[11];

	store_scope(caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)f->structure_id);
	snprintf(y, sizeof(y), "%d", f->year);
	snprintf(batch, sizeof(batch), "%lld", (long long)f->batch_id);
	snprintf(before, sizeof(before), "%lld", (long long)f->before_id);
	snprintf(limit, sizeof(limit), "%d", f->limit);
	p[0] = sp.v[0];
	p[1] = sp.v[1];
	p[2] = sp.v[2];
	p[3] = sid;
	p[4] = y;
	p[5] = f->phase;
	p[6] = f->what_if;
	p[7] = batch;
	p[8] = before;
	p[9] = limit;
	p[10] = f->current_only ? "true" : "false";
	return store_all(c, &Q_RUNS, p, items, err);
}

static const struct db_stmt Q_LINES = {
	"peps_lines",
	"SELECT l.patient_id AS id, l.cell, l.ald_groups, l.flags, l.covered_days, l.covered_at_start, l.base_cents,"
	" l.fidelisation, l.rate_cents, l.earned_cents, l.team_cents, l.all_cents, l.ffs_cents, l.amount_cents"
	" FROM peps_lines l JOIN peps_runs r ON r.id = l.run_id"
	" WHERE l.run_id = $4 AND " RUN_SCOPE " AND l.patient_id > $5 ORDER BY l.patient_id LIMIT $6",
	6
};

int store_peps_lines(struct db_conn *c, const struct caller *caller, int64_t run_id, int64_t after, int limit,
		     json_t **items, struct a51_error *err)
{
	struct scope_params sp;
	char sid[24], a[24], l[16];
	const char *p[6];

	scope4(caller, run_id, &sp, sid, p);
	snprintf(a, sizeof(a), "%lld", (long long)after);
	snprintf(l, sizeof(l), "%d", limit);
	p[4] = a;
	p[5] = l;
	return store_all(c, &Q_LINES, p, items, err);
}

/* ---- splitting a run between the team's members ---- */

/* Members over the run's period with what each key weighs them by: FTE,
 * MT patients declared to them (GPs), their perimeter fee-for-service in the
 * year before. */
static const struct db_stmt Q_MEMBERS = {
	"peps_members",
	"SELECT p.rpps, p.profession, max(m.fte)::float8 AS fte,"
	" (SELECT count(DISTINCT d.patient_id) FROM mt_declarations d WHERE d.gp_rpps = p.rpps"
	"  AND daterange(d.start_on, d.end_on, '[]') && daterange($2::date, $3::date, '[]')) AS patients,"
	" (SELECT coalesce(sum(c.base_cents), 0) FROM claims c WHERE c.dataset = $1 AND c.rpps = p.rpps"
	"  AND c.care_date >= ($2::date - interval '1 year') AND c.care_date < $2::date"
	"  AND c.act_code = ANY($4::text[])) AS prior_ffs_cents"
	" FROM memberships m JOIN professionals p ON p.id = m.professional_id"
	" WHERE m.structure_id = $1 AND m.start_on <= $3::date AND (m.end_on IS NULL OR m.end_on >= $2::date)"
	" GROUP BY p.rpps, p.profession ORDER BY p.rpps",
	4
};

int store_peps_members(struct db_conn *c, int64_t structure_id, const char *from, const char *to, const char *acts,
		       json_t **items, struct a51_error *err)
{
	char sid[24];
	const char *p[4] = { sid, from, to, acts };

	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	return store_all(c, &Q_MEMBERS, p, items, err);
}

static const struct db_stmt Q_SPLIT_SAVE = {
	"peps_split_save",
	"INSERT INTO peps_distributions (run_id, version, key, shares, total_cents, created_by)"
	" SELECT $1, coalesce(max(version), 0) + 1, $2, $3::jsonb, $4, $5 FROM peps_distributions WHERE run_id = $1"
	" RETURNING id, run_id, version, key, shares, total_cents,"
	" to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at",
	5
};

static const struct db_stmt Q_SPLIT_RUN = {
	"peps_split_run", "SELECT region, structure_id FROM peps_runs WHERE id = $1::bigint", 1
};

int store_peps_split_save(struct db_conn *c, const struct actor *a, int64_t run_id, const char *key,
			  const json_t *shares, int64_t total, json_t **out, struct a51_error *err)
{
	char r[24], t[24], by[24], *text = json_dumps(shares, JSON_COMPACT);
	const char *p[5] = { r, key, text, t, NULL };
	int rc;

	if (!text)
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	snprintf(r, sizeof(r), "%lld", (long long)run_id);
	snprintf(t, sizeof(t), "%lld", (long long)total);
	snprintf(by, sizeof(by), "%lld", (long long)a->caller->token_id);
	p[4] = a->caller->token_id ? by : NULL;
	/* versions of one run's split, one writer at a time */
	rc = db_run(c, "LOCK TABLE peps_distributions IN SHARE ROW EXCLUSIVE MODE", err);
	if (rc == 0)
		rc = store_one(c, &Q_SPLIT_SAVE, p, out, err);
	free(text);
	if (rc == 0) {
		/* the run's region and structure: its ARS and the team see the trace */
		struct audit_rec rec = { .action = "split", .resource_type = "peps_run" };
		json_t *run = NULL;
		const char *rp[1] = { r };
		if ((rc = store_one(c, &Q_SPLIT_RUN, rp, &run, err)) == 0) {
			snprintf(rec.resource_id, sizeof(rec.resource_id), "%lld", (long long)run_id);
			rec.region = json_string_value(json_object_get(run, "region"));
			rec.structure_id = json_integer_value(json_object_get(run, "structure_id"));
			rec.after = *out;
			rc = store_audit(c, a, &rec, err);
		}
		json_decref(run);
	}
	return rc;
}

static const struct db_stmt Q_SPLIT_GET = {
	"peps_split_get",
	"SELECT id, run_id, version, key, shares, total_cents,"
	" to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"
	" FROM peps_distributions WHERE run_id = $1 ORDER BY version DESC LIMIT 1",
	1
};

int store_peps_split_get(struct db_conn *c, int64_t run_id, json_t **out, struct a51_error *err)
{
	char r[24];
	const char *p[1] = { r };

	snprintf(r, sizeof(r), "%lld", (long long)run_id);
	return store_one(c, &Q_SPLIT_GET, p, out, err);
}

/* ---- batches ---- */

static const struct db_stmt Q_BATCH = {
	"peps_batch",
	"INSERT INTO peps_batches (year, quarter, phase, region, job_id, summary, created_by)"
	" VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) RETURNING id",
	7
};

int store_peps_batch_insert(struct db_conn *c, const struct actor *a, int year, int quarter, const char *phase,
			    const char *region, int64_t job_id, int64_t *id, struct a51_error *err)
{
	char y[8], q[8], j[24], by[24];
	const char *p[7] = { y, quarter ? q : NULL, phase, region, job_id ? j : NULL, "{}", NULL };
	json_t *row;
	int rc;

	snprintf(y, sizeof(y), "%d", year);
	snprintf(q, sizeof(q), "%d", quarter);
	snprintf(j, sizeof(j), "%lld", (long long)job_id);
	snprintf(by, sizeof(by), "%lld", (long long)a->caller->token_id);
	p[6] = a->caller->token_id ? by : NULL;
	if ((rc = store_one(c, &Q_BATCH, p, &row, err)) < 0)
		return rc;
	*id = json_integer_value(json_object_get(row, "id"));
	json_decref(row);
	return 0;
}

int store_peps_batch_finish(struct db_conn *c, int64_t id, const json_t *summary, struct a51_error *err)
{
	char b[24], *text = json_dumps(summary, JSON_COMPACT);
	const char *p[2] = { b, text };
	int rc;

	if (!text)
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	snprintf(b, sizeof(b), "%lld", (long long)id);
	rc = db_run_params(c, "UPDATE peps_batches SET summary = $2::jsonb WHERE id = $1", 2, p, false, err);
	free(text);
	return rc;
}
