/* Files compiled into the binary by scripts/embed.py (migrations aside). */
#ifndef A51_EMBED_H
#define A51_EMBED_H

#include <stddef.h>

struct embedded_file {
	const char *name; /* base name, e.g. "peps-2024.json" */
	const char *data; /* NUL-terminated */
	size_t len;
	const char *etag; /* strong HTTP ETag of data, quotes included: "\"3fa9...\"" */
};

/* The JSON files of src/domain/params: parameter sets seeded at migration time. */
extern const struct embedded_file a51_param_seeds[];
extern const size_t a51_param_seeds_count;

/* The web front end's static files (src/web), sorted by name, served at / and /ui/. */
extern const struct embedded_file a51_web_files[];
extern const size_t a51_web_files_count;

/* The embedded file named name, or NULL (a plain lookup: no path is ever built). */
const struct embedded_file *embed_find(const struct embedded_file *files, size_t n, const char *name);

#endif
