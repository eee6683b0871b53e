/*
 * statesig: the signature over a desired-state document (docs/protocol.md,
 * "Signed desired state").  edge-cp signs every desired-state answer with
 * its state-signing key (DATA_DIR/state.key, Ed25519); the keeper checks
 * it against the key it pinned at enrollment (state.pub) before it saves
 * or uses the document.  So whoever holds edge-cp's TLS key, and with it
 * the path to the nodes, still cannot hand a node a document of its own.
 *
 * What is signed (Ed25519ph, RFC 8032's prehashed Ed25519, as libsodium's
 * crypto_sign_init/update/final do it, so a 1 MiB document is hashed in
 * place rather than copied):
 *
 *	"edgefleet-desired-v1\n" node_id "\n" body
 *
 * body is the answer's exact bytes.  The node id binds a document to the
 * node it was made for: one node's signed document is refused by every
 * other.  The domain string keeps the key from signing anything that
 * could be taken for another message.
 *
 * The header, one line, fields separated by one space:
 *
 *	X-Edge-State-Signature: ed25519ph <key id: 16 hex> <signature: base64>
 *
 * The key id is the first 8 bytes of SHA-256 of the public key: a node
 * can tell "signed by a key I do not hold" from "does not verify".
 * Parsing is strict (exact spelling, lower-case hex, canonical base64,
 * nothing after); anything else is malformed.
 *
 * A state public key travels as its base64 text (44 characters), in the
 * enrollment answer, the X-Edge-State-Key header, and the keeper's
 * state.pub (that text and a newline).
 *
 * Everything here is pure (no I/O, no allocation) and thread-safe.
 * Functions return 0, or -1 with one line of text in err.
 */
#ifndef EF_STATESIG_H
#define EF_STATESIG_H

#include <sodium.h>
#include <stddef.h>

#define STATESIG_DOMAIN "edgefleet-desired-v1"
#define STATESIG_HEADER "X-Edge-State-Signature"
#define STATESIG_KEY_HEADER "X-Edge-State-Key"
#define STATESIG_SCHEME "ed25519ph"
#define STATESIG_KEYID_BYTES 8
/* "ed25519ph " + 16 hex + " " + 88 base64 + NUL, with room. */
#define STATESIG_HDR_MAX 128
/* Base64 of a 32-byte key (44) + NUL, with room. */
#define STATESIG_PUB_TEXT_MAX 64
/* Node ids are short and never hold a newline (cp: "n-" + 12 hex). */
#define STATESIG_NODE_ID_MAX 39

struct statesig {
	unsigned char keyid[STATESIG_KEYID_BYTES];
	unsigned char sig[crypto_sign_BYTES];
};

/* The key id of pk. */
void statesig_keyid(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
    unsigned char id[STATESIG_KEYID_BYTES]);

/*
 * Sign body for node_id with sk and write the header value (without the
 * name) to hdr.  -1 when node_id is empty, too long or holds a newline,
 * or hdr is too small.
 */
int statesig_sign(const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    const char *node_id, const void *body, size_t len, char *hdr,
    size_t hdrlen);

/* Parse a header value into s (strict, see above). */
int statesig_parse(
    const char *hdr, struct statesig *s, char *err, size_t errlen);

/*
 * Does hdr (a header value; NULL or "" for none) carry a signature by pk
 * over body for node_id?  err says which of: no signature, malformed,
 * another key (its id), or does not verify.
 */
int statesig_verify(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
    const char *node_id, const void *body, size_t len, const char *hdr,
    char *err, size_t errlen);

/* A public key as text, and back (one trailing newline allowed). */
int statesig_pub_encode(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
    char *out, size_t outlen);
int statesig_pub_decode(const char *text, size_t len,
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], char *err, size_t errlen);

#endif
