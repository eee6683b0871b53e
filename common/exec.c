/*
 * exec: posix_spawn() with an explicit file-action list, so nothing of the
 * parent leaks into the child: stdin is /dev/null, stdout and stderr are
 * the write end of one pipe, every other descriptor is closed
 * (closefrom, so a descriptor some library opened without O_CLOEXEC does
 * not leak either), signal dispositions are reset to their defaults and
 * the signal mask is emptied, and the child leads a new process group so
 * a timeout can kill it together with everything it started.
 *
 * The parent waits with poll() on two descriptors: the pipe, drained into
 * res->out, and a pidfd for the child.  The command is over when the
 * child exits, not when the pipe reaches end-of-file: a grandchild that
 * keeps the pipe open (a daemon started by a maintainer script) must not
 * turn a finished command into a timeout.  What the child wrote before it
 * exited is already in the pipe and is read before returning.  Kernels
 * without pidfd_open (before 5.3) fall back to checking waitpid(WNOHANG)
 * every EXEC_TICK_MS.
 */
#include "common/exec.h"
#include "common/priv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define EXEC_DEFAULT_PATH                                                      \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define EXEC_PATH_MAX 1024
#define EXEC_ENV_MAX 32 /* env_extra entries */
#define EXEC_TICK_MS 50

static char exec_path[EXEC_PATH_MAX] = EXEC_DEFAULT_PATH;

void
exec_set_path(const char *path)
{
	util_strlcpy(exec_path, path, sizeof(exec_path));
}

/* posix_spawn() takes char *const[]; it does not modify the strings. */
static char *
exec_unconst(const char *s)
{
	return (char *)(uintptr_t)s;
}

/*
 * Resolve name against the search path into out.  Empty path components
 * (the current directory in POSIX) are skipped: a keeper never runs what
 * happens to lie in its working directory.
 */
static int
exec_resolve(const char *name, char *out, size_t len)
{
	const char *p = exec_path, *end;
	struct stat st;

	if (strchr(name, '/') != NULL) {
		if (util_strlcpy(out, name, len) >= len) {
			errno = ENAMETOOLONG;
			return -1;
		}
		return 0;
	}
	for (; *p != '\0'; p = *end == ':' ? end + 1 : end) {
		size_t n;

		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		if (n == 0)
			continue;
		if ((size_t)snprintf(out, len, "%.*s/%s", (int)n, p, name) >=
		    len)
			continue;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0)
			return 0;
	}
	errno = ENOENT;
	return -1;
}

/* Keep the first EXEC_OUT_MAX - 1 bytes, NUL-terminated; drop the rest. */
static void
exec_keep(struct exec_result *res, const char *buf, size_t n)
{
	size_t room = EXEC_OUT_MAX - 1 - res->out_len;

	if (n > room)
		n = room;
	memcpy(res->out + res->out_len, buf, n);
	res->out_len += n;
	res->out[res->out_len] = '\0';
}

/*
 * Read what the pipe holds without blocking.  Returns 1 at end-of-file, 0
 * when it would block, -1 on a read error.
 */
static int
exec_drain(int fd, struct exec_result *res)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0) {
			exec_keep(res, buf, (size_t)n);
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -1;
	}
}

/*
 * Reap pid.  Returns its exit status, or -1 when it was killed by a signal
 * or cannot be waited for (a process that ignores SIGCHLD loses its
 * children's statuses; ours must not).
 */
static int
exec_reap(pid_t pid)
{
	int ws;
	pid_t w;

	while ((w = waitpid(pid, &ws, 0)) < 0 && errno == EINTR)
		;
	return w == pid && WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/*
 * Put msg in front of what was captured, so the reason comes first and the
 * output, shortened if need be, follows.
 */
static void
exec_prefix(struct exec_result *res, const char *msg)
{
	size_t m = strlen(msg), keep;

	if (m > EXEC_OUT_MAX - 1)
		m = EXEC_OUT_MAX - 1;
	keep = res->out_len;
	if (keep > EXEC_OUT_MAX - 1 - m)
		keep = EXEC_OUT_MAX - 1 - m;
	memmove(res->out + m, res->out, keep);
	memcpy(res->out, msg, m);
	res->out_len = m + keep;
	res->out[res->out_len] = '\0';
}

static int
exec_spawn(const char *file, const char *const *argv,
    const char *const *env_extra, int outfd, pid_t *pid, char *err,
    size_t errlen)
{
	char pathenv[EXEC_PATH_MAX + 8];
	char *envp[EXEC_ENV_MAX + 3];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	size_t n = 0, i;
	int rc;

	snprintf(pathenv, sizeof(pathenv), "PATH=%s", exec_path);
	envp[n++] = pathenv;
	envp[n++] = exec_unconst("LANG=C");
	for (i = 0; env_extra != NULL && env_extra[i] != NULL; i++) {
		if (i == EXEC_ENV_MAX || strchr(env_extra[i], '=') == NULL) {
			snprintf(err, errlen, "%s: bad environment (entry %zu)",
			    argv[0], i);
			return -1;
		}
		envp[n++] = exec_unconst(env_extra[i]);
	}
	envp[n] = NULL;

	if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
		snprintf(err, errlen, "%s: %s", argv[0], strerror(rc));
		return -1;
	}
	if ((rc = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		snprintf(err, errlen, "%s: %s", argv[0], strerror(rc));
		return -1;
	}
	sigemptyset(&none);
	sigfillset(&all);
	if ((rc = posix_spawn_file_actions_addopen(
		 &fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(
		 &fa, outfd, STDOUT_FILENO)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(
		 &fa, outfd, STDERR_FILENO)) != 0 ||
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0 ||
	    (rc = posix_spawnattr_setpgroup(&attr, 0)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(&attr, &all)) != 0 ||
	    (rc = posix_spawnattr_setflags(&attr,
		 POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
		     POSIX_SPAWN_SETSIGDEF)) != 0)
		goto out;
	rc = posix_spawn(
	    pid, file, &fa, &attr, (char *const *)(uintptr_t)argv, envp);
out:
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", argv[0], strerror(rc));
		return -1;
	}
	return 0;
}

int
exec_run(const char *const *argv, const char *const *env_extra, int timeout_ms,
    struct exec_result *res)
{
	char file[EXEC_PATH_MAX + 256], msg[128] = "";
	uint64_t deadline;
	int pfd[2] = { -1, -1 }, pidfd = -1, ws, rc = -1;
	bool eof = false;
	pid_t pid;

	if (priv_client_fd() >= 0)
		return priv_remote_exec(argv, env_extra, timeout_ms, res);
	memset(res, 0, sizeof(*res));
	res->status = -1;
	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0') {
		snprintf(res->out, sizeof(res->out), "empty command");
		goto done;
	}
	if (exec_resolve(argv[0], file, sizeof(file)) != 0) {
		snprintf(res->out, sizeof(res->out),
		    "%s: command not found in %s", argv[0], exec_path);
		goto done;
	}
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		snprintf(res->out, sizeof(res->out), "%s: pipe: %s", argv[0],
		    strerror(errno));
		goto done;
	}
	if (exec_spawn(file, argv, env_extra, pfd[1], &pid, res->out,
		sizeof(res->out)) != 0)
		goto done;
	close(pfd[1]);
	pfd[1] = -1;
	/* Non-blocking so draining after the child's exit never hangs. */
	(void)fcntl(pfd[0], F_SETFL, fcntl(pfd[0], F_GETFL) | O_NONBLOCK);
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	deadline = util_mono_ns() +
	    (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000ull;

	for (;;) {
		struct pollfd p[2];
		uint64_t now = util_mono_ns();
		int wait_ms, np = 0, n, status = -1;
		bool exited = false;

		if (now >= deadline)
			break;
		wait_ms = (int)((deadline - now + 999999) / 1000000);
		if (pidfd < 0 && wait_ms > EXEC_TICK_MS)
			wait_ms = EXEC_TICK_MS;
		if (!eof)
			p[np++] =
			    (struct pollfd){ .fd = pfd[0], .events = POLLIN };
		if (pidfd >= 0)
			p[np++] =
			    (struct pollfd){ .fd = pidfd, .events = POLLIN };
		n = np > 0 ? poll(p, (nfds_t)np, wait_ms) : 0;
		if (n < 0 && errno != EINTR) {
			snprintf(msg, sizeof(msg), "%s: poll: %s", argv[0],
			    strerror(errno));
			break;
		}
		if (!eof && n > 0 && p[0].revents != 0) {
			int d = exec_drain(pfd[0], res);

			if (d != 0)
				eof = true; /* EOF, or an error: stop reading */
		}
		if (pidfd >= 0) {
			exited = n > 0 && p[np - 1].revents != 0;
			if (exited)
				status = exec_reap(pid);
		} else {
			pid_t w = waitpid(pid, &ws, WNOHANG);

			if (w == pid) {
				exited = true;
				status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
			} else if (w < 0 && errno != EINTR) {
				exited = true; /* not ours to wait for */
			} else if (np == 0 && w == 0) {
				struct timespec ts = { 0,
					EXEC_TICK_MS * 1000000L };

				nanosleep(&ts, NULL);
			}
		}
		if (exited) {
			if (!eof)
				(void)exec_drain(pfd[0], res);
			res->status = status;
			rc = 0;
			goto done;
		}
	}

	/*
	 * Timed out (or poll failed): the whole group goes, the child is
	 * reaped here, grandchildren by whoever inherits them.
	 */
	if (util_mono_ns() >= deadline) {
		res->timed_out = true;
		snprintf(msg, sizeof(msg),
		    "%s: timed out after %d ms: ", argv[0], timeout_ms);
	}
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
	(void)exec_reap(pid);
	exec_prefix(res, msg);
done:
	if (pidfd >= 0)
		close(pidfd);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	return rc;
}
