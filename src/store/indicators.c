/* SQL of quality indicators: counting each measure over the structures of a
 * region (or one of them) in one statement per indicator, the experience
 * answers, the runs and their values, the care gaps, and the reads the
 * dashboards make. Every statement takes its inputs as parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

/*
 * The population of an indicator, for the structures of region $1 whose kind
 * is in $3 (and is $4 unless 0), on 31 December of year $2: the médecin-
 * traitant patientèle of their GPs ($5 = 'patientele') or the patients they
 * uploaded ($5 = 'linked'), alive and born that day, aged $6..$7, with C2S
 * $9 (NULL: any), in an ALD of $8 during the year (empty: any).
 */
#define POP_SQL                                                                                                   \
	"WITH d AS (SELECT make_date($2::int, 1, 1) AS j, make_date($2::int, 12, 31) AS e),"                           \
	" s AS (SELECT x.id FROM structures x, d WHERE x.region = $1 AND x.kind = ANY($3::text[])"                     \
	"  AND ($4::bigint = 0 OR x.id = $4::bigint) AND (x.closed_on IS NULL OR x.closed_on >= d.j)),"                \
	" base AS (SELECT m.structure_id AS sid, md.patient_id AS pid FROM d CROSS JOIN s"                             \
	"  JOIN memberships m ON m.structure_id = s.id JOIN professionals g ON g.id = m.professional_id"               \
	"   AND g.profession = 'MG' JOIN mt_declarations md ON md.gp_rpps = g.rpps"                                    \
	"  WHERE $5::text = 'patientele' AND m.start_on <= d.e AND (m.end_on IS NULL OR m.end_on >= d.e)"             \
	"   AND md.start_on <= d.e AND (md.end_on IS NULL OR md.end_on >= d.e)"                                        \
	"  UNION SELECT l.structure_id, l.patient_id FROM s JOIN patient_links l ON l.structure_id = s.id"            \
	"  WHERE $5::text = 'linked'),"                                                                                \
	" pop AS (SELECT b.sid, b.pid FROM base b JOIN patients p ON p.id = b.pid CROSS JOIN d"                        \
	"  WHERE make_date(p.birth_year, coalesce(p.birth_month, 1), 1) <= d.e"                                        \
	"  AND (p.death_date IS NULL OR p.death_date > d.e) AND $2::int - p.birth_year BETWEEN $6::int AND $7::int"   \
	"  AND ($9::bool IS NULL OR p.c2s = $9::bool) AND (cardinality($8::int[]) = 0 OR EXISTS (SELECT 1"             \
	"   FROM patient_ald a WHERE a.patient_id = p.id AND a.ald = ANY($8::int[]) AND a.start_on <= d.e"             \
	"   AND (a.end_on IS NULL OR a.end_on >= d.j))))"

/* claims of the measure's codes ($10) in the year, for a population row */
#define ACTS_IN_YEAR                                                                                              \
	"(SELECT count(*) FROM claims c WHERE c.dataset = pop.sid AND c.patient_id = pop.pid"                           \
	" AND c.care_date BETWEEN d.j AND d.e AND c.act_code = ANY($10::text[]))"

static const struct db_stmt Q_MT_DECLARED = {
	"ind_mt_declared",
	POP_SQL " SELECT pop.sid, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM mt_declarations x"
	" WHERE x.patient_id = pop.pid AND x.start_on <= d.e AND (x.end_on IS NULL OR x.end_on >= d.e))),"
	" count(*) FROM pop CROSS JOIN d GROUP BY pop.sid ORDER BY pop.sid",
	9
};

static const struct db_stmt Q_ACTS = {
	"ind_acts",
	POP_SQL ", n AS (SELECT pop.sid, " ACTS_IN_YEAR " AS k FROM pop CROSS JOIN d)"
	" SELECT sid, count(*) FILTER (WHERE k >= $11::int), count(*) FROM n GROUP BY sid ORDER BY sid",
	11
};

/* quarters of the year with at least $11 such claims; at least $12 of them */
static const struct db_stmt Q_ACTS_QUARTERS = {
	"ind_acts_quarters",
	POP_SQL ", n AS (SELECT pop.sid, (SELECT count(*) FROM (SELECT extract(quarter FROM c.care_date)"
	"  FROM claims c WHERE c.dataset = pop.sid AND c.patient_id = pop.pid AND c.care_date BETWEEN d.j AND d.e"
	"  AND c.act_code = ANY($10::text[]) GROUP BY 1 HAVING count(*) >= $11::int) q) AS k FROM pop CROSS JOIN d)"
	" SELECT sid, count(*) FILTER (WHERE k >= $12::int), count(*) FROM n GROUP BY sid ORDER BY sid",
	12
};

/* RH30-like (DGOS/ATIH): patients with an MCO stay discharged in the year,
 * alive and not transferred out ('9', '7'), sessions (GHM 28) left out; of
 * them, those admitted again 1 to $10 days after a discharge, not by transfer. */
static const struct db_stmt Q_READMISSION = {
	"ind_readmission",
	POP_SQL ", n AS (SELECT pop.sid, pop.pid, bool_or(EXISTS (SELECT 1 FROM stays r WHERE r.dataset = pop.sid"
	"  AND r.patient_id = pop.pid AND r.field = 'MCO' AND r.admission_date BETWEEN t.discharge_date + 1"
	"  AND t.discharge_date + $10::int AND r.entry_mode <> '7' AND coalesce(r.ghm, '') NOT LIKE '28%')) AS re"
	"  FROM pop CROSS JOIN d JOIN stays t ON t.dataset = pop.sid AND t.patient_id = pop.pid AND t.field = 'MCO'"
	"  WHERE t.discharge_date BETWEEN d.j AND d.e AND t.exit_mode NOT IN ('7', '9')"
	"  AND coalesce(t.ghm, '') NOT LIKE '28%' GROUP BY pop.sid, pop.pid)"
	" SELECT pop.sid, count(*) FILTER (WHERE n.re), count(n.pid) FROM pop LEFT JOIN n ON n.sid = pop.sid"
	" AND n.pid = pop.pid GROUP BY pop.sid ORDER BY pop.sid",
	10
};

static const struct db_stmt Q_STAYS_DIAGNOSIS = {
	"ind_stays_diagnosis",
	POP_SQL " SELECT pop.sid, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM stays t WHERE t.dataset = pop.sid"
	" AND t.patient_id = pop.pid AND t.field = 'MCO' AND t.admission_date BETWEEN d.j AND d.e"
	" AND EXISTS (SELECT 1 FROM unnest($10::text[]) x WHERE starts_with(coalesce(t.main_diagnosis, ''), x)))),"
	" count(*) FROM pop CROSS JOIN d GROUP BY pop.sid ORDER BY pop.sid",
	10
};

/* The patients of an acts indicator below its minimum: paged by patient id. */
static const struct db_stmt Q_CARE_GAPS = {
	"ind_care_gaps",
	POP_SQL ", n AS (SELECT pop.pid, x.k, x.last_on FROM pop CROSS JOIN d CROSS JOIN LATERAL (SELECT"
	"  count(*) FILTER (WHERE c.care_date >= d.j) AS k, max(c.care_date) AS last_on FROM claims c"
	"  WHERE c.dataset = pop.sid AND c.patient_id = pop.pid AND c.care_date <= d.e"
	"  AND c.act_code = ANY($10::text[])) x WHERE pop.pid > $12::bigint)"
	" SELECT n.pid AS patient_id, p.birth_year, p.sex, p.c2s, n.k AS acts, to_char(n.last_on, 'YYYY-MM-DD') AS last_on"
	" FROM n JOIN patients p ON p.id = n.pid WHERE n.k < $11::int ORDER BY n.pid LIMIT $13::int",
	13
};

static void ints_array(char *dst, size_t cap, const int *v, int n)
{
	size_t off = (size_t)snprintf(dst, cap, "{");
	for (int i = 0; i < n && off < cap; i++)
		off += (size_t)snprintf(dst + off, cap - off, "%s%d", i ? "," : "", v[i]);
	if (off < cap)
		snprintf(dst + off, cap - off, "}");
}

/* A text[] literal of codes validated as [A-Za-z0-9_.-]: nothing to quote. */
static void words_array(char *dst, size_t cap, const char (*v)[16], int n)
{
	size_t off = (size_t)snprintf(dst, cap, "{");
	for (int i = 0; i < n && off < cap; i++)
		off += (size_t)snprintf(dst + off, cap - off, "%s\"%s\"", i ? "," : "", v[i]);
	if (off < cap)
		snprintf(dst + off, cap - off, "}");
}

struct pop_args {
	char year[8], sid[24], amin[8], amax[8], ald[128], codes[IND_LIST_MAX * 20], min[8], q[8], days[8];
	const char *p[13];
};

static void pop_args(struct pop_args *a, const struct ind_def *d, const char *region, int year,
		     const char *kinds, int64_t structure_id)
{
	snprintf(a->year, sizeof(a->year), "%d", year);
	snprintf(a->sid, sizeof(a->sid), "%lld", (long long)structure_id);
	snprintf(a->amin, sizeof(a->amin), "%d", d->age_min);
	snprintf(a->amax, sizeof(a->amax), "%d", d->age_max);
	ints_array(a->ald, sizeof(a->ald), d->ald, d->n_ald);
	words_array(a->codes, sizeof(a->codes), d->codes, d->n_codes);
	snprintf(a->min, sizeof(a->min), "%d", d->min);
	snprintf(a->q, sizeof(a->q), "%d", d->quarters);
	snprintf(a->days, sizeof(a->days), "%d", d->days);
	a->p[0] = region;
	a->p[1] = a->year;
	a->p[2] = kinds;
	a->p[3] = a->sid;
	a->p[4] = ind_base_name(d->base);
	a->p[5] = a->amin;
	a->p[6] = a->amax;
	a->p[7] = a->ald;
	a->p[8] = d->c2s < 0 ? NULL : d->c2s ? "true" : "false";
	switch (d->measure) {
	case IND_ACTS:
	case IND_ACTS_QUARTERS:
	case IND_STAYS_DIAGNOSIS:
		a->p[9] = a->codes;
		a->p[10] = a->min;
		a->p[11] = a->q;
		break;
	case IND_READMISSION:
		a->p[9] = a->days;
		break;
	default:
		break;
	}
}

int store_ind_count(struct db_conn *c, const struct ind_def *d, const char *region, int year, const char *kinds,
		    int64_t structure_id, struct ind_count **rows, size_t *n, struct a51_error *err)
{
	static const struct db_stmt *const by_measure[] = {
		[IND_MT_DECLARED] = &Q_MT_DECLARED,     [IND_ACTS] = &Q_ACTS,
		[IND_ACTS_QUARTERS] = &Q_ACTS_QUARTERS, [IND_READMISSION] = &Q_READMISSION,
		[IND_STAYS_DIAGNOSIS] = &Q_STAYS_DIAGNOSIS,
	};
	struct pop_args a = { 0 };
	PGresult *res;

	*rows = NULL;
	*n = 0;
	if (d->measure < 0 || (size_t)d->measure >= A51_ARRAY_LEN(by_measure))
		return a51_error_set(err, A51_EINTERNAL, "measure", "indicator %s has no measure", d->code);
	pop_args(&a, d, region, year, kinds, structure_id);
	if (!(res = db_exec(c, by_measure[d->measure], a.p, err)))
		return err->code;
	*n = (size_t)PQntuples(res);
	if (!(*rows = calloc(*n ? *n : 1, sizeof(**rows)))) {
		PQclear(res);
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	}
	for (size_t i = 0; i < *n; i++) {
		(*rows)[i].structure_id = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
		(*rows)[i].numerator = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
		(*rows)[i].denominator = strtoll(PQgetvalue(res, (int)i, 2), NULL, 10);
	}
	PQclear(res);
	return 0;
}

int store_ind_care_gaps(struct db_conn *c, const struct ind_def *d, const char *region, int year, const char *kinds,
			int64_t structure_id, int64_t after, int limit, json_t **items, struct a51_error *err)
{
	struct pop_args a = { 0 };
	char after_s[24], limit_s[16];

	pop_args(&a, d, region, year, kinds, structure_id);
	snprintf(after_s, sizeof(after_s), "%lld", (long long)after);
	snprintf(limit_s, sizeof(limit_s), "%d", limit);
	a.p[11] = after_s;
	a.p[12] = limit_s;
	return store_all(c, &Q_CARE_GAPS, a.p, items, err);
}

/* ---- experience ---- */

static const struct db_stmt Q_EXPERIENCE = {
	"ind_experience",
	"SELECT q.dataset, q.item, sum(q.answer), count(*), count(DISTINCT q.patient_id)"
	" FROM questionnaire_answers q JOIN structures s ON s.id = q.dataset"
	" WHERE s.region = $1 AND s.kind = ANY($2::text[]) AND q.questionnaire = $3"
	" AND q.answer BETWEEN $4::int AND $5::int AND ($6::bigint = 0 OR s.id = $6::bigint)"
	" GROUP BY GROUPING SETS ((q.dataset, q.item), (q.dataset)) ORDER BY 1, 2 NULLS FIRST",
	6
};

int store_ind_experience(struct db_conn *c, const char *region, const char *kinds, const char *questionnaire,
			 int scale_min, int scale_max, int64_t structure_id, struct ind_answers **rows, size_t *n,
			 struct a51_error *err)
{
	char lo[8], hi[8], sid[24];
	const char *p[6] = { region, kinds, questionnaire, lo, hi, sid };
	PGresult *res;

	*rows = NULL;
	*n = 0;
	snprintf(lo, sizeof(lo), "%d", scale_min);
	snprintf(hi, sizeof(hi), "%d", scale_max);
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	if (!(res = db_exec(c, &Q_EXPERIENCE, p, err)))
		return err->code;
	*n = (size_t)PQntuples(res);
	if (!(*rows = calloc(*n ? *n : 1, sizeof(**rows)))) {
		PQclear(res);
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	}
	for (size_t i = 0; i < *n; i++) {
		struct ind_answers *r = &(*rows)[i];
		r->structure_id = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
		r->item = PQgetisnull(res, (int)i, 1) ? 0 : (int)strtol(PQgetvalue(res, (int)i, 1), NULL, 10);
		r->sum = strtoll(PQgetvalue(res, (int)i, 2), NULL, 10);
		r->count = strtoll(PQgetvalue(res, (int)i, 3), NULL, 10);
		r->respondents = strtoll(PQgetvalue(res, (int)i, 4), NULL, 10);
	}
	PQclear(res);
	return 0;
}

/* ---- runs ---- */

static const struct db_stmt Q_STRUCTURES = {
	"ind_structures",
	"SELECT x.id, x.name, x.kind FROM structures x WHERE x.region = $1 AND x.kind = ANY($2::text[])"
	" AND (x.closed_on IS NULL OR x.closed_on >= make_date($3::int, 1, 1)) ORDER BY x.id",
	3
};

int store_ind_structures(struct db_conn *c, const char *region, const char *kinds, int year, json_t **items,
			 struct a51_error *err)
{
	char y[8];
	const char *p[3] = { region, kinds, y };

	snprintf(y, sizeof(y), "%d", year);
	return store_all(c, &Q_STRUCTURES, p, items, err);
}

/* The values of the latest run of a region and year: {"<sid>/<code>": value}. */
static const struct db_stmt Q_PREVIOUS = {
	"ind_previous",
	"SELECT v.structure_id, v.code, v.value FROM indicator_values v WHERE v.run_id = (SELECT max(r.id)"
	" FROM indicator_runs r WHERE r.region = $1 AND r.year = $2::int) AND v.value IS NOT NULL",
	2
};

int store_ind_previous(struct db_conn *c, const char *region, int year, json_t **map, struct a51_error *err)
{
	char y[8];
	const char *p[2] = { region, y };
	PGresult *res;

	snprintf(y, sizeof(y), "%d", year);
	*map = NULL;
	if (!(res = db_exec(c, &Q_PREVIOUS, p, err)))
		return err->code;
	*map = json_object();
	for (int i = 0; i < PQntuples(res); i++) {
		char key[96];
		snprintf(key, sizeof(key), "%s/%s", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
		json_object_set_new(*map, key, json_real(strtod(PQgetvalue(res, i, 2), NULL)));
	}
	PQclear(res);
	return 0;
}

static const struct db_stmt Q_RUN_RESERVE = {
	"ind_run_reserve", "SELECT nextval(pg_get_serial_sequence('indicator_runs', 'id'))", 0
};

int store_ind_run_reserve(struct db_conn *c, int64_t *id, struct a51_error *err)
{
	PGresult *res = db_exec(c, &Q_RUN_RESERVE, NULL, err);

	if (!res)
		return err->code;
	*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

static const struct db_stmt Q_RUN_INSERT = {
	"ind_run_insert",
	"INSERT INTO indicator_runs (id, region, year, parameter_set_id, job_id, code_version, structures, digest, result,"
	" created_by) VALUES ($10::bigint, $1, $2::int, $3::bigint, $4::bigint, $5, $6::int, $7, $8::jsonb, $9::bigint)",
	10
};

int store_ind_run_insert(struct db_conn *c, const struct ind_run_record *r, int64_t id, struct a51_error *err)
{
	char y[8], pset[24], job[24], n[16], by[24], ids[24],
		*text = json_dumps(r->result, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
	const char *p[10] = { r->region, y, pset, r->job_id ? job : NULL, r->code_version, n, r->digest, text,
			      r->created_by ? by : NULL, ids };
	PGresult *res;

	if (!text)
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	snprintf(y, sizeof(y), "%d", r->year);
	snprintf(pset, sizeof(pset), "%lld", (long long)r->parameter_set_id);
	snprintf(job, sizeof(job), "%lld", (long long)r->job_id);
	snprintf(n, sizeof(n), "%d", r->structures);
	snprintf(by, sizeof(by), "%lld", (long long)r->created_by);
	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	res = db_exec(c, &Q_RUN_INSERT, p, err);
	free(text);
	if (!res)
		return err->code;
	PQclear(res);
	return 0;
}

static const struct db_stmt Q_VALUE_INSERT = {
	"ind_value_insert",
	"INSERT INTO indicator_values (run_id, structure_id, code, numerator, denominator, value, ci_low, ci_high,"
	" previous, target, intermediate, points, how) VALUES ($1::bigint, $2::bigint, $3, $4::bigint, $5::bigint,"
	" $6::float8, $7::float8, $8::float8, $9::float8, $10::float8, $11::float8, $12::float8, $13)",
	13
};

/* %.17g: the stored double is the computed one, bit for bit */
static const char *real_or_null(char *buf, size_t cap, double v)
{
	if (v != v)
		return NULL;
	snprintf(buf, cap, "%.17g", v);
	return buf;
}

int store_ind_value_insert(struct db_conn *c, int64_t run_id, const struct ind_value *v, struct a51_error *err)
{
	char run[24], sid[24], num[24], den[24], r[8][32];
	const char *p[13] = { run, sid, v->code, num, den,
			      real_or_null(r[0], 32, v->value), real_or_null(r[1], 32, v->ci_low),
			      real_or_null(r[2], 32, v->ci_high), real_or_null(r[3], 32, v->previous),
			      real_or_null(r[4], 32, v->target), real_or_null(r[5], 32, v->intermediate),
			      real_or_null(r[6], 32, v->points), v->how };
	PGresult *res;

	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	snprintf(sid, sizeof(sid), "%lld", (long long)v->structure_id);
	snprintf(num, sizeof(num), "%lld", (long long)v->numerator);
	snprintf(den, sizeof(den), "%lld", (long long)v->denominator);
	if (!(res = db_exec(c, &Q_VALUE_INSERT, p, err)))
		return err->code;
	PQclear(res);
	return 0;
}

static const struct db_stmt Q_EXPERIENCE_INSERT = {
	"ind_experience_insert",
	"INSERT INTO indicator_experience (run_id, structure_id, respondents, overall, dimensions)"
	" VALUES ($1::bigint, $2::bigint, $3::int, $4::float8, $5::jsonb)",
	5
};

int store_ind_experience_insert(struct db_conn *c, int64_t run_id, int64_t structure_id, long respondents,
				double overall, const json_t *dimensions, struct a51_error *err)
{
	char run[24], sid[24], n[24], o[32], *text = json_dumps(dimensions, JSON_COMPACT | JSON_REAL_PRECISION(17));
	const char *p[5] = { run, sid, n, real_or_null(o, sizeof(o), overall), text };
	PGresult *res;

	if (!text)
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	snprintf(n, sizeof(n), "%ld", respondents);
	res = db_exec(c, &Q_EXPERIENCE_INSERT, p, err);
	free(text);
	if (!res)
		return err->code;
	PQclear(res);
	return 0;
}

/* Spending of the region's structures by quarter of N-1 and N, written in
 * SQL from SQL: town claims (base) and stays (by admission). */
static const struct db_stmt Q_SPENDING_INSERT = {
	"ind_spending_insert",
	"INSERT INTO indicator_spending (run_id, structure_id, year, quarter, town_cents, hospital_cents)"
	" SELECT $1::bigint, sid, y, q, sum(town)::bigint, sum(hospital)::bigint FROM ("
	"  SELECT c.dataset AS sid, extract(year FROM c.care_date)::int AS y, extract(quarter FROM c.care_date)::int AS q,"
	"   c.base_cents AS town, 0 AS hospital FROM claims c JOIN structures s ON s.id = c.dataset"
	"   WHERE s.region = $2 AND s.kind = ANY($3::text[])"
	"   AND c.care_date BETWEEN make_date($4::int - 1, 1, 1) AND make_date($4::int, 12, 31)"
	"  UNION ALL SELECT t.dataset, extract(year FROM t.admission_date)::int, extract(quarter FROM t.admission_date)::int,"
	"   0, t.amount_cents FROM stays t JOIN structures s ON s.id = t.dataset WHERE s.region = $2"
	"   AND s.kind = ANY($3::text[]) AND t.admission_date BETWEEN make_date($4::int - 1, 1, 1) AND make_date($4::int, 12, 31)"
	" ) x GROUP BY sid, y, q",
	4
};

int store_ind_spending_insert(struct db_conn *c, int64_t run_id, const char *region, const char *kinds, int year,
			      struct a51_error *err)
{
	char run[24], y[8];
	const char *p[4] = { run, region, kinds, y };
	PGresult *res;

	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	snprintf(y, sizeof(y), "%d", year);
	if (!(res = db_exec(c, &Q_SPENDING_INSERT, p, err)))
		return err->code;
	PQclear(res);
	return 0;
}

static const struct db_stmt Q_SPENDING_GET = {
	"ind_spending_get",
	"SELECT year, quarter, town_cents, hospital_cents FROM indicator_spending WHERE run_id = $1::bigint"
	" AND structure_id = $2::bigint ORDER BY year, quarter",
	2
};

int store_ind_spending(struct db_conn *c, int64_t run_id, int64_t structure_id, json_t **items, struct a51_error *err)
{
	char r[24], s[24];
	const char *p[2] = { r, s };

	snprintf(r, sizeof(r), "%lld", (long long)run_id);
	snprintf(s, sizeof(s), "%lld", (long long)structure_id);
	return store_all(c, &Q_SPENDING_GET, p, items, err);
}

/* ---- reads ---- */

#define IND_RUN_COLS                                                                                              \
	" r.id, r.region, r.year, r.parameter_set_id, r.job_id, r.code_version, r.structures, r.digest, r.result,"      \
	" to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"

/* An ARS reads its region's runs, a structure the runs of its region (the
 * values it may read are then its own). */
#define IND_RUN_SCOPE                                                                                             \
	"($1 = 'national' OR ($1 = 'ars' AND r.region = $2) OR ($1 = 'structure' AND r.region = (SELECT x.region"      \
	" FROM structures x WHERE x.id = $3::bigint)))"

static const struct db_stmt Q_RUN_GET = {
	"ind_run_get", "SELECT" IND_RUN_COLS " FROM indicator_runs r WHERE r.id = $4::bigint AND " IND_RUN_SCOPE, 4
};

int store_ind_run_get(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out, struct a51_error *err)
{
	struct scope_params sp;
	char ids[24];
	const char *p[4];
	int rc;

	store_scope(caller, &sp);
	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	p[0] = sp.v[0];
	p[1] = sp.v[1];
	p[2] = sp.v[2];
	p[3] = ids;
	rc = store_one(c, &Q_RUN_GET, p, out, err);
	if (rc == A51_ENOTFOUND)
		a51_error_set(err, A51_ENOTFOUND, "id", "no indicator run %lld", (long long)id);
	return rc;
}

static const struct db_stmt Q_RUNS = {
	"ind_runs",
	"SELECT" IND_RUN_COLS " FROM indicator_runs r WHERE " IND_RUN_SCOPE " AND r.region = $4"
	" AND ($5::int = 0 OR r.year = $5::int) AND ($6::bigint = 0 OR r.id < $6::bigint) ORDER BY r.id DESC LIMIT $7::int",
	7
};

int store_ind_runs_list(struct db_conn *c, const struct caller *caller, const char *region, int year, int64_t before,
			int limit, json_t **items, struct a51_error *err)
{
	struct scope_params sp;
	char y[8], b[24], l[16];
	const char *p[7];

	store_scope(caller, &sp);
	snprintf(y, sizeof(y), "%d", year);
	snprintf(b, sizeof(b), "%lld", (long long)before);
	snprintf(l, sizeof(l), "%d", limit);
	p[0] = sp.v[0];
	p[1] = sp.v[1];
	p[2] = sp.v[2];
	p[3] = region;
	p[4] = y;
	p[5] = b;
	p[6] = l;
	return store_all(c, &Q_RUNS, p, items, err);
}

/* The latest run of a region and year, if any (no scope: callers checked it). */
static const struct db_stmt Q_RUN_LATEST = {
	"ind_run_latest",
	"SELECT" IND_RUN_COLS " FROM indicator_runs r WHERE r.region = $1 AND r.year = $2::int ORDER BY r.id DESC LIMIT 1",
	2
};

int store_ind_run_latest(struct db_conn *c, const char *region, int year, json_t **out, struct a51_error *err)
{
	char y[8];
	const char *p[2] = { region, y };

	snprintf(y, sizeof(y), "%d", year);
	return store_one(c, &Q_RUN_LATEST, p, out, err);
}

static const struct db_stmt Q_VALUES = {
	"ind_values",
	"SELECT v.structure_id, v.code, v.numerator, v.denominator, v.value, v.ci_low, v.ci_high, v.previous, v.target,"
	" v.intermediate, v.points, v.how FROM indicator_values v WHERE v.run_id = $1::bigint"
	" AND ($2::bigint = 0 OR v.structure_id = $2::bigint) ORDER BY v.structure_id, v.code",
	2
};

int store_ind_values(struct db_conn *c, int64_t run_id, int64_t structure_id, json_t **items, struct a51_error *err)
{
	char r[24], s[24];
	const char *p[2] = { r, s };

	snprintf(r, sizeof(r), "%lld", (long long)run_id);
	snprintf(s, sizeof(s), "%lld", (long long)structure_id);
	return store_all(c, &Q_VALUES, p, items, err);
}

static const struct db_stmt Q_EXPERIENCE_GET = {
	"ind_experience_get",
	"SELECT e.structure_id, e.respondents, e.overall, e.dimensions FROM indicator_experience e"
	" WHERE e.run_id = $1::bigint AND ($2::bigint = 0 OR e.structure_id = $2::bigint) ORDER BY e.structure_id",
	2
};

int store_ind_experience_get(struct db_conn *c, int64_t run_id, int64_t structure_id, json_t **items,
			     struct a51_error *err)
{
	char r[24], s[24];
	const char *p[2] = { r, s };

	snprintf(r, sizeof(r), "%lld", (long long)run_id);
	snprintf(s, sizeof(s), "%lld", (long long)structure_id);
	return store_all(c, &Q_EXPERIENCE_GET, p, items, err);
}

/* A structure's values in the latest run of each year of its region. */
static const struct db_stmt Q_TREND = {
	"ind_trend",
	"SELECT r.year, v.code, v.value FROM indicator_values v JOIN indicator_runs r ON r.id = v.run_id"
	" WHERE v.structure_id = $1::bigint AND r.id IN (SELECT max(x.id) FROM indicator_runs x"
	"  WHERE x.region = $2 GROUP BY x.year) ORDER BY v.code, r.year",
	2
};

int store_ind_trend(struct db_conn *c, int64_t structure_id, const char *region, json_t **items,
		    struct a51_error *err)
{
	char s[24];
	const char *p[2] = { s, region };

	snprintf(s, sizeof(s), "%lld", (long long)structure_id);
	return store_all(c, &Q_TREND, p, items, err);
}
