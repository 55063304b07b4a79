/* EDS as jobs: the reference episodes a risk model of episodes learns from,
 * an establishment's year for one option, and every enrolled establishment
 * of a region or of the country in one batch. A run streams the patients
 * with a trigger stay at the establishment (store_eds_source), builds their
 * episodes (domain/eds.c), prices each included one with the option's model
 * plus the complications forfait learnt with it, scores the quality
 * indicators against the model's national reference, reconciles, and writes
 * the run, its episodes and their items at once. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/app.h"
#include "a51/buf.h"
#include "a51/dates.h"
#include "a51/eds.h"
#include "a51/jobs.h"
#include "a51/money.h"
#include "a51/riskmodel.h"
#include "a51/sha256.h"
#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

/* What is read of each patient around the year's triggers: the look-back or
 * the pre-operative window before 1 January, and after 31 December the
 * post-operative window plus room for the longest index stay. */
#define INDEX_STAY_ROOM 180

static const char *model_of(const struct eds_params *p, int option)
{
	return option == EDS_PTH ? p->model_pth : option == EDS_PTG ? p->model_ptg : p->model_colectomy;
}

static void source_period(const struct eds_params *p, int year, struct eds_source_query *q, char from[11],
			  char to[11], char dfrom[11], char dto[11], char roots[16], int option)
{
	int32_t jan1 = date_from_ymd(year, 1, 1), dec31 = date_from_ymd(year, 12, 31);
	int before = p->lookback > p->window_before ? p->lookback : p->window_before;

	date_format(jan1, from);
	date_format(dec31, to);
	date_format(jan1 - before, dfrom);
	date_format(dec31 + p->window_after + INDEX_STAY_ROOM, dto);
	snprintf(roots, 16, "{%s}", option == EDS_PTH ? p->root_pth : option == EDS_PTG ? p->root_ptg : p->root_colectomy);
	q->from = from;
	q->to = to;
	q->data_from = dfrom;
	q->data_to = dto;
	q->roots = roots;
}

/* The ALD groups in force on a day, grouped as the model groups them (the
 * last group takes the codes no other names, as the population query does). */
static unsigned ald_mask(const struct rm_def *def, const struct eds_source_patient *pt, int32_t day)
{
	unsigned mask = 0;

	for (size_t i = 0; i < pt->nald; i++) {
		int g = RM_ALD_GROUPS - 1;
		if (pt->ald[i].start > day || pt->ald[i].end < day)
			continue;
		for (int k = 0; k < RM_ALD_GROUPS - 1 && g == RM_ALD_GROUPS - 1; k++)
			for (int j = 0; j < def->nald[k]; j++)
				if (def->ald_groups[k][j] == pt->ald[i].code) {
					g = k;
					break;
				}
		mask |= 1u << g;
	}
	return mask;
}

/* The risk factors present at admission, and the cost the model learns:
 * every segment but complications, which have their own forfait. */
static void episode_row(const struct rm_def *def, const struct eds_source_patient *pt, const struct eds_episode *e,
			struct rm_patient *row)
{
	memset(row, 0, sizeof(*row));
	row->id = pt->id;
	row->cell = rm_cell(pt->sex, date_age_at(pt->birth_year, pt->birth_month, e->admission));
	row->ald = ald_mask(def, pt, e->admission);
	row->c2s = pt->c2s;
	row->ame = pt->ame;
	row->exposure = 1;
	row->y = (double)(e->cents[EDS_PRE] + e->cents[EDS_INDEX] + e->cents[EDS_POST]);
}

/* Buffers eds_build needs for one patient, grown as patients come. */
struct build_space {
	struct eds_episode *episodes;
	struct eds_assignment *stay_at, *claim_at;
	size_t cap_stays, cap_claims;
};

static int build_patient(const struct eds_params *p, int option, const char *finess, int32_t from, int32_t to,
			 const struct eds_source_patient *pt, struct build_space *bs, size_t *n, struct a51_error *err)
{
	if (pt->nstays > bs->cap_stays) {
		size_t cap = pt->nstays * 2;
		void *e = realloc(bs->episodes, cap * sizeof(*bs->episodes));
		if (e)
			bs->episodes = e;
		void *s = e ? realloc(bs->stay_at, cap * sizeof(*bs->stay_at)) : NULL;
		if (s)
			bs->stay_at = s;
		if (!e || !s)
			return a51_error_set(err, A51_ENOMEM, NULL, "out of memory for episodes");
		bs->cap_stays = cap;
	}
	if (pt->nclaims > bs->cap_claims || !bs->claim_at) {
		size_t cap = pt->nclaims ? pt->nclaims * 2 : 16;
		void *c = realloc(bs->claim_at, cap * sizeof(*bs->claim_at));
		if (!c)
			return a51_error_set(err, A51_ENOMEM, NULL, "out of memory for episodes");
		bs->claim_at = c;
		bs->cap_claims = cap;
	}
	*n = eds_build(p, option, finess, from, to, pt->death, pt->stays, pt->nstays, pt->claims, pt->nclaims,
		       bs->episodes, pt->nstays, bs->stay_at, bs->claim_at);
	return 0;
}

static void space_release(struct build_space *bs)
{
	free(bs->episodes);
	free(bs->stay_at);
	free(bs->claim_at);
}

/* Sums over included episodes: the indicators and the complications. */
struct tally {
	int episodes, included, with_complications, preop, chemo_n;
	int excluded[6];
	int64_t complication_cents, mco_days, chemo_days;
	int64_t prom_answers;
	double prom_sum;
};

static const char *const reasons[6] = { "not_from_home", "emergency", "death", "palliative", "prior_intervention",
					"total_colectomy" };

static void tally_add(struct tally *t, const struct eds_episode *e)
{
	t->episodes++;
	for (int k = 0; k < 6; k++)
		t->excluded[k] += (e->excluded >> k) & 1;
	if (e->excluded)
		return;
	t->included++;
	t->with_complications += e->complications > 0;
	t->complication_cents += e->cents[EDS_COMPLICATION];
	t->mco_days += e->mco_days;
	t->preop += e->pre_biology;
	if (e->chemo_delay >= 0) {
		t->chemo_n++;
		t->chemo_days += e->chemo_delay;
	}
}

static void tally_indicators(const struct tally *t, int option, struct eds_indicators *ind)
{
	memset(ind, 0, sizeof(*ind));
	if (t->included == 0)
		return;
	ind->value[EDS_IND_COMPL] = (double)t->with_complications / t->included;
	ind->value[EDS_IND_LOS] = (double)t->mco_days / t->included;
	ind->value[EDS_IND_PREOP] = (double)t->preop / t->included;
	ind->have[EDS_IND_COMPL] = ind->have[EDS_IND_LOS] = ind->have[EDS_IND_PREOP] = true;
	if (option == EDS_COLECTOMY && t->chemo_n) {
		ind->value[EDS_IND_CHEMO] = (double)t->chemo_days / t->chemo_n;
		ind->have[EDS_IND_CHEMO] = true;
	}
}

static json_t *indicators_json(const struct eds_indicators *ind)
{
	json_t *o = json_object();

	for (int i = 0; i < EDS__INDICATORS; i++)
		json_object_set_new(o, eds_indicator_name(i), ind->have[i] ? json_real(ind->value[i]) : json_null());
	return o;
}

static json_t *exclusions_json(const struct tally *t)
{
	json_t *o = json_object();

	for (int k = 0; k < 6; k++)
		json_object_set_new(o, reasons[k], json_integer(t->excluded[k]));
	return o;
}

static int eds_params_of(struct db_conn *c, int64_t pset_id, int year, json_t **pset, struct eds_params *p,
			 struct a51_error *err)
{
	int rc = pset_id ? store_param_set_get(c, pset_id, pset, err) : store_param_set_latest(c, "EDS", year, pset, err);

	if (rc == A51_ENOTFOUND)
		return pset_id ? a51_error_set(err, A51_EINVAL, "parameter_set_id", "no parameter set %lld", (long long)pset_id)
			       : a51_error_set(err, A51_EINVAL, "year", "no EDS parameter set for %d", year);
	if (rc < 0)
		return rc;
	return params_read_eds(json_object_get(*pset, "body"), p, err);
}

/* ---- the reference episodes of a risk model ---- */

struct fit_read {
	const struct eds_params *p;
	const struct rm_def *def;
	int option;
	int32_t from, to;
	struct build_space bs;
	struct tally t;
	store_rm_row_fn add;
	void *ctx;
};

static int fit_patient(void *ctx, const struct eds_source_patient *pt, struct a51_error *err)
{
	struct fit_read *fr = ctx;
	size_t n;
	int rc;

	if ((rc = build_patient(fr->p, fr->option, NULL, fr->from, fr->to, pt, &fr->bs, &n, err)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct rm_patient row;
		tally_add(&fr->t, &fr->bs.episodes[i]);
		if (fr->bs.episodes[i].excluded)
			continue;
		episode_row(fr->def, pt, &fr->bs.episodes[i], &row);
		if ((rc = fr->add(fr->ctx, &row, err)) < 0)
			return rc;
	}
	return 0;
}

int eds_fit_population(struct db_conn *c, const struct rm_def *def, struct sha256 *digest,
		       int (*add)(void *ctx, const struct rm_patient *pt, struct a51_error *err), void *ctx,
		       json_t **stats, struct a51_error *err)
{
	struct fit_read fr = { .def = def, .add = add, .ctx = ctx };
	struct eds_source_query q = { .dataset = 0, .region = def->region[0] ? def->region : NULL };
	struct eds_params p;
	struct eds_indicators ind;
	char from[11], to[11], dfrom[11], dto[11], roots[16], more[64];
	json_t *pset = NULL;
	int64_t forfait = 0;
	int rc;

	*stats = NULL;
	if ((rc = eds_params_of(c, 0, def->year, &pset, &p, err)) < 0)
		goto out;
	fr.p = &p;
	fr.option = eds_option_parse(def->episode_option);
	fr.from = date_from_ymd(def->year, 1, 1);
	fr.to = date_from_ymd(def->year, 12, 31);
	source_period(&p, def->year, &q, from, to, dfrom, dto, roots, fr.option);
	if ((rc = store_eds_source(c, &q, digest, fit_patient, &fr, err)) < 0)
		goto out;
	snprintf(more, sizeof(more), "|eds_pset=%lld", (long long)json_integer_value(json_object_get(pset, "id")));
	sha256_update(digest, more, strlen(more));
	/* the complications forfait: their observed cost spread over every included episode */
	if (fr.t.included)
		money_round((double)fr.t.complication_cents / fr.t.included, money_rounding_parse(p.rounding), &forfait);
	tally_indicators(&fr.t, fr.option, &ind);
	*stats = json_pack("{s:s,s:i,s:i,s:o,s:i,s:I,s:I,s:o,s:{s:O,s:O},s:{s:s,s:s}}", "option",
			   eds_option_name(fr.option), "episodes", fr.t.episodes, "included", fr.t.included, "excluded",
			   exclusions_json(&fr.t), "with_complications", fr.t.with_complications, "complication_cents",
			   (json_int_t)fr.t.complication_cents, "complications_forfait_cents", (json_int_t)forfait,
			   "reference_indicators", indicators_json(&ind), "parameter_set", "id", json_object_get(pset, "id"),
			   "version", json_object_get(pset, "version"), "data", "from", dfrom, "to", dto);
	if (!*stats)
		rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
out:
	space_release(&fr.bs);
	json_decref(pset);
	return rc;
}

/* ---- an establishment's year ---- */

struct run_args {
	int64_t structure_id, parameter_set_id, batch_id;
	int year, option, phase; /* phase: a what-if's; 0: the enrolment's */
	bool what_if;
};

struct run_read {
	const struct eds_params *p;
	const struct rm_def *def;
	const struct rm_design *d;
	const double *coef, *share;
	double smearing;
	int64_t forfait;
	int option, mode;
	const char *finess;
	int32_t from, to;
	int64_t run_id;
	int no;
	struct build_space bs;
	struct tally t;
	struct buf episodes, items;
	int64_t *targets, *actuals; /* included episodes */
	size_t n, cap;
	int64_t expected_sum, forfait_sum;
	struct job_ctx *ctx;
};

/* COPY text of a reference: validated identifiers carry no tab or newline,
 * a backslash would still need doubling. */
static void copy_text(struct buf *b, const char *s)
{
	for (; *s; s++)
		if (*s == '\\' || *s == '\t' || *s == '\n')
			buf_printf(b, "\\%c", *s == '\t' ? 't' : *s == '\n' ? 'n' : '\\');
		else
			buf_putc(b, *s);
}

static void item_line(struct run_read *rr, int no, const char *kind, const char *ref, int32_t day, int seg,
		      const char *code, int64_t cents)
{
	char d[11];

	date_format(day, d);
	buf_printf(&rr->items, "%lld\t%d\t%s\t", (long long)rr->run_id, no, kind);
	copy_text(&rr->items, ref);
	buf_printf(&rr->items, "\t%s\t%s\t", d, eds_segment_name(seg));
	if (code && code[0])
		copy_text(&rr->items, code);
	else
		buf_puts(&rr->items, "\\N");
	buf_printf(&rr->items, "\t%lld\n", (long long)cents);
}

static int run_patient(void *ctx, const struct eds_source_patient *pt, struct a51_error *err)
{
	struct run_read *rr = ctx;
	size_t n;
	int rc;

	if ((rc = build_patient(rr->p, rr->option, rr->finess, rr->from, rr->to, pt, &rr->bs, &n, err)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const struct eds_episode *e = &rr->bs.episodes[i];
		struct rm_patient row;
		double x[RM_MAX_COLUMNS];
		int64_t expected = 0, target = 0, actual = 0, answers = 0;
		double prom = 0;
		char reasons_text[128], d[4][11];
		int no = ++rr->no;

		tally_add(&rr->t, e);
		episode_row(rr->def, pt, e, &row);
		for (int s = 0; s < EDS__SEGMENTS; s++)
			actual += e->cents[s];
		if (!e->excluded) {
			rm_design_row(rr->def, rr->d, &row, x);
			if (!money_round(rm_model_predict(rr->def, rr->coef, rr->d->p, x, rr->smearing,
							  row.cell >= 0 && row.cell < 20 ? rr->share[row.cell] : 1),
					 rr->mode, &expected))
				return a51_error_set(err, A51_EINVAL, "model",
						     "the model predicts no finite cost for the episode of patient %lld",
						     (long long)pt->id);
			target = expected + rr->forfait;
			if (rr->n == rr->cap) {
				size_t cap = rr->cap ? rr->cap * 2 : 256;
				int64_t *t = realloc(rr->targets, cap * sizeof(*t));
				if (t)
					rr->targets = t;
				int64_t *a = t ? realloc(rr->actuals, cap * sizeof(*a)) : NULL;
				if (a)
					rr->actuals = a;
				if (!t || !a)
					return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
				rr->cap = cap;
			}
			rr->targets[rr->n] = target;
			rr->actuals[rr->n++] = actual;
			rr->expected_sum += expected;
			rr->forfait_sum += rr->forfait;
		}
		/* patient-reported outcomes: answers after discharge, in the window */
		for (size_t k = 0; k < pt->nanswers; k++)
			if (pt->answers[k].day > e->discharge && pt->answers[k].day <= e->window_to) {
				answers++;
				prom += pt->answers[k].answer;
			}
		if (!e->excluded) {
			rr->t.prom_answers += answers;
			rr->t.prom_sum += prom;
		}
		eds_exclusion_names(e->excluded, reasons_text, sizeof(reasons_text));
		date_format(e->admission, d[0]);
		date_format(e->discharge, d[1]);
		date_format(e->window_from, d[2]);
		date_format(e->window_to, d[3]);
		buf_printf(&rr->episodes, "%lld\t%d\t%lld\t", (long long)rr->run_id, no, (long long)pt->id);
		copy_text(&rr->episodes, pt->refs + pt->stays[e->trigger].ref);
		buf_printf(&rr->episodes, "\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%u\t%d\t%lld\t%lld\t%lld\t%lld\t%d\t%d\t", d[0], d[1],
			   d[2], d[3], e->excluded ? "f" : "t", reasons_text, row.cell, row.ald,
			   (int)row.c2s | (int)row.ame << 1 | (int)e->died_in_window << 2 | (int)e->pre_biology << 3,
			   (long long)e->cents[EDS_PRE], (long long)e->cents[EDS_INDEX], (long long)e->cents[EDS_POST],
			   (long long)e->cents[EDS_COMPLICATION], e->complications, e->mco_days);
		if (e->chemo_delay >= 0)
			buf_printf(&rr->episodes, "%d\t", e->chemo_delay);
		else
			buf_puts(&rr->episodes, "\\N\t");
		buf_printf(&rr->episodes, "%lld\t", (long long)answers);
		if (answers)
			buf_printf(&rr->episodes, "%.6f\t", prom / (double)answers);
		else
			buf_puts(&rr->episodes, "\\N\t");
		if (e->excluded)
			buf_printf(&rr->episodes, "\\N\t\\N\t%lld\n", (long long)actual);
		else
			buf_printf(&rr->episodes, "%lld\t%lld\t%lld\n", (long long)expected, (long long)target, (long long)actual);
		/* where each stay and claim went */
		for (size_t k = 0; k < pt->nstays; k++)
			if (rr->bs.stay_at[k].episode == (int)i)
				item_line(rr, no, "stay", pt->refs + pt->stays[k].ref, pt->stays[k].admission,
					  rr->bs.stay_at[k].segment, pt->stays[k].ghm, pt->stays[k].cents);
		for (size_t k = 0; k < pt->nclaims; k++)
			if (rr->bs.claim_at[k].episode == (int)i)
				item_line(rr, no, "claim", pt->refs + pt->claims[k].ref, pt->claims[k].day,
					  rr->bs.claim_at[k].segment, pt->claims[k].act, pt->claims[k].cents);
	}
	if (rr->episodes.oom || rr->items.oom)
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	if ((rr->no & 0xFF) == 0 && n && job_progress(rr->ctx, 0.5, "%d episodes built", rr->no))
		return a51_error_set(err, A51_ECANCELED, "job", "cancelled");
	return 0;
}

/* The phase of an official run: one over the whole year. */
static int phase_over_year(const json_t *enrol, int64_t structure_id, const char *from, const char *to,
			   struct a51_error *err)
{
	const char *at_to = json_string_value(json_object_get(enrol, "phase"));
	const char *at_from = json_string_value(json_object_get(enrol, "phase_from"));

	if (!at_to || !at_from || strcmp(at_to, at_from) != 0 || !eds_phase_parse(at_to))
		return a51_error_set(err, A51_EINVAL, "phase",
				     "establishment %lld is in phase %s on %s and %s on %s: an official EDS run needs one "
				     "phase over the whole year",
				     (long long)structure_id, at_from ? at_from : "(none)", from, at_to ? at_to : "(none)", to);
	return eds_phase_parse(at_to);
}

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static int run_establishment(struct job_ctx *ctx, const struct run_args *a, int64_t *run_id, json_t **summary,
			     struct a51_error *err)
{
	struct actor actor = { .caller = &ctx->caller, .request_id = ctx->request_id };
	struct db_conn *c = ctx->db;
	const char *option = eds_option_name(a->option), *key;
	char from[11], to[11], dfrom[11], dto[11], roots[16], region[4] = "", finess[16], digest[65], due[11];
	json_t *enrol = NULL, *pset = NULL, *model = NULL, *warnings = json_array(), *result = NULL;
	const json_t *ms;
	struct eds_params p;
	struct rm_def def;
	struct rm_design d;
	double coef[RM_MAX_COLUMNS], share[20], *targets = NULL;
	int64_t model_id, enrolment_id = 0;
	struct eds_source_query q = { .dataset = a->structure_id };
	struct run_read rr;
	struct eds_reconciliation rec;
	struct eds_indicators est, ref;
	int scored[EDS__INDICATORS];
	double score;
	struct sha256 sh;
	uint8_t dg[SHA256_LEN];
	int phase = a->phase, rc;

	memset(&rr, 0, sizeof(rr));
	buf_init(&rr.episodes);
	buf_init(&rr.items);
	sha256_init(&sh);
	date_format(date_from_ymd(a->year, 1, 1), from);
	date_format(date_from_ymd(a->year, 12, 31), to);
	rc = store_enrolment_option_over(c, a->structure_id, "EDS", option, from, to, &enrol, err);
	if (rc == 0) {
		enrolment_id = json_integer_value(json_object_get(enrol, "id"));
		if (!a->what_if) {
			if ((rc = phase_over_year(enrol, a->structure_id, from, to, err)) < 0)
				goto out;
			phase = rc;
		} else if (!phase) {
			phase = eds_phase_parse(json_string_value(json_object_get(enrol, "phase")));
		}
	} else if (rc != A51_EINVAL || !a->what_if) {
		goto out;
	}
	if (phase <= 0)
		phase = EDS_RETROSPECTIVE; /* a what-if of an establishment not enrolled */
	if ((rc = store_structure_region(c, a->structure_id, region, err)) < 0 ||
	    (rc = store_structure_finess(c, a->structure_id, finess, err)) < 0)
		goto out;
	if (!finess[0]) {
		rc = a51_error_set(err, A51_EINVAL, "structure_id",
				   "structure %lld has no FINESS: its stays cannot be told from others'", (long long)a->structure_id);
		goto out;
	}
	if ((rc = eds_params_of(c, a->parameter_set_id, a->year, &pset, &p, err)) < 0)
		goto out;
	/* the option's model, which must be a model of these episodes */
	key = a->option == EDS_PTH ? "model.pth" : a->option == EDS_PTG ? "model.ptg" : "model.colectomy";
	if ((rc = store_rm_latest(c, key, model_of(&p, a->option), &model_id, err)) < 0 ||
	    (rc = store_rm_get(c, model_id, &model, err)) < 0 ||
	    (rc = rm_model_load(model, &def, &d, coef, &rr.smearing, share, err)) < 0)
		goto out;
	ms = json_object_get(json_object_get(model, "stats"), "episodes");
	if (def.target != RT_EPISODE || strcmp(def.episode_option, option) != 0 || !json_is_object(ms)) {
		rc = a51_error_set(err, A51_EINVAL, "model", "risk model %s (id %lld) is not a model of %s episodes",
				   model_of(&p, a->option), (long long)model_id, option);
		goto out;
	}
	rr.p = &p;
	rr.def = &def;
	rr.d = &d;
	rr.coef = coef;
	rr.share = share;
	rr.forfait = json_integer_value(json_object_get(ms, "complications_forfait_cents"));
	rr.option = a->option;
	rr.mode = money_rounding_parse(p.rounding);
	rr.finess = finess;
	rr.from = date_from_ymd(a->year, 1, 1);
	rr.to = date_from_ymd(a->year, 12, 31);
	rr.ctx = ctx;
	if ((rc = store_eds_run_reserve(c, &rr.run_id, err)) < 0)
		goto out;
	source_period(&p, a->year, &q, from, to, dfrom, dto, roots, a->option);
	q.finess = finess;
	if ((rc = store_eds_source(c, &q, &sh, run_patient, &rr, err)) < 0)
		goto out;
	if (job_progress(ctx, 0.7, "%d episodes of establishment %lld", rr.no, (long long)a->structure_id)) {
		rc = a51_error_set(err, A51_ECANCELED, "job", "cancelled");
		goto out;
	}
	if (rr.t.included == 0)
		json_array_append_new(warnings, json_sprintf("no included %s episode in %d: nothing to reconcile", option,
							     a->year));
	/* quality: the establishment's indicators against the model's reference */
	tally_indicators(&rr.t, a->option, &est);
	{
		const json_t *r = json_object_get(ms, "reference_indicators");
		memset(&ref, 0, sizeof(ref));
		for (int i = 0; i < EDS__INDICATORS; i++) {
			const json_t *v = json_object_get(r, eds_indicator_name(i));
			ref.have[i] = json_is_number(v);
			ref.value[i] = json_number_value(v);
		}
	}
	score = eds_quality_score(&p, &est, &ref, scored);
	if (!(targets = malloc((rr.n ? rr.n : 1) * sizeof(*targets)))) {
		rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		goto out;
	}
	/* targets are whole cents already: the run's target is their exact sum */
	for (size_t i = 0; i < rr.n; i++)
		targets[i] = (double)rr.targets[i];
	if ((rc = eds_reconcile(&p, phase, a->year, targets, rr.actuals, rr.n, score, &rec, err)) < 0)
		goto out;
	if (phase == EDS_TWO_SIDED && !rec.two_sided)
		json_array_append_new(warnings, json_sprintf("two-sided risk starts in %d: %d is reconciled retrospectively",
							     p.two_sided_from, a->year));
	{
		char more[160];
		int len = snprintf(more, sizeof(more), "|pset=%lld|model=%lld|year=%d|phase=%d|option=%s|finess=%s",
				   (long long)json_integer_value(json_object_get(pset, "id")), (long long)model_id, a->year,
				   phase, option, finess);
		sha256_update(&sh, more, (size_t)len);
		sha256_final(&sh, dg);
		util_hex(dg, sizeof(dg), digest);
	}
	date_format(date_from_ymd(a->year + 1, (p.payment_due[0] - '0') * 10 + (p.payment_due[1] - '0'),
				  (p.payment_due[3] - '0') * 10 + (p.payment_due[4] - '0')), due);
	{
		json_t *scores = json_object();
		for (int i = 0; i < EDS__INDICATORS; i++)
			json_object_set_new(scores, eds_indicator_name(i), scored[i] < 0 ? json_null() : json_integer(scored[i]));
		result = json_pack(
			"{s:{s:i,s:i,s:o},s:{s:i,s:I,s:I,s:I,s:I,s:I,s:b,s:f,s:I,s:f,s:f,s:f,s:I,s:I},"
			"s:{s:o,s:o,s:o,s:f,s:f,s:I,s:o},s:s,s:s,s:o,s:{s:s,s:s}}",
			"episodes", "built", rr.t.episodes, "included", rr.t.included, "excluded", exclusions_json(&rr.t),
			"reconciliation", "episodes", rec.episodes, "expected_cents", (json_int_t)rr.expected_sum,
			"complications_forfait_cents", (json_int_t)rr.forfait_sum, "target_cents",
			(json_int_t)rec.target_cents, "actual_cents", (json_int_t)rec.actual_cents, "gap_cents",
			(json_int_t)rec.gap_cents, "two_sided", rec.two_sided, "share",
			rec.gap_cents > 0 ? p.gain_share : rec.two_sided ? p.loss_share : 0.0, "shared_cents",
			(json_int_t)rec.shared_cents, "stop_gain", p.stop_gain, "stop_loss", p.stop_loss, "quality_envelope_share",
			p.quality_envelope, "bounded_cents", (json_int_t)rec.bounded_cents, "quality_cents",
			(json_int_t)rec.quality_cents,
			"quality", "indicators", indicators_json(&est), "reference", indicators_json(&ref), "scored", scores,
			"score", rec.quality_score, "with_complications_rate",
			rr.t.included ? (double)rr.t.with_complications / rr.t.included : 0.0, "prom_answers",
			(json_int_t)rr.t.prom_answers, "prom_mean",
			rr.t.prom_answers ? num(rr.t.prom_sum / (double)rr.t.prom_answers) : json_null(),
			"phase", eds_phase_name(phase), "due_on", due, "warnings", warnings, "data", "from", dfrom, "to", dto);
	}
	warnings = NULL;
	if (!result) {
		rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		goto out;
	}
	json_object_set_new(json_object_get(result, "reconciliation"), "total_cents", json_integer(rec.total_cents));
	json_object_set_new(result, "model",
			    json_pack("{s:I,s:O,s:O,s:I}", "id", (json_int_t)model_id, "name", json_object_get(model, "name"),
				      "version", json_object_get(model, "version"), "complications_forfait_cents",
				      (json_int_t)rr.forfait));
	json_object_set_new(result, "parameter_set",
			    json_pack("{s:O,s:O,s:O}", "id", json_object_get(pset, "id"), "year", json_object_get(pset, "year"),
				      "version", json_object_get(pset, "version")));
	json_object_set_new(result, "finess", json_string(finess));
	{
		struct eds_run_record r = { .id = rr.run_id, .structure_id = a->structure_id, .enrolment_id = enrolment_id,
					    .parameter_set_id = json_integer_value(json_object_get(pset, "id")),
					    .model_id = model_id, .batch_id = a->batch_id, .job_id = ctx->id, .region = region,
					    .option = option, .phase = eds_phase_name(phase), .inputs_digest = digest,
					    .code_version = a51_version, .year = a->year, .episodes = rr.t.episodes,
					    .included = rr.t.included, .what_if = a->what_if, .total_cents = rec.total_cents,
					    .result = result };
		if ((rc = store_eds_run_insert(c, &actor, &r, run_id, err)) < 0)
			goto out;
	}
	if ((rc = store_eds_episodes_begin(c, err)) < 0 ||
	    (rr.episodes.len && (rc = db_copy_in_put(c, rr.episodes.data, rr.episodes.len, err)) < 0) ||
	    (rc = db_copy_in_end(c, err)) < 0 || (rc = store_eds_items_begin(c, err)) < 0 ||
	    (rr.items.len && (rc = db_copy_in_put(c, rr.items.data, rr.items.len, err)) < 0) ||
	    (rc = db_copy_in_end(c, err)) < 0)
		goto out;
	*summary = json_pack("{s:I,s:I,s:s,s:i,s:i,s:I}", "run_id", (json_int_t)*run_id, "structure_id",
			     (json_int_t)a->structure_id, "option", option, "episodes", rr.t.episodes, "included",
			     rr.t.included, "total_cents", (json_int_t)rec.total_cents);
out:
	json_decref(enrol);
	json_decref(pset);
	json_decref(model);
	json_decref(warnings);
	json_decref(result);
	free(targets);
	free(rr.targets);
	free(rr.actuals);
	space_release(&rr.bs);
	buf_release(&rr.episodes);
	buf_release(&rr.items);
	return rc;
}

static void args_of(const json_t *p, struct run_args *a)
{
	memset(a, 0, sizeof(*a));
	a->structure_id = json_integer_value(json_object_get(p, "structure_id"));
	a->parameter_set_id = json_integer_value(json_object_get(p, "parameter_set_id"));
	a->year = (int)json_integer_value(json_object_get(p, "year"));
	a->option = eds_option_parse(json_string_value(json_object_get(p, "option")));
	a->phase = json_is_string(json_object_get(p, "phase")) ? eds_phase_parse(json_string_value(json_object_get(p, "phase")))
								: 0;
	a->what_if = json_is_true(json_object_get(p, "what_if"));
}

int job_eds_run(struct job_ctx *ctx, struct a51_error *err)
{
	struct run_args a;
	json_t *summary = NULL;
	int64_t run_id = 0;
	int rc;

	args_of(ctx->params, &a);
	if (a.option < 0)
		return a51_error_set(err, A51_EINVAL, "option", "PTH, PTG or COLECTOMY");
	if ((rc = db_begin(ctx->db, err)) < 0)
		return rc;
	if ((rc = run_establishment(ctx, &a, &run_id, &summary, err)) == 0) {
		struct job_result res = { .type = "eds_run", .id = run_id };
		snprintf(res.url, sizeof(res.url), "/v1/eds/runs/%lld", (long long)run_id);
		if ((rc = job_finish_in_tx(ctx, &res, err)) == 0)
			rc = db_commit(ctx->db, err);
	}
	if (rc < 0)
		db_rollback(ctx->db);
	json_decref(summary);
	return rc;
}

/* Every option of every establishment enrolled over the year (of a region,
 * or the country), in one transaction; one that cannot be run is listed with
 * its reason. */
int job_eds_batch(struct job_ctx *ctx, struct a51_error *err)
{
	struct actor actor = { .caller = &ctx->caller, .request_id = ctx->request_id };
	struct run_args a;
	const char *region = json_string_value(json_object_get(ctx->params, "region"));
	const char *only = json_string_value(json_object_get(ctx->params, "option"));
	json_t *enrolled = NULL, *runs = json_array(), *skipped = json_array(), *s;
	char from[11], to[11];
	int64_t batch_id, total = 0;
	size_t i;
	int rc;

	args_of(ctx->params, &a);
	date_format(date_from_ymd(a.year, 1, 1), from);
	date_format(date_from_ymd(a.year, 12, 31), to);
	if ((rc = db_begin(ctx->db, err)) < 0 ||
	    (rc = store_eds_enrolled(ctx->db, from, to, region, only, &enrolled, err)) < 0 ||
	    (rc = store_batch_insert(ctx->db, &actor, EXP_EDS, a.year, region, ctx->id, &batch_id, err)) < 0)
		goto out;
	a.batch_id = batch_id;
	json_array_foreach(enrolled, i, s) {
		json_t *summary = NULL;
		int64_t run_id;
		struct a51_error e = { 0 };
		a.structure_id = json_integer_value(json_object_get(s, "structure_id"));
		a.option = eds_option_parse(json_string_value(json_object_get(s, "option")));
		if (job_progress(ctx, (double)i / (double)json_array_size(enrolled), "enrolment %zu of %zu", i + 1,
				 json_array_size(enrolled))) {
			rc = a51_error_set(err, A51_ECANCELED, "job", "cancelled");
			goto out;
		}
		if ((rc = db_run(ctx->db, "SAVEPOINT run", err)) < 0)
			goto out;
		if ((rc = run_establishment(ctx, &a, &run_id, &summary, &e)) == 0) {
			total += json_integer_value(json_object_get(summary, "total_cents"));
			json_array_append_new(runs, summary);
			rc = db_run(ctx->db, "RELEASE SAVEPOINT run", err);
		} else if (e.code == A51_EINVAL) {
			json_array_append_new(skipped, json_pack("{s:I,s:O,s:s}", "structure_id", (json_int_t)a.structure_id,
								 "option", json_object_get(s, "option"), "reason", e.message));
			rc = db_run(ctx->db, "ROLLBACK TO SAVEPOINT run", err);
		} else {
			*err = e;
			rc = e.code;
			goto out;
		}
		if (rc < 0)
			goto out;
	}
	{
		json_t *sum = json_pack("{s:i,s:I,s:o,s:o}", "runs_made", (int)json_array_size(runs), "total_cents",
					(json_int_t)total, "runs", runs, "skipped", skipped);
		runs = skipped = NULL;
		rc = store_batch_finish(ctx->db, EXP_EDS, batch_id, sum, err);
		json_decref(sum);
		if (rc < 0)
			goto out;
	}
	{
		struct job_result res = { .type = "eds_batch", .id = batch_id };
		snprintf(res.url, sizeof(res.url), "/v1/eds/batches/%lld", (long long)batch_id);
		if ((rc = job_finish_in_tx(ctx, &res, err)) == 0)
			rc = db_commit(ctx->db, err);
	}
out:
	if (rc < 0)
		db_rollback(ctx->db);
	json_decref(enrolled);
	json_decref(runs);
	json_decref(skipped);
	return rc;
}
