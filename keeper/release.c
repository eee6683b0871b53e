#include "keeper/release.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/afile.h"
#include "common/minisign.h"
#include "common/util.h"

/* The value of " key=" in a trusted comment, copied into out. */
static int
comment_field(const char *c, const char *key, char *out, size_t len)
{
	char pat[32];
	const char *p;
	size_t n;

	snprintf(pat, sizeof(pat), " %s=", key);
	if ((p = strstr(c, pat)) == NULL)
		return -1;
	p += strlen(pat);
	n = strcspn(p, " ");
	if (n == 0 || n >= len)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
release_check_comment(const char *comment, const char *component,
    const char *version, size_t size, const char *sha256_hex, int64_t *seq,
    char *err, size_t errlen)
{
	char c[80], v[80], sz[32], sha[80], sq[32];
	int64_t n;

	if (strncmp(comment, "edgefleet ", 10) != 0 ||
	    comment_field(comment, "component", c, sizeof(c)) ||
	    comment_field(comment, "version", v, sizeof(v)) ||
	    comment_field(comment, "size", sz, sizeof(sz)) ||
	    comment_field(comment, "sha256", sha, sizeof(sha)) ||
	    comment_field(comment, "seq", sq, sizeof(sq))) {
		snprintf(err, errlen,
		    "signature is not an edgefleet release "
		    "signature");
		return -1;
	}
	if (strcmp(c, component) != 0) {
		snprintf(err, errlen, "signature is for component %s", c);
		return -1;
	}
	if (strcmp(v, version) != 0) {
		snprintf(err, errlen, "signature is for version %s", v);
		return -1;
	}
	if (util_parse_i64(sz, 0, INT64_MAX, &n) != 0 || (size_t)n != size ||
	    strcmp(sha, sha256_hex) != 0) {
		snprintf(err, errlen,
		    "artifact does not match its signature's "
		    "size and sha256");
		return -1;
	}
	if (util_parse_i64(sq, 1, INT64_MAX, seq) != 0) {
		snprintf(err, errlen, "bad sequence number");
		return -1;
	}
	return 0;
}

int
release_fetch(void *vctx, const char *component, const char *version,
    const char *dest, char *err, size_t errlen)
{
	struct release_ctx *ctx = vctx;
	struct httpc_resp art = { 0 }, sig = { 0 };
	char path[256], file[KEEPER_PATH_MAX], tc[1100], hex[65];
	char *pub = NULL, *seqtxt = NULL, num[32];
	struct msig_pub key;
	unsigned char h[32];
	int64_t seq, have = 0;
	size_t len;
	int rc = -1;

	snprintf(path, sizeof(path), "/v1/artifacts/%s/%s", component, version);
	if (cpclient_request(
		ctx->cp, "GET", path, NULL, NULL, 0, &art, err, errlen) != 0)
		goto out;
	if (art.status != 200) {
		snprintf(err, errlen, "download: HTTP %ld", art.status);
		goto out;
	}
	snprintf(path, sizeof(path), "/v1/artifacts/%s/%s.minisig", component,
	    version);
	if (cpclient_request(
		ctx->cp, "GET", path, NULL, NULL, 0, &sig, err, errlen) != 0)
		goto out;
	if (sig.status != 200) {
		snprintf(
		    err, errlen, "signature download: HTTP %ld", sig.status);
		goto out;
	}
	keeper_path(
	    ctx->conf, "/var/lib/edge-keeper/release.pub", file, sizeof(file));
	if (afile_read(file, 4096, &pub, &len) != 0 ||
	    msig_pub_decode(pub, &key, err, errlen) != 0) {
		if (pub == NULL)
			snprintf(err, errlen, "no pinned release key");
		goto out;
	}
	if (msig_verify(&key, art.body, art.len, sig.body, tc, sizeof(tc), err,
		errlen) != 0)
		goto out;
	crypto_hash_sha256(h, (const unsigned char *)art.body, art.len);
	util_hex(hex, sizeof(hex), h, sizeof(h));
	if (release_check_comment(
		tc, component, version, art.len, hex, &seq, err, errlen) != 0)
		goto out;
	snprintf(path, sizeof(path), "/var/lib/edge-keeper/%s.seq", component);
	keeper_path(ctx->conf, path, file, sizeof(file));
	if (afile_read(file, 64, &seqtxt, &len) == 0) {
		seqtxt[strcspn(seqtxt, "\n")] = '\0';
		util_parse_i64(seqtxt, 0, INT64_MAX, &have);
	}
	if (seq < have) {
		snprintf(err, errlen,
		    "sequence %lld is older than the "
		    "installed %lld (rollback refused)",
		    (long long)seq, (long long)have);
		goto out;
	}
	if (afile_write(dest, art.body, art.len, 0755) != 0) {
		snprintf(err, errlen, "%s: %s", dest, strerror(errno));
		goto out;
	}
	snprintf(num, sizeof(num), "%lld\n", (long long)seq);
	if (seq > have && afile_write(file, num, strlen(num), 0600) != 0) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(pub);
	free(seqtxt);
	httpc_resp_clear(&art);
	httpc_resp_clear(&sig);
	return rc;
}
