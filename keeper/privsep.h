/*
 * privsep: the privileged part of `edge-keeper run` (the split, the wire
 * and the list of what is refused: common/priv.h).
 *
 *	privsep_start ─fork─▶ child: drop to keeper.conf's user (setgroups,
 *	  │                    setgid, setuid; setuid(0) must fail after),
 *	  │                    no new privileges, killed with the parent;
 *	  │                    returns 0 and goes on as the keeper
 *	  └─ parent: never returns.  A thread per channel reads a request,
 *	     checks it (privsep_path_ok, the allow lists), does it with the
 *	     direct primitive and answers.  SIGTERM/SIGINT are passed to the
 *	     child.  When the child is gone: exec the new keeper if the child
 *	     began a self-update, else exit with the child's status.
 *
 * The parent keeps the node's secret key (the child's copy is wiped:
 * PRIV_SIGN signs only this node's session handshakes) and is the only
 * one that writes the trust anchors and runs release binaries, each
 * verified against the pinned release key right before it runs.
 *
 * With user "root" in keeper.conf there is no split: privsep_start
 * returns 0 in the one process and every primitive acts directly.
 */
#ifndef EF_KEEPER_PRIVSEP_H
#define EF_KEEPER_PRIVSEP_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>

#include "keeper/keeper.h"

/*
 * Split the process.  Returns 0 in the child (unprivileged, the channels
 * set); -1 with err when it cannot (nothing was started).  sk is copied
 * for the parent; the caller wipes its own after.
 */
int privsep_start(const struct keeper_conf *c,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES], char *err,
    size_t errlen);

/*
 * May the child name path (the root's prefix included) for an operation?
 * Absolute and plain (privsep_plain); for a change (write) also none of
 * the trust anchors, and under keeper.conf's write_allow when it says
 * anything; for a read, not node.key.  true, or false with why.
 */
bool privsep_path_ok(const struct keeper_conf *c, const char *path, bool write,
    char *why, size_t len);
/* Absolute, no "." or ".." component, no "//", shorter than PRIV_PATH_MAX. */
bool privsep_plain(const char *path, size_t len);

#endif
