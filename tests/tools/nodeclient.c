/*
 * nodeclient: the node side of edge-cp's node protocol (docs/protocol.md),
 * for shell integration tests until edge-keeper speaks it.
 *
 *	nodeclient enroll  --server URL --pin PIN --token T --state FILE
 *			   [--hostname H] [--facts JSON] [--bad-signature]
 *	nodeclient desired --state FILE [--if-none-match ETAG] [--count N]
 *			   [--out FILE]
 *	nodeclient status  --state FILE --body JSON
 *	nodeclient replay|tamper|stale|wrong-node --state FILE
 *			   [--other-node ID]
 *
 * Every command also takes --server URL and --pin sha256//...; enroll
 * needs them, the others default to what enroll wrote to the state file.
 *
 * The protocol half of this file is the model the keeper follows:
 *
 *	nc_enroll()	 make an Ed25519 key pair, prove possession, register
 *	nc_handshake()	 open a session: signed X25519 exchange, crypto_kx
 *	nc_auth_line()	 the Authorization header for one request
 *	nc_request()	 a tagged request; re-handshakes once on a 401
 *			 session_expired (edge-cp restarted, TTL passed)
 *
 * The attack commands send hand-made requests that edge-cp must refuse and
 * print one line "STATUS" per request sent; each follows the refused
 * request with a control request (except replay, which leads with one), so
 * a test can tell "refused for the right reason" from "session broken":
 *
 *	replay		GET desired, then the same bytes again	200 401
 *	tamper		status body B under A's tag, then A	401 200
 *	stale		ts 1000 s in the past, then a fresh one	401 200
 *	wrong-node	tag made for another node id, then ours	401 200
 *
 * Exit status: 0 when every answer was the expected one, 1 otherwise
 * (details on stderr), 2 on a usage error.
 *
 * State file (mode 0600, written with afile_write): "key=value" lines
 * node_id, secret_key (base64 of the 64-byte Ed25519 secret key), server
 * and pin.  Line-based rather than JSON so the secret key never passes
 * through an allocator we cannot wipe, and so shell tests can read the
 * node id with sed.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/httpc.h"
#include "common/json.h"
#include "common/nodeauth.h"
#include "common/util.h"

#define NC_ID_MAX	40
#define NC_URL_MAX	512
#define NC_PIN_MAX	128
#define NC_STATE_MAX	4096
#define NC_RESP_MAX	(1u << 20)
#define NC_COUNT_MAX	100000
/* "Authorization: " plus the header value. */
#define NC_AUTH_LINE	(16 + NODEAUTH_HDR_MAX)
/* Re-handshake this long before edge-cp would expire the session. */
#define NC_SESSION_SLACK 60

/* What enrollment leaves on disk. */
struct nc_ident {
	char		node_id[NC_ID_MAX];
	unsigned char	sk[crypto_sign_SECRETKEYBYTES];
	char		server[NC_URL_MAX];
	char		pin[NC_PIN_MAX];
};

/* One session; only in memory, like edge-cp's side of it. */
struct nc_session {
	char		sid[NODEAUTH_SIDHEX + 1];	/* "" when none */
	unsigned char	key[NODEAUTH_KEYBYTES];
	uint64_t	ctr;		/* last counter sent */
	int64_t		expires_at;
};

struct nc {
	struct nc_ident		 id;
	struct nc_session	 s;
	struct httpc		*h;
};

struct nc_opts {
	const char	*server;
	const char	*pin;
	const char	*token;
	const char	*state;
	const char	*hostname;
	const char	*facts;
	const char	*inm;
	const char	*out;
	const char	*body;
	const char	*other_node;
	int64_t		 count;
	bool		 bad_sig;
};

static void
nc_session_clear(struct nc_session *s)
{
	sodium_memzero(s, sizeof(*s));
}

static void
nc_close(struct nc *c)
{
	httpc_free(c->h);
	c->h = NULL;
	nc_session_clear(&c->s);
	sodium_memzero(&c->id, sizeof(c->id));
}

/* ---------------------------------------------------------------------
 * Transport: one httpc, so one kept-alive connection for all requests.
 */

static int
nc_connect(struct nc *c, char *err, size_t errlen)
{
	struct httpc_opts o;

	memset(&o, 0, sizeof(o));
	o.base_url = c->id.server;
	o.pin = c->id.pin;
	o.max_body = NC_RESP_MAX;
	if ((c->h = httpc_new(&o, err, errlen)) == NULL)
		return -1;
	return 0;
}

/*
 * Send one request with an optional Authorization line and If-None-Match.
 * 0 when a response arrived (any status), -1 on a transport error.
 */
static int
nc_send(struct nc *c, const char *method, const char *path, const char *auth,
    const char *inm, const void *body, size_t len, struct httpc_resp *resp,
    char *err, size_t errlen)
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
	return httpc_request(c->h, method, path, hdrs, body, len, resp, err,
	    errlen);
}

/* Parse a response body as a JSON object; the caller owns *out. */
static int
nc_resp_json(const struct httpc_resp *r, json_t **out, char *err,
    size_t errlen)
{
	return json_parse_strict(r->body, r->len, NC_RESP_MAX,
	    JSON_DEFAULT_DEPTH, out, err, errlen);
}

/* The "code" of an edge-cp error body, or "" when there is none. */
static void
nc_error_code(const struct httpc_resp *r, char *code, size_t len)
{
	json_t *o = NULL, *e = NULL;
	const char *s = NULL;
	char err[128];

	code[0] = '\0';
	if (nc_resp_json(r, &o, err, sizeof(err)) != 0)
		return;
	if (jfield_obj(o, "error", true, &e, err, sizeof(err)) == 0 &&
	    jfield_str(e, "code", true, 64, &s, err, sizeof(err)) == 0)
		util_strlcpy(code, s, len);
	json_decref(o);
}

/* ---------------------------------------------------------------------
 * State file.
 */

static int
nc_state_write(const char *path, const struct nc_ident *id, char *err,
    size_t errlen)
{
	char buf[NC_STATE_MAX], sk[128];
	int n, ret = -1;

	if (util_b64(sk, sizeof(sk), id->sk, sizeof(id->sk)) != 0) {
		snprintf(err, errlen, "cannot encode the key");
		goto out;
	}
	n = snprintf(buf, sizeof(buf), "node_id=%s\nsecret_key=%s\n"
	    "server=%s\npin=%s\n", id->node_id, sk, id->server, id->pin);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		snprintf(err, errlen, "state too large");
		goto out;
	}
	if (afile_write(path, buf, (size_t)n, 0600) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

/* Copy a state value into dst, refusing what does not fit. */
static int
nc_state_copy(char *dst, size_t len, const char *v, const char *key,
    char *err, size_t errlen)
{
	if (util_strlcpy(dst, v, len) >= len || v[0] == '\0') {
		snprintf(err, errlen, "state: %s empty or too long", key);
		return -1;
	}
	return 0;
}

static int
nc_state_read(const char *path, struct nc_ident *id, char *err, size_t errlen)
{
	char *buf = NULL, *line, *next, *eq;
	size_t len = 0;
	bool have_sk = false;
	int ret = -1;

	memset(id, 0, sizeof(*id));
	if (afile_read(path, NC_STATE_MAX, &buf, &len) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (line = buf; line < buf + len && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (line[0] == '\0')
			continue;
		if ((eq = strchr(line, '=')) == NULL) {
			snprintf(err, errlen, "%s: line without '='", path);
			goto out;
		}
		*eq++ = '\0';
		if (strcmp(line, "node_id") == 0) {
			if (nc_state_copy(id->node_id, sizeof(id->node_id), eq,
			    line, err, errlen) != 0)
				goto out;
		} else if (strcmp(line, "server") == 0) {
			if (nc_state_copy(id->server, sizeof(id->server), eq,
			    line, err, errlen) != 0)
				goto out;
		} else if (strcmp(line, "pin") == 0) {
			if (nc_state_copy(id->pin, sizeof(id->pin), eq, line,
			    err, errlen) != 0)
				goto out;
		} else if (strcmp(line, "secret_key") == 0) {
			if (util_unb64(id->sk, sizeof(id->sk), eq) !=
			    (int)sizeof(id->sk)) {
				snprintf(err, errlen, "%s: bad secret_key",
				    path);
				goto out;
			}
			have_sk = true;
		} else {
			snprintf(err, errlen, "%s: unknown key %s", path, line);
			goto out;
		}
	}
	if (id->node_id[0] == '\0' || !have_sk) {
		snprintf(err, errlen, "%s: node_id or secret_key missing",
		    path);
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(buf, len);
	free(buf);
	if (ret != 0)
		sodium_memzero(id, sizeof(*id));
	return ret;
}

/* ---------------------------------------------------------------------
 * The protocol: what the keeper does.
 */

/*
 * Enrollment.  Makes the node's Ed25519 key pair and signs
 * nodeauth_enroll_msg(token, public key, hostname) with it: edge-cp checks
 * that signature before it looks at the token, so only the holder of the
 * secret key can register the public key.  bad_sig signs with a throwaway
 * key instead (test hook).  On 201 fills id->node_id and id->sk; *resp is
 * the response either way (caller clears it).
 */
static int
nc_enroll(struct nc *c, const char *token, const char *hostname,
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
		snprintf(err, errlen, "token or hostname too long or has a "
		    "newline");
		goto out;
	}
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg,
	    (size_t)n, bad_sig ? osk : sk);
	util_b64(sig_b64, sizeof(sig_b64), sig, sizeof(sig));
	req = json_pack("{s:s,s:s,s:s,s:s}", "token", token, "public_key",
	    pk_b64, "hostname", hostname, "signature", sig_b64);
	if (req == NULL || (facts != NULL &&
	    json_object_set(req, "facts", facts) != 0) ||
	    (body = json_dumps(req, JSON_COMPACT)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (nc_send(c, "POST", "/v1/enroll", NULL, NULL, body, strlen(body),
	    resp, err, errlen) != 0)
		goto out;
	if (resp->status != 201) {
		snprintf(err, errlen, "enroll: HTTP %ld", resp->status);
		goto out;
	}
	if (nc_resp_json(resp, &rep, err, errlen) != 0 ||
	    jfield_str(rep, "node_id", true, NC_ID_MAX - 1, &node_id, err,
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
static int
nc_handshake(struct nc *c, char *err, size_t errlen)
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
	int64_t ts = util_now(), expires = 0;
	char *body = NULL;
	int n, ret = -1;

	nc_session_clear(&c->s);
	crypto_kx_keypair(kpk, ksk);
	util_b64(kpk_b64, sizeof(kpk_b64), kpk, sizeof(kpk));
	n = nodeauth_session_msg(msg, sizeof(msg), c->id.node_id, ts, kpk_b64);
	if (n < 0) {
		snprintf(err, errlen, "node id too long");
		goto out;
	}
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg,
	    (size_t)n, c->id.sk);
	util_b64(sig_b64, sizeof(sig_b64), sig, sizeof(sig));
	req = json_pack("{s:s,s:I,s:s,s:s}", "node_id", c->id.node_id, "ts",
	    (json_int_t)ts, "kx_public_key", kpk_b64, "signature", sig_b64);
	if (req == NULL || (body = json_dumps(req, JSON_COMPACT)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (nc_send(c, "POST", "/v1/node/session", NULL, NULL, body,
	    strlen(body), &resp, err, errlen) != 0)
		goto out;
	if (resp.status != 201) {
		snprintf(err, errlen, "handshake: HTTP %ld %s", resp.status,
		    resp.body);
		goto out;
	}
	if (nc_resp_json(&resp, &rep, err, errlen) != 0 ||
	    jfield_str(rep, "session_id", true, NODEAUTH_SIDHEX, &sid, err,
	    errlen) != 0 ||
	    jfield_str(rep, "kx_public_key", true, 64, &spk_b64, err,
	    errlen) != 0 ||
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
 * Write "Authorization: EdgeNode sid=..,ctr=..,ts=..,tag=.." for one
 * request to line.  node_id is normally c->id.node_id; path is the path
 * without a query string, exactly as sent.  The tag covers method, path,
 * node id, counter, timestamp and SHA-256 of the body ("" for a GET).
 */
static int
nc_auth_line(const struct nc_session *s, const char *node_id,
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
	if (nodeauth_tag(s->key, method, path, node_id, ctr, ts, bh,
	    h.tag) != 0)
		goto out;
	memcpy(line, pfx, sizeof(pfx));
	if (nodeauth_format(line + sizeof(pfx) - 1,
	    linelen - (sizeof(pfx) - 1), &h) < 0)
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
nc_request(struct nc *c, const char *method, const char *path,
    const char *inm, const void *body, size_t len, struct httpc_resp *resp,
    char *err, size_t errlen)
{
	char line[NC_AUTH_LINE], code[64];
	int attempt;

	memset(resp, 0, sizeof(*resp));
	for (attempt = 0; attempt < 2; attempt++) {
		if ((c->s.sid[0] == '\0' ||
		    util_now() >= c->s.expires_at - NC_SESSION_SLACK) &&
		    nc_handshake(c, err, errlen) != 0)
			return -1;
		if (nc_auth_line(&c->s, c->id.node_id, method, path, body, len,
		    ++c->s.ctr, util_now(), line, sizeof(line)) != 0) {
			snprintf(err, errlen, "cannot tag the request");
			return -1;
		}
		if (nc_send(c, method, path, line, inm, body, len, resp, err,
		    errlen) != 0)
			return -1;
		if (resp->status != 401 || attempt > 0)
			return 0;
		nc_error_code(resp, code, sizeof(code));
		if (strcmp(code, "session_expired") != 0)
			return 0;
		httpc_resp_clear(resp);
		nc_session_clear(&c->s);
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Commands.
 */

/* Load the state file and apply --server/--pin overrides, then connect. */
static int
nc_open(struct nc *c, const struct nc_opts *o, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (o->state == NULL) {
		snprintf(err, errlen, "--state is required");
		return -1;
	}
	if (nc_state_read(o->state, &c->id, err, errlen) != 0)
		return -1;
	if ((o->server != NULL && nc_state_copy(c->id.server,
	    sizeof(c->id.server), o->server, "server", err, errlen) != 0) ||
	    (o->pin != NULL && nc_state_copy(c->id.pin, sizeof(c->id.pin),
	    o->pin, "pin", err, errlen) != 0))
		return -1;
	if (c->id.server[0] == '\0') {
		snprintf(err, errlen, "no server: give --server");
		return -1;
	}
	return nc_connect(c, err, errlen);
}

static int
cmd_enroll(const struct nc_opts *o)
{
	struct nc c;
	struct httpc_resp resp = { 0 };
	json_t *facts = NULL;
	char err[512], host[256];
	int ret = 1;

	memset(&c, 0, sizeof(c));
	if (o->server == NULL || o->pin == NULL || o->token == NULL ||
	    o->state == NULL) {
		fprintf(stderr, "nodeclient: enroll needs --server, --pin, "
		    "--token and --state\n");
		return 2;
	}
	if (o->hostname != NULL)
		util_strlcpy(host, o->hostname, sizeof(host));
	else if (gethostname(host, sizeof(host)) != 0)
		util_strlcpy(host, "node", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	if (o->facts != NULL && json_parse_strict(o->facts, strlen(o->facts),
	    65536, JSON_DEFAULT_DEPTH, &facts, err, sizeof(err)) != 0) {
		fprintf(stderr, "nodeclient: --facts: %s\n", err);
		return 2;
	}
	if (nc_state_copy(c.id.server, sizeof(c.id.server), o->server,
	    "server", err, sizeof(err)) != 0 ||
	    nc_state_copy(c.id.pin, sizeof(c.id.pin), o->pin, "pin", err,
	    sizeof(err)) != 0 ||
	    nc_connect(&c, err, sizeof(err)) != 0)
		goto fail;
	if (nc_enroll(&c, o->token, host, facts, o->bad_sig, &resp, err,
	    sizeof(err)) != 0) {
		if (resp.body != NULL)
			fprintf(stderr, "nodeclient: HTTP %ld %s\n",
			    resp.status, resp.body);
		goto fail;
	}
	if (nc_state_write(o->state, &c.id, err, sizeof(err)) != 0)
		goto fail;
	printf("%s\n", resp.body);
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "nodeclient: %s\n", err);
out:
	httpc_resp_clear(&resp);
	json_decref(facts);
	nc_close(&c);
	return ret;
}

static int
cmd_desired(const struct nc_opts *o)
{
	struct nc c;
	struct httpc_resp resp = { 0 };
	char err[512], etag[sizeof(resp.etag)] = "";
	int64_t i, count = o->count > 0 ? o->count : 1;
	int ret = 1;

	if (o->inm != NULL)
		util_strlcpy(etag, o->inm, sizeof(etag));
	if (nc_open(&c, o, err, sizeof(err)) != 0)
		goto fail;
	/* Like the keeper: send back the ETag of what we last received. */
	for (i = 0; i < count; i++) {
		if (nc_request(&c, "GET", "/v1/node/desired", etag, NULL, 0,
		    &resp, err, sizeof(err)) != 0)
			goto fail;
		printf("%ld %s\n", resp.status,
		    resp.etag[0] != '\0' ? resp.etag : "-");
		fflush(stdout);
		if (resp.status != 200 && resp.status != 304) {
			fprintf(stderr, "nodeclient: HTTP %ld %s\n",
			    resp.status, resp.body);
			goto out;
		}
		if (resp.etag[0] != '\0')
			util_strlcpy(etag, resp.etag, sizeof(etag));
		if (resp.status == 200 && o->out != NULL &&
		    afile_write(o->out, resp.body, resp.len, 0644) != 0) {
			snprintf(err, sizeof(err), "%s: %s", o->out,
			    strerror(errno));
			goto fail;
		}
		httpc_resp_clear(&resp);
	}
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "nodeclient: %s\n", err);
out:
	httpc_resp_clear(&resp);
	nc_close(&c);
	return ret;
}

static int
cmd_status(const struct nc_opts *o)
{
	struct nc c;
	struct httpc_resp resp = { 0 };
	char err[512];
	int ret = 1;

	if (o->body == NULL) {
		fprintf(stderr, "nodeclient: status needs --body JSON\n");
		return 2;
	}
	if (nc_open(&c, o, err, sizeof(err)) != 0 ||
	    nc_request(&c, "POST", "/v1/node/status", NULL, o->body,
	    strlen(o->body), &resp, err, sizeof(err)) != 0) {
		fprintf(stderr, "nodeclient: %s\n", err);
		goto out;
	}
	printf("%ld %s\n", resp.status, resp.body);
	ret = resp.status == 200 ? 0 : 1;
out:
	httpc_resp_clear(&resp);
	nc_close(&c);
	return ret;
}

/* ---------------------------------------------------------------------
 * Attack hooks.  Each request is printed as one "STATUS" line on stdout;
 * the reason edge-cp gave goes to stderr.
 */

/* Print the status, explain it on stderr, and say if it was expected. */
static bool
nc_expect(const struct httpc_resp *r, long want, const char *what)
{
	printf("%ld\n", r->status);
	fflush(stdout);
	fprintf(stderr, "nodeclient: %s: HTTP %ld %s\n", what, r->status,
	    r->body != NULL ? r->body : "");
	if (want == 200 ? (r->status == 200 || r->status == 304) :
	    r->status == want)
		return true;
	fprintf(stderr, "nodeclient: %s: expected %ld\n", what, want);
	return false;
}

static int
atk_replay(struct nc *c, const struct nc_opts *o, char *err, size_t errlen)
{
	struct httpc_resp r1 = { 0 }, r2 = { 0 };
	char line[NC_AUTH_LINE];
	bool ok;
	int ret = -1;

	(void)o;
	if (nc_handshake(c, err, errlen) != 0 ||
	    nc_auth_line(&c->s, c->id.node_id, "GET", "/v1/node/desired",
	    NULL, 0, ++c->s.ctr, util_now(), line, sizeof(line)) != 0)
		goto out;
	if (nc_send(c, "GET", "/v1/node/desired", line, NULL, NULL, 0, &r1,
	    err, errlen) != 0)
		goto out;
	ok = nc_expect(&r1, 200, "original");
	if (nc_send(c, "GET", "/v1/node/desired", line, NULL, NULL, 0, &r2,
	    err, errlen) != 0)
		goto out;
	ok = nc_expect(&r2, 401, "replayed") && ok;
	ret = ok ? 0 : 1;
out:
	sodium_memzero(line, sizeof(line));
	httpc_resp_clear(&r1);
	httpc_resp_clear(&r2);
	return ret;
}

static int
atk_tamper(struct nc *c, const struct nc_opts *o, char *err, size_t errlen)
{
	static const char body_a[] = "{\"generation\":\"tamper-a\"}";
	static const char body_b[] = "{\"generation\":\"tamper-b\"}";
	struct httpc_resp r1 = { 0 }, r2 = { 0 };
	char line[NC_AUTH_LINE];
	bool ok;
	int ret = -1;

	(void)o;
	if (nc_handshake(c, err, errlen) != 0 ||
	    nc_auth_line(&c->s, c->id.node_id, "POST", "/v1/node/status",
	    body_a, sizeof(body_a) - 1, ++c->s.ctr, util_now(), line,
	    sizeof(line)) != 0)
		goto out;
	if (nc_send(c, "POST", "/v1/node/status", line, NULL, body_b,
	    sizeof(body_b) - 1, &r1, err, errlen) != 0)
		goto out;
	ok = nc_expect(&r1, 401, "tampered body");
	/* The refused request did not use up the counter. */
	if (nc_send(c, "POST", "/v1/node/status", line, NULL, body_a,
	    sizeof(body_a) - 1, &r2, err, errlen) != 0)
		goto out;
	ok = nc_expect(&r2, 200, "original body") && ok;
	ret = ok ? 0 : 1;
out:
	httpc_resp_clear(&r1);
	httpc_resp_clear(&r2);
	return ret;
}

struct nc_raw {
	int64_t	server_time;	/* -1 when the header was absent */
	char	body[1024];
	size_t	len;
};

static size_t
nc_raw_header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	static const char name[] = "X-Edge-Server-Time:";
	struct nc_raw *raw = arg;
	size_t n = size * nitems, vlen;
	char num[24];
	const char *v;
	int64_t t;

	if (n <= sizeof(name) - 1 ||
	    strncasecmp(buf, name, sizeof(name) - 1) != 0)
		return n;
	for (v = buf + sizeof(name) - 1; *v == ' '; v++)
		;
	vlen = n - (size_t)(v - buf);
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
		vlen--;
	if (vlen < sizeof(num)) {
		memcpy(num, v, vlen);
		num[vlen] = '\0';
		if (util_parse_i64(num, 0, INT64_MAX, &t) == 0)
			raw->server_time = t;
	}
	return n;
}

static size_t
nc_raw_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct nc_raw *raw = arg;
	size_t n = size * nmemb, room = sizeof(raw->body) - 1 - raw->len;

	if (n > room)
		n = room;
	memcpy(raw->body + raw->len, ptr, n);
	raw->len += n;
	raw->body[raw->len] = '\0';
	return size * nmemb;
}

/*
 * A GET through libcurl directly, because httpc does not hand back the
 * X-Edge-Server-Time header.  Same trust settings as httpc.
 */
static int
nc_raw_get(const struct nc *c, const char *path, const char *auth,
    long *status, struct nc_raw *raw, char *err, size_t errlen)
{
	struct curl_slist *hl = NULL;
	char url[NC_URL_MAX + 64];
	CURL *e;
	CURLcode rc;
	int ret = -1;

	memset(raw, 0, sizeof(*raw));
	raw->server_time = -1;
	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->id.server, path) >=
	    sizeof(url)) {
		snprintf(err, errlen, "URL too long");
		return -1;
	}
	if ((e = curl_easy_init()) == NULL ||
	    (hl = curl_slist_append(NULL, auth)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
	if (c->id.pin[0] != '\0') {
		curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, c->id.pin);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, nc_raw_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, raw);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, nc_raw_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, raw);
	if ((rc = curl_easy_perform(e)) != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	ret = 0;
out:
	curl_slist_free_all(hl);
	curl_easy_cleanup(e);
	return ret;
}

static int
atk_stale(struct nc *c, const struct nc_opts *o, char *err, size_t errlen)
{
	struct httpc_resp r1 = { 0 }, r2 = { 0 };
	struct nc_raw raw;
	char line[NC_AUTH_LINE];
	int64_t now = util_now();
	bool ok;
	int ret = -1;

	(void)o;
	/* A correct tag and a fresh counter: only the time is wrong. */
	if (nc_handshake(c, err, errlen) != 0 ||
	    nc_auth_line(&c->s, c->id.node_id, "GET", "/v1/node/desired",
	    NULL, 0, ++c->s.ctr, now - 1000, line, sizeof(line)) != 0)
		goto out;
	if (nc_raw_get(c, "/v1/node/desired", line, &r1.status, &raw, err,
	    errlen) != 0)
		goto out;
	r1.body = raw.body;
	ok = nc_expect(&r1, 401, "stale timestamp");
	r1.body = NULL;
	if (raw.server_time < 0) {
		fprintf(stderr, "nodeclient: no X-Edge-Server-Time header\n");
		ok = false;
	} else
		fprintf(stderr, "nodeclient: X-Edge-Server-Time: %lld (ours "
		    "%lld)\n", (long long)raw.server_time, (long long)now);
	if (nc_request(c, "GET", "/v1/node/desired", NULL, NULL, 0, &r2, err,
	    errlen) != 0)
		goto out;
	ok = nc_expect(&r2, 200, "fresh timestamp") && ok;
	ret = ok ? 0 : 1;
out:
	httpc_resp_clear(&r2);
	return ret;
}

static int
atk_wrong_node(struct nc *c, const struct nc_opts *o, char *err,
    size_t errlen)
{
	struct httpc_resp r1 = { 0 }, r2 = { 0 };
	char line[NC_AUTH_LINE];
	const char *other = o->other_node;
	bool ok;
	int ret = -1;

	if (other == NULL)
		other = strcmp(c->id.node_id, "n-000000000000") == 0 ?
		    "n-ffffffffffff" : "n-000000000000";
	if (strcmp(other, c->id.node_id) == 0) {
		snprintf(err, errlen, "--other-node is this node");
		return -1;
	}
	/* Our session key, someone else's id in the tagged string. */
	if (nc_handshake(c, err, errlen) != 0 ||
	    nc_auth_line(&c->s, other, "GET", "/v1/node/desired", NULL, 0,
	    ++c->s.ctr, util_now(), line, sizeof(line)) != 0)
		goto out;
	if (nc_send(c, "GET", "/v1/node/desired", line, NULL, NULL, 0, &r1,
	    err, errlen) != 0)
		goto out;
	ok = nc_expect(&r1, 401, "tag for another node");
	if (nc_request(c, "GET", "/v1/node/desired", NULL, NULL, 0, &r2, err,
	    errlen) != 0)
		goto out;
	ok = nc_expect(&r2, 200, "tag for this node") && ok;
	ret = ok ? 0 : 1;
out:
	httpc_resp_clear(&r1);
	httpc_resp_clear(&r2);
	return ret;
}

static int
cmd_attack(const struct nc_opts *o,
    int (*fn)(struct nc *, const struct nc_opts *, char *, size_t))
{
	struct nc c;
	char err[512];
	int rc;

	if (nc_open(&c, o, err, sizeof(err)) != 0) {
		fprintf(stderr, "nodeclient: %s\n", err);
		nc_close(&c);
		return 1;
	}
	if ((rc = fn(&c, o, err, sizeof(err))) < 0)
		fprintf(stderr, "nodeclient: %s\n", err);
	nc_close(&c);
	return rc == 0 ? 0 : 1;
}

static int
cmd_replay(const struct nc_opts *o)
{
	return cmd_attack(o, atk_replay);
}

static int
cmd_tamper(const struct nc_opts *o)
{
	return cmd_attack(o, atk_tamper);
}

static int
cmd_stale(const struct nc_opts *o)
{
	return cmd_attack(o, atk_stale);
}

static int
cmd_wrong_node(const struct nc_opts *o)
{
	return cmd_attack(o, atk_wrong_node);
}

static const struct nc_cmd {
	const char	*name;
	int		(*fn)(const struct nc_opts *);
} nc_cmds[] = {
	{ "enroll", cmd_enroll },
	{ "desired", cmd_desired },
	{ "status", cmd_status },
	{ "replay", cmd_replay },
	{ "tamper", cmd_tamper },
	{ "stale", cmd_stale },
	{ "wrong-node", cmd_wrong_node },
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: nodeclient enroll --server URL --pin PIN --token T "
	    "--state FILE\n"
	    "                  [--hostname H] [--facts JSON] "
	    "[--bad-signature]\n"
	    "       nodeclient desired --state FILE [--if-none-match ETAG] "
	    "[--count N] [--out FILE]\n"
	    "       nodeclient status --state FILE --body JSON\n"
	    "       nodeclient replay|tamper|stale|wrong-node --state FILE "
	    "[--other-node ID]\n"
	    "every command takes --server URL --pin sha256//... (default: "
	    "the state file's)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 'S' },
		{ "pin", required_argument, NULL, 'P' },
		{ "token", required_argument, NULL, 't' },
		{ "state", required_argument, NULL, 's' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "facts", required_argument, NULL, 'f' },
		{ "bad-signature", no_argument, NULL, 'B' },
		{ "if-none-match", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },
		{ "body", required_argument, NULL, 'b' },
		{ "other-node", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	struct nc_opts o;
	const struct nc_cmd *cmd = NULL;
	size_t i;
	int c, rc;

	if (argc < 2)
		usage();
	for (i = 0; i < ARRAY_LEN(nc_cmds); i++)
		if (strcmp(argv[1], nc_cmds[i].name) == 0)
			cmd = &nc_cmds[i];
	if (cmd == NULL)
		usage();
	memset(&o, 0, sizeof(o));
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			o.server = optarg;
			break;
		case 'P':
			o.pin = optarg;
			break;
		case 't':
			o.token = optarg;
			break;
		case 's':
			o.state = optarg;
			break;
		case 'H':
			o.hostname = optarg;
			break;
		case 'f':
			o.facts = optarg;
			break;
		case 'B':
			o.bad_sig = true;
			break;
		case 'i':
			o.inm = optarg;
			break;
		case 'n':
			if (util_parse_i64(optarg, 1, NC_COUNT_MAX,
			    &o.count) != 0) {
				fprintf(stderr, "nodeclient: --count must be "
				    "1..%d\n", NC_COUNT_MAX);
				return 2;
			}
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'b':
			o.body = optarg;
			break;
		case 'N':
			o.other_node = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0 || httpc_global_init() != 0) {
		fprintf(stderr, "nodeclient: cannot initialise libsodium or "
		    "libcurl\n");
		return 1;
	}
	rc = cmd->fn(&o);
	curl_global_cleanup();
	return rc;
}
