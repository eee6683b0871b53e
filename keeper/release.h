/*
 * release: fetch a release artifact from edge-cp and prove it is the one
 * edge-cp signed for this component and version before anything runs it.
 *
 * Admission checks, in order: the minisign signature (prehashed Ed25519)
 * against the release key pinned at enrollment; the trusted comment names
 * exactly this component and version, the artifact's size and SHA-256; its
 * sequence number is not below the highest one ever admitted for the
 * component, unless the desired state allows a rollback explicitly (an
 * old, validly signed release cannot be replayed as "new").
 *
 * release_fetch() downloads into an anonymous memory file (memfd): the
 * download stops above the size the signature names (or
 * RELEASE_MAX_BYTES), when it is slower than RELEASE_LOW_SPEED_BPS for
 * RELEASE_LOW_SPEED_S seconds, after RELEASE_TIMEOUT_S, and as soon as
 * the keeper is asked to stop (SIGTERM or SIGINT pending).  Then
 * release_install() -- in the keeper's privileged part when there is one
 * -- copies it to DEST.part (fsynced), computing SHA-256 and size, and
 * once admitted removes a DEST already there, writes the signature to
 * DEST.minisig and renames DEST.part to DEST (then fsyncs the directory):
 * an installed binary always has its signature beside it, whatever write
 * fails or wherever the keeper is killed.  A .part left by a kill is
 * overwritten by the next install, never used.
 *
 * release_verify() admits an installed binary again before each start, so
 * a binary changed on disk after installation is never run: on a bad
 * signature or hash the file is removed (the next pass downloads it
 * again); on a refused rollback it is left alone.
 *
 * The highest admitted sequence per component is kept in
 * /var/lib/edge-keeper/<component>.seq; it never goes down, also not
 * after an allowed rollback.  Nor may it jump: a release whose sequence is
 * more than RELEASE_SEQ_JUMP_MAX above the watermark is refused, so a
 * stolen release key that signs sequence 2^62 cannot make the node refuse
 * every genuine release after it.  edge-cp numbers the uploads of a
 * component one by one, so a genuine jump that large means a node that
 * missed ten thousand releases of one component (at ten uploads a day,
 * close to three years); such a node is re-enrolled.  A node that has
 * admitted nothing yet (no watermark) has nothing to measure a jump from.
 * Beside them, profile.seq keeps the highest profile version the keeper
 * applied (threat T38): keeper/run.c refuses a desired state below it
 * unless the document says "rollback": true for its profile.  All three
 * are trust anchors: only the privileged part writes them
 * (keeper/privsep.c), and none ever goes down.
 *
 * Called from the reconcile thread (step_host).
 */
#ifndef EF_KEEPER_RELEASE_H
#define EF_KEEPER_RELEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cpclient.h"
#include "common/minisign.h"
#include "common/relkey.h"
#include "keeper/keeper.h"

#define RELEASE_MAX_BYTES (512u << 20)
#define RELEASE_LOW_SPEED_BPS 1024L
#define RELEASE_LOW_SPEED_S 30L
#define RELEASE_TIMEOUT_S 900L
/* How far above the watermark a sequence may be (see above). */
#define RELEASE_SEQ_JUMP_MAX RELKEY_SEQ_JUMP_MAX

struct release_ctx {
	struct cpclient *cp;
	const struct keeper_conf *conf;
	/* The release key id last synced (keeper/release_keys.h). */
	char key_synced[MSIG_KEYIDHEX];
	/* The revocation list serial last synced. */
	int64_t revoked_synced;
};

int release_fetch(void *ctx, const char *component, const char *version,
    const char *dest, bool allow_rollback, char *err, size_t errlen);
/*
 * Install the artifact whose bytes fd holds (read from offset 0) at dest,
 * after the admission checks against sig; dest's directory is made.  What
 * release_fetch does with its download; the keeper's privileged part does
 * it for the downloads of the unprivileged one (common/priv.h).
 */
int release_install(struct release_ctx *ctx, const char *component,
    const char *version, const char *dest, bool allow_rollback, const char *sig,
    int fd, char *err, size_t errlen);
int release_verify(void *ctx, const char *component, const char *version,
    const char *path, bool allow_rollback, char *err, size_t errlen);

/*
 * A mark: name "dataplane" or "keeper" (the highest release sequence
 * admitted) or "profile" (the highest profile version applied); 0 when
 * none was recorded or the file does not hold a number.
 */
int64_t release_mark(const struct keeper_conf *c, const char *name);
/*
 * Raise the profile mark to version when it is higher (never lowers
 * it), through the privileged part when there is one
 * (PRIV_PROFILE_MARK).  0, or -1 with err.
 */
int release_profile_mark(
    const struct keeper_conf *c, int64_t version, char *err, size_t errlen);

/*
 * Check a signature text's trusted comment against what was asked for;
 * pure, for unit tests.  *seq gets the sequence number.
 */
int release_check_comment(const char *comment, const char *component,
    const char *version, size_t size, const char *sha256_hex, int64_t *seq,
    char *err, size_t errlen);

#endif
