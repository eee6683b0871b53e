/*
 * release_keys: edge-cp's current release key and the chain of rotations
 * that led to it (common/relkey.h has the formats).
 *
 * Files in the data directory:
 *
 *	release.pub		the current key: nodes enroll with it, and a
 *				release is signed with it (cp/api_releases.c)
 *	release.rotations	{"rotations":[{"public_key","statement"}...]},
 *				oldest first; each statement signed by the key
 *				before it, the first by the key nodes enrolled
 *				with before any rotation
 *
 * A rotation (release_keys_add) verifies the statement under the current
 * key, appends it to release.rotations, then writes release.pub.  A crash
 * between the two leaves a chain one link ahead of release.pub, which
 * release_keys_load() finishes at the next start (the last statement
 * verifies under release.pub); any other disagreement stops edge-cp.
 *
 *	release.revoked		the newest revocation list (common/relkey.h),
 *	release.revoked.minisig	its signature by the key current when it was
 *				added
 *
 * The desired state names the current key id ("release_key"), so a
 * rotation changes every node's document; a keeper whose key differs
 * fetches the chain (GET /v1/release-keys) and follows it.
 *
 * Thread safety: one mutex over the state; every function may be called
 * from any thread after release_keys_load().
 */
#ifndef EF_CP_RELEASE_KEYS_H
#define EF_CP_RELEASE_KEYS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/minisign.h"
#include "common/relkey.h"

/*
 * At start, after release.pub exists: read it and release.rotations (none
 * when missing), finish a rotation a crash cut short.  -1 with err.
 */
int release_keys_load(const char *data_dir, char *err, size_t errlen);

/* The current key, its file text (MSIG_PUB_TEXT_MAX) and id. */
void release_keys_current(struct msig_pub *pub, char *text, size_t textlen);
void release_keys_current_id(char id[MSIG_KEYIDHEX]);
/* The key has been rotated at least once (release.rotations has a link). */
bool release_keys_rotated(void);

/*
 * Rotate to the key pub_text names, announced by stmt under the current
 * key.  0 with *rot filled and the previous key id in prev; -1 with err
 * when stmt does not verify under the current key, the key was ever used
 * before, the chain is full (RELKEY_CHAIN_MAX), or a write fails
 * (nothing changed then, unless the write of release.pub failed after the
 * chain's: the next start finishes that).  Bumps every node's desired
 * state.
 */
int release_keys_add(const char *pub_text, const char *stmt,
    struct relkey_rotation *rot, char prev[MSIG_KEYIDHEX], char *err,
    size_t errlen);

/*
 * {"key_id","public_key","rotations":[...]}: a new object the caller
 * owns, or NULL when out of memory.
 */
json_t *release_keys_view(void);

/*
 * A revocation list: verified under the current key, its serial above the
 * one edge-cp has; written (signature first, then the list) and every
 * node's desired state bumped ("revocations").  0, or -1 with err.
 */
int release_revoked_add(const char *text, const char *sig,
    struct relkey_revoked *out, char *err, size_t errlen);

/* The serial of the list in force; 0 when there is none. */
int64_t release_revoked_serial(void);

/* {"serial","list","signature"}, or NULL when there is no list. */
json_t *release_revoked_view(void);

#endif
