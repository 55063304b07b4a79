/* a51d synth: writes a region's structures (structures.ndjson), one directory of
 * CSV files per dataset (structures/<ref>/, reference/), the deprivation of the
 * communes patients live in (reference/deprivation.csv), truth.json and
 * manifest.json. Everything derives from the seed: the same options give the
 * same bytes. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "a51/buf.h"
#include "a51/dates.h"
#include "a51/util.h"
#include "model.h"
#include "a51/banned.h"

/* Départements by region (INSEE), as in migrations/0002. */
static const struct { const char *region; const char *depts[14]; } region_depts[] = {
	{ "01", { "971" } }, { "02", { "972" } }, { "03", { "973" } }, { "04", { "974" } }, { "06", { "976" } },
	{ "11", { "75", "77", "78", "91", "92", "93", "94", "95" } },
	{ "24", { "18", "28", "36", "37", "41", "45" } },
	{ "27", { "21", "25", "39", "58", "70", "71", "89", "90" } },
	{ "28", { "14", "27", "50", "61", "76" } },
	{ "32", { "02", "59", "60", "62", "80" } },
	{ "44", { "08", "10", "51", "52", "54", "55", "57", "67", "68", "88" } },
	{ "52", { "44", "49", "53", "72", "85" } },
	{ "53", { "22", "29", "35", "56" } },
	{ "75", { "16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87" } },
	{ "76", { "09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82" } },
	{ "84", { "01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74" } },
	{ "93", { "04", "05", "06", "13", "83", "84" } },
	{ "94", { "2A", "2B" } },
};

enum pro_kind { PRO_MG, PRO_IDE, PRO_MK, PRO_PHARM, PRO_SF, PRO_SPEC };
static const char *const pro_names[] = { "MG", "IDE", "MK", "PHARM", "SF", "SPEC" };

struct pro {
	char rpps[12];
	int kind;
	double weight;        /* MG: relative share of the MT patientèle */
	int home;             /* structure of its main practice, -1 outside */
};

struct member {
	int pro;
	int32_t start, end;   /* end INT32_MAX: still there */
	double fte;
};

struct structure {
	char ref[12], kind[12], name[96], legal_form[16], commune[6], finess[10], siret[15];
	char intent[160];
	struct member members[96];
	int nmembers;
};

enum { F_PATIENTS, F_MT, F_CLAIMS, F_STAYS, F_QUEST };
static const char *const file_names[5] = { "patients.csv", "mt_declarations.csv", "claims.csv", "stays.csv",
					    "questionnaires.csv" };
static const char *const file_headers[5] = {
	"nir,birth,sex,commune,c2s,ame,death_date,ald\n",
	"nir,gp_rpps,start_on,end_on\n",
	"claim_id,nir,care_date,rpps,act_code,quantity,base_amount,reimbursed_amount,extra_fees\n",
	"stay_id,finess,nir,field,admission_date,discharge_date,ghm,entry_mode,provenance,exit_mode,destination,"
	"main_diagnosis,procedure,amount\n",
	"questionnaire,nir,answered_on,item,answer\n",
};

struct world {
	const struct synth_options *o;
	const char *const *depts;
	int ndepts;
	struct pro *pros;
	int npros, cap_pros;
	struct structure *st;
	int nst;
	int32_t first_day, last_day;
	int year_first;
	struct synth_counts counts;
	/* outside the structures */
	int ext_gp[80], next_gp, ext_nurse[40], next_nurse, ext_physio[30], next_physio, ext_spec[60], next_spec;
	char ext_finess[20][10];
};

/* ---- identifiers with valid keys ---- */

static char luhn_digit(const char *s, int n, bool with_check_pos)
{
	int total = 0;

	/* from the right; the check digit's own position is rank 1 when appended */
	for (int i = 0; i < n; i++) {
		int d = s[n - 1 - i] - '0';
		if ((i % 2 == 0) == with_check_pos) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		total += d;
	}
	return (char)('0' + (10 - total % 10) % 10);
}

static void make_rpps(long n, char out[12])
{
	snprintf(out, 12, "1%09ld", n % 1000000000L);
	out[10] = luhn_digit(out, 10, true);
	out[11] = '\0';
}

static void make_finess(const char *dept, long n, char out[10])
{
	snprintf(out, 10, "%.2s%06ld", dept, n % 1000000L);
	out[8] = luhn_digit(out, 8, true);
	out[9] = '\0';
}

static void make_siret(long n, char out[15])
{
	snprintf(out, 15, "%08ld", 10000000L + n % 89999999L);
	out[8] = luhn_digit(out, 8, true);
	memcpy(out + 9, "0001", 4);
	out[13] = luhn_digit(out, 13, true);
	out[14] = '\0';
}

static void fmt_date(int32_t d, char out[11])
{
	date_format(d, out);
}

static void fmt_cents(int64_t c, char *out, size_t cap)
{
	snprintf(out, cap, "%lld.%02lld", (long long)(c / 100), (long long)(c % 100));
}

/* ---- professionals and structures ---- */

static int add_pro(struct world *w, int kind, int home, double weight)
{
	struct pro *p;

	if (w->npros == w->cap_pros) {
		int cap = w->cap_pros ? w->cap_pros * 2 : 512;
		struct pro *np = realloc(w->pros, (size_t)cap * sizeof(*np));
		if (!np)
			return -1;
		w->pros = np;
		w->cap_pros = cap;
	}
	p = &w->pros[w->npros];
	make_rpps(1000000L + w->npros * 7L + (long)(w->o->seed % 1000) * 100000L, p->rpps);
	p->kind = kind;
	p->home = home;
	p->weight = weight;
	return w->npros++;
}

static void add_member(struct world *w, struct rng *r, int s, int pro)
{
	struct structure *st = &w->st[s];
	struct member *m;

	if (st->nmembers >= (int)A51_ARRAY_LEN(st->members))
		return;
	m = &st->members[st->nmembers++];
	m->pro = pro;
	m->start = date_from_ymd(2012 + (int)rng_range(r, 0, w->year_first - 2013), (int)rng_range(r, 1, 12), 1);
	/* a few leave during the period */
	m->end = rng_bernoulli(r, 0.04) ? w->first_day + (int32_t)rng_range(r, 30, w->last_day - w->first_day)
					: INT32_MAX;
	m->fte = rng_bernoulli(r, 0.75) ? 1.0 : 0.5;
}

static int build_structures(struct world *w, struct rng *r)
{
	int m = w->o->structures, n_es = m >= 3 ? (m + 9) / 10 : 0, n_cpts = m >= 6 ? (m + 11) / 12 : 0;
	int n_primary = m - n_es - n_cpts;

	w->st = calloc((size_t)(m ? m : 1), sizeof(*w->st));
	if (!w->st)
		return -1;
	w->nst = m;
	for (int i = 0; i < m; i++) {
		struct structure *st = &w->st[i];
		const char *dept = w->depts[rng_range(r, 0, w->ndepts - 1)];
		snprintf(st->ref, sizeof(st->ref), "S%03d", i + 1);
		snprintf(st->commune, sizeof(st->commune), "%.2s%03d", dept, (int)rng_range(r, 1, 300));
		make_siret(1000L + i * 37L + (long)(w->o->seed % 997), st->siret);
		if (i < n_primary) {
			bool cds = i % 10 >= 7;
			int gps = cds ? (int)rng_range(r, 3, 9) : (int)rng_range(r, 2, 7);
			int ides = (int)rng_range(r, cds ? 1 : 0, 4);
			double weight = 1.0;
			snprintf(st->kind, sizeof(st->kind), "%s", cds ? "CDS" : "MSP");
			snprintf(st->legal_form, sizeof(st->legal_form), "%s",
				 cds ? (i % 3 ? "ASSOCIATION" : "MUTUELLE") : (i % 9 == 4 ? "SCM" : "SISA"));
			snprintf(st->name, sizeof(st->name), "%s %s %d", cds ? "Centre de santé" : "Maison de santé",
				 cds ? "municipal" : "des Coteaux", i + 1);
			/* the designed misses, so that a demo region shows both outcomes */
			if (i == 1) {
				gps = 2;
				snprintf(st->intent, sizeof(st->intent), "misses PEPS: 2 GPs (3 required)");
			} else if (i == 2) {
				weight = 0.04;
				gps = 3;
				ides = 2;
				snprintf(st->intent, sizeof(st->intent), "misses PEPS: new team, MT patientèle under 250");
			} else if (!cds && i % 9 == 4) {
				snprintf(st->intent, sizeof(st->intent), "misses PEPS: legal form SCM cannot receive the forfait");
			} else if (ides == 0) {
				snprintf(st->intent, sizeof(st->intent), "misses PEPS: no nurse");
			} else if (gps + ides < 5) {
				snprintf(st->intent, sizeof(st->intent), "misses PEPS: team under 5 MG and IDE");
			} else if (gps == 2) {
				snprintf(st->intent, sizeof(st->intent), "misses PEPS: 2 GPs");
			} else {
				snprintf(st->intent, sizeof(st->intent), "meets PEPS (whole patientèle)");
			}
			for (int k = 0; k < gps; k++)
				add_member(w, r, i, add_pro(w, PRO_MG, i, weight * (0.7 + 0.6 * rng_uniform(r))));
			for (int k = 0; k < ides; k++)
				add_member(w, r, i, add_pro(w, PRO_IDE, i, 1.0));
			for (int k = 0, n = (int)rng_range(r, 0, 2); k < n; k++)
				add_member(w, r, i, add_pro(w, PRO_MK, i, 1.0));
			if (rng_bernoulli(r, 0.4))
				add_member(w, r, i, add_pro(w, PRO_PHARM, i, 1.0));
			if (rng_bernoulli(r, 0.3))
				add_member(w, r, i, add_pro(w, PRO_SF, i, 1.0));
		} else if (i < n_primary + n_cpts) {
			snprintf(st->kind, sizeof(st->kind), "CPTS");
			snprintf(st->legal_form, sizeof(st->legal_form), "ASSOCIATION");
			snprintf(st->name, sizeof(st->name), "CPTS du territoire %d", i - n_primary + 1);
		} else {
			bool last = i == m - 1 && n_es > 1;
			snprintf(st->kind, sizeof(st->kind), "%s", last ? "GHT" : "ES");
			snprintf(st->legal_form, sizeof(st->legal_form), "%s", i % 2 ? "EPS" : "SAS");
			snprintf(st->name, sizeof(st->name), "%s %d", last ? "GHT Nord" : i % 2 ? "Centre hospitalier" : "Clinique",
				 i + 1);
			if (!last)
				make_finess(dept, 100000L + i * 113L + (long)(w->o->seed % 991), st->finess);
			snprintf(st->intent, sizeof(st->intent), "%s",
				 last ? "misses EDS: a groupement, not a health establishment with a FINESS"
				      : "meets EDS: health establishment with a FINESS");
			for (int k = 0; k < 4; k++)
				add_member(w, r, i, add_pro(w, PRO_SPEC, i, 1.0));
		}
	}
	/* CPTS: GPs of several primary-care teams; the first gathers most of them */
	for (int c = 0; c < n_cpts; c++) {
		int s = n_primary + c;
		double share = c == 0 ? 0.6 : 0.08;
		int taken = 0;
		for (int p = 0; p < w->npros; p++)
			/* a small groupement: 3 GPs at most, a few hundred MT patients each */
			if (w->pros[p].kind == PRO_MG && w->pros[p].home >= 0 && w->pros[p].home < n_primary &&
			    (c == 0 || taken < 3) && rng_bernoulli(r, share)) {
				add_member(w, r, s, p);
				taken++;
			}
		snprintf(w->st[s].intent, sizeof(w->st[s].intent), "%s",
			 c == 0 ? "meets IPEP: member GPs are médecins traitants of more than 5 000 patients"
				: "misses IPEP: a small groupement, under 5 000 patients");
	}
	/* outside the region's structures */
	for (size_t k = 0; k < A51_ARRAY_LEN(w->ext_gp); k++)
		w->ext_gp[k] = add_pro(w, PRO_MG, -1, 1.0);
	for (size_t k = 0; k < A51_ARRAY_LEN(w->ext_nurse); k++)
		w->ext_nurse[k] = add_pro(w, PRO_IDE, -1, 1.0);
	for (size_t k = 0; k < A51_ARRAY_LEN(w->ext_physio); k++)
		w->ext_physio[k] = add_pro(w, PRO_MK, -1, 1.0);
	for (size_t k = 0; k < A51_ARRAY_LEN(w->ext_spec); k++)
		w->ext_spec[k] = add_pro(w, PRO_SPEC, -1, 1.0);
	for (size_t k = 0; k < A51_ARRAY_LEN(w->ext_finess); k++)
		make_finess(w->depts[k % (size_t)w->ndepts], 500000L + (long)k * 71L, w->ext_finess[k]);
	return 0;
}

/* ---- events of one person ---- */

struct events {
	struct buf claims, stays, quest;
	long nclaims, nstays, nanswers;
	long seq;
	int eds_es;           /* structure index of an EDS surgery, -1 none */
};

static bool member_on(const struct structure *st, int pro, int32_t day)
{
	for (int i = 0; i < st->nmembers; i++)
		if (st->members[i].pro == pro && st->members[i].start <= day && st->members[i].end >= day)
			return true;
	return false;
}

static int gp_on(const struct person *p, int32_t day)
{
	return day >= p->switch_day ? p->gp2 : p->gp;
}

static void claim(struct events *ev, const char *prefix, long idx, const struct person *p, int32_t day,
		  const char *rpps, const char *code, int qty, int64_t base, int64_t extra, bool full)
{
	char d[11], b[24], re[24], ex[24];
	int64_t reimbursed = full ? base : (strcmp(code, "PHA") == 0 ? base * 65 / 100
					    : (code[0] == 'A' || strcmp(code, "IFD") == 0 || strcmp(code, "BIO") == 0)
						    ? base * 60 / 100
						    : base * 70 / 100);

	fmt_date(day, d);
	fmt_cents(base, b, sizeof(b));
	fmt_cents(reimbursed, re, sizeof(re));
	if (extra)
		fmt_cents(extra, ex, sizeof(ex));
	buf_printf(&ev->claims, "%s%ld-%ld,%s,%s,%s,%s,%d,%s,%s,%s\n", prefix, idx, ++ev->seq, p->nir, d, rpps ? rpps : "",
		   code, qty, b, re, extra ? ex : "");
	ev->nclaims++;
}

static void stay(struct events *ev, const char *prefix, long idx, const struct person *p, const char *finess,
		 const char *field, int32_t in, int32_t out, const char *ghm, const char *entry, const char *prov,
		 const char *exit, const char *dest, const char *diag, const char *proc, int64_t amount)
{
	char a[11], b[11], m[24];

	fmt_date(in, a);
	fmt_date(out, b);
	fmt_cents(amount, m, sizeof(m));
	buf_printf(&ev->stays, "%s%ld-%ld,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", prefix, idx, ++ev->seq, finess,
		   p->nir, field, a, b, ghm ? ghm : "", entry, prov ? prov : "", exit, dest ? dest : "",
		   diag ? diag : "", proc ? proc : "", m);
	ev->nstays++;
}

static int64_t lognormal_cents(struct rng *r, double mean, double sigma)
{
	double v = rng_lognormal(r, log(mean) - sigma * sigma / 2, sigma);

	return (int64_t)llround(v < 100 ? 100 : v);
}

static const char *pick_rpps(struct world *w, struct rng *r, const int *pool, size_t n)
{
	return w->pros[pool[rng_range(r, 0, (int64_t)n - 1)]].rpps;
}

static const char *structure_pro(struct world *w, struct rng *r, int s, int kind, int32_t day)
{
	const struct structure *st;
	int found[96], n = 0;

	if (s < 0)
		return NULL;
	st = &w->st[s];
	for (int i = 0; i < st->nmembers; i++)
		if (w->pros[st->members[i].pro].kind == kind && st->members[i].start <= day && st->members[i].end >= day)
			found[n++] = st->members[i].pro;
	return n ? w->pros[found[rng_range(r, 0, n - 1)]].rpps : NULL;
}

static bool ald_on(const struct person *p, int g, int32_t day)
{
	return (p->ald & (1u << g)) && p->ald_start[g] <= day;
}

/* A hip or knee replacement, or a colectomy, with its before and after. */
static void episode(struct world *w, struct rng *r, struct events *ev, const char *prefix, long idx,
		    struct person *p, int es, int type, int32_t day)
{
	static const char *const roots[] = { "08C48", "08C24", "06C04" };
	static const char *const diags[] = { "M161", "M171", "C187" };
	static const char *const imaging[] = { "NEQK010", "NFQK001", "ZCQK002" };
	static const double mean_cost[] = { 800000, 750000, 1300000 };
	const struct structure *st = &w->st[es];
	const char *surgeon = structure_pro(w, r, es, PRO_SPEC, day);
	const char *proc = type == 0 ? "NEKA020" : type == 1 ? "NFKA009" : rng_bernoulli(r, 0.1) ? "HHFA011" : "HHFA002";
	char ghm[8], entry[2] = "8", *prov = "";
	int los = type == 2 ? (int)rng_range(r, 6, 14) : (int)rng_range(r, 3, 7);
	int32_t out = day + los;
	double u = rng_uniform(r);
	bool dies = rng_bernoulli(r, type == 2 ? 0.02 : 0.005);
	const int levels[] = { 1, 1, 1, 1, 1, 1, 2, 2, 2, 3 };

	snprintf(ghm, sizeof(ghm), "%s%d", roots[type], levels[rng_range(r, 0, 9)]);
	/* pre-operative consultations and imaging */
	for (int k = 0, n = (int)rng_range(r, 1, 2); k < n; k++)
		claim(ev, prefix, idx, p, day - (int32_t)rng_range(r, 10, 60), surgeon, "CS", 1, 3000, 0, p->ald != 0);
	claim(ev, prefix, idx, p, day - (int32_t)rng_range(r, 10, 40), NULL, imaging[type], 1, 5000, 0, p->ald != 0);
	/* the way in: scheduled from home, or through the emergency department, or a transfer */
	if (u < 0.07)
		prov = "5";
	else if (u < 0.10)
		entry[0] = '7', prov = "1";
	if (dies)
		out = day + (int32_t)rng_range(r, 1, los);
	stay(ev, prefix, idx, p, st->finess, "MCO", day, out, ghm, entry, prov, dies ? "9" : rng_bernoulli(r, 0.35) ? "7" : "8",
	     NULL, diags[type], proc, lognormal_cents(r, mean_cost[type], 0.25));
	if (dies) {
		p->death = out;
		return;
	}
	/* a transfer to rehabilitation (SSR) after the stay */
	if (rng_bernoulli(r, 0.35)) {
		int32_t ssr_out = out + (int32_t)rng_range(r, 14, 28);
		stay(ev, prefix, idx, p, w->ext_finess[rng_range(r, 0, 19)], "SSR", out, ssr_out, NULL, "7", "1", "8", NULL,
		     NULL, NULL, lognormal_cents(r, 600000, 0.3));
		out = ssr_out;
	}
	/* after: physiotherapy, nursing, GP and surgeon follow-up */
	if (type < 2)
		for (int k = 0, n = (int)rng_range(r, 15, 30); k < n; k++)
			claim(ev, prefix, idx, p, out + (int32_t)rng_range(r, 3, 90),
			      pick_rpps(w, r, w->ext_physio, A51_ARRAY_LEN(w->ext_physio)), "AMK", 1, 1720, 0, true);
	for (int k = 0, n = (int)rng_range(r, 5, 10); k < n; k++)
		claim(ev, prefix, idx, p, out + (int32_t)rng_range(r, 1, 20),
		      pick_rpps(w, r, w->ext_nurse, A51_ARRAY_LEN(w->ext_nurse)), "AMI", 2, 630, 0, true);
	claim(ev, prefix, idx, p, out + (int32_t)rng_range(r, 40, 60), surgeon, "CS", 1, 3000, 0, true);
	/* complications: a readmission within 90 days */
	if (rng_bernoulli(r, type == 2 ? 0.12 : 0.05)) {
		int32_t in2 = out + (int32_t)rng_range(r, 2, 90);
		stay(ev, prefix, idx, p, st->finess, "MCO", in2, in2 + (int32_t)rng_range(r, 2, 10),
		     type == 2 ? "06M031" : "08M142", "8", "5", "8", NULL, type == 2 ? "K913" : "T845", NULL,
		     lognormal_cents(r, 500000, 0.5));
	}
	/* colectomy for cancer: adjuvant chemotherapy sessions */
	if (type == 2 && rng_bernoulli(r, 0.6)) {
		int32_t c = out + (int32_t)rng_range(r, 28, 70);
		for (int k = 0, n = (int)rng_range(r, 6, 12); k < n; k++, c += 14)
			stay(ev, prefix, idx, p, st->finess, "MCO", c, c, "28Z07Z", "8", "", "8", NULL, "Z511", NULL,
			     lognormal_cents(r, 50000, 0.2));
	}
}

static int64_t price_of(struct rng *r, int act, int year)
{
	switch (act) {
	case ACT_PHA: return lognormal_cents(r, 3500, 1.0);
	case ACT_BIO: return lognormal_cents(r, 2500, 0.5);
	case ACT_MCO: return lognormal_cents(r, 450000, 0.9);
	default: return (int64_t)model_price_cents(act, year);
	}
}

static void person_events(struct world *w, struct rng *r, const char *prefix, long idx, struct person *p,
			  struct events *ev)
{
	static const char *const ghms[] = { "05M092", "04M052", "06M041", "01M302", "11M041", "23M20T", "05K101" };
	static const char *const diags[] = { "I500", "J189", "K358", "G409", "N390", "R074", "I214" };
	int es_list[64], nes = 0;

	for (int s = 0; s < w->nst && nes < 64; s++)
		if (strcmp(w->st[s].kind, "ES") == 0 && w->st[s].finess[0])
			es_list[nes++] = s;
	ev->eds_es = -1;
	for (int y = w->year_first; y <= w->o->year; y++) {
		int32_t jan1 = date_from_ymd(y, 1, 1), dec31 = date_from_ymd(y, 12, 31);
		int32_t from = jan1, to = dec31 < p->death ? dec31 : p->death;
		int32_t born = date_from_ymd(p->birth_year, p->birth_month, 1);
		int age = date_age_at(p->birth_year, p->birth_month, jan1), cell;
		uint8_t ald = 0;
		double exposure;

		if (born > from)
			from = born;
		if (to < from)
			continue;
		exposure = (double)(to - from + 1) / (double)(dec31 - jan1 + 1);
		cell = model_cell(p->sex, age < 0 ? 0 : age);
		for (int g = 0; g < SYNTH_ALD_GROUPS; g++)
			if (ald_on(p, g, jan1))
				ald |= (uint8_t)(1u << g);
		for (int act = 0; act < ACT__COUNT; act++) {
			int64_t n = rng_poisson(r, model_rate(act, cell, ald, p->c2s) * exposure);
			for (int64_t k = 0; k < n; k++) {
				int32_t day = from + (int32_t)rng_range(r, 0, to - from);
				int gp = gp_on(p, day);
				bool full = ald != 0 || p->c2s;
				switch (act) {
				case ACT_G: {
					const char *rpps = gp >= 0 && rng_bernoulli(r, 0.8)
								   ? w->pros[gp].rpps
								   : pick_rpps(w, r, w->ext_gp, A51_ARRAY_LEN(w->ext_gp));
					bool visit = rng_bernoulli(r, 0.12);
					claim(ev, prefix, idx, p, day, rpps, visit ? "VG" : "G", 1,
					      (int64_t)(model_price_cents(ACT_G, y) - 120) + (visit ? 1000 : 0),
					      rng_bernoulli(r, 0.05) ? (int64_t)rng_range(r, 5, 20) * 100 : 0, full);
					break;
				}
				case ACT_AMI: {
					const char *nurse = gp >= 0 ? structure_pro(w, r, w->pros[gp].home, PRO_IDE, day) : NULL;
					int q = rng_bernoulli(r, 0.6) ? 1 : rng_bernoulli(r, 0.75) ? 2 : 3;
					if (!nurse || rng_bernoulli(r, 0.4))
						nurse = pick_rpps(w, r, w->ext_nurse, A51_ARRAY_LEN(w->ext_nurse));
					claim(ev, prefix, idx, p, day, nurse, "AMI", q, q * 315, 0, full);
					claim(ev, prefix, idx, p, day, nurse, "IFD", 1, 275, 0, full);
					break;
				}
				case ACT_AMK:
					claim(ev, prefix, idx, p, day, pick_rpps(w, r, w->ext_physio, A51_ARRAY_LEN(w->ext_physio)),
					      "AMK", 1, 1720, 0, full);
					break;
				case ACT_CS:
					claim(ev, prefix, idx, p, day, pick_rpps(w, r, w->ext_spec, A51_ARRAY_LEN(w->ext_spec)),
					      "CS", 1, 3000, rng_bernoulli(r, 0.35) ? 2000 : 0, full);
					break;
				case ACT_PHA:
					claim(ev, prefix, idx, p, day, NULL, "PHA", 1, price_of(r, act, y), 0, full);
					break;
				case ACT_BIO:
					claim(ev, prefix, idx, p, day, NULL, "BIO", 1, price_of(r, act, y), 0, full);
					break;
				case ACT_MCO: {
					int g = (int)rng_range(r, 0, 6), los = (int)rng_range(r, 0, 9);
					bool emergency = rng_bernoulli(r, 0.4);
					const char *finess = nes && rng_bernoulli(r, 0.7) ? w->st[es_list[rng_range(r, 0, nes - 1)]].finess
											 : w->ext_finess[rng_range(r, 0, 19)];
					int32_t out = day + los;
					bool dies_here = p->death != INT32_MAX && out >= p->death && rng_bernoulli(r, 0.4);
					if (dies_here)
						out = p->death;
					if (out < day)
						break;
					stay(ev, prefix, idx, p, finess, "MCO", day, out, ghms[g], "8", emergency ? "5" : "",
					     dies_here ? "9" : "8", NULL, diags[g], NULL, price_of(r, act, y));
					break;
				}
				}
			}
		}
		/* surgical episodes */
		if (nes && age >= 55) {
			double k = w->o->surgery_rate > 1 ? w->o->surgery_rate : 1;
			double pth = k * (age >= 75 ? 0.006 : age >= 60 ? 0.004 : 0.001);
			double ptg = k * (age >= 60 ? 0.004 : 0.001);
			int32_t d = from + (int32_t)rng_range(r, 60, (to - from) > 120 ? to - from - 60 : 61);
			int type = -1;
			if (d <= to && rng_bernoulli(r, pth))
				type = 0;
			else if (d <= to && rng_bernoulli(r, ptg))
				type = 1;
			else if (d <= to && p->colon_cancer && ald_on(p, ALDG_CANCER, jan1) && rng_bernoulli(r, fmin(1, 0.15 * k)))
				type = 2;
			if (type >= 0) {
				int es = es_list[rng_range(r, 0, nes - 1)];
				/* a few had the same intervention in the year before: an exclusion */
				if (type < 2 && rng_bernoulli(r, 0.015))
					stay(ev, prefix, idx, p, w->st[es].finess, "MCO", d - 200, d - 195,
					     type == 0 ? "08C481" : "08C241", "8", "", "8", NULL, type == 0 ? "M161" : "M171",
					     type == 0 ? "NEKA020" : "NFKA009", 800000);
				episode(w, r, ev, prefix, idx, p, es, type, d);
				ev->eds_es = es;
			}
		}
	}
}

/* ---- files ---- */

static int open_dataset(struct world *w, const char *dir, FILE *f[5], bool quest, struct a51_error *err)
{
	char path[1024];

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return a51_error_set(err, A51_EIO, "out", "cannot create %s: %s", dir, strerror(errno));
	for (int k = 0; k < 5; k++) {
		f[k] = NULL;
		if (k == F_QUEST && !quest)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, file_names[k]);
		if (!(f[k] = fopen(path, "w")))
			return a51_error_set(err, A51_EIO, "out", "cannot write %s: %s", path, strerror(errno));
		setvbuf(f[k], NULL, _IOFBF, 1 << 20);
		fputs(file_headers[k], f[k]);
	}
	(void)w;
	return 0;
}

static void write_patient(FILE *f, const struct person *p)
{
	char death[11] = "";
	bool first = true;

	if (p->death != INT32_MAX)
		fmt_date(p->death, death);
	fprintf(f, "%s,%04d-%02d,%d,%s,%d,%d,%s,", p->nir, p->birth_year, p->birth_month, p->sex, p->commune, p->c2s,
		p->ame, death);
	for (int g = 0; g < SYNTH_ALD_GROUPS; g++) {
		char d[11];
		if (!(p->ald & (1u << g)))
			continue;
		fmt_date(p->ald_start[g], d);
		fprintf(f, "%s%d/%s", first ? "" : "|", p->ald_code[g], d);
		first = false;
	}
	fputc('\n', f);
}

static void write_mt(struct world *w, FILE *f, const struct person *p)
{
	char s[11], e[11];

	if (p->gp < 0)
		return;
	fmt_date(p->mt_start, s);
	if (p->gp2 >= 0 && p->switch_day != INT32_MAX) {
		fmt_date(p->switch_day - 1, e);
		fprintf(f, "%s,%s,%s,%s\n", p->nir, w->pros[p->gp].rpps, s, e);
		fmt_date(p->switch_day, s);
		fprintf(f, "%s,%s,%s,\n", p->nir, w->pros[p->gp2].rpps, s);
	} else {
		fprintf(f, "%s,%s,%s,\n", p->nir, w->pros[p->gp].rpps, s);
	}
}

static void write_events(FILE *const f[5], const struct events *ev)
{
	/* an empty buffer may have no storage yet: fwrite wants a pointer all the same */
	if (ev->claims.len)
		fwrite(ev->claims.data, 1, ev->claims.len, f[F_CLAIMS]);
	if (ev->stays.len)
		fwrite(ev->stays.data, 1, ev->stays.len, f[F_STAYS]);
	if (f[F_QUEST] && ev->quest.len)
		fwrite(ev->quest.data, 1, ev->quest.len, f[F_QUEST]);
}

static void close_dataset(FILE *f[5])
{
	for (int k = 0; k < 5; k++)
		if (f[k])
			fclose(f[k]);
}

/* MT: most adults have one; 80 % of those declared in the region's teams. */
static void assign_gp(struct world *w, struct rng *r, struct person *p, const double *cum, const int *gps, int ngps)
{
	int age = date_age_at(p->birth_year, p->birth_month, w->first_day);
	double u;
	int lo = 0, hi = ngps - 1;

	if (!rng_bernoulli(r, age >= 16 ? 0.9 : 0.6))
		return;
	if (ngps == 0 || rng_bernoulli(r, 0.2)) {
		p->gp = w->ext_gp[rng_range(r, 0, (int64_t)A51_ARRAY_LEN(w->ext_gp) - 1)];
	} else {
		u = rng_uniform(r) * cum[ngps - 1];
		while (lo < hi) {
			int mid = (lo + hi) / 2;
			if (cum[mid] > u)
				hi = mid;
			else
				lo = mid + 1;
		}
		p->gp = gps[lo];
	}
	p->mt_start = date_from_ymd(2008 + (int)rng_range(r, 0, w->year_first - 2009), (int)rng_range(r, 1, 12), 1);
	if (p->mt_start < date_from_ymd(p->birth_year, p->birth_month, 1))
		p->mt_start = date_from_ymd(p->birth_year, p->birth_month, 1);
	if (rng_bernoulli(r, 0.04) && ngps) {
		p->gp2 = gps[rng_range(r, 0, ngps - 1)];
		if (p->gp2 == p->gp)
			p->gp2 = -1;
		else
			p->switch_day = w->first_day + (int32_t)rng_range(r, 30, w->last_day - w->first_day);
		if (p->switch_day <= p->mt_start) { /* a baby declared after the day drawn: no switch */
			p->gp2 = -1;
			p->switch_day = INT32_MAX;
		}
	}
}

static void write_structures(struct world *w, FILE *f)
{
	for (int s = 0; s < w->nst; s++) {
		struct structure *st = &w->st[s];
		fprintf(f, "{\"ref\":\"%s\",\"kind\":\"%s\",\"name\":\"%s\",\"region\":\"%s\",\"commune\":\"%s\","
			   "\"legal_form\":\"%s\",\"siret\":\"%s\"",
			st->ref, st->kind, st->name, w->o->region, st->commune, st->legal_form, st->siret);
		if (st->finess[0])
			fprintf(f, ",\"finess\":\"%s\"", st->finess);
		fprintf(f, ",\"intent\":\"%s\",\"members\":[", st->intent);
		for (int i = 0; i < st->nmembers; i++) {
			const struct member *m = &st->members[i];
			const struct pro *p = &w->pros[m->pro];
			char a[11], b[11];
			fmt_date(m->start, a);
			fprintf(f, "%s{\"rpps\":\"%s\",\"profession\":\"%s\",\"last_name\":\"Nom%d\",\"first_name\":\"Prénom\","
				   "\"start_on\":\"%s\",\"fte\":%.2f",
				i ? "," : "", p->rpps, pro_names[p->kind], m->pro, a, m->fte);
			if (m->end != INT32_MAX) {
				fmt_date(m->end, b);
				fprintf(f, ",\"end_on\":\"%s\"", b);
			}
			fputc('}', f);
		}
		fputs("]}\n", f);
	}
}

/* Forks the deprivation stream off the root: a label no other fork uses, so
 * that adding the file left every other stream, and file, as it was. */
#define DEPRIVATION_STREAM 0x6465707269766174ull /* "deprivat" */

struct deprivation_out {
	FILE *f;
	struct rng dep;
};

static void write_deprivation_line(void *ctx, const char *code)
{
	struct deprivation_out *d = ctx;
	int q;
	double score;

	model_deprivation(&d->dep, code, &q, &score);
	fprintf(d->f, "%s,%d,%.3f\n", code, q, score);
}

/* reference/deprivation.csv: reference data (kind=deprivation), one line per
 * commune a generated patient lives in. Deprivation is not in the truth: the
 * spending model ignores it, so a fitted model should find it worth nothing. */
static int write_deprivation(const struct synth_options *o, const struct rng *root, const struct commune_set *cs,
			     struct a51_error *err)
{
	struct deprivation_out d;
	char dir[1024], path[1100];

	if (!cs->nprefix)
		return 0;
	snprintf(dir, sizeof(dir), "%s/reference", o->out);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return a51_error_set(err, A51_EIO, "out", "cannot create %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/deprivation.csv", dir);
	if (!(d.f = fopen(path, "w")))
		return a51_error_set(err, A51_EIO, "out", "cannot write %s: %s", path, strerror(errno));
	rng_fork(&d.dep, root, DEPRIVATION_STREAM);
	fputs("commune,quintile,score\n", d.f);
	commune_set_each(cs, write_deprivation_line, &d);
	if (fclose(d.f) != 0)
		return a51_error_set(err, A51_EIO, "out", "cannot write %s: %s", path, strerror(errno));
	return 0;
}

static void write_truth(struct world *w, FILE *f)
{
	static const struct { const char *name; const char *what; unsigned acts; } targets[] = {
		{ "peps_perimeter", "general practitioners' acts (G, VG): the PEPS substitution perimeter",
		  1u << ACT_G },
		{ "town_all", "all town care: GP, nursing, physiotherapy, specialists, pharmacy, biology",
		  (1u << ACT_G) | (1u << ACT_AMI) | (1u << ACT_AMK) | (1u << ACT_CS) | (1u << ACT_PHA) | (1u << ACT_BIO) },
		{ "all_care", "town care and MCO stays (surgical episodes excluded)",
		  (1u << ACT_G) | (1u << ACT_AMI) | (1u << ACT_AMK) | (1u << ACT_CS) | (1u << ACT_PHA) | (1u << ACT_BIO) |
			  (1u << ACT_MCO) },
	};
	fprintf(f, "{\n  \"description\": \"Expected yearly spending (base amounts, cents) per patient-year of full "
		   "exposure: additive in the terms, age-sex cells by age on 1 January, ALD groups active on 1 "
		   "January, C2S. The reference cell is M_25_34.\",\n  \"targets\": {");
	for (size_t t = 0; t < A51_ARRAY_LEN(targets); t++) {
		fprintf(f, "%s\n    \"%s\": {\"what\": \"%s\", \"by_year\": {", t ? "," : "", targets[t].name, targets[t].what);
		for (int y = w->year_first; y <= w->o->year; y++) {
			fprintf(f, "%s\"%d\": {", y > w->year_first ? ", " : "", y);
			for (int term = 0; term < model_terms(); term++) {
				double v = 0;
				for (int act = 0; act < ACT__COUNT; act++)
					if (targets[t].acts & (1u << act))
						v += model_term_rate(act, term) * model_price_cents(act, y);
				fprintf(f, "%s\"%s\": %.4f", term ? ", " : "", model_term_name(term), v);
			}
			fputc('}', f);
		}
		fputs("}}", f);
	}
	fputs("\n  }\n}\n", f);
}

int synth_run(const struct synth_options *o, struct synth_counts *out, struct a51_error *err)
{
	struct world w = { .o = o };
	struct rng root, r;
	char path[1024], dir[1024];
	FILE *f, *(*dsf)[5] = NULL, *reff[5] = { 0 };
	struct person *pp = NULL;
	struct commune_set *communes = NULL;
	int *gps = NULL, ngps = 0, rc = 0;
	double *cum = NULL;
	struct events ev;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < A51_ARRAY_LEN(region_depts); i++)
		if (strcmp(region_depts[i].region, o->region) == 0) {
			w.depts = region_depts[i].depts;
			while (w.ndepts < 14 && region_depts[i].depts[w.ndepts])
				w.ndepts++;
		}
	if (!w.depts)
		return a51_error_set(err, A51_EINVAL, "region", "unknown region %s", o->region);
	w.year_first = o->year - o->years + 1;
	w.first_day = date_from_ymd(w.year_first, 1, 1);
	w.last_day = date_from_ymd(o->year, 12, 31);
	rng_seed(&root, o->seed);
	if (mkdir(o->out, 0755) < 0 && errno != EEXIST)
		return a51_error_set(err, A51_EIO, "out", "cannot create %s: %s", o->out, strerror(errno));
	rng_fork(&r, &root, 1);
	if (build_structures(&w, &r) < 0) {
		rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		goto out;
	}
	/* the GPs of the region's teams, weighted by their patientèle share */
	gps = calloc((size_t)w.npros + 1, sizeof(*gps));
	cum = calloc((size_t)w.npros + 1, sizeof(*cum));
	dsf = calloc((size_t)(w.nst ? w.nst : 1), sizeof(*dsf));
	communes = calloc(1, sizeof(*communes));
	buf_init(&ev.claims);
	buf_init(&ev.stays);
	buf_init(&ev.quest);
	if (!gps || !cum || !dsf || !communes) {
		rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (int p = 0; p < w.npros; p++)
		if (w.pros[p].kind == PRO_MG && w.pros[p].home >= 0) {
			gps[ngps] = p;
			cum[ngps] = (ngps ? cum[ngps - 1] : 0) + w.pros[p].weight;
			ngps++;
		}
	snprintf(path, sizeof(path), "%s/structures.ndjson", o->out);
	if (!(f = fopen(path, "w"))) {
		rc = a51_error_set(err, A51_EIO, "out", "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	write_structures(&w, f);
	fclose(f);
	out->structures = w.nst;
	out->professionals = w.npros;

	snprintf(dir, sizeof(dir), "%s/structures", o->out);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		rc = a51_error_set(err, A51_EIO, "out", "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	for (int s = 0; s < w.nst; s++) {
		snprintf(dir, sizeof(dir), "%s/structures/%s", o->out, w.st[s].ref);
		if ((rc = open_dataset(&w, dir, dsf[s], strcmp(w.st[s].kind, "CPTS") == 0, err)) < 0)
			goto out;
	}
	pp = calloc(1, sizeof(*pp));
	/* the region: each patient goes to the datasets of the structures of its GPs
	 * (and of an establishment where it was operated) */
	for (long i = 0; i < o->patients; i++) {
		struct rng pr;
		bool in[512] = { false };

		rng_fork(&pr, &root, 1000000 + (uint64_t)i);
		/* indices per department: the region's patients below 500 000, the reference above */
		model_person(&pr, i / w.ndepts, w.depts[i % w.ndepts], w.year_first, o->year, pp);
		commune_set_add(communes, pp->commune);
		assign_gp(&w, &pr, pp, cum, gps, ngps);
		ev.seq = 0;
		buf_reset(&ev.claims);
		buf_reset(&ev.stays);
		buf_reset(&ev.quest);
		ev.nclaims = ev.nstays = ev.nanswers = 0;
		person_events(&w, &pr, "P", i, pp, &ev);
		for (int s = 0; s < w.nst && s < 512; s++) {
			struct structure *st = &w.st[s];
			if ((pp->gp >= 0 && member_on(st, pp->gp, w.last_day < pp->death ? w.first_day : pp->death)) ||
			    (pp->gp >= 0 && st->nmembers && (member_on(st, pp->gp, w.first_day) || member_on(st, pp->gp, w.last_day))) ||
			    (pp->gp2 >= 0 && (member_on(st, pp->gp2, w.first_day) || member_on(st, pp->gp2, w.last_day))) ||
			    ev.eds_es == s)
				in[s] = true;
		}
		/* patient-experience answers for the groupements' patients */
		for (int s = 0; s < w.nst && s < 512; s++) {
			if (!in[s] || strcmp(w.st[s].kind, "CPTS") || !rng_bernoulli(&pr, 0.08) ||
			    pp->death < date_from_ymd(o->year, 12, 31))
				continue;
			{
				char d[11];
				int32_t day = date_from_ymd(o->year, 3, 1) + (int32_t)rng_range(&pr, 0, 200);
				fmt_date(day, d);
				for (int item = 1; item <= 30; item++) {
					static const double scale[4] = { 0.05, 0.12, 0.43, 0.40 };
					buf_printf(&ev.quest, "IPEP-EXP-%d,%s,%s,%d,%zu\n", o->year, pp->nir, d, item,
						   rng_pick(&pr, scale, 4) + 1);
					ev.nanswers++;
				}
			}
			break;
		}
		for (int s = 0; s < w.nst && s < 512; s++) {
			if (!in[s])
				continue;
			write_patient(dsf[s][F_PATIENTS], pp);
			write_mt(&w, dsf[s][F_MT], pp);
			write_events(dsf[s], &ev);
			out->declarations += pp->gp >= 0 ? (pp->gp2 >= 0 ? 2 : 1) : 0;
		}
		out->patients++;
		out->claims += ev.nclaims;
		out->stays += ev.nstays;
		out->answers += ev.nanswers;
	}
	/* the reference population, France-wide: patients, claims and stays */
	if (o->reference > 0) {
		snprintf(dir, sizeof(dir), "%s/reference", o->out);
		if ((rc = open_dataset(&w, dir, reff, false, err)) < 0)
			goto out;
		for (long i = 0; i < o->reference; i++) {
			struct rng pr;
			static const char *const france[] = { "75", "13", "69", "33", "59", "31", "44", "67", "35", "2A" };
			long idx = 500000L + i / 10;

			rng_fork(&pr, &root, 900000000ull + (uint64_t)i);
			model_person(&pr, idx, france[i % 10], w.year_first, o->year, pp);
			commune_set_add(communes, pp->commune);
			ev.seq = 0;
			buf_reset(&ev.claims);
			buf_reset(&ev.stays);
			buf_reset(&ev.quest);
			ev.nclaims = ev.nstays = ev.nanswers = 0;
			person_events(&w, &pr, "R", i, pp, &ev);
			write_patient(reff[F_PATIENTS], pp);
			write_events(reff, &ev);
			out->reference_patients++;
			out->claims += ev.nclaims;
			out->stays += ev.nstays;
		}
	}
	if ((rc = write_deprivation(o, &root, communes, err)) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/truth.json", o->out);
	if ((f = fopen(path, "w"))) {
		write_truth(&w, f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/manifest.json", o->out);
	if ((f = fopen(path, "w"))) {
		fprintf(f, "{\"generator\":\"a51d synth\",\"seed\":%llu,\"region\":\"%s\",\"year\":%d,\"years\":%d,"
			   "\"structures\":%ld,\"professionals\":%ld,\"patients\":%ld,\"reference_patients\":%ld,"
			   "\"mt_declarations\":%ld,\"claims\":%ld,\"stays\":%ld,\"answers\":%ld}\n",
			(unsigned long long)o->seed, o->region, o->year, o->years, out->structures, out->professionals,
			out->patients, out->reference_patients, out->declarations, out->claims, out->stays, out->answers);
		fclose(f);
	}
out:
	if (dsf)
		for (int s = 0; s < w.nst; s++)
			close_dataset(dsf[s]);
	close_dataset(reff);
	buf_release(&ev.claims);
	buf_release(&ev.stays);
	buf_release(&ev.quest);
	free(pp);
	free(communes);
	free(dsf);
	free(gps);
	free(cum);
	free(w.st);
	free(w.pros);
	return rc;
}
