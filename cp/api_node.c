/*
 * The node-facing endpoints: enrollment, the session handshake, and the
 * check-in pair (desired state, status report).  docs/protocol.md is the
 * reference; common/nodeauth.h has the exact signed messages.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/nodeauth.h"
#include "common/statesig.h"
#include "common/util.h"
#include "cp/api.h"
#include "cp/auth.h"
#include "cp/desired.h"
#include "cp/generation.h"
#include "cp/live.h"
#include "cp/metrics.h"
#include "cp/release_keys.h"
#include "cp/session.h"
#include "cp/statekey.h"
#include "cp/store.h"
#include "cp/validate.h"

int
api_enroll(struct req *r)
{
	static const char *const keys[] = { "token", "public_key", "hostname",
		"facts", "signature", NULL };
	const char *token = NULL, *pk_b64 = NULL, *host = NULL, *sig_b64 = NULL;
	unsigned char pk[32], sig[64], th[32], rnd[6];
	struct store_new_node nn;
	json_t *facts = NULL;
	char err[256], msg[512], id[40], pop[40], hex[16];
	char rpub[MSIG_PUB_TEXT_MAX], *facts_txt = NULL;
	int n, rc = STORE_ERR, attempt;

	if (jfield_only(r->json, keys, err, sizeof(err)) != 0 ||
	    jfield_str(r->json, "token", true, 64, &token, err, sizeof(err)) !=
		0 ||
	    jfield_str(r->json, "public_key", true, 64, &pk_b64, err,
		sizeof(err)) != 0 ||
	    jfield_str(
		r->json, "hostname", true, 253, &host, err, sizeof(err)) != 0 ||
	    jfield_str(r->json, "signature", true, 128, &sig_b64, err,
		sizeof(err)) != 0 ||
	    jfield_obj(r->json, "facts", false, &facts, err, sizeof(err)) != 0)
		return reply_error(r, 400, "invalid_field", "%s", err);
	if (!validate_hostname(host))
		return reply_error(r, 400, "invalid_field",
		    "hostname: letters, "
		    "digits, dots and dashes only");
	if (facts != NULL && validate_facts(facts, err, sizeof(err)) != 0)
		return reply_error(r, 400, "invalid_field", "%s", err);
	if (util_unb64(pk, sizeof(pk), pk_b64) != 32)
		return reply_error(r, 400, "invalid_field",
		    "public_key: must "
		    "be a base64 Ed25519 public key");
	if (util_unb64(sig, sizeof(sig), sig_b64) != 64)
		return reply_error(r, 400, "invalid_field",
		    "signature: must be "
		    "a base64 Ed25519 signature");
	/* Proof of possession, checked before the token is touched. */
	n = nodeauth_enroll_msg(msg, sizeof(msg), token, pk_b64, host);
	if (n < 0 ||
	    crypto_sign_verify_detached(
		sig, (const unsigned char *)msg, (size_t)n, pk) != 0) {
		sodium_memzero(msg, sizeof(msg));
		return reply_error(r, 401, "bad_signature",
		    "the enrollment "
		    "signature does not match the public key");
	}
	sodium_memzero(msg, sizeof(msg));
	if (strncmp(token, "efe_", 4) != 0 || auth_token_hash(token, th) != 0)
		return reply_error(r, 401, "invalid_token",
		    "enrollment token "
		    "unknown, expired or used up");
	facts_txt = facts ? json_dump_canonical(facts, NULL) : NULL;
	memset(&nn, 0, sizeof(nn));
	nn.hostname = host;
	nn.facts = facts_txt ? facts_txt : "{}";
	memcpy(nn.public_key, pk, 32);
	nn.id = id;
	/* Six random bytes make a collision rare; the store says if not. */
	for (attempt = 0; attempt < 4; attempt++) {
		randombytes_buf(rnd, sizeof(rnd));
		util_hex(hex, sizeof(hex), rnd, sizeof(rnd));
		snprintf(id, sizeof(id), "n-%s", hex);
		rc = store_enroll(
		    cp.store, th, util_now(), &nn, pop, sizeof(pop));
		if (rc != STORE_CONFLICT)
			break;
	}
	free(facts_txt);
	if (rc == STORE_NOTFOUND)
		return reply_error(r, 401, "invalid_token",
		    "enrollment token "
		    "unknown, expired or used up");
	if (rc != STORE_OK)
		return reply_store_error(r, rc, "node");
	if (live_add(id, pop, pk, false, 0) != 0)
		log_warnx("event=live_add_failed node=%s", id);
	log_info("event=enrolled node=%s pop=%s", id, pop);
	release_keys_current(NULL, rpub, sizeof(rpub));
	return reply_json(r, 201,
	    json_pack("{s:s,s:s,s:I,s:s,s:s,s:I}", "node_id", id, "pop", pop,
		"interval_s", (json_int_t)cp.interval_s, "release_public_key",
		rpub, "state_public_key", statekey_pub_text(), "server_time",
		(json_int_t)util_now()));
}

/*
 * Where edge-cp probes the node (cp/probe.h): the address its signed
 * requests come from, which its reports cannot name.  Noted on the
 * handshake and the status report, not on the check-in: those are rare
 * enough for the node's mutex, and a node that moves makes both again.
 */
static void
node_note_addr(struct req *r, struct live_node *n)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
	    r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char was[LIVE_ADDR_MAX], now[LIVE_ADDR_MAX];

	/*
	 * A node that moves is logged: its key, wherever it is used from,
	 * decides where it is probed (docs/threat-model.md T15).
	 */
	if (ci != NULL && live_set_addr(n, ci->client_addr, was) == 1)
		log_warnx("event=node_address_changed node=%s from=%s to=%s",
		    n->id, was,
		    util_addr_str(ci->client_addr, now, sizeof(now)));
}

int
api_node_session(struct req *r)
{
	static const char *const keys[] = { "node_id", "ts", "kx_public_key",
		"signature", NULL };
	const char *id = NULL, *kx_b64 = NULL, *sig_b64 = NULL;
	unsigned char cpk[crypto_kx_PUBLICKEYBYTES], sig[64];
	unsigned char spk[crypto_kx_PUBLICKEYBYTES];
	unsigned char ssk[crypto_kx_SECRETKEYBYTES];
	unsigned char rx[crypto_kx_SESSIONKEYBYTES],
	    tx[crypto_kx_SESSIONKEYBYTES];
	char err[256], msg[512], sid[NODEAUTH_SIDHEX + 1], spk_b64[64];
	struct live_node *n = NULL;
	int64_t ts = 0, now = util_now(), expires;
	int len, ret;

	if (jfield_only(r->json, keys, err, sizeof(err)) != 0 ||
	    jfield_str(r->json, "node_id", true, 39, &id, err, sizeof(err)) !=
		0 ||
	    jfield_int(r->json, "ts", true, 0, INT64_MAX, &ts, err,
		sizeof(err)) != 0 ||
	    jfield_str(r->json, "kx_public_key", true, 64, &kx_b64, err,
		sizeof(err)) != 0 ||
	    jfield_str(r->json, "signature", true, 128, &sig_b64, err,
		sizeof(err)) != 0)
		return reply_error(r, 400, "invalid_field", "%s", err);
	if (util_unb64(cpk, sizeof(cpk), kx_b64) != (int)sizeof(cpk) ||
	    util_unb64(sig, sizeof(sig), sig_b64) != 64)
		return reply_error(r, 400, "invalid_field",
		    "kx_public_key or "
		    "signature: bad base64 or length");
	if (ts < now - NODEAUTH_MAX_SKEW || ts > now + NODEAUTH_MAX_SKEW) {
		char st[24];

		reply_error(r, 401, "clock_skew",
		    "timestamp is %lld s away "
		    "from the server's clock",
		    (long long)(ts - now));
		snprintf(st, sizeof(st), "%lld", (long long)now);
		reply_header(r, "X-Edge-Server-Time", st);
		return 0;
	}
	/* Unknown node and bad signature look alike to the caller. */
	if ((n = live_get(id)) == NULL)
		return reply_error(r, 401, "unauthenticated",
		    "unknown node or "
		    "bad signature");
	len = nodeauth_session_msg(msg, sizeof(msg), id, ts, kx_b64);
	if (len < 0 ||
	    crypto_sign_verify_detached(sig, (const unsigned char *)msg,
		(size_t)len, n->public_key) != 0) {
		live_put(n);
		return reply_error(r, 401, "unauthenticated",
		    "unknown node or "
		    "bad signature");
	}
	if (live_kx_fresh(n, cpk) != 0) {
		live_put(n);
		return reply_error(
		    r, 401, "unauthenticated", "handshake replayed");
	}
	crypto_kx_keypair(spk, ssk);
	ret = crypto_kx_server_session_keys(rx, tx, spk, ssk, cpk);
	sodium_memzero(ssk, sizeof(ssk));
	if (ret != 0 || session_open(n, rx, now, sid, &expires) != 0) {
		sodium_memzero(rx, sizeof(rx));
		sodium_memzero(tx, sizeof(tx));
		live_put(n);
		return reply_error(r, ret != 0 ? 400 : 500,
		    ret != 0 ? "invalid_field" : "internal",
		    ret != 0 ? "kx_public_key: unusable key"
			     : "cannot open session");
	}
	sodium_memzero(rx, sizeof(rx));
	sodium_memzero(tx, sizeof(tx));
	node_note_addr(r, n);
	live_put(n);
	util_b64(spk_b64, sizeof(spk_b64), spk, sizeof(spk));
	return reply_json(r, 201,
	    json_pack("{s:s,s:s,s:I,s:I}", "session_id", sid, "kx_public_key",
		spk_b64, "expires_at", (json_int_t)expires, "server_time",
		(json_int_t)now));
}

int
api_node_desired(struct req *r)
{
	char etag[DESIRED_ETAG_MAX], sig[STATESIG_HDR_MAX], *txt;
	const char *inm = req_header(r, "If-None-Match");
	json_t *doc;
	int rc;

	live_seen(r->node, util_now());
	atomic_fetch_add(&r->node->checkins, 1);
	metrics_checkin();
	/* The steady state: the node has what it should have. */
	if (inm != NULL && desired_etag(r->node, etag) == 0 &&
	    strcmp(inm, etag) == 0) {
		reply_data(r, 304, NULL, "", 0);
		reply_header(r, "ETag", etag);
		return 0;
	}
	if ((rc = desired_build(r->node, &doc, etag)) != STORE_OK)
		return reply_store_error(r, rc, "node");
	/*
	 * Signed as sent (common/statesig.h): the bytes the node receives
	 * are the bytes signed, for this node only.  The key rides along for
	 * a node enrolled before edge-cp signed, which learns it once.
	 */
	txt = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (txt == NULL ||
	    statekey_sign(r->node->id, txt, strlen(txt), sig, sizeof(sig)) !=
		0) {
		free(txt);
		return reply_error(r, 500, "internal", "cannot sign");
	}
	reply_data(r, 200, "application/json", txt, strlen(txt));
	free(txt);
	reply_header(r, "ETag", etag);
	reply_header(r, STATESIG_HEADER, sig);
	reply_header(r, STATESIG_KEY_HEADER, statekey_pub_text());
	return 0;
}

/*
 * What the node has admitted (validated already): a number above what
 * edge-cp knows of raises its floor, so it never hands that number out
 * again (a database restored from an old copy, T38).
 */
static void
status_marks(const char *node_id, const json_t *status)
{
	const json_t *a = json_object_get(status, "admitted");
	struct store_marks m;

	if (a == NULL)
		return;
	m.dataplane = json_integer_value(json_object_get(a, "dataplane"));
	m.keeper = json_integer_value(json_object_get(a, "keeper"));
	m.profile = json_integer_value(json_object_get(a, "profile"));
	m.events = 0;
	gen_note_admitted(cp.store, node_id, &m);
}

int
api_node_status(struct req *r)
{
	unsigned char hash[32];
	json_t *status;
	char err[256], *txt;
	size_t len;
	bool same;
	int64_t now = util_now();
	int rc;

	if (validate_status(r->json, &status, err, sizeof(err)) != 0)
		return reply_error(r, 400, "invalid_field", "%s", err);
	node_note_addr(r, r->node);
	status_marks(r->node->id, status);
	if ((txt = json_dump_canonical(status, &len)) == NULL) {
		json_decref(status);
		return reply_error(r, 500, "internal", "out of memory");
	}
	crypto_generichash(
	    hash, sizeof(hash), (const unsigned char *)txt, len, NULL, 0);
	pthread_mutex_lock(&r->node->mu);
	same = r->node->has_report &&
	    memcmp(r->node->status_hash, hash, sizeof(hash)) == 0;
	pthread_mutex_unlock(&r->node->mu);
	/*
	 * A changed report's health transition is queued when it is applied
	 * below, so a node back from a silence with news gets one event for
	 * it, not one for the check-in and another for the report.
	 */
	if (same)
		live_seen(r->node, now);
	else
		atomic_store(&r->node->last_seen, now);
	/* An unchanged report costs no disk write (SPEC §4.4). */
	if (!same) {
		rc = store_node_status(cp.store, r->node->id, txt, hash, now);
		if (rc != STORE_OK) {
			free(txt);
			json_decref(status);
			return reply_store_error(r, rc, "node");
		}
		atomic_store(&r->node->seen_flushed, now);
		live_apply_status(r->node, status, hash, now);
		metrics_status_write();
	}
	free(txt);
	json_decref(status);
	return reply_json(r, 200, json_pack("{s:b}", "stored", !same));
}
