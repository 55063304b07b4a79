/* SQL of the dashboards: what a structure's page and a region's page show
 * besides indicators — its runs of every experiment, spending by quarter,
 * patientèle composition, uploads, enrolments. The callers checked scope. */
#include <stdio.h>
#include <string.h>

#include "a51/store.h"
#include "a51/banned.h"

/* The run of a year in force: the latest official one (per quarter for PEPS,
 * per option for EDS), else the latest what-if. */
static const struct db_stmt Q_PEPS = {
	"dash_peps",
	"SELECT DISTINCT ON (coalesce(r.quarter, 0)) r.id AS run_id, r.quarter, r.phase, r.what_if, r.option,"
	" r.patients, r.total_cents, (r.result->>'forfait_cents')::bigint AS forfait_cents,"
	" r.result->'forfait_by_quarter' AS forfait_by_quarter, r.result->'ffs'->'by_quarter' AS ffs_by_quarter"
	" FROM peps_runs r WHERE r.structure_id = $1::bigint AND r.year = $2::int"
	" ORDER BY coalesce(r.quarter, 0), r.what_if, r.id DESC",
	2
};

static const struct db_stmt Q_IPEP = {
	"dash_ipep",
	"SELECT r.id AS run_id, r.phase, r.what_if, r.patients, r.total_cents,"
	" (r.result->'quality'->>'points')::float8 AS quality_points,"
	" (r.result->'quality'->>'max_points')::float8 AS quality_max_points"
	" FROM ipep_runs r WHERE r.structure_id = $1::bigint AND r.year = $2::int"
	" ORDER BY r.what_if, r.id DESC LIMIT 1",
	2
};

static const struct db_stmt Q_EDS = {
	"dash_eds",
	"SELECT DISTINCT ON (r.option) r.id AS run_id, r.option, r.phase, r.what_if, r.episodes, r.included,"
	" r.total_cents, (r.result->'reconciliation'->>'target_cents')::bigint AS target_cents,"
	" (r.result->'reconciliation'->>'actual_cents')::bigint AS actual_cents"
	" FROM eds_runs r WHERE r.structure_id = $1::bigint AND r.year = $2::int ORDER BY r.option, r.what_if, r.id DESC",
	2
};

/* Town claims (base) and hospital stays of the structure's data, by quarter of years N-1 and N. */
static const struct db_stmt Q_SPENDING = {
	"dash_spending",
	"SELECT y AS year, q AS quarter, sum(town)::bigint AS town_cents, sum(hospital)::bigint AS hospital_cents FROM ("
	" SELECT extract(year FROM c.care_date)::int AS y, extract(quarter FROM c.care_date)::int AS q,"
	"  c.base_cents AS town, 0 AS hospital FROM claims c WHERE c.dataset = $1::bigint"
	"  AND c.care_date BETWEEN make_date($2::int - 1, 1, 1) AND make_date($2::int, 12, 31)"
	" UNION ALL SELECT extract(year FROM t.admission_date)::int, extract(quarter FROM t.admission_date)::int,"
	"  0, t.amount_cents FROM stays t WHERE t.dataset = $1::bigint"
	"  AND t.admission_date BETWEEN make_date($2::int - 1, 1, 1) AND make_date($2::int, 12, 31)) x"
	" GROUP BY y, q ORDER BY y, q",
	2
};

/* The médecin-traitant patientèle of the structure's GPs on 31 December. */
static const struct db_stmt Q_PATIENTELE = {
	"dash_patientele",
	"WITH d AS (SELECT make_date($2::int, 12, 31) AS e, make_date($2::int, 1, 1) AS j),"
	" pop AS (SELECT DISTINCT md.patient_id AS pid FROM d CROSS JOIN memberships m"
	"  JOIN professionals g ON g.id = m.professional_id AND g.profession = 'MG'"
	"  JOIN mt_declarations md ON md.gp_rpps = g.rpps WHERE m.structure_id = $1::bigint"
	"  AND m.start_on <= d.e AND (m.end_on IS NULL OR m.end_on >= d.e)"
	"  AND md.start_on <= d.e AND (md.end_on IS NULL OR md.end_on >= d.e)),"
	" p AS (SELECT x.*, $2::int - x.birth_year AS age, EXISTS (SELECT 1 FROM patient_ald a WHERE a.patient_id = x.id"
	"  AND a.start_on <= d.e AND (a.end_on IS NULL OR a.end_on >= d.j)) AS in_ald"
	"  FROM pop JOIN patients x ON x.id = pop.pid CROSS JOIN d"
	"  WHERE (x.death_date IS NULL OR x.death_date > d.e) AND make_date(x.birth_year, coalesce(x.birth_month, 1), 1) <= d.e)"
	" SELECT count(*) AS patients, count(*) FILTER (WHERE sex = 2) AS women, count(*) FILTER (WHERE sex = 1) AS men,"
	" count(*) FILTER (WHERE in_ald) AS ald, count(*) FILTER (WHERE c2s) AS c2s, count(*) FILTER (WHERE ame) AS ame,"
	" count(*) FILTER (WHERE age < 16) AS a0, count(*) FILTER (WHERE age BETWEEN 16 AND 39) AS a16,"
	" count(*) FILTER (WHERE age BETWEEN 40 AND 59) AS a40, count(*) FILTER (WHERE age BETWEEN 60 AND 74) AS a60,"
	" count(*) FILTER (WHERE age >= 75) AS a75 FROM p",
	2
};

static const struct db_stmt Q_UPLOADS = {
	"dash_uploads",
	"SELECT u.kind, count(*) FILTER (WHERE u.status = 'succeeded') AS uploads,"
	" coalesce(sum(u.records) FILTER (WHERE u.status = 'succeeded'), 0)::bigint AS records,"
	" count(*) FILTER (WHERE u.status IN ('rejected', 'failed', 'aborted')) AS rejected,"
	" to_char(max(u.finished_at) FILTER (WHERE u.status = 'succeeded') AT TIME ZONE 'UTC',"
	"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_at"
	" FROM uploads u WHERE u.dataset = $1::bigint AND NOT u.dry_run GROUP BY u.kind ORDER BY u.kind",
	1
};

static const struct db_stmt Q_EXPERIMENTS = {
	"dash_experiments",
	"SELECT e.id AS enrolment_id, e.experiment, e.option, e.start_on::text AS start_on,"
	" (SELECT ph.phase FROM enrolment_phases ph WHERE ph.enrolment_id = e.id AND ph.start_on <= make_date($2::int, 12, 31)"
	"  ORDER BY ph.start_on DESC LIMIT 1) AS phase"
	" FROM enrolments e WHERE e.structure_id = $1::bigint AND e.withdrawn_on IS NULL ORDER BY e.experiment, e.option",
	2
};

int store_dash_structure(struct db_conn *c, int64_t structure_id, int year, bool with_spending, json_t *out,
			 struct a51_error *err)
{
	static const struct {
		const char *key;
		const struct db_stmt *st;
		bool one;
	} parts[] = {
		{ "peps", &Q_PEPS, false },	  { "ipep", &Q_IPEP, false },       { "eds", &Q_EDS, false },
		{ "spending", &Q_SPENDING, false }, { "patientele", &Q_PATIENTELE, true }, { "uploads", &Q_UPLOADS, false },
		{ "experiments", &Q_EXPERIMENTS, false },
	};
	char sid[24], y[8];
	const char *p[2] = { sid, y };

	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	snprintf(y, sizeof(y), "%d", year);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		json_t *v;
		int rc;
		if (parts[i].st == &Q_SPENDING && !with_spending)
			continue;
		rc = parts[i].one ? store_one(c, parts[i].st, p, &v, err) : store_all(c, parts[i].st, p, &v, err);
		if (rc < 0)
			return rc;
		json_object_set_new(out, parts[i].key, v);
	}
	return 0;
}

/* Every structure of a region with what it was paid for the year by the runs
 * in force (official ones only), its experiments, and its patients. */
static const struct db_stmt Q_REGION = {
	"dash_region",
	"SELECT s.id, s.name, s.kind, s.finess,"
	" (SELECT coalesce(json_agg(DISTINCT e.experiment), '[]'::json) FROM enrolments e"
	"  WHERE e.structure_id = s.id AND e.withdrawn_on IS NULL) AS experiments,"
	" (SELECT count(*) FROM patient_links l WHERE l.structure_id = s.id) AS patients,"
	" (SELECT coalesce(sum(x.total_cents), 0)::bigint FROM (SELECT DISTINCT ON (r.quarter) r.total_cents FROM peps_runs r"
	"  WHERE r.structure_id = s.id AND r.year = $2::int AND NOT r.what_if ORDER BY r.quarter, r.id DESC) x) AS peps_cents,"
	" (SELECT coalesce(sum(x.total_cents), 0)::bigint FROM (SELECT r.total_cents FROM ipep_runs r"
	"  WHERE r.structure_id = s.id AND r.year = $2::int AND NOT r.what_if ORDER BY r.id DESC LIMIT 1) x) AS ipep_cents,"
	" (SELECT coalesce(sum(x.total_cents), 0)::bigint FROM (SELECT DISTINCT ON (r.option) r.total_cents FROM eds_runs r"
	"  WHERE r.structure_id = s.id AND r.year = $2::int AND NOT r.what_if ORDER BY r.option, r.id DESC) x) AS eds_cents"
	" FROM structures s WHERE s.region = $1 AND (s.closed_on IS NULL OR s.closed_on >= make_date($2::int, 1, 1))"
	" ORDER BY s.id",
	2
};

int store_dash_region(struct db_conn *c, const char *region, int year, json_t **items, struct a51_error *err)
{
	char y[8];
	const char *p[2] = { region, y };

	snprintf(y, sizeof(y), "%d", year);
	return store_all(c, &Q_REGION, p, items, err);
}
