/*
 * json: strict JSON parsing at the edge, and typed field readers.
 *
 * Everything that arrives as JSON (a request body, a desired-state
 * document, a status report) goes through json_parse_strict() and the
 * jfield_* readers, and becomes validated C values in one place; nothing
 * deeper looks at raw JSON.
 *
 * json_parse_strict() rejects: more than max_len bytes, a NUL byte, nesting
 * deeper than max_depth, duplicate object keys, invalid UTF-8 (jansson),
 * and any top-level value that is not an object.  On failure it returns -1
 * and writes a human message to err; *out is left NULL.  On success the
 * caller owns *out (json_decref).
 *
 * The jfield_* readers take an object and a key and check presence, type
 * and range.  They return 0 on success (also when an optional field is
 * absent: *out keeps its default), -1 with a message "field: problem" in
 * err otherwise.  Returned strings point into the json_t and live as long
 * as it does.
 *
 * All functions are pure and thread-safe.
 */
#ifndef EF_JSON_H
#define EF_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_DEFAULT_DEPTH 32

int json_parse_strict(const char *buf, size_t len, size_t max_len,
    size_t max_depth, json_t **out, char *err, size_t errlen);

/* Reject any key of o that is not in the NULL-terminated allowed list. */
int jfield_only(
    const json_t *o, const char *const *allowed, char *err, size_t errlen);

int jfield_str(const json_t *o, const char *key, bool required, size_t max_len,
    const char **out, char *err, size_t errlen);
int jfield_int(const json_t *o, const char *key, bool required, int64_t min,
    int64_t max, int64_t *out, char *err, size_t errlen);
int jfield_bool(const json_t *o, const char *key, bool required, bool *out,
    char *err, size_t errlen);
/* *out is borrowed; NULL when absent and optional. */
int jfield_obj(const json_t *o, const char *key, bool required, json_t **out,
    char *err, size_t errlen);
int jfield_arr(const json_t *o, const char *key, bool required,
    size_t max_items, json_t **out, char *err, size_t errlen);

/*
 * Serialise deterministically (sorted keys, compact).  Caller frees with
 * free(); NULL on allocation failure.
 */
char *json_dump_canonical(const json_t *v, size_t *len);

#endif
