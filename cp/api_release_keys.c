/*
 * Release key rotation over the API: GET /v1/release-keys (nodes follow
 * the chain, viewers inspect it) and POST /v1/release-keys (an admin
 * hands edge-cp a rotation made with `edge-cp release-key rotate`).  The
 * state and its files are cp/release_keys.h's.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/json.h"
#include "common/log.h"
#include "cp/api.h"
#include "cp/release_keys.h"
#include "cp/store.h"

int
api_release_keys_get(struct req *r)
{
	json_t *v = release_keys_view();

	if (v == NULL)
		return reply_error(r, 500, "internal", "out of memory");
	return reply_json(r, 200, v);
}

int
api_release_revocations_get(struct req *r)
{
	json_t *v = release_revoked_view();

	if (v == NULL)
		return reply_error(
		    r, 404, "not_found", "no revocation list was added");
	return reply_json(r, 200, v);
}

int
api_release_revocations_post(struct req *r)
{
	static const char *const keys[] = { "list", "signature", NULL };
	struct relkey_revoked *rv;
	const char *list = NULL, *sig = NULL;
	char err[512], obj[32];

	if (jfield_only(r->json, keys, err, sizeof(err)) ||
	    jfield_str(r->json, "list", true, RELKEY_REVOKED_TEXT_MAX, &list,
		err, sizeof(err)) ||
	    jfield_str(r->json, "signature", true, MSIG_SIG_MAX, &sig, err,
		sizeof(err)))
		return reply_error(r, 400, "invalid_field", "%s", err);
	if ((rv = malloc(sizeof(*rv))) == NULL)
		return reply_error(r, 500, "internal", "out of memory");
	if (release_revoked_add(list, sig, rv, err, sizeof(err)) != 0) {
		free(rv);
		return reply_error(r, 400, "invalid_revocations", "%s", err);
	}
	snprintf(obj, sizeof(obj), "%lld", (long long)rv->serial);
	log_info("event=release_revocations_added actor=%s serial=%lld "
		 "entries=%zu",
	    r->actor, (long long)rv->serial, rv->n);
	if (store_event_add(cp.store, r->actor, "release.revoke", obj, list) !=
	    STORE_OK)
		log_warnx("event=event_not_recorded action=release.revoke");
	reply_json(r, 201,
	    json_pack("{s:I,s:I}", "serial", (json_int_t)rv->serial, "entries",
		(json_int_t)rv->n));
	free(rv);
	return 0;
}

int
api_release_keys_post(struct req *r)
{
	static const char *const keys[] = { "public_key", "statement", NULL };
	char err[512], prev[MSIG_KEYIDHEX], next[MSIG_KEYIDHEX], detail[160];
	struct relkey_rotation rot;
	const char *pub = NULL, *stmt = NULL;

	if (jfield_only(r->json, keys, err, sizeof(err)) ||
	    jfield_str(r->json, "public_key", true, RELKEY_PUB_TEXT_MAX, &pub,
		err, sizeof(err)) ||
	    jfield_str(r->json, "statement", true, MSIG_SIG_MAX, &stmt, err,
		sizeof(err)))
		return reply_error(r, 400, "invalid_field", "%s", err);
	if (release_keys_add(pub, stmt, &rot, prev, err, sizeof(err)) != 0) {
		log_warnx("event=release_key_rotation_refused actor=%s "
			  "msg=\"%s\"",
		    r->actor, err);
		return reply_error(r, 400, "invalid_rotation", "%s", err);
	}
	msig_keyid_hex(rot.next.keyid, next, sizeof(next));
	snprintf(detail, sizeof(detail),
	    "%s -> %s dataplane_seq=%lld keeper_seq=%lld", prev, next,
	    (long long)rot.cutoff[0], (long long)rot.cutoff[1]);
	log_info("event=release_key_rotated actor=%s old=%s new=%s "
		 "dataplane_seq=%lld keeper_seq=%lld",
	    r->actor, prev, next, (long long)rot.cutoff[0],
	    (long long)rot.cutoff[1]);
	if (store_event_add(cp.store, r->actor, "release_key.rotate", next,
		detail) != STORE_OK)
		log_warnx("event=event_not_recorded action=release_key.rotate");
	return reply_json(r, 201,
	    json_pack("{s:s,s:s,s:I,s:I}", "key_id", next, "previous", prev,
		"dataplane_seq", (json_int_t)rot.cutoff[0], "keeper_seq",
		(json_int_t)rot.cutoff[1]));
}
