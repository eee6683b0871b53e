#include "cp/cli_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/minisign.h"
#include "common/relkey.h"
#include "common/util.h"
#include "cp/artifact.h"

/* Read and decode a secret key file; the text is wiped. */
static int
ck_load(const char *keyfile, struct msig_sec *sec)
{
	char *txt = NULL, err[256];
	size_t len = 0;
	int rc;

	if (afile_read(keyfile, 4096, &txt, &len) != 0) {
		fprintf(stderr, "edge-cp: %s: %s\n", keyfile, strerror(errno));
		return -1;
	}
	rc = msig_sec_decode(txt, sec, err, sizeof(err));
	sodium_memzero(txt, len);
	free(txt);
	if (rc != 0)
		fprintf(stderr, "edge-cp: %s: %s\n", keyfile, err);
	return rc;
}

/* Create path with data, refusing to replace a file already there. */
static int
ck_create(const char *path, const char *data, mode_t mode)
{
	size_t len = strlen(data), off = 0;
	ssize_t n;
	int fd;

	fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		fprintf(stderr, "edge-cp: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	if (off < len || fsync(fd) != 0) {
		fprintf(stderr, "edge-cp: %s: %s\n", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

int
cli_keys_rotate(
    const char *keyfile, const char *prefix, int64_t dp_seq, int64_t keeper_seq)
{
	char kp[600], pp[600], sp[600], err[256], oid[MSIG_KEYIDHEX];
	char nid[MSIG_KEYIDHEX], sectxt[MSIG_SEC_TEXT_MAX];
	char pub[MSIG_PUB_TEXT_MAX], stmt[MSIG_SIG_TEXT_MAX];
	const int64_t cut[RELKEY_NCOMP] = { dp_seq, keeper_seq };
	struct msig_sec old, sec;
	struct msig_pub np, op;
	int rc = 1;

	if ((size_t)snprintf(kp, sizeof(kp), "%s.key", prefix) >= sizeof(kp) ||
	    (size_t)snprintf(pp, sizeof(pp), "%s.pub", prefix) >= sizeof(pp) ||
	    (size_t)snprintf(sp, sizeof(sp), "%s.rotation", prefix) >=
		sizeof(sp)) {
		fprintf(stderr, "edge-cp: --out: path too long\n");
		return 2;
	}
	memset(&sec, 0, sizeof(sec));
	if (ck_load(keyfile, &old) != 0)
		return 1;
	if (msig_keygen(&np, &sec) != 0 ||
	    msig_sec_encode(&sec, sectxt, sizeof(sectxt)) != 0 ||
	    relkey_make(&old, &np, cut, pub, sizeof(pub), stmt, sizeof(stmt),
		err, sizeof(err)) != 0) {
		fprintf(stderr, "edge-cp: rotation: %s\n", err);
		goto out;
	}
	/* The secret first: a statement for a key nobody holds is useless. */
	if (ck_create(kp, sectxt, 0600) != 0)
		goto out;
	if (ck_create(pp, pub, 0644) != 0 || ck_create(sp, stmt, 0644) != 0) {
		unlink(pp);
		unlink(kp);
		goto out;
	}
	msig_sec_pub(&old, &op);
	msig_keyid_hex(op.keyid, oid, sizeof(oid));
	msig_keyid_hex(np.keyid, nid, sizeof(nid));
	printf("release key %s announced under %s; releases signed by %s "
	       "stay valid up to dataplane seq %lld, keeper seq %lld\n"
	       "  %s (secret: keep it offline, or install it as "
	       "DATA_DIR/release.key)\n  %s\n  %s\n"
	       "next: edge-cp release-key add %s %s\n",
	    nid, oid, oid, (long long)dp_seq, (long long)keeper_seq, kp, pp, sp,
	    pp, sp);
	rc = 0;
out:
	sodium_memzero(sectxt, sizeof(sectxt));
	sodium_memzero(&sec, sizeof(sec));
	sodium_memzero(&old, sizeof(old));
	return rc;
}

int
cli_keys_revoke(const char *keyfile, int64_t serial, const char *const *entries,
    size_t n, const char *out)
{
	char text[RELKEY_REVOKED_TEXT_MAX], tc[64], sig[MSIG_SIG_TEXT_MAX];
	char sp[600], err[256];
	struct msig_sec sec;
	int rc = 1;

	if ((size_t)snprintf(sp, sizeof(sp), "%s.minisig", out) >= sizeof(sp))
		return 2;
	if (relkey_revoked_text(serial, entries, n, text, sizeof(text), err,
		sizeof(err)) != 0) {
		fprintf(stderr, "edge-cp: %s\n", err);
		return 2;
	}
	snprintf(
	    tc, sizeof(tc), "edgefleet-revoked serial=%lld", (long long)serial);
	if (ck_load(keyfile, &sec) != 0)
		return 1;
	if (msig_sign(&sec, text, strlen(text), tc, sig, sizeof(sig), err,
		sizeof(err)) != 0) {
		fprintf(stderr, "edge-cp: %s\n", err);
		goto out;
	}
	if (afile_write(out, text, strlen(text), 0644) != 0 ||
	    afile_write(sp, sig, strlen(sig), 0644) != 0) {
		fprintf(stderr, "edge-cp: %s: %s\n", out, strerror(errno));
		goto out;
	}
	printf("%s\n%s\n", out, sp);
	rc = 0;
out:
	sodium_memzero(&sec, sizeof(sec));
	return rc;
}

int
cli_keys_sign(const char *keyfile, const char *component, const char *version,
    int64_t seq, const char *binary, const char *out)
{
	char tc[MSIG_TRUSTED_MAX], sig[MSIG_SIG_TEXT_MAX], err[512], hex[65];
	char sp[600], buf[65536];
	crypto_hash_sha256_state st;
	unsigned char h[32];
	struct msig_sec sec;
	uint64_t size = 0;
	ssize_t n;
	int fd, rc = 1;

	if (!artifact_name_ok(component, version) || seq < 1) {
		fprintf(stderr,
		    "edge-cp: --component must be dataplane or keeper, "
		    "--version a release version, --seq 1 or more\n");
		return 2;
	}
	if (out == NULL) {
		if ((size_t)snprintf(sp, sizeof(sp), "%s.minisig", binary) >=
		    sizeof(sp))
			return 2;
		out = sp;
	}
	if ((fd = open(binary, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "edge-cp: %s: %s\n", binary, strerror(errno));
		return 1;
	}
	crypto_hash_sha256_init(&st);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "edge-cp: %s: %s\n", binary,
			    strerror(errno));
			close(fd);
			return 1;
		}
		crypto_hash_sha256_update(&st, (unsigned char *)buf, (size_t)n);
		size += (uint64_t)n;
	}
	close(fd);
	if (size == 0 || size > ARTIFACT_MAX_SIZE) {
		fprintf(stderr, "edge-cp: %s: must be 1 byte to %u MiB\n",
		    binary, ARTIFACT_MAX_SIZE >> 20);
		return 1;
	}
	crypto_hash_sha256_final(&st, h);
	util_hex(hex, sizeof(hex), h, sizeof(h));
	relkey_release_comment(
	    tc, sizeof(tc), component, version, size, hex, seq);
	if (ck_load(keyfile, &sec) != 0)
		return 1;
	if (msig_sign_file(
		&sec, binary, tc, sig, sizeof(sig), err, sizeof(err)) != 0) {
		fprintf(stderr, "edge-cp: %s\n", err);
		goto out;
	}
	if (afile_write(out, sig, strlen(sig), 0644) != 0) {
		fprintf(stderr, "edge-cp: %s: %s\n", out, strerror(errno));
		goto out;
	}
	printf("%s\n", out);
	rc = 0;
out:
	sodium_memzero(&sec, sizeof(sec));
	return rc;
}
