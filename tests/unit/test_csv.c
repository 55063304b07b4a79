/* core/csv: streaming reader (every chunking gives the same records and errors)
 * and the amount, boolean and date parsers. */
#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/csv.h"
#include "a51/util.h"
#include "common/check_main.h"

/* ck_assert records every passing check (a write per call in fork mode); the
 * helpers run hundreds of thousands of times, so they only speak on failure. */
#define require(expr) \
	do { \
		if (!(expr)) \
			ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #expr); \
	} while (0)

/* Records as text: "line:[field][field]" or "line!column CODE", one per line.
 * brief is what the tables expect; full adds the reasons, for comparing runs. */
struct sink {
	char *brief, *full;
	size_t blen, bcap, flen, fcap;
	uint64_t nrec;
	uint64_t stop_at;
	int stop_rc;
};

static void put(char **s, size_t *len, size_t *cap, const char *p, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*s = realloc(*s, *cap);
		require(*s != NULL);
	}
	memcpy(*s + *len, p, n);
	*len += n;
	(*s)[*len] = '\0';
}

static void emit(struct sink *k, bool brief, const char *p, size_t n)
{
	if (brief)
		put(&k->brief, &k->blen, &k->bcap, p, n);
	put(&k->full, &k->flen, &k->fcap, p, n);
}

static void emitf(struct sink *k, bool brief, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void emitf(struct sink *k, bool brief, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	require(n >= 0 && (size_t)n < sizeof(tmp));
	emit(k, brief, tmp, (size_t)n);
}

static const char *const code_names[] = { "OK", "QUOTE", "UTF8", "CHARSET", "NUL", "LONG", "MANY" };

static int on_rec(void *ctx, const struct csv_record *rec)
{
	struct sink *k = ctx;

	require(rec->index == ++k->nrec);
	if (rec->error) {
		require(rec->error > 0 && rec->error < (int)A51_ARRAY_LEN(code_names));
		require(rec->nfields == 0);
		require(rec->column >= 1);
		require(rec->reason != NULL);
		emitf(k, true, "%" PRIu64 "!%zu %s", rec->line, rec->column, code_names[rec->error]);
		emitf(k, false, " (%s)", rec->reason);
		emit(k, true, "\n", 1);
	} else {
		require(rec->nfields >= 1);
		require(rec->reason == NULL);
		emitf(k, true, "%" PRIu64 ":", rec->line);
		for (size_t i = 0; i < rec->nfields; i++) {
			const struct csv_field *f = &rec->fields[i];

			require(f->ptr[f->len] == '\0');
			emit(k, true, "[", 1);
			for (size_t j = 0; j < f->len; j++) {
				unsigned char c = (unsigned char)f->ptr[j];

				if (c == '\n')
					emit(k, true, "\\n", 2);
				else if (c == '\r')
					emit(k, true, "\\r", 2);
				else if (c < 0x20)
					emitf(k, true, "\\x%02x", c);
				else
					emit(k, true, f->ptr + j, 1);
			}
			emit(k, true, "]", 1);
		}
		emit(k, true, "\n", 1);
	}
	return k->stop_at && rec->index == k->stop_at ? k->stop_rc : 0;
}

static void sink_init(struct sink *k)
{
	memset(k, 0, sizeof(*k));
	emit(k, true, "", 0);
}

static void sink_release(struct sink *k)
{
	free(k->brief);
	free(k->full);
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Feeds in[0..n) cut at cuts[0..ncuts) (ascending), then finishes. */
static void run(const struct csv_options *base, const char *in, size_t n, const size_t *cuts, size_t ncuts,
		struct sink *k, struct csv_stats *st)
{
	struct csv_options o = *base;
	struct a51_error err = { 0 };
	struct csv_reader *r;
	size_t at = 0;

	o.on_record = on_rec;
	o.ctx = k;
	r = csv_reader_new(&o, &err);
	if (!r)
		ck_abort_msg("%s", err.message);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : n;

		require(csv_reader_feed(r, in + at, to - at) == 0);
		at = to;
	}
	require(csv_reader_finish(r) == 0);
	csv_reader_stats(r, st);
	csv_reader_free(r);
}

static void same_as(const struct csv_options *o, const char *in, size_t n, const size_t *cuts, size_t ncuts,
		    const struct sink *ref, const struct csv_stats *rst, const char *how)
{
	struct sink k;
	struct csv_stats st;

	sink_init(&k);
	run(o, in, n, cuts, ncuts, &k, &st);
	if (strcmp(k.full, ref->full))
		ck_abort_msg("%s: got\n%s\nwant\n%s", how, k.full, ref->full);
	require(!memcmp(&st, rst, sizeof(st)));
	sink_release(&k);
}

/* Parses whole, then in every 2-way split (3-way for small inputs), 1-byte
 * chunks and random chunks; all must agree. Returns the whole-input log. */
static void check_chunkings(const struct csv_options *o, const char *in, size_t n, struct sink *ref,
			    struct csv_stats *rst)
{
	size_t *cuts = malloc((n + 2) * sizeof(*cuts));

	ck_assert_ptr_nonnull(cuts);
	sink_init(ref);
	run(o, in, n, NULL, 0, ref, rst);
	for (size_t i = 0; i <= n && n <= 4096; i++) {
		cuts[0] = i;
		same_as(o, in, n, cuts, 1, ref, rst, "2-way split");
		for (size_t j = i; j <= n && n <= 48; j++) {
			cuts[1] = j;
			same_as(o, in, n, cuts, 2, ref, rst, "3-way split");
		}
	}
	for (size_t i = 0; i < n; i++)
		cuts[i] = i + 1;
	same_as(o, in, n, cuts, n, ref, rst, "1-byte chunks");
	for (int seed = 1; seed <= 16; seed++) {
		size_t nc = 0, at = 0;

		rng_state = 0x9E3779B97F4A7C15ull * (uint64_t)seed;
		while (1) {
			at += rng() % (seed < 8 ? 8 : 300);
			if (at >= n)
				break;
			cuts[nc++] = at;
		}
		same_as(o, in, n, cuts, nc, ref, rst, "random chunks");
	}
	free(cuts);
}

struct rcase {
	int format, charset;
	char sep;
	size_t max_record, max_fields;
	const char *in;
	size_t len;
	const char *want;
	uint64_t lines; /* expected stats.lines */
};

#define IN(s) .in = s, .len = sizeof(s) - 1

static void check_rcase(const struct rcase *c)
{
	struct csv_options o;
	struct sink ref;
	struct csv_stats st;

	csv_options_init(&o);
	o.format = c->format;
	o.charset = c->charset;
	o.separator = c->sep;
	if (c->max_record)
		o.max_record = c->max_record;
	if (c->max_fields)
		o.max_fields = c->max_fields;
	check_chunkings(&o, c->in, c->len, &ref, &st);
	ck_assert_msg(!strcmp(ref.brief, c->want), "got\n%s\nwant\n%s", ref.brief, c->want);
	ck_assert_uint_eq(st.lines, c->lines);
	ck_assert_uint_eq(st.bytes, c->len);
	sink_release(&ref);
}

static const struct rcase syntax_cases[] = {
	{ IN("a;b;c\n1;2;3\n"), .want = "1:[a][b][c]\n2:[1][2][3]\n", .lines = 2 },
	{ IN("a,b\nx,y\n"), .want = "1:[a][b]\n2:[x][y]\n", .lines = 2 },
	/* auto: the more frequent of ';' and ',' outside quotes, else the first seen */
	{ IN("a;b;c,d\n1;2;3,4\n"), .want = "1:[a][b][c,d]\n2:[1][2][3,4]\n", .lines = 2 },
	{ IN("\"x,y,z\";w\n1;2\n"), .want = "1:[x,y,z][w]\n2:[1][2]\n", .lines = 2 },
	{ IN("a,b;c\n1,2;3\n"), .want = "1:[a][b;c]\n2:[1][2;3]\n", .lines = 2 },
	{ IN("a;b,c\n1;2,3\n"), .want = "1:[a][b,c]\n2:[1][2,3]\n", .lines = 2 },
	{ IN("name\nJean;Paul,Marie\n"), .want = "1:[name]\n2:[Jean;Paul][Marie]\n", .lines = 2 },
	{ IN("\n\r\na,b\n1,2\n"), .want = "3:[a][b]\n4:[1][2]\n", .lines = 4 },
	{ IN("\"a\nb\";c,d\nx;y\n"), .want = "1:[a\\nb][c,d]\n3:[x][y]\n", .lines = 3 },
	{ .sep = ',', IN("a;b\n1;2\n"), .want = "1:[a;b]\n2:[1;2]\n", .lines = 2 },
	{ .sep = '\t', IN("a\tb;c\n"), .want = "1:[a][b;c]\n", .lines = 1 },
	/* quoting */
	{ IN("a;b\n\"x;y\";\"z\"\n"), .want = "1:[a][b]\n2:[x;y][z]\n", .lines = 2 },
	{ IN("a\n\"he said \"\"hi\"\"\"\n\"\"\"\"\n"), .want = "1:[a]\n2:[he said \"hi\"]\n3:[\"]\n", .lines = 3 },
	{ IN("a;b\n\"l1\nl2\n\";x\nnext;y\n"), .want = "1:[a][b]\n2:[l1\\nl2\\n][x]\n5:[next][y]\n", .lines = 5 },
	{ IN("a\r\n\"x\r\ny\"\r\nz\r\n"), .want = "1:[a]\n2:[x\\r\\ny]\n4:[z]\n", .lines = 4 },
	{ IN("a;b\r\n1;2\r\n"), .want = "1:[a][b]\n2:[1][2]\n", .lines = 2 },
	{ IN("a\n\"x\ry\"\nb\rc;d\n"), .want = "1:[a]\n2:[x\\ry]\n3:[b\\rc;d]\n", .lines = 3 },
	{ IN("a;b\n\"q\"\r\n"), .want = "1:[a][b]\n2:[q]\n", .lines = 2 },
	/* BOM, final line, empty fields, blank lines */
	{ IN("\xEF\xBB\xBF" "a;b\n1;2\n"), .want = "1:[a][b]\n2:[1][2]\n", .lines = 2 },
	{ IN("\xEF\xBB\xBF"), .want = "", .lines = 0 },
	{ IN(""), .want = "", .lines = 0 },
	{ IN("a;b\n1;2"), .want = "1:[a][b]\n2:[1][2]\n", .lines = 2 },
	{ IN("a;b"), .want = "1:[a][b]\n", .lines = 1 },
	{ IN("a\n1\r"), .want = "1:[a]\n2:[1]\n", .lines = 2 },
	{ IN("a;b\n\"x\";\"y\""), .want = "1:[a][b]\n2:[x][y]\n", .lines = 2 },
	{ IN("a;b;c\n;;\n;x;\n\"\";;\"\"\n"), .want = "1:[a][b][c]\n2:[][][]\n3:[][x][]\n4:[][][]\n", .lines = 4 },
	{ IN("a;b\nx;\n"), .want = "1:[a][b]\n2:[x][]\n", .lines = 2 },
	{ IN("\na;b\n\n\r\n1;2\n\n"), .want = "2:[a][b]\n5:[1][2]\n", .lines = 6 },
	{ IN("a\n\"\"\n \n"), .want = "1:[a]\n2:[]\n3:[ ]\n", .lines = 3 },
	{ IN("a\n\xF0\x9F\x98\x80;\xC3\xA9\n"), .want = "1:[a]\n2:[\xF0\x9F\x98\x80;\xC3\xA9]\n", .lines = 2 },
	{ IN("a;b\n\"\xE2\x82\xAC\";\xEF\xBB\xBF\n"), .want = "1:[a][b]\n2:[\xE2\x82\xAC][\xEF\xBB\xBF]\n", .lines = 2 },
};

START_TEST(csv_syntax)
{
	check_rcase(&syntax_cases[_i]);
}
END_TEST

static const struct rcase charset_cases[] = {
	{ .charset = CSV_CHARSET_WINDOWS_1252, IN("nom;x\n\xE9t\xE9 \x80 \x92 \x8C\x9C;\x8A\x9F\n"),
	  .want = "1:[nom][x]\n2:[été € ’ Œœ][ŠŸ]\n", .lines = 2 },
	{ .charset = CSV_CHARSET_WINDOWS_1252, IN("\"\x93q\x94\";\x85\xA0\xFF\n"),
	  .want = "1:[“q”][…\xC2\xA0ÿ]\n", .lines = 1 },
	{ .charset = CSV_CHARSET_WINDOWS_1252, IN("a;b\nx\x81;y\n\"\x8D\";z\n\x8F\n\x90\n\x9D\nok;1\n"),
	  .want = "1:[a][b]\n2!1 CHARSET\n3!1 CHARSET\n4!1 CHARSET\n5!1 CHARSET\n6!1 CHARSET\n7:[ok][1]\n",
	  .lines = 7 },
	/* no BOM outside UTF-8: those bytes are text */
	{ .charset = CSV_CHARSET_WINDOWS_1252, IN("\xEF\xBB\xBF" "a\n"), .want = "1:[ï»¿a]\n", .lines = 1 },
	{ .charset = CSV_CHARSET_LATIN1, IN("\xE9\x80\x81\x9F\xFF;\xA4\n"),
	  .want = "1:[é\xC2\x80\xC2\x81\xC2\x9Fÿ][¤]\n", .lines = 1 },
	/* invalid UTF-8: lone continuation, truncated, overlong, surrogate, > U+10FFFF */
	{ IN("a;b\nok;\xC3(\nz;\xFF\n\x80\n\xE2\x82\nq\n"),
	  .want = "1:[a][b]\n2!2 UTF8\n3!2 UTF8\n4!1 UTF8\n5!1 UTF8\n6:[q]\n", .lines = 6 },
	{ IN("a\n\xC0\xAF\n\xE0\x80\xAF\n\xED\xA0\x80\n\xF4\x90\x80\x80\n\xF0\x80\x80\x80\n\xF5\x80\x80\x80\nz\n"),
	  .want = "1:[a]\n2!1 UTF8\n3!1 UTF8\n4!1 UTF8\n5!1 UTF8\n6!1 UTF8\n7!1 UTF8\n8:[z]\n", .lines = 8 },
	{ IN("a;b;c\n\xEF\xBF\xBF;\xF4\x8F\xBF\xBF;\xED\x9F\xBF\n"),
	  .want = "1:[a][b][c]\n2:[\xEF\xBF\xBF][\xF4\x8F\xBF\xBF][\xED\x9F\xBF]\n",
	  .lines = 2 },
	{ IN("a;b\nx;\"\xE2\x82\"\n"), .want = "1:[a][b]\n2!2 UTF8\n", .lines = 2 },
	{ IN("a\n\xE2\x82"), .want = "1:[a]\n2!1 UTF8\n", .lines = 2 },
	{ IN("\xEF\xBB" "a\n"), .want = "1!1 UTF8\n", .lines = 1 },
	{ IN("\xEF\xBB"), .want = "1!1 UTF8\n", .lines = 1 },
	{ .format = CSV_FORMAT_NDJSON, .charset = CSV_CHARSET_WINDOWS_1252, IN("{\"v\":\"\x80\"}\n\x81\n"),
	  .want = "1:[{\"v\":\"€\"}]\n2!1 CHARSET\n", .lines = 2 },
};

START_TEST(csv_charsets)
{
	check_rcase(&charset_cases[_i]);
}
END_TEST

static const struct rcase error_cases[] = {
	{ IN("a;b\nx;y\0z\nq;r\n"), .want = "1:[a][b]\n2!2 NUL\n3:[q][r]\n", .lines = 3 },
	{ IN("a;b\n\"\0\";1\n\"\"\0\nq;r\n"), .want = "1:[a][b]\n2!1 NUL\n3!1 NUL\n4:[q][r]\n", .lines = 4 },
	{ IN("a;b\nx\"y;z\n1;2\n"), .want = "1:[a][b]\n2!1 QUOTE\n3:[1][2]\n", .lines = 3 },
	{ IN("a;b\n1;x\"\n1;2\n"), .want = "1:[a][b]\n2!2 QUOTE\n3:[1][2]\n", .lines = 3 },
	{ IN("a;b\n\"ab\"c;d\n1;2\n"), .want = "1:[a][b]\n2!1 QUOTE\n3:[1][2]\n", .lines = 3 },
	{ IN("a;b\n1;\"a\"\rx\n\"\"\r\0\n\"q\" ;2\n1;2\n"),
	  .want = "1:[a][b]\n2!2 QUOTE\n3!1 NUL\n4!1 QUOTE\n5:[1][2]\n", .lines = 5 },
	{ IN("a;b\n1;\"open\n"), .want = "1:[a][b]\n2!2 QUOTE\n", .lines = 2 },
	{ IN("a;b\n1;\"open"), .want = "1:[a][b]\n2!2 QUOTE\n", .lines = 2 },
	/* an error inside a multi-line quoted field resynchronises at the next LF */
	{ IN("a;b\n\"x\xFFy\nz\";w\nk;l\n"), .want = "1:[a][b]\n2!1 UTF8\n3!1 QUOTE\n4:[k][l]\n", .lines = 4 },
	/* max_record 16: 15 data bytes plus the NUL fit, 16 do not */
	{ .max_record = 16, IN("h\n123456789012345\n1234567890123456\nok\n"),
	  .want = "1:[h]\n2:[123456789012345]\n3!1 LONG\n4:[ok]\n", .lines = 4 },
	{ .max_record = 16, .sep = ';', IN("1234567;1234567\n12345678;1234567\n1234567;\n123456789012345;\n"),
	  .want = "1:[1234567][1234567]\n2!2 LONG\n3:[1234567][]\n4!2 LONG\n", .lines = 4 },
	/* 16 bytes in a quoted field: the rest of the line is skipped ... */
	{ .max_record = 16, IN("h\n\"0123456789\n1234\"\n\"0123456789\n12345\"\nok\n"),
	  .want = "1:[h]\n2:[0123456789\\n1234]\n4!1 LONG\n6:[ok]\n", .lines = 6 },
	/* ... unless the byte too many is the LF: the next line is then read */
	{ .max_record = 16, IN("h\n\"0123456789\n1234\"\n\"012345678901234\n5\";z\nok\n"),
	  .want = "1:[h]\n2:[0123456789\\n1234]\n4!1 LONG\n5!1 QUOTE\n6:[ok]\n", .lines = 6 },
	/* the CR of a CRLF takes no room; a lone CR does */
	{ .max_record = 16, .sep = ';', IN("123456789012345\n123456789012345\r\n12345678901234\rx\n"),
	  .want = "1:[123456789012345]\n2:[123456789012345]\n3!1 LONG\n", .lines = 3 },
	{ .max_record = 16, .charset = CSV_CHARSET_WINDOWS_1252, .sep = ';',
	  IN("1234567890123\x80\n123456789012\x80\nok\n"),
	  .want = "1!1 LONG\n2:[123456789012€]\n3:[ok]\n", .lines = 3 },
	{ .max_record = 16, IN("h\n\"\n" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nb;c\n"),
	  .want = "1:[h]\n2!1 LONG\n4:[b;c]\n", .lines = 4 },
	{ .max_fields = 3, IN("a;b;c\n1;2;3;4\nx;y;z\n;;;\n"), .want = "1:[a][b][c]\n2!4 MANY\n3:[x][y][z]\n4!4 MANY\n",
	  .lines = 4 },
	{ .max_fields = 1, IN("a\nb\n,\n"), .want = "1:[a]\n2:[b]\n3!2 MANY\n", .lines = 3 },
};

START_TEST(csv_errors)
{
	check_rcase(&error_cases[_i]);
}
END_TEST

static const struct rcase ndjson_cases[] = {
	{ .format = CSV_FORMAT_NDJSON, IN("{\"a\":1}\n\n  \t\n{\"b\":\"x;y,\\\"z\"}\r\n[1]"),
	  .want = "1:[{\"a\":1}]\n4:[{\"b\":\"x;y,\\\"z\"}]\n5:[[1]]\n", .lines = 5 },
	{ .format = CSV_FORMAT_NDJSON, IN("\xEF\xBB\xBF{}\r\n\"\n\r\n \r \n"), .want = "1:[{}]\n2:[\"]\n", .lines = 4 },
	{ .format = CSV_FORMAT_NDJSON, IN("{}\n{\"x\":\"\xC3\"}\n{\"\0\"}\n\"\xC3\xA9\"\n"),
	  .want = "1:[{}]\n2!1 UTF8\n3!1 NUL\n4:[\"é\"]\n", .lines = 4 },
	{ .format = CSV_FORMAT_NDJSON, .max_record = 16, IN("123456789012345\n1234567890123456\n{}"),
	  .want = "1:[123456789012345]\n2!1 LONG\n3:[{}]\n", .lines = 3 },
};

START_TEST(csv_ndjson)
{
	check_rcase(&ndjson_cases[_i]);
}
END_TEST

START_TEST(csv_reasons_and_columns)
{
	static const struct { const char *in; size_t len; const char *want; } cases[] = {
		{ "a;\"b\"x\n", 7, "1!2 QUOTE (text follows a closing quote)\n" },
		{ "a;b\"\n", 5, "1!2 QUOTE (a quote appears inside an unquoted field)\n" },
		{ "a;\"b", 4, "1!2 QUOTE (a quoted field is not closed at end of input)\n" },
		{ "a;b;\xC3\n", 6, "1!3 UTF8 (invalid UTF-8 sequence)\n" },
		{ "\0\n", 2, "1!1 NUL (NUL byte in the data)\n" },
	};
	struct csv_options o;

	csv_options_init(&o);
	for (size_t i = 0; i < A51_ARRAY_LEN(cases); i++) {
		struct sink k;
		struct csv_stats st;

		sink_init(&k);
		run(&o, cases[i].in, cases[i].len, NULL, 0, &k, &st);
		ck_assert_str_eq(k.full, cases[i].want);
		sink_release(&k);
	}
	o.charset = CSV_CHARSET_WINDOWS_1252;
	{
		struct sink k;
		struct csv_stats st;

		sink_init(&k);
		run(&o, "a\x9D", 2, NULL, 0, &k, &st);
		ck_assert_str_eq(k.full, "1!1 CHARSET (byte 0x9D is not defined in windows-1252)\n");
		ck_assert_uint_eq(st.records, 1);
		ck_assert_uint_eq(st.errors, 1);
		sink_release(&k);
	}
}
END_TEST

START_TEST(csv_separator_and_stats)
{
	static const char in[] = "\xEF\xBB\xBF" "x,y\n\n1,\"2\n3\"\nbad\"\n4,5";
	struct csv_options o;
	struct csv_reader *r;
	struct csv_stats st;
	struct sink k;

	csv_options_init(&o);
	o.on_record = on_rec;
	o.ctx = &k;
	sink_init(&k);
	r = csv_reader_new(&o, NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(csv_reader_feed(r, in, 6), 0);
	ck_assert_int_eq(csv_reader_separator(r), 0);  /* header line not complete */
	ck_assert_int_eq(csv_reader_feed(r, in + 6, sizeof(in) - 1 - 6), 0);
	ck_assert_int_eq(csv_reader_separator(r), ',');
	csv_reader_stats(r, &st);
	ck_assert_uint_eq(st.lines, 5);
	ck_assert_uint_eq(st.records, 3);
	ck_assert_int_eq(csv_reader_finish(r), 0);
	ck_assert_int_eq(csv_reader_finish(r), 0);
	ck_assert_int_eq(csv_reader_feed(r, "x", 1), A51_EINVAL);
	csv_reader_stats(r, &st);
	ck_assert_uint_eq(st.bytes, sizeof(in) - 1);
	ck_assert_uint_eq(st.lines, 6);
	ck_assert_uint_eq(st.records, 4);
	ck_assert_uint_eq(st.errors, 1);
	ck_assert_str_eq(k.brief, "1:[x][y]\n3:[1][2\\n3]\n5!1 QUOTE\n6:[4][5]\n");
	csv_reader_free(r);
	sink_release(&k);

	o.format = CSV_FORMAT_NDJSON;
	r = csv_reader_new(&o, NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(csv_reader_separator(r), 0);
	csv_reader_free(r);
	o.format = CSV_FORMAT_CSV;
	o.separator = ';';
	r = csv_reader_new(&o, NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(csv_reader_separator(r), ';');
	csv_reader_free(r);
}
END_TEST

/* The separator is decided on the first CSV_SNIFF_MAX bytes of a long header:
 * one ';' early, a ',' early and one as the last byte of the window (',' wins),
 * then more ';' after the window. */
START_TEST(csv_sniff_window)
{
	static const char rest[] = ";d;e;f;g\n1,2,3\n";
	size_t n = CSV_SNIFF_MAX + sizeof(rest) - 1;
	char *in = malloc(n);
	struct csv_options o;
	struct csv_stats st;
	struct sink ref;

	ck_assert_ptr_nonnull(in);
	memcpy(in, "a;", 2);
	memset(in + 2, 'x', 100);
	memcpy(in + 102, ",b", 2);
	memset(in + 104, 'y', CSV_SNIFF_MAX - 105);
	in[CSV_SNIFF_MAX - 1] = ',';
	memcpy(in + CSV_SNIFF_MAX, rest, sizeof(rest) - 1);
	csv_options_init(&o);
	check_chunkings(&o, in, n, &ref, &st);
	ck_assert_uint_eq(st.records, 2);
	ck_assert_uint_eq(st.errors, 0);
	ck_assert(!strncmp(ref.brief, "1:[a;xxxx", 9));
	ck_assert(strstr(ref.brief, "x][byyyy") != NULL);
	ck_assert(strstr(ref.brief, "yy][;d;e;f;g]\n2:[1][2][3]\n") != NULL);
	sink_release(&ref);
	free(in);
}
END_TEST

START_TEST(csv_callback_stops)
{
	static const char in[] = "a;b\n1;2\n3;4\n5;6\n";
	struct csv_options o;
	struct sink k;

	csv_options_init(&o);
	o.on_record = on_rec;
	o.ctx = &k;
	/* stopping on the 2nd record, then on the last one delivered by finish */
	for (int chunk = 1; chunk <= (int)sizeof(in); chunk++) {
		for (int which = 0; which < 2; which++) {
			struct csv_reader *r;
			size_t at = 0;
			int rc = 0;

			sink_init(&k);
			k.stop_at = which ? 4 : 2;
			k.stop_rc = which ? A51_EINTERNAL : 7;
			r = csv_reader_new(&o, NULL);
			ck_assert_ptr_nonnull(r);
			while (!rc && at < sizeof(in) - 2) { /* the last LF is left to finish */
				size_t n = sizeof(in) - 2 - at < (size_t)chunk ? sizeof(in) - 2 - at : (size_t)chunk;

				rc = csv_reader_feed(r, in + at, n);
				at += n;
			}
			if (!rc)
				rc = csv_reader_finish(r);
			ck_assert_int_eq(rc, k.stop_rc);
			ck_assert_int_eq(csv_reader_feed(r, "x\n", 2), k.stop_rc);
			ck_assert_int_eq(csv_reader_finish(r), k.stop_rc);
			ck_assert_str_eq(k.brief, which ? "1:[a][b]\n2:[1][2]\n3:[3][4]\n4:[5][6]\n"
							: "1:[a][b]\n2:[1][2]\n");
			csv_reader_free(r);
			sink_release(&k);
		}
	}
	/* a stop on an error found while storing a lone CR */
	{
		struct csv_reader *r;

		sink_init(&k);
		k.stop_at = 1;
		k.stop_rc = 5;
		o.separator = ';';
		o.max_record = 16;
		r = csv_reader_new(&o, NULL);
		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(csv_reader_feed(r, "123456789012345\rx\n", 18), 5);
		ck_assert_str_eq(k.brief, "1!1 LONG\n");
		csv_reader_free(r);
		sink_release(&k);
	}
}
END_TEST

START_TEST(csv_bad_options)
{
	static const struct {
		const char *field;
		int format, charset;
		char sep;
		size_t max_record, max_fields;
	} bad[] = {
		{ "format", 2, 0, 0, 0, 0 }, { "format", -1, 0, 0, 0, 0 },
		{ "charset", 0, 3, 0, 0, 0 }, { "charset", 0, -1, 0, 0, 0 },
		{ "separator", 0, 0, '"', 0, 0 }, { "separator", 0, 0, '\n', 0, 0 },
		{ "separator", 0, 0, '\r', 0, 0 }, { "separator", 0, 0, '\x01', 0, 0 },
		{ "separator", 0, 0, (char)0xE9, 0, 0 },
		{ "max_record", 0, 0, 0, 15, 0 }, { "max_record", 0, 0, 0, (1u << 30) + 1, 0 },
		{ "max_fields", 0, 0, 0, 0, (1u << 20) + 1 }, { "on_record", 0, 0, 0, 0, 0 },
	};
	struct csv_options o;
	struct a51_error err;
	int cs;

	for (size_t i = 0; i < A51_ARRAY_LEN(bad); i++) {
		csv_options_init(&o);
		o.on_record = strcmp(bad[i].field, "on_record") ? on_rec : NULL;
		o.format = bad[i].format;
		o.charset = bad[i].charset;
		o.separator = bad[i].sep;
		if (bad[i].max_record)
			o.max_record = bad[i].max_record;
		if (bad[i].max_fields)
			o.max_fields = bad[i].max_fields;
		memset(&err, 0, sizeof(err));
		ck_assert_ptr_null(csv_reader_new(&o, &err));
		ck_assert_int_eq(err.code, A51_EINVAL);
		ck_assert_str_eq(err.field, bad[i].field);
	}
	csv_options_init(&o);
	o.on_record = on_rec;
	o.max_fields = 0;
	ck_assert_ptr_null(csv_reader_new(&o, &err));
	ck_assert_str_eq(err.field, "max_fields");

	ck_assert_int_eq(csv_charset_from_name("UTF-8", &cs), 0);
	ck_assert_int_eq(cs, CSV_CHARSET_UTF8);
	ck_assert_int_eq(csv_charset_from_name("Windows-1252", &cs), 0);
	ck_assert_int_eq(cs, CSV_CHARSET_WINDOWS_1252);
	ck_assert_int_eq(csv_charset_from_name("cp1252", &cs), 0);
	ck_assert_int_eq(cs, CSV_CHARSET_WINDOWS_1252);
	ck_assert_int_eq(csv_charset_from_name("ISO-8859-1", &cs), 0);
	ck_assert_int_eq(cs, CSV_CHARSET_LATIN1);
	ck_assert_int_eq(csv_charset_from_name("latin1", &cs), 0);
	ck_assert_int_eq(cs, CSV_CHARSET_LATIN1);
	ck_assert_int_eq(csv_charset_from_name("ebcdic", &cs), A51_EINVAL);
	ck_assert_int_eq(csv_charset_from_name(NULL, &cs), A51_EINVAL);
}
END_TEST

START_TEST(csv_allocation_failure)
{
	struct csv_options o;
	struct a51_error err;

	csv_options_init(&o);
	o.on_record = on_rec;
	/* auto separator: reader, record buffer, fields, sniffing buffer */
	for (int n = 1; n <= 4; n++) {
		memset(&err, 0, sizeof(err));
		csv_fail_after(n);
		ck_assert_ptr_null(csv_reader_new(&o, &err));
		ck_assert_int_eq(err.code, A51_ENOMEM);
	}
	csv_fail_after(5);
	{
		struct csv_reader *r = csv_reader_new(&o, &err);

		ck_assert_ptr_nonnull(r);
		csv_reader_free(r);
	}
	csv_fail_after(0);
}
END_TEST

/* A line that never ends, and a quote never closed, cost one error each and no
 * memory beyond the record buffer; the lines after them are read again. */
START_TEST(csv_bounded_memory)
{
	struct csv_options o;
	struct csv_reader *r;
	struct csv_stats st;
	struct sink k;
	char chunk[4096];

	csv_options_init(&o);
	o.on_record = on_rec;
	o.ctx = &k;
	o.max_record = 1024;
	sink_init(&k);
	r = csv_reader_new(&o, NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(csv_reader_feed(r, "h;i\n", 4), 0);
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 4096; i++) /* 16 MiB without a line end */
		ck_assert_int_eq(csv_reader_feed(r, chunk, sizeof(chunk)), 0);
	ck_assert_int_eq(csv_reader_feed(r, "\n1;\"", 4), 0);
	for (int i = 0; i < 4096; i++)
		chunk[i] = i % 8 == 7 ? '\n' : 'y';
	for (int i = 0; i < 256; i++) /* 1 MiB of lines inside an open quote */
		ck_assert_int_eq(csv_reader_feed(r, chunk, sizeof(chunk)), 0);
	ck_assert_int_eq(csv_reader_feed(r, "2;3\n", 4), 0);
	ck_assert_int_eq(csv_reader_finish(r), 0);
	csv_reader_stats(r, &st);
	ck_assert_uint_eq(st.errors, 2);
	/* the open quote swallows 1024 bytes (128 lines), then each line is a record */
	ck_assert_uint_eq(st.records, 1 + 2 + (256 * 512 - 128) + 1);
	ck_assert_uint_eq(st.lines, 1 + 1 + 256 * 512 + 1);
	ck_assert(!strncmp(k.brief, "1:[h][i]\n2!1 LONG\n3!2 LONG\n", 27));
	ck_assert(strstr(k.brief, "\n131:[yyyyyyy]\n") != NULL);
	ck_assert_str_eq(k.brief + k.blen - 15, "\n131075:[2][3]\n");
	csv_reader_free(r);
	sink_release(&k);
}
END_TEST

static void want_escaped(struct sink *w, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			emit(w, true, "\\n", 2);
		else if (c == '\r')
			emit(w, true, "\\r", 2);
		else if (c < 0x20)
			emitf(w, true, "\\x%02x", c);
		else
			emit(w, true, s + i, 1);
	}
}

/* Random records written the way a careful exporter would (quoting only what
 * needs it, LF or CRLF) must come back field for field, on the right lines. */
START_TEST(csv_roundtrip_random)
{
	static const char *const atoms[] = { "a", "b", "7", " ", ";", ",", "\"", "\n", "\r", "\t", "é", "€", "'" };
	struct sink in, want, got;
	struct csv_options o;
	struct csv_stats st;

	for (int seed = 1; seed <= 12; seed++) {
		char sep = seed % 3 ? ';' : ',';
		uint64_t line = 1;

		sink_init(&in);
		sink_init(&want);
		csv_options_init(&o);
		rng_state = 0xD1B54A32D192ED03ull * (uint64_t)seed;
		if (seed % 2) {
			emitf(&in, true, "h1%ch2\n", sep); /* auto-detected from this header */
			emitf(&want, true, "1:[h1][h2]\n");
			line = 2;
		} else {
			o.separator = sep;
		}
		for (int r = 0; r < 40; r++) {
			int nf = 1 + (int)(rng() % 5);

			emitf(&want, true, "%" PRIu64 ":", line);
			for (int f = 0; f < nf; f++) {
				char field[64];
				size_t len = 0;
				bool quote = false;

				for (int a = (int)(rng() % 8); a > 0; a--) {
					const char *t = atoms[rng() % A51_ARRAY_LEN(atoms)];

					memcpy(field + len, t, strlen(t));
					len += strlen(t);
				}
				for (size_t i = 0; i < len; i++)
					quote |= field[i] == sep || field[i] == '"' || field[i] == '\n' || field[i] == '\r';
				quote |= nf == 1 && len == 0;
				if (f)
					emit(&in, true, &sep, 1);
				if (quote)
					emit(&in, true, "\"", 1);
				for (size_t i = 0; i < len; i++) {
					emit(&in, true, field + i, 1);
					if (field[i] == '"')
						emit(&in, true, "\"", 1);
					line += field[i] == '\n';
				}
				if (quote)
					emit(&in, true, "\"", 1);
				emit(&want, true, "[", 1);
				want_escaped(&want, field, len);
				emit(&want, true, "]", 1);
			}
			emit(&want, true, "\n", 1);
			if (rng() % 2)
				emit(&in, true, "\r\n", 2);
			else
				emit(&in, true, "\n", 1);
			line++;
		}
		check_chunkings(&o, in.brief, in.blen, &got, &st);
		ck_assert_msg(!strcmp(got.brief, want.brief), "seed %d: got\n%s\nwant\n%s", seed, got.brief,
			      want.brief);
		ck_assert_uint_eq(st.lines, line - 1);
		ck_assert_uint_eq(st.errors, 0);
		sink_release(&got);
		sink_release(&in);
		sink_release(&want);
	}
}
END_TEST

/* Garbage made of the bytes that matter, with every option combination:
 * only the agreement between chunkings is checked (and the sanitizers). */
START_TEST(csv_garbage_chunk_invariance)
{
	static const unsigned char bytes[] = { 'a', ';', ',', '"', '"', '\n', '\n', '\r', '\0', 0x80, 0x81, 0x9D,
					       0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0xEF, 0xBB, 0xBF, ' ' };
	int format = _i % 2, charset = _i / 2 % 3;
	size_t n = 20000;
	char *in = malloc(n);
	struct csv_options o;
	struct csv_stats st;
	struct sink ref;

	ck_assert_ptr_nonnull(in);
	rng_state = 0x2545F4914F6CDD1Dull + (uint64_t)_i;
	for (size_t i = 0; i < n; i++)
		in[i] = (char)(rng() % 4 ? 'a' + (char)(rng() % 3) : (char)bytes[rng() % sizeof(bytes)]);
	csv_options_init(&o);
	o.format = format;
	o.charset = charset;
	o.max_record = _i % 4 == 3 ? 16 : 64;
	o.max_fields = 4;
	check_chunkings(&o, in, n, &ref, &st);
	ck_assert_uint_gt(st.records, 100);
	ck_assert_uint_gt(st.errors, 10);
	ck_assert_uint_gt(st.records, st.errors);
	sink_release(&ref);
	free(in);
}
END_TEST

START_TEST(parse_decimal_accepts)
{
	static const struct { const char *s; int64_t cents; } ok[] = {
		{ "12", 1200 }, { "12.5", 1250 }, { "12,50", 1250 }, { "-3,2", -320 }, { "+7", 700 },
		{ "1 234,56", 123456 }, { "1\xC2\xA0" "234,56", 123456 }, { "1\xE2\x80\xAF" "234.5", 123450 },
		{ "12 345 678", 1234567800 }, { "-1 000", -100000 }, { "0,05", 5 }, { "0.99", 99 },
		{ "-0", 0 }, { "-0,00", 0 }, { "007", 700 }, { "  42 \t", 4200 }, { "123 456", 12345600 },
		{ "90000000000000", INT64_C(9000000000000000) },
		{ "-90 000 000 000 000,00", -INT64_C(9000000000000000) },
		{ "89999999999999,99", INT64_C(8999999999999999) },
	};

	for (size_t i = 0; i < A51_ARRAY_LEN(ok); i++) {
		int64_t v = -42;
		const char *why = NULL;

		ck_assert_msg(csv_parse_decimal_cents(ok[i].s, strlen(ok[i].s), &v, &why) == 0, "%s: %s", ok[i].s, why);
		ck_assert_msg(v == ok[i].cents, "%s: %" PRId64, ok[i].s, v);
	}
	/* only s[0..n) is read */
	{
		int64_t v;

		ck_assert_int_eq(csv_parse_decimal_cents("12,345", 5, &v, NULL), 0);
		ck_assert_int_eq(v, 1234);
	}
}
END_TEST

START_TEST(parse_decimal_refuses)
{
	static const struct { const char *s; const char *why; } bad[] = {
		{ "", "empty amount" },
		{ " \t ", "empty amount" },
		{ "--1", "more than one sign" },
		{ "+-1", "more than one sign" },
		{ "-+1", "more than one sign" },
		{ "-", "an amount needs digits before the decimal mark" },
		{ ",5", "an amount needs digits before the decimal mark" },
		{ "-.5", "an amount needs digits before the decimal mark" },
		{ "abc", "an amount needs digits before the decimal mark" },
		{ "12a", "unexpected character in an amount" },
		{ "1e5", "unexpected character in an amount" },
		{ "12 \xE2\x82\xAC", "misplaced thousands separator" },
		{ "12-", "misplaced sign" },
		{ "1,5-", "misplaced sign" },
		{ "12.345", "more than 2 decimals: amounts must be exact to the cent" },
		{ "0,001", "more than 2 decimals: amounts must be exact to the cent" },
		{ "12,500", "more than 2 decimals: amounts must be exact to the cent" },
		{ "1.234,56", "more than 2 decimals: amounts must be exact to the cent" },
		{ "1,2,3", "more than one decimal mark" },
		{ "1.2.", "more than one decimal mark" },
		{ "12.", "no digits after the decimal mark" },
		{ "12,", "no digits after the decimal mark" },
		{ "1 23", "thousands groups must have three digits" },
		{ "1 2345", "thousands groups must have three digits" },
		{ "1 234 56,7", "thousands groups must have three digits" },
		{ "1234 567", "misplaced thousands separator" },
		{ "1  234", "misplaced thousands separator" },
		{ "1 234 ,5", "misplaced thousands separator" },
		{ "\xC2\xA0" "12", "misplaced thousands separator" },
		{ "- 5", "misplaced thousands separator" },
		{ "1\xC2", "unexpected character in an amount" },
		{ "90000000000000,01", "amount out of range" },
		{ "-90000000000001", "amount out of range" },
		{ "100000000000000", "amount out of range" },
		{ "99999999999999999999999999", "amount out of range" },
	};

	for (size_t i = 0; i < A51_ARRAY_LEN(bad); i++) {
		int64_t v = 42;
		const char *why = NULL;

		ck_assert_msg(csv_parse_decimal_cents(bad[i].s, strlen(bad[i].s), &v, &why) == A51_EINVAL,
			      "accepted %s", bad[i].s);
		ck_assert_msg(why && !strcmp(why, bad[i].why), "%s: %s", bad[i].s, why);
		ck_assert_int_eq(v, 42);
	}
	ck_assert_int_eq(csv_parse_decimal_cents("x", 1, &(int64_t){ 0 }, NULL), A51_EINVAL);
}
END_TEST

START_TEST(parse_bool_table)
{
	static const struct { const char *s; int want; } cases[] = {
		{ "1", 1 }, { "0", 0 }, { "true", 1 }, { "FALSE", 0 }, { "Oui", 1 }, { "NON", 0 },
		{ "yes", 1 }, { "No", 0 }, { " tRuE ", 1 }, { "\tnon", 0 },
		{ "", -1 }, { "  ", -1 }, { "2", -1 }, { "01", -1 }, { "oui!", -1 }, { "ye", -1 },
		{ "truee", -1 }, { "vrai", -1 }, { "o", -1 }, { "n", -1 }, { "-1", -1 }, { "t rue", -1 },
	};

	for (size_t i = 0; i < A51_ARRAY_LEN(cases); i++) {
		bool v = cases[i].want != 1;
		const char *why = NULL;
		int rc = csv_parse_bool(cases[i].s, strlen(cases[i].s), &v, &why);

		if (cases[i].want < 0) {
			ck_assert_msg(rc == A51_EINVAL, "accepted '%s'", cases[i].s);
			ck_assert_str_eq(why, "not a boolean (1/0, true/false, oui/non, yes/no)");
		} else {
			ck_assert_msg(rc == 0 && v == (cases[i].want == 1), "'%s'", cases[i].s);
		}
	}
	{
		bool v = false;

		ck_assert_int_eq(csv_parse_bool("yesterday", 3, &v, NULL), 0);
		ck_assert(v);
	}
}
END_TEST

START_TEST(parse_date_table)
{
	static const struct { const char *s; int y, m, d; const char *why; } cases[] = {
		{ "2024-02-29", 2024, 2, 29, NULL }, { "29/02/2024", 2024, 2, 29, NULL },
		{ "2000-02-29", 2000, 2, 29, NULL }, { "1800-01-01", 1800, 1, 1, NULL },
		{ "31/12/2200", 2200, 12, 31, NULL }, { " 05/03/1999\t", 1999, 3, 5, NULL },
		{ "2023-04-30", 2023, 4, 30, NULL }, { "2023-12-31", 2023, 12, 31, NULL },
		{ "2023-02-29", 0, 0, 0, "no such day in that month" },
		{ "29/02/1900", 0, 0, 0, "no such day in that month" },
		{ "2024-04-31", 0, 0, 0, "no such day in that month" },
		{ "2024-01-00", 0, 0, 0, "no such day in that month" },
		{ "32/01/2024", 0, 0, 0, "no such day in that month" },
		{ "2024-13-01", 0, 0, 0, "month out of range" },
		{ "01/00/2024", 0, 0, 0, "month out of range" },
		{ "1799-12-31", 0, 0, 0, "year out of range (1800-2200)" },
		{ "01/01/2201", 0, 0, 0, "year out of range (1800-2200)" },
		{ "", 0, 0, 0, "not a date (YYYY-MM-DD or DD/MM/YYYY)" },
		{ "2024/01/05", 0, 0, 0, "not a date (YYYY-MM-DD or DD/MM/YYYY)" },
		{ "24-01-05", 0, 0, 0, "not a date (YYYY-MM-DD or DD/MM/YYYY)" },
		{ "2024-1-05", 0, 0, 0, "not a date (YYYY-MM-DD or DD/MM/YYYY)" },
		{ "5/1/2024", 0, 0, 0, "not a date (YYYY-MM-DD or DD/MM/YYYY)" },
		{ "29.02.2024", 0, 0, 0, "not a date (YYYY-MM-DD or DD/MM/YYYY)" },
		{ "2024-02-29T00:00", 0, 0, 0, "not a date (YYYY-MM-DD or DD/MM/YYYY)" },
		{ "2024-01-0a", 0, 0, 0, "not a date (YYYY-MM-DD or DD/MM/YYYY)" },
		{ "+024-01-01", 0, 0, 0, "not a date (YYYY-MM-DD or DD/MM/YYYY)" },
		{ "0a/01/2024", 0, 0, 0, "not a date (YYYY-MM-DD or DD/MM/YYYY)" },
		{ "05-03-2024", 0, 0, 0, "not a date (YYYY-MM-DD or DD/MM/YYYY)" },
	};

	for (size_t i = 0; i < A51_ARRAY_LEN(cases); i++) {
		int y = -1, m = -1, d = -1;
		const char *why = NULL;
		int rc = csv_parse_date(cases[i].s, strlen(cases[i].s), &y, &m, &d, &why);

		if (cases[i].why) {
			ck_assert_msg(rc == A51_EINVAL, "accepted %s", cases[i].s);
			ck_assert_msg(why && !strcmp(why, cases[i].why), "%s: %s", cases[i].s, why);
			ck_assert(y == -1 && m == -1 && d == -1);
		} else {
			ck_assert_msg(rc == 0, "%s: %s", cases[i].s, why);
			ck_assert_int_eq(y, cases[i].y);
			ck_assert_int_eq(m, cases[i].m);
			ck_assert_int_eq(d, cases[i].d);
		}
	}
	{
		int y, m, d;

		ck_assert_int_eq(csv_parse_date("2024-03-051", 10, &y, &m, &d, NULL), 0);
		ck_assert_int_eq(d, 5);
	}
}
END_TEST

static Suite *csv_suite(void)
{
	Suite *s = suite_create("csv");
	TCase *tc = tcase_create("reader");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, csv_syntax, 0, (int)A51_ARRAY_LEN(syntax_cases));
	tcase_add_loop_test(tc, csv_charsets, 0, (int)A51_ARRAY_LEN(charset_cases));
	tcase_add_loop_test(tc, csv_errors, 0, (int)A51_ARRAY_LEN(error_cases));
	tcase_add_loop_test(tc, csv_ndjson, 0, (int)A51_ARRAY_LEN(ndjson_cases));
	tcase_add_test(tc, csv_reasons_and_columns);
	tcase_add_test(tc, csv_separator_and_stats);
	tcase_add_test(tc, csv_sniff_window);
	tcase_add_test(tc, csv_callback_stops);
	tcase_add_test(tc, csv_bad_options);
	tcase_add_test(tc, csv_allocation_failure);
	tcase_add_test(tc, csv_bounded_memory);
	tcase_add_test(tc, csv_roundtrip_random);
	tcase_add_loop_test(tc, csv_garbage_chunk_invariance, 0, 12);
	suite_add_tcase(s, tc);

	tc = tcase_create("fields");
	tcase_add_test(tc, parse_decimal_accepts);
	tcase_add_test(tc, parse_decimal_refuses);
	tcase_add_test(tc, parse_bool_table);
	tcase_add_test(tc, parse_date_table);
	suite_add_tcase(s, tc);
	return s;
}

A51_CHECK_MAIN(csv_suite)
