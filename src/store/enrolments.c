#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/buf.h"
#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

/* Members on the date, by profession. */
static const struct db_stmt Q_TEAM = {
	"elig_team",
	"SELECT s.kind, s.legal_form, s.finess IS NOT NULL,"
	" count(DISTINCT p.id) FILTER (WHERE p.profession = ANY($3::text[])),"
	" count(DISTINCT p.id) FILTER (WHERE p.profession = 'MG'),"
	" count(DISTINCT p.id) FILTER (WHERE p.profession = 'IDE')"
	" FROM structures s"
	" LEFT JOIN memberships m ON m.structure_id = s.id AND m.start_on <= $2::date"
	"  AND (m.end_on IS NULL OR m.end_on >= $2::date)"
	" LEFT JOIN professionals p ON p.id = m.professional_id"
	" WHERE s.id = $1 GROUP BY s.id",
	3
};

/* The médecin-traitant patientèle on the date: alive patients whose declared
 * GP is an MG member on that date; then the option's subset (domain.md §2.3). */
static const struct db_stmt Q_PATIENTS = {
	"elig_patients",
	"WITH gps AS (SELECT DISTINCT p.rpps FROM memberships m JOIN professionals p ON p.id = m.professional_id"
	"  WHERE m.structure_id = $1 AND p.profession = 'MG' AND m.start_on <= $2::date"
	"  AND (m.end_on IS NULL OR m.end_on >= $2::date)),"
	" pat AS (SELECT DISTINCT ON (d.patient_id) d.patient_id, d.gp_rpps FROM mt_declarations d"
	"  JOIN gps ON gps.rpps = d.gp_rpps WHERE d.start_on <= $2::date AND (d.end_on IS NULL OR d.end_on >= $2::date)),"
	" p AS (SELECT p.*, pat.gp_rpps,"
	"  date_part('year', age($2::date, make_date(p.birth_year, coalesce(p.birth_month, 1), 1)))::int AS age,"
	"  EXISTS (SELECT 1 FROM patient_ald a WHERE a.patient_id = p.id AND a.ald = ANY($6::int[])"
	"   AND a.start_on <= $2::date AND (a.end_on IS NULL OR a.end_on >= $2::date)) AS neuro,"
	"  EXISTS (SELECT 1 FROM patient_ald a WHERE a.patient_id = p.id AND a.ald = ANY($7::int[])"
	"   AND a.start_on <= $2::date AND (a.end_on IS NULL OR a.end_on >= $2::date)) AS diabetic"
	"  FROM pat JOIN patients p ON p.id = pat.patient_id"
	"  WHERE p.death_date IS NULL OR p.death_date > $2::date)"
	" SELECT count(*) FILTER (WHERE CASE $3::text"
	"   WHEN 'diabetic' THEN diabetic"
	"   WHEN 'elderly' THEN age >= $4::int OR (age >= $5::int AND neuro)"
	"   WHEN 'whole' THEN $8::boolean OR NOT ame"
	"   ELSE true END),"
	" count(DISTINCT gp_rpps) FROM p",
	8
};

static void int_array(const int *v, int n, char *out, size_t cap)
{
	size_t len = 0;

	len += (size_t)snprintf(out, cap, "{");
	for (int i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%d", i ? "," : "", v[i]);
	if (len < cap)
		snprintf(out + len, cap - len, "}");
}

int store_eligibility_measure(struct db_conn *c, int64_t structure_id, int experiment, int option, const char *on,
			      const struct elig_params *ep, const struct patientele_params *pp,
			      struct elig_measures *out, struct a51_error *err)
{
	char sid[24], profs[256] = "{", neuro[128], diab[128], age1[8], age2[8];
	const char *params[8];
	PGresult *res;
	int64_t v;

	memset(out, 0, sizeof(*out));
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	for (int i = 0; i < ep->n_team_professions; i++)
		snprintf(profs + strlen(profs), sizeof(profs) - strlen(profs), "%s%s", i ? "," : "",
			 ep->team_professions[i]);
	snprintf(profs + strlen(profs), sizeof(profs) - strlen(profs), "}");
	params[0] = sid;
	params[1] = on;
	params[2] = profs;
	if (!(res = db_exec(c, &Q_TEAM, params, err)))
		return err->code;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return a51_error_set(err, A51_ENOTFOUND, "structure", "no structure %lld", (long long)structure_id);
	}
	snprintf(out->kind, sizeof(out->kind), "%s", PQgetvalue(res, 0, 0));
	snprintf(out->legal_form, sizeof(out->legal_form), "%s", PQgetvalue(res, 0, 1));
	out->has_finess = PQgetvalue(res, 0, 2)[0] == 't';
	util_parse_i64(PQgetvalue(res, 0, 3), 0, INT32_MAX, &v);
	out->n_team = (int)v;
	util_parse_i64(PQgetvalue(res, 0, 4), 0, INT32_MAX, &v);
	out->n_gp = (int)v;
	util_parse_i64(PQgetvalue(res, 0, 5), 0, INT32_MAX, &v);
	out->n_nurses = (int)v;
	PQclear(res);
	if (experiment == EXP_EDS)
		return 0;

	int_array(pp->neuro_ald, pp->n_neuro_ald, neuro, sizeof(neuro));
	int_array(pp->diabetes_ald, pp->n_diabetes_ald, diab, sizeof(diab));
	snprintf(age1, sizeof(age1), "%d", pp->elderly_min_age);
	snprintf(age2, sizeof(age2), "%d", pp->neuro_min_age);
	params[2] = option_name(option);
	params[3] = age1;
	params[4] = age2;
	params[5] = neuro;
	params[6] = diab;
	params[7] = pp->whole_includes_ame ? "true" : "false";
	if (!(res = db_exec(c, &Q_PATIENTS, params, err)))
		return err->code;
	util_parse_i64(PQgetvalue(res, 0, 0), 0, INT64_MAX, &v);
	out->covered_patients = (long)v;
	util_parse_i64(PQgetvalue(res, 0, 1), 0, INT32_MAX, &v);
	out->n_gp_with_patients = (int)v;
	PQclear(res);
	return 0;
}

#define ENROLMENT_COLUMNS                                                                                  \
	"e.id, e.structure_id, e.experiment, e.option, e.start_on::text AS start_on,"                       \
	" e.withdrawn_on::text AS withdrawn_on, e.withdrawal_reason, e.parameter_set_id, e.eligibility,"    \
	" (SELECT ph.phase FROM enrolment_phases ph WHERE ph.enrolment_id = e.id"                           \
	"  ORDER BY ph.start_on DESC, ph.id DESC LIMIT 1) AS current_phase,"                                \
	" coalesce((SELECT json_agg(json_build_object('phase', ph.phase, 'start_on', ph.start_on)"          \
	"  ORDER BY ph.start_on, ph.id) FROM enrolment_phases ph WHERE ph.enrolment_id = e.id), '[]') AS phases," \
	" e.version, to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"

static const struct db_stmt Q_CREATE = {
	"enrolment_create",
	"INSERT INTO enrolments (structure_id, experiment, option, start_on, parameter_set_id, eligibility)"
	" VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING id",
	6
};
static const struct db_stmt Q_PHASE = {
	"enrolment_phase_insert",
	"INSERT INTO enrolment_phases (enrolment_id, phase, start_on, created_by) VALUES ($1, $2, $3, $4)", 4
};
/* A new phase changes the enrolment: its ETag must change too. */
static const struct db_stmt Q_BUMP = {
	"enrolment_bump", "UPDATE enrolments SET version = version + 1 WHERE id = $1", 1
};
static const struct db_stmt Q_GET = {
	"enrolment_get",
	"SELECT " ENROLMENT_COLUMNS " FROM enrolments e JOIN structures s ON s.id = e.structure_id"
	" WHERE e.structure_id = $4 AND e.id = $5 AND " STORE_SCOPE_STRUCTURE("s"),
	5
};
static const struct db_stmt Q_LIST = {
	"enrolments_list",
	"SELECT " ENROLMENT_COLUMNS " FROM enrolments e JOIN structures s ON s.id = e.structure_id"
	" WHERE e.structure_id = $4 AND " STORE_SCOPE_STRUCTURE("s") " ORDER BY e.id",
	4
};

static void audit_of(struct audit_rec *rec, const char *action, const char *region, int64_t structure_id,
		     const json_t *before, const json_t *after)
{
	memset(rec, 0, sizeof(*rec));
	rec->action = action;
	rec->resource_type = "enrolment";
	snprintf(rec->resource_id, sizeof(rec->resource_id), "%lld",
		 (long long)json_integer_value(json_object_get(after, "id")));
	rec->region = region;
	rec->structure_id = structure_id;
	rec->before = before;
	rec->after = after;
}

static int get_scoped(struct db_conn *c, const struct caller *caller, int64_t structure_id, const char *id,
		      json_t **out, struct a51_error *err)
{
	struct scope_params sp;
	char sid[24];
	const char *params[5];
	int rc;

	store_scope(caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	params[0] = sp.v[0];
	params[1] = sp.v[1];
	params[2] = sp.v[2];
	params[3] = sid;
	params[4] = id;
	rc = store_one(c, &Q_GET, params, out, err);
	if (rc == A51_ENOTFOUND)
		a51_error_set(err, A51_ENOTFOUND, "id", "no such enrolment in this structure");
	return rc;
}

int store_enrolment_create(struct db_conn *c, const struct actor *a, int64_t structure_id, const char *experiment,
			   const char *option, const char *start_on, const char *first_phase, int64_t param_set_id,
			   const json_t *report, json_t **out, struct a51_error *err)
{
	struct audit_rec rec;
	char region[4], sid[24], psid[24], eid[24], by[24];
	char *text = json_dumps(report, JSON_COMPACT);
	PGresult *res;
	int rc;

	*out = NULL;
	if (!text)
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	if ((rc = store_reach_structure(c, a->caller, structure_id, region, err)) < 0)
		goto out;
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	snprintf(psid, sizeof(psid), "%lld", (long long)param_set_id);
	snprintf(by, sizeof(by), "%lld", (long long)a->caller->token_id);
	{
		const char *params[6] = { sid, experiment, option, start_on, psid, text };
		if (!(res = db_exec(c, &Q_CREATE, params, err))) {
			rc = err->code == A51_ECONFLICT
				     ? a51_error_set(err, A51_ECONFLICT, "experiment",
						     "the structure is already enrolled in %s (%s)", experiment, option)
				     : err->code;
			goto out;
		}
		snprintf(eid, sizeof(eid), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	{
		const char *params[4] = { eid, first_phase, start_on, a->caller->token_id ? by : NULL };
		if (!(res = db_exec(c, &Q_PHASE, params, err))) {
			rc = err->code;
			goto out;
		}
		PQclear(res);
	}
	if ((rc = get_scoped(c, a->caller, structure_id, eid, out, err)) < 0)
		goto out;
	audit_of(&rec, "enrol", region, structure_id, NULL, *out);
	rc = store_audit(c, a, &rec, err);
out:
	free(text);
	return rc;
}

int store_enrolment_get(struct db_conn *c, const struct caller *caller, int64_t structure_id, int64_t id,
			json_t **out, struct a51_error *err)
{
	char eid[24];

	snprintf(eid, sizeof(eid), "%lld", (long long)id);
	return get_scoped(c, caller, structure_id, eid, out, err);
}

int store_enrolments_list(struct db_conn *c, const struct caller *caller, int64_t structure_id, json_t **items,
			  struct a51_error *err)
{
	struct scope_params sp;
	char sid[24], region[4];
	const char *params[4];
	int rc;

	if ((rc = store_reach_structure(c, caller, structure_id, region, err)) < 0)
		return rc;
	store_scope(caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	params[0] = sp.v[0];
	params[1] = sp.v[1];
	params[2] = sp.v[2];
	params[3] = sid;
	return store_all(c, &Q_LIST, params, items, err);
}

static const struct db_stmt Q_LOCK = {
	"enrolment_lock", "SELECT 1 FROM enrolments WHERE id = $1 FOR UPDATE", 1
};

/* Reads the enrolment under a row lock, for a change that depends on its state. */
static int lock_and_get(struct db_conn *c, const struct actor *a, int64_t structure_id, int64_t id,
			char region[4], char eid[24], json_t **before, struct a51_error *err)
{
	PGresult *res;
	int rc;

	if ((rc = store_reach_structure(c, a->caller, structure_id, region, err)) < 0)
		return rc;
	snprintf(eid, 24, "%lld", (long long)id);
	{
		const char *params[1] = { eid };
		if (!(res = db_exec(c, &Q_LOCK, params, err)))
			return err->code;
		PQclear(res);
	}
	return get_scoped(c, a->caller, structure_id, eid, before, err);
}

int store_enrolment_phase_add(struct db_conn *c, const struct actor *a, int64_t structure_id, int64_t id,
			      const char *phase, const char *start_on, json_t **out, struct a51_error *err)
{
	struct audit_rec rec;
	char region[4], eid[24], by[24];
	json_t *before = NULL, *phases, *last;
	const char *last_start;
	PGresult *res;
	int rc;

	*out = NULL;
	if ((rc = lock_and_get(c, a, structure_id, id, region, eid, &before, err)) < 0)
		return rc;
	if (!json_is_null(json_object_get(before, "withdrawn_on"))) {
		rc = a51_error_set(err, A51_ECONFLICT, "phase", "the enrolment was withdrawn on %s",
				   json_string_value(json_object_get(before, "withdrawn_on")));
		goto out;
	}
	phases = json_object_get(before, "phases");
	last = json_array_get(phases, json_array_size(phases) - 1);
	last_start = json_string_value(json_object_get(last, "start_on"));
	if (last_start && strcmp(start_on, last_start) <= 0) {
		rc = a51_error_set(err, A51_EINVAL, "start_on", "a phase starts after the current one (%s, on %s)",
				   json_string_value(json_object_get(last, "phase")), last_start);
		goto out;
	}
	snprintf(by, sizeof(by), "%lld", (long long)a->caller->token_id);
	{
		const char *params[4] = { eid, phase, start_on, a->caller->token_id ? by : NULL };
		if (!(res = db_exec(c, &Q_PHASE, params, err))) {
			rc = err->code == A51_ECONFLICT
				     ? a51_error_set(err, A51_ECONFLICT, "phase", "phase %s was already entered", phase)
				     : err->code;
			goto out;
		}
		PQclear(res);
		if (!(res = db_exec(c, &Q_BUMP, params, err))) {
			rc = err->code;
			goto out;
		}
		PQclear(res);
	}
	if ((rc = get_scoped(c, a->caller, structure_id, eid, out, err)) < 0)
		goto out;
	audit_of(&rec, "phase", region, structure_id, before, *out);
	rc = store_audit(c, a, &rec, err);
out:
	json_decref(before);
	return rc;
}

static const struct db_stmt Q_WITHDRAW = {
	"enrolment_withdraw",
	"UPDATE enrolments SET withdrawn_on = $2, withdrawal_reason = $3, version = version + 1 WHERE id = $1", 3
};

int store_enrolment_withdraw(struct db_conn *c, const struct actor *a, int64_t structure_id, int64_t id,
			     const char *on, const char *reason, json_t **out, struct a51_error *err)
{
	struct audit_rec rec;
	char region[4], eid[24];
	json_t *before = NULL;
	const char *start;
	PGresult *res;
	int rc;

	*out = NULL;
	if ((rc = lock_and_get(c, a, structure_id, id, region, eid, &before, err)) < 0)
		return rc;
	if (!json_is_null(json_object_get(before, "withdrawn_on"))) {
		rc = a51_error_set(err, A51_ECONFLICT, "on", "the enrolment was already withdrawn on %s",
				   json_string_value(json_object_get(before, "withdrawn_on")));
		goto out;
	}
	start = json_string_value(json_object_get(before, "start_on"));
	if (start && strcmp(on, start) < 0) {
		rc = a51_error_set(err, A51_EINVAL, "on", "withdrawal precedes the enrolment's start (%s)", start);
		goto out;
	}
	{
		const char *params[3] = { eid, on, reason };
		if (!(res = db_exec(c, &Q_WITHDRAW, params, err))) {
			rc = err->code;
			goto out;
		}
		PQclear(res);
	}
	if ((rc = get_scoped(c, a->caller, structure_id, eid, out, err)) < 0)
		goto out;
	audit_of(&rec, "withdraw", region, structure_id, before, *out);
	rc = store_audit(c, a, &rec, err);
out:
	json_decref(before);
	return rc;
}

/* ---- enrolments over a period (the runs of PEPS and IPEP) ---- */

static const struct db_stmt Q_ENROLMENT = {
	"enrolment_over",
	"SELECT e.id, e.option, s.region,"
	" (SELECT ph.phase FROM enrolment_phases ph WHERE ph.enrolment_id = e.id AND ph.start_on <= $3::date"
	"  ORDER BY ph.start_on DESC, ph.id DESC LIMIT 1) AS phase,"
	" (SELECT ph.phase FROM enrolment_phases ph WHERE ph.enrolment_id = e.id AND ph.start_on <= $2::date"
	"  ORDER BY ph.start_on DESC, ph.id DESC LIMIT 1) AS phase_from"
	" FROM enrolments e JOIN structures s ON s.id = e.structure_id"
	" WHERE e.structure_id = $1 AND e.experiment = $4 AND e.start_on <= $3::date"
	" AND (e.withdrawn_on IS NULL OR e.withdrawn_on >= $2::date) AND ($5::text IS NULL OR e.option = $5)"
	" ORDER BY e.start_on DESC, e.id DESC LIMIT 1",
	5
};

int store_enrolment_option_over(struct db_conn *c, int64_t structure_id, const char *experiment, const char *option,
				const char *from, const char *to, json_t **out, struct a51_error *err)
{
	char sid[24];
	const char *p[5] = { sid, from, to, experiment, option };
	int rc;

	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	rc = store_one(c, &Q_ENROLMENT, p, out, err);
	if (rc == A51_ENOTFOUND)
		return a51_error_set(err, A51_EINVAL, "structure_id", "structure %lld has no %s%s%s enrolment over %s to %s",
				     (long long)structure_id, experiment, option ? " " : "", option ? option : "", from, to);
	return rc;
}

int store_enrolment_over(struct db_conn *c, int64_t structure_id, const char *experiment, const char *from,
			 const char *to, json_t **out, struct a51_error *err)
{
	return store_enrolment_option_over(c, structure_id, experiment, NULL, from, to, out, err);
}

static const struct db_stmt Q_ENROLLED = {
	"enrolled_over",
	"SELECT DISTINCT e.structure_id FROM enrolments e JOIN structures s ON s.id = e.structure_id"
	" WHERE e.experiment = $4 AND e.start_on <= $2::date AND (e.withdrawn_on IS NULL OR e.withdrawn_on >= $1::date)"
	" AND ($3::text IS NULL OR s.region = $3) ORDER BY 1",
	4
};

int store_enrolled_over(struct db_conn *c, const char *experiment, const char *from, const char *to,
			const char *region, json_t **items, struct a51_error *err)
{
	const char *p[4] = { from, to, region, experiment };

	return store_all(c, &Q_ENROLLED, p, items, err);
}

