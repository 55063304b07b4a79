#include <stdio.h>
#include <string.h>

#include "a51/error.h"
#include "a51/banned.h"

int a51_error_vset(struct a51_error *err, int code, const char *field, const char *fmt, va_list ap)
{
	if (!err)
		return code;
	err->code = code;
	err->sqlstate[0] = '\0';
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	return code;
}

int a51_error_set(struct a51_error *err, int code, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	a51_error_vset(err, code, field, fmt, ap);
	va_end(ap);
	return code;
}

void a51_error_clear(struct a51_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

const char *a51_errc_name(int code)
{
	switch (code) {
	case A51_OK: return "ok";
	case A51_EINVAL: return "invalid";
	case A51_ENOMEM: return "out-of-memory";
	case A51_ENOTFOUND: return "not-found";
	case A51_ECONFLICT: return "conflict";
	case A51_EDB: return "database";
	case A51_EUNAVAIL: return "unavailable";
	case A51_ETIMEOUT: return "timeout";
	case A51_EIO: return "io";
	case A51_EFORBIDDEN: return "forbidden";
	default: return "internal";
	}
}
