/*
 * embedded: files compiled into edge-cp by cp/embed.sh (schema migrations,
 * the dashboard).  Each is NUL-terminated; len excludes the NUL.
 */
#ifndef EF_EMBEDDED_H
#define EF_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
	const char *name; /* path relative to the repository */
	const unsigned char *data;
	size_t len;
};

/* Terminated by an entry whose name is NULL; sorted by name. */
extern const struct embedded_file embedded_files[];

/* The file of that name, NULL when none is. */
const struct embedded_file *embedded_find(const char *name);

#endif
