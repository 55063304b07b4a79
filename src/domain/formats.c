#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "a51/auth.h"
#include "a51/csv.h"
#include "a51/dates.h"
#include "a51/formats.h"
#include "a51/ids.h"
#include "a51/util.h"
#include "a51/banned.h"

#define C_(name, type, req, min, max, values, help) { name, type, req, min, max, values, help, NULL }
#define D_(name, type, dflt, help) { name, type, false, 0, 0, NULL, help, dflt }

static const struct upload_column patients_cols[] = {
	C_("nir", CT_NIR, true, 0, 0, NULL, "social security number; pseudonymised at once, never stored"),
	C_("birth", CT_BIRTH, true, 0, 0, NULL, "birth year and month, YYYY-MM (or YYYY)"),
	C_("sex", CT_SEX, false, 0, 0, NULL, "1 male, 2 female; taken from the NIR when absent, checked when given"),
	C_("commune", CT_COMMUNE, false, 0, 0, NULL, "INSEE code of the commune of residence"),
	D_("c2s", CT_BOOL, "f", "complémentaire santé solidaire (ex CMU-C)"),
	D_("ame", CT_BOOL, "f", "aide médicale de l'État"),
	C_("death_date", CT_DATE, false, 0, 0, NULL, "date of death"),
	C_("ald", CT_ALD, false, 0, 0, NULL,
	   "ALD with dates: code/start[/end] joined by '|', e.g. 8/2019-05-01|15/2021-01-01/2022-12-31"),
};

static const struct upload_column mt_cols[] = {
	C_("nir", CT_NIR, true, 0, 0, NULL, "the patient"),
	C_("gp_rpps", CT_RPPS, true, 0, 0, NULL, "RPPS of the declared médecin traitant"),
	C_("start_on", CT_DATE, true, 0, 0, NULL, "start of the declaration"),
	C_("end_on", CT_DATE, false, 0, 0, NULL, "end of the declaration, when it ended"),
};

static const struct upload_column claims_cols[] = {
	C_("claim_id", CT_TEXT, true, 1, 64, NULL, "identifier of the claim line in the sender's system"),
	C_("nir", CT_NIR, true, 0, 0, NULL, "the patient"),
	C_("care_date", CT_DATE, true, 0, 0, NULL, "date of care"),
	C_("rpps", CT_RPPS, false, 0, 0, NULL, "executing professional (empty for pharmacy, biology, devices)"),
	C_("act_code", CT_ACT, true, 0, 0, NULL, "NGAP key (G, VG, AMI, AMK...), CCAM code, or PHA, BIO, LPP, TRA"),
	C_("quantity", CT_INT, true, 1, 999, NULL, "number of acts (or NGAP coefficient)"),
	C_("base_amount", CT_MONEY, true, 0, 0, NULL, "base de remboursement, euros"),
	C_("reimbursed_amount", CT_MONEY, true, 0, 0, NULL, "amount reimbursed by the Assurance maladie, euros"),
	D_("extra_fees", CT_MONEY, "0", "dépassement d'honoraires, euros (never in a forfait)"),
};

static const struct upload_column stays_cols[] = {
	C_("stay_id", CT_TEXT, true, 1, 64, NULL, "identifier of the stay in the sender's system"),
	C_("finess", CT_FINESS, true, 0, 0, NULL, "FINESS of the establishment"),
	C_("nir", CT_NIR, true, 0, 0, NULL, "the patient"),
	C_("field", CT_ENUM, true, 0, 0, "MCO,SSR,HAD", "MCO (acute), SSR (rehabilitation) or HAD (hospital at home)"),
	C_("admission_date", CT_DATE, true, 0, 0, NULL, "admission"),
	C_("discharge_date", CT_DATE, true, 0, 0, NULL, "discharge (not before admission)"),
	C_("ghm", CT_GHM, false, 0, 0, NULL, "GHM of an MCO stay, e.g. 08C481 (required for MCO)"),
	C_("entry_mode", CT_ENUM, true, 0, 0, "0,6,7,8,N", "PMSI mode d'entrée: 8 home, 7 transfer, 6 mutation"),
	C_("provenance", CT_ENUM, false, 0, 0, "1,2,3,4,5,6,7,R",
	   "PMSI provenance: 5 emergency department, 1 MCO, 2 SSR, 6 HAD, 7 medico-social"),
	C_("exit_mode", CT_ENUM, true, 0, 0, "0,6,7,8,9", "PMSI mode de sortie: 8 home, 7 transfer, 6 mutation, 9 death"),
	C_("destination", CT_ENUM, false, 0, 0, "1,2,3,4,6,7", "PMSI destination: 1 MCO, 2 SSR, 6 HAD, 7 medico-social"),
	C_("main_diagnosis", CT_ICD10, false, 0, 0, NULL, "main diagnosis, ICD-10 (required for MCO)"),
	C_("procedure", CT_ACT, false, 0, 0, NULL, "main CCAM procedure"),
	C_("amount", CT_MONEY, true, 0, 0, NULL, "amount of the stay paid by the Assurance maladie, euros"),
};

static const struct upload_column questionnaires_cols[] = {
	C_("questionnaire", CT_TEXT, true, 1, 32, NULL, "questionnaire code, e.g. IPEP-EXP-2024"),
	C_("nir", CT_NIR, true, 0, 0, NULL, "the patient"),
	C_("answered_on", CT_DATE, true, 0, 0, NULL, "date of the answer"),
	C_("item", CT_INT, true, 1, 100, NULL, "item number"),
	C_("answer", CT_INT, true, 0, 10, NULL, "answer on the item's scale"),
};

/* Reference data: one row per commune, the same for every dataset. */
static const struct upload_column deprivation_cols[] = {
	C_("commune", CT_COMMUNE, true, 0, 0, NULL, "INSEE code of the commune"),
	C_("quintile", CT_INT, true, 1, 5, NULL, "deprivation quintile: 1 least deprived, 5 most"),
	C_("score", CT_DECIMAL, false, 0, 6, NULL, "the index itself, e.g. FDep: a decimal, up to 6 decimals"),
};

#define F_(k, n, cols, key, direct, resolves, reference) \
	{ k, n, cols, sizeof(cols) / sizeof(cols[0]), key, direct, resolves, reference }
static const struct upload_format formats[] = {
	F_(UK_PATIENTS, "patients", patients_cols,
	   "nir: a known patient keeps its record (only its empty birth month, commune and death date are filled in)",
	   false, false, false),
	F_(UK_MT_DECLARATIONS, "mt_declarations", mt_cols,
	   "(nir, start_on): replaced only when an upload of this dataset recorded it; ends the running one", false,
	   true, false),
	F_(UK_CLAIMS, "claims", claims_cols, "claim_id within the dataset: the line is replaced", true, true, false),
	F_(UK_STAYS, "stays", stays_cols, "stay_id within the dataset: the stay is replaced", true, true, false),
	F_(UK_QUESTIONNAIRES, "questionnaires", questionnaires_cols,
	   "(questionnaire, nir, answered_on, item): the answer is replaced", true, true, false),
	F_(UK_DEPRIVATION, "deprivation", deprivation_cols, "commune: its quintile and score are replaced", true, false,
	   true),
};

const struct upload_format *upload_format(int kind)
{
	for (size_t i = 0; i < A51_ARRAY_LEN(formats); i++)
		if (formats[i].kind == kind)
			return &formats[i];
	return NULL;
}

int upload_kind_parse(const char *s)
{
	for (size_t i = 0; s && i < A51_ARRAY_LEN(formats); i++)
		if (strcmp(formats[i].name, s) == 0)
			return formats[i].kind;
	return UK_NONE;
}

char *upload_kind_list(bool reference, char *out, size_t cap)
{
	size_t n = 0, total = 0, k = 0;

	for (size_t i = 0; i < A51_ARRAY_LEN(formats); i++)
		total += reference || !formats[i].reference_only;
	if (cap)
		out[0] = '\0';
	for (size_t i = 0; i < A51_ARRAY_LEN(formats) && n < cap; i++) {
		int w;
		if (!reference && formats[i].reference_only)
			continue;
		k++;
		w = snprintf(out + n, cap - n, "%s%s", k == 1 ? "" : k == total ? " or " : ", ", formats[i].name);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	return out;
}

static void trim(const char **s, size_t *n)
{
	while (*n && ((*s)[0] == ' ' || (*s)[0] == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

size_t upload_header_map(const struct upload_format *f, const char *const *names, const size_t *lens, size_t n,
			 int *map, void (*fault)(void *ctx, int field, const char *name, const char *reason), void *ctx)
{
	bool seen[32] = { false };
	size_t faults = 0;

	for (size_t i = 0; i < n; i++) {
		const char *s = names[i];
		size_t len = lens[i];
		char name[64];

		trim(&s, &len);
		snprintf(name, sizeof(name), "%.*s", (int)(len < 60 ? len : 60), s);
		map[i] = -1;
		for (size_t k = 0; k < f->ncols; k++) {
			if (strlen(f->cols[k].name) == len && strncasecmp(f->cols[k].name, s, len) == 0) {
				map[i] = (int)k;
				break;
			}
		}
		if (map[i] < 0) {
			fault(ctx, (int)i, name, "unknown column");
			faults++;
		} else if (seen[map[i]]) {
			fault(ctx, (int)i, name, "column repeated");
			faults++;
			map[i] = -1;
		} else {
			seen[map[i]] = true;
		}
	}
	for (size_t k = 0; k < f->ncols; k++) {
		if (f->cols[k].required && !seen[k]) {
			fault(ctx, -1, f->cols[k].name, "required column missing");
			faults++;
		}
	}
	return faults;
}

static int fail(char *why, size_t cap, const char *reason)
{
	snprintf(why, cap, "%s", reason);
	return -1;
}

void upload_record_begin(struct upload_ctx *ux)
{
	ux->have_nir = false;
	ux->birth_year = ux->birth_month = 0;
	for (int i = 0; i < 16; i++) {
		ux->days[i] = INT32_MIN;
		ux->cents[i] = -1;
		ux->text[i][0] = '\0';
	}
}

static int col_index(const struct upload_format *f, const char *name)
{
	for (size_t k = 0; k < f->ncols && k < 16; k++)
		if (strcmp(f->cols[k].name, name) == 0)
			return (int)k;
	return -1;
}

int upload_record_check(const struct upload_ctx *ux, const struct upload_format *f, const char **column, char *why,
			size_t whycap)
{
	switch (f->kind) {
	case UK_PATIENTS: {
		int d = col_index(f, "death_date");
		if (d >= 0 && ux->days[d] != INT32_MIN && ux->birth_year &&
		    ux->days[d] < date_from_ymd(ux->birth_year, ux->birth_month ? ux->birth_month : 1, 1)) {
			*column = "death_date";
			return fail(why, whycap, "before the birth month");
		}
		return 0;
	}
	case UK_MT_DECLARATIONS: {
		int s = col_index(f, "start_on"), e = col_index(f, "end_on");
		if (ux->days[e] != INT32_MIN && ux->days[e] < ux->days[s]) {
			*column = "end_on";
			return fail(why, whycap, "before start_on");
		}
		return 0;
	}
	case UK_CLAIMS: {
		int b = col_index(f, "base_amount"), r = col_index(f, "reimbursed_amount");
		if (ux->cents[r] > ux->cents[b]) {
			*column = "reimbursed_amount";
			return fail(why, whycap, "more than the base amount");
		}
		return 0;
	}
	case UK_STAYS: {
		int a = col_index(f, "admission_date"), d = col_index(f, "discharge_date");
		int fld = col_index(f, "field"), g = col_index(f, "ghm"), dg = col_index(f, "main_diagnosis");
		if (ux->days[d] < ux->days[a]) {
			*column = "discharge_date";
			return fail(why, whycap, "before the admission date");
		}
		if (strcmp(ux->text[fld], "MCO") == 0 && !ux->text[g][0]) {
			*column = "ghm";
			return fail(why, whycap, "required for an MCO stay");
		}
		if (strcmp(ux->text[fld], "MCO") == 0 && !ux->text[dg][0]) {
			*column = "main_diagnosis";
			return fail(why, whycap, "required for an MCO stay");
		}
		return 0;
	}
	default:
		return 0;
	}
}

int upload_value_at(struct upload_ctx *ux, const struct upload_format *f, size_t col, const char *v, size_t n,
		    struct buf *out, char *why, size_t whycap)
{
	const struct upload_column *c = &f->cols[col];
	size_t before = out->len;
	int rc = upload_value(ux, c, v, n, out, why, whycap);

	if (rc < 0 || col >= 16 || (out->len - before == 2 && memcmp(out->data + before, "\\N", 2) == 0))
		return rc;
	/* keep the typed value for upload_record_check, read back from what was written */
	switch (c->type) {
	case CT_DATE: {
		int32_t d;
		char iso[11];
		memcpy(iso, out->data + before, 10);
		iso[10] = '\0';
		if (date_parse(iso, &d) == 0)
			ux->days[col] = d;
		break;
	}
	case CT_MONEY: {
		int64_t x;
		char num[24];
		snprintf(num, sizeof(num), "%.*s", (int)(out->len - before), out->data + before);
		if (util_parse_i64(num, 0, INT64_MAX, &x) == 0)
			ux->cents[col] = x;
		break;
	}
	case CT_BIRTH: {
		int64_t y = 0, m = 0;
		char num[16];
		const char *tab = memchr(out->data + before, '\t', out->len - before);
		snprintf(num, sizeof(num), "%.*s", (int)(tab ? tab - (out->data + before) : 0), out->data + before);
		util_parse_i64(num, 0, 9999, &y);
		if (tab && tab[1] != '\\')
			util_parse_i64(tab + 1, 0, 12, &m);
		ux->birth_year = (int)y;
		ux->birth_month = (int)m;
		break;
	}
	case CT_ENUM:
	case CT_GHM:
	case CT_ICD10:
		snprintf(ux->text[col], sizeof(ux->text[col]), "%.*s", (int)(out->len - before < 7 ? out->len - before : 7),
			 out->data + before);
		break;
	default:
		break;
	}
	return rc;
}

int upload_column_width(int type)
{
	return type == CT_BIRTH ? 2 : 1;
}

bool upload_value_echoable(const struct upload_column *c)
{
	return c->type != CT_NIR;
}

/* COPY text format: backslash, tab, newline and carriage return escaped. */
static void copy_text(struct buf *out, const char *v, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		const char *esc = NULL;
		switch (v[i]) {
		case '\\': esc = "\\\\"; break;
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		default: continue;
		}
		buf_append(out, v + start, i - start);
		buf_append(out, esc, 2);
		start = i + 1;
	}
	buf_append(out, v + start, n - start);
}


static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* NGAP keys met in town care, and codes for lines without a professional act. */
static const char *const ngap_keys[] = {
	"G", "GS", "VG", "VGS", "C", "CS", "CSC", "CNPSY", "CCP", "APC", "APY", "APU", "MCG", "MCS", "MPH", "MIC",
	"MRT", "MU", "MD", "ID", "IK", "VL", "TCG", "TC", "TE1", "TE2", "ALQP", "GL1", "GL2", "GL3",
	"AMI", "AMX", "AIS", "DI", "BSA", "BSB", "BSC", "IFD", "IFI", "MAU", "MCI", "TLS", "TLL", "TLD",
	"AMK", "AMC", "AMS", "SF", "SFI", "V", "CA", "AMY", "AMO", "POD", "ORT", "SC", "SPR", "TO", "Z",
	"PHA", "BIO", "LPP", "TRA",
};

static bool act_ok(const char *v, size_t n)
{
	if (n == 7 && is_upper(v[0]) && is_upper(v[1]) && is_upper(v[2]) && is_upper(v[3]) && is_digit(v[4]) &&
	    is_digit(v[5]) && is_digit(v[6]))
		return true; /* CCAM */
	for (size_t i = 0; i < A51_ARRAY_LEN(ngap_keys); i++)
		if (strlen(ngap_keys[i]) == n && memcmp(ngap_keys[i], v, n) == 0)
			return true;
	return false;
}

static bool commune_ok(const char *v, size_t n)
{
	if (n != 5)
		return false;
	for (size_t i = 0; i < 5; i++)
		if (!is_digit(v[i]) && !(i == 1 && v[0] == '2' && (v[1] == 'A' || v[1] == 'B')))
			return false;
	return true;
}

static int date_value(const char *v, size_t n, struct buf *out, char *why, size_t cap)
{
	int y, m, d;
	const char *reason;
	char iso[11];

	if (csv_parse_date(v, n, &y, &m, &d, &reason) < 0)
		return fail(why, cap, reason);
	snprintf(iso, sizeof(iso), "%04d-%02d-%02d", y, m, d);
	buf_append(out, iso, 10);
	return 0;
}

/* Whether the NIR v (NUL-terminated) is wrong by its key alone: the same NIR
 * with the key computed from its first 13 characters passes every check. */
static bool nir_key_only_wrong(const char *v)
{
	struct a51_error err = { 0 };
	char c[16], canon[16];
	size_t k = 0;
	bool only = false;
	int key;

	for (; *v && k < 16; v++)
		if (*v != ' ')
			c[k++] = *v == 'a' || *v == 'b' ? (char)(*v - 'a' + 'A') : *v;
	if (k == 15 && (key = ids_nir_key(c)) >= 0) {
		c[13] = (char)('0' + key / 10);
		c[14] = (char)('0' + key % 10);
		c[15] = '\0';
		only = ids_nir_normalise(c, canon, &err) == 0;
	}
	explicit_bzero(c, sizeof(c));
	explicit_bzero(canon, sizeof(canon));
	return only;
}

/* "-1,25" or "3.141593": an optional sign, digits, then optionally `,` or `.`
 * and at most `places` digits; written with a point and its digits as sent
 * (PostgreSQL's numeric keeps them exactly). No exponent, no thousands
 * separator. */
static int decimal_value(const char *v, size_t n, int places, struct buf *out, char *why, size_t cap)
{
	size_t i = 0, int_digits = 0, dec_digits = 0;
	bool point = false;

	if (v[0] == '-' || v[0] == '+')
		i++;
	for (; i < n; i++) {
		if (is_digit(v[i])) {
			if (point)
				dec_digits++;
			else
				int_digits++;
		} else if ((v[i] == '.' || v[i] == ',') && !point) {
			point = true;
		} else {
			return fail(why, cap, "must be a decimal number, e.g. -1.25 or 0,5 (no exponent)");
		}
	}
	if (int_digits == 0 || (point && dec_digits == 0))
		return fail(why, cap, "must be a decimal number, e.g. -1.25 or 0,5 (no exponent)");
	if (dec_digits > (size_t)places) {
		snprintf(why, cap, "more than %d decimals", places);
		return -1;
	}
	if (v[0] == '-')
		buf_putc(out, '-');
	for (i = v[0] == '-' || v[0] == '+'; i < n; i++)
		buf_putc(out, v[i] == ',' ? '.' : v[i]);
	return 0;
}

/* "8/2019-05-01|15/2021-01-01/2022-12-31": written back normalised. */
static int ald_value(const char *v, size_t n, struct buf *out, char *why, size_t cap)
{
	size_t i = 0;
	int entries = 0;
	size_t starts[32];
	int codes[32];

	while (i < n) {
		size_t end = i, j;
		int64_t code;
		char num[8];
		while (end < n && v[end] != '|')
			end++;
		for (j = i; j < end && v[j] != '/'; j++)
			;
		if (j == end || j - i == 0 || j - i > 2)
			return fail(why, cap, "each ALD is code/start[/end], e.g. 8/2019-05-01");
		snprintf(num, sizeof(num), "%.*s", (int)(j - i), v + i);
		if (util_parse_i64(num, 1, 32, &code) < 0)
			return fail(why, cap, "an ALD code is a number from 1 to 32");
		if (entries == 32)
			return fail(why, cap, "at most 32 ALD per patient");
		if (entries)
			buf_putc(out, '|');
		buf_printf(out, "%d/", (int)code);
		{
			size_t k = j + 1, slash = k;
			while (slash < end && v[slash] != '/')
				slash++;
			codes[entries] = (int)code;
			starts[entries] = out->len;
			if (date_value(v + k, slash - k, out, why, cap) < 0)
				return -1;
			for (int e = 0; e < entries; e++)
				if (codes[e] == code && memcmp(out->data + starts[e], out->data + starts[entries], 10) == 0)
					return fail(why, cap, "an ALD is listed twice from the same date");
			entries++;
			if (slash < end) {
				size_t before = out->len;
				buf_putc(out, '/');
				if (date_value(v + slash + 1, end - slash - 1, out, why, cap) < 0)
					return -1;
				if (memcmp(out->data + before + 1, out->data + before - 10, 10) < 0)
					return fail(why, cap, "an ALD ends before it starts");
			}
		}
		i = end + 1;
	}
	return 0;
}

int upload_value(struct upload_ctx *ux, const struct upload_column *c, const char *v, size_t n, struct buf *out,
		 char *why, size_t whycap)
{
	struct a51_error err = { 0 };
	const char *reason;
	char tmp[128];

	ux->warning = NULL;
	trim(&v, &n);
	if (n == 0 && c->type == CT_SEX && ux->have_nir) {
		buf_putc(out, ux->nir_sex % 2 ? '1' : '2'); /* odd first digit: male */
		return 0;
	}
	if (n == 0) {
		if (c->required)
			return fail(why, whycap, "a value is required");
		if (c->dflt)
			buf_puts(out, c->dflt);
		else
			buf_append(out, c->type == CT_BIRTH ? "\\N\t\\N" : "\\N", c->type == CT_BIRTH ? 5 : 2);
		return 0;
	}
	switch (c->type) {
	case CT_TEXT:
		if ((int64_t)n > c->max)
			return fail(why, whycap, "too long");
		copy_text(out, v, n);
		return 0;
	case CT_NIR: {
		char canon[16];
		uint8_t p[32];
		if (n >= sizeof(tmp))
			return fail(why, whycap, "must be 15 characters (13 digits and a 2-digit key)");
		memcpy(tmp, v, n);
		tmp[n] = '\0';
		if (strcmp(tmp, ux->last_nir) == 0) {
			explicit_bzero(tmp, sizeof(tmp));
			ux->have_nir = true;
			if (ux->resolve) {
				if (ux->last_patient_id < 0)
					return fail(why, whycap, "unknown patient: upload this patient to the dataset first");
				buf_printf(out, "%lld", (long long)ux->last_patient_id);
			} else {
				buf_append(out, ux->last_pseudonym, 67);
			}
			return 0;
		}
		if (ids_nir_normalise(tmp, canon, &err) < 0) {
			bool key_only = nir_key_only_wrong(tmp);
			explicit_bzero(tmp, sizeof(tmp));
			/* ids names both keys; an upload error names neither */
			return fail(why, whycap, key_only ? "the key (last 2 digits) does not match the first 13 characters"
							  : err.message);
		}
		{
			struct nir_parts parts;
			ids_nir_parts(canon, &parts);
			ux->nir_sex = parts.sex;
			ux->nir_year2 = parts.birth_year2;
			ux->nir_month = parts.birth_month;
			ux->have_nir = true;
		}
		auth_nir_pseudonym(ux->key, ux->keylen, canon, p);
		/* bytea in COPY text: "\\x" then hex */
		memcpy(ux->last_pseudonym, "\\\\x", 3);
		util_hex(p, 32, ux->last_pseudonym + 3);
		if (n < sizeof(ux->last_nir)) {
			memcpy(ux->last_nir, tmp, n);
			ux->last_nir[n] = '\0';
		} else {
			ux->last_nir[0] = '\0';
		}
		explicit_bzero(tmp, sizeof(tmp));
		explicit_bzero(canon, sizeof(canon));
		if (ux->resolve) {
			if (ux->resolve(ux->resolve_ctx, p, &ux->last_patient_id) < 0) {
				ux->last_patient_id = -1;
				return fail(why, whycap, "unknown patient: upload this patient to the dataset first");
			}
			buf_printf(out, "%lld", (long long)ux->last_patient_id);
			return 0;
		}
		buf_append(out, ux->last_pseudonym, 67);
		return 0;
	}
	case CT_RPPS:
		if (n != 11)
			return fail(why, whycap, "must be 11 digits");
		snprintf(tmp, sizeof(tmp), "%.*s", (int)n, v);
		if (ids_rpps_check(tmp, &err) < 0)
			return fail(why, whycap, err.message);
		buf_append(out, v, n);
		return 0;
	case CT_FINESS: {
		enum finess_key key;
		if (n != 9)
			return fail(why, whycap, "must be 9 characters");
		snprintf(tmp, sizeof(tmp), "%.*s", (int)n, v);
		if (ids_finess_check(tmp, &key, &err) < 0)
			return fail(why, whycap, err.message);
		/* as the structures route does: the Luhn rule is not confirmed for FINESS */
		if (key == FINESS_KEY_BAD)
			ux->warning = "the check digit does not verify under the Luhn rule; the rule is not confirmed "
				      "for FINESS, so the number is kept";
		buf_append(out, v, n);
		return 0;
	}
	case CT_DATE:
		return date_value(v, n, out, why, whycap);
	case CT_BIRTH: {
		int64_t y, m = 0;
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(n < 8 ? n : 8), v);
		if ((n != 4 && n != 7) || (n == 7 && tmp[4] != '-'))
			return fail(why, whycap, "must be YYYY-MM (or YYYY)");
		tmp[4] = '\0';
		if (util_parse_i64(tmp, 1880, 2200, &y) < 0 || (n == 7 && util_parse_i64(tmp + 5, 1, 12, &m) < 0))
			return fail(why, whycap, "must be YYYY-MM (or YYYY) with a real month");
		if (ux->have_nir && y % 100 != ux->nir_year2)
			return fail(why, whycap, "the year does not match the NIR");
		if (ux->have_nir && m && ux->nir_month >= 1 && ux->nir_month <= 12 && m != ux->nir_month)
			return fail(why, whycap, "the month does not match the NIR");
		if (!m && ux->have_nir && ux->nir_month >= 1 && ux->nir_month <= 12)
			m = ux->nir_month;
		buf_printf(out, "%d\t%s", (int)y, m ? "" : "\\N");
		if (m)
			buf_printf(out, "%d", (int)m);
		return 0;
	}
	case CT_SEX:
		if (n != 1 || (v[0] != '1' && v[0] != '2'))
			return fail(why, whycap, "must be 1 (male) or 2 (female)");
		if (ux->have_nir && (v[0] == '1') != (ux->nir_sex % 2 == 1))
			return fail(why, whycap, "does not match the NIR");
		buf_append(out, v, 1);
		return 0;
	case CT_BOOL: {
		bool b;
		if (csv_parse_bool(v, n, &b, &reason) < 0)
			return fail(why, whycap, reason);
		buf_putc(out, b ? 't' : 'f');
		return 0;
	}
	case CT_INT: {
		int64_t x;
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(n < 20 ? n : 20), v);
		if (n > 19 || util_parse_i64(tmp, c->min, c->max, &x) < 0) {
			snprintf(why, whycap, "must be a whole number from %lld to %lld", (long long)c->min,
				 (long long)c->max);
			return -1;
		}
		buf_printf(out, "%lld", (long long)x);
		return 0;
	}
	case CT_MONEY: {
		int64_t cents;
		if (csv_parse_decimal_cents(v, n, &cents, &reason) < 0)
			return fail(why, whycap, reason);
		if (cents < 0)
			return fail(why, whycap, "an amount cannot be negative");
		buf_printf(out, "%lld", (long long)cents);
		return 0;
	}
	case CT_COMMUNE:
		if (!commune_ok(v, n))
			return fail(why, whycap, "must be an INSEE commune code (5 characters, 2A/2B for Corsica)");
		buf_append(out, v, n);
		return 0;
	case CT_ALD:
		return ald_value(v, n, out, why, whycap);
	case CT_DECIMAL:
		return decimal_value(v, n, (int)c->max, out, why, whycap);
	case CT_ACT:
		if (!act_ok(v, n))
			return fail(why, whycap, "unknown act code: an NGAP key, a CCAM code (4 letters, 3 digits), "
						 "or PHA, BIO, LPP, TRA");
		buf_append(out, v, n);
		return 0;
	case CT_GHM:
		if (n != 6 || !is_digit(v[0]) || !is_digit(v[1]) || !is_upper(v[2]) || !is_digit(v[3]) ||
		    !is_digit(v[4]) || !(is_digit(v[5]) || is_upper(v[5])))
			return fail(why, whycap, "a GHM is 2 digits, a letter, 2 digits and a level, e.g. 08C481");
		buf_append(out, v, n);
		return 0;
	case CT_ICD10: {
		char code[8];
		size_t k = 0;
		if (n < 3 || n > 6 || !is_upper(v[0]) || !is_digit(v[1]) || !is_digit(v[2]))
			return fail(why, whycap, "an ICD-10 code is a letter and 2 digits, then up to 2 more, e.g. C18.7");
		for (size_t i = 0; i < n; i++) {
			if (v[i] == '.' && i == 3)
				continue;
			if (k >= 5 || !(is_digit(v[i]) || is_upper(v[i])))
				return fail(why, whycap, "an ICD-10 code is a letter and 2 digits, then up to 2 more");
			code[k++] = v[i];
		}
		buf_append(out, code, k);
		return 0;
	}
	case CT_ENUM: {
		const char *p = c->values;
		while (p && *p) {
			const char *comma = strchr(p, ',');
			size_t len = comma ? (size_t)(comma - p) : strlen(p);
			if (len == n && memcmp(p, v, n) == 0) {
				buf_append(out, v, n);
				return 0;
			}
			p = comma ? comma + 1 : NULL;
		}
		snprintf(why, whycap, "must be one of %s", c->values);
		return -1;
	}
	}
	return fail(why, whycap, "unsupported column type");
}

/* ---- NDJSON numbers ---- */

static bool json_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t skip_blanks(const char *s, size_t n, size_t i)
{
	while (i < n && json_blank(s[i]))
		i++;
	return i;
}

/* s[i] is the opening quote: the index after the closing one (n if none). */
static size_t skip_string(const char *s, size_t n, size_t i, bool *escaped)
{
	for (i++; i < n && s[i] != '"'; i++)
		if (s[i] == '\\') {
			i++;
			if (escaped)
				*escaped = true;
		}
	return i < n ? i + 1 : n;
}

/* Skips one value of any kind, strings and nesting respected: the index after it. */
static size_t skip_value(const char *s, size_t n, size_t i)
{
	size_t depth = 0;

	while (i < n) {
		char ch = s[i];

		if (ch == '"') {
			i = skip_string(s, n, i, NULL);
		} else if (ch == '{' || ch == '[') {
			depth++;
			i++;
		} else if (ch == '}' || ch == ']') {
			if (depth == 0)
				return i; /* the end of the enclosing object */
			depth--;
			i++;
		} else if (depth == 0 && (ch == ',' || json_blank(ch))) {
			return i;
		} else {
			i++;
		}
		if (depth == 0 && (ch == '"' || ch == '}' || ch == ']'))
			return i;
	}
	return n;
}

size_t upload_json_numbers(const char *s, size_t n, struct upload_json_number *out, size_t max)
{
	size_t i = skip_blanks(s, n, 0), count = 0;

	if (i >= n || s[i] != '{')
		return 0;
	i++;
	for (;;) {
		size_t kstart, kend;
		bool escaped = false;

		i = skip_blanks(s, n, i);
		if (i >= n || s[i] != '"')
			return count;
		kstart = i + 1;
		i = skip_string(s, n, i, &escaped);
		if (i >= n)
			return count;
		kend = i - 1;
		i = skip_blanks(s, n, i);
		if (i >= n || s[i] != ':')
			return count;
		i = skip_blanks(s, n, i + 1);
		if (i < n && (s[i] == '-' || is_digit(s[i]))) {
			size_t start = i;
			while (i < n && (is_digit(s[i]) || s[i] == '-' || s[i] == '+' || s[i] == '.' || s[i] == 'e' ||
					 s[i] == 'E'))
				i++;
			if (count < max)
				out[count++] = (struct upload_json_number){ s + kstart, kend - kstart, escaped, s + start,
									    i - start };
		} else {
			i = skip_value(s, n, i);
		}
		i = skip_blanks(s, n, i);
		if (i >= n || s[i] != ',')
			return count;
		i++;
	}
}
