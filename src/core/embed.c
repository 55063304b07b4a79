#include <string.h>

#include "a51/embed.h"
#include "a51/banned.h"

const struct embedded_file *embed_find(const struct embedded_file *files, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(files[i].name, name) == 0)
			return &files[i];
	return NULL;
}
