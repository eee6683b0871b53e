/*
 * desired: the desired-state document as the keeper uses it, parsed and
 * validated as a whole before any step runs (schema/desired.schema.json).
 * A document with one bad step is refused whole and the last good one
 * stays in force: a node never runs half a profile.
 *
 * kdesired_parse() returns a new object the caller frees with
 * kdesired_free(), or NULL with a message in err.  Pure, thread-safe.
 */
#ifndef EF_KEEPER_DESIRED_H
#define EF_KEEPER_DESIRED_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "steps/steplist.h"

struct kdesired {
	char node_id[40];
	int64_t interval_s;
	int64_t profile_version;
	bool drain;
	char dataplane_version[65];
	char keeper_version[65];
	/* An older release than the newest admitted may be installed. */
	bool dataplane_rollback;
	bool keeper_rollback;
	struct step_inst *steps;
	size_t nsteps;
	json_t *pop; /* the POP section */
	json_t *bgp; /* its "bgp", validated again here; NULL when none */
	char router_id[16]; /* this node's BGP router id; "" when unknown */
};

struct kdesired *kdesired_parse(
    const char *text, size_t len, char *err, size_t errlen);
void kdesired_free(struct kdesired *d);

#endif
