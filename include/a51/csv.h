/* Streaming reader for bulk uploads (CSV or NDJSON), fed chunks of any size,
 * holding at most one record in memory; plus the field parsers its callers need
 * (amounts in cents, booleans, dates).
 *
 * Lines end with LF or CRLF. A CR outside quotes is dropped before an LF and is
 * data elsewhere; inside quotes CR and LF are data. Blank lines (in NDJSON:
 * lines of spaces, tabs and CRs) are not records but count in line numbers.
 * Memory: max_record + 16 * max_fields bytes, plus CSV_SNIFF_MAX while the
 * separator is being decided, whatever the input. */
#ifndef A51_CSV_H
#define A51_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "a51/error.h"

enum csv_format {
	CSV_FORMAT_CSV = 0,     /* RFC 4180 with ';' or ',' separators */
	CSV_FORMAT_NDJSON,      /* one JSON text per line, handed over unparsed */
};

enum csv_charset {
	CSV_CHARSET_UTF8 = 0,   /* validated; a BOM at the very start is skipped */
	CSV_CHARSET_WINDOWS_1252, /* converted to UTF-8; 0x81 0x8D 0x8F 0x90 0x9D are errors */
	CSV_CHARSET_LATIN1,     /* ISO-8859-1: byte b is U+00b, converted to UTF-8 */
};

/* Why a record was rejected. The reader skips the rest of the physical line
 * (up to the next LF, even inside a quoted field: a stray quote costs one
 * record, not the file) and goes on with the line after it. */
enum csv_errc {
	CSV_OK = 0,
	CSV_EQUOTE,     /* broken quoting, or a quoted field still open at end of input */
	CSV_EUTF8,      /* invalid UTF-8 (UTF-8 input only) */
	CSV_ECHARSET,   /* byte undefined in windows-1252 */
	CSV_ENUL,       /* NUL byte */
	CSV_ETOOLONG,   /* record larger than max_record */
	CSV_ETOOMANY,   /* more than max_fields fields */
};

#define CSV_DEFAULT_MAX_RECORD (64u * 1024)
#define CSV_DEFAULT_MAX_FIELDS 512u
/* Auto separator: the more frequent of ';' and ',' outside quotes in the header
 * (the first non-blank line, or its first CSV_SNIFF_MAX bytes); on a tie the
 * first one seen; ',' when there is neither (one column). */
#define CSV_SNIFF_MAX 8192u

/* Field bytes are UTF-8 with quotes removed and "" unescaped. They live in the
 * reader's buffer, followed by a NUL (so ptr is also a C string, unless the
 * field contains a NUL, which the reader rejects), until the callback returns. */
struct csv_field {
	const char *ptr;
	size_t len;
};

/* What the callback sees: either fields (error == CSV_OK) or an error with
 * nfields == 0. The header is record 1 like any other. */
struct csv_record {
	uint64_t line;         /* 1-based line of the record's first byte */
	uint64_t index;        /* 1-based, counting error records; blank lines are not records */
	size_t nfields;
	const struct csv_field *fields;
	int error;             /* enum csv_errc */
	size_t column;         /* 1-based field index where the error was found, 0 if none */
	const char *reason;    /* short English sentence, NULL if none; valid during the call */
};

struct csv_options {
	int format;            /* enum csv_format */
	int charset;           /* enum csv_charset */
	char separator;        /* 0: ';' or ',' from the header line; else forced (CSV only) */
	size_t max_record;     /* bytes: decoded field bytes plus one NUL per field */
	size_t max_fields;
	/* Called once per record, in input order. Non-zero stops the reader: feed and
	 * finish return that value, now and on every later call. */
	int (*on_record)(void *ctx, const struct csv_record *rec);
	void *ctx;
};

struct csv_stats {
	uint64_t bytes;        /* bytes passed to csv_reader_feed */
	uint64_t lines;        /* LF-terminated lines, plus an unterminated last one after finish */
	uint64_t records;      /* records handed to the callback, errors included */
	uint64_t errors;       /* of which error records */
};

struct csv_reader;

/* Defaults: CSV, UTF-8, auto separator, CSV_DEFAULT_MAX_RECORD/_MAX_FIELDS. */
void csv_options_init(struct csv_options *o);

/* Maps a charset label ("utf-8", "windows-1252", "cp1252", "iso-8859-1",
 * "latin1", case-insensitive) to enum csv_charset; 0, or A51_EINVAL. */
int csv_charset_from_name(const char *name, int *charset);

/* Allocates a reader; every buffer is allocated here, so feeding never fails for
 * lack of memory. Returns NULL with *err set on bad options or allocation failure. */
struct csv_reader *csv_reader_new(const struct csv_options *o, struct a51_error *err);
void csv_reader_free(struct csv_reader *r);

/* Consumes len bytes (any split of the input gives the same records). Blank
 * lines are skipped but counted in line numbers. Returns 0, the callback's
 * non-zero value, or A51_EINVAL after csv_reader_finish. */
int csv_reader_feed(struct csv_reader *r, const void *data, size_t len);

/* End of input: delivers a last line without LF, or reports a quoted field left
 * open. Returns 0 or the callback's non-zero value; later calls do nothing. */
int csv_reader_finish(struct csv_reader *r);

void csv_reader_stats(const struct csv_reader *r, struct csv_stats *st);
/* The separator in use, 0 while it is still being decided (or for NDJSON). */
char csv_reader_separator(const struct csv_reader *r);

/* Test hook: the n-th next allocation of csv_reader_new fails (0 disables). */
void csv_fail_after(int n);

/* Field parsers. Each takes s[0..n) (no NUL needed), ignores leading and
 * trailing spaces and tabs, and returns 0, or A51_EINVAL with *reason (if
 * reason is not NULL) pointing to a static English sentence and the outputs
 * untouched. */

/* Amount in cents: optional sign, digits (optionally grouped by three with a
 * space, U+00A0 or U+202F), then optionally '.' or ',' and one or two decimals
 * ("1 234,5" is 123450). More decimals are refused, not rounded ("12,500" may
 * well mean 12500); |cents| <= 9e15. */
int csv_parse_decimal_cents(const char *s, size_t n, int64_t *cents, const char **reason);

/* 1/0, true/false, oui/non, yes/no, case-insensitive. */
int csv_parse_bool(const char *s, size_t n, bool *out, const char **reason);

/* YYYY-MM-DD or DD/MM/YYYY, a real calendar date with 1800 <= year <= 2200
 * (the range of dates.h). */
int csv_parse_date(const char *s, size_t n, int *y, int *m, int *d, const char **reason);

#endif
