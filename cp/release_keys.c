#include "cp/release_keys.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/afile.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "cp/live.h"

#define RK_CHAIN_FILE_MAX (RELKEY_CHAIN_MAX * 2048)

static struct {
	pthread_mutex_t mu;
	char dir[512];
	struct msig_pub pub;
	char text[MSIG_PUB_TEXT_MAX];
	json_t *chain;   /* the "rotations" array */
	json_t *revoked; /* {"serial","list","signature"}, or NULL */
	int64_t revoked_serial;
} rk = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int
rk_path(char *out, size_t len, const char *name)
{
	return (size_t)snprintf(out, len, "%s/%s", rk.dir, name) >= len ? -1
									: 0;
}

/* The chain file, parsed and shaped; an empty chain when there is none. */
static int
rk_chain_read(json_t **out, char *err, size_t errlen)
{
	static const char *const keys[] = { "public_key", "statement", NULL };
	char path[600], *txt = NULL;
	json_t *doc = NULL, *arr, *e;
	size_t len, i;
	const char *s;

	*out = NULL;
	if (rk_path(path, sizeof(path), "release.rotations") != 0) {
		snprintf(err, errlen, "data dir path too long");
		return -1;
	}
	if (afile_read(path, RK_CHAIN_FILE_MAX, &txt, &len) != 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "release.rotations: %s",
			    strerror(errno));
			return -1;
		}
		return (*out = json_array()) != NULL ? 0 : -1;
	}
	if (json_parse_strict(txt, len, RK_CHAIN_FILE_MAX, JSON_DEFAULT_DEPTH,
		&doc, err, errlen) != 0 ||
	    jfield_arr(doc, "rotations", true, RELKEY_CHAIN_MAX, &arr, err,
		errlen) != 0)
		goto fail;
	json_array_foreach(arr, i, e)
	{
		if (!json_is_object(e) || jfield_only(e, keys, err, errlen) ||
		    jfield_str(e, "public_key", true, RELKEY_PUB_TEXT_MAX, &s,
			err, errlen) ||
		    jfield_str(
			e, "statement", true, MSIG_SIG_MAX, &s, err, errlen))
			goto fail;
	}
	*out = json_incref(arr);
	json_decref(doc);
	free(txt);
	return 0;
fail:
	json_decref(doc);
	free(txt);
	return -1;
}

static int
rk_chain_write(const json_t *chain, char *err, size_t errlen)
{
	char path[600], *txt;
	json_t *doc;
	size_t len;
	int rc = -1;

	if ((doc = json_pack("{s:O}", "rotations", chain)) == NULL ||
	    (txt = json_dump_canonical(doc, &len)) == NULL) {
		json_decref(doc);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (rk_path(path, sizeof(path), "release.rotations") == 0 &&
	    afile_write(path, txt, len, 0644) == 0)
		rc = 0;
	else
		snprintf(err, errlen, "release.rotations: %s", strerror(errno));
	free(txt);
	json_decref(doc);
	return rc;
}

static int
rk_pub_write(const struct msig_pub *pub, char *err, size_t errlen)
{
	char path[600], text[MSIG_PUB_TEXT_MAX];

	if (rk_path(path, sizeof(path), "release.pub") != 0 ||
	    msig_pub_encode(pub, text, sizeof(text)) != 0 ||
	    afile_write(path, text, strlen(text), 0644) != 0) {
		snprintf(err, errlen, "release.pub: %s", strerror(errno));
		return -1;
	}
	util_strlcpy(rk.text, text, sizeof(rk.text));
	rk.pub = *pub;
	return 0;
}

static const char *
rk_str(const json_t *e, const char *key)
{
	return json_string_value(json_object_get(e, key));
}

/* Was key ever the current one: the first signer or announced since? */
static bool
rk_used(const struct msig_pub *key)
{
	struct msig_pub k;
	json_t *e;
	size_t i;

	json_array_foreach(rk.chain, i, e)
	{
		unsigned char id[MSIG_KEYIDBYTES];

		if (msig_sig_keyid(rk_str(e, "statement"), id, NULL, 0) == 0 &&
		    memcmp(id, key->keyid, sizeof(id)) == 0)
			return true;
		if (msig_pub_decode(rk_str(e, "public_key"), &k, NULL, 0) ==
			0 &&
		    memcmp(k.keyid, key->keyid, sizeof(k.keyid)) == 0)
			return true;
	}
	return memcmp(rk.pub.keyid, key->keyid, MSIG_KEYIDBYTES) == 0;
}

/* The list on disk, if any, into rk.revoked; it was verified when added. */
static int
rk_revoked_read(char *err, size_t errlen)
{
	char lp[600], sp[600], *list = NULL, *sig = NULL;
	struct relkey_revoked *r = NULL;
	size_t len, slen;
	int rc = -1;

	if (rk_path(lp, sizeof(lp), "release.revoked") != 0 ||
	    rk_path(sp, sizeof(sp), "release.revoked.minisig") != 0)
		return -1;
	if (afile_read(lp, RELKEY_REVOKED_TEXT_MAX, &list, &len) != 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "release.revoked: %s", strerror(errno));
		return -1;
	}
	if (afile_read(sp, MSIG_SIG_MAX, &sig, &slen) != 0) {
		snprintf(err, errlen, "release.revoked.minisig: %s",
		    strerror(errno));
		goto out;
	}
	if ((r = malloc(sizeof(*r))) == NULL ||
	    relkey_revoked_parse(list, len, r, err, errlen) != 0)
		goto out;
	json_decref(rk.revoked);
	rk.revoked = json_pack("{s:I,s:s,s:s}", "serial", (json_int_t)r->serial,
	    "list", list, "signature", sig);
	rk.revoked_serial = r->serial;
	rc = rk.revoked != NULL ? 0 : -1;
out:
	free(r);
	free(list);
	free(sig);
	return rc;
}

int
release_keys_load(const char *data_dir, char *err, size_t errlen)
{
	struct relkey_rotation rot;
	struct msig_pub last;
	char path[600], *txt = NULL;
	size_t len, n;
	json_t *e;
	int rc = -1;

	pthread_mutex_lock(&rk.mu);
	util_strlcpy(rk.dir, data_dir, sizeof(rk.dir));
	if (rk_path(path, sizeof(path), "release.pub") != 0 ||
	    afile_read(path, 4096, &txt, &len) != 0) {
		snprintf(err, errlen, "release.pub: %s", strerror(errno));
		goto out;
	}
	if (msig_pub_decode(txt, &rk.pub, err, errlen) != 0)
		goto out;
	util_strlcpy(rk.text, txt, sizeof(rk.text));
	json_decref(rk.chain);
	if (rk_chain_read(&rk.chain, err, errlen) != 0)
		goto out;
	if ((n = json_array_size(rk.chain)) > 0) {
		e = json_array_get(rk.chain, n - 1);
		if (msig_pub_decode(
			rk_str(e, "public_key"), &last, err, errlen) != 0)
			goto out;
		if (sodium_memcmp(&last, &rk.pub, sizeof(last)) != 0) {
			/* A rotation cut short between its two writes. */
			if (relkey_verify(&rk.pub, rk_str(e, "public_key"),
				rk_str(e, "statement"), &rot, err,
				errlen) != 0) {
				snprintf(err, errlen,
				    "release.pub is not the key the last "
				    "rotation in release.rotations names");
				goto out;
			}
			if (rk_pub_write(&rot.next, err, errlen) != 0)
				goto out;
			log_info("event=release_key_rotation_finished");
		}
	}
	rc = rk_revoked_read(err, errlen);
out:
	pthread_mutex_unlock(&rk.mu);
	free(txt);
	return rc;
}

void
release_keys_current(struct msig_pub *pub, char *text, size_t textlen)
{
	pthread_mutex_lock(&rk.mu);
	if (pub != NULL)
		*pub = rk.pub;
	if (text != NULL)
		util_strlcpy(text, rk.text, textlen);
	pthread_mutex_unlock(&rk.mu);
}

void
release_keys_current_id(char id[MSIG_KEYIDHEX])
{
	struct msig_pub pub;

	release_keys_current(&pub, NULL, 0);
	msig_keyid_hex(pub.keyid, id, MSIG_KEYIDHEX);
}

bool
release_keys_rotated(void)
{
	bool r;

	pthread_mutex_lock(&rk.mu);
	r = json_array_size(rk.chain) > 0;
	pthread_mutex_unlock(&rk.mu);
	return r;
}

int
release_keys_add(const char *pub_text, const char *stmt,
    struct relkey_rotation *rot, char prev[MSIG_KEYIDHEX], char *err,
    size_t errlen)
{
	json_t *chain = NULL;
	int rc = -1;

	pthread_mutex_lock(&rk.mu);
	msig_keyid_hex(rk.pub.keyid, prev, MSIG_KEYIDHEX);
	switch (relkey_verify(&rk.pub, pub_text, stmt, rot, err, errlen)) {
	case 0:
		break;
	case RELKEY_OTHER_SIGNER:
		snprintf(err, errlen,
		    "the statement is not signed by the current release key "
		    "%s",
		    prev);
		goto out;
	default:
		goto out;
	}
	if (rk_used(&rot->next)) {
		snprintf(err, errlen, "that key was a release key before");
		goto out;
	}
	if (json_array_size(rk.chain) >= RELKEY_CHAIN_MAX) {
		snprintf(err, errlen, "%d rotations already; the chain is full",
		    RELKEY_CHAIN_MAX);
		goto out;
	}
	if ((chain = json_copy(rk.chain)) == NULL ||
	    json_array_append_new(chain,
		json_pack("{s:s,s:s}", "public_key", pub_text, "statement",
		    stmt)) != 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (rk_chain_write(chain, err, errlen) != 0)
		goto out;
	json_decref(rk.chain);
	rk.chain = chain;
	chain = NULL;
	if (rk_pub_write(&rot->next, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	pthread_mutex_unlock(&rk.mu);
	json_decref(chain);
	if (rc == 0)
		live_bump_global();
	return rc;
}

int
release_revoked_add(const char *text, const char *sig,
    struct relkey_revoked *out, char *err, size_t errlen)
{
	char lp[600], sp[600];
	json_t *v;
	int rc = -1;

	pthread_mutex_lock(&rk.mu);
	if (relkey_revoked_verify(&rk.pub, text, sig, out, err, errlen) != 0)
		goto out;
	if (out->serial <= rk.revoked_serial) {
		snprintf(err, errlen,
		    "serial %lld is not above the list in force, %lld",
		    (long long)out->serial, (long long)rk.revoked_serial);
		goto out;
	}
	if ((v = json_pack("{s:I,s:s,s:s}", "serial", (json_int_t)out->serial,
		 "list", text, "signature", sig)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* The signature first: a list is never beside another's. */
	if (rk_path(lp, sizeof(lp), "release.revoked") != 0 ||
	    rk_path(sp, sizeof(sp), "release.revoked.minisig") != 0 ||
	    afile_write(sp, sig, strlen(sig), 0644) != 0 ||
	    afile_write(lp, text, strlen(text), 0644) != 0) {
		snprintf(err, errlen, "release.revoked: %s", strerror(errno));
		json_decref(v);
		goto out;
	}
	json_decref(rk.revoked);
	rk.revoked = v;
	rk.revoked_serial = out->serial;
	rc = 0;
out:
	pthread_mutex_unlock(&rk.mu);
	if (rc == 0)
		live_bump_global();
	return rc;
}

int64_t
release_revoked_serial(void)
{
	int64_t s;

	pthread_mutex_lock(&rk.mu);
	s = rk.revoked_serial;
	pthread_mutex_unlock(&rk.mu);
	return s;
}

json_t *
release_revoked_view(void)
{
	json_t *v;

	pthread_mutex_lock(&rk.mu);
	v = rk.revoked != NULL ? json_deep_copy(rk.revoked) : NULL;
	pthread_mutex_unlock(&rk.mu);
	return v;
}

json_t *
release_keys_view(void)
{
	char id[MSIG_KEYIDHEX];
	json_t *v;

	pthread_mutex_lock(&rk.mu);
	msig_keyid_hex(rk.pub.keyid, id, sizeof(id));
	v = json_pack("{s:s,s:s,s:O}", "key_id", id, "public_key", rk.text,
	    "rotations", rk.chain);
	pthread_mutex_unlock(&rk.mu);
	return v;
}
