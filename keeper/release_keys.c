#include "keeper/release_keys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/afile.h"
#include "common/json.h"
#include "common/log.h"
#include "common/priv.h"
#include "common/relkey.h"
#include "common/util.h"

#define RK_PUB "/var/lib/edge-keeper/release.pub"
#define RK_RETIRED "/var/lib/edge-keeper/release.retired"
#define RK_REVOKED "/var/lib/edge-keeper/release.revoked"
/* GET /v1/release-keys: the chain at most, with room for its JSON. */
#define RK_CHAIN_BODY_MAX (RELKEY_CHAIN_MAX * 2048)

static int
rk_pinned(
    struct release_ctx *ctx, struct msig_pub *key, char *err, size_t errlen)
{
	char file[KEEPER_PATH_MAX], *txt = NULL;
	size_t len;
	int rc;

	keeper_path(ctx->conf, RK_PUB, file, sizeof(file));
	if (afile_read(file, 4096, &txt, &len) != 0) {
		snprintf(err, errlen, "no pinned release key");
		return -1;
	}
	rc = msig_pub_decode(txt, key, err, errlen);
	free(txt);
	return rc;
}

/*
 * The retired list into out (RELKEY_CHAIN_MAX entries); none when the file
 * is not there.  -1 when it cannot be read or does not parse.
 */
static int
rk_retired(struct release_ctx *ctx, struct relkey_retired *out, size_t *n,
    char *err, size_t errlen)
{
	char file[KEEPER_PATH_MAX], *txt = NULL;
	size_t len;
	int rc;

	*n = 0;
	keeper_path(ctx->conf, RK_RETIRED, file, sizeof(file));
	if (afile_read(file, RELKEY_RETIRED_MAX, &txt, &len) != 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", RK_RETIRED, strerror(errno));
		return -1;
	}
	rc = relkey_retired_parse(
	    txt, len, out, RELKEY_CHAIN_MAX, n, err, errlen);
	free(txt);
	return rc;
}

int
release_key_for(struct release_ctx *ctx, const char *component, const char *sig,
    struct msig_pub *key, int64_t *cutoff, char *err, size_t errlen)
{
	struct relkey_retired ret[RELKEY_CHAIN_MAX];
	const struct relkey_retired *r;
	unsigned char keyid[MSIG_KEYIDBYTES];
	char why[256];
	size_t n;
	int c = relkey_component(component);

	*cutoff = -1;
	if (rk_pinned(ctx, key, err, errlen) != 0)
		return -1;
	/* A malformed signature is refused by the verification itself. */
	if (c < 0 || msig_sig_keyid(sig, keyid, NULL, 0) != 0)
		return 0;
	if (rk_retired(ctx, ret, &n, why, sizeof(why)) != 0) {
		log_warnx("event=release_retired_unreadable msg=\"%s\"", why);
		return 0;
	}
	if ((r = relkey_retired_find(ret, n, keyid)) != NULL) {
		*key = r->key;
		*cutoff = r->cutoff[c];
	}
	return 0;
}

int
release_key_rotate(struct release_ctx *ctx, const char *pub_text,
    const char *stmt, bool *installed, char *err, size_t errlen)
{
	struct relkey_retired ret[RELKEY_CHAIN_MAX], mine;
	struct relkey_rotation rot;
	char file[KEEPER_PATH_MAX], text[RELKEY_RETIRED_MAX + 1];
	char pub[MSIG_PUB_TEXT_MAX], oid[MSIG_KEYIDHEX], nid[MSIG_KEYIDHEX];
	struct msig_pub cur;
	size_t n, i;
	int rc;

	*installed = false;
	if (rk_pinned(ctx, &cur, err, errlen) != 0)
		return -1;
	rc = relkey_verify(&cur, pub_text, stmt, &rot, err, errlen);
	if (rc == RELKEY_OTHER_SIGNER)
		return 0;
	if (rc != 0 || rk_retired(ctx, ret, &n, err, errlen) != 0)
		return -1;
	if (relkey_retired_find(ret, n, rot.next.keyid) != NULL) {
		snprintf(err, errlen, "rotation back to a retired key");
		return -1;
	}
	/* The list again, with the pinned key at its end (once). */
	text[0] = '\0';
	for (i = 0; i < n; i++)
		relkey_retired_append(text, sizeof(text), &ret[i]);
	if (relkey_retired_find(ret, n, cur.keyid) == NULL) {
		memset(&mine, 0, sizeof(mine));
		mine.key = cur;
		memcpy(mine.cutoff, rot.cutoff, sizeof(mine.cutoff));
		if (n == RELKEY_CHAIN_MAX ||
		    relkey_retired_append(text, sizeof(text), &mine) != 0) {
			snprintf(err, errlen, "more than %d retired keys",
			    RELKEY_CHAIN_MAX);
			return -1;
		}
		keeper_path(ctx->conf, RK_RETIRED, file, sizeof(file));
		if (afile_write(file, text, strlen(text), 0644) != 0) {
			snprintf(err, errlen, "%s: %s", file, strerror(errno));
			return -1;
		}
	}
	keeper_path(ctx->conf, RK_PUB, file, sizeof(file));
	if (msig_pub_encode(&rot.next, pub, sizeof(pub)) != 0 ||
	    afile_write(file, pub, strlen(pub), 0644) != 0) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	msig_keyid_hex(cur.keyid, oid, sizeof(oid));
	msig_keyid_hex(rot.next.keyid, nid, sizeof(nid));
	log_info("event=release_key_rotated old=%s new=%s dataplane_seq=%lld "
		 "keeper_seq=%lld",
	    oid, nid, (long long)rot.cutoff[0], (long long)rot.cutoff[1]);
	*installed = true;
	return 0;
}

/* One link, in this process or through the privileged part. */
static int
rk_rotate(struct release_ctx *ctx, const char *pub_text, const char *stmt,
    bool *installed, char *err, size_t errlen)
{
	struct priv_msg req, ans;
	int rc;

	if (priv_client_fd() < 0)
		return release_key_rotate(
		    ctx, pub_text, stmt, installed, err, errlen);
	priv_msg_init(&req, PRIV_RELEASE_KEY);
	priv_put_str(&req, pub_text);
	priv_put_str(&req, stmt);
	rc = priv_call(&req, &ans, err, errlen);
	*installed = rc == 0 && priv_get_u32(&ans) != 0;
	priv_msg_clear(&req);
	priv_msg_clear(&ans);
	return rc;
}

/* Walk the chain edge-cp sent; the number of keys installed, or -1. */
static int
rk_walk(struct release_ctx *ctx, const struct httpc_resp *r, char *err,
    size_t errlen)
{
	json_t *doc = NULL, *chain, *e;
	const char *pub, *stmt;
	bool installed;
	size_t i;
	int done = 0;

	if (json_parse_strict(r->body, r->len, RK_CHAIN_BODY_MAX,
		JSON_DEFAULT_DEPTH, &doc, err, errlen) != 0 ||
	    jfield_arr(doc, "rotations", true, RELKEY_CHAIN_MAX, &chain, err,
		errlen) != 0) {
		json_decref(doc);
		return -1;
	}
	json_array_foreach(chain, i, e)
	{
		static const char *const keys[] = { "public_key", "statement",
			NULL };

		if (!json_is_object(e) || jfield_only(e, keys, err, errlen) ||
		    jfield_str(e, "public_key", true, RELKEY_PUB_TEXT_MAX, &pub,
			err, errlen) ||
		    jfield_str(e, "statement", true, MSIG_SIG_MAX, &stmt, err,
			errlen) ||
		    rk_rotate(ctx, pub, stmt, &installed, err, errlen) != 0) {
			done = -1;
			break;
		}
		if (installed)
			done++;
	}
	json_decref(doc);
	return done;
}

/* The installed list into r; -1 when there is none or it is unreadable. */
static int
rk_revoked_load(struct release_ctx *ctx, struct relkey_revoked *r)
{
	char file[KEEPER_PATH_MAX], *txt = NULL, why[256];
	size_t len;
	int rc;

	memset(r, 0, sizeof(*r));
	keeper_path(ctx->conf, RK_REVOKED, file, sizeof(file));
	if (afile_read(file, RELKEY_REVOKED_TEXT_MAX, &txt, &len) != 0) {
		if (errno != ENOENT)
			log_warn("event=release_revoked_unreadable");
		return -1;
	}
	if ((rc = relkey_revoked_parse(txt, len, r, why, sizeof(why))) != 0)
		log_warnx("event=release_revoked_unreadable msg=\"%s\"", why);
	free(txt);
	return rc;
}

int
release_revoked(struct release_ctx *ctx, const char *component,
    const char *version, int64_t seq, char *err, size_t errlen)
{
	struct relkey_revoked *r;
	int rc = 0;

	if ((r = malloc(sizeof(*r))) == NULL)
		return 0;
	if (rk_revoked_load(ctx, r) == 0 &&
	    relkey_revoked_has(r, component, version, seq)) {
		snprintf(err, errlen,
		    "%s %s (sequence %lld) is revoked (revocation list %lld)",
		    component, version, (long long)seq, (long long)r->serial);
		rc = 1;
	}
	free(r);
	return rc;
}

int
release_revoked_install(struct release_ctx *ctx, const char *text,
    const char *sig, bool *installed, char *err, size_t errlen)
{
	struct relkey_revoked *have = NULL, *r = NULL;
	char file[KEEPER_PATH_MAX];
	struct msig_pub key;
	int rc = -1;

	*installed = false;
	if (rk_pinned(ctx, &key, err, errlen) != 0)
		return -1;
	if ((have = malloc(sizeof(*have))) == NULL ||
	    (r = malloc(sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (relkey_revoked_verify(&key, text, sig, r, err, errlen) != 0)
		goto out;
	rc = 0;
	if (rk_revoked_load(ctx, have) == 0 && r->serial <= have->serial)
		goto out;
	keeper_path(ctx->conf, RK_REVOKED, file, sizeof(file));
	if (afile_write(file, text, strlen(text), 0644) != 0) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		rc = -1;
		goto out;
	}
	log_info("event=release_revocations_installed serial=%lld entries=%zu",
	    (long long)r->serial, r->n);
	*installed = true;
out:
	free(have);
	free(r);
	return rc;
}

int
release_revoked_sync(
    struct release_ctx *ctx, int64_t serial, char *err, size_t errlen)
{
	static const char *const keys[] = { "serial", "list", "signature",
		NULL };
	struct httpc_resp r = { 0 };
	struct priv_msg req, ans;
	const char *list, *sig;
	json_t *doc = NULL;
	bool installed = false;
	int64_t n;
	int rc = -1;

	if (serial <= ctx->revoked_synced)
		return 0;
	if (cpclient_request(ctx->cp, "GET", "/v1/release-revocations", NULL,
		NULL, 0, &r, err, errlen) != 0)
		goto out;
	ctx->revoked_synced = serial;
	if (r.status != 200) {
		snprintf(err, errlen, "revocation list: HTTP %ld", r.status);
		goto out;
	}
	if (json_parse_strict(r.body, r.len, 2 * RELKEY_REVOKED_TEXT_MAX,
		JSON_DEFAULT_DEPTH, &doc, err, errlen) != 0 ||
	    jfield_only(doc, keys, err, errlen) ||
	    jfield_int(doc, "serial", true, 0, INT64_MAX, &n, err, errlen) ||
	    jfield_str(doc, "list", true, RELKEY_REVOKED_TEXT_MAX, &list, err,
		errlen) ||
	    jfield_str(doc, "signature", true, MSIG_SIG_MAX, &sig, err, errlen))
		goto out;
	if (priv_client_fd() < 0) {
		rc = release_revoked_install(
		    ctx, list, sig, &installed, err, errlen);
	} else {
		priv_msg_init(&req, PRIV_RELEASE_REVOKED);
		priv_put_str(&req, list);
		priv_put_str(&req, sig);
		rc = priv_call(&req, &ans, err, errlen);
		installed = rc == 0 && priv_get_u32(&ans) != 0;
		priv_msg_clear(&req);
		priv_msg_clear(&ans);
	}
	if (rc == 0)
		rc = installed;
out:
	json_decref(doc);
	httpc_resp_clear(&r);
	return rc;
}

int
release_keys_sync(
    struct release_ctx *ctx, const char *announced, char *err, size_t errlen)
{
	struct httpc_resp r = { 0 };
	char id[MSIG_KEYIDHEX];
	struct msig_pub key;
	int rc = -1;

	if (announced[0] == '\0' || strcmp(announced, ctx->key_synced) == 0)
		return 0;
	if (cpclient_request(ctx->cp, "GET", "/v1/release-keys", NULL, NULL, 0,
		&r, err, errlen) != 0)
		goto out;
	util_strlcpy(ctx->key_synced, announced, sizeof(ctx->key_synced));
	if (r.status != 200) {
		snprintf(err, errlen, "release keys: HTTP %ld", r.status);
		goto out;
	}
	rc = rk_walk(ctx, &r, err, errlen);
	/* Followed, the chain must end at the key edge-cp names. */
	if (rc >= 0 && rk_pinned(ctx, &key, err, errlen) == 0) {
		msig_keyid_hex(key.keyid, id, sizeof(id));
		if (strcmp(id, announced) != 0) {
			snprintf(err, errlen,
			    "edge-cp signs with release key %s, but its "
			    "rotations do not lead there from the pinned key "
			    "%s",
			    announced, id);
			rc = -1;
		}
	}
out:
	httpc_resp_clear(&r);
	return rc;
}
