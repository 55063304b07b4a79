/* SQL of risk models: the population of a model (one row per patient with its
 * cell, ALD groups, flags, exposure and target) built in a temporary table,
 * streamed out with COPY; the stored models; the patients' scores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/riskmodel.h"
#include "a51/sha256.h"
#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

static void int_array(const int *v, int n, char *out, size_t cap)
{
	size_t len = (size_t)snprintf(out, cap, "{");

	for (int i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%d", i ? "," : "", v[i]);
	if (len < cap)
		snprintf(out + len, cap - len, "}");
}

/* The population of a model, one row per patient: its age-sex cell on 1
 * January, ALD groups in force then, C2S/AME flags, the share of the year it
 * was alive and born, and its spending on the target perimeter. COPY takes no
 * bind parameters, so the values travel as transaction-local settings set
 * by a parameterised set_config (never spliced into the SQL text). */
static const char SETTINGS[] =
	"SELECT set_config('a51.rm_dataset', $1, true), set_config('a51.rm_year', $2, true),"
	" set_config('a51.rm_region', $3, true), set_config('a51.rm_acts', coalesce($4, ''), true),"
	" set_config('a51.rm_stays', $5, true), set_config('a51.rm_g0', $6, true), set_config('a51.rm_g1', $7, true),"
	" set_config('a51.rm_g2', $8, true), set_config('a51.rm_g3', $9, true), set_config('a51.rm_g4', $10, true),"
	" set_config('a51.rm_g5', $11, true), set_config('a51.rm_ids', coalesce($12, ''), true),"
	" set_config('a51.rm_any', $13, true),"
	/* JIT compiling this query costs more than running it (1 s of 1.6 s measured) */
	" set_config('jit', 'off', true)";

/* As scalar subqueries, the settings are read once per query (an InitPlan),
 * not once per row. */
#define P_DS "(SELECT current_setting('a51.rm_dataset')::bigint)"
#define P_Y "(SELECT current_setting('a51.rm_year')::int)"
#define P_G(k) "CAST((SELECT current_setting('a51.rm_g" #k "')) AS int[])" /* ANY(subquery) would mean rows */

static const char POPULATION[] =
	"COPY (WITH pop AS (SELECT p.id, p.sex, p.birth_year, p.birth_month, p.death_date, p.c2s, p.ame, p.commune"
	"   FROM patients p"
	"   WHERE CASE WHEN (SELECT current_setting('a51.rm_any')::bool) THEN true WHEN " P_DS " = 0"
	"   THEN EXISTS (SELECT 1 FROM reference_patients r WHERE r.patient_id = p.id)"
	"   ELSE EXISTS (SELECT 1 FROM patient_links l WHERE l.patient_id = p.id AND l.structure_id = " P_DS ") END"
	"   AND ((SELECT current_setting('a51.rm_region')) = '' OR EXISTS (SELECT 1 FROM departements d"
	"   WHERE d.code = commune_departement(p.commune) AND d.region = (SELECT current_setting('a51.rm_region'))))"
	"   AND CASE WHEN (SELECT current_setting('a51.rm_ids')) = '' THEN true"
	/* IN (subquery) is hashed; = ANY(array) would scan the array for every patient */
	"   ELSE p.id IN (SELECT unnest(CAST((SELECT nullif(current_setting('a51.rm_ids'), '')) AS bigint[]))) END),"
	" span AS (SELECT id, greatest(make_date(" P_Y ", 1, 1), make_date(birth_year, coalesce(birth_month, 1), 1)) AS s,"
	"   least(make_date(" P_Y ", 12, 31), coalesce(death_date, make_date(" P_Y ", 12, 31))) AS e,"
	"   greatest(0, date_part('year', age(make_date(" P_Y ", 1, 1),"
	"   make_date(birth_year, coalesce(birth_month, 1), 1))))::int AS age FROM pop),"
	" ald AS (SELECT a.patient_id, bit_or(CASE WHEN a.ald = ANY(" P_G(0) ") THEN 1 WHEN a.ald = ANY(" P_G(1) ")"
	"   THEN 2 WHEN a.ald = ANY(" P_G(2) ") THEN 4 WHEN a.ald = ANY(" P_G(3) ") THEN 8"
	"   WHEN a.ald = ANY(" P_G(4) ") THEN 16 WHEN a.ald = ANY(" P_G(5) ") THEN 32 ELSE 64 END) AS mask"
	"   FROM patient_ald a JOIN pop ON pop.id = a.patient_id WHERE a.start_on <= make_date(" P_Y ", 1, 1)"
	"   AND (a.end_on IS NULL OR a.end_on >= make_date(" P_Y ", 1, 1)) GROUP BY 1),"
	" cl AS (SELECT c.patient_id, sum(c.base_cents) AS y FROM claims c"
	"   WHERE c.dataset = " P_DS " AND c.care_date BETWEEN make_date(" P_Y ", 1, 1) AND make_date(" P_Y ", 12, 31)"
	"   AND CASE WHEN (SELECT current_setting('a51.rm_acts')) = '' THEN true"
	"   ELSE c.act_code = ANY(CAST((SELECT nullif(current_setting('a51.rm_acts'), '')) AS text[])) END"
	"   GROUP BY 1),"
	" st AS (SELECT s.patient_id, sum(s.amount_cents) AS y FROM stays s"
	"   WHERE (SELECT current_setting('a51.rm_stays')::bool) AND s.dataset = " P_DS
	"   AND s.admission_date BETWEEN make_date(" P_Y ", 1, 1) AND make_date(" P_Y ", 12, 31) GROUP BY 1)"
	" SELECT pop.id, (CASE WHEN pop.sex = 2 THEN 10 ELSE 0 END) + CASE WHEN span.age < 5 THEN 0 WHEN span.age < 15"
	"   THEN 1 WHEN span.age < 25 THEN 2 WHEN span.age < 35 THEN 3 WHEN span.age < 45 THEN 4 WHEN span.age < 55"
	"   THEN 5 WHEN span.age < 65 THEN 6 WHEN span.age < 75 THEN 7 WHEN span.age < 85 THEN 8 ELSE 9 END,"
	"   coalesce(ald.mask, 0), pop.c2s::int | (pop.ame::int << 1),"
	"   (span.e - span.s + 1)::float8 / (make_date(" P_Y ", 12, 31) - make_date(" P_Y ", 1, 1) + 1),"
	"   coalesce(cl.y, 0) + coalesce(st.y, 0), coalesce(dep.quintile, 0)"
	" FROM pop JOIN span ON span.id = pop.id LEFT JOIN ald ON ald.patient_id = pop.id"
	" LEFT JOIN cl ON cl.patient_id = pop.id LEFT JOIN st ON st.patient_id = pop.id"
	" LEFT JOIN commune_deprivation dep ON dep.commune = pop.commune"
	" WHERE span.e >= span.s ORDER BY pop.id) TO STDOUT";

const char *store_rm_population_sql(void)
{
	return POPULATION;
}

/* One COPY text row: id, cell, ald, flags, exposure, y, deprivation quintile. */
static int parse_row(char *row, int n, struct rm_patient *pt)
{
	char *f[7], *s, *end;
	int k = 0;

	if (n < 1 || row[n - 1] != '\n')
		return -1;
	row[n - 1] = '\0';
	for (s = row, f[k++] = s; *s && k < 7; s++)
		if (*s == '\t') {
			*s = '\0';
			f[k++] = s + 1;
		}
	if (k != 7)
		return -1;
	pt->depriv = (int)strtol(f[6], &end, 10);
	pt->id = strtoll(f[0], &end, 10);
	pt->cell = (int)strtol(f[1], &end, 10);
	pt->ald = (unsigned)strtoul(f[2], &end, 10);
	{
		long flags = strtol(f[3], &end, 10);
		pt->c2s = flags & 1;
		pt->ame = (flags >> 1) & 1;
	}
	pt->exposure = strtod(f[4], &end);
	pt->y = strtod(f[5], &end);
	return 0;
}

struct pop_read {
	struct sha256 *digest;
	store_rm_row_fn fn;
	void *ctx;
};

static int population_row(void *ctx, char *row, int n, struct a51_error *err)
{
	struct pop_read *pr = ctx;
	struct rm_patient pt;

	if (pr->digest) /* the inputs digest covers the rows as PostgreSQL sent them */
		sha256_update(pr->digest, row, (size_t)n);
	if (parse_row(row, n, &pt) < 0)
		return a51_error_set(err, A51_EDB, "population", "unexpected COPY row");
	return pr->fn(pr->ctx, &pt, err);
}

int store_rm_population(struct db_conn *c, const struct rm_def *def, int64_t dataset, const int64_t *ids, size_t nids,
			bool any_dataset, struct sha256 *digest, store_rm_row_fn fn, void *ctx, struct a51_error *err)
{
	char ds[24], year[8], acts[512] = "{", groups[6][128], *idlist = NULL;
	const char *p[13];
	struct pop_read pr = { digest, fn, ctx };
	int rc;

	snprintf(ds, sizeof(ds), "%lld", (long long)dataset);
	snprintf(year, sizeof(year), "%d", def->year);
	for (int i = 0; i < def->nacts; i++)
		snprintf(acts + strlen(acts), sizeof(acts) - strlen(acts), "%s\"%s\"", i ? "," : "", def->acts[i]);
	snprintf(acts + strlen(acts), sizeof(acts) - strlen(acts), "}");
	for (int g = 0; g < 6; g++)
		int_array(def->ald_groups[g], def->nald[g], groups[g], sizeof(groups[g]));
	p[0] = ds;
	p[1] = year;
	p[2] = def->region;
	p[3] = def->nacts ? acts : NULL;
	p[4] = def->include_stays ? "true" : "false";
	for (int g = 0; g < 6; g++)
		p[5 + g] = groups[g];
	if (ids) {
		size_t cap = 24 * nids + 3, len = 0;
		if (!(idlist = malloc(cap)))
			return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		idlist[len++] = '{';
		for (size_t i = 0; i < nids; i++)
			len += (size_t)snprintf(idlist + len, cap - len, "%s%lld", i ? "," : "", (long long)ids[i]);
		snprintf(idlist + len, cap - len, "}");
	}
	p[11] = idlist;
	p[12] = any_dataset && ids ? "true" : "false";
	rc = db_run_params(c, SETTINGS, 13, p, true, err);
	free(idlist);
	if (rc < 0)
		return rc;
	return db_copy_out(c, POPULATION, population_row, &pr, err);
}

#define RM_COLUMNS                                                                                       \
	"m.id, m.name, m.version, m.region, m.method, m.definition, m.terms, m.coefficients, m.stats,"    \
	" m.diagnostics, m.warnings, m.inputs_digest, m.code_version, m.job_id, m.created_by,"           \
	" to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"

static const struct db_stmt Q_INSERT = {
	"rm_insert",
	"WITH m AS (INSERT INTO risk_models (name, version, region, definition, method, terms, coefficients, stats,"
	" diagnostics, warnings, inputs_digest, code_version, job_id, created_by)"
	" SELECT $1, coalesce(max(version), 0) + 1, $2, $3::jsonb, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8::jsonb,"
	" $9::jsonb, $10, $11, $12, $13 FROM risk_models WHERE name = $1 AND region IS NOT DISTINCT FROM $2"
	" RETURNING *) SELECT " RM_COLUMNS " FROM m",
	13
};

int store_rm_insert(struct db_conn *c, const struct actor *a, const struct rm_record *m, json_t **out,
		    struct a51_error *err)
{
	char *texts[6] = { json_dumps(m->definition, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15)), json_dumps(m->terms, JSON_COMPACT),
			   json_dumps(m->coefficients, JSON_COMPACT), json_dumps(m->stats, JSON_COMPACT),
			   json_dumps(m->diagnostics, JSON_COMPACT), json_dumps(m->warnings, JSON_COMPACT) };
	char job[24], by[24];
	const char *p[13];
	struct audit_rec rec = { .action = "create", .resource_type = "risk_model" };
	int rc;

	snprintf(job, sizeof(job), "%lld", (long long)m->job_id);
	snprintf(by, sizeof(by), "%lld", (long long)a->caller->token_id);
	p[0] = m->name;
	p[1] = m->region && *m->region ? m->region : NULL;
	p[2] = texts[0];
	p[3] = m->method;
	p[4] = texts[1];
	p[5] = texts[2];
	p[6] = texts[3];
	p[7] = texts[4];
	p[8] = texts[5];
	p[9] = m->inputs_digest;
	p[10] = m->code_version;
	p[11] = m->job_id ? job : NULL;
	p[12] = a->caller->token_id ? by : NULL;
	/* one version per name at a time */
	rc = db_run(c, "LOCK TABLE risk_models IN SHARE ROW EXCLUSIVE MODE", err);
	if (rc == 0)
		rc = store_one(c, &Q_INSERT, p, out, err);
	for (int i = 0; i < 6; i++)
		free(texts[i]);
	if (rc < 0)
		return rc;
	snprintf(rec.resource_id, sizeof(rec.resource_id), "%lld",
		 (long long)json_integer_value(json_object_get(*out, "id")));
	rec.region = m->region && *m->region ? m->region : NULL;
	{
		json_t *after = json_pack("{s:s,s:O,s:s,s:s}", "name", m->name, "version", json_object_get(*out, "version"),
					  "method", m->method, "inputs_digest", m->inputs_digest);
		rec.after = after;
		rc = store_audit(c, a, &rec, err);
		json_decref(after);
	}
	return rc;
}

static const struct db_stmt Q_GET = { "rm_get", "SELECT " RM_COLUMNS " FROM risk_models m WHERE m.id = $1", 1 };
static const struct db_stmt Q_LIST = {
	"rm_list",
	"SELECT m.id, m.name, m.version, m.region, m.method, m.definition->>'target' AS target,"
	" (m.definition->>'year')::int AS year, m.stats->'n' AS n, m.stats->'r2' AS r2, m.inputs_digest,"
	" to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"
	" FROM risk_models m WHERE ($1::text IS NULL OR m.name = $1) ORDER BY m.name, m.version",
	1
};

int store_rm_get(struct db_conn *c, int64_t id, json_t **out, struct a51_error *err)
{
	char sid[24];
	const char *p[1] = { sid };
	int rc;

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	rc = store_one(c, &Q_GET, p, out, err);
	if (rc == A51_ENOTFOUND)
		a51_error_set(err, A51_ENOTFOUND, "id", "no risk model %lld", (long long)id);
	return rc;
}

int store_rm_list(struct db_conn *c, const char *name, json_t **items, struct a51_error *err)
{
	const char *p[1] = { name };

	return store_all(c, &Q_LIST, p, items, err);
}

int store_scores_begin(struct db_conn *c, int64_t model_id, int64_t dataset, int year, struct a51_error *err)
{
	char m[24], d[24], y[8];
	const char *p[3] = { m, d, y };
	int rc;

	snprintf(m, sizeof(m), "%lld", (long long)model_id);
	snprintf(d, sizeof(d), "%lld", (long long)dataset);
	snprintf(y, sizeof(y), "%d", year);
	/* two runs of the same (model, population, year) take turns: the second
	 * waits, then replaces the first's scores */
	if ((rc = db_run_params(c, "SELECT pg_advisory_xact_lock(hashtextextended('scores:' || $1 || ':' || $2 || ':' || $3, 0))",
				3, p, true, err)) < 0 ||
	    (rc = db_run_params(c, "DELETE FROM patient_scores WHERE model_id = $1 AND dataset = $2 AND year = $3", 3, p,
				false, err)) < 0)
		return rc;
	return db_copy_in_begin(c, "COPY patient_scores (model_id, dataset, year, patient_id, expected_cents, cell,"
				   " ald_groups, flags, exposure, job_id, deprivation) FROM STDIN", err);
}

int store_scores_put(struct db_conn *c, const char *rows, size_t n, struct a51_error *err)
{
	return db_copy_in_put(c, rows, n, err);
}

int store_scores_end(struct db_conn *c, struct a51_error *err)
{
	return db_copy_in_end(c, err);
}

/* Scores are readable by who may see the population: a structure's by the
 * structure, its ARS and national callers; the reference population's by
 * national callers. */
#define SCORES_SCOPE                                                                                   \
	"(CASE WHEN $5::bigint = 0 THEN $1 = 'national' ELSE EXISTS (SELECT 1 FROM structures s"        \
	" WHERE s.id = $5::bigint AND " STORE_SCOPE_STRUCTURE("s") ") END)"

static const struct db_stmt Q_SCORES_SUMMARY = {
	"scores_summary",
	"SELECT count(*) AS patients, coalesce(sum(ps.expected_cents), 0)::bigint AS total_expected_cents,"
	" coalesce(sum(round(ps.expected_cents * ps.exposure)), 0)::bigint AS total_expected_exposed_cents,"
	" max(ps.job_id) AS job_id FROM patient_scores ps"
	" WHERE ps.model_id = $4 AND ps.dataset = $5 AND ps.year = $6 AND " SCORES_SCOPE,
	6
};
static const struct db_stmt Q_SCORES_LIST = {
	"scores_list",
	"SELECT ps.patient_id AS id, ps.expected_cents, ps.cell, ps.ald_groups, ps.flags, ps.deprivation, ps.exposure"
	" FROM patient_scores ps WHERE ps.model_id = $4 AND ps.dataset = $5 AND ps.year = $6"
	" AND ps.patient_id > $7 AND ($8::bigint = 0 OR ps.patient_id = $8) AND " SCORES_SCOPE
	" ORDER BY ps.patient_id LIMIT $9",
	9
};

int store_scores_list(struct db_conn *c, const struct caller *caller, const struct scores_query *q, json_t **summary,
		      json_t **items, struct a51_error *err)
{
	struct scope_params sp;
	char m[24], d[24], y[8], after[24], one[24], limit[16];
	const char *p[9];
	int rc;

	store_scope(caller, &sp);
	snprintf(m, sizeof(m), "%lld", (long long)q->model_id);
	snprintf(d, sizeof(d), "%lld", (long long)q->dataset);
	snprintf(y, sizeof(y), "%d", q->year);
	snprintf(after, sizeof(after), "%lld", (long long)q->after);
	snprintf(one, sizeof(one), "%lld", (long long)q->patient_id);
	snprintf(limit, sizeof(limit), "%d", q->limit);
	p[0] = sp.v[0];
	p[1] = sp.v[1];
	p[2] = sp.v[2];
	p[3] = m;
	p[4] = d;
	p[5] = y;
	p[6] = after;
	p[7] = one;
	p[8] = limit;
	if ((rc = store_one(c, &Q_SCORES_SUMMARY, p, summary, err)) < 0)
		return rc;
	if (json_integer_value(json_object_get(*summary, "patients")) == 0) {
		json_decref(*summary);
		*summary = NULL;
		return a51_error_set(err, A51_ENOTFOUND, "scores",
				     "no scores of model %lld for this population and year: run a scoring job first",
				     (long long)q->model_id);
	}
	if ((rc = store_all(c, &Q_SCORES_LIST, p, items, err)) < 0) {
		json_decref(*summary);
		*summary = NULL;
	}
	return rc;
}
