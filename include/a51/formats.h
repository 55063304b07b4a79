/* The bulk-upload formats: for each kind of file, its columns, their types and
 * the rules a value must follow; and the conversion of one validated record into
 * a line of PostgreSQL COPY text for the staging table. Pure (no I/O). */
#ifndef A51_FORMATS_H
#define A51_FORMATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "a51/buf.h"

enum upload_kind {
	UK_NONE = 0, UK_PATIENTS, UK_MT_DECLARATIONS, UK_CLAIMS, UK_STAYS, UK_QUESTIONNAIRES, UK_DEPRIVATION,
	UK__COUNT
};

enum col_type {
	CT_TEXT,      /* up to max_len bytes of UTF-8 */
	CT_NIR,       /* validated, then replaced by its pseudonym (bytea in COPY text) */
	CT_RPPS,
	CT_FINESS,
	CT_DATE,      /* YYYY-MM-DD or DD/MM/YYYY, written YYYY-MM-DD */
	CT_BIRTH,     /* YYYY-MM or YYYY */
	CT_SEX,       /* 1 or 2 */
	CT_BOOL,      /* 1/0, true/false, oui/non, yes/no */
	CT_INT,       /* min..max */
	CT_MONEY,     /* euros with comma or point, at most 2 decimals: written in cents */
	CT_COMMUNE,   /* INSEE commune code */
	CT_ALD,       /* "8/2019-05-01|15/2021-01-01/2022-12-31" */
	CT_ACT,       /* NGAP key, CCAM code, or one of the free-amount codes */
	CT_GHM,       /* 08C481 */
	CT_ICD10,     /* C18.7 or C187, written without the point */
	CT_ENUM,      /* one of `values` */
	CT_DECIMAL,   /* signed decimal, comma or point, at most `max` decimals: written with a point */
};

struct upload_column {
	const char *name;
	int type;            /* enum col_type */
	bool required;
	int64_t min, max;    /* CT_INT bounds; CT_TEXT: max length */
	const char *values;  /* CT_ENUM: comma-separated */
	const char *help;
	const char *dflt;    /* COPY text written for an empty optional value (NULL: \N) */
};

struct upload_format {
	int kind;
	const char *name;          /* "claims": the ?kind= value */
	const struct upload_column *cols;
	size_t ncols;
	const char *natural_key;   /* what identifies a row: re-sending it replaces it */
	bool direct;               /* rows COPY straight into the final table when no key repeats */
	/* Rows name a patient of the dataset by NIR: resolved while read (an
	 * unknown patient is a fault of its line). */
	bool resolves_patients;
	/* Reference data, the same for every dataset: uploaded only into the
	 * reference dataset (POST /v1/reference/uploads), into a table without a
	 * dataset column. */
	bool reference_only;
};

const struct upload_format *upload_format(int kind);
/* "claims" -> UK_CLAIMS; UK_NONE when unknown. */
int upload_kind_parse(const char *s);
/* The kinds a route takes, for messages: "patients, mt_declarations, ... or
 * questionnaires" — reference-only kinds included when reference is true.
 * Writes at most cap bytes (NUL included); returns out. */
char *upload_kind_list(bool reference, char *out, size_t cap);

/* Maps the header fields to columns: map[i] is the column index of field i.
 * Unknown names, duplicates and missing required columns are reported through
 * fault(ctx, field index (-1 when the column is absent), name, reason); returns
 * their count. Names compare case-insensitively, surrounding blanks ignored. */
size_t upload_header_map(const struct upload_format *f, const char *const *names, const size_t *lens, size_t n,
			 int *map, void (*fault)(void *ctx, int field, const char *name, const char *reason),
			 void *ctx);

/* Pseudonymisation key and the NIR cache of one upload (claims of a patient
 * follow each other: the last pseudonym is reused). */
struct upload_ctx {
	const uint8_t *key;
	size_t keylen;
	char last_nir[16];
	char last_pseudonym[68]; /* as written for COPY: \\x and 64 hex digits */
	/* the NIR of the record being read, for checks of later columns (sex, birth) */
	bool have_nir;
	int nir_sex, nir_year2, nir_month;
	/* When set, a NIR is written as the id of its patient in the dataset
	 * (unknown: an error), instead of as its pseudonym. */
	int (*resolve)(void *ctx, const uint8_t pseudonym[32], int64_t *patient_id);
	void *resolve_ctx;
	int64_t last_patient_id;
	/* typed values of the record's columns, for the rules between columns */
	int32_t days[16];      /* CT_DATE; INT32_MIN when empty */
	int64_t cents[16];     /* CT_MONEY; -1 when empty */
	int birth_year, birth_month;
	char text[16][8];      /* CT_ENUM and CT_GHM/CT_ICD10 presence: first bytes */
	/* Set by upload_value when a value is accepted but worth a word (a FINESS
	 * whose key fails the unconfirmed Luhn rule, kept as the single routes keep
	 * it); static text, NULL otherwise. Cleared by each upload_value. */
	const char *warning;
};

/* Called before the first column of each record. */
void upload_record_begin(struct upload_ctx *ux);

/* The rules between the columns of a record, once every column was read
 * without fault: writes the faulty column and the reason, and returns -1. */
int upload_record_check(const struct upload_ctx *ux, const struct upload_format *f, const char **column, char *why,
			size_t whycap);

/* Columns a value of this type occupies in the staging table (CT_BIRTH: 2). */
int upload_column_width(int type);

/* Validates one value of column c. On success appends its COPY text (escaped;
 * "\N" for an empty optional value) to out and returns 0; otherwise returns -1
 * with a reason in why (never quoting a NIR). */
int upload_value(struct upload_ctx *ux, const struct upload_column *c, const char *v, size_t n, struct buf *out,
		 char *why, size_t whycap);
/* Same, knowing the column's index in its format (for upload_record_check). */
int upload_value_at(struct upload_ctx *ux, const struct upload_format *f, size_t col, const char *v, size_t n,
		    struct buf *out, char *why, size_t whycap);

/* Whether a value of this column may be echoed in an error report. */
bool upload_value_echoable(const struct upload_column *c);

/* A number member of an NDJSON line, as written. A JSON parser keeps a number
 * as a double, in which 30.005 can no longer be told from 30.00499...: amounts
 * are read from the sender's text instead, as the same CSV field would be. */
struct upload_json_number {
	const char *key;   /* the member's name between its quotes, escapes not decoded */
	size_t keylen;
	bool escaped;      /* the name holds a backslash escape */
	const char *text;  /* the number as written, e.g. "30.005" */
	size_t len;
};

/* Scans the top-level members of the JSON object s[0..n), which a JSON parser
 * has accepted already, and stores the first max members whose value is a
 * number in out; returns how many. Stops quietly at anything unexpected. */
size_t upload_json_numbers(const char *s, size_t n, struct upload_json_number *out, size_t max);

#endif
