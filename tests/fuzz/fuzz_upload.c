/* libFuzzer target for bulk-upload records: the CSV/NDJSON reader (core/csv.c)
 * feeding the column rules of every upload kind (domain/formats.c), record by
 * record as api/uploads.c does it (header mapping for CSV, member names and
 * numbers-as-written for NDJSON, each value checked and written as COPY text,
 * then the rules between columns). The database is left out: what would be
 * copied is checked instead.
 *
 * Input: a selector byte (kind, CSV or NDJSON, charset), then the file.
 * Checked: a COPY line has one field per staging column, no raw tab, CR, LF or
 * NUL inside a value, and is valid UTF-8; a refused value says why and never
 * repeats a NIR; the cache of the last NIR never changes an outcome (each
 * record is also read with a cold cache); the numbers found in an NDJSON line
 * are numbers as JSON reads them. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "a51/buf.h"
#include "a51/csv.h"
#include "a51/formats.h"
#include "a51/util.h"
#include "a51/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct st {
	const struct upload_format *fmt;
	struct upload_ctx ux;
	int field_of[32];
	int nfields;
	bool header_ok;
	struct buf line, cold;
	uint64_t records;
};

static const uint8_t key[] = "fuzz-pseudonym-key-fuzz-pseudonym-key";

/* Patients known to the dataset: those whose pseudonym starts with an even byte. */
static int resolve(void *ctx, const uint8_t pseudonym[32], int64_t *id)
{
	(void)ctx;
	if (pseudonym[0] & 1)
		return -1;
	*id = 1 + pseudonym[1];
	return 0;
}

static bool utf8_ok(const unsigned char *s, size_t n)
{
	json_t *j = json_stringn((const char *)s, n); /* jansson checks UTF-8 */
	bool ok = j != NULL;

	json_decref(j);
	return ok;
}

static void check_line(const struct st *s, const struct buf *b)
{
	size_t want = 0, tabs = 0;

	for (size_t k = 0; k < s->fmt->ncols; k++)
		want += (size_t)upload_column_width(s->fmt->cols[k].type);
	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == '\t')
			tabs++;
		if (b->data[i] == '\n' || b->data[i] == '\r' || b->data[i] == '\0')
			abort();
	}
	if (tabs + 1 != want || !utf8_ok((const unsigned char *)b->data, b->len))
		abort();
}

/* One record through the columns; returns whether it is accepted, with the
 * COPY line in out and the first reason in why0. */
static bool record(struct upload_ctx *ux, const struct upload_format *f, const char *const *vals,
		   const size_t *lens, struct buf *out, char *why0, size_t cap)
{
	const char *column = NULL;
	bool ok = true;
	char why[200];

	why0[0] = '\0';
	upload_record_begin(ux);
	buf_reset(out);
	for (size_t k = 0; k < f->ncols; k++) {
		const struct upload_column *c = &f->cols[k];
		const char *v = vals[k] ? vals[k] : "";
		size_t n = vals[k] ? lens[k] : 0;

		if (k)
			buf_putc(out, '\t');
		why[0] = '\0';
		if (upload_value_at(ux, f, k, v, n, out, why, sizeof(why)) < 0) {
			if (!why[0] || !memchr(why, '\0', sizeof(why)))
				abort();
			/* a NIR is never repeated, not even in part */
			if (c->type == CT_NIR && n >= 5 && memmem(why, strlen(why), v, n))
				abort();
			if (ok)
				snprintf(why0, cap, "%s: %s", c->name, why);
			ok = false;
		} else if (ux->warning && !ux->warning[0]) {
			abort();
		}
	}
	if (ok && upload_record_check(ux, f, &column, why, sizeof(why)) < 0) {
		bool known = false;
		for (size_t k = 0; column && k < f->ncols; k++)
			known |= strcmp(f->cols[k].name, column) == 0;
		if (!known || !why[0])
			abort();
		snprintf(why0, cap, "%s: %s", column, why);
		ok = false;
	}
	return ok;
}

static void take(struct st *s, const char *const *vals, const size_t *lens)
{
	struct upload_ctx cold = s->ux;
	char why[256], why_cold[256];
	bool ok, ok_cold;

	s->records++;
	ok = record(&s->ux, s->fmt, vals, lens, &s->line, why, sizeof(why));
	if (ok)
		check_line(s, &s->line);
	/* the same record with nothing cached */
	cold.last_nir[0] = '\0';
	memset(cold.last_pseudonym, 0, sizeof(cold.last_pseudonym));
	cold.last_patient_id = 0;
	ok_cold = record(&cold, s->fmt, vals, lens, &s->cold, why_cold, sizeof(why_cold));
	if (ok != ok_cold || strcmp(why, why_cold) != 0 ||
	    (ok && (s->line.len != s->cold.len || memcmp(s->line.data, s->cold.data, s->line.len) != 0)))
		abort();
}

static void header_fault(void *ctx, int field, const char *name, const char *reason)
{
	struct st *s = ctx;

	if (field < -1 || field >= s->nfields || !name || !reason || !reason[0])
		abort();
}

static int on_csv(void *ctx, const struct csv_record *rec)
{
	struct st *s = ctx;
	const char *vals[32] = { 0 };
	size_t lens[32] = { 0 };

	if (rec->error)
		return 0;
	if (rec->index == 1) {
		const char *names[64];
		size_t nl[64], faults;
		int map[64];

		if (rec->nfields > 64)
			return 0;
		for (size_t i = 0; i < rec->nfields; i++) {
			names[i] = rec->fields[i].ptr;
			nl[i] = rec->fields[i].len;
		}
		for (size_t k = 0; k < 32; k++)
			s->field_of[k] = -1;
		s->nfields = (int)rec->nfields;
		faults = upload_header_map(s->fmt, names, nl, rec->nfields, map, header_fault, s);
		s->header_ok = faults == 0;
		for (size_t i = 0; i < rec->nfields; i++) {
			if (map[i] < -1 || map[i] >= (int)s->fmt->ncols)
				abort();
			if (map[i] >= 0) {
				if (s->field_of[map[i]] >= 0)
					abort(); /* a column mapped twice */
				s->field_of[map[i]] = (int)i;
			}
		}
		return 0;
	}
	if (!s->header_ok || (int)rec->nfields != s->nfields)
		return 0;
	for (size_t k = 0; k < s->fmt->ncols; k++)
		if (s->field_of[k] >= 0) {
			vals[k] = rec->fields[s->field_of[k]].ptr;
			lens[k] = rec->fields[s->field_of[k]].len;
		}
	take(s, vals, lens);
	return 0;
}

static int on_ndjson(void *ctx, const struct csv_record *rec)
{
	struct st *s = ctx;
	const char *vals[32] = { 0 };
	size_t lens[32] = { 0 }, nnums;
	bool seen[32] = { false };
	struct upload_json_number nums[64];
	const char *text = rec->error || rec->nfields != 1 ? NULL : rec->fields[0].ptr;
	size_t tlen = text ? rec->fields[0].len : 0;
	json_t *o, *v;
	const char *k;

	if (!text)
		return 0;
	o = json_loadb(text, tlen, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return 0;
	}
	nnums = upload_json_numbers(text, tlen, nums, 64);
	for (size_t i = 0; i < nnums; i++) {
		json_t *num;
		if (nums[i].key < text || nums[i].key + nums[i].keylen > text + tlen || nums[i].text < text ||
		    nums[i].text + nums[i].len > text + tlen || !nums[i].len)
			abort();
		num = json_loadb(nums[i].text, nums[i].len, JSON_DECODE_ANY, NULL);
		if (!json_is_number(num))
			abort(); /* what is read as a number's text is one */
		json_decref(num);
	}
	json_object_foreach(o, k, v) {
		size_t c;
		for (c = 0; c < s->fmt->ncols && strcasecmp(s->fmt->cols[c].name, k) != 0; c++)
			;
		if (c == s->fmt->ncols || seen[c])
			goto out;
		seen[c] = true;
		if (json_is_string(v)) {
			vals[c] = json_string_value(v);
			lens[c] = json_string_length(v);
		} else if (json_is_number(v)) {
			size_t i;
			for (i = 0; i < nnums; i++)
				if (!nums[i].escaped && nums[i].keylen == strlen(k) && memcmp(nums[i].key, k, nums[i].keylen) == 0)
					break;
			if (i == nnums)
				goto out; /* uploads.c refuses it ("send it as a string") */
			vals[c] = nums[i].text;
			lens[c] = nums[i].len;
		} else if (json_is_boolean(v)) {
			vals[c] = json_is_true(v) ? "true" : "false";
			lens[c] = strlen(vals[c]);
		} else if (!json_is_null(v)) {
			goto out;
		}
	}
	take(s, vals, lens);
out:
	json_decref(o);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_options o;
	struct csv_reader *r;
	struct st s;
	uint8_t sel;

	if (size < 1)
		return 0;
	sel = data[0];
	memset(&s, 0, sizeof(s));
	s.fmt = upload_format(1 + sel % (UK__COUNT - 1));
	if (!s.fmt || s.fmt->ncols > 32)
		abort();
	s.ux.key = key;
	s.ux.keylen = sizeof(key) - 1;
	if (s.fmt->resolves_patients && (sel & 0x80)) {
		s.ux.resolve = resolve;
		s.ux.last_patient_id = -1;
	}
	buf_init(&s.line);
	buf_init(&s.cold);
	csv_options_init(&o);
	o.format = (sel >> 3) & 1 ? CSV_FORMAT_NDJSON : CSV_FORMAT_CSV;
	o.charset = ((sel >> 4) & 3) % 3;
	o.on_record = o.format == CSV_FORMAT_NDJSON ? on_ndjson : on_csv;
	o.ctx = &s;
	if (!(r = csv_reader_new(&o, NULL)))
		abort();
	if (csv_reader_feed(r, data + 1, size - 1) == 0)
		csv_reader_finish(r);
	csv_reader_free(r);
	buf_release(&s.line);
	buf_release(&s.cold);
	return 0;
}
