/*
 * Unit tests of cp/artifact's two-person path (cp/artifact.h): an upload
 * parked unsigned, opened again and hashed from disk, published by a
 * link that keeps the parked file until the caller removes it, and the
 * start-up sweep asking for parked files with pending true.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/minisign.h"
#include "cp/artifact.h"
#include "tmpdir.h"

static char art[600]; /* tmpdir/artifacts/dataplane */

static bool
exists(const char *name)
{
	char p[700];

	snprintf(p, sizeof(p), "%s/%s", art, name);
	return access(p, F_OK) == 0;
}

/* Count the directory's entries that start with prefix. */
static int
count(const char *prefix)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(art)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/* Upload "hello" as dataplane/version and park it. */
static int
park(const char *version, char sha[ARTIFACT_SHA256_HEX])
{
	struct artifact_upload *u;
	char err[256];
	uint64_t size;
	int rc = -1;

	if ((u = artifact_upload_new(
		 tmpdir, "dataplane", version, err, sizeof(err))) == NULL)
		return -1;
	if (artifact_upload_write(u, "hello", 5) == 0 &&
	    artifact_upload_finish(u, sha, &size, err, sizeof(err)) == 0 &&
	    size == 5)
		rc = artifact_upload_park(u, err, sizeof(err));
	artifact_upload_free(u);
	return rc;
}

TEST(parked_then_published_by_link)
{
	char sha[ARTIFACT_SHA256_HEX], again[ARTIFACT_SHA256_HEX];
	char sig[MSIG_SIG_TEXT_MAX], err[256], p[700], tc[64];
	struct msig_pub pub;
	struct msig_sec sec;
	struct artifact_upload *u;
	uint64_t size = 0;
	int fd;

	CHECK(park("1.0", sha) == 0);
	/* Parked: unsigned, not in place, no temporary file left. */
	CHECK(exists(".pending-1.0"));
	CHECK(!exists("1.0") && !exists("1.0.minisig"));
	CHECK(count(".upload-") == 0);
	CHECK(artifact_open(tmpdir, "dataplane", "1.0", false, &fd, &size) ==
		-1 &&
	    errno == ENOENT);
	/* Opened again, it is hashed from disk: the same hash. */
	u = artifact_pending_open(
	    tmpdir, "dataplane", "1.0", again, &size, err, sizeof(err));
	CHECK(u != NULL);
	CHECK_STR(again, sha);
	CHECK(size == 5);
	CHECK(msig_keygen(&pub, &sec) == 0);
	CHECK(artifact_upload_publish(
		  u, &sec, "t", sig, sizeof(sig), err, sizeof(err)) == 0);
	sodium_memzero(&sec, sizeof(sec));
	artifact_upload_free(u);
	/* In place, and the parked file is the caller's to remove. */
	CHECK(exists("1.0") && exists("1.0.minisig"));
	CHECK(exists(".pending-1.0"));
	/* What was signed is the parked file, now in place. */
	snprintf(p, sizeof(p), "%s/1.0", art);
	CHECK(msig_verify_file(
		  &pub, p, sig, tc, sizeof(tc), err, sizeof(err)) == 0);
	CHECK_STR(tc, "t");
	artifact_pending_remove(tmpdir, "dataplane", "1.0");
	CHECK(!exists(".pending-1.0"));
	CHECK(
	    artifact_open(tmpdir, "dataplane", "1.0", false, &fd, &size) == 0);
	close(fd);
	CHECK(size == 5);
}

TEST(a_changed_parked_file_hashes_otherwise)
{
	char sha[ARTIFACT_SHA256_HEX], again[ARTIFACT_SHA256_HEX], p[700];
	char err[256];
	struct artifact_upload *u;
	uint64_t size = 0;
	FILE *f;

	CHECK(park("1.1", sha) == 0);
	snprintf(p, sizeof(p), "%s/.pending-1.1", art);
	CHECK((f = fopen(p, "a")) != NULL);
	fputc('x', f);
	fclose(f);
	u = artifact_pending_open(
	    tmpdir, "dataplane", "1.1", again, &size, err, sizeof(err));
	CHECK(u != NULL);
	artifact_upload_free(u);
	CHECK(strcmp(again, sha) != 0);
	CHECK(size == 6);
	/* Freeing an opened parked upload never removes the file. */
	CHECK(exists(".pending-1.1"));
	artifact_pending_remove(tmpdir, "dataplane", "1.1");
	u = artifact_pending_open(
	    tmpdir, "dataplane", "1.1", again, &size, err, sizeof(err));
	CHECK(u == NULL && errno == ENOENT);
	/* Names an upload could not have made never reach the disk. */
	u = artifact_pending_open(
	    tmpdir, "dataplane", "../x", again, &size, err, sizeof(err));
	CHECK(u == NULL);
}

/* The sweep's question: 2.0 waits (pending row); nothing else has a row. */
static int
known(const char *component, const char *version, bool pending, void *arg)
{
	(void)component;
	(void)arg;
	return pending && strcmp(version, "2.0") == 0;
}

TEST(sweep_keeps_parked_uploads_with_a_row)
{
	char sha[ARTIFACT_SHA256_HEX];

	CHECK(park("2.0", sha) == 0);
	CHECK(park("2.1", sha) == 0);
	CHECK(artifact_sweep(tmpdir, known, NULL) >= 1);
	CHECK(exists(".pending-2.0"));
	CHECK(!exists(".pending-2.1"));
	/* 1.0 has no release row here: swept too. */
	CHECK(!exists("1.0") && !exists("1.0.minisig"));
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	tmp_setup("artifact_test");
	snprintf(art, sizeof(art), "%s/artifacts/dataplane", tmpdir);
	RUN(parked_then_published_by_link);
	RUN(a_changed_parked_file_hashes_otherwise);
	RUN(sweep_keeps_parked_uploads_with_a_row);
	tmp_rmtree(tmpdir);
	return check_done();
}
