/*
 * trust: the keeper's side of the signed desired state and of TLS pin
 * rotation (common/statesig.h, cp/tlsrot.h, docs/protocol.md).
 *
 * Files (under --root):
 *	/var/lib/edge-keeper/state.pub	edge-cp's state-signing public key
 *					(base64, one line; a trust anchor)
 *	/var/lib/edge-keeper/desired.sig the signature header of the saved
 *					desired.json
 *	/etc/edge-keeper/keeper.conf	its pin= line: the TLS pins, one or
 *					more "sha256//..." joined by ";"
 *
 * Every desired-state document edge-cp answers with (200) goes through
 * trust_accept() before the keeper parses, saves or uses it:
 *
 *	state.pub there? ──no──▶ the answer's X-Edge-State-Key verifies
 *	     │yes                 this very document: write state.pub
 *	     ▼                    (learned once, over the pinned TLS)
 *	signature by state.pub over "edgefleet-desired-v1\n" node_id "\n"
 *	body, node_id this node's ──bad/missing──▶ refused (-1, why);
 *	     │ok                                   the last good one stays
 *	     ▼
 *	"tls_pins" in it, each "sha256//" + 32 bytes, 1..2 of them, and not
 *	what pin= says ──▶ pin= rewritten (the rest of keeper.conf kept)
 *
 * Upgrade path: a node enrolled before edge-cp signed has no state.pub.
 * It takes the key from the first signed answer over the pinned TLS
 * connection, the channel that enrollment itself trusted for
 * release.pub, and from then on refuses anything unsigned.  The window
 * is one check-in after the keeper is upgraded; an attacker who holds
 * the TLS key and the path during exactly that check-in could plant a
 * key of his own, which is why a fresh enrollment (state.pub from the
 * enrollment answer) is the stronger start, and why a key, once there,
 * is never replaced by what an answer offers.
 *
 * Who does it: state.pub and keeper.conf are trust anchors the keeper's
 * privileged part refuses to let the unprivileged part write (privsep.h).
 * So the unprivileged part, which received the answer, hands the document,
 * its signature and the offered key to the privileged part
 * (PRIV_STATE_TRUST), which verifies it there with its own reading of
 * state.pub and only then writes.  Without the split (user=root, `check`)
 * the same function runs in the one process.
 */
#ifndef EF_KEEPER_TRUST_H
#define EF_KEEPER_TRUST_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cpclient.h"
#include "keeper/keeper.h"

#define TRUST_STATE_PUB "/var/lib/edge-keeper/state.pub"
#define TRUST_DESIRED_SIG "/var/lib/edge-keeper/desired.sig"
#define TRUST_PINS_MAX 2
#define TRUST_DOC_MAX (1u << 20) /* keeper/desired.c's bound */

/*
 * Accept a desired-state answer: body (len bytes) with the signature
 * header sig and the key header offered ("" or NULL when absent), as
 * described above.  write false (`check`) verifies only: state.pub is
 * neither learned nor written, nor are the pins.  pins (CP_PIN_MAX
 * bytes) gets the pins the document announces, "" when it announces
 * none, so the caller can reconnect with them when they changed.  0, or -1 with why in err (nothing written).
 * Through the privileged part when there is one.
 */
int trust_accept(const struct keeper_conf *c, const char *body, size_t len,
    const char *sig, const char *offered, bool write, char *pins,
    size_t pinslen, char *err, size_t errlen);

/* The same, always in this process: what the privileged part runs. */
int trust_accept_direct(const struct keeper_conf *c, const char *body,
    size_t len, const char *sig, const char *offered, bool write, char *pins,
    size_t pinslen, char *err, size_t errlen);

/*
 * Does the saved document verify against state.pub and the saved
 * desired.sig?  The keeper still uses a saved document that does not
 * (one saved by a keeper that did not check signatures), but asks for
 * the next one unconditionally, so it gets a signed one.
 */
bool trust_saved_ok(const struct keeper_conf *c, const char *body, size_t len);
/* Save sig (the header of the document about to be saved). 0 or -1. */
int trust_save_sig(const struct keeper_conf *c, const char *sig);

/* At enrollment: write state.pub from its text.  0, or -1 with err. */
int trust_save_key(
    const struct keeper_conf *c, const char *text, char *err, size_t errlen);

/*
 * Reconnect cp with pins (its session is kept: the key does not change,
 * only which TLS keys are edge-cp's).  0, or -1 with err.
 */
int trust_repin(struct cpclient *cp, const char *pins, long timeout_ms,
    char *err, size_t errlen);

#endif
