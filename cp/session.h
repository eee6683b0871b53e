/*
 * session: node sessions, in memory only (docs/protocol.md).
 *
 * A session is opened by an Ed25519-signed handshake (session_open) and
 * holds a 32-byte key derived with crypto_kx.  Every later node request is
 * checked by session_auth: the tag, a strictly increasing counter and a
 * fresh timestamp.  Keys never touch the disk, so a copy of the database
 * cannot act as a node; an edge-cp restart simply makes nodes handshake
 * again.
 *
 * Session life:   open ──(expires_at, SESSION_TTL)──▶ gone
 *                   │
 *                   └── node deleted (live_node revoked) ──▶ refused
 *
 * At most LIVE_SESSIONS sessions per node: opening one more evicts the
 * oldest, so replayed or repeated handshakes cannot grow the table.
 *
 * Thread-safe; session_auth takes one striped lock and computes one HMAC.
 */
#ifndef EF_SESSION_H
#define EF_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "common/nodeauth.h"
#include "cp/live.h"

#define SESSION_TTL 3600

enum session_rc {
	SESSION_OK = 0,
	SESSION_UNKNOWN = -1, /* no such session, expired: handshake again */
	SESSION_BAD_TAG = -2,
	SESSION_REPLAY = -3, /* counter not above the last one */
	SESSION_CLOCK = -4,  /* timestamp outside the allowed skew */
	SESSION_REVOKED = -5,
};

/*
 * Register a session for node n (the caller verified the handshake) with
 * the derived key.  Writes the session id (hex) to sid.  Takes its own
 * reference on n.  Returns 0, or -1 on allocation failure.
 */
int session_open(struct live_node *n, const unsigned char key[32], int64_t now,
    char sid[NODEAUTH_SIDHEX + 1], int64_t *expires_at);

/*
 * Authenticate one request.  On SESSION_OK *node is the node, referenced
 * (live_put when done).
 */
enum session_rc session_auth(const struct nodeauth_hdr *h, const char *method,
    const char *path, const unsigned char body_hash[32], int64_t now,
    struct live_node **node);

/* End every session of a node (on delete; revocation also covers it). */
void session_close_node(struct live_node *n);
/* Drop expired and revoked sessions; called from a background tick. */
void session_expire(int64_t now);
size_t session_count(void);
void session_shutdown(void);

const char *session_rc_str(enum session_rc rc);

#endif
