/* SQL of EDS: the patients of a dataset with a trigger stay in a period, each
 * with its stays, claims and ALD (one row per patient, ordered); the runs,
 * their episodes and items; batches. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/dates.h"
#include "a51/sha256.h"
#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

/* The source of a run or a fit: every patient with a trigger stay in a
 * period, then its ALD, stays, claims and questionnaire answers over the
 * data period, one ordered stream (COPY; values travel as transaction
 * settings set by a parameterised set_config, never spliced into the SQL). */
static const char SOURCE_SETTINGS[] =
	"SELECT set_config('a51.eds_ds', $1, true), set_config('a51.eds_from', $2, true),"
	" set_config('a51.eds_to', $3, true), set_config('a51.eds_dfrom', $4, true), set_config('a51.eds_dto', $5, true),"
	" set_config('a51.eds_roots', $6, true), set_config('a51.eds_finess', coalesce($7, ''), true),"
	" set_config('a51.eds_region', coalesce($8, ''), true), set_config('jit', 'off', true)";

#define S_(k) "(SELECT current_setting('a51.eds_" k "'))"
#define S_DS "(SELECT current_setting('a51.eds_ds')::bigint)"
#define S_D(k) "(SELECT current_setting('a51.eds_" k "')::date)"
static const char SOURCE[] =
	"COPY (WITH pop AS (SELECT DISTINCT t.patient_id AS id FROM stays t WHERE t.dataset = " S_DS
	"   AND t.field = 'MCO' AND t.admission_date BETWEEN " S_D("from") " AND " S_D("to")
	"   AND (" S_("finess") " = '' OR t.finess = " S_("finess") ")"
	"   AND left(t.ghm, 5) = ANY(CAST(" S_("roots") " AS text[]))),"
	" pts AS (SELECT p.id, p.sex, p.birth_year, p.birth_month, p.death_date, p.c2s, p.ame FROM patients p"
	"   JOIN pop ON pop.id = p.id WHERE " S_("region") " = '' OR EXISTS (SELECT 1 FROM departements d"
	"   WHERE d.code = commune_departement(p.commune) AND d.region = " S_("region") "))"
	" SELECT p.id, 0 AS k, NULL::date AS d1, NULL::date AS d2, '' AS ref, p.sex::text AS a, p.birth_year::text AS b,"
	"   coalesce(p.birth_month, 1)::text AS c, coalesce(p.death_date::text, '') AS d,"
	"   (p.c2s::int | (p.ame::int << 1))::text AS e, '' AS f, '' AS g, '' AS h, '' AS i, 0::bigint AS cents FROM pts p"
	" UNION ALL SELECT a.patient_id, 1, a.start_on, a.end_on, a.ald::text, '', '', '', '', '', '', '', '', '', 0"
	"   FROM patient_ald a JOIN pts ON pts.id = a.patient_id"
	" UNION ALL SELECT s.patient_id, 2, s.admission_date, s.discharge_date, s.stay_id, s.field, coalesce(s.ghm, ''),"
	"   coalesce(s.main_diagnosis, ''), coalesce(s.procedure, ''), s.finess, s.entry_mode, coalesce(s.provenance, ''),"
	"   s.exit_mode, coalesce(s.destination, ''), s.amount_cents FROM stays s JOIN pts ON pts.id = s.patient_id"
	"   WHERE s.dataset = " S_DS " AND s.admission_date BETWEEN " S_D("dfrom") " AND " S_D("dto")
	" UNION ALL SELECT c.patient_id, 3, c.care_date, NULL, c.claim_id, c.act_code, '', '', '', '', '', '', '', '',"
	"   c.base_cents FROM claims c JOIN pts ON pts.id = c.patient_id"
	"   WHERE c.dataset = " S_DS " AND c.care_date BETWEEN " S_D("dfrom") " AND " S_D("dto")
	" UNION ALL SELECT q.patient_id, 4, q.answered_on, NULL, q.questionnaire, q.item::text, q.answer::text, '', '',"
	"   '', '', '', '', '', 0 FROM questionnaire_answers q JOIN pts ON pts.id = q.patient_id"
	"   WHERE q.dataset = " S_DS " AND q.answered_on BETWEEN " S_D("dfrom") " AND " S_D("dto")
	" ORDER BY 1, 2, 3, 4, 5) TO STDOUT";

const char *store_eds_source_sql(void)
{
	return SOURCE;
}

#define GROW(arr, n, cap)                                                                           \
	((n) < (cap) || ((cap) = (cap) ? (cap) * 2 : 64,                                                  \
			 (arr) = realloc_or_free((arr), (cap) * sizeof(*(arr)))) != NULL)

static void *realloc_or_free(void *p, size_t size)
{
	void *q = realloc(p, size);

	if (!q)
		free(p);
	return q;
}

struct source_read {
	struct eds_source_patient pt;
	size_t cap_ald, cap_stays, cap_claims, cap_answers, cap_refs;
	bool open;
	struct sha256 *digest;
	store_eds_patient_fn fn;
	void *ctx;
};

/* A text reference kept in the patient's string pool; its offset. */
static int64_t keep_ref(struct source_read *sr, const char *s)
{
	size_t len = strlen(s) + 1;
	int64_t at = (int64_t)sr->pt.nrefs;

	while (sr->pt.nrefs + len > sr->cap_refs) {
		sr->cap_refs = sr->cap_refs ? sr->cap_refs * 2 : 4096;
		if (!(sr->pt.refs = realloc_or_free(sr->pt.refs, sr->cap_refs)))
			return -1;
	}
	memcpy(sr->pt.refs + sr->pt.nrefs, s, len);
	sr->pt.nrefs += len;
	return at;
}

static int flush_patient(struct source_read *sr, struct a51_error *err)
{
	int rc = 0;

	if (sr->open)
		rc = sr->fn(sr->ctx, &sr->pt, err);
	sr->open = false;
	sr->pt.nald = sr->pt.nstays = sr->pt.nclaims = sr->pt.nanswers = sr->pt.nrefs = 0;
	return rc;
}

static int32_t day_of(const char *s)
{
	int32_t d;

	return s[0] && strcmp(s, "\\N") != 0 && date_parse(s, &d) == 0 ? d : INT32_MAX;
}

static int source_row(void *ctx, char *row, int n, struct a51_error *err)
{
	struct source_read *sr = ctx;
	struct eds_source_patient *pt = &sr->pt;
	char *f[15], *s, *end;
	int k = 0, rc;
	int64_t id;

	if (sr->digest) /* the inputs digest covers the rows as PostgreSQL sent them */
		sha256_update(sr->digest, row, (size_t)n);
	if (n < 1 || row[n - 1] != '\n')
		return a51_error_set(err, A51_EDB, "source", "unexpected COPY row");
	row[n - 1] = '\0';
	for (s = row, f[k++] = s; *s && k < 15; s++)
		if (*s == '\t') {
			*s = '\0';
			f[k++] = s + 1;
		}
	if (k != 15)
		return a51_error_set(err, A51_EDB, "source", "unexpected COPY row");
	id = strtoll(f[0], &end, 10);
	if (!sr->open || id != pt->id) {
		if ((rc = flush_patient(sr, err)) < 0)
			return rc;
		pt->id = id;
		sr->open = true;
	}
	switch (f[1][0]) {
	case '0':
		pt->sex = (int)strtol(f[5], &end, 10);
		pt->birth_year = (int)strtol(f[6], &end, 10);
		pt->birth_month = (int)strtol(f[7], &end, 10);
		pt->death = day_of(f[8]);
		pt->c2s = strtol(f[9], &end, 10) & 1;
		pt->ame = (strtol(f[9], &end, 10) >> 1) & 1;
		break;
	case '1':
		if (!GROW(pt->ald, pt->nald, sr->cap_ald))
			goto oom;
		pt->ald[pt->nald].code = (int)strtol(f[4], &end, 10);
		pt->ald[pt->nald].start = day_of(f[2]);
		pt->ald[pt->nald].end = day_of(f[3]);
		pt->nald++;
		break;
	case '2': {
		struct eds_stay *st;
		if (!GROW(pt->stays, pt->nstays, sr->cap_stays))
			goto oom;
		st = &pt->stays[pt->nstays];
		memset(st, 0, sizeof(*st));
		if ((st->ref = keep_ref(sr, f[4])) < 0)
			goto oom;
		st->admission = day_of(f[2]);
		st->discharge = day_of(f[3]);
		snprintf(st->field, sizeof(st->field), "%s", f[5]);
		snprintf(st->ghm, sizeof(st->ghm), "%s", f[6]);
		snprintf(st->main_diag, sizeof(st->main_diag), "%s", f[7]);
		snprintf(st->procedure, sizeof(st->procedure), "%s", f[8]);
		snprintf(st->finess, sizeof(st->finess), "%s", f[9]);
		st->entry_mode = f[10][0];
		st->provenance = f[11][0];
		st->exit_mode = f[12][0];
		st->destination = f[13][0];
		st->cents = strtoll(f[14], &end, 10);
		pt->nstays++;
		break;
	}
	case '3': {
		struct eds_claim *cl;
		if (!GROW(pt->claims, pt->nclaims, sr->cap_claims))
			goto oom;
		cl = &pt->claims[pt->nclaims];
		memset(cl, 0, sizeof(*cl));
		if ((cl->ref = keep_ref(sr, f[4])) < 0)
			goto oom;
		cl->day = day_of(f[2]);
		snprintf(cl->act, sizeof(cl->act), "%s", f[5]);
		cl->cents = strtoll(f[14], &end, 10);
		pt->nclaims++;
		break;
	}
	case '4': {
		struct eds_answer *an;
		if (!GROW(pt->answers, pt->nanswers, sr->cap_answers))
			goto oom;
		an = &pt->answers[pt->nanswers];
		if ((an->questionnaire = keep_ref(sr, f[4])) < 0)
			goto oom;
		an->day = day_of(f[2]);
		an->item = (int)strtol(f[5], &end, 10);
		an->answer = (int)strtol(f[6], &end, 10);
		pt->nanswers++;
		break;
	}
	default:
		return a51_error_set(err, A51_EDB, "source", "unexpected COPY row");
	}
	return 0;
oom: /* the array that failed is NULL already; store_eds_source frees the rest */
	sr->open = false;
	return a51_error_set(err, A51_ENOMEM, NULL, "out of memory for an EDS patient");
}

int store_eds_source(struct db_conn *c, const struct eds_source_query *q, struct sha256 *digest,
		     store_eds_patient_fn fn, void *ctx, struct a51_error *err)
{
	char ds[24];
	const char *p[8] = { ds, q->from, q->to, q->data_from, q->data_to, q->roots, q->finess, q->region };
	struct source_read sr;
	int rc;

	memset(&sr, 0, sizeof(sr));
	sr.digest = digest;
	sr.fn = fn;
	sr.ctx = ctx;
	snprintf(ds, sizeof(ds), "%lld", (long long)q->dataset);
	if ((rc = db_run_params(c, SOURCE_SETTINGS, 8, p, true, err)) == 0 &&
	    (rc = db_copy_out(c, SOURCE, source_row, &sr, err)) == 0)
		rc = flush_patient(&sr, err);
	free(sr.pt.ald);
	free(sr.pt.stays);
	free(sr.pt.claims);
	free(sr.pt.answers);
	free(sr.pt.refs);
	return rc;
}

static const struct db_stmt Q_FINESS = { "eds_finess", "SELECT finess FROM structures WHERE id = $1", 1 };

int store_structure_finess(struct db_conn *c, int64_t structure_id, char out[16], struct a51_error *err)
{
	char sid[24];
	const char *p[1] = { sid };
	json_t *row;
	int rc;

	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	if ((rc = store_one(c, &Q_FINESS, p, &row, err)) < 0)
		return rc;
	snprintf(out, 16, "%s", json_is_string(json_object_get(row, "finess")) ? json_string_value(json_object_get(row, "finess"))
										  : "");
	json_decref(row);
	return 0;
}

/* ---- runs ---- */

static const struct db_stmt Q_RUN_INSERT = {
	"eds_run_insert",
	"INSERT INTO eds_runs (structure_id, region, year, option, phase, what_if, enrolment_id, parameter_set_id,"
	" model_id, batch_id, job_id, inputs_digest, code_version, episodes, included, total_cents, result, created_by, id)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17::jsonb, $18, $19) RETURNING id",
	19
};

static const struct db_stmt Q_RUN_RESERVE = { "eds_run_reserve",
					       "SELECT nextval(pg_get_serial_sequence('eds_runs', 'id')) AS id", 0 };

int store_eds_run_reserve(struct db_conn *c, int64_t *id, struct a51_error *err)
{
	json_t *row;
	int rc;

	if ((rc = store_one(c, &Q_RUN_RESERVE, NULL, &row, err)) < 0)
		return rc;
	*id = json_integer_value(json_object_get(row, "id"));
	json_decref(row);
	return 0;
}

int store_eds_run_insert(struct db_conn *c, const struct actor *a, const struct eds_run_record *r, int64_t *id,
			 struct a51_error *err)
{
	char sid[24], y[8], enr[24], ps[24], model[24], batch[24], job[24], eps[16], inc[16], total[24], by[24], rid[24];
	char *result = json_dumps(r->result, JSON_COMPACT | JSON_REAL_PRECISION(15));
	const char *p[19];
	json_t *row;
	int rc;

	if (!result)
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	snprintf(sid, sizeof(sid), "%lld", (long long)r->structure_id);
	snprintf(y, sizeof(y), "%d", r->year);
	snprintf(enr, sizeof(enr), "%lld", (long long)r->enrolment_id);
	snprintf(ps, sizeof(ps), "%lld", (long long)r->parameter_set_id);
	snprintf(model, sizeof(model), "%lld", (long long)r->model_id);
	snprintf(batch, sizeof(batch), "%lld", (long long)r->batch_id);
	snprintf(job, sizeof(job), "%lld", (long long)r->job_id);
	snprintf(eps, sizeof(eps), "%d", r->episodes);
	snprintf(inc, sizeof(inc), "%d", r->included);
	snprintf(total, sizeof(total), "%lld", (long long)r->total_cents);
	snprintf(by, sizeof(by), "%lld", (long long)a->caller->token_id);
	p[0] = sid;
	p[1] = r->region;
	p[2] = y;
	p[3] = r->option;
	p[4] = r->phase;
	p[5] = r->what_if ? "true" : "false";
	p[6] = r->enrolment_id ? enr : NULL;
	p[7] = ps;
	p[8] = model;
	p[9] = r->batch_id ? batch : NULL;
	p[10] = r->job_id ? job : NULL;
	p[11] = r->inputs_digest;
	p[12] = r->code_version;
	p[13] = eps;
	p[14] = inc;
	p[15] = total;
	p[16] = result;
	p[17] = a->caller->token_id ? by : NULL;
	snprintf(rid, sizeof(rid), "%lld", (long long)r->id);
	p[18] = rid;
	rc = store_one(c, &Q_RUN_INSERT, p, &row, err);
	free(result);
	if (rc < 0)
		return rc;
	*id = json_integer_value(json_object_get(row, "id"));
	json_decref(row);
	{
		struct audit_rec rec = { .action = "create", .resource_type = "eds_run", .region = r->region,
					 .structure_id = r->structure_id };
		json_t *after = json_pack("{s:i,s:s,s:s,s:b,s:I,s:s}", "year", r->year, "option", r->option, "phase",
					  r->phase, "what_if", r->what_if, "total_cents", (json_int_t)r->total_cents,
					  "inputs_digest", r->inputs_digest);
		snprintf(rec.resource_id, sizeof(rec.resource_id), "%lld", (long long)*id);
		rec.after = after;
		rc = store_audit(c, a, &rec, err);
		json_decref(after);
	}
	return rc;
}

int store_eds_episodes_begin(struct db_conn *c, struct a51_error *err)
{
	return db_copy_in_begin(c, "COPY eds_episodes (run_id, no, patient_id, trigger_stay_id, admission, discharge,"
				   " window_from, window_to, included, exclusions, cell, ald_groups, flags, pre_cents,"
				   " index_cents, post_cents, complication_cents, complications, mco_days, chemo_delay,"
				   " prom_answers, prom_mean, expected_cents, target_cents, actual_cents) FROM STDIN", err);
}

int store_eds_items_begin(struct db_conn *c, struct a51_error *err)
{
	return db_copy_in_begin(c, "COPY eds_items (run_id, no, kind, ref, day, segment, code, cents) FROM STDIN", err);
}

#define RUN_SCOPE \
	"($1 = 'national' OR ($1 = 'ars' AND r.region = $2) OR ($1 = 'structure' AND r.structure_id = $3::bigint))"
#define CURRENT_COND                                                                                        \
	"(NOT r.what_if AND NOT EXISTS (SELECT 1 FROM eds_runs o WHERE NOT o.what_if"                          \
	" AND o.structure_id = r.structure_id AND o.year = r.year AND o.option = r.option AND o.id > r.id))"

static const struct db_stmt Q_RUN_GET = {
	"eds_run_get",
	"SELECT r.id, r.structure_id, r.region, r.year, r.option, r.phase, r.what_if, r.enrolment_id,"
	" r.parameter_set_id, r.model_id, r.batch_id, r.job_id, r.inputs_digest, r.code_version, r.episodes,"
	" r.included, r.total_cents, r.result, " CURRENT_COND " AS current,"
	" to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"
	" FROM eds_runs r WHERE r.id = $4 AND " RUN_SCOPE,
	4
};

int store_eds_run_get(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out, struct a51_error *err)
{
	struct scope_params sp;
	char sid[24];
	const char *p[4];
	int rc;

	store_scope(caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	p[0] = sp.v[0];
	p[1] = sp.v[1];
	p[2] = sp.v[2];
	p[3] = sid;
	rc = store_one(c, &Q_RUN_GET, p, out, err);
	if (rc == A51_ENOTFOUND)
		a51_error_set(err, A51_ENOTFOUND, "id", "no EDS run %lld", (long long)id);
	return rc;
}

static const struct db_stmt Q_RUNS = {
	"eds_runs_list",
	"SELECT r.id, r.structure_id, r.region, r.year, r.option, r.phase, r.what_if, r.episodes, r.included,"
	" r.total_cents, r.batch_id, r.inputs_digest, " CURRENT_COND " AS current,"
	" to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"
	" FROM eds_runs r WHERE " RUN_SCOPE " AND ($4::bigint = 0 OR r.structure_id = $4) AND ($5::int = 0 OR r.year = $5)"
	" AND ($6::text IS NULL OR r.what_if = $6::bool) AND ($7::bigint = 0 OR r.batch_id = $7)"
	" AND ($8::bigint = 0 OR r.id < $8) AND (NOT $10::bool OR " CURRENT_COND ")"
	" AND ($11::text IS NULL OR r.option = $11) AND ($12::text IS NULL OR r.phase = $12) ORDER BY r.id DESC LIMIT $9",
	12
};

int store_eds_runs_list(struct db_conn *c, const struct caller *caller, const struct eds_run_filter *f, json_t **items,
			struct a51_error *err)
{
	struct scope_params sp;
	char sid[24], y[8], batch[24], before[24], limit[16];
	const char *p[12];

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
	p[5] = f->what_if;
	p[6] = batch;
	p[7] = before;
	p[8] = limit;
	p[9] = f->current_only ? "true" : "false";
	p[10] = f->option;
	p[11] = f->phase;
	return store_all(c, &Q_RUNS, p, items, err);
}

/* Episodes of a run: filters included (NULL: both), a reason, with
 * complications only; paged by episode number. */
static const struct db_stmt Q_EPISODES = {
	"eds_episodes",
	"SELECT e.no AS id, e.no, e.patient_id, e.trigger_stay_id, e.admission::text AS admission,"
	" e.discharge::text AS discharge, e.window_from::text AS window_from, e.window_to::text AS window_to,"
	" e.included, e.exclusions, e.cell, e.ald_groups, e.flags, e.pre_cents, e.index_cents, e.post_cents,"
	" e.complication_cents, e.complications, e.mco_days, e.chemo_delay, e.prom_answers, e.prom_mean,"
	" e.expected_cents, e.target_cents, e.actual_cents, e.target_cents - e.actual_cents AS gap_cents"
	" FROM eds_episodes e JOIN eds_runs r ON r.id = e.run_id WHERE e.run_id = $4 AND " RUN_SCOPE
	" AND ($5::text IS NULL OR e.included = $5::bool) AND ($6::text IS NULL OR $6 = ANY(string_to_array(e.exclusions, ',')))"
	" AND (NOT $7::bool OR e.complications > 0) AND e.no > $8 AND ($10::int = 0 OR e.no = $10)"
	" ORDER BY e.no LIMIT $9",
	10
};

int store_eds_episodes(struct db_conn *c, const struct caller *caller, const struct eds_episode_filter *f,
		       json_t **items, struct a51_error *err)
{
	struct scope_params sp;
	char rid[24], after[16], limit[16], one[16];
	const char *p[10];

	store_scope(caller, &sp);
	snprintf(rid, sizeof(rid), "%lld", (long long)f->run_id);
	snprintf(after, sizeof(after), "%d", f->after);
	snprintf(limit, sizeof(limit), "%d", f->limit);
	snprintf(one, sizeof(one), "%d", f->no);
	p[0] = sp.v[0];
	p[1] = sp.v[1];
	p[2] = sp.v[2];
	p[3] = rid;
	p[4] = f->included;
	p[5] = f->reason;
	p[6] = f->complications_only ? "true" : "false";
	p[7] = after;
	p[8] = limit;
	p[9] = one;
	return store_all(c, &Q_EPISODES, p, items, err);
}

static const struct db_stmt Q_ITEMS = {
	"eds_items",
	"SELECT i.kind, i.ref, i.day::text AS day, i.segment, i.code, i.cents FROM eds_items i"
	" WHERE i.run_id = $1 AND i.no = $2 ORDER BY i.day, i.kind DESC, i.ref",
	2
};

int store_eds_items(struct db_conn *c, int64_t run_id, int no, json_t **items, struct a51_error *err)
{
	char rid[24], n[16];
	const char *p[2] = { rid, n };

	snprintf(rid, sizeof(rid), "%lld", (long long)run_id);
	snprintf(n, sizeof(n), "%d", no);
	return store_all(c, &Q_ITEMS, p, items, err);
}

static const struct db_stmt Q_ENROLLED = {
	"eds_enrolled",
	"SELECT DISTINCT e.structure_id, e.option FROM enrolments e JOIN structures s ON s.id = e.structure_id"
	" WHERE e.experiment = 'EDS' AND e.start_on <= $2::date AND (e.withdrawn_on IS NULL OR e.withdrawn_on >= $1::date)"
	" AND ($3::text IS NULL OR s.region = $3) AND ($4::text IS NULL OR e.option = $4) ORDER BY 1, 2",
	4
};

int store_eds_enrolled(struct db_conn *c, const char *from, const char *to, const char *region, const char *option,
		       json_t **items, struct a51_error *err)
{
	const char *p[4] = { from, to, region, option };

	return store_all(c, &Q_ENROLLED, p, items, err);
}
