/*
 * simnode: a simulated node's identity and its side of the node protocol
 * (docs/protocol.md, common/nodeauth.h), on top of simnet.  The requests
 * are those of tests/tools/nodeclient.c, the reference node client, and of
 * edge-keeper:
 *
 *	simnode_enroll()	an Ed25519 key pair, proof of possession
 *	simnode_session()	a signed X25519 handshake; crypto_kx gives
 *				the session key
 *	simnode_request()	any later request, tagged with the session key
 *				and a strictly increasing counter
 *
 * A session belongs to the node, not to a TCP connection (cp/session.c
 * keys it by its id), so a node may use any pooled connection for any
 * request; only one request of a node may be in flight at a time, or the
 * server would see its counters out of order.
 *
 * A struct simnode is about 250 bytes and owns no memory: arrays of tens
 * of thousands are fine.  The secret keys in it are wiped by
 * simnode_wipe(); the ephemeral X25519 secret as soon as the handshake
 * answer is used.
 *
 * The request functions return 0 when the request is queued (its callback
 * follows, see simnet.h), -1 when it could not be built or queued (the
 * callback will not be called).  The answer functions return 0, or -1 with
 * a message in err; they check the HTTP status themselves.
 */
#ifndef EF_SIMNODE_H
#define EF_SIMNODE_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "common/nodeauth.h"
#include "tests/fleetsim/simnet.h"

#define SIMNODE_ID_MAX 40

struct simnode {
	char id[SIMNODE_ID_MAX]; /* "" until enrolled */
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	unsigned char kx_pk[crypto_kx_PUBLICKEYBYTES];
	unsigned char kx_sk[crypto_kx_SECRETKEYBYTES];
	char sid[NODEAUTH_SIDHEX + 1]; /* "" without a session */
	unsigned char key[NODEAUTH_KEYBYTES];
	uint64_t ctr;
};

/*
 * POST /v1/enroll with a new key pair (n need not be initialised).  token:
 * an enrollment token; hostname: [A-Za-z0-9.-], at most 253 bytes.
 */
int simnode_enroll(struct simnode *n, struct simnet_conn *c, const char *token,
    const char *hostname, simnet_done_fn *done, void *arg);
/* Its answer: 201 and the node id. */
int simnode_enrolled(
    struct simnode *n, const struct simnet_resp *r, char *err, size_t errlen);

/* POST /v1/node/session: a new session, replacing any old one. */
int simnode_session(
    struct simnode *n, struct simnet_conn *c, simnet_done_fn *done, void *arg);
/* Its answer: 201, the session id and the server's key exchange key. */
int simnode_session_opened(
    struct simnode *n, const struct simnet_resp *r, char *err, size_t errlen);

/*
 * A tagged request in the node's session.  hdrs: extra header lines, each
 * ending in CRLF ("" for none).  body may be NULL when body_len is 0.
 */
int simnode_request(struct simnode *n, struct simnet_conn *c,
    const char *method, const char *path, const char *hdrs, const char *body,
    size_t body_len, simnet_done_fn *done, void *arg);

/*
 * The "code" of an error answer ({"error":{"code":...}}) into code; ""
 * when the body is not one.  A 401 "session_expired" means: handshake
 * again (edge-cp restarted, or the session outlived SESSION_TTL).
 */
void simnode_error_code(const struct simnet_resp *r, char *code, size_t len);

/* Wipe the keys (and everything else) of n. */
void simnode_wipe(struct simnode *n);

#endif
