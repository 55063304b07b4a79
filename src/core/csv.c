#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "a51/csv.h"
#include "a51/banned.h"

/*
 * One state machine consumes bytes in input order whatever the chunking, so
 * every split of the input gives the same records. step() is the reference
 * for one byte; csv_run() only adds a fast path that copies runs of plain
 * bytes, which step() would have appended one by one with the same result.
 */

enum csv_state {
	ST_FIELD,   /* at the start of a field */
	ST_UNQ,     /* inside an unquoted field */
	ST_CR,      /* CR seen in an unquoted field: a line end if LF follows */
	ST_Q,       /* inside a quoted field */
	ST_QQ,      /* quote seen inside a quoted field: "" or the closing quote */
	ST_QCR,     /* CR after a closing quote */
	ST_SKIP,    /* after an error: discarding up to the next LF */
};

/* Byte classes; K_DATA must be 0 for the fast loop. */
enum csv_kind { K_DATA = 0, K_SEP, K_QUOTE, K_LF, K_CR, K_NUL, K_HIGH };

struct csv_reader {
	struct csv_options o;
	bool ndjson;
	bool finished;
	bool tail;              /* the last byte fed was not an LF */
	int stop;               /* the callback's non-zero value, sticky */
	int state;
	int sep;                /* -1 for NDJSON: never matches a byte */
	int bom;                /* BOM bytes matched so far, -1 once settled */

	/* Separator sniffing on the raw header line (auto mode only). */
	bool sniffing, hq, hline;
	unsigned char *hdr;
	size_t hlen, nsemi, ncomma;
	char hfirst;

	/* UTF-8 validation of a multi-byte sequence in progress. */
	int u8need;
	unsigned char u8lo, u8hi;

	/* The record being built: fields and their NULs in buf[0..olen). */
	unsigned char *buf;
	size_t cap, olen, fstart;
	bool fq;                /* the current field was quoted */
	struct csv_field *fields;
	size_t nfields;
	uint64_t line, rec_line;
	struct csv_stats st;
	char reason[64];

	unsigned char ku[256];  /* classes outside quotes */
	unsigned char kq[256];  /* classes inside quotes */
	unsigned char hi[128][4]; /* single-byte charsets: UTF-8 length then bytes */
};

static const char R_QUOTE_IN[] = "a quote appears inside an unquoted field";
static const char R_QUOTE_AFTER[] = "text follows a closing quote";
static const char R_QUOTE_EOF[] = "a quoted field is not closed at end of input";
static const char R_UTF8[] = "invalid UTF-8 sequence";
static const char R_NUL[] = "NUL byte in the data";
static const char R_LONG[] = "record larger than the maximum record size";
static const char R_MANY[] = "record has too many fields";

/* Windows-1252 0x80..0x9F; 0 marks the five undefined bytes. */
static const uint16_t cp1252_c1[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

static const unsigned char utf8_bom[3] = { 0xEF, 0xBB, 0xBF };

static _Thread_local int fail_countdown;

void csv_fail_after(int n)
{
	fail_countdown = n;
}

static void *checked_malloc(size_t n)
{
	if (fail_countdown > 0 && --fail_countdown == 0)
		return NULL;
	return malloc(n);
}

void csv_options_init(struct csv_options *o)
{
	memset(o, 0, sizeof(*o));
	o->format = CSV_FORMAT_CSV;
	o->charset = CSV_CHARSET_UTF8;
	o->max_record = CSV_DEFAULT_MAX_RECORD;
	o->max_fields = CSV_DEFAULT_MAX_FIELDS;
}

int csv_charset_from_name(const char *name, int *charset)
{
	static const struct { const char *name; int cs; } names[] = {
		{ "utf-8", CSV_CHARSET_UTF8 }, { "utf8", CSV_CHARSET_UTF8 },
		{ "windows-1252", CSV_CHARSET_WINDOWS_1252 }, { "cp1252", CSV_CHARSET_WINDOWS_1252 },
		{ "iso-8859-1", CSV_CHARSET_LATIN1 }, { "iso8859-1", CSV_CHARSET_LATIN1 },
		{ "latin1", CSV_CHARSET_LATIN1 }, { "latin-1", CSV_CHARSET_LATIN1 },
	};

	for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(name, names[i].name)) {
			*charset = names[i].cs;
			return 0;
		}
	}
	return A51_EINVAL;
}

/* Only for code points from 0x80 to 0xFFFF: what the single-byte charsets map to. */
static size_t utf8_encode(unsigned cp, unsigned char *out)
{
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xC0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	out[0] = (unsigned char)(0xE0 | cp >> 12);
	out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
	out[2] = (unsigned char)(0x80 | (cp & 0x3F));
	return 3;
}

static void build_classes(struct csv_reader *r)
{
	memset(r->ku, K_DATA, sizeof(r->ku));
	memset(r->kq, K_DATA, sizeof(r->kq));
	memset(r->ku + 0x80, K_HIGH, 0x80);
	memset(r->kq + 0x80, K_HIGH, 0x80);
	r->ku['\n'] = r->kq['\n'] = K_LF;
	r->ku['\0'] = r->kq['\0'] = K_NUL;
	r->ku['\r'] = K_CR;
	if (!r->ndjson) {
		r->ku['"'] = r->kq['"'] = K_QUOTE;
		if (r->sep > 0) /* 0 while sniffing: the tables are rebuilt once decided */
			r->ku[r->sep] = K_SEP;
	}
}

static void build_charset(struct csv_reader *r)
{
	for (unsigned b = 0x80; b < 0x100; b++) {
		unsigned cp = b;

		if (r->o.charset == CSV_CHARSET_WINDOWS_1252 && b < 0xA0)
			cp = cp1252_c1[b - 0x80];
		r->hi[b - 0x80][0] = cp ? (unsigned char)utf8_encode(cp, &r->hi[b - 0x80][1]) : 0;
	}
}

static int check_options(const struct csv_options *o, struct a51_error *err)
{
	unsigned char s = (unsigned char)o->separator;

	if (o->format != CSV_FORMAT_CSV && o->format != CSV_FORMAT_NDJSON)
		return a51_error_set(err, A51_EINVAL, "format", "unknown format %d", o->format);
	if (o->charset < CSV_CHARSET_UTF8 || o->charset > CSV_CHARSET_LATIN1)
		return a51_error_set(err, A51_EINVAL, "charset", "unknown charset %d", o->charset);
	if (s == '"' || s == '\n' || s == '\r' || s >= 0x80 || (s && s < ' ' && s != '\t'))
		return a51_error_set(err, A51_EINVAL, "separator", "unusable separator 0x%02x", s);
	if (o->max_record < 16 || o->max_record > (1u << 30))
		return a51_error_set(err, A51_EINVAL, "max_record", "max_record must be 16 bytes to 1 GiB");
	if (o->max_fields < 1 || o->max_fields > (1u << 20))
		return a51_error_set(err, A51_EINVAL, "max_fields", "max_fields must be 1 to 1048576");
	if (!o->on_record)
		return a51_error_set(err, A51_EINVAL, "on_record", "a record callback is required");
	return 0;
}

static void record_reset(struct csv_reader *r)
{
	r->state = ST_FIELD;
	r->olen = 0;
	r->fstart = 0;
	r->fq = false;
	r->nfields = 0;
	r->u8need = 0;
	r->rec_line = r->line;
}

struct csv_reader *csv_reader_new(const struct csv_options *o, struct a51_error *err)
{
	struct csv_reader *r;

	if (check_options(o, err))
		return NULL;
	r = checked_malloc(sizeof(*r));
	if (!r)
		goto nomem;
	memset(r, 0, sizeof(*r));
	r->o = *o;
	r->ndjson = o->format == CSV_FORMAT_NDJSON;
	r->cap = o->max_record;
	r->buf = checked_malloc(r->cap);
	r->fields = checked_malloc(o->max_fields * sizeof(*r->fields));
	if (!r->buf || !r->fields)
		goto nomem;
	r->bom = o->charset == CSV_CHARSET_UTF8 ? 0 : -1;
	r->sep = r->ndjson ? -1 : (unsigned char)o->separator;
	if (!r->ndjson && !o->separator) {
		r->sniffing = true;
		r->hdr = checked_malloc(CSV_SNIFF_MAX);
		if (!r->hdr)
			goto nomem;
	}
	build_classes(r);
	build_charset(r);
	r->line = 1;
	record_reset(r);
	return r;
nomem:
	csv_reader_free(r);
	a51_error_set(err, A51_ENOMEM, NULL, "out of memory for the CSV reader");
	return NULL;
}

void csv_reader_free(struct csv_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r->fields);
	free(r->hdr);
	free(r);
}

static int deliver(struct csv_reader *r, const struct csv_record *rec)
{
	int rc = r->o.on_record(r->o.ctx, rec);

	if (rc)
		r->stop = rc;
	return rc;
}

/*
 * Reports the current record as broken and resynchronises at the next LF.
 * c is the byte that revealed the error: if it is the LF itself, the line is
 * already over; -1 means end of input.
 */
static int rec_fail(struct csv_reader *r, int code, const char *reason, int c)
{
	struct csv_record rec = {
		.line = r->rec_line,
		.index = ++r->st.records,
		.nfields = 0,
		.fields = r->fields,
		.error = code,
		.column = r->nfields + 1,
		.reason = reason,
	};

	r->st.errors++;
	if (c == '\n')
		r->line++;
	if (c == '\n' || c < 0)
		record_reset(r);
	else
		r->state = ST_SKIP;
	return deliver(r, &rec);
}

static void field_close(struct csv_reader *r)
{
	r->fields[r->nfields].ptr = (const char *)r->buf + r->fstart;
	r->fields[r->nfields].len = r->olen - r->fstart;
	r->nfields++;
	r->buf[r->olen++] = '\0'; /* put1() always leaves room for it */
}

static bool record_blank(const struct csv_reader *r)
{
	if (!r->ndjson)
		return r->nfields == 0 && r->olen == r->fstart && !r->fq;
	/* JSON allows whitespace around a value: such a line holds none. */
	for (size_t i = 0; i < r->olen; i++)
		if (r->buf[i] != ' ' && r->buf[i] != '\t' && r->buf[i] != '\r')
			return false;
	return true;
}

static int record_end(struct csv_reader *r, bool lf)
{
	int rc = 0;

	if (!record_blank(r)) {
		struct csv_record rec = { 0 };

		field_close(r);
		rec.line = r->rec_line;
		rec.index = ++r->st.records;
		rec.nfields = r->nfields;
		rec.fields = r->fields;
		rc = deliver(r, &rec);
	}
	if (lf)
		r->line++;
	record_reset(r);
	return rc;
}

static int field_next(struct csv_reader *r, int c)
{
	field_close(r);
	if (r->nfields == r->o.max_fields)
		return rec_fail(r, CSV_ETOOMANY, R_MANY, c);
	if (r->olen >= r->cap) /* no room left for even an empty field */
		return rec_fail(r, CSV_ETOOLONG, R_LONG, c);
	r->fstart = r->olen;
	r->fq = false;
	r->state = ST_FIELD;
	return 0;
}

/* Appends one byte, keeping one byte free for the field's NUL. */
static inline int put1(struct csv_reader *r, unsigned c)
{
	if (r->olen + 1 >= r->cap)
		return rec_fail(r, CSV_ETOOLONG, R_LONG, (int)c);
	r->buf[r->olen++] = (unsigned char)c;
	return 0;
}

static int put_high(struct csv_reader *r, unsigned c)
{
	const unsigned char *h;

	if (r->o.charset == CSV_CHARSET_UTF8) {
		/* Lead bytes with the ranges that exclude overlongs and surrogates. */
		if (c < 0xC2 || c > 0xF4)
			return rec_fail(r, CSV_EUTF8, R_UTF8, (int)c);
		r->u8need = c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
		r->u8lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
		r->u8hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
		return put1(r, c);
	}
	h = r->hi[c - 0x80];
	if (!h[0]) {
		snprintf(r->reason, sizeof(r->reason), "byte 0x%02X is not defined in windows-1252", c);
		return rec_fail(r, CSV_ECHARSET, r->reason, (int)c);
	}
	if (r->olen + h[0] >= r->cap)
		return rec_fail(r, CSV_ETOOLONG, R_LONG, (int)c);
	memcpy(r->buf + r->olen, h + 1, h[0]);
	r->olen += h[0];
	return 0;
}

/* The whole grammar, one byte at a time. */
static int step(struct csv_reader *r, unsigned c)
{
	int rc;

	if (r->u8need) {
		if (c < r->u8lo || c > r->u8hi)
			return rec_fail(r, CSV_EUTF8, R_UTF8, (int)c);
		r->u8need--;
		r->u8lo = 0x80;
		r->u8hi = 0xBF;
		return put1(r, c);
	}
	switch (r->state) {
	case ST_FIELD:
	case ST_UNQ:
		switch (r->ku[c]) {
		case K_DATA:
			r->state = ST_UNQ;
			return put1(r, c);
		case K_SEP:
			return field_next(r, (int)c);
		case K_QUOTE:
			if (r->state == ST_UNQ)
				return rec_fail(r, CSV_EQUOTE, R_QUOTE_IN, (int)c);
			r->fq = true;
			r->state = ST_Q;
			return 0;
		case K_LF:
			return record_end(r, true);
		case K_CR:
			r->state = ST_CR;
			return 0;
		case K_NUL:
			return rec_fail(r, CSV_ENUL, R_NUL, (int)c);
		default:
			r->state = ST_UNQ;
			return put_high(r, c);
		}
	case ST_CR:
		if (c == '\n')
			return record_end(r, true);
		/* A lone CR is data; the byte after it is read afresh (and ignored
		 * in ST_SKIP if the CR did not fit). */
		r->state = ST_UNQ;
		rc = put1(r, '\r');
		return rc ? rc : step(r, c);
	case ST_Q:
		switch (r->kq[c]) {
		case K_DATA:
			return put1(r, c);
		case K_QUOTE:
			r->state = ST_QQ;
			return 0;
		case K_LF:
			rc = put1(r, c);
			if (r->state == ST_Q)
				r->line++;
			return rc;
		case K_NUL:
			return rec_fail(r, CSV_ENUL, R_NUL, (int)c);
		default:
			return put_high(r, c);
		}
	case ST_QQ:
		if (c == '"') {
			r->state = ST_Q;
			return put1(r, c);
		}
		if ((int)c == r->sep)
			return field_next(r, (int)c);
		if (c == '\n')
			return record_end(r, true);
		if (c == '\r') {
			r->state = ST_QCR;
			return 0;
		}
		if (c == '\0')
			return rec_fail(r, CSV_ENUL, R_NUL, (int)c);
		return rec_fail(r, CSV_EQUOTE, R_QUOTE_AFTER, (int)c);
	case ST_QCR:
		if (c == '\n')
			return record_end(r, true);
		if (c == '\0')
			return rec_fail(r, CSV_ENUL, R_NUL, (int)c);
		return rec_fail(r, CSV_EQUOTE, R_QUOTE_AFTER, (int)c);
	default:
		return 0; /* ST_SKIP is handled by csv_run() */
	}
}

static int csv_run(struct csv_reader *r, const unsigned char *p, const unsigned char *end)
{
	while (p < end) {
		int rc;

		if (r->state == ST_SKIP) {
			const unsigned char *lf = memchr(p, '\n', (size_t)(end - p));

			if (!lf)
				return 0;
			p = lf + 1;
			r->line++;
			record_reset(r);
			continue;
		}
		if (!r->u8need && (r->state <= ST_UNQ || r->state == ST_Q)) {
			/* Fast path: plain bytes that fit, up to the next special one. */
			const unsigned char *k = r->state == ST_Q ? r->kq : r->ku;
			size_t room = r->cap - r->olen - 1;
			const unsigned char *lim = (size_t)(end - p) < room ? end : p + room;
			const unsigned char *q = p;

			while (lim - q >= 4 && !(k[q[0]] | k[q[1]] | k[q[2]] | k[q[3]]))
				q += 4;
			while (q < lim && k[*q] == K_DATA)
				q++;
			if (q > p) {
				memcpy(r->buf + r->olen, p, (size_t)(q - p));
				r->olen += (size_t)(q - p);
				if (r->state == ST_FIELD)
					r->state = ST_UNQ;
				p = q;
				if (p == end)
					break;
			}
		}
		rc = step(r, *p++);
		if (rc)
			return rc;
	}
	return 0;
}

/* Collects the raw header line while counting separators outside quotes. */
static const unsigned char *sniff(struct csv_reader *r, const unsigned char *p, const unsigned char *end)
{
	while (p < end && r->sniffing) {
		unsigned char c = *p++;

		r->hdr[r->hlen++] = c;
		if (c == '"') {
			r->hq = !r->hq;
			r->hline = true;
		} else if (!r->hq && c == '\n') {
			/* Leading blank lines are skipped by the parser: look further. */
			if (r->hline)
				r->sniffing = false;
		} else if (!r->hq && (c == ';' || c == ',')) {
			if (c == ';')
				r->nsemi++;
			else
				r->ncomma++;
			if (!r->hfirst)
				r->hfirst = (char)c;
			r->hline = true;
		} else if (c != '\r') {
			r->hline = true;
		}
		if (r->hlen == CSV_SNIFF_MAX)
			r->sniffing = false;
	}
	return p;
}

/* The more frequent of ';' and ','; on a tie the first seen; ',' for one column. */
static int sniff_decide(struct csv_reader *r)
{
	int rc;

	r->sniffing = false;
	if (r->nsemi != r->ncomma)
		r->sep = r->nsemi > r->ncomma ? ';' : ',';
	else
		r->sep = r->hfirst ? r->hfirst : ',';
	build_classes(r);
	rc = csv_run(r, r->hdr, r->hdr + r->hlen);
	free(r->hdr);
	r->hdr = NULL;
	return rc;
}

static int feed_body(struct csv_reader *r, const unsigned char *p, const unsigned char *end)
{
	if (r->sniffing) {
		int rc;

		p = sniff(r, p, end);
		if (r->sniffing)
			return 0;
		rc = sniff_decide(r);
		if (rc)
			return rc;
	}
	return csv_run(r, p, end);
}

/* A partial BOM turned out to be data: parse its bytes. */
static int bom_replay(struct csv_reader *r)
{
	size_t n = (size_t)r->bom;

	r->bom = -1;
	return feed_body(r, utf8_bom, utf8_bom + n);
}

int csv_reader_feed(struct csv_reader *r, const void *data, size_t len)
{
	const unsigned char *p = data, *end;

	if (r->stop)
		return r->stop;
	if (r->finished)
		return A51_EINVAL;
	if (!len)
		return 0;
	end = p + len;
	r->st.bytes += len;
	while (r->bom >= 0 && p < end) {
		int rc;

		if (*p == utf8_bom[r->bom]) {
			p++;
			if (++r->bom == 3)
				r->bom = -1;
			continue;
		}
		rc = bom_replay(r);
		if (rc)
			return rc;
	}
	if (p < end)
		r->tail = end[-1] != '\n';
	return feed_body(r, p, end);
}

int csv_reader_finish(struct csv_reader *r)
{
	int rc;

	if (r->stop)
		return r->stop;
	if (r->finished)
		return 0;
	r->finished = true;
	if (r->bom > 0) {
		r->tail = true;
		rc = bom_replay(r);
		if (rc)
			return rc;
	}
	if (r->sniffing) {
		rc = sniff_decide(r);
		if (rc)
			return rc;
	}
	if (r->u8need)
		return rec_fail(r, CSV_EUTF8, R_UTF8, -1);
	switch (r->state) {
	case ST_SKIP:
		return 0;
	case ST_Q:
		return rec_fail(r, CSV_EQUOTE, R_QUOTE_EOF, -1);
	default:
		/* A CR left pending (ST_CR) was the line end of a truncated CRLF. */
		return record_end(r, false);
	}
}

void csv_reader_stats(const struct csv_reader *r, struct csv_stats *st)
{
	*st = r->st;
	st->lines = r->line - 1 + (r->finished && r->tail);
}

char csv_reader_separator(const struct csv_reader *r)
{
	return r->ndjson || r->sniffing ? 0 : (char)r->sep;
}

/* Field parsers. */

static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

static int refuse(const char **reason, const char *why)
{
	if (reason)
		*reason = why;
	return A51_EINVAL;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of the thousands separator at s (space, U+00A0, U+202F), or 0. */
static size_t thousands_sep(const char *s, const char *e)
{
	if (*s == ' ')
		return 1;
	if (e - s >= 2 && !memcmp(s, "\xC2\xA0", 2))
		return 2;
	if (e - s >= 3 && !memcmp(s, "\xE2\x80\xAF", 3))
		return 3;
	return 0;
}

#define CENTS_MAX INT64_C(9000000000000000)

int csv_parse_decimal_cents(const char *s, size_t n, int64_t *cents, const char **reason)
{
	const char *e = s + n;
	bool neg = false, grouped = false;
	int group = 0, nfrac = 0;
	int64_t units = 0, frac = 0, v;

	trim(&s, &e);
	if (s == e)
		return refuse(reason, "empty amount");
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (s < e && (*s == '+' || *s == '-'))
		return refuse(reason, "more than one sign");
	while (s < e) {
		size_t k;

		if (is_digit(*s)) {
			if (units > CENTS_MAX / 100)
				return refuse(reason, "amount out of range");
			units = units * 10 + (*s++ - '0');
			if (++group > 3 && grouped)
				return refuse(reason, "thousands groups must have three digits");
			continue;
		}
		k = thousands_sep(s, e);
		if (!k)
			break;
		if (group == 0 || group > 3 || (grouped && group != 3) || s + k == e || !is_digit(s[k]))
			return refuse(reason, "misplaced thousands separator");
		grouped = true;
		group = 0;
		s += k;
	}
	if (grouped && group != 3)
		return refuse(reason, "thousands groups must have three digits");
	if (group == 0)
		return refuse(reason, "an amount needs digits before the decimal mark");
	if (s < e && (*s == '.' || *s == ',')) {
		for (s++; s < e && is_digit(*s); s++) {
			if (nfrac == 2)
				return refuse(reason, "more than 2 decimals: amounts must be exact to the cent");
			frac = frac * 10 + (*s - '0');
			nfrac++;
		}
		if (nfrac == 0)
			return refuse(reason, "no digits after the decimal mark");
	}
	if (s < e) {
		if (*s == '.' || *s == ',')
			return refuse(reason, "more than one decimal mark");
		if (*s == '+' || *s == '-')
			return refuse(reason, "misplaced sign");
		return refuse(reason, "unexpected character in an amount");
	}
	if (units > CENTS_MAX / 100)
		return refuse(reason, "amount out of range");
	v = units * 100 + (nfrac == 1 ? frac * 10 : frac);
	if (v > CENTS_MAX)
		return refuse(reason, "amount out of range");
	*cents = neg ? -v : v;
	return 0;
}

int csv_parse_bool(const char *s, size_t n, bool *out, const char **reason)
{
	static const struct { const char *word; bool value; } words[] = {
		{ "1", true }, { "0", false }, { "true", true }, { "false", false },
		{ "oui", true }, { "non", false }, { "yes", true }, { "no", false },
	};
	const char *e = s + n;

	trim(&s, &e);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t len = strlen(words[i].word);

		if ((size_t)(e - s) == len && !strncasecmp(s, words[i].word, len)) {
			*out = words[i].value;
			return 0;
		}
	}
	return refuse(reason, "not a boolean (1/0, true/false, oui/non, yes/no)");
}

static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int csv_parse_date(const char *s, size_t n, int *y, int *m, int *d, const char **reason)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *e = s + n;
	int yy, mm, dd;
	bool leap;

	trim(&s, &e);
	if (e - s == 10 && s[4] == '-' && s[7] == '-') {
		yy = digits(s, 4);
		mm = digits(s + 5, 2);
		dd = digits(s + 8, 2);
	} else if (e - s == 10 && s[2] == '/' && s[5] == '/') {
		dd = digits(s, 2);
		mm = digits(s + 3, 2);
		yy = digits(s + 6, 4);
	} else {
		return refuse(reason, "not a date (YYYY-MM-DD or DD/MM/YYYY)");
	}
	if (yy < 0 || mm < 0 || dd < 0)
		return refuse(reason, "not a date (YYYY-MM-DD or DD/MM/YYYY)");
	if (yy < 1800 || yy > 2200)
		return refuse(reason, "year out of range (1800-2200)");
	if (mm < 1 || mm > 12)
		return refuse(reason, "month out of range");
	leap = (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0;
	if (dd < 1 || dd > mdays[mm - 1] + (mm == 2 && leap))
		return refuse(reason, "no such day in that month");
	*y = yy;
	*m = mm;
	*d = dd;
	return 0;
}
