/* Bulk uploads, streamed: the body is read chunk by chunk, each record checked
 * and turned into a COPY line for a staging table (NIRs pseudonymised on the
 * way), then merged in the same transaction. One bad line rejects the file and
 * nothing is stored; memory stays bounded whatever the size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "a51/api.h"
#include "a51/csv.h"
#include "a51/dates.h"
#include "a51/formats.h"
#include "a51/log.h"
#include "a51/metrics.h"
#include "a51/sha256.h"
#include "a51/util.h"
#include "a51/banned.h"

#define FIRST_ERRORS 100
#define FAULT_BATCH 1000
#define COPY_FLUSH (256u << 10)

/* Patients of the dataset by pseudonym, for the rows that name one. Keys are the
 * first 16 bytes of the HMAC (2^-128 collision odds per pair), so that a
 * million patients fit in about 34 MB. */
struct pmap_entry {
	uint8_t key[16];
	int64_t id; /* 0: empty slot */
};

struct pmap {
	struct pmap_entry *slots;
	size_t cap, n;
};

static size_t pmap_slot(const struct pmap *m, const uint8_t *key)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)(((unsigned __int128)h * m->cap) >> 64);
}

static int pmap_put(void *ctx, const uint8_t pseudonym[32], int64_t id)
{
	struct pmap *m = ctx;
	size_t i;

	if ((m->n + 1) * 10 > m->cap * 7) {
		struct pmap old = *m;
		m->cap = m->cap ? m->cap * 2 : 4096;
		m->slots = calloc(m->cap, sizeof(*m->slots));
		m->n = 0;
		if (!m->slots)
			return -1;
		for (size_t k = 0; k < old.cap; k++)
			if (old.slots[k].id) {
				uint8_t full[32] = { 0 };
				memcpy(full, old.slots[k].key, 16);
				pmap_put(m, full, old.slots[k].id);
			}
		free(old.slots);
	}
	for (i = pmap_slot(m, pseudonym); m->slots[i].id; i = i + 1 == m->cap ? 0 : i + 1)
		;
	memcpy(m->slots[i].key, pseudonym, 16);
	m->slots[i].id = id;
	m->n++;
	return 0;
}

static int pmap_get(void *ctx, const uint8_t pseudonym[32], int64_t *id)
{
	const struct pmap *m = ctx;

	if (!m->cap)
		return -1;
	for (size_t i = pmap_slot(m, pseudonym); m->slots[i].id; i = i + 1 == m->cap ? 0 : i + 1) {
		if (memcmp(m->slots[i].key, pseudonym, 16) == 0) {
			*id = m->slots[i].id;
			return 0;
		}
	}
	return -1;
}

struct upload_state {
	struct app *app;
	const struct upload_format *fmt;
	int64_t id, dataset;
	char region[4];            /* the structure's, for the audit trail */
	bool dry_run, ndjson;
	/* A retry of a finished upload with its key: the earlier upload, replayed
	 * once the body is read and hashed, if its SHA-256 is the same. No database
	 * connection is held meanwhile, and nothing is parsed. */
	json_t *replay;
	struct db_conn *data;
	struct csv_reader *reader;
	struct upload_ctx ux;
	int field_of[32];          /* column -> field index in the CSV header, -1 when absent */
	int nfields;               /* fields of the header */
	bool header_ok;
	struct buf line, copy;
	bool copying;              /* no error yet: lines still go to COPY */
	bool direct;               /* COPY into the final table, with a spool for the fallback */
	FILE *spool;               /* the rows again, in staging form, while direct */
	struct pmap patients;
	char prefix[48], suffix[32]; /* around a row's values on the direct path */
	bool db_failed;
	struct a51_error dberr;
	struct sha256 sha;
	uint64_t bytes, records;
	int64_t nerrors;
	json_t *errors;            /* the first FIRST_ERRORS */
	FILE *errfile;             /* every error, as COPY text for upload_errors */
	int64_t nwarnings;
	json_t *warnings;          /* the first FIRST_ERRORS: values kept, but worth a word */
	bool too_large;            /* read to the end, hashed, then answered 413 */
	uint64_t t0, max_bytes;
	/* claims: the column of the care date, and the earliest and latest stored
	 * (for the dataset's claim span); span_col -1 for other kinds */
	int span_col;
	int32_t span_first, span_last;
};

static void state_free(struct upload_state *s)
{
	if (!s)
		return;
	csv_reader_free(s->reader);
	buf_release(&s->line);
	buf_release(&s->copy);
	json_decref(s->errors);
	json_decref(s->warnings);
	json_decref(s->replay);
	if (s->errfile)
		fclose(s->errfile);
	if (s->spool)
		fclose(s->spool);
	free(s->patients.slots);
	explicit_bzero(&s->ux, sizeof(s->ux));
	free(s);
}

/* ---- errors ---- */

static void copy_field(struct buf *b, const char *v)
{
	if (!v) {
		buf_puts(b, "\\N");
		return;
	}
	for (; *v; v++) {
		switch (*v) {
		case '\\': buf_puts(b, "\\\\"); break;
		case '\t': buf_puts(b, "\\t"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\r': buf_puts(b, "\\r"); break;
		default: buf_putc(b, *v);
		}
	}
}

/* value is echoed only for columns that may be (never a NIR), cut at 100 bytes. */
static void add_error(struct upload_state *s, uint64_t line, const char *column, const char *value, size_t vlen,
		      const char *reason)
{
	char shown[104] = "";
	struct buf b;

	s->nerrors++;
	if (s->copying) {
		s->copying = false; /* the file is rejected: no more data to the database */
		buf_reset(&s->copy);
	}
	if (value) {
		size_t n = vlen > 100 ? 100 : vlen;
		while (n > 0 && n < vlen && ((unsigned char)value[n] & 0xC0) == 0x80)
			n--; /* do not cut a UTF-8 sequence */
		memcpy(shown, value, n);
		shown[n] = '\0';
	}
	if (s->nerrors <= FIRST_ERRORS) {
		json_t *e = json_pack("{s:I,s:s}", "line", (json_int_t)line, "reason", reason);
		if (column)
			json_object_set_new(e, "column", json_string(column));
		if (value) {
			json_t *v = json_string(shown);
			json_object_set_new(e, "value", v ? v : json_string("(not UTF-8)"));
		}
		json_array_append_new(s->errors, e);
	}
	if (!s->errfile)
		return;
	buf_init(&b);
	buf_printf(&b, "%lld\t%lld\t%llu\t", (long long)s->id, (long long)s->nerrors, (unsigned long long)line);
	copy_field(&b, column);
	buf_putc(&b, '\t');
	copy_field(&b, value ? shown : NULL);
	buf_putc(&b, '\t');
	copy_field(&b, reason);
	buf_putc(&b, '\n');
	if (!b.oom)
		fwrite(b.data, 1, b.len, s->errfile);
	buf_release(&b);
}

/* A value kept but worth a word (a FINESS whose key fails the unconfirmed
 * rule): counted, the first FIRST_ERRORS listed in the answer; not stored. */
static void add_warning(struct upload_state *s, uint64_t line, const char *column, const char *value, size_t vlen,
			const char *reason)
{
	json_t *w;

	if (++s->nwarnings > FIRST_ERRORS)
		return;
	w = json_pack("{s:I,s:s,s:s}", "line", (json_int_t)line, "column", column, "reason", reason);
	if (value)
		json_object_set_new(w, "value", json_stringn(value, vlen > 100 ? 100 : vlen));
	json_array_append_new(s->warnings, w);
}

static void header_fault(void *ctx, int field, const char *name, const char *reason)
{
	(void)field;
	add_error(ctx, 1, name, NULL, 0, reason);
}

/* ---- records ---- */

static void flush_copy(struct upload_state *s, bool force)
{
	if (!s->copying || s->db_failed || s->copy.len == 0 || (!force && s->copy.len < COPY_FLUSH))
		return;
	if (store_upload_copy(s->data, s->copy.data, s->copy.len, &s->dberr) < 0)
		s->db_failed = true;
	buf_reset(&s->copy);
}

/* Validates the values of one record (given per column; NULL = absent) and
 * queues its COPY line — and, on the direct path, its staging line in the spool. */
static void take_record(struct upload_state *s, uint64_t line, const char *const *vals, const size_t *lens)
{
	const struct upload_format *f = s->fmt;
	const char *column = NULL;
	char why[200];
	bool ok = true;

	s->records++;
	upload_record_begin(&s->ux);
	buf_reset(&s->line);
	for (size_t k = 0; k < f->ncols; k++) {
		const struct upload_column *c = &f->cols[k];

		if (k)
			buf_putc(&s->line, '\t');
		if (upload_value_at(&s->ux, f, k, vals[k] ? vals[k] : "", vals[k] ? lens[k] : 0, &s->line, why,
				    sizeof(why)) < 0) {
			ok = false;
			add_error(s, line, c->name, upload_value_echoable(c) && vals[k] ? vals[k] : NULL,
				  vals[k] ? lens[k] : 0, why);
		} else if (s->ux.warning) {
			add_warning(s, line, c->name, upload_value_echoable(c) ? vals[k] : NULL, lens[k], s->ux.warning);
		}
	}
	if (ok && upload_record_check(&s->ux, f, &column, why, sizeof(why)) < 0) {
		ok = false;
		add_error(s, line, column, NULL, 0, why);
	}
	if (!ok || !s->copying)
		return;
	if (s->span_col >= 0 && s->ux.days[s->span_col] != INT32_MIN) {
		s->span_first = s->ux.days[s->span_col] < s->span_first ? s->ux.days[s->span_col] : s->span_first;
		s->span_last = s->ux.days[s->span_col] > s->span_last ? s->ux.days[s->span_col] : s->span_last;
	}
	if (s->direct) {
		buf_puts(&s->copy, s->prefix);
		buf_append(&s->copy, s->line.data, s->line.len);
		buf_puts(&s->copy, s->suffix);
		if (s->spool)
			fprintf(s->spool, "%llu\t%.*s\n", (unsigned long long)line, (int)s->line.len, s->line.data);
	} else {
		buf_printf(&s->copy, "%llu\t", (unsigned long long)line);
		buf_append(&s->copy, s->line.data, s->line.len);
		buf_putc(&s->copy, '\n');
	}
	flush_copy(s, false);
}

static int on_csv_record(void *ctx, const struct csv_record *rec)
{
	struct upload_state *s = ctx;
	const char *vals[32] = { 0 };
	size_t lens[32] = { 0 };

	if (rec->error) {
		const char *col = NULL;
		if (s->header_ok && rec->column >= 1 && (int)rec->column <= s->nfields)
			for (size_t k = 0; k < s->fmt->ncols; k++)
				if (s->field_of[k] == (int)rec->column - 1)
					col = s->fmt->cols[k].name;
		if (rec->index == 1)
			s->nfields = -1; /* no usable header */
		add_error(s, rec->line, col, NULL, 0, rec->reason ? rec->reason : "unreadable record");
		return 0;
	}
	if (rec->index == 1) {
		const char *names[64];
		size_t nl[64];
		int map[64];

		if (rec->nfields > 64) {
			add_error(s, rec->line, NULL, NULL, 0, "the header has more than 64 columns");
			return 0;
		}
		for (size_t i = 0; i < rec->nfields; i++) {
			names[i] = rec->fields[i].ptr;
			nl[i] = rec->fields[i].len;
		}
		for (size_t k = 0; k < 32; k++)
			s->field_of[k] = -1;
		if (upload_header_map(s->fmt, names, nl, rec->nfields, map, header_fault, s) == 0)
			s->header_ok = true;
		for (size_t i = 0; i < rec->nfields; i++)
			if (map[i] >= 0)
				s->field_of[map[i]] = (int)i;
		s->nfields = (int)rec->nfields;
		return 0;
	}
	if (!s->header_ok)
		return 0; /* every line would fail the same way: the header fault says it */
	if ((int)rec->nfields != s->nfields) {
		char why[96];
		snprintf(why, sizeof(why), "%zu fields where the header has %d", rec->nfields, s->nfields);
		s->records++;
		add_error(s, rec->line, NULL, NULL, 0, why);
		return 0;
	}
	for (size_t k = 0; k < s->fmt->ncols; k++) {
		if (s->field_of[k] >= 0) {
			vals[k] = rec->fields[s->field_of[k]].ptr;
			lens[k] = rec->fields[s->field_of[k]].len;
		}
	}
	take_record(s, rec->line, vals, lens);
	return 0;
}

/* The text of member key's number, from the line's own characters. */
static bool number_text(const struct upload_json_number *nums, size_t n, const char *key, const char **text,
			size_t *len)
{
	for (size_t i = 0; i < n; i++) {
		bool same;
		if (!nums[i].escaped) {
			same = nums[i].keylen == strlen(key) && memcmp(nums[i].key, key, nums[i].keylen) == 0;
		} else {
			/* the name as jansson decoded it: decode this one the same way */
			json_t *name = json_loadb(nums[i].key - 1, nums[i].keylen + 2, JSON_DECODE_ANY, NULL);
			same = json_is_string(name) && strcmp(json_string_value(name), key) == 0;
			json_decref(name);
		}
		if (same) {
			*text = nums[i].text;
			*len = nums[i].len;
			return true;
		}
	}
	return false;
}

static int ndjson_fault(struct upload_state *s, uint64_t line, const char *column, const char *reason, json_t *o)
{
	s->records++;
	add_error(s, line, column, NULL, 0, reason);
	json_decref(o);
	return 0;
}

static int on_ndjson_record(void *ctx, const struct csv_record *rec)
{
	struct upload_state *s = ctx;
	const char *vals[32] = { 0 };
	size_t lens[32] = { 0 };
	bool seen[32] = { false };
	struct upload_json_number nums[64];
	size_t nnums;
	json_error_t je;
	json_t *o, *v;
	const char *key;

	if (rec->error) {
		add_error(s, rec->line, NULL, NULL, 0, rec->reason ? rec->reason : "unreadable line");
		return 0;
	}
	if (rec->nfields != 1)
		return 0;
	o = json_loadb(rec->fields[0].ptr, rec->fields[0].len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(o)) {
		char why[220];
		snprintf(why, sizeof(why), "not a JSON object: %s", o ? "another JSON value" : je.text);
		return ndjson_fault(s, rec->line, NULL, why, o);
	}
	nnums = upload_json_numbers(rec->fields[0].ptr, rec->fields[0].len, nums, A51_ARRAY_LEN(nums));
	json_object_foreach(o, key, v) {
		size_t k;
		/* member names match the columns as CSV headers do: in any case */
		for (k = 0; k < s->fmt->ncols && strcasecmp(s->fmt->cols[k].name, key) != 0; k++)
			;
		if (k == s->fmt->ncols)
			return ndjson_fault(s, rec->line, key, "unknown field", o);
		if (seen[k])
			return ndjson_fault(s, rec->line, key, "field repeated (names are compared in any case)", o);
		seen[k] = true;
		if (json_is_string(v)) {
			vals[k] = json_string_value(v);
			lens[k] = json_string_length(v);
		} else if (json_is_number(v)) {
			/* read from its text, as the CSV field: 30.005 is refused, not rounded */
			if (!number_text(nums, nnums, key, &vals[k], &lens[k]))
				return ndjson_fault(s, rec->line, key, "a number that cannot be read: send it as a string", o);
		} else if (json_is_boolean(v)) {
			vals[k] = json_is_true(v) ? "true" : "false";
			lens[k] = strlen(vals[k]);
		} else if (!json_is_null(v)) {
			return ndjson_fault(s, rec->line, key, "must be a string, a number or a boolean", o);
		}
	}
	take_record(s, rec->line, vals, lens);
	json_decref(o);
	return 0;
}

/* ---- the request ---- */

static bool token_char(char c)
{
	return c > 0x20 && c < 0x7f;
}

/* Charset from the media type's parameter: UTF-8 unless said otherwise. name
 * gets its canonical name, so that a retry naming it otherwise (cp1252) is
 * still the same request. */
static int charset_of(const char *ctype, char name[24], struct a51_error *err)
{
	static const char *const canonical[] = { [CSV_CHARSET_UTF8] = "utf-8",
						 [CSV_CHARSET_WINDOWS_1252] = "windows-1252",
						 [CSV_CHARSET_LATIN1] = "iso-8859-1" };
	const char *p = ctype ? strcasestr(ctype, "charset=") : NULL;
	int cs = CSV_CHARSET_UTF8;
	size_t n = 0;

	snprintf(name, 24, "utf-8");
	if (!p)
		return cs;
	p += 8;
	if (*p == '"')
		p++;
	while (p[n] && p[n] != ';' && p[n] != '"' && p[n] != ' ' && n < 23)
		n++;
	snprintf(name, 24, "%.*s", (int)n, p);
	if (csv_charset_from_name(name, &cs) < 0) {
		a51_error_set(err, A51_EINVAL, "Content-Type", "charset %s is not one of utf-8, windows-1252, latin1",
			      name);
		return -1;
	}
	snprintf(name, 24, "%s", canonical[cs]);
	return cs;
}

/* The first answer again, as it was given: status, body and Location. */
static void replay(struct http_request *r, const json_t *prev)
{
	int status = (int)json_integer_value(json_object_get(prev, "http_status"));
	json_t *resp = json_object_get(prev, "response");
	char *body = resp ? json_dumps(resp, JSON_COMPACT) : NULL;

	if (!body) {
		http_problem(r, 500, "internal", "the first answer to this Idempotency-Key was not kept");
		return;
	}
	http_set_header(r, "Idempotent-Replayed", "true");
	if (status == 200 || status == 201) {
		char loc[64];
		snprintf(loc, sizeof(loc), "/v1/uploads/%lld", (long long)json_integer_value(json_object_get(prev, "id")));
		http_set_header(r, "Location", loc);
	}
	http_respond_owned(r, status, status >= 400 ? "application/problem+json" : "application/json", body,
			   strlen(body));
}

/* 422 idempotency-key-reused, naming the header. */
static void key_reused(struct http_request *r, const json_t *prev, const char *what)
{
	long long id = (long long)json_integer_value(json_object_get(prev, "id"));
	char reason[200];

	snprintf(reason, sizeof(reason), "was used for upload %lld, %s; use a new key for a new request", id, what);
	http_problem_ex(r, 422, "idempotency-key-reused",
			json_pack("[{s:s,s:s}]", "field", "Idempotency-Key", "reason", reason), NULL, "Idempotency-Key %s",
			reason);
}

static int upload_begin(struct http_request *r)
{
	static const char *const yesno[] = { "true", "false", NULL };
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct upload_new un = { 0 };
	struct upload_state *s;
	struct csv_options o;
	struct fields q;
	const char *ctype = http_header(r, "Content-Type"), *kind, *dry, *key;
	const struct upload_format *fmt;
	/* the structure's route, or the reference dataset's */
	bool reference = !http_param(r, "id");
	char charset[24], kinds[160];
	json_t *prev = NULL;
	int cs;

	query_begin(&q, r);
	kind = http_query(r, "kind");
	fmt = kind ? upload_format(upload_kind_parse(kind)) : NULL;
	upload_kind_list(reference, kinds, sizeof(kinds));
	if (!kind)
		field_error(&q, "kind", "is required: %s", kinds);
	else if (!fmt)
		field_error(&q, "kind", "must be %s", kinds);
	else if (fmt->reference_only && !reference)
		field_error(&q, "kind", "%s is reference data: upload it to /v1/reference/uploads", fmt->name);
	dry = query_enum(&q, "dry_run", yesno);
	key = http_header(r, "Idempotency-Key");
	if (key) {
		size_t n = strlen(key);
		bool ok = n >= 1 && n <= 200;
		for (size_t i = 0; ok && i < n; i++)
			ok = token_char(key[i]);
		if (!ok)
			field_error(&q, "Idempotency-Key", "must be 1 to 200 visible ASCII characters");
	}
	if ((cs = charset_of(ctype, charset, &err)) < 0)
		field_error(&q, "Content-Type", "%s", err.message);
	if (!query_end(&q))
		return -1;
	if (r->content_length != UINT64_MAX && r->content_length > r->app->cfg->max_upload) {
		http_problem(r, 413, "payload-too-large", "the body is %llu bytes; the limit is %llu",
			     (unsigned long long)r->content_length, (unsigned long long)r->app->cfg->max_upload);
		return -1;
	}
	if (!r->has_body) {
		http_problem(r, 422, "validation", "the upload is empty");
		return -1;
	}
	if (!(s = calloc(1, sizeof(*s)))) {
		http_problem(r, 500, "internal", "out of memory");
		return -1;
	}
	s->app = r->app;
	s->fmt = fmt;
	s->span_col = -1;
	for (size_t k = 0; fmt->kind == UK_CLAIMS && k < fmt->ncols && k < 16; k++)
		if (strcmp(fmt->cols[k].name, "care_date") == 0)
			s->span_col = (int)k;
	s->span_first = INT32_MAX;
	s->span_last = INT32_MIN;
	s->dry_run = dry && strcmp(dry, "true") == 0;
	s->ndjson = ctype && strncasecmp(ctype, "application/x-ndjson", 20) == 0;
	s->max_bytes = r->app->cfg->max_upload;
	s->copying = true;
	s->t0 = util_now_ns();
	s->ux.key = r->app->pseudo_key;
	s->ux.keylen = r->app->pseudo_key_len;
	s->errors = json_array();
	s->warnings = json_array();
	buf_init(&s->line);
	buf_init(&s->copy);
	sha256_init(&s->sha);
	for (size_t k = 0; k < 32; k++)
		s->field_of[k] = -1;
	/* the dataset: the structure of the path (when within reach), or the reference population */
	if (!reference && !api_path_id(r, "id", &s->dataset))
		goto fail;
	if (!(s->data = db_acquire(r->app->upload_pool, &err))) {
		/* every slot busy, or PostgreSQL unreachable: say which */
		http_set_header(r, "Retry-After", strcmp(err.field, "pool") == 0 ? "5" : "1");
		if (strcmp(err.field, "pool") == 0)
			http_problem(r, 503, "database-unavailable", "all %d upload slots are busy; retry later",
				     r->app->cfg->max_uploads);
		else
			http_problem(r, 503, "database-unavailable", "the database is unreachable; retry later");
		goto fail;
	}
	if (s->dataset && store_reach_structure(s->data, &r->caller, s->dataset, s->region, &err) < 0) {
		http_problem_from_error(r, &err);
		goto fail;
	}
	un.dataset = s->dataset;
	un.kind = s->fmt->name;
	un.format = s->ndjson ? "ndjson" : "csv";
	un.charset = charset;
	un.dry_run = s->dry_run;
	un.idempotency_key = key;
	un.request_id = r->request_id;
	if (store_upload_begin(s->data, &a, &un, &s->id, &prev, &err) < 0) {
		long long pid = (long long)json_integer_value(json_object_get(prev, "id"));
		if (!prev) {
			http_problem_from_error(r, &err);
		} else if (!json_is_true(json_object_get(prev, "same_request"))) {
			key_reused(r, prev, "a request with another path, kind, dry_run or Content-Type");
		} else if (!json_integer_value(json_object_get(prev, "http_status"))) {
			a51_error_set(&err, A51_ECONFLICT, "Idempotency-Key",
				      "upload %lld with this key is still being received; retry once it has ended", pid);
			http_problem_from_error(r, &err);
		} else {
			/* The same request so far: its body decides, once read and hashed. */
			db_release(r->app->upload_pool, s->data);
			s->data = NULL;
			s->replay = prev;
			r->stream_state = s;
			return 0;
		}
		json_decref(prev);
		goto fail;
	}
	s->errfile = tmpfile();
	if (s->fmt->resolves_patients) {
		/* rows name patients by NIR: resolve them to the dataset's patients as they come */
		if (store_upload_patient_ids(s->data, s->dataset, pmap_put, &s->patients, &err) < 0) {
			http_problem_from_error(r, &err);
			goto finish_failed;
		}
		s->ux.resolve = pmap_get;
		s->ux.resolve_ctx = &s->patients;
	}
	if (s->fmt->direct) {
		s->direct = true;
		s->spool = tmpfile();
		/* the final table's dataset column first; reference data has none */
		if (!s->fmt->reference_only)
			snprintf(s->prefix, sizeof(s->prefix), "%lld\t", (long long)s->dataset);
		snprintf(s->suffix, sizeof(s->suffix), "\t%lld\n", (long long)s->id);
	}
	csv_options_init(&o);
	o.format = s->ndjson ? CSV_FORMAT_NDJSON : CSV_FORMAT_CSV;
	o.charset = cs;
	o.on_record = s->ndjson ? on_ndjson_record : on_csv_record;
	o.ctx = s;
	if (s->ndjson)
		s->header_ok = true;
	if (!(s->reader = csv_reader_new(&o, &err)) || store_upload_open(s->data, &err) < 0 ||
	    (s->direct ? store_upload_direct(s->data, s->fmt->kind, &err)
		       : store_upload_stage(s->data, s->fmt->kind, &err)) < 0) {
		http_problem_from_error(r, &err);
		goto finish_failed;
	}
	r->stream_state = s;
	return 0;
finish_failed:
	{
		struct upload_result res = { .status = "failed", .http_status = 500, .message = err.message };
		struct a51_error ignored = { 0 };
		db_rollback(s->data);
		store_upload_finish(s->data, s->id, &res, &ignored);
	}
fail:
	if (s->data)
		db_release(r->app->upload_pool, s->data);
	state_free(s);
	return -1;
}

static int upload_chunk(struct http_request *r, const char *data, size_t len)
{
	struct upload_state *s = r->stream_state;

	if (!s)
		return 0;
	s->bytes += len;
	sha256_update(&s->sha, data, len);
	if (s->replay || s->too_large)
		return 0;
	if (s->bytes > s->max_bytes) {
		/* Chunked: the limit is known only now. libmicrohttpd 0.9.75 takes no
		 * answer in mid-body, and one decided now would be sent only after the
		 * rest was dropped — or never, past the server's bound. So the rest is
		 * read (and hashed, for a retry) without parsing, and answered 413 at
		 * its end; the data sent so far is undone then. */
		s->too_large = true;
		return 0;
	}
	csv_reader_feed(s->reader, data, len);
	return 0;
}

/* The client went away mid-body: nothing of the file stays. The record keeps
 * what was seen (bytes, lines, records), 499 for an answer never given (as
 * proxies log a client that closed its request), and no SHA-256: the body
 * is not whole. */
static void upload_abort(struct http_request *r)
{
	struct upload_state *s = r->stream_state;
	struct upload_result res = { .status = "aborted", .http_status = 499,
				     .message = "the client disconnected before the end" };
	struct a51_error err = { 0 };
	struct csv_stats st;

	if (!s)
		return;
	if (!s->data) { /* a replay: nothing was started */
		state_free(s);
		r->stream_state = NULL;
		return;
	}
	store_upload_copy_end(s->data, "client disconnected", &err);
	db_rollback(s->data);
	csv_reader_stats(s->reader, &st);
	res.bytes = (int64_t)s->bytes;
	res.lines = (int64_t)st.lines;
	res.records = (int64_t)s->records;
	res.parse_ms = (int)((util_now_ns() - s->t0) / 1000000u);
	store_upload_finish(s->data, s->id, &res, &err);
	db_release(s->app->upload_pool, s->data);
	log_info("upload.aborted", "upload %lld aborted after %llu bytes", (long long)s->id,
		 (unsigned long long)s->bytes);
	state_free(s);
	r->stream_state = NULL;
}

static json_t *summary(const struct upload_state *s, const char *status, int64_t inserted, int64_t updated,
		       const char *sha, int parse_ms, int merge_ms, const struct csv_stats *st)
{
	/* records neither inserted nor updated: known patients kept as they were,
	 * declarations sent again as they are stored */
	int64_t unchanged = strcmp(status, "rejected") == 0 ? 0 : (int64_t)s->records - inserted - updated;
	char url[64];
	json_t *j;

	snprintf(url, sizeof(url), "/v1/uploads/%lld", (long long)s->id);
	j = json_pack("{s:I,s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:{s:i,s:i},s:s}", "id",
		      (json_int_t)s->id, "kind", s->fmt->name, "status", status, "format", s->ndjson ? "ndjson" : "csv",
		      "dry_run", s->dry_run, "bytes", (json_int_t)s->bytes, "lines", (json_int_t)st->lines, "records",
		      (json_int_t)s->records, "inserted", (json_int_t)inserted, "updated", (json_int_t)updated,
		      "unchanged", (json_int_t)unchanged, "errors_count", (json_int_t)s->nerrors, "warnings_count",
		      (json_int_t)s->nwarnings, "sha256", sha, "timings_ms", "parse", parse_ms, "merge", merge_ms, "url",
		      url);
	if (s->nwarnings)
		json_object_set(j, "warnings", s->warnings);
	return j;
}

/* Back from the direct path: the rows go to staging from the spool. */
static int staging_from_spool(struct upload_state *s)
{
	char chunk[1 << 16];
	size_t n;

	if (!s->spool || store_upload_undo_direct(s->data, &s->dberr) < 0 ||
	    store_upload_stage(s->data, s->fmt->kind, &s->dberr) < 0) {
		s->db_failed = true;
		return -1;
	}
	fflush(s->spool);
	rewind(s->spool);
	while ((n = fread(chunk, 1, sizeof(chunk), s->spool)) > 0)
		if (store_upload_copy(s->data, chunk, n, &s->dberr) < 0) {
			s->db_failed = true;
			return -1;
		}
	if (ferror(s->spool) || store_upload_copy_end(s->data, NULL, &s->dberr) < 0) {
		s->db_failed = true;
		return -1;
	}
	return 0;
}

/* Every line at fault that the merge found, through add_error like the others:
 * in the answer's first 100 and in the stored list. */
static int take_faults(struct upload_state *s)
{
	int64_t before = s->nerrors;

	for (;;) {
		json_t *batch = json_array(), *e;
		int64_t waiting = 0;
		size_t i, n;

		if (store_upload_duplicates(s->data, s->fmt->kind, FAULT_BATCH, batch, &waiting, &s->dberr) < 0) {
			json_decref(batch);
			return -1;
		}
		json_array_foreach(batch, i, e)
			add_error(s, (uint64_t)json_integer_value(json_object_get(e, "line")),
				  json_string_value(json_object_get(e, "column")), NULL, 0,
				  json_string_value(json_object_get(e, "reason")));
		n = json_array_size(batch);
		json_decref(batch);
		if (n == 0)
			break;
	}
	if (s->nerrors == before) /* said to be at fault, yet none found: never accept that file */
		return a51_error_set(&s->dberr, A51_EDB, NULL, "the merge reported faults that could not be read");
	return 0;
}

/* The upload failed in a51 or the database: recorded (outside the undone
 * transaction) and answered 500, 503 or 504. */
static void answer_failed(struct http_request *r, struct upload_state *s, struct upload_result *res)
{
	struct a51_error err = { 0 };
	bool unavailable = s->dberr.code == A51_EUNAVAIL || s->dberr.code == A51_ETIMEOUT;

	db_rollback(s->data);
	res->status = "failed";
	res->http_status = s->dberr.code == A51_EUNAVAIL ? 503 : s->dberr.code == A51_ETIMEOUT ? 504 : 500;
	res->message = s->dberr.message;
	res->response = NULL;
	store_upload_finish(s->data, s->id, res, &err);
	db_release(r->app->upload_pool, s->data);
	log_error("upload.failed", "upload %lld: %s", (long long)s->id, s->dberr.message);
	if (s->dberr.code == A51_EUNAVAIL)
		/* PostgreSQL's own words stay in the log: the client needs what to do */
		http_problem(r, 503, "database-unavailable",
			     "the database became unavailable during upload %lld, which stored nothing; send it again "
			     "(with the same Idempotency-Key, if any)", (long long)s->id);
	else if (unavailable)
		http_problem_from_error(r, &s->dberr);
	else
		http_problem(r, 500, "internal", "the upload failed; quote request id %s", r->request_id);
}

/* A chunked body past A51_MAX_UPLOAD, read to its end: 413, nothing stored. */
static void answer_too_large(struct http_request *r, struct upload_state *s, struct upload_result *res)
{
	struct a51_error err = { 0 };
	char detail[160];
	json_t *problem;

	snprintf(detail, sizeof(detail), "the body exceeds the upload limit of %llu bytes: nothing was stored",
		 (unsigned long long)s->max_bytes);
	if (!s->db_failed)
		store_upload_copy_end(s->data, "too large", &err);
	db_rollback(s->data);
	problem = problem_json(413, "payload-too-large", detail, r->request_id, NULL, NULL);
	res->status = "rejected";
	res->http_status = 413;
	res->message = "the body exceeds the upload limit";
	res->response = problem;
	store_upload_finish(s->data, s->id, res, &err);
	json_decref(problem);
	db_release(r->app->upload_pool, s->data);
	http_problem(r, 413, "payload-too-large", "%s", detail);
}

/* The rows are stored (not for a dry run): the audit row, in the same
 * transaction as the data and the upload record. */
/* Widens the dataset's claim span to the care dates this upload stored. */
static int claim_span(struct upload_state *s)
{
	char first[11], last[11];

	if (s->span_col < 0 || s->span_first > s->span_last)
		return 0;
	date_format(s->span_first, first);
	date_format(s->span_last, last);
	return store_claim_span_extend(s->data, s->dataset, first, last, &s->dberr);
}

static int audit_upload(struct http_request *r, struct upload_state *s, const struct upload_result *res)
{
	struct actor a = api_actor(r);
	struct audit_rec rec = { .action = "upload", .resource_type = "upload" };
	json_t *after;
	int rc;

	snprintf(rec.resource_id, sizeof(rec.resource_id), "%lld", (long long)s->id);
	rec.region = s->dataset ? s->region : NULL;
	rec.structure_id = s->dataset;
	after = json_pack("{s:s,s:I,s:s,s:I,s:I,s:I,s:I,s:s}", "kind", s->fmt->name, "dataset", (json_int_t)s->dataset,
			  "format", s->ndjson ? "ndjson" : "csv", "records", (json_int_t)res->records, "inserted",
			  (json_int_t)res->inserted, "updated", (json_int_t)res->updated, "unchanged",
			  (json_int_t)(res->records - res->inserted - res->updated), "sha256", res->sha256);
	rec.after = after;
	rc = store_audit(s->data, &a, &rec, &s->dberr);
	json_decref(after);
	return rc;
}

void api_uploads_create(struct http_request *r)
{
	struct upload_state *s = r->stream_state;
	struct upload_result res = { 0 };
	struct a51_error err = { 0 };
	struct csv_stats st;
	uint8_t digest[SHA256_LEN];
	char sha[65];
	int64_t inserted = 0, updated = 0;
	json_t *out;
	uint64_t t_merge;
	int parse_ms, merge_ms = 0;

	if (!s) {
		http_problem(r, 500, "internal", "the upload was not started");
		return;
	}
	r->stream_state = NULL; /* from here this handler owns it */
	sha256_final(&s->sha, digest);
	util_hex(digest, sizeof(digest), sha);
	if (s->replay) {
		/* the same key, path, kind and flags: the same body too, or another request */
		const char *first = json_string_value(json_object_get(s->replay, "sha256"));
		if (first && strcmp(first, sha) == 0)
			replay(r, s->replay);
		else
			key_reused(r, s->replay, "a request with another body (its SHA-256 differs)");
		state_free(s);
		return;
	}
	csv_reader_finish(s->reader);
	csv_reader_stats(s->reader, &st);
	parse_ms = (int)((util_now_ns() - s->t0) / 1000000u);
	res.bytes = (int64_t)s->bytes;
	res.lines = (int64_t)st.lines;
	res.sha256 = sha;
	res.parse_ms = parse_ms;
	if (s->too_large) {
		res.records = (int64_t)s->records;
		answer_too_large(r, s, &res);
		state_free(s);
		return;
	}
	if (s->records == 0 && s->nerrors == 0)
		add_error(s, st.lines, NULL, NULL, 0, "the file holds no record");
	flush_copy(s, true);
	t_merge = util_now_ns();
	if (s->nerrors == 0 && !s->db_failed) {
		bool merge = !s->direct;
		if (store_upload_copy_end(s->data, NULL, &s->dberr) < 0) {
			if (!s->direct || strcmp(s->dberr.sqlstate, "23505") != 0) {
				s->db_failed = true;
			} else if (staging_from_spool(s) == 0) {
				/* a key already stored, or twice in the file: through staging */
				merge = true;
			}
		} else if (s->direct) {
			inserted = (int64_t)s->records;
		}
		if (merge && !s->db_failed) {
			int rc = store_upload_merge(s->data, s->fmt->kind, s->dataset, s->id, &inserted, &updated,
						    &s->dberr);
			if (rc == A51_EINVAL && strcmp(s->dberr.field, "line") == 0)
				s->db_failed = take_faults(s) < 0;
			else if (rc < 0)
				s->db_failed = true;
		}
	} else if (!s->db_failed) {
		store_upload_copy_end(s->data, "rejected", &err);
	}
	merge_ms = (int)((util_now_ns() - t_merge) / 1000000u);

	res.records = (int64_t)s->records;
	res.errors_count = s->nerrors;
	res.merge_ms = merge_ms;
	if (s->db_failed) {
		answer_failed(r, s, &res);
		state_free(s);
		return;
	}
	if (s->nerrors) {
		json_t *extra, *problem;
		db_rollback(s->data);
		out = summary(s, "rejected", 0, 0, sha, parse_ms, merge_ms, &st);
		json_object_set_new(out, "errors_url",
				    json_sprintf("/v1/uploads/%lld/errors", (long long)s->id));
		extra = json_pack("{s:o}", "upload", out);
		res.status = "rejected";
		res.http_status = 422;
		/* the stored answer is the problem document the client gets */
		problem = problem_json(422, "validation", "", r->request_id, json_incref(s->errors), json_incref(extra));
		json_object_set_new(problem, "detail",
				    json_sprintf("%lld error(s): the file is rejected and nothing was stored; "
						 "the first %d are listed",
						 (long long)s->nerrors, FIRST_ERRORS));
		res.response = problem;
		if (store_upload_finish(s->data, s->id, &res, &err) == 0 && s->errfile)
			store_upload_errors_load(s->data, s->id, s->errfile, &err);
		json_decref(problem);
		db_release(r->app->upload_pool, s->data);
		http_problem_ex(r, 422, "validation", json_incref(s->errors), extra,
				"%lld error(s): the file is rejected and nothing was stored; the first %d are listed",
				(long long)s->nerrors, FIRST_ERRORS);
		state_free(s);
		return;
	}
	res.status = s->dry_run ? "validated" : "succeeded";
	out = summary(s, res.status, inserted, updated, sha, parse_ms, merge_ms, &st);
	res.inserted = inserted;
	res.updated = updated;
	res.http_status = s->dry_run ? 200 : 201;
	res.response = out;
	if (s->dry_run) {
		/* everything was checked and merged, then undone */
		db_rollback(s->data);
		store_upload_finish(s->data, s->id, &res, &err);
	} else if (audit_upload(r, s, &res) < 0 || claim_span(s) < 0 ||
		   store_upload_finish(s->data, s->id, &res, &s->dberr) < 0 ||
		   db_commit(s->data, &s->dberr) < 0) {
		json_decref(out);
		answer_failed(r, s, &res);
		state_free(s);
		return;
	}
	db_release(r->app->upload_pool, s->data);
	{
		char loc[64];
		snprintf(loc, sizeof(loc), "/v1/uploads/%lld", (long long)s->id);
		http_set_header(r, "Location", loc);
	}
	log_info("upload.done", "upload %lld (%s): %llu records, %lld inserted, %lld updated, parse %d ms, merge %d ms",
		 (long long)s->id, s->fmt->name, (unsigned long long)s->records, (long long)inserted, (long long)updated,
		 parse_ms, merge_ms);
	http_respond_json(r, s->dry_run ? 200 : 201, out);
	state_free(s);
}

const struct body_stream api_upload_stream = {
	.begin = upload_begin,
	.chunk = upload_chunk,
	.abort = upload_abort,
};

/* ---- reading ---- */

void api_uploads_get(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c;
	json_t *out;
	int64_t id;

	if (!api_path_id(r, "id", &id) || !(c = api_db(r)))
		return;
	if (store_upload_get(c, &r->caller, id, &out, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	json_object_set_new(out, "errors_url", json_sprintf("/v1/uploads/%lld/errors", (long long)id));
	http_respond_json(r, 200, out);
}

static void list_uploads(struct http_request *r, int64_t dataset)
{
	static const char *const query[] = { "limit", NULL };
	struct a51_error err = { 0 };
	struct db_conn *c;
	json_t *items;
	int64_t before;
	int limit;

	if (!api_page_params(r, 50, 500, &limit, &before) || !(c = api_db(r)))
		return;
	if (dataset) {
		char region[4];
		if (store_reach_structure(c, &r->caller, dataset, region, &err) < 0) {
			api_fail(r, c, &err);
			return;
		}
	}
	if (store_uploads_list(c, &r->caller, dataset, before, limit, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, api_page(items, limit, api_base_url(r, query)));
}

void api_structure_uploads_list(struct http_request *r)
{
	int64_t sid;

	if (api_path_id(r, "id", &sid))
		list_uploads(r, sid);
}

void api_reference_uploads_list(struct http_request *r)
{
	list_uploads(r, 0);
}

/* The full error list, as JSON pages or as one CSV file. */
void api_upload_errors(struct http_request *r)
{
	static const char *const query[] = { "limit", "format", NULL };
	static const char *const formats_allowed[] = { "json", "csv", NULL };
	struct a51_error err = { 0 };
	struct db_conn *c;
	struct fields q;
	const char *fmt;
	json_t *items;
	int64_t id, after;
	int limit;

	if (!api_path_id(r, "id", &id))
		return;
	query_begin(&q, r);
	fmt = query_enum(&q, "format", formats_allowed);
	limit = (int)query_int(&q, "limit", 1, 100000, fmt && strcmp(fmt, "csv") == 0 ? 100000 : 100);
	after = query_int(&q, "cursor", 0, INT64_MAX, 0);
	if (!query_end(&q) || !(c = api_db(r)))
		return;
	if (store_upload_errors(c, &r->caller, id, after, limit, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	if (fmt && strcmp(fmt, "csv") == 0) {
		struct buf b;
		size_t i;
		json_t *e;
		char *body, disp[96];
		size_t len;

		buf_init(&b);
		buf_puts(&b, "line;column;value;reason\r\n");
		json_array_foreach(items, i, e) {
			const char *cols[3] = { json_string_value(json_object_get(e, "column")),
						json_string_value(json_object_get(e, "value")),
						json_string_value(json_object_get(e, "reason")) };
			buf_printf(&b, "%lld", (long long)json_integer_value(json_object_get(e, "line")));
			for (int k = 0; k < 3; k++) {
				buf_putc(&b, ';');
				if (!cols[k])
					continue;
				buf_putc(&b, '"');
				for (const char *p = cols[k]; *p; p++) {
					if (*p == '"')
						buf_putc(&b, '"');
					buf_putc(&b, *p);
				}
				buf_putc(&b, '"');
			}
			buf_puts(&b, "\r\n");
		}
		json_decref(items);
		if (b.oom) {
			buf_release(&b);
			http_problem(r, 500, "internal", "out of memory");
			return;
		}
		snprintf(disp, sizeof(disp), "attachment; filename=\"upload-%lld-errors.csv\"", (long long)id);
		http_set_header(r, "Content-Disposition", disp);
		body = buf_steal(&b, &len);
		http_respond_owned(r, 200, "text/csv; charset=utf-8", body, len);
		return;
	}
	http_respond_json(r, 200, api_page(items, limit, api_base_url(r, query)));
}
