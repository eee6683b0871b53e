/*
 * release: fetch a release artifact from edge-cp and prove it is the one
 * edge-cp signed for this component and version before anything runs it.
 *
 * Checks, in order: the minisign signature (prehashed Ed25519) against the
 * release key pinned at enrollment; the trusted comment names exactly this
 * component and version, the artifact's size and SHA-256; its sequence
 * number is not below the newest one installed for the component (so an
 * old, validly signed release cannot be replayed as "new").  Only then is
 * the file written (mode 0755) and the sequence recorded.
 *
 * Called from the reconcile thread (step_host.fetch_release).
 */
#ifndef EF_KEEPER_RELEASE_H
#define EF_KEEPER_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include "common/cpclient.h"
#include "keeper/keeper.h"

struct release_ctx {
	struct cpclient *cp;
	const struct keeper_conf *conf;
};

int release_fetch(void *ctx, const char *component, const char *version,
    const char *dest, char *err, size_t errlen);

/*
 * Check a signature text's trusted comment against what was asked for;
 * pure, for unit tests.  *seq gets the sequence number.
 */
int release_check_comment(const char *comment, const char *component,
    const char *version, size_t size, const char *sha256_hex, int64_t *seq,
    char *err, size_t errlen);

#endif
