/*
 * Unit tests of common/exec: exit status, captured output and its bound,
 * the timeout killing the whole process group, the minimal environment,
 * the search path and descriptor hygiene.  The commands under test are
 * small /bin/sh scripts.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "common/exec.h"
#include "common/util.h"
#include "steptest.h"

#define SYS_PATH "/usr/bin:/bin"

static int
sh(const char *script, int timeout_ms, struct exec_result *r)
{
	const char *const argv[] = { "sh", "-c", script, NULL };

	return exec_run(argv, NULL, timeout_ms, r);
}

static void
msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Wait up to 5 s for pid, an orphan this process inherited as subreaper.
 * Returns its wait status, or -1 when it did not end.
 */
static int
reap_within(pid_t pid)
{
	int ws, i;

	for (i = 0; i < 500; i++) {
		pid_t w = waitpid(pid, &ws, WNOHANG);

		if (w == pid)
			return ws;
		if (w < 0)
			return -1;
		msleep(10);
	}
	return -1;
}

static pid_t
read_pid(const char *path)
{
	char buf[32];
	int64_t v;

	if (st_get(path, buf, sizeof(buf)) == NULL)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	if (util_parse_i64(buf, 1, 1 << 30, &v) != 0)
		return -1;
	return (pid_t)v;
}

TEST(exec_exit_status)
{
	struct exec_result r;

	exec_set_path(SYS_PATH);
	CHECK(sh("exit 0", 5000, &r) == 0);
	CHECK(r.status == 0 && !r.timed_out && r.out_len == 0);
	CHECK(sh("exit 3", 5000, &r) == 0);
	CHECK(r.status == 3);
	/* Killed by a signal: ran to an end, but no exit status. */
	CHECK(sh("kill -9 $$", 5000, &r) == 0);
	CHECK(r.status == -1 && !r.timed_out);
}

TEST(exec_captures_stdout_and_stderr)
{
	struct exec_result r;

	exec_set_path(SYS_PATH);
	CHECK(sh("echo out; echo err >&2; echo more", 5000, &r) == 0);
	CHECK_STR(r.out, "out\nerr\nmore\n");
	CHECK(r.out_len == strlen(r.out));
}

TEST(exec_truncates_big_output_and_drains)
{
	struct exec_result r;

	exec_set_path(SYS_PATH);
	/* The child would block on a full pipe if the rest were not read. */
	CHECK(sh("yes | head -c 100000; echo done >&2", 10000, &r) == 0);
	CHECK(r.status == 0 && !r.timed_out);
	CHECK(r.out_len == EXEC_OUT_MAX - 1);
	CHECK(strlen(r.out) == EXEC_OUT_MAX - 1);
	CHECK(strncmp(r.out, "y\ny\ny\n", 6) == 0);
}

TEST(exec_stdin_is_dev_null)
{
	struct exec_result r;

	exec_set_path(SYS_PATH);
	CHECK(sh("cat; echo end", 5000, &r) == 0);
	CHECK_STR(r.out, "end\n");
}

TEST(exec_timeout_kills_the_process_group)
{
	char pidfile[512], script[1024];
	struct exec_result r;
	uint64_t t0;
	pid_t gpid;
	int ws;

	exec_set_path(SYS_PATH);
	snprintf(pidfile, sizeof(pidfile), "%s/grandchild.pid", st_tmp);
	snprintf(script, sizeof(script),
	    "sleep 30 & echo $! > %s; echo started; wait", pidfile);
	/* Orphans come to us, so we can see how the grandchild ended. */
	CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
	t0 = util_mono_ns();
	CHECK(sh(script, 500, &r) == -1);
	CHECK(util_mono_ns() - t0 < 5000000000ull);
	CHECK(r.timed_out && r.status == -1);
	CHECK(strstr(r.out, "timed out after 500 ms") != NULL);
	CHECK(strstr(r.out, "started") != NULL);
	CHECK((gpid = read_pid(pidfile)) > 0);
	ws = reap_within(gpid);
	CHECK(ws != -1);
	CHECK(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
}

TEST(exec_returns_when_the_child_exits)
{
	char pidfile[512], script[1024];
	struct exec_result r;
	uint64_t t0;
	pid_t gpid;
	int ws;

	/*
	 * A background grandchild keeps the pipe open; the command is over
	 * when the child exits, not at end-of-file.
	 */
	exec_set_path(SYS_PATH);
	snprintf(pidfile, sizeof(pidfile), "%s/daemon.pid", st_tmp);
	snprintf(script, sizeof(script), "sleep 30 & echo $! > %s; echo bye",
	    pidfile);
	CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
	t0 = util_mono_ns();
	CHECK(sh(script, 20000, &r) == 0);
	CHECK(util_mono_ns() - t0 < 10000000000ull);
	CHECK(!r.timed_out && r.status == 0);
	CHECK_STR(r.out, "bye\n");
	CHECK((gpid = read_pid(pidfile)) > 0);
	kill(gpid, SIGKILL);
	ws = reap_within(gpid);
	CHECK(ws != -1);
}

/* Valgrind preloads its own libraries into the program it runs. */
static bool
under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "vgpreload") != NULL;
}

TEST(exec_not_found)
{
	const char *const argv1[] = { "no-such-command-ef", NULL };
	const char *const argv2[] = { "/nonexistent/ef-cmd", NULL };
	const char *const argv3[] = { NULL };
	struct exec_result r;

	exec_set_path(SYS_PATH);
	CHECK(exec_run(argv1, NULL, 1000, &r) == -1);
	CHECK(r.status == -1 && !r.timed_out);
	CHECK(strstr(r.out, "no-such-command-ef") != NULL);
	CHECK(strstr(r.out, "not found") != NULL);
	/*
	 * posix_spawn() cannot report a failed exec under valgrind, which
	 * runs its CLONE_VFORK child as a fork: there the child exits 127.
	 */
	if (under_valgrind())
		CHECK(exec_run(argv2, NULL, 1000, &r) == 0 && r.status == 127);
	else {
		CHECK(exec_run(argv2, NULL, 1000, &r) == -1);
		CHECK(strstr(r.out, "/nonexistent/ef-cmd") != NULL);
	}
	CHECK(exec_run(argv3, NULL, 1000, &r) == -1);
}

TEST(exec_minimal_environment_and_extra)
{
	const char *const env[] = { "EF_FOO=bar baz", "DEBIAN_FRONTEND=x",
		NULL };
	const char *const bad[] = { "NOEQUALS", NULL };
	const char *const argv[] = { "sh", "-c",
		"echo \"$EF_FOO|$DEBIAN_FRONTEND|$LANG|$PATH|${HOME-unset}\"",
		NULL };
	struct exec_result r;

	exec_set_path(SYS_PATH);
	setenv("EF_LEAK", "leaked", 1);
	CHECK(exec_run(argv, env, 5000, &r) == 0);
	CHECK_STR(r.out, "bar baz|x|C|" SYS_PATH "|unset\n");
	CHECK(sh("echo \"${EF_LEAK-clean}\"", 5000, &r) == 0);
	CHECK_STR(r.out, "clean\n");
	CHECK(exec_run(argv, bad, 5000, &r) == -1);
	CHECK(strstr(r.out, "environment") != NULL);
}

TEST(exec_uses_the_search_path)
{
	char a[512], b[512], path[1100];
	const char *const argv[] = { "ef-hello", "x y", NULL };
	struct exec_result r;

	snprintf(a, sizeof(a), "%s/path-a", st_tmp);
	snprintf(b, sizeof(b), "%s/path-b", st_tmp);
	/* Not executable in a: skipped; the one in b runs. */
	snprintf(path, sizeof(path), "%s/ef-hello", a);
	CHECK(st_put(path, "#!/bin/sh\necho wrong\n", 0644) == 0);
	snprintf(path, sizeof(path), "%s/ef-hello", b);
	CHECK(st_put(path, "#!/bin/sh\necho \"hello $1\"\n", 0755) == 0);
	snprintf(path, sizeof(path), "%s::%s", a, b);
	exec_set_path(path);
	CHECK(exec_run(argv, NULL, 5000, &r) == 0);
	CHECK_STR(r.out, "hello x y\n");
	/* Not in the path: not found, even though it exists elsewhere. */
	exec_set_path(a);
	CHECK(exec_run(argv, NULL, 5000, &r) == -1);
	/* With a slash, argv[0] is used as it is. */
	snprintf(path, sizeof(path), "%s/ef-hello", b);
	{
		const char *const argv2[] = { path, "z", NULL };

		CHECK(exec_run(argv2, NULL, 5000, &r) == 0);
		CHECK_STR(r.out, "hello z\n");
	}
}

TEST(exec_no_descriptor_leaks)
{
	char script[128];
	struct exec_result r;
	int fd = open("/dev/null", O_RDONLY); /* deliberately no O_CLOEXEC */

	CHECK(fd >= 3);
	exec_set_path(SYS_PATH);
	snprintf(script, sizeof(script),
	    "if [ -e /proc/self/fd/%d ]; then echo leaked; else echo clean; "
	    "fi",
	    fd);
	CHECK(sh(script, 5000, &r) == 0);
	close(fd);
	CHECK_STR(r.out, "clean\n");
}

TEST(exec_ignored_signals_are_reset)
{
	struct exec_result r;

	/* A parent that ignores SIGPIPE must not pass that on. */
	signal(SIGPIPE, SIG_IGN);
	exec_set_path(SYS_PATH);
	CHECK(sh("yes | head -c 10 >/dev/null; echo ok", 5000, &r) == 0);
	signal(SIGPIPE, SIG_DFL);
	CHECK_STR(r.out, "ok\n");
}

int
main(void)
{
	st_setup("exec");
	RUN(exec_exit_status);
	RUN(exec_captures_stdout_and_stderr);
	RUN(exec_truncates_big_output_and_drains);
	RUN(exec_stdin_is_dev_null);
	RUN(exec_timeout_kills_the_process_group);
	RUN(exec_returns_when_the_child_exits);
	RUN(exec_not_found);
	RUN(exec_minimal_environment_and_extra);
	RUN(exec_uses_the_search_path);
	RUN(exec_no_descriptor_leaks);
	RUN(exec_ignored_signals_are_reset);
	st_teardown();
	return check_done();
}
