/*
 * desired: a node's desired-state document (schema/desired.schema.json)
 * and its ETag.
 *
 * The document is rebuilt from the store only when it may have changed:
 * the node's cached ETag stays valid while the global epoch (profile, POP,
 * rollouts) and the node's own epoch (drain) are unchanged.  So the
 * steady-state check-in, a conditional GET answered 304, costs one epoch
 * comparison and no SQL.  Writers bump the epochs after their transaction
 * commits, never before, so a rebuild can never cache a stale document
 * under a new epoch.
 *
 * Thread-safe.  desired_build returns a document the caller owns.
 */
#ifndef EF_DESIRED_H
#define EF_DESIRED_H

#include <jansson.h>
#include <stddef.h>

#include "cp/live.h"

#define DESIRED_ETAG_MAX 48

/* The node's current ETag ("\"<32 hex>\""); -1 on store failure. */
int desired_etag(struct live_node *n, char etag[DESIRED_ETAG_MAX]);
/* The document and its ETag.  Returns a store result code. */
int desired_build(
    struct live_node *n, json_t **doc, char etag[DESIRED_ETAG_MAX]);

#endif
