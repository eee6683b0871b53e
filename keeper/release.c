#include "keeper/release.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/minisign.h"
#include "common/priv.h"
#include "common/util.h"
#include "keeper/release_keys.h"

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

/* A download in progress: the file and the hash of what is in it. */
struct release_dl {
	int fd;
	crypto_hash_sha256_state sha;
	size_t size;
};

static int
release_dl_write(
    void *arg, const void *buf, size_t len, char *err, size_t errlen)
{
	struct release_dl *d = arg;
	const char *p = buf;
	size_t left = len;
	ssize_t n;

	while (left > 0) {
		if ((n = afile_ops.write(d->fd, p, left)) <= 0) {
			if (n == 0)
				errno = EIO;
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "write: %s", strerror(errno));
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	crypto_hash_sha256_update(&d->sha, buf, len);
	d->size += len;
	return 0;
}

static void
release_dl_hex(struct release_dl *d, char hex[65])
{
	unsigned char h[32];

	crypto_hash_sha256_final(&d->sha, h);
	util_hex(hex, 65, h, sizeof(h));
}

/* SHA-256 and size of the file at path, read in pieces. */
static int
release_file_hash(
    const char *path, char hex[65], size_t *size, char *err, size_t errlen)
{
	struct release_dl d;
	char buf[65536];
	ssize_t n;
	int rc = 0;

	memset(&d, 0, sizeof(d));
	crypto_hash_sha256_init(&d.sha);
	if ((d.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = read(d.fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			rc = -1;
			break;
		}
		crypto_hash_sha256_update(
		    &d.sha, (unsigned char *)buf, (size_t)n);
		d.size += (size_t)n;
	}
	close(d.fd);
	release_dl_hex(&d, hex);
	*size = d.size;
	return rc;
}

static void
release_seq_file(
    const struct keeper_conf *c, const char *component, char *file, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "/var/lib/edge-keeper/%s.seq", component);
	keeper_path(c, path, file, len);
}

int64_t
release_mark(const struct keeper_conf *c, const char *name)
{
	char file[KEEPER_PATH_MAX], *txt = NULL;
	int64_t have = 0;
	size_t len;

	release_seq_file(c, name, file, sizeof(file));
	if (afile_read(file, 64, &txt, &len) == 0) {
		txt[strcspn(txt, "\n")] = '\0';
		if (util_parse_i64(txt, 0, INT64_MAX, &have) != 0)
			have = 0;
	}
	free(txt);
	return have;
}

/* Write mark name = v when v is above it: the direct form. */
static int
release_mark_raise(const struct keeper_conf *c, const char *name, int64_t v,
    char *err, size_t errlen)
{
	char file[KEEPER_PATH_MAX], num[32];

	if (v <= release_mark(c, name))
		return 0;
	release_seq_file(c, name, file, sizeof(file));
	snprintf(num, sizeof(num), "%lld\n", (long long)v);
	if (afile_write(file, num, strlen(num), 0600) != 0) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	return 0;
}

int
release_profile_mark(
    const struct keeper_conf *c, int64_t version, char *err, size_t errlen)
{
	struct priv_msg req, ans;
	int rc;

	if (priv_client_fd() < 0)
		return release_mark_raise(c, "profile", version, err, errlen);
	priv_msg_init(&req, PRIV_PROFILE_MARK);
	priv_put_i64(&req, version);
	rc = priv_call(&req, &ans, err, errlen);
	priv_msg_clear(&req);
	priv_msg_clear(&ans);
	return rc;
}

/*
 * Everything but the bytes: the signature over the file at path (whose
 * SHA-256 and size are known), its trusted comment, and the sequence.
 * 0; ADMIT_BAD when the file is not what edge-cp signed for this
 * component and version; ADMIT_REFUSED when it is but may not run here
 * (no pinned key, a retired key past its cut-off, a rollback not allowed,
 * a sequence too far ahead).
 */
enum { ADMIT_BAD = -1, ADMIT_REFUSED = -2 };

static int
release_admit(struct release_ctx *ctx, const char *component,
    const char *version, const char *path, const char *sig, const char *hex,
    size_t size, bool allow_rollback, int64_t *seq, char *err, size_t errlen)
{
	char tc[MSIG_TRUSTED_MAX + 1], id[MSIG_KEYIDHEX];
	struct msig_pub key;
	int64_t have, cutoff;

	if (release_key_for(ctx, component, sig, &key, &cutoff, err, errlen) !=
	    0)
		return ADMIT_REFUSED;
	if (msig_verify_file(&key, path, sig, tc, sizeof(tc), err, errlen) !=
		0 ||
	    release_check_comment(
		tc, component, version, size, hex, seq, err, errlen) != 0)
		return ADMIT_BAD;
	if (release_revoked(ctx, component, version, *seq, err, errlen))
		return ADMIT_REFUSED;
	if (cutoff >= 0 && *seq > cutoff) {
		msig_keyid_hex(key.keyid, id, sizeof(id));
		snprintf(err, errlen,
		    "signed by the retired release key %s, which signs %s "
		    "releases only up to sequence %lld; this one is %lld",
		    id, component, (long long)cutoff, (long long)*seq);
		return ADMIT_REFUSED;
	}
	have = release_mark(ctx->conf, component);
	if (*seq < have && !allow_rollback) {
		snprintf(err, errlen,
		    "sequence %lld is older than the newest admitted %lld "
		    "and the desired state does not allow a rollback",
		    (long long)*seq, (long long)have);
		return ADMIT_REFUSED;
	}
	if (have > 0 && *seq - have > RELEASE_SEQ_JUMP_MAX) {
		snprintf(err, errlen,
		    "sequence %lld is more than %d above the newest admitted "
		    "%lld; a signature that far ahead is not edge-cp's "
		    "numbering",
		    (long long)*seq, RELEASE_SEQ_JUMP_MAX, (long long)have);
		return ADMIT_REFUSED;
	}
	return 0;
}

/* Record seq when it is the highest admitted yet. */
static int
release_seq_note(struct release_ctx *ctx, const char *component, int64_t seq,
    char *err, size_t errlen)
{
	return release_mark_raise(ctx->conf, component, seq, err, errlen);
}

/*
 * The download cap: the size the signature names when it names one (read
 * before the signature is checked, which is fine for a cap: a lie only
 * makes the download fail), else RELEASE_MAX_BYTES.
 */
static size_t
release_cap(const char *sig)
{
	const char *tc = strstr(sig, "\ntrusted comment: ");
	char line[MSIG_TRUSTED_MAX + 1], sz[32];
	int64_t n;
	size_t len;

	if (tc == NULL)
		return RELEASE_MAX_BYTES;
	tc += strlen("\ntrusted comment: ");
	len = strcspn(tc, "\r\n");
	if (len >= sizeof(line))
		return RELEASE_MAX_BYTES;
	memcpy(line, tc, len);
	line[len] = '\0';
	if (comment_field(line, "size", sz, sizeof(sz)) != 0 ||
	    util_parse_i64(sz, 0, RELEASE_MAX_BYTES, &n) != 0)
		return RELEASE_MAX_BYTES;
	return (size_t)n;
}

/* The directory of dest, made under the root (mkdir -p). */
static int
release_mkdir(
    struct release_ctx *ctx, const char *dest, char *err, size_t errlen)
{
	char dir[KEEPER_PATH_MAX];
	char *slash;

	util_strlcpy(dir, dest, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir) {
		snprintf(err, errlen, "%s: not a file path", dest);
		return -1;
	}
	*slash = '\0';
	if (priv_direct_mkdirs(dir, strlen(ctx->conf->root), 0755) != 0) {
		snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int
release_install(struct release_ctx *ctx, const char *component,
    const char *version, const char *dest, bool allow_rollback, const char *sig,
    int fd, char *err, size_t errlen)
{
	char part[KEEPER_PATH_MAX + 8], sigf[KEEPER_PATH_MAX + 8], hex[65];
	char buf[65536];
	struct release_dl d;
	size_t cap = release_cap(sig);
	int64_t seq;
	ssize_t n;
	int rc = -1;

	memset(&d, 0, sizeof(d));
	d.fd = -1;
	snprintf(part, sizeof(part), "%s.part", dest);
	snprintf(sigf, sizeof(sigf), "%s.minisig", dest);
	if (release_mkdir(ctx, dest, err, errlen) != 0)
		return -1;
	d.fd = open(
	    part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0700);
	if (d.fd < 0) {
		snprintf(err, errlen, "%s: %s", part, strerror(errno));
		goto out;
	}
	crypto_hash_sha256_init(&d.sha);
	while ((n = pread(fd, buf, sizeof(buf), (off_t)d.size)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			goto out;
		}
		if ((size_t)n > cap - d.size) {
			snprintf(err, errlen,
			    "artifact larger than its signature says");
			goto out;
		}
		if (release_dl_write(&d, buf, (size_t)n, err, errlen) != 0)
			goto out;
	}
	if (afile_ops.fsync(d.fd) != 0 || close(d.fd) != 0) {
		d.fd = -1;
		snprintf(err, errlen, "%s: %s", part, strerror(errno));
		goto out;
	}
	d.fd = -1;
	release_dl_hex(&d, hex);
	if (release_admit(ctx, component, version, part, sig, hex, d.size,
		allow_rollback, &seq, err, errlen) != 0)
		goto out;
	/*
	 * The signature first, then the binary: a binary never stands
	 * beside another's signature.  One already at dest goes before its
	 * signature is replaced, for the same reason (the callers install
	 * only what is not there, so this is a repair, not the rule).
	 */
	if ((unlink(dest) != 0 && errno != ENOENT) ||
	    afile_write(sigf, sig, strlen(sig), 0644) != 0 ||
	    afile_rename(part, dest) != 0) {
		snprintf(err, errlen, "install %s: %s", dest, strerror(errno));
		goto out;
	}
	rc = release_seq_note(ctx, component, seq, err, errlen);
out:
	if (d.fd >= 0)
		close(d.fd);
	if (rc != 0)
		unlink(part);
	return rc;
}

/* The download: into memory, checked and installed by release_install. */
static int
release_mem_write(
    void *arg, const void *buf, size_t len, char *err, size_t errlen)
{
	int fd = *(int *)arg;
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "write: %s", strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The download's stop hook: the keeper was asked to stop.  The daemon
 * blocks SIGTERM and SIGINT and takes them between passes (keeper/run.c;
 * its privileged part passes them on to this one), so a pending one is
 * seen here without being taken, and the pass ends soon after.  Without
 * this, a server slower than anything but the speed floor would hold a
 * stop for as long as RELEASE_TIMEOUT_S.
 */
static int
release_stopping(void *arg, char *err, size_t errlen)
{
	sigset_t set;

	(void)arg;
	if (sigpending(&set) == 0 &&
	    (sigismember(&set, SIGTERM) == 1 ||
		sigismember(&set, SIGINT) == 1)) {
		snprintf(err, errlen, "the keeper is stopping");
		return -1;
	}
	return 0;
}

int
release_fetch(void *vctx, const char *component, const char *version,
    const char *dest, bool allow_rollback, char *err, size_t errlen)
{
	struct release_ctx *ctx = vctx;
	struct httpc_resp sig = { 0 }, art = { 0 };
	struct httpc_stream st;
	char path[256];
	int fd = -1, rc = -1;

	snprintf(path, sizeof(path), "/v1/artifacts/%s/%s.minisig", component,
	    version);
	if (cpclient_request(
		ctx->cp, "GET", path, NULL, NULL, 0, &sig, err, errlen) != 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "signature download: %s", why);
		goto out;
	}
	if (sig.status == 200 && sig.len > MSIG_SIG_MAX) {
		snprintf(err, errlen,
		    "signature download: larger than %d bytes, not a "
		    "signature",
		    MSIG_SIG_MAX);
		goto out;
	}
	if (sig.status != 200 || strlen(sig.body) != sig.len) {
		snprintf(err, errlen, "signature download: HTTP %ld%s",
		    sig.status, sig.status == 200 ? ", not a signature" : "");
		goto out;
	}
	/*
	 * Into an anonymous file: the downloading process may not write
	 * where releases live (common/priv.h), so the bytes go to the one
	 * that installs them as a descriptor.
	 */
	if ((fd = memfd_create("edge-keeper-release", MFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "memfd: %s", strerror(errno));
		goto out;
	}
	memset(&st, 0, sizeof(st));
	st.fn = release_mem_write;
	st.arg = &fd;
	st.stop = release_stopping;
	st.max = release_cap(sig.body);
	st.low_speed_bps = RELEASE_LOW_SPEED_BPS;
	st.low_speed_s = RELEASE_LOW_SPEED_S;
	st.timeout_ms = RELEASE_TIMEOUT_S * 1000;
	snprintf(path, sizeof(path), "/v1/artifacts/%s/%s", component, version);
	if (cpclient_download(ctx->cp, path, &st, &art, err, errlen) != 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "download: %s", why);
		goto out;
	}
	if (art.status != 200) {
		snprintf(err, errlen, "download: HTTP %ld", art.status);
		goto out;
	}
	if (priv_client_fd() < 0) {
		rc = release_install(ctx, component, version, dest,
		    allow_rollback, sig.body, fd, err, errlen);
	} else {
		struct priv_msg req, ans;

		priv_msg_init(&req, PRIV_RELEASE_INSTALL);
		priv_put_str(&req, component);
		priv_put_str(&req, version);
		priv_put_str(&req, dest);
		priv_put_u32(&req, allow_rollback);
		priv_put_str(&req, sig.body);
		req.fd = fd;
		rc = priv_call(&req, &ans, err, errlen);
		req.fd = -1;
		priv_msg_clear(&req);
		priv_msg_clear(&ans);
	}
out:
	if (fd >= 0)
		close(fd);
	httpc_resp_clear(&sig);
	httpc_resp_clear(&art);
	return rc;
}

int
release_verify(void *vctx, const char *component, const char *version,
    const char *path, bool allow_rollback, char *err, size_t errlen)
{
	struct release_ctx *ctx = vctx;
	char sigf[KEEPER_PATH_MAX + 8], hex[65], *sig = NULL;
	size_t len, size;
	int64_t seq;
	int rc = -1;

	if (priv_client_fd() >= 0) {
		struct priv_msg req, ans;

		priv_msg_init(&req, PRIV_RELEASE_VERIFY);
		priv_put_str(&req, component);
		priv_put_str(&req, version);
		priv_put_str(&req, path);
		priv_put_u32(&req, allow_rollback);
		rc = priv_call(&req, &ans, err, errlen);
		priv_msg_clear(&req);
		priv_msg_clear(&ans);
		return rc;
	}

	snprintf(sigf, sizeof(sigf), "%s.minisig", path);
	if (afile_read(sigf, MSIG_SIG_MAX, &sig, &len) != 0) {
		snprintf(err, errlen, "%s: %s", sigf, strerror(errno));
		goto bad;
	}
	if (release_file_hash(path, hex, &size, err, errlen) != 0)
		goto bad;
	switch (release_admit(ctx, component, version, path, sig, hex, size,
	    allow_rollback, &seq, err, errlen)) {
	case 0:
		break;
	case ADMIT_REFUSED:
		goto out;
	default:
		goto bad;
	}
	rc = release_seq_note(ctx, component, seq, err, errlen);
	goto out;
bad:
	/* Not the file edge-cp signed: never run it, fetch it again. */
	unlink(path);
	unlink(sigf);
out:
	free(sig);
	return rc;
}
