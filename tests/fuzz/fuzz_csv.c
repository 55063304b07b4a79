/* libFuzzer target for core/csv. The first byte picks the options and a
 * chunking; the rest is the upload. Aborts when feeding in one piece, in 1-byte
 * chunks and in the chosen chunking disagree, when a callback stop is not
 * honoured, or when a field breaks the reader's promises (NUL-terminated,
 * valid UTF-8 without NUL, within the size bounds). The field parsers run on
 * every field and must round-trip what they accept. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/csv.h"
#include "a51/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct trace {
	unsigned char *log;
	size_t len, cap;
	uint64_t nrec;
	uint64_t stop_at;
	size_t cut[8];          /* log length after each of the first records */
	const struct csv_options *o;
	int helpers;            /* also run the field parsers */
};

static void out(struct trace *t, const void *p, size_t n)
{
	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2 + 256;
		t->log = realloc(t->log, t->cap);
		if (!t->log)
			abort();
	}
	memcpy(t->log + t->len, p, n);
	t->len += n;
}

static int utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], need, cp;

		if (c < 0x80) {
			if (!c)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			need = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			need = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			need = 3, cp = c & 0x07;
		else
			return 0;
		if (n - i <= need)
			return 0;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += need + 1;
	}
	return 1;
}

static void check_helpers(const char *s, size_t n)
{
	int64_t cents, again;
	int y, m, d;
	bool b;
	char buf[64];
	int len;

	if (csv_parse_decimal_cents(s, n, &cents, NULL) == 0) {
		uint64_t a = cents < 0 ? 0 - (uint64_t)cents : (uint64_t)cents;

		if (a > UINT64_C(9000000000000000))
			abort();
		len = snprintf(buf, sizeof(buf), "%s%" PRIu64 ",%02" PRIu64, cents < 0 ? "-" : "", a / 100, a % 100);
		if (csv_parse_decimal_cents(buf, (size_t)len, &again, NULL) || again != cents)
			abort();
	}
	if (csv_parse_date(s, n, &y, &m, &d, NULL) == 0) {
		len = snprintf(buf, sizeof(buf), "%02d/%02d/%04d", d, m, y);
		if (csv_parse_date(buf, (size_t)len, &y, &m, &d, NULL))
			abort();
		if (y < 1800 || y > 2200 || m < 1 || m > 12 || d < 1 || d > 31)
			abort();
	}
	(void)csv_parse_bool(s, n, &b, NULL);
}

static int on_rec(void *ctx, const struct csv_record *rec)
{
	struct trace *t = ctx;
	size_t total = 0;

	if (rec->index != ++t->nrec || rec->line < 1)
		abort();
	out(t, &rec->line, sizeof(rec->line));
	out(t, &rec->nfields, sizeof(rec->nfields));
	out(t, &rec->error, sizeof(rec->error));
	out(t, &rec->column, sizeof(rec->column));
	if (rec->error) {
		if (rec->nfields || !rec->reason || !rec->column)
			abort();
		out(t, rec->reason, strlen(rec->reason) + 1);
	} else {
		if (!rec->nfields || rec->reason || rec->nfields > t->o->max_fields)
			abort();
	}
	for (size_t i = 0; i < rec->nfields; i++) {
		const struct csv_field *f = &rec->fields[i];

		if (f->ptr[f->len] != '\0' || !utf8_valid((const unsigned char *)f->ptr, f->len))
			abort();
		total += f->len + 1;
		out(t, &f->len, sizeof(f->len));
		out(t, f->ptr, f->len);
		if (t->helpers)
			check_helpers(f->ptr, f->len);
	}
	if (total > t->o->max_record)
		abort();
	if (t->nrec <= 8)
		t->cut[t->nrec - 1] = t->len;
	return t->stop_at && t->nrec == t->stop_at ? 99 : 0;
}

/* Chunk sizes: 0 = one piece, 1 = bytes, else a pattern from sel and the data. */
static size_t next_chunk(int how, const uint8_t *p, size_t left, uint64_t *rng)
{
	size_t n;

	switch (how) {
	case 0:
		return left;
	case 1:
		return 1;
	case 2:
		n = (size_t)(*p % 13) + 1; /* the data itself decides */
		break;
	case 3:
		*rng ^= *rng << 13;
		*rng ^= *rng >> 7;
		*rng ^= *rng << 17;
		n = (size_t)(*rng % 4099) + 1;
		break;
	case 4:
		n = 2;
		break;
	default:
		n = 64;
		break;
	}
	return n < left ? n : left;
}

static int same_log(const struct trace *a, const struct trace *b, size_t len)
{
	return a->len == len && (!len || !memcmp(a->log, b->log, len));
}

static int run(const struct csv_options *base, const uint8_t *in, size_t n, int how, struct trace *t,
	       struct csv_stats *st)
{
	struct csv_options o = *base;
	struct csv_reader *r;
	uint64_t rng = n * 0x9E3779B97F4A7C15ull + 1;
	size_t at = 0;
	int rc = 0;

	o.on_record = on_rec;
	o.ctx = t;
	t->o = &o;
	r = csv_reader_new(&o, NULL);
	if (!r)
		abort();
	while (!rc && at < n) {
		size_t k = next_chunk(how, in + at, n - at, &rng);

		rc = csv_reader_feed(r, in + at, k);
		at += k;
	}
	if (!rc)
		rc = csv_reader_finish(r);
	if (rc && (csv_reader_feed(r, "x", 1) != rc || csv_reader_finish(r) != rc))
		abort();
	csv_reader_stats(r, st);
	if (!rc && st->bytes != n)
		abort();
	csv_reader_free(r);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char seps[] = { 0, ';', ',', '\t' };
	struct trace whole = { 0 }, bytes = { 0 }, chunks = { 0 }, stopped = { 0 };
	struct csv_stats s1, s2, s3, s4;
	struct csv_options o;
	uint8_t sel;

	if (size < 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	csv_options_init(&o);
	o.format = sel & 1;
	o.charset = (sel >> 1 & 3) % 3;
	o.separator = seps[sel >> 3 & 3];
	if (sel & 0x20) {
		o.max_record = 16 + size % 48;
		o.max_fields = 1 + size % 5;
	}
	whole.helpers = 1;
	if (run(&o, data, size, 0, &whole, &s1) || run(&o, data, size, 1, &bytes, &s2) ||
	    run(&o, data, size, 2 + (sel >> 6), &chunks, &s3))
		abort();
	if (!same_log(&bytes, &whole, whole.len) || !same_log(&chunks, &whole, whole.len) ||
	    memcmp(&s1, &s2, sizeof(s1)) || memcmp(&s1, &s3, sizeof(s1)))
		abort();

	/* A stop at record k: exactly k records, then the value on every call. */
	if (whole.nrec) {
		stopped.stop_at = 1 + size % (whole.nrec < 8 ? whole.nrec : 8);
		if (run(&o, data, size, 1 + (sel & 1), &stopped, &s4) != 99 || stopped.nrec != stopped.stop_at ||
		    !same_log(&stopped, &whole, whole.cut[stopped.stop_at - 1]))
			abort();
	}
	free(whole.log);
	free(bytes.log);
	free(chunks.log);
	free(stopped.log);
	return 0;
}
