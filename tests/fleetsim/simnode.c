#include "tests/fleetsim/simnode.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/util.h"

/* Check-ins have no body: its hash is computed once. */
static unsigned char simnode_empty_hash[32];
static bool simnode_empty_done;

static void
simnode_answer_err(
    const struct simnet_resp *r, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: HTTP %d %.200s", what, r->status, r->body);
}

/* Proof of possession: the new key signs the token and itself. */
int
simnode_enroll(struct simnode *n, struct simnet_conn *c, const char *token,
    const char *hostname, simnet_done_fn *done, void *arg)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
	char pk_b64[64], sig_b64[128], msg[512], body[1024];
	int len, ret = -1;

	memset(n, 0, sizeof(*n));
	crypto_sign_keypair(pk, n->sk);
	util_b64(pk_b64, sizeof(pk_b64), pk, sizeof(pk));
	len = nodeauth_enroll_msg(msg, sizeof(msg), token, pk_b64, hostname);
	if (len < 0)
		goto out;
	crypto_sign_detached(
	    sig, NULL, (const unsigned char *)msg, (size_t)len, n->sk);
	util_b64(sig_b64, sizeof(sig_b64), sig, sizeof(sig));
	len = snprintf(body, sizeof(body),
	    "{\"token\":\"%s\",\"public_key\":"
	    "\"%s\",\"hostname\":\"%s\",\"signature\":\"%s\"}",
	    token, pk_b64, hostname, sig_b64);
	if (len < 0 || (size_t)len >= sizeof(body))
		goto out;
	ret = simnet_request(
	    c, "POST", "/v1/enroll", "", body, (size_t)len, done, arg);
out:
	sodium_memzero(msg, sizeof(msg));
	sodium_memzero(body, sizeof(body));
	return ret;
}

int
simnode_enrolled(
    struct simnode *n, const struct simnet_resp *r, char *err, size_t errlen)
{
	json_t *o = NULL;
	const char *id = NULL;
	char sub[256];
	int ret = -1;

	if (r->status != 201) {
		simnode_answer_err(r, "enroll", err, errlen);
		return -1;
	}
	if (json_parse_strict(r->body, r->body_len, SIMNET_RESP_MAX,
		JSON_DEFAULT_DEPTH, &o, sub, sizeof(sub)) != 0 ||
	    jfield_str(o, "node_id", true, sizeof(n->id) - 1, &id, sub,
		sizeof(sub)) != 0) {
		snprintf(err, errlen, "enroll answer: %s", sub);
		goto out;
	}
	util_strlcpy(n->id, id, sizeof(n->id));
	ret = 0;
out:
	json_decref(o);
	return ret;
}

/* The handshake: an ephemeral X25519 key signed with the node key. */
int
simnode_session(
    struct simnode *n, struct simnet_conn *c, simnet_done_fn *done, void *arg)
{
	unsigned char sig[crypto_sign_BYTES];
	char kpk_b64[64], sig_b64[128], msg[512], body[1024];
	int64_t ts = util_now();
	int len;

	crypto_kx_keypair(n->kx_pk, n->kx_sk);
	util_b64(kpk_b64, sizeof(kpk_b64), n->kx_pk, sizeof(n->kx_pk));
	len = nodeauth_session_msg(msg, sizeof(msg), n->id, ts, kpk_b64);
	if (len < 0)
		return -1;
	crypto_sign_detached(
	    sig, NULL, (const unsigned char *)msg, (size_t)len, n->sk);
	util_b64(sig_b64, sizeof(sig_b64), sig, sizeof(sig));
	len = snprintf(body, sizeof(body),
	    "{\"node_id\":\"%s\",\"ts\":%lld,"
	    "\"kx_public_key\":\"%s\",\"signature\":\"%s\"}",
	    n->id, (long long)ts, kpk_b64, sig_b64);
	if (len < 0 || (size_t)len >= sizeof(body))
		return -1;
	return simnet_request(
	    c, "POST", "/v1/node/session", "", body, (size_t)len, done, arg);
}

/* The node is the crypto_kx client; its tx key is the session key. */
int
simnode_session_opened(
    struct simnode *n, const struct simnet_resp *r, char *err, size_t errlen)
{
	unsigned char spk[crypto_kx_PUBLICKEYBYTES];
	unsigned char rx[crypto_kx_SESSIONKEYBYTES];
	unsigned char tx[crypto_kx_SESSIONKEYBYTES];
	const char *sid = NULL, *spk_b64 = NULL;
	json_t *o = NULL;
	char sub[256];
	int ret = -1;

	if (r->status != 201) {
		simnode_answer_err(r, "session", err, errlen);
		goto out;
	}
	if (json_parse_strict(r->body, r->body_len, SIMNET_RESP_MAX,
		JSON_DEFAULT_DEPTH, &o, sub, sizeof(sub)) != 0 ||
	    jfield_str(o, "session_id", true, NODEAUTH_SIDHEX, &sid, sub,
		sizeof(sub)) != 0 ||
	    jfield_str(o, "kx_public_key", true, 64, &spk_b64, sub,
		sizeof(sub)) != 0) {
		snprintf(err, errlen, "session answer: %s", sub);
		goto out;
	}
	if (strlen(sid) != NODEAUTH_SIDHEX ||
	    util_unb64(spk, sizeof(spk), spk_b64) != (int)sizeof(spk) ||
	    crypto_kx_client_session_keys(rx, tx, n->kx_pk, n->kx_sk, spk) !=
		0) {
		snprintf(err, errlen, "session answer: unusable key or id");
		goto out;
	}
	memcpy(n->sid, sid, sizeof(n->sid));
	memcpy(n->key, tx, sizeof(n->key));
	n->ctr = 0;
	ret = 0;
out:
	sodium_memzero(n->kx_sk, sizeof(n->kx_sk));
	sodium_memzero(rx, sizeof(rx));
	sodium_memzero(tx, sizeof(tx));
	json_decref(o);
	return ret;
}

int
simnode_request(struct simnode *n, struct simnet_conn *c, const char *method,
    const char *path, const char *hdrs, const char *body, size_t body_len,
    simnet_done_fn *done, void *arg)
{
	struct nodeauth_hdr h;
	unsigned char bh[32];
	static const char name[] = "Authorization: ";
	char all[sizeof(name) + NODEAUTH_HDR_MAX + 512];
	size_t xl = strlen(hdrs);
	int len;

	if (n->sid[0] == '\0')
		return -1;
	if (body_len == 0) {
		if (!simnode_empty_done) {
			nodeauth_body_hash("", 0, simnode_empty_hash);
			simnode_empty_done = true;
		}
		memcpy(bh, simnode_empty_hash, sizeof(bh));
	} else
		nodeauth_body_hash(body, body_len, bh);
	memcpy(h.sid, n->sid, sizeof(h.sid));
	h.ctr = ++n->ctr;
	h.ts = util_now();
	/* The header line formatted once, in place. */
	memcpy(all, name, sizeof(name) - 1);
	if (nodeauth_tag(n->key, method, path, n->id, h.ctr, h.ts, bh, h.tag) !=
		0 ||
	    (len = nodeauth_format(
		 all + sizeof(name) - 1, NODEAUTH_HDR_MAX, &h)) < 0)
		return -1;
	len += (int)sizeof(name) - 1;
	if ((size_t)len + 2 + xl >= sizeof(all))
		return -1;
	memcpy(all + len, "\r\n", 2);
	memcpy(all + len + 2, hdrs, xl + 1);
	return simnet_request(c, method, path, all, body, body_len, done, arg);
}

void
simnode_error_code(const struct simnet_resp *r, char *code, size_t len)
{
	json_t *o = NULL;
	const char *s;

	code[0] = '\0';
	if (r->body_len == 0 ||
	    (o = json_loadb(r->body, r->body_len, 0, NULL)) == NULL)
		return;
	s = json_string_value(
	    json_object_get(json_object_get(o, "error"), "code"));
	if (s != NULL)
		util_strlcpy(code, s, len);
	json_decref(o);
}

void
simnode_wipe(struct simnode *n)
{
	sodium_memzero(n, sizeof(*n));
}
