/* Who may do what: every route of the table x every kind of caller x own /
 * other tenant (a test fails when a route has no row), token lifecycle
 * (revocation seen at once despite the cache, expiry), the audit trail and
 * its scoping, optimistic concurrency.
 *
 * The tenants: a synthetic region 84 loaded as `make demo` loads it (PEPS,
 * IPEP and EDS runs, indicator runs, uploads, models, scores), plus S1 (a
 * clinic of region 84 made by hand) and S2 (a health centre of region 11). A
 * row's resource belongs to one structure; the "own structure" roles are that
 * structure's tokens, "another structure" is a structure of the same region
 * and "S2" one of another region. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/check_main.h"
#include "harness.h"
#include "a51/app.h"
#include "a51/router.h"

/* The matrix rows carry their path templates as printf formats. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
/* ... and leave the subject and ids out when they are not about them. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

enum { NONE, NAT, NAT_RO, ARS, ARS_RO, ARS_OTHER, S1, S1_RO, S2, SIB, NROLES };
static const char *const role_names[NROLES] = { "no token", "national", "national read-only", "ARS 84",
						"ARS 84 read-only", "ARS 11", "the owning structure",
						"the owning structure read-only", "structure S2 (region 11)",
						"another structure of region 84" };

/* Whose resource a row is about: the owning-structure roles use its tokens. */
enum { SUB_S1, SUB_PEPS, SUB_IPEP, SUB_EDS, NSUBJ };

static struct h_db db;
static struct h_srv srv;
static char tok[NROLES][64], own_tok[NSUBJ][2][64];
static long s1, s2, member, patient, decl, enrol;
static char s1_path[64], member_rpps[12], patient_nir[16];
static long counter = 100;
/* the demo region's resources */
static long subj_sid[NSUBJ], sib, peps_run, ipep_run, eds_run, eds_episode, ind_run, upload_id, ref_upload_id, ipep_job,
	model_id, scored_patient, peps_batch, ipep_batch, eds_batch, nat_peps_batch;

#define SQLL(...) strtol(h_sqlf(&db, __VA_ARGS__), NULL, 10)

static long create(const char *path, const char *body)
{
	int st;
	json_t *j = h_api_json(srv.port, "POST", path, tok[NAT], body, &st);
	long id;

	ck_assert_msg(st == 201, "POST %s: %d", path, st);
	id = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	return id;
}

/* POSTs a job as token, waits for it, returns its result's id. */
static long run_job(const char *token, const char *path, const char *body, long *job_id)
{
	int st;
	json_t *j = h_api_json(srv.port, "POST", path, token, body, &st), *job;
	long id, jid;

	ck_assert_msg(st == 202, "POST %s: %d %s", path, st, json_dumps(j, JSON_COMPACT));
	jid = (long)json_integer_value(json_object_get(j, "id"));
	job = h_wait_job(srv.port, tok[NAT], jid, 120);
	ck_assert_msg(strcmp(json_string_value(json_object_get(job, "status")), "succeeded") == 0, "%s: %s", path,
		      json_dumps(job, JSON_COMPACT));
	id = (long)json_integer_value(json_object_get(json_object_get(job, "result"), "id"));
	if (job_id)
		*job_id = jid;
	json_decref(j);
	json_decref(job);
	return id;
}

static long new_structure(const char *kind, const char *region, const char *commune)
{
	char body[512];

	snprintf(body, sizeof(body),
		 "{\"kind\":\"%s\",\"name\":\"Structure %ld\",\"region\":\"%s\",\"commune\":\"%s\","
		 "\"legal_form\":\"%s\"%s}",
		 kind, counter++, region, commune, strcmp(kind, "ES") == 0 ? "EPS" : "SISA",
		 strcmp(kind, "ES") == 0 ? "" : "");
	return create("/v1/structures", body);
}

static long new_token(const char *scope)
{
	char body[128];

	snprintf(body, sizeof(body), "{\"name\":\"t%ld\",\"scope\":\"%s\"}", counter++, scope);
	return create("/v1/tokens", body);
}

static long new_enrolment(void)
{
	char path[96];

	snprintf(path, sizeof(path), "%s/enrolments", s1_path);
	return create(path, "{\"experiment\":\"EDS\",\"option\":\"PTH\",\"start_on\":\"2024-02-01\"}");
}

static void withdraw(long e)
{
	char path[128];
	int st;
	json_t *j;

	snprintf(path, sizeof(path), "%s/enrolments/%ld/withdrawal", s1_path, e);
	j = h_api_json(srv.port, "POST", path, tok[NAT], "{\"on\":\"2024-12-31\",\"reason\":\"test\"}", &st);
	ck_assert_int_eq(st, 200);
	json_decref(j);
}

static void structure_tokens(long id, char rw[64], char ro[64])
{
	char scope[48];

	snprintf(scope, sizeof(scope), "structure:%ld", id);
	h_token_cli(db.url, "own", scope, false, rw);
	if (ro)
		h_token_cli(db.url, "own-ro", scope, true, ro);
}

/* The demo region: synth, then scripts/load-demo.py through the API (it
 * stops when structures exist, so it comes first). */
static void load_region(void)
{
	char dir[600], cmd[4096];

	snprintf(dir, sizeof(dir), "%s/access-synth-%d", getenv("A51_TEST_VARDIR") ? getenv("A51_TEST_VARDIR") : "/tmp",
		 (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "rm -rf '%s' && '%s' synth --patients 2000 --structures 8 --year 2024 --years 2 --reference 2000"
		 " --seed 7 --surgery-rate 5 --out '%s' >/dev/null 2>&1 &&"
		 " python3 '%s/scripts/load-demo.py' http://127.0.0.1:%u %s '%s' >/dev/null 2>&1 && rm -rf '%s'",
		 dir, getenv("A51D_BIN"), dir, getenv("A51_SOURCE_ROOT"), (unsigned)srv.port, tok[NAT], dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	subj_sid[SUB_PEPS] = SQLL("SELECT min(structure_id) FROM peps_runs");
	subj_sid[SUB_EDS] = SQLL("SELECT min(structure_id) FROM eds_runs");
	subj_sid[SUB_IPEP] = SQLL("SELECT min(id) FROM structures WHERE kind = 'CPTS'");
	sib = SQLL("SELECT min(id) FROM structures WHERE kind = 'MSP' AND region = '84'"
		   " AND id NOT IN (SELECT structure_id FROM peps_runs)");
	peps_run = SQLL("SELECT min(id) FROM peps_runs WHERE structure_id = %ld", subj_sid[SUB_PEPS]);
	eds_run = SQLL("SELECT min(r.id) FROM eds_runs r WHERE structure_id = %ld"
		       " AND EXISTS (SELECT 1 FROM eds_episodes e WHERE e.run_id = r.id)", subj_sid[SUB_EDS]);
	eds_episode = SQLL("SELECT min(no) FROM eds_episodes WHERE run_id = %ld", eds_run);
	ind_run = SQLL("SELECT max(id) FROM indicator_runs WHERE region = '84'");
	upload_id = SQLL("SELECT min(id) FROM uploads WHERE dataset = %ld", subj_sid[SUB_PEPS]);
	ref_upload_id = SQLL("SELECT min(id) FROM uploads WHERE dataset = 0");
	nat_peps_batch = SQLL("SELECT min(id) FROM peps_batches WHERE region IS NULL");
	model_id = SQLL("SELECT model_id FROM patient_scores WHERE dataset = %ld LIMIT 1", subj_sid[SUB_PEPS]);
	scored_patient = SQLL("SELECT min(patient_id) FROM patient_scores WHERE dataset = %ld AND model_id = %ld",
			      subj_sid[SUB_PEPS], model_id);
	ck_assert_msg(subj_sid[SUB_PEPS] > 0 && subj_sid[SUB_EDS] > 0 && subj_sid[SUB_IPEP] > 0 && sib > 0 && eds_episode > 0 &&
			      ind_run > 0 && upload_id > 0 && ref_upload_id > 0 && nat_peps_batch > 0 && scored_patient > 0,
		      "the demo region lacks something the matrix needs");
}

static void up(void)
{
	char body[512], scope[64], path[128];
	int st;
	json_t *j;

	h_db_create(&db, "access");
	h_srv_start(&srv, db.url, (const char *const[]){ "A51_WORKERS=2", NULL });
	h_token_cli(db.url, "national", "national", false, tok[NAT]);
	h_token_cli(db.url, "national-ro", "national", true, tok[NAT_RO]);
	load_region();
	/* S1: a health establishment in Auvergne-Rhône-Alpes (84); S2 in Île-de-France (11) */
	s1 = create("/v1/structures", "{\"kind\":\"ES\",\"name\":\"Clinique du Parc\",\"finess\":\"690781810\","
				      "\"region\":\"84\",\"commune\":\"69381\",\"legal_form\":\"ESPIC\"}");
	s2 = new_structure("MSP", "11", "75101");
	subj_sid[SUB_S1] = s1;
	snprintf(s1_path, sizeof(s1_path), "/v1/structures/%ld", s1);
	{
		static const struct { int role; const char *scope; bool write; } grants[] = {
			{ ARS, "ars:84", true }, { ARS_RO, "ars:84", false }, { ARS_OTHER, "ars:11", true },
		};
		for (size_t i = 0; i < 3; i++) {
			snprintf(body, sizeof(body), "{\"name\":\"g%zu\",\"scope\":\"%s\",\"write\":%s}", i,
				 grants[i].scope, grants[i].write ? "true" : "false");
			j = h_api_json(srv.port, "POST", "/v1/tokens", tok[NAT], body, &st);
			ck_assert_int_eq(st, 201);
			snprintf(tok[grants[i].role], 64, "%s", json_string_value(json_object_get(j, "token")));
			json_decref(j);
		}
	}
	for (int s = 0; s < NSUBJ; s++)
		structure_tokens(subj_sid[s], own_tok[s][0], own_tok[s][1]);
	snprintf(tok[S1], 64, "%s", own_tok[SUB_S1][0]);
	snprintf(tok[S1_RO], 64, "%s", own_tok[SUB_S1][1]);
	snprintf(scope, sizeof(scope), "structure:%ld", s2);
	h_token_cli(db.url, "s2", scope, false, tok[S2]);
	structure_tokens(sib, tok[SIB], NULL);

	h_rpps(20000001, member_rpps);
	snprintf(body, sizeof(body), "{\"rpps\":\"%s\",\"profession\":\"MG\",\"last_name\":\"Martin\","
				     "\"first_name\":\"Claire\",\"start_on\":\"2022-01-01\"}", member_rpps);
	snprintf(path, sizeof(path), "%s/members", s1_path);
	member = create(path, body);
	h_nir(2, 61, 4, "69", 123, 45, patient_nir);
	snprintf(body, sizeof(body), "{\"nir\":\"%s\",\"birth\":\"1961-04\"}", patient_nir);
	snprintf(path, sizeof(path), "%s/patients", s1_path);
	patient = create(path, body);
	snprintf(body, sizeof(body), "{\"patient_id\":%ld,\"gp_rpps\":\"%s\",\"start_on\":\"2022-03-01\"}", patient,
		 member_rpps);
	snprintf(path, sizeof(path), "%s/mt-declarations", s1_path);
	decl = create(path, body);
	enrol = new_enrolment();
	withdraw(enrol); /* rows below create fresh ones; this one stays readable */

	/* an IPEP what-if of the CPTS (no enrolment needed), and a batch of each experiment by the ARS */
	snprintf(path, sizeof(path), "/v1/structures/%ld/ipep/runs", subj_sid[SUB_IPEP]);
	ipep_run = run_job(tok[NAT], path, "{\"year\":2024,\"what_if\":true,\"phase\":\"phase1\"}", &ipep_job);
	peps_batch = run_job(tok[ARS], "/v1/peps/runs", "{\"year\":2024,\"phase\":\"simulation\"}", NULL);
	ipep_batch = run_job(tok[ARS], "/v1/ipep/runs", "{\"year\":2024}", NULL);
	eds_batch = run_job(tok[ARS], "/v1/eds/runs", "{\"year\":2024}", NULL);
}

static void down(void)
{
	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_db_drop(&db);
}

/* ---- the matrix ---- */

enum row_kind {
	R_PLAIN, R_TOKEN_REVOKE, R_STRUCT_CLOSE, R_STRUCT_PATCH, R_MEMBER_ADD, R_MEMBER_PATCH, R_PATIENT_ADD,
	R_MT_ADD, R_ENROL, R_PHASE, R_WITHDRAW, R_PSET,
	R_SUBJ,   /* path and body with {S} (the subject's /v1/structures/N), {SID}, {ID}, {ID2} */
	R_UPLOAD, /* the same, the body sent as text/csv */
};

struct row {
	int kind;
	const char *method;
	const char *path;       /* R_PLAIN...: %s = /v1/structures/S1 where present */
	const char *body;
	int expect[NROLES];
	int subj;               /* R_SUBJ, R_UPLOAD: whose resource (enum SUB_*) */
	const long *id, *id2;
};

/*                      none  nat  n-ro  ars a-ro a-11  own o-ro  S2  sib */
#define READ_S1       { 401, 200, 200, 200, 200, 404, 200, 200, 404, 404 }
#define WRITE_S1(ok)  { 401, ok,  403, ok,  403, 404, ok,  403, 404, 404 }
#define ANY_TOKEN     { 401, 200, 200, 200, 200, 200, 200, 200, 200, 200 }
#define PUBLIC        { 200, 200, 200, 200, 200, 200, 200, 200, 200, 200 }
/* a payer's write on a structure (PERM_ARS_WRITE) */
#define PAYER_S1(ok)  { 401, ok,  403, ok,  403, 404, 403, 403, 403, 403 }
/* national and ARS reads of something of region 84 (PERM_ARS_READ) */
#define PAYER_READ    { 401, 200, 200, 200, 200, 404, 403, 403, 403, 403 }
/* a region's own routes: an ARS of another region is told so */
#define REGION_READ   { 401, 200, 200, 200, 200, 403, 403, 403, 403, 403 }
/* a job over a region or the country, asked for by its payer */
#define BATCH(ok)     { 401, ok,  403, ok,  403, ok,  403, 403, 403, 403 }
#define NATIONAL_READ { 401, 200, 200, 403, 403, 403, 403, 403, 403, 403 }
#define NATIONAL_WRITE(ok) { 401, ok, 403, 403, 403, 403, 403, 403, 403, 403 }
/* the same answer for every token (no such resource) */
#define ALL(st)       { 401, st,  st,  st,  st,  st,  st,  st,  st,  st }

static const char patients_csv[] = "nir;birth;sex;commune;c2s;ame;death_date;ald\n"
				   "158046912304513;1958-04;1;69381;non;non;;\n";

static const struct row rows[] = {
	/* public: the same for everyone, with or without a token */
	{ R_PLAIN, "GET", "/healthz", NULL, PUBLIC },
	{ R_PLAIN, "GET", "/readyz", NULL, PUBLIC },
	{ R_PLAIN, "GET", "/metrics", NULL, PUBLIC },
	{ R_PLAIN, "GET", "/openapi.json", NULL, PUBLIC },
	{ R_PLAIN, "GET", "/problems/not-found", NULL, PUBLIC },
	{ R_PLAIN, "GET", "/", NULL, PUBLIC },
	{ R_PLAIN, "GET", "/ui/app.js", NULL, PUBLIC },

	{ R_PLAIN, "GET", "/v1/regions", NULL, ANY_TOKEN },
	{ R_PLAIN, "GET", "/v1/regions/84", NULL, ANY_TOKEN },
	{ R_PLAIN, "POST", "/v1/tokens", "{\"name\":\"m\",\"scope\":\"structure:%ld\"}",
	  { 401, 201, 403, 201, 403, 422, 403, 403, 403, 403 } },
	{ R_PLAIN, "GET", "/v1/tokens", NULL, { 401, 200, 200, 200, 200, 200, 403, 403, 403, 403 } },
	{ R_TOKEN_REVOKE, "DELETE", "/v1/tokens/%ld", NULL, { 401, 200, 403, 200, 403, 404, 403, 403, 403, 403 } },
	{ R_PLAIN, "POST", "/v1/structures",
	  "{\"kind\":\"MSP\",\"name\":\"MSP Nouvelle\",\"region\":\"84\",\"commune\":\"69123\",\"legal_form\":\"SISA\"}",
	  { 401, 201, 403, 201, 403, 403, 403, 403, 403, 403 } },
	{ R_PLAIN, "GET", "/v1/structures", NULL, ANY_TOKEN },
	{ R_PLAIN, "GET", "%s", NULL, READ_S1 },
	{ R_STRUCT_PATCH, "PATCH", "%s", "{\"name\":\"Clinique du Parc (renamed)\"}", WRITE_S1(200) },
	{ R_STRUCT_CLOSE, "POST", "/v1/structures/%ld/close", "{\"closed_on\":\"2025-12-31\"}",
	  { 401, 200, 403, 200, 403, 404, 403, 403, 403, 403 } },
	{ R_MEMBER_ADD, "POST", "%s/members", NULL, WRITE_S1(201) },
	{ R_PLAIN, "GET", "%s/members", NULL, READ_S1 },
	{ R_MEMBER_PATCH, "PATCH", "%s/members/%ld", "{\"fte\":0.8}", WRITE_S1(200) },
	{ R_PLAIN, "GET", "/v1/professionals/%s", NULL, READ_S1 },
	{ R_PATIENT_ADD, "POST", "%s/patients", NULL, WRITE_S1(201) },
	{ R_PLAIN, "GET", "%s/patients", NULL, READ_S1 },
	{ R_PLAIN, "POST", "%s/patients/lookup", "{\"nir\":\"%s\"}", READ_S1 },
	{ R_PLAIN, "GET", "%s/patients/%ld", NULL, READ_S1 },
	{ R_MT_ADD, "POST", "%s/mt-declarations", NULL, WRITE_S1(201) },
	{ R_PLAIN, "GET", "%s/mt-declarations", NULL, READ_S1 },
	{ R_PLAIN, "GET", "%s/mt-declarations/%ld", NULL, READ_S1 },
	{ R_PLAIN, "GET", "%s/eligibility?experiment=EDS&option=PTH&on=2024-02-01", NULL, READ_S1 },
	{ R_ENROL, "POST", "%s/enrolments", "{\"experiment\":\"EDS\",\"option\":\"PTG\",\"start_on\":\"2024-03-01\"}",
	  WRITE_S1(201) },
	{ R_PLAIN, "GET", "%s/enrolments", NULL, READ_S1 },
	{ R_PLAIN, "GET", "%s/enrolments/%ld", NULL, READ_S1 },
	{ R_PHASE, "POST", "%s/enrolments/%ld/phases", "{\"phase\":\"retrospective\",\"start_on\":\"2024-06-01\"}",
	  PAYER_S1(200) },
	{ R_WITHDRAW, "POST", "%s/enrolments/%ld/withdrawal", "{\"on\":\"2024-04-01\",\"reason\":\"test\"}",
	  WRITE_S1(200) },
	{ R_PLAIN, "GET", "/v1/parameter-sets", NULL, ANY_TOKEN },
	{ R_PLAIN, "GET", "/v1/parameter-sets/1", NULL, ANY_TOKEN },
	{ R_PSET, "POST", "/v1/parameter-sets", NULL, NATIONAL_WRITE(201) },
	{ R_PLAIN, "GET", "/v1/audit", NULL, { 401, 200, 200, 200, 200, 200, 403, 403, 403, 403 } },

	/* uploads: a dry run stores nothing */
	{ R_UPLOAD, "POST", "{S}/uploads?kind=patients&dry_run=true", patients_csv, WRITE_S1(200), SUB_S1 },
	{ R_SUBJ, "GET", "{S}/uploads", NULL, READ_S1, SUB_PEPS },
	{ R_UPLOAD, "POST", "/v1/reference/uploads?kind=deprivation&dry_run=true", "commune;quintile;score\n69123;3;0,5\n",
	  NATIONAL_WRITE(200), SUB_S1 },
	{ R_SUBJ, "GET", "/v1/reference/uploads", NULL, NATIONAL_READ, SUB_S1 },
	{ R_SUBJ, "GET", "/v1/uploads/{ID}", NULL, READ_S1, SUB_PEPS, &upload_id },
	{ R_SUBJ, "GET", "/v1/uploads/{ID}/errors", NULL, READ_S1, SUB_PEPS, &upload_id },
	{ R_SUBJ, "GET", "/v1/uploads/{ID}", NULL, { 401, 200, 200, 404, 404, 404, 404, 404, 404, 404 }, SUB_S1,
	  &ref_upload_id },

	/* jobs: a structure's IPEP what-if, asked for by the national token */
	{ R_PLAIN, "GET", "/v1/jobs", NULL, ANY_TOKEN },
	{ R_SUBJ, "GET", "/v1/jobs/{ID}", NULL, READ_S1, SUB_IPEP, &ipep_job },
	{ R_SUBJ, "DELETE", "/v1/jobs/{ID}", NULL, { 401, 409, 403, 409, 403, 404, 409, 403, 404, 404 }, SUB_IPEP,
	  &ipep_job },
	{ R_PLAIN, "GET", "/v1/jobs/999999", NULL, ALL(404) },
	{ R_PLAIN, "DELETE", "/v1/jobs/999999", NULL, { 401, 404, 403, 404, 403, 404, 404, 403, 404, 404 } },

	/* risk models are national; scores are a structure's */
	{ R_PLAIN, "GET", "/v1/risk-models", NULL, ANY_TOKEN },
	{ R_SUBJ, "GET", "/v1/risk-models/{ID}", NULL, ANY_TOKEN, SUB_S1, &model_id },
	{ R_PLAIN, "GET", "/v1/risk-models/999999", NULL, ALL(404) },
	{ R_PLAIN, "POST", "/v1/risk-models", "{\"name\":\"m\"}", { 401, 422, 403, 422, 403, 422, 403, 403, 403, 403 } },
	{ R_SUBJ, "POST", "/v1/risk-models/{ID}/scores", "{\"profiles\":[{\"sex\":1,\"age\":40}]}", ANY_TOKEN, SUB_S1,
	  &model_id },
	{ R_SUBJ, "POST", "/v1/risk-models/{ID}/scores", "{\"structure_id\":{SID},\"patient_ids\":[{ID2}]}", READ_S1,
	  SUB_PEPS, &model_id, &scored_patient },
	{ R_SUBJ, "GET", "/v1/risk-models/{ID}/scores?structure_id={SID}", NULL, READ_S1, SUB_PEPS, &model_id },
	{ R_SUBJ, "GET", "/v1/risk-models/{ID}/scores/{ID2}?structure_id={SID}", NULL, READ_S1, SUB_PEPS, &model_id,
	  &scored_patient },
	{ R_SUBJ, "POST", "/v1/risk-models/{ID}/score-runs", "{\"structure_id\":{SID}}", WRITE_S1(202), SUB_PEPS,
	  &model_id },
	{ R_PLAIN, "POST", "/v1/risk-models/999999/scores", "{\"profiles\":[{\"sex\":1,\"age\":40}]}", ALL(404) },
	{ R_PLAIN, "GET", "/v1/risk-models/999999/scores?reference=true", NULL, ALL(404) },
	{ R_PLAIN, "GET", "/v1/risk-models/999999/scores/1?reference=true", NULL, ALL(404) },
	{ R_PLAIN, "POST", "/v1/risk-models/999999/score-runs", "{\"reference\":true}",
	  { 401, 404, 403, 422, 403, 422, 422, 403, 422, 422 } },

	/* PEPS: the team's run (a simulation of the demo), a what-if of its own, batches */
	{ R_SUBJ, "POST", "{S}/peps/runs", "{\"year\":2024,\"phase\":\"simulation\",\"what_if\":true}", WRITE_S1(202),
	  SUB_PEPS },
	{ R_SUBJ, "POST", "/v1/peps/runs", "{\"year\":2024,\"phase\":\"simulation\"}", BATCH(202), SUB_S1 },
	{ R_PLAIN, "GET", "/v1/peps/runs", NULL, ANY_TOKEN },
	{ R_SUBJ, "GET", "/v1/peps/runs/{ID}", NULL, READ_S1, SUB_PEPS, &peps_run },
	{ R_SUBJ, "GET", "/v1/peps/runs/{ID}/lines", NULL, READ_S1, SUB_PEPS, &peps_run },
	/* a simulation pays nothing: those who see it are told there is nothing to split */
	{ R_SUBJ, "GET", "/v1/peps/runs/{ID}/distribution", NULL, { 401, 422, 422, 422, 422, 404, 422, 422, 404, 404 },
	  SUB_PEPS, &peps_run },
	{ R_SUBJ, "PUT", "/v1/peps/runs/{ID}/distribution", "{\"shares\":[{\"rpps\":\"10012345673\",\"cents\":0}]}",
	  WRITE_S1(422), SUB_PEPS, &peps_run },
	{ R_SUBJ, "GET", "/v1/peps/batches/{ID}", NULL, PAYER_READ, SUB_S1, &peps_batch },
	{ R_SUBJ, "GET", "/v1/peps/batches/{ID}", NULL, { 401, 200, 200, 404, 404, 404, 403, 403, 403, 403 }, SUB_S1,
	  &nat_peps_batch },

	/* IPEP: the CPTS's quality inputs (the payer's), a what-if of its own, batches */
	{ R_SUBJ, "PUT", "{S}/ipep/quality/2024",
	  "{\"indicators\":[{\"code\":\"MT_ACCESS\",\"value\":0.8,\"deciles\":[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9]}],"
	  "\"respondents\":40}",
	  PAYER_S1(201), SUB_IPEP },
	{ R_SUBJ, "GET", "{S}/ipep/quality/2024", NULL, READ_S1, SUB_IPEP },
	{ R_SUBJ, "POST", "{S}/ipep/runs", "{\"year\":2024,\"what_if\":true,\"phase\":\"phase2\"}", WRITE_S1(202),
	  SUB_IPEP },
	{ R_SUBJ, "POST", "/v1/ipep/runs", "{\"year\":2024}", BATCH(202), SUB_S1 },
	{ R_PLAIN, "GET", "/v1/ipep/runs", NULL, ANY_TOKEN },
	{ R_SUBJ, "GET", "/v1/ipep/runs/{ID}", NULL, READ_S1, SUB_IPEP, &ipep_run },
	{ R_SUBJ, "GET", "/v1/ipep/runs/{ID}/lines", NULL, READ_S1, SUB_IPEP, &ipep_run },
	{ R_SUBJ, "GET", "/v1/ipep/batches/{ID}", NULL, PAYER_READ, SUB_S1, &ipep_batch },

	/* EDS: the establishment's runs and episodes, a what-if of its own, batches */
	{ R_SUBJ, "POST", "{S}/eds/runs", "{\"year\":2024,\"option\":\"PTH\",\"what_if\":true}", WRITE_S1(202),
	  SUB_EDS },
	{ R_SUBJ, "POST", "/v1/eds/runs", "{\"year\":2024}", BATCH(202), SUB_S1 },
	{ R_PLAIN, "GET", "/v1/eds/runs", NULL, ANY_TOKEN },
	{ R_SUBJ, "GET", "/v1/eds/runs/{ID}", NULL, READ_S1, SUB_EDS, &eds_run },
	{ R_SUBJ, "GET", "/v1/eds/runs/{ID}/episodes", NULL, READ_S1, SUB_EDS, &eds_run },
	{ R_SUBJ, "GET", "/v1/eds/runs/{ID}/episodes/{ID2}", NULL, READ_S1, SUB_EDS, &eds_run, &eds_episode },
	{ R_SUBJ, "GET", "/v1/eds/batches/{ID}", NULL, PAYER_READ, SUB_S1, &eds_batch },

	/* indicators and dashboards */
	{ R_PLAIN, "GET", "/v1/me", NULL, ANY_TOKEN },
	{ R_PLAIN, "POST", "/v1/regions/84/indicators/runs", "{\"year\":2024}",
	  { 401, 202, 403, 202, 403, 403, 403, 403, 403, 403 } },
	{ R_PLAIN, "GET", "/v1/regions/84/indicators/runs", NULL, REGION_READ },
	/* a structure reads its region's runs (with its own values only) */
	{ R_SUBJ, "GET", "/v1/indicators/runs/{ID}", NULL, { 401, 200, 200, 200, 200, 404, 200, 200, 404, 200 },
	  SUB_PEPS, &ind_run },
	{ R_SUBJ, "GET", "{S}/dashboard?year=2024", NULL, READ_S1, SUB_PEPS },
	{ R_SUBJ, "GET", "{S}/care-gaps?year=2024", NULL, READ_S1, SUB_PEPS },
	{ R_PLAIN, "GET", "/v1/regions/84/dashboard?year=2024", NULL, REGION_READ },
};

static char *pset_body(void)
{
	int st;
	json_t *j = h_api_json(srv.port, "GET", "/v1/parameter-sets/1", tok[NAT], NULL, &st), *body;
	char *text;

	ck_assert_int_eq(st, 200);
	body = json_incref(json_object_get(j, "body"));
	json_decref(j);
	json_object_set_new(body, "label", json_sprintf("variant %ld", counter++));
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return text;
}

static const char *current_etag(const char *path, char out[32])
{
	struct h_resp r;

	ck_assert_int_eq(h_api(srv.port, "GET", path, tok[NAT], NULL, NULL, &r), 0);
	ck_assert_ptr_nonnull(h_header(&r, "ETag", out, 32));
	h_resp_free(&r);
	return out;
}

/* {S}, {SID}, {ID}, {ID2} of an R_SUBJ row's path or body. */
static void fill(char *out, size_t cap, const char *t, const struct row *w)
{
	size_t o = 0;

	while (*t && o + 1 < cap) {
		char v[64] = "";
		size_t skip = 0;
		if (strncmp(t, "{S}", 3) == 0)
			snprintf(v, sizeof(v), "/v1/structures/%ld", subj_sid[w->subj]), skip = 3;
		else if (strncmp(t, "{SID}", 5) == 0)
			snprintf(v, sizeof(v), "%ld", subj_sid[w->subj]), skip = 5;
		else if (strncmp(t, "{ID}", 4) == 0)
			snprintf(v, sizeof(v), "%ld", *w->id), skip = 4;
		else if (strncmp(t, "{ID2}", 5) == 0)
			snprintf(v, sizeof(v), "%ld", *w->id2), skip = 5;
		if (skip) {
			o += (size_t)snprintf(out + o, cap - o, "%s", v);
			t += skip;
		} else {
			out[o++] = *t++;
		}
	}
	out[o < cap ? o : cap - 1] = '\0';
}

static const char *token_of(int role, int subj)
{
	if (role == NONE)
		return NULL;
	if (role == S1 || role == S1_RO)
		return own_tok[subj][role == S1_RO];
	return tok[role];
}

START_TEST(authorization_matrix)
{
	struct a51_error err = { 0 };
	struct router *table = router_new(api_routes, api_routes_count, &err);
	bool covered[256] = { false };
	char missing[4096] = "";
	static char wrong[16384];
	size_t nmissing = 0, requests = 0, nwrong = 0;

	ck_assert_ptr_nonnull(table);
	ck_assert_uint_le(api_routes_count, 256);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		for (int role = 0; role < NROLES; role++) {
			char path[256], body[1024] = "", headers[768] = "", rpps[12], nir[16], etag[32];
			const char *b = w->body;
			char *pset = NULL; /* a parameter set's body outgrows any fixed buffer */
			long fresh = 0;
			struct h_resp r;
			int subj = w->kind == R_SUBJ || w->kind == R_UPLOAD ? w->subj : SUB_S1;

			switch (w->kind) {
			case R_SUBJ:
			case R_UPLOAD:
				fill(path, sizeof(path), w->path, w);
				if (w->body) {
					fill(body, sizeof(body), w->body, w);
					b = body;
				}
				break;
			case R_TOKEN_REVOKE:
				fresh = new_token("ars:84");
				snprintf(path, sizeof(path), w->path, fresh);
				break;
			case R_STRUCT_CLOSE:
				fresh = new_structure("MSP", "84", "69123");
				snprintf(path, sizeof(path), w->path, fresh);
				break;
			case R_STRUCT_PATCH:
				snprintf(path, sizeof(path), w->path, s1_path);
				snprintf(headers, sizeof(headers), "If-Match: %s\r\n", current_etag(path, etag));
				break;
			case R_MEMBER_PATCH:
				snprintf(path, sizeof(path), w->path, s1_path, member);
				{
					char list[96];
					/* the membership's ETag: read it from the list */
					int st;
					json_t *j;
					snprintf(list, sizeof(list), "%s/members", s1_path);
					j = h_api_json(srv.port, "GET", list, tok[NAT], NULL, &st);
					snprintf(headers, sizeof(headers), "If-Match: \"%lld\"\r\n",
						 (long long)json_integer_value(json_object_get(
							 json_array_get(json_object_get(j, "items"), 0), "version")));
					json_decref(j);
				}
				break;
			case R_MEMBER_ADD:
				snprintf(path, sizeof(path), w->path, s1_path);
				h_rpps(30000000 + counter++, rpps);
				snprintf(body, sizeof(body),
					 "{\"rpps\":\"%s\",\"profession\":\"IDE\",\"last_name\":\"N\",\"first_name\":\"P\","
					 "\"start_on\":\"2023-01-01\"}", rpps);
				b = body;
				break;
			case R_PATIENT_ADD:
				snprintf(path, sizeof(path), w->path, s1_path);
				h_nir(1, 70, 5, "69", 381, (int)(counter++ % 1000), nir);
				snprintf(body, sizeof(body), "{\"nir\":\"%s\",\"birth\":\"1970-05\"}", nir);
				b = body;
				break;
			case R_MT_ADD:
				snprintf(path, sizeof(path), w->path, s1_path);
				{
					long day = counter++;
					snprintf(body, sizeof(body),
						 "{\"patient_id\":%ld,\"gp_rpps\":\"%s\",\"start_on\":\"2023-%02ld-%02ld\"}",
						 patient, member_rpps, 1 + (day / 28) % 12, 1 + day % 28);
				}
				b = body;
				break;
			case R_PHASE:
			case R_WITHDRAW:
				fresh = new_enrolment();
				snprintf(path, sizeof(path), w->path, s1_path, fresh);
				break;
			case R_PSET:
				snprintf(path, sizeof(path), "%s", w->path);
				b = pset = pset_body();
				break;
			default:
				if (strstr(w->path, "%s/patients/lookup")) {
					snprintf(path, sizeof(path), w->path, s1_path);
					snprintf(body, sizeof(body), w->body, patient_nir);
					b = body;
				} else if (strstr(w->path, "/v1/professionals/")) {
					snprintf(path, sizeof(path), w->path, member_rpps);
				} else if (strstr(w->path, "/v1/tokens") && w->body) {
					snprintf(path, sizeof(path), "%s", w->path);
					snprintf(body, sizeof(body), w->body, s1);
					b = body;
				} else if (strstr(w->path, "%s/patients/%ld")) {
					snprintf(path, sizeof(path), w->path, s1_path, patient);
				} else if (strstr(w->path, "%s/mt-declarations/%ld")) {
					snprintf(path, sizeof(path), w->path, s1_path, decl);
				} else if (strstr(w->path, "%s/enrolments/%ld")) {
					snprintf(path, sizeof(path), w->path, s1_path, enrol);
				} else {
					snprintf(path, sizeof(path), w->path, s1_path);
				}
			}
			if (w->kind == R_UPLOAD) {
				const char *t = token_of(role, subj);
				snprintf(headers, sizeof(headers), "%s%s%sContent-Type: text/csv\r\n", t ? "Authorization: Bearer " : "",
					 t ? t : "", t ? "\r\n" : "");
				ck_assert_int_eq(h_call(srv.port, w->method, path, headers, b, strlen(b), &r), 0);
			} else {
				ck_assert_int_eq(h_api(srv.port, w->method, path, token_of(role, subj), b,
						       headers[0] ? headers : NULL, &r), 0);
			}
			requests++;
			/* every mismatch is listed at the end, not only the first */
			if (r.status != w->expect[role]) {
				nwrong++;
				snprintf(wrong + strlen(wrong), sizeof(wrong) - strlen(wrong),
					 "\n  %s %s as %s: %d, expected %d (%.160s)", w->method, path, role_names[role],
					 r.status, w->expect[role], r.body);
			}
			free(pset);
			if (r.status == 401)
				ck_assert_ptr_nonnull(strstr(r.head, "WWW-Authenticate: Bearer"));
			/* which route of the table this was */
			{
				char bare[256];
				struct route_match m;
				snprintf(bare, sizeof(bare), "%.*s", (int)strcspn(path, "?"), path);
				ck_assert_msg(router_match(table, http_method_parse(w->method), bare, &m) == ROUTE_FOUND,
					      "%s %s matches no route", w->method, bare);
				covered[m.route->index] = true;
			}
			/* keep the fixture reusable: a new live enrolment is withdrawn again */
			if (w->kind == R_ENROL && r.status == 201) {
				json_t *j = h_json(&r);
				withdraw((long)json_integer_value(json_object_get(j, "id")));
				json_decref(j);
			}
			if ((w->kind == R_PHASE || w->kind == R_WITHDRAW) && r.status != 200 && fresh)
				withdraw(fresh);
			if (w->kind == R_PHASE && r.status == 200)
				withdraw(fresh);
			h_resp_free(&r);
		}
	}
	ck_assert_msg(nwrong == 0, "%zu of %zu answers differ from the matrix:%s", nwrong, requests, wrong);
	/* every route of the table has a row: a new route cannot be forgotten here */
	for (size_t i = 0; i < api_routes_count; i++) {
		if (covered[i])
			continue;
		nmissing++;
		snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "\n  %s %s",
			 http_method_name(api_routes[i].method), api_routes[i].path);
	}
	ck_assert_msg(nmissing == 0, "%zu route(s) of api_routes have no row in the authorization matrix:%s", nmissing,
		      missing);
	fprintf(stderr, "authorization matrix: %zu routes x %d roles, %zu requests\n", api_routes_count, NROLES,
		requests);
	router_free(table);
}
END_TEST

START_TEST(lists_are_scoped)
{
	static const struct { int role; int min, max; } want[] = {
		{ NAT, 2, 1000 }, { ARS_OTHER, 1, 1000 }, { S1, 1, 1 }, { S2, 1, 1 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int st;
		json_t *j = h_api_json(srv.port, "GET", "/v1/structures?limit=500", tok[want[i].role], NULL, &st), *it;
		size_t k, n = json_array_size(json_object_get(j, "items"));

		ck_assert_int_eq(st, 200);
		ck_assert_msg(n >= (size_t)want[i].min && n <= (size_t)want[i].max, "%s sees %zu structures",
			      role_names[want[i].role], n);
		json_array_foreach(json_object_get(j, "items"), k, it) {
			const char *region = json_string_value(json_object_get(it, "region"));
			long id = (long)json_integer_value(json_object_get(it, "id"));
			if (want[i].role == ARS_OTHER)
				ck_assert_str_eq(region, "11");
			if (want[i].role == S1)
				ck_assert_int_eq(id, s1);
			if (want[i].role == S2)
				ck_assert_int_eq(id, s2);
		}
		json_decref(j);
	}
}
END_TEST

/* Lists of runs and jobs hold only what the caller may read one by one: a
 * structure its own, an ARS its region's; national callers see the region. */
START_TEST(run_lists_are_scoped)
{
	static const char *const lists[] = { "/v1/peps/runs?limit=500", "/v1/ipep/runs?limit=500",
					     "/v1/eds/runs?limit=500", "/v1/jobs?limit=500" };
	struct { const char *token; long structure; const char *region; } callers[] = {
		{ tok[NAT], 0, NULL }, { tok[ARS_OTHER], 0, "11" }, { tok[SIB], sib, NULL }, { tok[S2], s2, NULL },
		{ own_tok[SUB_PEPS][1], subj_sid[SUB_PEPS], NULL }, { own_tok[SUB_IPEP][1], subj_sid[SUB_IPEP], NULL },
		{ own_tok[SUB_EDS][1], subj_sid[SUB_EDS], NULL },
	};
	char path[128];
	int st;

	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		for (size_t c = 0; c < sizeof(callers) / sizeof(callers[0]); c++) {
			json_t *j = h_api_json(srv.port, "GET", lists[l], callers[c].token, NULL, &st), *it;
			size_t i, n = json_array_size(json_object_get(j, "items"));

			ck_assert_int_eq(st, 200);
			if (c == 0)
				ck_assert_msg(n > 0, "national sees nothing in %s", lists[l]);
			json_array_foreach(json_object_get(j, "items"), i, it) {
				long owner = (long)json_integer_value(json_object_get(it, "structure_id"));
				const char *region = json_string_value(json_object_get(it, "region"));
				ck_assert_msg(!callers[c].structure || owner == callers[c].structure,
					      "%s: caller %zu (structure %ld) sees an item of structure %ld", lists[l], c,
					      callers[c].structure, owner);
				ck_assert_msg(!callers[c].region || (region && strcmp(region, callers[c].region) == 0),
					      "%s: ARS 11 sees an item of region %s", lists[l], region ? region : "(none)");
			}
			json_decref(j);
		}
	}
	/* an indicator run read by a structure carries its own values only */
	snprintf(path, sizeof(path), "/v1/indicators/runs/%ld", ind_run);
	for (int k = 0; k < 2; k++) {
		long me = k ? sib : subj_sid[SUB_PEPS];
		json_t *j = h_api_json(srv.port, "GET", path, k ? tok[SIB] : own_tok[SUB_PEPS][0], NULL, &st), *v;
		size_t i;

		ck_assert_int_eq(st, 200);
		json_array_foreach(json_object_get(j, "values"), i, v)
			ck_assert_int_eq(json_integer_value(json_object_get(v, "structure_id")), me);
		json_array_foreach(json_object_get(j, "experience"), i, v)
			ck_assert_int_eq(json_integer_value(json_object_get(v, "structure_id")), me);
		json_decref(j);
	}
}
END_TEST

START_TEST(revocation_is_immediate_despite_the_cache)
{
	char body[128], token[64];
	int st;
	long id;
	json_t *j;
	struct h_resp r;
	uint64_t t0;

	snprintf(body, sizeof(body), "{\"name\":\"victim\",\"scope\":\"structure:%ld\"}", s1);
	j = h_api_json(srv.port, "POST", "/v1/tokens", tok[ARS], body, &st);
	ck_assert_int_eq(st, 201);
	snprintf(token, sizeof(token), "%s", json_string_value(json_object_get(j, "token")));
	id = (long)json_integer_value(json_object_get(j, "id"));
	ck_assert(strncmp(token, "a51_", 4) == 0 && strlen(token) == 47);
	json_decref(j);
	/* never shown again */
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/tokens", tok[NAT], NULL, NULL, &r), 0);
	ck_assert_ptr_null(strstr(r.body, token));
	ck_assert_ptr_nonnull(strstr(r.body, "\"prefix\":\"a51_"));
	h_resp_free(&r);
	for (int i = 0; i < 3; i++) { /* now cached */
		ck_assert_int_eq(h_api(srv.port, "GET", s1_path, token, NULL, NULL, &r), 0);
		ck_assert_int_eq(r.status, 200);
		h_resp_free(&r);
	}
	snprintf(body, sizeof(body), "/v1/tokens/%ld", id);
	j = h_api_json(srv.port, "DELETE", body, tok[NAT], NULL, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(j, "revoked_at")));
	json_decref(j);
	t0 = h_now_ms();
	do {
		ck_assert_int_eq(h_api(srv.port, "GET", s1_path, token, NULL, NULL, &r), 0);
		st = r.status;
		h_resp_free(&r);
	} while (st != 401 && h_now_ms() - t0 < 1000);
	ck_assert_msg(st == 401, "a revoked token still works after 1 s");
}
END_TEST

START_TEST(expired_and_malformed_tokens)
{
	char token[64], sql[256];
	PGconn *pg = h_db_connect(&db);
	struct h_resp r;

	h_token_cli(db.url, "short-lived", "national", true, token);
	snprintf(sql, sizeof(sql), "UPDATE tokens SET expires_at = now() - interval '1 second' WHERE prefix = '%.12s'",
		 token);
	h_sql1(pg, sql);
	PQfinish(pg);
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions", token, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 401);
	ck_assert(strstr(r.head, "error=\"invalid_token\""));
	h_resp_free(&r);
	ck_assert_int_eq(h_get(srv.port, "/v1/regions", "Authorization: Basic YTpi\r\n", &r), 0);
	ck_assert_int_eq(r.status, 401);
	h_resp_free(&r);
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions", "a51_short", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 401);
	h_resp_free(&r);
	/* well-formed but unknown */
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions", "a51_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL,
			       NULL, &r), 0);
	ck_assert_int_eq(r.status, 401);
	h_resp_free(&r);
}
END_TEST

START_TEST(grants_follow_the_region)
{
	char body[160];
	int st;
	json_t *j;

	/* an ARS grants its own region and its structures, nothing else */
	j = h_api_json(srv.port, "POST", "/v1/tokens", tok[ARS], "{\"name\":\"x\",\"scope\":\"ars:11\"}", &st);
	ck_assert_int_eq(st, 403);
	json_decref(j);
	j = h_api_json(srv.port, "POST", "/v1/tokens", tok[ARS], "{\"name\":\"x\",\"scope\":\"national\"}", &st);
	ck_assert_int_eq(st, 403);
	json_decref(j);
	snprintf(body, sizeof(body), "{\"name\":\"x\",\"scope\":\"structure:%ld\"}", s2);
	j = h_api_json(srv.port, "POST", "/v1/tokens", tok[ARS], body, &st);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	j = h_api_json(srv.port, "POST", "/v1/tokens", tok[NAT], "{\"name\":\"x\",\"scope\":\"ars:99\"}", &st);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	j = h_api_json(srv.port, "POST", "/v1/tokens", tok[NAT], "{\"name\":\"x\",\"scope\":\"galaxy\"}", &st);
	ck_assert_int_eq(st, 422);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "field")),
			 "scope");
	json_decref(j);
	j = h_api_json(srv.port, "POST", "/v1/tokens", tok[NAT],
		       "{\"name\":\"x\",\"scope\":\"national\",\"expires_on\":\"2001-01-01\"}", &st);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	/* what an ARS lists: its region's tokens only */
	j = h_api_json(srv.port, "GET", "/v1/tokens", tok[ARS_OTHER], NULL, &st);
	{
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(j, "items"), i, t) {
			const char *scope = json_string_value(json_object_get(t, "scope"));
			char mine[32];
			snprintf(mine, sizeof(mine), "structure:%ld", s2);
			ck_assert_msg(strcmp(scope, "ars:11") == 0 || strcmp(scope, mine) == 0, "ARS 11 sees %s", scope);
		}
	}
	json_decref(j);
}
END_TEST

START_TEST(audit_trail)
{
	char path[160], rid[32] = "audit-probe-1";
	struct h_resp r;
	int st;
	long sid;
	json_t *j, *row;

	ck_assert_int_eq(h_api(srv.port, "POST", "/v1/structures", tok[ARS],
			       "{\"kind\":\"CDS\",\"name\":\"CDS Audit\",\"region\":\"84\",\"commune\":\"69123\","
			       "\"legal_form\":\"ASSOCIATION\"}",
			       "X-Request-Id: audit-probe-1\r\n", &r), 0);
	ck_assert_int_eq(r.status, 201);
	j = h_json(&r);
	sid = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	h_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/audit?resource_type=structure&resource_id=%ld", sid);
	j = h_api_json(srv.port, "GET", path, tok[ARS], NULL, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 1);
	row = json_array_get(json_object_get(j, "items"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(row, "action")), "create");
	ck_assert_str_eq(json_string_value(json_object_get(row, "scope")), "ars:84");
	ck_assert_str_eq(json_string_value(json_object_get(row, "request_id")), rid);
	ck_assert(json_integer_value(json_object_get(row, "token_id")) > 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(row, "after"), "name")), "CDS Audit");
	json_decref(j);
	/* another region's ARS does not see it */
	j = h_api_json(srv.port, "GET", path, tok[ARS_OTHER], NULL, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 0);
	json_decref(j);
	/* pages: newest first, `next` continues */
	j = h_api_json(srv.port, "GET", "/v1/audit?limit=2", tok[NAT], NULL, &st);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 2);
	{
		long first = (long)json_integer_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "id"));
		long second = (long)json_integer_value(json_object_get(json_array_get(json_object_get(j, "items"), 1), "id"));
		json_t *j2;
		ck_assert_int_gt(first, second);
		ck_assert_ptr_nonnull(json_string_value(json_object_get(j, "next")));
		j2 = h_api_json(srv.port, "GET", json_string_value(json_object_get(j, "next")), tok[NAT], NULL, &st);
		ck_assert_int_eq(st, 200);
		ck_assert_int_lt(json_integer_value(json_object_get(json_array_get(json_object_get(j2, "items"), 0), "id")),
				 second);
		json_decref(j2);
	}
	json_decref(j);
	/* patients leave no identity in the trail */
	j = h_api_json(srv.port, "GET", "/v1/audit?resource_type=patient", tok[NAT], NULL, &st);
	ck_assert_uint_gt(json_array_size(json_object_get(j, "items")), 0);
	{
		char *text = json_dumps(j, 0);
		ck_assert_ptr_null(strstr(text, "birth"));
		ck_assert_ptr_null(strstr(text, "pseudonym"));
		ck_assert_ptr_null(strstr(text, patient_nir));
		free(text);
	}
	json_decref(j);
	j = h_api_json(srv.port, "GET", "/v1/audit?since=yesterday", tok[NAT], NULL, &st);
	ck_assert_int_eq(st, 422);
	json_decref(j);
}
END_TEST

START_TEST(concurrent_updates_one_wins)
{
	char etag[32];
	pid_t kids[2];
	int wins = 0, losses = 0;

	current_etag(s1_path, etag);
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			char headers[64], body[96];
			struct h_resp r;
			snprintf(headers, sizeof(headers), "If-Match: %s\r\n", etag);
			snprintf(body, sizeof(body), "{\"name\":\"Racing %d\"}", i);
			if (h_api(srv.port, "PATCH", s1_path, tok[NAT], body, headers, &r) != 0)
				_exit(2);
			_exit(r.status == 200 ? 0 : r.status == 412 ? 1 : 3);
		}
	}
	for (int i = 0; i < 2; i++) {
		int st;
		waitpid(kids[i], &st, 0);
		ck_assert(WIFEXITED(st));
		if (WEXITSTATUS(st) == 0)
			wins++;
		else if (WEXITSTATUS(st) == 1)
			losses++;
	}
	ck_assert_int_eq(wins, 1);
	ck_assert_int_eq(losses, 1);
	{
		struct h_resp r;
		ck_assert_int_eq(h_api(srv.port, "PATCH", s1_path, tok[NAT], "{\"name\":\"x\"}", NULL, &r), 0);
		ck_assert_int_eq(r.status, 428);
		h_resp_free(&r);
		ck_assert_int_eq(h_api(srv.port, "PATCH", s1_path, tok[NAT], "{\"name\":\"x\"}", "If-Match: *\r\n", &r),
				 0);
		ck_assert_int_eq(r.status, 412);
		h_resp_free(&r);
	}
}
END_TEST

START_TEST(cli_token_list_and_revoke)
{
	char token[64], env_url[600], out[8192], id[16] = "";
	const char *env[] = { env_url, NULL };
	const char *list[] = { "token", "list", NULL };
	struct h_resp r;
	char *line;

	snprintf(env_url, sizeof(env_url), "A51_DATABASE_URL=%s", db.url);
	h_token_cli(db.url, "operator-probe", "ars:84", true, token);
	ck_assert_int_eq(h_run_a51d(list, env, out, sizeof(out)), 0);
	line = strstr(out, "operator-probe");
	ck_assert_msg(line != NULL, "%s", out);
	ck_assert_ptr_null(strstr(out, token)); /* listed by prefix, never in full */
	while (line > out && line[-1] != '\n')
		line--;
	sscanf(line, "%15s", id);
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions", token, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	h_resp_free(&r);
	{
		const char *revoke[] = { "token", "revoke", id, NULL };
		ck_assert_int_eq(h_run_a51d(revoke, env, out, sizeof(out)), 0);
	}
	{
		uint64_t t0 = h_now_ms();
		int st;
		do {
			ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions", token, NULL, NULL, &r), 0);
			st = r.status;
			h_resp_free(&r);
		} while (st != 401 && h_now_ms() - t0 < 1000);
		ck_assert_int_eq(st, 401);
	}
	{
		const char *bad[] = { "token", "create", "--name", "x", "--scope", "ars:8", NULL };
		ck_assert_int_eq(h_run_a51d(bad, env, out, sizeof(out)), 2);
		ck_assert(strstr(out, "scope must be"));
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("access");
	TCase *t = tcase_create("access");

	tcase_add_unchecked_fixture(t, up, down);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, authorization_matrix);
	tcase_add_test(t, lists_are_scoped);
	tcase_add_test(t, run_lists_are_scoped);
	tcase_add_test(t, revocation_is_immediate_despite_the_cache);
	tcase_add_test(t, expired_and_malformed_tokens);
	tcase_add_test(t, grants_follow_the_region);
	tcase_add_test(t, audit_trail);
	tcase_add_test(t, concurrent_updates_one_wins);
	tcase_add_test(t, cli_token_list_and_revoke);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
