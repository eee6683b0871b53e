/*
 * afile: crash-safe whole-file writes and bounded whole-file reads.
 *
 * afile_write() writes data to "path.tmp.<pid>" with the given mode,
 * fsyncs it, renames it over path and fsyncs the directory: after a crash
 * the file holds either the old or the new content, never a mix.  Returns
 * 0, or -1 with errno set (the temporary file is removed).
 *
 * afile_read() reads a whole file of at most max bytes into a malloc'd,
 * NUL-terminated buffer the caller frees.  Returns 0, or -1 with errno set
 * (EFBIG when larger than max).
 *
 * afile_sweep() removes from dir the temporary files of afile_write()
 * calls that never finished: "NAME.tmp.<pid>" whose process is gone (a
 * kill -9 or a power cut between the write and the rename).  A live pid
 * keeps its file, also when the number was reused.  Not recursive.
 * Returns how many it removed, or -1 with errno when dir cannot be read
 * (0 for a dir that does not exist).
 *
 * afile_rename() renames from over to and fsyncs to's directory: for a
 * file the caller wrote and fsynced itself (a release being installed, a
 * symlink).  0, or -1 with errno set; after a failed directory fsync the
 * rename has happened.
 *
 * The I/O goes through afile_ops so tests can fail or crash at the Nth
 * call (fault injection, tests/unit/faultio.h); production code never
 * touches it.  Callers outside afile that write state files route their
 * own write, fsync, rename and symlink calls through it too.
 */
#ifndef EF_AFILE_H
#define EF_AFILE_H

#include <stddef.h>
#include <sys/types.h>

struct afile_ops {
	ssize_t (*write)(int fd, const void *buf, size_t len);
	int (*fsync)(int fd);
	int (*rename)(const char *from, const char *to);
	int (*symlink)(const char *target, const char *linkpath);
};

extern struct afile_ops afile_ops;

int afile_write(const char *path, const void *data, size_t len, mode_t mode);
int afile_rename(const char *from, const char *to);
int afile_read(const char *path, size_t max, char **out, size_t *len);
int afile_sweep(const char *dir);

#endif
