#include "cp/desired.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/util.h"
#include "cp/release_keys.h"
#include "cp/server.h"
#include "cp/store.h"
#include "cp/tlsrot.h"

static json_t *
desired_doc(struct live_node *n, const json_t *in)
{
	const char *rid = json_string_value(json_object_get(in, "router_id"));
	char kid[MSIG_KEYIDHEX];
	json_t *doc, *pins;

	const json_t *targets = json_object_get(in, "targets");
	const json_t *prof = json_object_get(in, "profile");
	const char *pv = json_string_value(json_object_get(targets, "profile"));
	int64_t pver = 0;

	if (pv != NULL && pv[0] != '\0')
		util_parse_i64(pv, 1, INT64_MAX, &pver);
	doc = json_pack("{s:i,s:s,s:I,s:O,s:O,s:{s:I,s:o},s:O,s:O}", "schema",
	    1, "node_id", n->id, "interval_s", (json_int_t)cp.interval_s, "pop",
	    json_object_get(in, "pop"), "drain", json_object_get(in, "drain"),
	    "profile", "version", (json_int_t)pver, "steps",
	    json_is_object(prof) && json_object_get(prof, "steps")
		? json_incref(json_object_get(prof, "steps"))
		: json_array(),
	    "dataplane", json_object_get(targets, "dataplane"), "keeper",
	    json_object_get(targets, "keeper"));
	if (doc != NULL && rid != NULL && rid[0] != '\0')
		json_object_set_new(doc, "router_id", json_string(rid));
	/*
	 * Only when said: a keeper keeps the highest profile version it
	 * applied and goes below it only with this flag (T38).
	 */
	if (doc != NULL &&
	    json_is_true(json_object_get(targets, "profile_rollback")))
		json_object_set_new(
		    json_object_get(doc, "profile"), "rollback", json_true());
	/*
	 * A rotation or a revocation list changes every document
	 * (cp/release_keys.h).  Neither field is sent before there is one:
	 * a keeper older than them refuses a document with a field it does
	 * not know, and could then not even be sent the keeper release that
	 * knows them.
	 */
	if (doc != NULL && release_keys_rotated()) {
		release_keys_current_id(kid);
		json_object_set_new(doc, "release_key", json_string(kid));
	}
	if (doc != NULL && release_revoked_serial() > 0)
		json_object_set_new(doc, "revocations",
		    json_integer((json_int_t)release_revoked_serial()));
	/* The TLS pins, once a rotation began (cp/tlsrot.h). */
	if (doc != NULL && (pins = tlsrot_pins()) != NULL)
		json_object_set_new(doc, "tls_pins", pins);
	return doc;
}

int
desired_build(struct live_node *n, json_t **doc, char etag[DESIRED_ETAG_MAX])
{
	unsigned char h[16];
	char hex[33];
	unsigned ge, le;
	json_t *in;
	char *txt;
	size_t len;
	int rc;

	*doc = NULL;
	/* Read the epochs first: a change racing the build forces a rebuild. */
	ge = live_global_epoch();
	le = atomic_load(&n->local_epoch);
	if ((rc = store_desired_inputs(cp.store, n->id, &in)) != STORE_OK)
		return rc;
	*doc = desired_doc(n, in);
	json_decref(in);
	if (*doc == NULL || (txt = json_dump_canonical(*doc, &len)) == NULL) {
		json_decref(*doc);
		*doc = NULL;
		return STORE_ERR;
	}
	crypto_generichash(
	    h, sizeof(h), (const unsigned char *)txt, len, NULL, 0);
	free(txt);
	util_hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(etag, DESIRED_ETAG_MAX, "\"%s\"", hex);
	pthread_mutex_lock(&n->mu);
	util_strlcpy(n->etag, etag, sizeof(n->etag));
	n->etag_global = ge;
	n->etag_local = le;
	pthread_mutex_unlock(&n->mu);
	return STORE_OK;
}

int
desired_etag(struct live_node *n, char etag[DESIRED_ETAG_MAX])
{
	json_t *doc;
	bool hit;
	int rc;

	pthread_mutex_lock(&n->mu);
	hit = n->etag[0] != '\0' && n->etag_global == live_global_epoch() &&
	    n->etag_local == atomic_load(&n->local_epoch);
	if (hit)
		util_strlcpy(etag, n->etag, DESIRED_ETAG_MAX);
	pthread_mutex_unlock(&n->mu);
	if (hit)
		return 0;
	rc = desired_build(n, &doc, etag);
	json_decref(doc);
	return rc == STORE_OK ? 0 : -1;
}
