/* Files compiled into the binary by scripts/embed.py (migrations aside). */
#ifndef A51_EMBED_H
#define A51_EMBED_H

#include <stddef.h>

struct embedded_file {
	const char *name; /* base name, e.g. "peps-2024.json" */
	const char *data; /* NUL-terminated */
	size_t len;
};

/* The JSON files of src/domain/params: parameter sets seeded at migration time. */
extern const struct embedded_file a51_param_seeds[];
extern const size_t a51_param_seeds_count;

#endif
