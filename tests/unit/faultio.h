/*
 * faultio: fault injection for the I/O that goes through afile_ops
 * (common/afile.h): write, fsync, rename and symlink.  Header-only, like
 * check.h.
 *
 * Two modes, both counting the calls from 1:
 *
 *	faultio_fail(n)		the nth call fails with EIO and the code
 *				under test goes on (its error path runs);
 *	faultio_crash(n)	the nth call is never made: the process
 *				ends there with _exit(FAULTIO_CRASHED), as
 *				a kill -9 at that point would leave the
 *				disk.  Use it in a child (faultio_run).
 *
 * faultio_off() puts the real calls back; faultio_calls is how many calls
 * were seen since the last arming, so a loop over n ends once an operation
 * made fewer calls than n (it then ran without a fault).  Counting is
 * atomic: the anycast gate writes from its own thread.
 */
#ifndef EF_TEST_FAULTIO_H
#define EF_TEST_FAULTIO_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/afile.h"

#define FAULTIO_CRASHED 77
/* Bound of every loop over n: no operation here makes this many calls. */
#define FAULTIO_MAX 200

static atomic_int faultio_calls;
static int faultio_at;
static bool faultio_crashes;
static const struct afile_ops faultio_real = { write, fsync, rename, symlink };

/* true when this call is the one to fault (and, in crash mode, ends). */
static inline bool
faultio_hit(void)
{
	int n = atomic_fetch_add(&faultio_calls, 1) + 1;

	if (n != faultio_at)
		return false;
	if (faultio_crashes)
		_exit(FAULTIO_CRASHED);
	errno = EIO;
	return true;
}

static inline ssize_t
faultio_write(int fd, const void *buf, size_t len)
{
	return faultio_hit() ? -1 : faultio_real.write(fd, buf, len);
}

static inline int
faultio_fsync(int fd)
{
	return faultio_hit() ? -1 : faultio_real.fsync(fd);
}

static inline int
faultio_rename(const char *from, const char *to)
{
	return faultio_hit() ? -1 : faultio_real.rename(from, to);
}

static inline int
faultio_symlink(const char *target, const char *linkpath)
{
	return faultio_hit() ? -1 : faultio_real.symlink(target, linkpath);
}

static inline void
faultio_arm(int n, bool crash)
{
	atomic_store(&faultio_calls, 0);
	faultio_at = n;
	faultio_crashes = crash;
	afile_ops.write = faultio_write;
	afile_ops.fsync = faultio_fsync;
	afile_ops.rename = faultio_rename;
	afile_ops.symlink = faultio_symlink;
}

static inline void
faultio_fail(int n)
{
	faultio_arm(n, false);
}

static inline void
faultio_crash(int n)
{
	faultio_arm(n, true);
}

static inline void
faultio_off(void)
{
	afile_ops = faultio_real;
}

/*
 * Run fn(arg) in a child that crashes at the nth call.  Returns
 * FAULTIO_CRASHED when it did, fn's result (0..255) when fn returned
 * before the nth call, -1 when the child died otherwise.
 */
static inline int
faultio_run(int n, int (*fn)(void *), void *arg)
{
	pid_t pid;
	int st;

	fflush(stdout);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		faultio_crash(n);
		_exit(fn(arg) & 0xff);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
