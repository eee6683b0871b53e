/*
 * nodeauth: how a node proves who it is to edge-cp (docs/protocol.md).
 *
 * Three messages, each with its own domain-separation prefix so a
 * signature or tag made for one can never be accepted as another:
 *
 *  1. Enrollment (once).  The node generates an Ed25519 key pair and signs
 *	"edgefleet-enroll-v1\n" token "\n" public_key_b64 "\n" hostname
 *     proving it holds the secret key that goes with the public key it
 *     registers.
 *
 *  2. Session handshake (at start, on expiry, after an edge-cp restart).
 *     The node makes an ephemeral X25519 key pair and signs
 *	"edgefleet-session-v1\n" node_id "\n" ts "\n" kx_public_key_b64
 *     with its Ed25519 key.  edge-cp answers with its own ephemeral X25519
 *     key; both sides derive the session key with crypto_kx, the node as
 *     client (its tx key), edge-cp as server (its rx key).  A replayed
 *     handshake opens a session whose key the replayer cannot derive.
 *
 *  3. Every later request carries
 *	Authorization: EdgeNode sid=<32 hex>,ctr=<u64>,ts=<unix s>,tag=<b64url>
 *     where tag = crypto_auth(session key,
 *	"edgefleet-req-v1\n" METHOD "\n" PATH "\n" node_id "\n" ctr "\n" ts
 *	"\n" hex(sha256(body))).
 *     ctr is strictly increasing per session (replays and reordering are
 *     refused), ts must be within NODEAUTH_MAX_SKEW of edge-cp's clock.
 *     Verifying costs one HMAC-SHA512-256 over ~150 bytes.
 *
 * Everything here is pure: no I/O, no allocation, thread-safe.  Message
 * builders return the length written (without NUL), or -1 when buf is too
 * small or an argument contains a newline.
 */
#ifndef EF_NODEAUTH_H
#define EF_NODEAUTH_H

#include <stddef.h>
#include <stdint.h>

#define NODEAUTH_KEYBYTES 32 /* crypto_auth_KEYBYTES */
#define NODEAUTH_TAGBYTES 32 /* crypto_auth_BYTES */
#define NODEAUTH_SIDBYTES 16
#define NODEAUTH_SIDHEX (NODEAUTH_SIDBYTES * 2)
#define NODEAUTH_MAX_SKEW 300 /* seconds */
#define NODEAUTH_HDR_MAX 160

struct nodeauth_hdr {
	char sid[NODEAUTH_SIDHEX + 1];
	uint64_t ctr;
	int64_t ts;
	unsigned char tag[NODEAUTH_TAGBYTES];
};

/* Parse an Authorization header value.  Strict: exact field order. */
int nodeauth_parse(const char *value, struct nodeauth_hdr *out);
/* Format the header value (without "Authorization: "). */
int nodeauth_format(char *buf, size_t len, const struct nodeauth_hdr *h);

void nodeauth_body_hash(const void *body, size_t len, unsigned char out[32]);
int nodeauth_tag(const unsigned char key[NODEAUTH_KEYBYTES], const char *method,
    const char *path, const char *node_id, uint64_t ctr, int64_t ts,
    const unsigned char body_hash[32], unsigned char tag[NODEAUTH_TAGBYTES]);
/* 0 when the tag matches (constant time), -1 otherwise. */
int nodeauth_check(const unsigned char key[NODEAUTH_KEYBYTES],
    const char *method, const char *path, const char *node_id,
    const struct nodeauth_hdr *h, const unsigned char body_hash[32]);

int nodeauth_enroll_msg(char *buf, size_t len, const char *token,
    const char *public_key_b64, const char *hostname);
int nodeauth_session_msg(char *buf, size_t len, const char *node_id, int64_t ts,
    const char *kx_public_key_b64);

#endif
