/*
 * validate: the rules for every document operators and nodes send, in one
 * place.  Each function takes parsed JSON (json_parse_strict already ran),
 * checks types, ranges and cross-field rules, and either returns 0 with a
 * normalised copy the caller owns, or -1 with "field: problem" in err and
 * nothing allocated.  Unknown fields are rejected.
 *
 * Pure functions, thread-safe.
 */
#ifndef EF_VALIDATE_H
#define EF_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Host names as nodes report them: 1-253 of [A-Za-z0-9.-]. */
bool validate_hostname(const char *s);

/* A POP's "bgp" object: common/bgpconf.h (the keeper checks it too). */

/*
 * A profile: {"steps":[{"name","kind","after"?,"params"?}...]}.  Step names
 * unique, kinds known, "after" names earlier steps only (so no cycles).
 */
int validate_profile(const json_t *in, json_t **out, char *err, size_t errlen);

/*
 * A node's status report (schema/status.schema.json).  out is the
 * normalised report whose canonical text is hashed to detect change.
 */
int validate_status(const json_t *in, json_t **out, char *err, size_t errlen);

/* Enrollment facts: an object of at most 64 keys, 8 KiB serialised. */
int validate_facts(const json_t *in, char *err, size_t errlen);

#endif
