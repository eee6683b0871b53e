#include "keeper/desired.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "common/afile.h"
#include "common/bgpconf.h"
#include "common/json.h"
#include "common/util.h"

#define KDESIRED_MAX (1u << 20)
#define KDESIRED_HEX (crypto_hash_sha256_BYTES * 2)
#define KDESIRED_ETAG_MAX 95

void
kdesired_free(struct kdesired *d)
{
	if (d == NULL)
		return;
	steplist_free(d->steps, d->nsteps);
	json_decref(d->pop);
	json_decref(d->bgp);
	free(d);
}

/* {"version": V, "rollback"?: bool}: a release target. */
static int
kdesired_target(const json_t *t, char *version, size_t len, bool *rollback,
    char *err, size_t errlen)
{
	static const char *const keys[] = { "version", "rollback", NULL };
	const char *s = "";

	*rollback = false;
	if (jfield_only(t, keys, err, errlen) ||
	    jfield_str(t, "version", true, 64, &s, err, errlen) ||
	    jfield_bool(t, "rollback", false, rollback, err, errlen))
		return -1;
	util_strlcpy(version, s, len);
	return 0;
}

struct kdesired *
kdesired_parse(const char *text, size_t len, char *err, size_t errlen)
{
	static const char *const keys[] = { "schema", "node_id", "interval_s",
		"pop", "drain", "profile", "dataplane", "keeper", "router_id",
		"release_key", "revocations",
		"tls_pins", /* keeper/trust.c reads them */
		NULL };
	static const char *const pkeys[] = { "version", "steps", "rollback",
		NULL };
	struct kdesired *d = NULL;
	json_t *doc = NULL, *prof, *steps, *dp, *kp, *pop, *bgp;
	const char *s = NULL, *rid = "", *rk = "";
	unsigned char bin[4];
	int64_t n = 0;

	if (json_parse_strict(text, len, KDESIRED_MAX, JSON_DEFAULT_DEPTH, &doc,
		err, errlen) != 0)
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (jfield_only(doc, keys, err, errlen) ||
	    jfield_int(doc, "schema", true, 1, 1, &n, err, errlen) ||
	    jfield_str(doc, "node_id", true, 39, &s, err, errlen) ||
	    jfield_int(
		doc, "interval_s", true, 1, 300, &d->interval_s, err, errlen) ||
	    jfield_bool(doc, "drain", true, &d->drain, err, errlen) ||
	    jfield_obj(doc, "pop", true, &pop, err, errlen) ||
	    jfield_obj(doc, "profile", true, &prof, err, errlen) ||
	    jfield_obj(doc, "dataplane", true, &dp, err, errlen) ||
	    jfield_obj(doc, "keeper", true, &kp, err, errlen) ||
	    jfield_str(doc, "router_id", false, 15, &rid, err, errlen) ||
	    jfield_str(doc, "release_key", false, 16, &rk, err, errlen) ||
	    jfield_int(doc, "revocations", false, 0, INT64_MAX, &d->revocations,
		err, errlen))
		goto fail;
	if (strspn(rk, "0123456789ABCDEF") != strlen(rk)) {
		snprintf(err, errlen, "release_key: not a key id");
		goto fail;
	}
	util_strlcpy(d->release_key, rk, sizeof(d->release_key));
	util_strlcpy(d->node_id, s, sizeof(d->node_id));
	d->pop = json_incref(pop);
	if (rid[0] != '\0' && inet_pton(AF_INET, rid, bin) != 1) {
		snprintf(err, errlen, "router_id: not an IPv4 address");
		goto fail;
	}
	util_strlcpy(d->router_id, rid, sizeof(d->router_id));
	/* What becomes BIRD's configuration is checked here too. */
	if ((bgp = json_object_get(pop, "bgp")) != NULL) {
		char sub[200];

		if (bgpconf_validate(bgp, &d->bgp, sub, sizeof(sub)) != 0) {
			snprintf(err, errlen, "pop.bgp.%s", sub);
			goto fail;
		}
	}
	if (kdesired_target(dp, d->dataplane_version,
		sizeof(d->dataplane_version), &d->dataplane_rollback, err,
		errlen) ||
	    kdesired_target(kp, d->keeper_version, sizeof(d->keeper_version),
		&d->keeper_rollback, err, errlen))
		goto fail;
	/* A version becomes a path on this node: no "..", no "/". */
	if ((d->dataplane_version[0] != '\0' &&
		!util_version_ok(d->dataplane_version)) ||
	    (d->keeper_version[0] != '\0' &&
		!util_version_ok(d->keeper_version))) {
		snprintf(err, errlen, "dataplane or keeper: bad version");
		goto fail;
	}
	if (jfield_only(prof, pkeys, err, errlen) ||
	    jfield_int(prof, "version", true, 0, INT64_MAX, &d->profile_version,
		err, errlen) ||
	    jfield_bool(
		prof, "rollback", false, &d->profile_rollback, err, errlen) ||
	    jfield_arr(
		prof, "steps", true, STEPLIST_MAX, &steps, err, errlen) ||
	    steplist_parse(steps, &d->steps, &d->nsteps, err, errlen) != 0)
		goto fail;
	json_decref(doc);
	return d;
fail:
	kdesired_free(d);
	json_decref(doc);
	return NULL;
}

static void
kdesired_hash(const char *text, size_t len, char hex[KDESIRED_HEX + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)text, len);
	util_hex(hex, KDESIRED_HEX + 1, h, sizeof(h));
}

int
kdesired_save(const char *doc_path, const char *etag_path, const char *text,
    size_t len, const char *etag)
{
	char line[KDESIRED_HEX + KDESIRED_ETAG_MAX + 8];
	int n;

	if (strlen(etag) > KDESIRED_ETAG_MAX || strchr(etag, '\n') != NULL) {
		errno = EINVAL;
		return -1;
	}
	kdesired_hash(text, len, line);
	n = snprintf(
	    line + KDESIRED_HEX, sizeof(line) - KDESIRED_HEX, " %s\n", etag);
	if (afile_write(doc_path, text, len, 0600) != 0)
		return -1;
	return afile_write(etag_path, line, KDESIRED_HEX + (size_t)n, 0600);
}

struct kdesired *
kdesired_load(const char *doc_path, const char *etag_path, char *etag,
    size_t etaglen, char *err, size_t errlen)
{
	char hex[KDESIRED_HEX + 1], *txt = NULL, *line = NULL;
	struct kdesired *d;
	size_t len, llen;

	etag[0] = '\0';
	if (afile_read(doc_path, KDESIRED_MAX, &txt, &len) != 0) {
		snprintf(err, errlen, "%s: %s", doc_path, strerror(errno));
		return NULL;
	}
	if ((d = kdesired_parse(txt, len, err, errlen)) == NULL) {
		free(txt);
		errno = EINVAL;
		return NULL;
	}
	kdesired_hash(txt, len, hex);
	if (afile_read(etag_path, KDESIRED_HEX + KDESIRED_ETAG_MAX + 2, &line,
		&llen) == 0 &&
	    llen > KDESIRED_HEX + 1 && line[llen - 1] == '\n' &&
	    line[KDESIRED_HEX] == ' ' && memcmp(line, hex, KDESIRED_HEX) == 0) {
		line[llen - 1] = '\0';
		util_strlcpy(etag, line + KDESIRED_HEX + 1, etaglen);
	}
	free(line);
	free(txt);
	return d;
}
