#include "common/cpclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/priv.h"
#include "common/util.h"

int
cpclient_open(struct cpclient *c, long timeout_ms, char *err, size_t errlen)
{
	struct httpc_opts o;

	memset(&o, 0, sizeof(o));
	o.base_url = c->id.server;
	o.pin = c->id.pin;
	o.max_body = CPCLIENT_RESP_MAX;
	o.timeout_ms = timeout_ms;
	o.connect_timeout_ms = timeout_ms;
	if ((c->h = httpc_new(&o, err, errlen)) == NULL)
		return -1;
	return 0;
}

void
cpclient_close(struct cpclient *c)
{
	httpc_free(c->h);
	c->h = NULL;
	cpclient_session_clear(&c->s);
	sodium_memzero(&c->id, sizeof(c->id));
}

int64_t
cpclient_now(const struct cpclient *c)
{
	return util_now() + c->clock_offset;
}

void
cpclient_session_clear(struct cp_session *s)
{
	sodium_memzero(s, sizeof(*s));
}

/*
 * Send one request with an optional Authorization line and If-None-Match.
 * 0 when a response arrived (any status), -1 on a transport error.
 */
static int
cpclient_send_st(struct cpclient *c, const char *method, const char *path,
    const char *auth, const char *inm, const void *body, size_t len,
    const struct httpc_stream *st, struct httpc_resp *resp, char *err,
    size_t errlen)
{
	const char *hdrs[4];
	char inm_line[128];
	size_t n = 0;

	if (auth != NULL)
		hdrs[n++] = auth;
	if (inm != NULL && inm[0] != '\0') {
		if ((size_t)snprintf(inm_line, sizeof(inm_line),
			"If-None-Match: %s", inm) >= sizeof(inm_line)) {
			snprintf(err, errlen, "ETag too long");
			return -1;
		}
		hdrs[n++] = inm_line;
	}
	if (body != NULL)
		hdrs[n++] = "Content-Type: application/json";
	hdrs[n] = NULL;
	if (st != NULL)
		return httpc_request_stream(
		    c->h, method, path, hdrs, st, resp, err, errlen);
	return httpc_request(
	    c->h, method, path, hdrs, body, len, resp, err, errlen);
}

int
cpclient_send(struct cpclient *c, const char *method, const char *path,
    const char *auth, const char *inm, const void *body, size_t len,
    struct httpc_resp *resp, char *err, size_t errlen)
{
	return cpclient_send_st(
	    c, method, path, auth, inm, body, len, NULL, resp, err, errlen);
}

/* Parse a response body as a JSON object; the caller owns *out. */
static int
cpclient_resp_json(
    const struct httpc_resp *r, json_t **out, char *err, size_t errlen)
{
	return json_parse_strict(r->body, r->len, CPCLIENT_RESP_MAX,
	    JSON_DEFAULT_DEPTH, out, err, errlen);
}

/* The "code" of an edge-cp error body, or "" when there is none. */
void
cpclient_error_code(const struct httpc_resp *r, char *code, size_t len)
{
	json_t *o = NULL, *e = NULL;
	const char *s = NULL;
	char err[128];

	code[0] = '\0';
	if (cpclient_resp_json(r, &o, err, sizeof(err)) != 0)
		return;
	if (jfield_obj(o, "error", true, &e, err, sizeof(err)) == 0 &&
	    jfield_str(e, "code", true, 64, &s, err, sizeof(err)) == 0)
		util_strlcpy(code, s, len);
	json_decref(o);
}

/*
 * Enrollment.  Makes the node's Ed25519 key pair and signs
 * nodeauth_enroll_msg(token, public key, hostname) with it: edge-cp checks
 * that signature before it looks at the token, so only the holder of the
 * secret key can register the public key.  bad_sig signs with a throwaway
 * key instead (test hook).  On 201 fills id->node_id and id->sk; *resp is
 * the response either way (caller clears it).
 */
int
cpclient_enroll(struct cpclient *c, const char *token, const char *hostname,
    json_t *facts, bool bad_sig, struct httpc_resp *resp, char *err,
    size_t errlen)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	unsigned char opk[crypto_sign_PUBLICKEYBYTES];
	unsigned char osk[crypto_sign_SECRETKEYBYTES];
	unsigned char sig[crypto_sign_BYTES];
	char pk_b64[64], sig_b64[128], msg[512];
	const char *node_id = NULL;
	json_t *req = NULL, *rep = NULL;
	char *body = NULL;
	int n, ret = -1;

	memset(resp, 0, sizeof(*resp));
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(opk, osk);
	util_b64(pk_b64, sizeof(pk_b64), pk, sizeof(pk));
	n = nodeauth_enroll_msg(msg, sizeof(msg), token, pk_b64, hostname);
	if (n < 0) {
		snprintf(err, errlen,
		    "token or hostname too long or has a "
		    "newline");
		goto out;
	}
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg, (size_t)n,
	    bad_sig ? osk : sk);
	util_b64(sig_b64, sizeof(sig_b64), sig, sizeof(sig));
	req = json_pack("{s:s,s:s,s:s,s:s}", "token", token, "public_key",
	    pk_b64, "hostname", hostname, "signature", sig_b64);
	if (req == NULL ||
	    (facts != NULL && json_object_set(req, "facts", facts) != 0) ||
	    (body = json_dumps(req, JSON_COMPACT)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (cpclient_send(c, "POST", "/v1/enroll", NULL, NULL, body,
		strlen(body), resp, err, errlen) != 0)
		goto out;
	if (resp->status != 201) {
		snprintf(err, errlen, "enroll: HTTP %ld", resp->status);
		goto out;
	}
	if (cpclient_resp_json(resp, &rep, err, errlen) != 0 ||
	    jfield_str(rep, "node_id", true, CP_ID_MAX - 1, &node_id, err,
		errlen) != 0)
		goto out;
	util_strlcpy(c->id.node_id, node_id, sizeof(c->id.node_id));
	memcpy(c->id.sk, sk, sizeof(sk));
	ret = 0;
out:
	if (body != NULL) {
		/* It holds the enrollment token. */
		sodium_memzero(body, strlen(body));
		free(body);
	}
	json_decref(req);
	json_decref(rep);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(osk, sizeof(osk));
	sodium_memzero(msg, sizeof(msg));
	return ret;
}

/*
 * Session handshake.  An ephemeral X25519 key pair, its public half signed
 * with the node key inside nodeauth_session_msg(node_id, ts, kx_pk); edge-cp
 * answers with its own ephemeral public key and a session id.  The node is
 * the crypto_kx client and keeps its tx key, which is edge-cp's rx key.
 * Nothing secret crosses the wire, so a recorded handshake is worthless.
 */
/* One handshake; *skew set when edge-cp refused our clock and we learned its. */
static int
cpclient_handshake_once(
    struct cpclient *c, bool *skew, char *err, size_t errlen)
{
	unsigned char kpk[crypto_kx_PUBLICKEYBYTES];
	unsigned char ksk[crypto_kx_SECRETKEYBYTES];
	unsigned char spk[crypto_kx_PUBLICKEYBYTES];
	unsigned char rx[crypto_kx_SESSIONKEYBYTES];
	unsigned char tx[crypto_kx_SESSIONKEYBYTES];
	unsigned char sig[crypto_sign_BYTES];
	char kpk_b64[64], sig_b64[128], msg[512];
	const char *sid = NULL, *spk_b64 = NULL;
	struct httpc_resp resp = { 0 };
	json_t *req = NULL, *rep = NULL;
	int64_t ts = cpclient_now(c), expires = 0;
	char *body = NULL;
	int n, ret = -1;

	cpclient_session_clear(&c->s);
	crypto_kx_keypair(kpk, ksk);
	util_b64(kpk_b64, sizeof(kpk_b64), kpk, sizeof(kpk));
	n = nodeauth_session_msg(msg, sizeof(msg), c->id.node_id, ts, kpk_b64);
	if (n < 0) {
		snprintf(err, errlen, "node id too long");
		goto out;
	}
	if (priv_sign(msg, (size_t)n, c->id.sk, sig) != 0) {
		snprintf(err, errlen, "cannot sign the handshake: %s",
		    strerror(errno));
		goto out;
	}
	util_b64(sig_b64, sizeof(sig_b64), sig, sizeof(sig));
	req = json_pack("{s:s,s:I,s:s,s:s}", "node_id", c->id.node_id, "ts",
	    (json_int_t)ts, "kx_public_key", kpk_b64, "signature", sig_b64);
	if (req == NULL || (body = json_dumps(req, JSON_COMPACT)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (cpclient_send(c, "POST", "/v1/node/session", NULL, NULL, body,
		strlen(body), &resp, err, errlen) != 0)
		goto out;
	if (resp.status == 401 && resp.server_time > 0) {
		char code[64];

		/* Learn edge-cp's clock so the next handshake is on time. */
		cpclient_error_code(&resp, code, sizeof(code));
		if (strcmp(code, "clock_skew") == 0) {
			c->clock_offset = resp.server_time - util_now();
			*skew = true;
		}
	}
	if (resp.status != 201) {
		snprintf(err, errlen, "handshake: HTTP %ld %s", resp.status,
		    resp.body);
		goto out;
	}
	if (cpclient_resp_json(&resp, &rep, err, errlen) != 0 ||
	    jfield_str(rep, "session_id", true, NODEAUTH_SIDHEX, &sid, err,
		errlen) != 0 ||
	    jfield_str(rep, "kx_public_key", true, 64, &spk_b64, err, errlen) !=
		0 ||
	    jfield_int(rep, "expires_at", true, 0, INT64_MAX, &expires, err,
		errlen) != 0)
		goto out;
	if (strlen(sid) != NODEAUTH_SIDHEX ||
	    util_unb64(spk, sizeof(spk), spk_b64) != (int)sizeof(spk)) {
		snprintf(err, errlen, "handshake: malformed answer");
		goto out;
	}
	if (crypto_kx_client_session_keys(rx, tx, kpk, ksk, spk) != 0) {
		snprintf(err, errlen, "handshake: unusable server key");
		goto out;
	}
	memcpy(c->s.sid, sid, sizeof(c->s.sid));
	memcpy(c->s.key, tx, sizeof(c->s.key));
	c->s.ctr = 0;
	c->s.expires_at = expires;
	ret = 0;
out:
	sodium_memzero(ksk, sizeof(ksk));
	sodium_memzero(rx, sizeof(rx));
	sodium_memzero(tx, sizeof(tx));
	free(body);
	json_decref(req);
	json_decref(rep);
	httpc_resp_clear(&resp);
	return ret;
}

/*
 * A node whose clock is off has its first handshake refused; the refusal
 * carries edge-cp's time, so the second one, at once, is on time.
 */
int
cpclient_handshake(struct cpclient *c, char *err, size_t errlen)
{
	bool skew = false;

	if (cpclient_handshake_once(c, &skew, err, errlen) == 0)
		return 0;
	if (!skew)
		return -1;
	return cpclient_handshake_once(c, &skew, err, errlen);
}

/*
 * Write "Authorization: EdgeNode sid=..,ctr=..,ts=..,tag=.." for one
 * request to line.  node_id is normally c->id.node_id; path is the path
 * without a query string, exactly as sent.  The tag covers method, path,
 * node id, counter, timestamp and SHA-256 of the body ("" for a GET).
 */
int
cpclient_auth_line(const struct cp_session *s, const char *node_id,
    const char *method, const char *path, const void *body, size_t len,
    uint64_t ctr, int64_t ts, char *line, size_t linelen)
{
	static const char pfx[] = "Authorization: ";
	struct nodeauth_hdr h;
	unsigned char bh[32];
	int ret = -1;

	if (linelen < sizeof(pfx))
		return -1;
	memset(&h, 0, sizeof(h));
	memcpy(h.sid, s->sid, sizeof(h.sid));
	h.ctr = ctr;
	h.ts = ts;
	nodeauth_body_hash(body != NULL ? body : "", len, bh);
	if (nodeauth_tag(s->key, method, path, node_id, ctr, ts, bh, h.tag) !=
	    0)
		goto out;
	memcpy(line, pfx, sizeof(pfx));
	if (nodeauth_format(
		line + sizeof(pfx) - 1, linelen - (sizeof(pfx) - 1), &h) < 0)
		goto out;
	ret = 0;
out:
	sodium_memzero(&h, sizeof(h));
	return ret;
}

/*
 * One tagged request, the way the keeper makes them: a fresh session when
 * there is none or it is about to expire, the next counter, the current
 * time, and one re-handshake when edge-cp answers 401 session_expired (it
 * restarted, or the session timed out).  Any other 401 is returned as is:
 * retrying a bad tag or a clock problem with a new session would not help.
 */
static int
cpclient_do(struct cpclient *c, const char *method, const char *path,
    const char *inm, const void *body, size_t len,
    const struct httpc_stream *st, struct httpc_resp *resp, char *err,
    size_t errlen)
{
	char line[CPCLIENT_AUTH_LINE], code[64];
	int attempt;

	memset(resp, 0, sizeof(*resp));
	for (attempt = 0; attempt < 2; attempt++) {
		if ((c->s.sid[0] == '\0' ||
			cpclient_now(c) >=
			    c->s.expires_at - CPCLIENT_SESSION_SLACK) &&
		    cpclient_handshake(c, err, errlen) != 0)
			return -1;
		if (cpclient_auth_line(&c->s, c->id.node_id, method, path, body,
			len, ++c->s.ctr, cpclient_now(c), line,
			sizeof(line)) != 0) {
			snprintf(err, errlen, "cannot tag the request");
			return -1;
		}
		/* A 401 streams nothing, so a retry starts from zero. */
		if (cpclient_send_st(c, method, path, line, inm, body, len, st,
			resp, err, errlen) != 0)
			return -1;
		if (resp->status != 401 || attempt > 0)
			return 0;
		cpclient_error_code(resp, code, sizeof(code));
		/* A wrong clock is fixed by edge-cp's, then one retry. */
		if (strcmp(code, "clock_skew") == 0 && resp->server_time > 0)
			c->clock_offset = resp->server_time - util_now();
		else if (strcmp(code, "session_expired") != 0)
			return 0;
		httpc_resp_clear(resp);
		cpclient_session_clear(&c->s);
	}
	return 0;
}

int
cpclient_request(struct cpclient *c, const char *method, const char *path,
    const char *inm, const void *body, size_t len, struct httpc_resp *resp,
    char *err, size_t errlen)
{
	return cpclient_do(
	    c, method, path, inm, body, len, NULL, resp, err, errlen);
}

int
cpclient_download(struct cpclient *c, const char *path,
    const struct httpc_stream *st, struct httpc_resp *resp, char *err,
    size_t errlen)
{
	return cpclient_do(
	    c, "GET", path, NULL, NULL, 0, st, resp, err, errlen);
}
