/*
 * statekey: edge-cp's state-signing key, with which every desired-state
 * answer to a node is signed (common/statesig.h has the format).
 *
 * DATA_DIR/state.key holds the 32-byte Ed25519 seed in hex (0600),
 * created at first start like hash.key.  It is a key of its own, not the
 * TLS key and not the release key: the TLS key must live in the serving
 * process (it is what a network attacker steals), the release key should
 * leave it (T48), and the state key signs what only edge-cp's database
 * knows, per node and per request, so it has to be online but need not
 * be on the TLS path's side of any split.
 *
 * statekey_init() runs once at start-up before any thread; the rest is
 * read-only afterwards and safe from every thread.
 */
#ifndef EF_CP_STATEKEY_H
#define EF_CP_STATEKEY_H

#include <sodium.h>
#include <stddef.h>

/* The key pair from its seed (the caller wipes its copy). */
void statekey_init(const unsigned char seed[crypto_sign_SEEDBYTES]);
/* The public key as nodes pin it (base64). */
const char *statekey_pub_text(void);
/*
 * The X-Edge-State-Signature value for body as sent to node_id; 0, or
 * -1 when node_id cannot be signed for or hdr is too small.
 */
int statekey_sign(
    const char *node_id, const void *body, size_t len, char *hdr, size_t n);

#endif
