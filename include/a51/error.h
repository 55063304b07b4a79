/* Error reporting shared by every module: a code plus the field and a message. */
#ifndef A51_ERROR_H
#define A51_ERROR_H

#include <stdarg.h>

enum a51_errc {
	A51_OK = 0,
	A51_EINVAL = -1,    /* caller input is wrong: the field says which */
	A51_ENOMEM = -2,
	A51_ENOTFOUND = -3,
	A51_ECONFLICT = -4, /* state changed under the caller (ETag, unique key) */
	A51_EDB = -5,       /* the database answered with an error */
	A51_EUNAVAIL = -6,  /* a dependency is down or saturated: retry later */
	A51_ETIMEOUT = -7,
	A51_EIO = -8,
	A51_EINTERNAL = -9,
	A51_EFORBIDDEN = -10, /* the caller sees it but may not do this to it */
};

struct a51_error {
	int code;
	char field[64];
	char message[256];
	char sqlstate[6]; /* set by the db layer when PostgreSQL answered an error */
};

/* Fill *err (which may be NULL) and return code, so callers can write
 * `return a51_error_set(err, A51_EINVAL, "port", "...")`. */
int a51_error_set(struct a51_error *err, int code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int a51_error_vset(struct a51_error *err, int code, const char *field, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
void a51_error_clear(struct a51_error *err);
const char *a51_errc_name(int code);

#endif
