/*
 * Unit tests of request authentication: common/nodeauth (header format,
 * tags) and cp/session (valid, tampered, replayed, stale, revoked), plus
 * the token format and keyed hashing of cp/auth.
 */
#include <sodium.h>
#include <string.h>

#include "check.h"
#include "common/nodeauth.h"
#include "common/util.h"
#include "cp/auth.h"
#include "cp/live.h"
#include "cp/server.h"
#include "cp/session.h"

static unsigned char key[32];
static char sid[NODEAUTH_SIDHEX + 1];
static uint64_t ctr;
static int64_t now;

/* Build a header for a request as a node would. */
static void
sign(struct nodeauth_hdr *h, const char *method, const char *path,
    const char *node_id, const char *body, uint64_t c, int64_t ts)
{
	unsigned char bh[32];

	memcpy(h->sid, sid, sizeof(h->sid));
	h->ctr = c;
	h->ts = ts;
	nodeauth_body_hash(body, strlen(body), bh);
	nodeauth_tag(key, method, path, node_id, c, ts, bh, h->tag);
}

static enum session_rc
auth(const struct nodeauth_hdr *h, const char *method, const char *path,
    const char *body)
{
	unsigned char bh[32];
	struct live_node *n = NULL;
	enum session_rc rc;

	nodeauth_body_hash(body, strlen(body), bh);
	rc = session_auth(h, method, path, bh, now, &n);
	live_put(n);
	return rc;
}

TEST(header_round_trip)
{
	struct nodeauth_hdr h, p;
	char buf[NODEAUTH_HDR_MAX];

	memset(&h, 0, sizeof(h));
	memset(h.sid, 'a', NODEAUTH_SIDHEX);
	h.sid[NODEAUTH_SIDHEX] = '\0';
	h.ctr = 18446744073709551615ull;
	h.ts = 1795528559;
	memset(h.tag, 7, sizeof(h.tag));
	CHECK(nodeauth_format(buf, sizeof(buf), &h) > 0);
	CHECK(nodeauth_parse(buf, &p) == 0);
	CHECK(p.ctr == h.ctr && p.ts == h.ts);
	CHECK(memcmp(p.tag, h.tag, 32) == 0);
	CHECK_STR(p.sid, h.sid);
}

TEST(header_rejects_malformed)
{
	struct nodeauth_hdr p;
	const char *bad[] = {
		"",
		"Bearer x",
		"EdgeNode sid=zz,ctr=1,ts=1,tag=AAAA",
		"EdgeNode "
		"sid=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,ctr=-1,ts=1,tag=A",
		"EdgeNode "
		"sid=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,ctr=1,ts=1,tag=AA",
		"EdgeNode "
		"sid=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,ts=1,ctr=1,tag=A",
		"EdgeNode "
		"sid=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,ctr=1,ts=1,tag=A",
		"EdgeNode "
		"sid=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,ctr=99999999999999"
		"999999999,ts=1,tag=A",
		NULL,
	};
	int i;

	for (i = 0; bad[i] != NULL; i++)
		CHECK(nodeauth_parse(bad[i], &p) != 0);
}

TEST(session_accepts_valid_request)
{
	struct nodeauth_hdr h;

	sign(&h, "GET", "/v1/node/desired", "n-1", "", ++ctr, now);
	CHECK(auth(&h, "GET", "/v1/node/desired", "") == SESSION_OK);
	sign(&h, "POST", "/v1/node/status", "n-1", "{}", ++ctr, now - 100);
	CHECK(auth(&h, "POST", "/v1/node/status", "{}") == SESSION_OK);
}

TEST(session_rejects_tampering)
{
	struct nodeauth_hdr h;

	sign(&h, "POST", "/v1/node/status", "n-1", "{\"a\":1}", ++ctr, now);
	CHECK(auth(&h, "POST", "/v1/node/status", "{\"a\":2}") ==
	    SESSION_BAD_TAG);
	CHECK(
	    auth(&h, "PUT", "/v1/node/status", "{\"a\":1}") == SESSION_BAD_TAG);
	CHECK(auth(&h, "POST", "/v1/node/desired", "{\"a\":1}") ==
	    SESSION_BAD_TAG);
	/* Tagged for another node's id. */
	sign(&h, "GET", "/v1/node/desired", "n-2", "", ++ctr, now);
	CHECK(auth(&h, "GET", "/v1/node/desired", "") == SESSION_BAD_TAG);
	/* The counter is covered by the tag. */
	sign(&h, "GET", "/v1/node/desired", "n-1", "", ++ctr, now);
	h.ctr++;
	CHECK(auth(&h, "GET", "/v1/node/desired", "") == SESSION_BAD_TAG);
}

TEST(session_rejects_replay_and_reorder)
{
	struct nodeauth_hdr a, b;

	sign(&a, "GET", "/v1/node/desired", "n-1", "", ++ctr, now);
	sign(&b, "GET", "/v1/node/desired", "n-1", "", ++ctr, now);
	CHECK(auth(&b, "GET", "/v1/node/desired", "") == SESSION_OK);
	CHECK(auth(&b, "GET", "/v1/node/desired", "") == SESSION_REPLAY);
	CHECK(auth(&a, "GET", "/v1/node/desired", "") == SESSION_REPLAY);
}

TEST(session_rejects_stale_and_future)
{
	struct nodeauth_hdr h;

	sign(&h, "GET", "/v1/node/desired", "n-1", "", ++ctr,
	    now - NODEAUTH_MAX_SKEW - 1);
	CHECK(auth(&h, "GET", "/v1/node/desired", "") == SESSION_CLOCK);
	sign(&h, "GET", "/v1/node/desired", "n-1", "", ++ctr,
	    now + NODEAUTH_MAX_SKEW + 1);
	CHECK(auth(&h, "GET", "/v1/node/desired", "") == SESSION_CLOCK);
}

TEST(session_unknown_and_expired)
{
	struct nodeauth_hdr h;
	int64_t saved = now;

	sign(&h, "GET", "/v1/node/desired", "n-1", "", ++ctr, now);
	h.sid[0] = h.sid[0] == 'a' ? 'b' : 'a';
	CHECK(auth(&h, "GET", "/v1/node/desired", "") == SESSION_UNKNOWN);
	now += SESSION_TTL + 1;
	sign(&h, "GET", "/v1/node/desired", "n-1", "", ++ctr, now);
	CHECK(auth(&h, "GET", "/v1/node/desired", "") == SESSION_UNKNOWN);
	now = saved;
}

TEST(session_per_node_bound)
{
	struct live_node *n = live_get("n-1");
	char s[NODEAUTH_SIDHEX + 1];
	unsigned char k[32] = { 0 };
	size_t before = session_count();
	int64_t exp;
	int i;

	CHECK(n != NULL);
	for (i = 0; i < 10; i++)
		CHECK(session_open(n, k, now + i, s, &exp) == 0);
	live_put(n);
	CHECK(session_count() <= before + LIVE_SESSIONS);
}

TEST(session_refused_after_revocation)
{
	struct nodeauth_hdr h;
	struct live_node *n;
	int64_t exp;

	CHECK(live_add("n-9", "p", (unsigned char[32]){ 0 }, false, 0) == 0);
	n = live_get("n-9");
	CHECK(n != NULL);
	CHECK(session_open(n, key, now, sid, &exp) == 0);
	live_put(n);
	sign(&h, "GET", "/v1/node/desired", "n-9", "", 1, now);
	CHECK(auth(&h, "GET", "/v1/node/desired", "") == SESSION_OK);
	live_remove("n-9");
	sign(&h, "GET", "/v1/node/desired", "n-9", "", 2, now);
	CHECK(auth(&h, "GET", "/v1/node/desired", "") == SESSION_REVOKED);
}

TEST(handshake_replay_refused)
{
	struct live_node *n = live_get("n-1");
	unsigned char kx[32], other[32];
	int i;

	CHECK(n != NULL);
	randombytes_buf(kx, sizeof(kx));
	CHECK(live_kx_fresh(n, kx) == 0);
	CHECK(live_kx_fresh(n, kx) == -1);
	/* Still refused after a few other handshakes. */
	for (i = 0; i < LIVE_KX_SEEN - 1; i++) {
		randombytes_buf(other, sizeof(other));
		CHECK(live_kx_fresh(n, other) == 0);
	}
	CHECK(live_kx_fresh(n, kx) == -1);
	live_put(n);
}

TEST(tokens_are_keyed_hashes)
{
	char t[AUTH_TOKEN_LEN], t2[AUTH_TOKEN_LEN];
	unsigned char h1[32], h2[32];

	CHECK(auth_token_new("efa", t, sizeof(t)) == 0);
	CHECK(auth_token_new("efa", t2, sizeof(t2)) == 0);
	CHECK(strlen(t) == 47 && strncmp(t, "efa_", 4) == 0);
	CHECK(strcmp(t, t2) != 0);
	CHECK(auth_token_hash(t, h1) == 0);
	CHECK(auth_token_hash(t, h2) == 0);
	CHECK(memcmp(h1, h2, 32) == 0);
	/* Another key, another hash: a dump without hash.key is useless. */
	cp.hash_key[0] ^= 1;
	CHECK(auth_token_hash(t, h2) == 0);
	cp.hash_key[0] ^= 1;
	CHECK(memcmp(h1, h2, 32) != 0);
	CHECK(auth_token_hash("efa_short", h1) == -1);
	t[10] = '!';
	CHECK(auth_token_hash(t, h1) == -1);
	CHECK(auth_token_hash("", h1) == -1);
}

int
main(void)
{
	struct live_node *n;
	int64_t exp;

	if (sodium_init() < 0)
		return 1;
	randombytes_buf(cp.hash_key, sizeof(cp.hash_key));
	now = util_now();
	randombytes_buf(key, sizeof(key));
	live_add("n-1", "p", (unsigned char[32]){ 0 }, false, 0);
	n = live_get("n-1");
	if (n == NULL || session_open(n, key, now, sid, &exp) != 0)
		return 1;
	live_put(n);
	RUN(header_round_trip);
	RUN(header_rejects_malformed);
	RUN(session_accepts_valid_request);
	RUN(session_rejects_tampering);
	RUN(session_rejects_replay_and_reorder);
	RUN(session_rejects_stale_and_future);
	RUN(session_unknown_and_expired);
	RUN(session_per_node_bound);
	RUN(session_refused_after_revocation);
	RUN(handshake_replay_refused);
	RUN(tokens_are_keyed_hashes);
	session_shutdown();
	live_shutdown();
	return check_done();
}
