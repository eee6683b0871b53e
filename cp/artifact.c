#include "cp/artifact.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "cp/validate.h"

/* DATA_DIR is at most 511 bytes (struct cp_ctx); the rest is short. */
#define ARTIFACT_PATH_MAX 768
#define ARTIFACT_PENDING_PREFIX ".pending-"

static const char *const artifact_components[] = { "dataplane", "keeper",
	NULL };

struct artifact_upload {
	int fd;
	char dir[ARTIFACT_PATH_MAX]; /* DATA_DIR/artifacts/<component> */
	char tmp[ARTIFACT_PATH_MAX]; /* dir/.upload-XXXXXX, "" once gone */
	bool parked; /* tmp is a .pending-<version> file: link, keep it */
	char version[72];
	crypto_hash_sha256_state sha;
	uint64_t size;
};

static bool
artifact_component_ok(const char *component)
{
	size_t i;

	for (i = 0; artifact_components[i] != NULL; i++)
		if (strcmp(component, artifact_components[i]) == 0)
			return true;
	return false;
}

static bool
artifact_is_sig_name(const char *name)
{
	size_t n = strlen(name), k = strlen(ARTIFACT_SIG_SUFFIX);

	return n > k && strcmp(name + n - k, ARTIFACT_SIG_SUFFIX) == 0;
}

bool
artifact_name_ok(const char *component, const char *version)
{
	return component != NULL && artifact_component_ok(component) &&
	    util_version_ok(version) && !artifact_is_sig_name(version);
}

static int
artifact_path(
    char *buf, size_t len, const char *a, const char *b, const char *suffix)
{
	int n = snprintf(buf, len, "%s/%s%s", a, b, suffix);

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* mkdir that tolerates an existing directory. */
static int
artifact_mkdir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int
artifact_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int
artifact_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct artifact_upload *
artifact_upload_new(const char *data_dir, const char *component,
    const char *version, char *err, size_t errlen)
{
	struct artifact_upload *u;
	char top[ARTIFACT_PATH_MAX];

	if (!artifact_name_ok(component, version)) {
		snprintf(err, errlen, "bad release name");
		errno = EINVAL;
		return NULL;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	u->fd = -1;
	util_strlcpy(u->version, version, sizeof(u->version));
	crypto_hash_sha256_init(&u->sha);
	/*
	 * The files are 0644 like any download; the directories get
	 * edge-cp's umask.  DATA_DIR (0700) keeps it all to edge-cp's user.
	 */
	if (artifact_path(top, sizeof(top), data_dir, "artifacts", "") != 0 ||
	    artifact_path(u->dir, sizeof(u->dir), top, component, "") != 0 ||
	    artifact_path(
		u->tmp, sizeof(u->tmp), u->dir, ".upload-XXXXXX", "") != 0 ||
	    artifact_mkdir(top) != 0 || artifact_mkdir(u->dir) != 0) {
		snprintf(err, errlen, "%s: %s", u->dir, strerror(errno));
		goto fail;
	}
	if ((u->fd = mkostemp(u->tmp, O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", u->tmp, strerror(errno));
		u->tmp[0] = '\0';
		goto fail;
	}
	if (fchmod(u->fd, 0644) != 0) {
		snprintf(err, errlen, "%s: %s", u->tmp, strerror(errno));
		goto fail;
	}
	return u;
fail:
	artifact_upload_free(u);
	return NULL;
}

int
artifact_upload_write(struct artifact_upload *u, const void *buf, size_t len)
{
	if (artifact_write_all(u->fd, buf, len) != 0)
		return -1;
	crypto_hash_sha256_update(&u->sha, buf, len);
	u->size += len;
	return 0;
}

int
artifact_upload_finish(struct artifact_upload *u,
    char sha256[ARTIFACT_SHA256_HEX], uint64_t *size, char *err, size_t errlen)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	struct stat st;

	sha256[0] = '\0';
	*size = 0;
	if (fsync(u->fd) != 0 || fstat(u->fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", u->tmp, strerror(errno));
		return -1;
	}
	/* What is signed is the file: it must hold exactly what we hashed. */
	if ((uint64_t)st.st_size != u->size) {
		snprintf(err, errlen, "%s: %lld bytes on disk, %llu received",
		    u->tmp, (long long)st.st_size, (unsigned long long)u->size);
		errno = EIO;
		return -1;
	}
	crypto_hash_sha256_final(&u->sha, h);
	util_hex(sha256, ARTIFACT_SHA256_HEX, h, sizeof(h));
	*size = u->size;
	return 0;
}

/* Write the signature text to dir/name through a temporary file. */
static int
artifact_write_sig(const char *dir, const char *name, const char *text,
    char *err, size_t errlen)
{
	char tmp[ARTIFACT_PATH_MAX], dst[ARTIFACT_PATH_MAX];
	int fd, rc = 0, saved = 0;

	if (artifact_path(tmp, sizeof(tmp), dir, ".sig-XXXXXX", "") != 0 ||
	    artifact_path(dst, sizeof(dst), dir, name, ARTIFACT_SIG_SUFFIX) !=
		0) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0644) != 0 ||
	    artifact_write_all(fd, text, strlen(text)) != 0 || fsync(fd) != 0) {
		rc = -1;
		saved = errno;
	}
	if (close(fd) != 0 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(saved));
		unlink(tmp);
		errno = saved;
		return -1;
	}
	if (rename(tmp, dst) != 0) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", dst, strerror(errno));
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

int
artifact_upload_publish(struct artifact_upload *u, const struct msig_sec *sec,
    const char *trusted_comment, char *sig, size_t siglen, char *err,
    size_t errlen)
{
	char bin[ARTIFACT_PATH_MAX], sigpath[ARTIFACT_PATH_MAX];
	int saved;

	if (artifact_path(bin, sizeof(bin), u->dir, u->version, "") != 0 ||
	    artifact_path(sigpath, sizeof(sigpath), u->dir, u->version,
		ARTIFACT_SIG_SUFFIX) != 0) {
		snprintf(err, errlen, "%s: path too long", u->dir);
		return -1;
	}
	if (sec != NULL &&
	    msig_sign_file(
		sec, u->tmp, trusted_comment, sig, siglen, err, errlen) != 0) {
		errno = EIO;
		return -1;
	}
	if (artifact_write_sig(u->dir, u->version, sig, err, errlen) != 0)
		goto fail;
	if (u->parked) {
		/*
		 * The parked file stays until the row has moved, so a failure
		 * from here on leaves the upload waiting as it was.  No row
		 * names bin (the caller holds the release lock), so a file
		 * there is a stale one from a crash: replaced.
		 */
		if ((unlink(bin) != 0 && errno != ENOENT) ||
		    link(u->tmp, bin) != 0) {
			snprintf(err, errlen, "%s: %s", bin, strerror(errno));
			goto fail_sig;
		}
	} else if (rename(u->tmp, bin) != 0) {
		snprintf(err, errlen, "%s: %s", bin, strerror(errno));
		goto fail_sig;
	} else
		u->tmp[0] = '\0'; /* renamed: nothing for upload_free() */
	/* Both names are durable before the caller commits the row. */
	if (artifact_sync_dir(u->dir) != 0) {
		snprintf(err, errlen, "%s: %s", u->dir, strerror(errno));
		saved = errno;
		unlink(bin);
		unlink(sigpath);
		errno = saved;
		goto fail;
	}
	return 0;
fail_sig:
	saved = errno;
	unlink(sigpath);
	errno = saved;
fail:
	sodium_memzero(sig, siglen);
	sig[0] = '\0';
	return -1;
}

int
artifact_upload_verify(struct artifact_upload *u, const struct msig_pub *pub,
    const char *sig_text, char *tc, size_t tclen, char *err, size_t errlen)
{
	return msig_verify_file(pub, u->tmp, sig_text, tc, tclen, err, errlen);
}

void
artifact_unpublish(
    const char *data_dir, const char *component, const char *version)
{
	char dir[ARTIFACT_PATH_MAX], top[ARTIFACT_PATH_MAX];
	char path[ARTIFACT_PATH_MAX];
	int i;

	if (!artifact_name_ok(component, version) ||
	    artifact_path(top, sizeof(top), data_dir, "artifacts", "") != 0 ||
	    artifact_path(dir, sizeof(dir), top, component, "") != 0)
		return;
	for (i = 0; i < 2; i++) {
		if (artifact_path(path, sizeof(path), dir, version,
			i ? ARTIFACT_SIG_SUFFIX : "") != 0)
			return;
		if (unlink(path) != 0 && errno != ENOENT)
			log_warn(
			    "event=artifact_unpublish_failed file=%s", path);
	}
	if (artifact_sync_dir(dir) != 0)
		log_warn("event=artifact_unpublish_failed dir=%s", dir);
}

int
artifact_upload_park(struct artifact_upload *u, char *err, size_t errlen)
{
	char dst[ARTIFACT_PATH_MAX];

	if (artifact_path(dst, sizeof(dst), u->dir, ARTIFACT_PENDING_PREFIX,
		u->version) != 0) {
		snprintf(err, errlen, "%s: path too long", u->dir);
		return -1;
	}
	if (rename(u->tmp, dst) != 0) {
		snprintf(err, errlen, "%s: %s", dst, strerror(errno));
		return -1;
	}
	u->tmp[0] = '\0';
	if (artifact_sync_dir(u->dir) != 0) {
		int saved = errno;

		snprintf(err, errlen, "%s: %s", u->dir, strerror(errno));
		unlink(dst);
		errno = saved;
		return -1;
	}
	return 0;
}

/* DATA_DIR/artifacts/<component> of a name artifact_name_ok() passed. */
static int
artifact_dir(
    char *dir, const char *data_dir, const char *component, const char *version)
{
	char top[ARTIFACT_PATH_MAX];

	if (!artifact_name_ok(component, version)) {
		errno = EINVAL;
		return -1;
	}
	if (artifact_path(top, sizeof(top), data_dir, "artifacts", "") != 0 ||
	    artifact_path(dir, ARTIFACT_PATH_MAX, top, component, "") != 0)
		return -1;
	return 0;
}

struct artifact_upload *
artifact_pending_open(const char *data_dir, const char *component,
    const char *version, char sha256[ARTIFACT_SHA256_HEX], uint64_t *size,
    char *err, size_t errlen)
{
	struct artifact_upload *u;
	unsigned char buf[65536], h[crypto_hash_sha256_BYTES];
	ssize_t n;
	int saved;

	sha256[0] = '\0';
	*size = 0;
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	u->fd = -1;
	u->parked = true;
	util_strlcpy(u->version, version, sizeof(u->version));
	crypto_hash_sha256_init(&u->sha);
	if (artifact_dir(u->dir, data_dir, component, version) != 0 ||
	    artifact_path(u->tmp, sizeof(u->tmp), u->dir,
		ARTIFACT_PENDING_PREFIX, version) != 0) {
		snprintf(err, errlen, "bad release name");
		goto fail;
	}
	if ((u->fd = open(u->tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		snprintf(err, errlen, "%s: %s", u->tmp, strerror(errno));
		goto fail;
	}
	while ((n = read(u->fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || u->size + (uint64_t)n > ARTIFACT_MAX_SIZE) {
			if (n >= 0)
				errno = EFBIG;
			snprintf(
			    err, errlen, "%s: %s", u->tmp, strerror(errno));
			goto fail;
		}
		crypto_hash_sha256_update(&u->sha, buf, (size_t)n);
		u->size += (uint64_t)n;
	}
	crypto_hash_sha256_final(&u->sha, h);
	util_hex(sha256, ARTIFACT_SHA256_HEX, h, sizeof(h));
	*size = u->size;
	return u;
fail:
	saved = errno;
	artifact_upload_free(u);
	errno = saved;
	return NULL;
}

void
artifact_pending_remove(
    const char *data_dir, const char *component, const char *version)
{
	char dir[ARTIFACT_PATH_MAX], path[ARTIFACT_PATH_MAX];

	if (artifact_dir(dir, data_dir, component, version) != 0 ||
	    artifact_path(
		path, sizeof(path), dir, ARTIFACT_PENDING_PREFIX, version) != 0)
		return;
	if (unlink(path) != 0 && errno != ENOENT)
		log_warn("event=artifact_pending_remove_failed file=%s", path);
	else if (artifact_sync_dir(dir) != 0)
		log_warn("event=artifact_pending_remove_failed dir=%s", dir);
}

void
artifact_upload_free(struct artifact_upload *u)
{
	if (u == NULL)
		return;
	if (u->fd >= 0)
		close(u->fd);
	if (u->parked)
		u->tmp[0] = '\0'; /* the caller removes it, once approved */
	if (u->tmp[0] != '\0' && unlink(u->tmp) != 0 && errno != ENOENT)
		log_warn("event=artifact_cleanup_failed file=%s", u->tmp);
	free(u);
}

int
artifact_open(const char *data_dir, const char *component, const char *version,
    bool sig, int *fd, uint64_t *size)
{
	char path[ARTIFACT_PATH_MAX];
	struct stat st;
	int f, n;

	*fd = -1;
	*size = 0;
	if (!artifact_name_ok(component, version)) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(path, sizeof(path), "%s/artifacts/%s/%s%s", data_dir,
	    component, version, sig ? ARTIFACT_SIG_SUFFIX : "");
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* We only ever rename regular files into place: refuse the rest. */
	if ((f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(f);
		errno = ENOENT;
		return -1;
	}
	*fd = f;
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Sweep one component directory; returns files removed or -1. */
static int
artifact_sweep_dir(const char *top, const char *component,
    int (*known)(const char *, const char *, bool, void *), void *arg)
{
	char dir[ARTIFACT_PATH_MAX], version[128];
	struct dirent *de;
	DIR *d;
	int removed = 0, k;

	if (artifact_path(dir, sizeof(dir), top, component, "") != 0)
		return -1;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		const char *why;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		size_t pl = strlen(ARTIFACT_PENDING_PREFIX);

		if (strncmp(name, ".upload-", 8) == 0 ||
		    strncmp(name, ".sig-", 5) == 0)
			why = "unfinished";
		else if (strncmp(name, ARTIFACT_PENDING_PREFIX, pl) == 0) {
			util_strlcpy(version, name + pl, sizeof(version));
			if (!artifact_name_ok(component, version)) {
				log_warnx("event=artifact_unknown_file dir=%s "
					  "file=%.100s msg=\"left alone\"",
				    dir, name);
				continue;
			}
			if ((k = known(component, version, true, arg)) != 0)
				continue;
			why = "no_upload_row";
		} else {
			util_strlcpy(version, name, sizeof(version));
			if (artifact_is_sig_name(version))
				version[strlen(version) -
				    strlen(ARTIFACT_SIG_SUFFIX)] = '\0';
			if (!artifact_name_ok(component, version)) {
				log_warnx("event=artifact_unknown_file dir=%s "
					  "file=%.100s msg=\"left alone\"",
				    dir, name);
				continue;
			}
			if ((k = known(component, version, false, arg)) != 0) {
				if (k < 0)
					log_warnx("event=artifact_kept dir=%s "
						  "file=%s msg=\"cannot tell "
						  "if it has a row\"",
					    dir, name);
				continue;
			}
			why = "no_release_row";
		}
		if (unlinkat(dirfd(d), name, 0) != 0) {
			log_warn("event=artifact_sweep_failed dir=%s file=%s",
			    dir, name);
			continue;
		}
		log_info("event=artifact_swept dir=%s file=%s reason=%s", dir,
		    name, why);
		removed++;
	}
	closedir(d);
	if (removed > 0 && artifact_sync_dir(dir) != 0)
		log_warn("event=artifact_sweep_failed dir=%s", dir);
	return removed;
}

int
artifact_sweep(const char *data_dir,
    int (*known)(
	const char *component, const char *version, bool pending, void *arg),
    void *arg)
{
	char top[ARTIFACT_PATH_MAX];
	int total = 0, n;
	size_t i;

	if (artifact_path(top, sizeof(top), data_dir, "artifacts", "") != 0)
		return -1;
	for (i = 0; artifact_components[i] != NULL; i++) {
		if ((n = artifact_sweep_dir(
			 top, artifact_components[i], known, arg)) < 0) {
			log_warn("event=artifact_sweep_failed dir=%s/%s", top,
			    artifact_components[i]);
			return -1;
		}
		total += n;
	}
	return total;
}
