/*
 * release_keys: which key verifies a release, and the rotation of the
 * pinned release key (common/relkey.h has the formats).
 *
 * Files (under the keeper's root; all of them trust anchors the
 * privileged part refuses to write for anyone, keeper/privsep.c):
 *
 *	/var/lib/edge-keeper/release.pub	the current key, pinned at
 *						enrollment or installed by a
 *						rotation
 *	/var/lib/edge-keeper/release.retired	the keys rotated away, each
 *						with its cut-off sequences
 *	/var/lib/edge-keeper/release.revoked	the newest revocation list
 *						(common/relkey.h), verified
 *						under the pinned key before
 *						it was written
 *
 * A rotation goes:
 *
 *	desired state names a key id ("release_key") other than the last
 *	one synced ─▶ GET /v1/release-keys (the unprivileged part) ─▶ each
 *	{public_key, statement} in order to release_key_rotate() (the
 *	privileged part): verified under the pinned key, or skipped when
 *	another key signed it ─▶ the pinned key appended to release.retired
 *	with the statement's cut-offs ─▶ the new key written to release.pub
 *
 * The retired list is written before release.pub: a crash between them
 * leaves the old key pinned and retired at once, and release_key_for()
 * looks in the retired list first, so its cut-off holds; the next sync
 * verifies the same statement under it again and finishes.  A statement
 * is only ever verified under the key pinned now, so a chain is followed
 * one link at a time, and nothing but the pinned key's holder can move
 * the pin.
 *
 * Called from the reconcile thread (release_keys_sync) and the
 * privileged part's main channel (release_key_rotate, release_key_for).
 */
#ifndef EF_KEEPER_RELEASE_KEYS_H
#define EF_KEEPER_RELEASE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/minisign.h"
#include "keeper/release.h"

/*
 * The key to verify sig (a signature text) for component with: a retired
 * key that names the same key id, with its cut-off for the component in
 * *cutoff; else the pinned key, *cutoff -1 (none).  A signature by a key
 * that is neither gets the pinned key, which then refuses it by its key
 * id.  A retired list that does not parse is ignored with a warning: the
 * old keys then verify nothing.  0, or -1 when no key is pinned.
 */
int release_key_for(struct release_ctx *ctx, const char *component,
    const char *sig, struct msig_pub *key, int64_t *cutoff, char *err,
    size_t errlen);

/*
 * Install the key pub_text announces, when stmt verifies under the pinned
 * key (see above).  0 with *installed true, or false when stmt is by
 * another key (nothing changed); -1 with err when it does not verify, is
 * not a rotation, announces a retired key, or a write fails.  Directly,
 * as root: the privileged part's side of PRIV_RELEASE_KEY.
 */
int release_key_rotate(struct release_ctx *ctx, const char *pub_text,
    const char *stmt, bool *installed, char *err, size_t errlen);

/*
 * The desired state announces key id announced ("" when edge-cp names
 * none): when it is not the one last synced, fetch edge-cp's rotations
 * and install those that follow the pinned key (through the privileged
 * part when there is one).  Once edge-cp has answered, the id counts as
 * synced whatever the outcome (a chain that does not lead to it is logged
 * once, not fetched every pass); an unreachable edge-cp is tried again at
 * the next call.  Returns the number of keys installed, or -1 with err,
 * also when the chain, followed, does not end at the announced key.
 */
int release_keys_sync(
    struct release_ctx *ctx, const char *announced, char *err, size_t errlen);

/*
 * Is this release revoked by the installed list?  1 with the reason in
 * err, 0 when not (also when there is no list; a list that does not parse
 * is ignored with a warning: only the privileged part writes it, after
 * verifying it).
 */
int release_revoked(struct release_ctx *ctx, const char *component,
    const char *version, int64_t seq, char *err, size_t errlen);

/*
 * Install a revocation list (text, sig) when it verifies under the pinned
 * key and its serial is above the installed one's: 0 with *installed
 * true; 0 with false for a list not newer (nothing changed); -1 with err.
 * The privileged part's side of PRIV_RELEASE_REVOKED.
 */
int release_revoked_install(struct release_ctx *ctx, const char *text,
    const char *sig, bool *installed, char *err, size_t errlen);

/*
 * The desired state names revocation list serial (0: none): when it is
 * above the one last synced, fetch GET /v1/release-revocations and
 * install it (through the privileged part when there is one).  1 when a
 * list was installed, 0 when nothing was to do, -1 with err.
 */
int release_revoked_sync(
    struct release_ctx *ctx, int64_t serial, char *err, size_t errlen);

#endif
