/*
 * cpclient: the node side of edge-cp's node protocol (docs/protocol.md),
 * used by edge-keeper and by the test and simulation tools.
 *
 *	cpclient_enroll()	make an Ed25519 key pair, prove possession,
 *				register with an enrollment token
 *	cpclient_handshake()	open a session: signed X25519 exchange,
 *				crypto_kx; the node keeps its tx key
 *	cpclient_request()	a tagged request; opens or renews the session
 *				as needed and re-handshakes once on a 401
 *				session_expired (edge-cp restarted, TTL passed)
 *
 * One cpclient holds one httpc, so one kept-alive, pinned connection.
 * Not thread-safe: one per thread.  Secrets (the node key, the session
 * key) are wiped by cpclient_close().
 */
#ifndef EF_CPCLIENT_H
#define EF_CPCLIENT_H

#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/httpc.h"
#include "common/nodeauth.h"

#define CP_ID_MAX 40
#define CP_URL_MAX 512
#define CP_PIN_MAX 128
#define CPCLIENT_RESP_MAX (4u << 20) /* artifacts are streamed */
/* "Authorization: " plus the header value. */
#define CPCLIENT_AUTH_LINE (16 + NODEAUTH_HDR_MAX)
/* Re-handshake this long before edge-cp would expire the session. */
#define CPCLIENT_SESSION_SLACK 60

/* Who the node is and where its edge-cp is. */
struct cp_ident {
	char node_id[CP_ID_MAX]; /* "" before enrollment */
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	char server[CP_URL_MAX];
	char pin[CP_PIN_MAX];
};

/* One session; only in memory, like edge-cp's side of it. */
struct cp_session {
	char sid[NODEAUTH_SIDHEX + 1]; /* "" when none */
	unsigned char key[NODEAUTH_KEYBYTES];
	uint64_t ctr; /* last counter sent */
	int64_t expires_at;
};

struct cpclient {
	struct cp_ident id;
	struct cp_session s;
	struct httpc *h;
	int64_t clock_offset; /* edge-cp's clock minus ours, when known */
};

/*
 * Connect c (zeroed by the caller, c->id.server and c->id.pin set).
 * timeout_ms bounds every request (0: 30 s).  0, or -1 with err.
 */
int cpclient_open(
    struct cpclient *c, long timeout_ms, char *err, size_t errlen);
/* Close the connection and wipe every secret in c. */
void cpclient_close(struct cpclient *c);

int cpclient_enroll(struct cpclient *c, const char *token, const char *hostname,
    json_t *facts, bool bad_sig, struct httpc_resp *resp, char *err,
    size_t errlen);
int cpclient_handshake(struct cpclient *c, char *err, size_t errlen);
int cpclient_request(struct cpclient *c, const char *method, const char *path,
    const char *inm, const void *body, size_t len, struct httpc_resp *resp,
    char *err, size_t errlen);
/*
 * A tagged GET whose 2xx body is streamed to st (common/httpc.h) rather
 * than kept in memory: release artifacts.  Same session handling as
 * cpclient_request(); resp holds the status and any non-2xx body.
 */
int cpclient_download(struct cpclient *c, const char *path,
    const struct httpc_stream *st, struct httpc_resp *resp, char *err,
    size_t errlen);

/* Building blocks, exposed for the attack tests. */
void cpclient_session_clear(struct cp_session *s);
int cpclient_send(struct cpclient *c, const char *method, const char *path,
    const char *auth, const char *inm, const void *body, size_t len,
    struct httpc_resp *resp, char *err, size_t errlen);
int cpclient_auth_line(const struct cp_session *s, const char *node_id,
    const char *method, const char *path, const void *body, size_t len,
    uint64_t ctr, int64_t ts, char *line, size_t linelen);
/* The "code" of an edge-cp error body, or "" when there is none. */
void cpclient_error_code(const struct httpc_resp *r, char *code, size_t len);
/* Our clock corrected by what edge-cp told us of its own. */
int64_t cpclient_now(const struct cpclient *c);

#endif
