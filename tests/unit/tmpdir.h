/*
 * tmpdir: a private temporary directory for one unit-test program, with
 * every file in it removed at the end (flat: tests put no subdirectories
 * there; a test that makes a tree, a keeper's --root, removes it with
 * tmp_rmtree).  Header-only, like check.h.
 */
#ifndef EF_TEST_TMPDIR_H
#define EF_TEST_TMPDIR_H

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

/* prefix: e.g. "tls_test"; exits the test program when mkdtemp fails. */
static inline void
tmp_setup(const char *prefix)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/%s.XXXXXX", prefix);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

static inline void
tmp_cleanup(void)
{
	char path[512];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(tmpdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(tmpdir);
}

static inline int
tmp_rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* rm -r path (not following symlinks); a missing path is fine. */
static inline void
tmp_rmtree(const char *path)
{
	nftw(path, tmp_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline const char *
tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
	return buf;
}

#endif
