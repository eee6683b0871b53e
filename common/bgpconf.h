/*
 * bgpconf: the "bgp" section of a POP (SPEC §6), validated in one place
 * for edge-cp, which refuses a bad one at the API, and for the keeper,
 * which checks the desired state again before rendering BIRD's
 * configuration from it: nothing that reaches a bird.conf is taken on
 * trust.
 *
 * bgpconf_validate() reads {asn, neighbors[{address, asn, password?,
 * bfd?, name?}], hold_time?, anycast[{prefix, communities?,
 * large_communities?}], drain?{communities?, prepend?, drain_s?}} and
 * returns the canonical form in *out (defaults filled in: hold_time 90,
 * drain {["65535:0"], 0, 30}; prefixes normalised; unknown keys
 * refused), or -1 with "field: problem" in err.  Canonical input comes
 * back unchanged, so the keeper's check of edge-cp's output is exact.
 *
 * bgpconf_withdraws_all(): the change would take every anycast prefix
 * away (the guard that needs "force").
 */
#ifndef EF_COMMON_BGPCONF_H
#define EF_COMMON_BGPCONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define BGPCONF_MAX_NEIGHBORS 16
#define BGPCONF_MAX_ANYCAST 64
#define BGPCONF_MAX_COMMUNITIES 32

int bgpconf_validate(const json_t *in, json_t **out, char *err, size_t errlen);
bool bgpconf_withdraws_all(const json_t *old_bgp, const json_t *new_bgp);

#endif
