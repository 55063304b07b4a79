#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/buf.h"
#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

#define PATIENT_COLUMNS                                                                                     \
	"p.id, encode(p.pseudonym, 'hex') AS pseudonym,"                                                    \
	" CASE WHEN p.birth_month IS NULL THEN p.birth_year::text"                                          \
	"  ELSE p.birth_year::text || '-' || lpad(p.birth_month::text, 2, '0') END AS birth,"               \
	" p.sex, p.commune, p.c2s, p.ame, p.death_date::text AS death_date,"                                \
	" coalesce((SELECT json_agg(json_build_object('code', a.ald, 'start_on', a.start_on, 'end_on', a.end_on)" \
	"  ORDER BY a.ald, a.start_on) FROM patient_ald a WHERE a.patient_id = p.id), '[]') AS ald,"          \
	" p.version,"                                                                                       \
	" to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"

static const struct db_stmt Q_INSERT = {
	"patient_insert",
	"INSERT INTO patients (pseudonym, birth_year, birth_month, sex, commune, c2s, ame, death_date)"
	" VALUES (decode($1, 'hex'), $2, $3, $4, $5, $6, $7, $8::date)"
	" ON CONFLICT (pseudonym) DO NOTHING RETURNING id",
	8
};
static const struct db_stmt Q_BY_PSEUDONYM = {
	"patient_by_pseudonym", "SELECT id FROM patients WHERE pseudonym = decode($1, 'hex')", 1
};
static const struct db_stmt Q_ALD = {
	"patient_ald_insert",
	"INSERT INTO patient_ald (patient_id, ald, start_on, end_on)"
	" SELECT $1, a, s, e FROM unnest($2::smallint[], $3::date[], $4::date[]) AS u(a, s, e)",
	4
};
static const struct db_stmt Q_LINK = {
	"patient_link",
	"INSERT INTO patient_links (patient_id, structure_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", 2
};
static const struct db_stmt Q_GET = {
	"patient_get",
	"SELECT " PATIENT_COLUMNS " FROM patients p JOIN patient_links l ON l.patient_id = p.id"
	" JOIN structures s ON s.id = l.structure_id"
	" WHERE l.structure_id = $4 AND p.id = $5 AND " STORE_SCOPE_STRUCTURE("s"),
	5
};
static const struct db_stmt Q_FIND = {
	"patient_find",
	"SELECT " PATIENT_COLUMNS " FROM patients p JOIN patient_links l ON l.patient_id = p.id"
	" JOIN structures s ON s.id = l.structure_id"
	" WHERE l.structure_id = $4 AND p.pseudonym = decode($5, 'hex') AND " STORE_SCOPE_STRUCTURE("s"),
	5
};
static const struct db_stmt Q_LIST = {
	"patients_list",
	"SELECT " PATIENT_COLUMNS " FROM patients p JOIN patient_links l ON l.patient_id = p.id"
	" JOIN structures s ON s.id = l.structure_id"
	" WHERE l.structure_id = $4 AND p.id > $5 AND " STORE_SCOPE_STRUCTURE("s") " ORDER BY p.id LIMIT $6",
	6
};

/* PostgreSQL array literal of the ALD column i (0 code, 1 start, 2 end). */
static void ald_array(const struct patient_in *in, int col, struct buf *b)
{
	buf_putc(b, '{');
	for (int i = 0; i < in->n_ald; i++) {
		const char *v = col == 1 ? in->ald[i].start_on : in->ald[i].end_on;
		if (i)
			buf_putc(b, ',');
		if (col == 0)
			buf_printf(b, "%d", in->ald[i].code);
		else
			buf_puts(b, v ? v : "NULL");
	}
	buf_putc(b, '}');
}

static int patient_get_scoped(struct db_conn *c, const struct caller *caller, const struct db_stmt *st,
			      int64_t structure_id, const char *key, json_t **out, struct a51_error *err)
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
	params[4] = key;
	rc = store_one(c, st, params, out, err);
	if (rc == A51_ENOTFOUND)
		a51_error_set(err, A51_ENOTFOUND, "patient", "no such patient in this structure");
	return rc;
}

int store_patient_create(struct db_conn *c, const struct actor *a, int64_t structure_id, const struct patient_in *in,
			 json_t **out, bool *created, struct a51_error *err)
{
	struct audit_rec rec = { .resource_type = "patient" };
	char region[4], hex[65], year[8], month[8], sex[4], sid[24], pid[24] = "";
	const char *params[8];
	PGresult *res;
	int rc;

	*out = NULL;
	if ((rc = store_reach_structure(c, a->caller, structure_id, region, err)) < 0)
		return rc;
	util_hex(in->pseudonym, 32, hex);
	snprintf(year, sizeof(year), "%d", in->birth_year);
	snprintf(month, sizeof(month), "%d", in->birth_month);
	snprintf(sex, sizeof(sex), "%d", in->sex);
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	params[0] = hex;
	params[1] = year;
	params[2] = in->birth_month ? month : NULL;
	params[3] = sex;
	params[4] = in->commune;
	params[5] = in->c2s ? "true" : "false";
	params[6] = in->ame ? "true" : "false";
	params[7] = in->death_date;
	if (!(res = db_exec(c, &Q_INSERT, params, err)))
		return err->code;
	*created = PQntuples(res) == 1;
	if (*created)
		snprintf(pid, sizeof(pid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!*created) {
		if (!(res = db_exec(c, &Q_BY_PSEUDONYM, params, err)))
			return err->code;
		snprintf(pid, sizeof(pid), "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "0");
		PQclear(res);
	} else if (in->n_ald) {
		struct buf codes, starts, ends;
		const char *ap[4];

		buf_init(&codes);
		buf_init(&starts);
		buf_init(&ends);
		ald_array(in, 0, &codes);
		ald_array(in, 1, &starts);
		ald_array(in, 2, &ends);
		ap[0] = pid;
		ap[1] = codes.data;
		ap[2] = starts.data;
		ap[3] = ends.data;
		res = codes.oom || starts.oom || ends.oom ? NULL : db_exec(c, &Q_ALD, ap, err);
		buf_release(&codes);
		buf_release(&starts);
		buf_release(&ends);
		if (!res)
			return err->code ? err->code : a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		PQclear(res);
	}
	{
		const char *lp[2] = { pid, sid };
		if (!(res = db_exec(c, &Q_LINK, lp, err)))
			return err->code;
		PQclear(res);
	}
	if ((rc = patient_get_scoped(c, a->caller, &Q_GET, structure_id, pid, out, err)) < 0)
		return rc;
	/* The trail names the record, never the person: no birth, sex, commune. */
	rec.action = *created ? "create" : "link";
	snprintf(rec.resource_id, sizeof(rec.resource_id), "%s", pid);
	rec.region = region;
	rec.structure_id = structure_id;
	{
		json_t *after = json_pack("{s:s,s:I,s:i}", "id", pid, "structure_id", (json_int_t)structure_id,
					  "ald_count", in->n_ald);
		rec.after = after;
		rc = store_audit(c, a, &rec, err);
		json_decref(after);
	}
	return rc;
}

int store_patient_get(struct db_conn *c, const struct caller *caller, int64_t structure_id, int64_t patient_id,
		      json_t **out, struct a51_error *err)
{
	char pid[24];

	snprintf(pid, sizeof(pid), "%lld", (long long)patient_id);
	return patient_get_scoped(c, caller, &Q_GET, structure_id, pid, out, err);
}

int store_patient_find(struct db_conn *c, const struct caller *caller, int64_t structure_id,
		       const uint8_t pseudonym[32], json_t **out, struct a51_error *err)
{
	char hex[65];

	util_hex(pseudonym, 32, hex);
	return patient_get_scoped(c, caller, &Q_FIND, structure_id, hex, out, err);
}

int store_patients_list(struct db_conn *c, const struct caller *caller, int64_t structure_id, int64_t after_id,
			int limit, json_t **items, struct a51_error *err)
{
	struct scope_params sp;
	char sid[24], after[24], lim[16], region[4];
	const char *params[6];
	int rc;

	if ((rc = store_reach_structure(c, caller, structure_id, region, err)) < 0)
		return rc;
	store_scope(caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	snprintf(after, sizeof(after), "%lld", (long long)after_id);
	snprintf(lim, sizeof(lim), "%d", limit);
	params[0] = sp.v[0];
	params[1] = sp.v[1];
	params[2] = sp.v[2];
	params[3] = sid;
	params[4] = after;
	params[5] = lim;
	return store_all(c, &Q_LIST, params, items, err);
}

/* ---- médecin-traitant declarations ---- */

#define MT_COLUMNS                                                                                   \
	"d.id, d.patient_id, d.gp_rpps, d.start_on::text AS start_on, d.end_on::text AS end_on,"      \
	" to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"

static const struct db_stmt Q_LINKED = {
	"patient_linked",
	"SELECT 1 FROM patient_links WHERE structure_id = $1 AND patient_id = $2 FOR SHARE", 2
};
/* Serialises declarations of one patient: the close-then-insert below must not interleave. */
static const struct db_stmt Q_LOCK_PATIENT = {
	"patient_lock", "SELECT 1 FROM patients WHERE id = $1 FOR UPDATE", 1
};
static const struct db_stmt Q_CLOSE_PREVIOUS = {
	"mt_close_previous",
	"UPDATE mt_declarations SET end_on = $2::date - 1"
	" WHERE patient_id = $1 AND start_on < $2::date AND end_on IS NULL",
	2
};
static const struct db_stmt Q_MT_OVERLAP = {
	"mt_overlap",
	"SELECT id FROM mt_declarations WHERE patient_id = $1"
	" AND daterange(start_on, end_on, '[]') && daterange($2::date, $3::date, '[]') LIMIT 1",
	3
};
static const struct db_stmt Q_MT_INSERT = {
	"mt_insert",
	"WITH d AS (INSERT INTO mt_declarations (patient_id, gp_rpps, start_on, end_on)"
	" VALUES ($1, $2, $3, $4) RETURNING *) SELECT " MT_COLUMNS " FROM d",
	4
};

int store_mt_create(struct db_conn *c, const struct actor *a, int64_t structure_id, int64_t patient_id,
		    const char *gp_rpps, const char *start_on, const char *end_on, json_t **out, struct a51_error *err)
{
	struct audit_rec rec = { .action = "create", .resource_type = "mt_declaration" };
	char region[4], sid[24], pid[24];
	PGresult *res;
	int rc;

	*out = NULL;
	if ((rc = store_reach_structure(c, a->caller, structure_id, region, err)) < 0)
		return rc;
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	snprintf(pid, sizeof(pid), "%lld", (long long)patient_id);
	{
		const char *p[2] = { sid, pid };
		if (!(res = db_exec(c, &Q_LINKED, p, err)))
			return err->code;
		rc = PQntuples(res) ? 0 : a51_error_set(err, A51_EINVAL, "patient_id", "no such patient in this structure");
		PQclear(res);
		if (rc < 0)
			return rc;
	}
	{
		const char *p[1] = { pid };
		if (!(res = db_exec(c, &Q_LOCK_PATIENT, p, err)))
			return err->code;
		PQclear(res);
	}
	{
		const char *p[2] = { pid, start_on };
		if (!(res = db_exec(c, &Q_CLOSE_PREVIOUS, p, err)))
			return err->code;
		PQclear(res);
	}
	{
		const char *p[3] = { pid, start_on, end_on };
		if (!(res = db_exec(c, &Q_MT_OVERLAP, p, err)))
			return err->code;
		rc = PQntuples(res) ? a51_error_set(err, A51_ECONFLICT, "start_on",
						    "declaration %s of this patient covers part of that period",
						    PQgetvalue(res, 0, 0))
				    : 0;
		PQclear(res);
		if (rc < 0)
			return rc;
	}
	{
		const char *p[4] = { pid, gp_rpps, start_on, end_on };
		if ((rc = store_one(c, &Q_MT_INSERT, p, out, err)) < 0)
			return rc;
	}
	snprintf(rec.resource_id, sizeof(rec.resource_id), "%lld",
		 (long long)json_integer_value(json_object_get(*out, "id")));
	rec.region = region;
	rec.structure_id = structure_id;
	rec.after = *out;
	return store_audit(c, a, &rec, err);
}

static const struct db_stmt Q_MT_GET = {
	"mt_get",
	"SELECT " MT_COLUMNS " FROM mt_declarations d JOIN patient_links l ON l.patient_id = d.patient_id"
	" JOIN structures s ON s.id = l.structure_id"
	" WHERE l.structure_id = $4 AND d.id = $5 AND " STORE_SCOPE_STRUCTURE("s"),
	5
};
static const struct db_stmt Q_MT_LIST = {
	"mt_list",
	"SELECT " MT_COLUMNS " FROM mt_declarations d JOIN patient_links l ON l.patient_id = d.patient_id"
	" JOIN structures s ON s.id = l.structure_id"
	" WHERE l.structure_id = $4 AND ($5::bigint IS NULL OR d.patient_id = $5) AND " STORE_SCOPE_STRUCTURE("s")
	" AND d.id > $6 ORDER BY d.id LIMIT $7",
	7
};

int store_mt_get(struct db_conn *c, const struct caller *caller, int64_t structure_id, int64_t id, json_t **out,
		 struct a51_error *err)
{
	struct scope_params sp;
	char sid[24], did[24];
	const char *params[5];
	int rc;

	store_scope(caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	snprintf(did, sizeof(did), "%lld", (long long)id);
	params[0] = sp.v[0];
	params[1] = sp.v[1];
	params[2] = sp.v[2];
	params[3] = sid;
	params[4] = did;
	rc = store_one(c, &Q_MT_GET, params, out, err);
	if (rc == A51_ENOTFOUND)
		a51_error_set(err, A51_ENOTFOUND, "id", "no such declaration in this structure");
	return rc;
}

int store_mt_list(struct db_conn *c, const struct caller *caller, int64_t structure_id, int64_t patient_id,
		  int64_t after_id, int limit, json_t **items, struct a51_error *err)
{
	struct scope_params sp;
	char sid[24], pid[24], region[4], after[24], lim[16];
	const char *params[7];
	int rc;

	if ((rc = store_reach_structure(c, caller, structure_id, region, err)) < 0)
		return rc;
	store_scope(caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	snprintf(pid, sizeof(pid), "%lld", (long long)patient_id);
	params[0] = sp.v[0];
	params[1] = sp.v[1];
	params[2] = sp.v[2];
	params[3] = sid;
	params[4] = patient_id ? pid : NULL;
	snprintf(after, sizeof(after), "%lld", (long long)after_id);
	snprintf(lim, sizeof(lim), "%d", limit);
	params[5] = after;
	params[6] = lim;
	return store_all(c, &Q_MT_LIST, params, items, err);
}
