/*
 * steplist: a profile's "steps" array, parsed and validated as a whole,
 * the one way both sides read it: edge-cp when a profile is PUT (and then
 * throws the result away), the keeper when a desired state arrives.
 *
 * Rules: at most STEPLIST_MAX steps; each {"name","kind","after"?,
 * "params"?} with nothing else; names [a-z0-9][a-z0-9-]{0,31} and unique;
 * the kind is one this build knows (steps/kinds.c) and its parse() accepts
 * the params; "after" names earlier steps only, so the order is a
 * dependency order and there are no cycles.
 *
 * steplist_parse() returns 0 and an array the caller frees with
 * steplist_free(), or -1 with "steps[i]...: problem" in err and nothing
 * allocated.  Pure, thread-safe.
 */
#ifndef EF_STEPLIST_H
#define EF_STEPLIST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "steps/step.h"

#define STEPLIST_MAX 256
#define STEP_AFTER_MAX 16

struct step_inst {
	char name[40];
	const struct step_kind *kind;
	void *params;
	/*
	 * A digest of the step as written (kind, params, after): what it is
	 * asked to do, so a keeper can tell a changed request from a retry.
	 */
	uint64_t fp;
	size_t after[STEP_AFTER_MAX]; /* indexes of earlier steps */
	size_t nafter;
};

int steplist_parse(const json_t *steps, struct step_inst **out, size_t *n,
    char *err, size_t errlen);
void steplist_free(struct step_inst *list, size_t n);

#endif
