/* Callers and permissions. A route declares the permission it needs; the guard
 * checks it in one place. Tenant scoping is then applied again in SQL. */
#ifndef A51_AUTH_H
#define A51_AUTH_H

#include <stdbool.h>
#include <stdint.h>

enum perm {
	PERM_PUBLIC = 0,
	PERM_READ,           /* any valid token */
	PERM_WRITE,          /* any read-write token */
	PERM_ARS_READ,       /* national or ARS token */
	PERM_ARS_WRITE,
	PERM_NATIONAL_READ,
	PERM_NATIONAL_WRITE,
};

enum caller_kind { CALLER_NONE = 0, CALLER_NATIONAL, CALLER_ARS, CALLER_STRUCTURE };

struct caller {
	int kind;                /* enum caller_kind */
	bool write;
	char region[4];          /* CALLER_ARS: INSEE region code */
	int64_t structure_id;    /* CALLER_STRUCTURE */
	int64_t token_id;
	char scope[48];          /* "national", "ars:84", "structure:12" */
};

#endif
