#include "keeper/selfup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/log.h"
#include "common/priv.h"
#include "common/util.h"
#include "common/version.h"

char **selfup_argv;

struct trial {
	char version[65];
	int64_t deadline;
	char previous[PATH_MAX];
};

static void
selfup_path(
    const struct keeper_conf *c, const char *name, char *out, size_t len)
{
	char rel[256];

	snprintf(rel, sizeof(rel), SELFUP_DIR "/%s", name);
	keeper_path(c, rel, out, len);
}

static int
trial_read(const struct keeper_conf *c, struct trial *t)
{
	char path[KEEPER_PATH_MAX], *txt = NULL, *sp1, *sp2, *nl;
	size_t len;
	int rc = -1;

	selfup_path(c, "trial", path, sizeof(path));
	if (afile_read(path, 8192, &txt, &len) != 0)
		return -1;
	/* "VERSION DEADLINE PREVIOUS\n" */
	if ((sp1 = strchr(txt, ' ')) != NULL &&
	    (sp2 = strchr(sp1 + 1, ' ')) != NULL &&
	    (nl = strchr(sp2 + 1, '\n')) != NULL) {
		*sp1 = *sp2 = *nl = '\0';
		if (util_strlcpy(t->version, txt, sizeof(t->version)) <
			sizeof(t->version) &&
		    util_parse_i64(sp1 + 1, 0, INT64_MAX, &t->deadline) == 0 &&
		    util_strlcpy(t->previous, sp2 + 1, sizeof(t->previous)) <
			sizeof(t->previous))
			rc = 0;
	}
	free(txt);
	return rc;
}

/* current -> dir (relative, in SELFUP_DIR), atomically; "" removes it. */
static int
current_set(const struct keeper_conf *c, const char *dir)
{
	char cur[KEEPER_PATH_MAX], tmp[KEEPER_PATH_MAX + 8];

	selfup_path(c, "current", cur, sizeof(cur));
	if (dir[0] == '\0')
		return unlink(cur) == 0 || errno == ENOENT ? 0 : -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", cur);
	unlink(tmp);
	if (afile_ops.symlink(dir, tmp) != 0) {
		unlink(tmp);
		return -1;
	}
	if (afile_rename(tmp, cur) != 0) {
		char to[256];
		ssize_t n;
		int e = errno;

		/*
		 * Only the directory's fsync failed: current is switched
		 * (and a switch lost to a power cut leaves a trial that the
		 * next start sweeps).  Saying otherwise would have the
		 * caller drop the trial that guards it.
		 */
		n = readlink(cur, to, sizeof(to) - 1);
		if (n > 0 && (to[n] = '\0', strcmp(to, dir) == 0)) {
			log_warnx("event=keeper_current_not_synced to=%s", dir);
			return 0;
		}
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

/* The version directory a binary path is in, when it is one of ours. */
static const char *
version_of_path(
    const struct keeper_conf *c, const char *bin, char *out, size_t len)
{
	char dir[KEEPER_PATH_MAX], real[PATH_MAX];
	const char *rest, *slash;
	size_t n;

	selfup_path(c, "", dir, sizeof(dir));
	if (realpath(dir, real) == NULL)
		return NULL;
	n = strlen(real);
	if (strncmp(bin, real, n) != 0 || bin[n] != '/')
		return NULL;
	rest = bin + n + 1;
	if ((slash = strchr(rest, '/')) == NULL ||
	    strcmp(slash, "/edge-keeper") != 0 || (size_t)(slash - rest) >= len)
		return NULL;
	memcpy(out, rest, (size_t)(slash - rest));
	out[slash - rest] = '\0';
	return out;
}

/*
 * The unprivileged part asks the privileged one (common/priv.h): 0, 1
 * for a version that failed its trial (PRIV_SELF_FAILED), -1 with err.
 */
static int
selfup_remote(
    enum priv_type type, const char *version, char *err, size_t errlen)
{
	struct priv_msg req, ans;
	int rc;

	priv_msg_init(&req, type);
	priv_put_str(&req, version);
	rc = priv_call(&req, &ans, err, errlen);
	if (rc == 0 && type == PRIV_SELF_FAILED && priv_get_u32(&ans) != 0)
		rc = 1;
	priv_msg_clear(&req);
	priv_msg_clear(&ans);
	return rc;
}

int
selfup_begin(
    const struct keeper_conf *c, const char *version, char *err, size_t errlen)
{
	char path[KEEPER_PATH_MAX], prev[PATH_MAX], buf[PATH_MAX + 128];
	char pidbuf[24], *argv[8];
	pid_t pid;
	int n, a = 0;

	if (priv_client_fd() >= 0)
		return selfup_remote(PRIV_SELF_BEGIN, version, err, errlen);
	if (realpath("/proc/self/exe", prev) == NULL) {
		snprintf(err, errlen, "/proc/self/exe: %s", strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%s %lld %s\n", version,
	    (long long)(util_now() + c->trial_s), prev);
	selfup_path(c, "trial", path, sizeof(path));
	if (afile_write(path, buf, (size_t)n, 0600) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		/* In place when only the directory's fsync failed. */
		unlink(path);
		return -1;
	}
	if (current_set(c, version) != 0) {
		snprintf(
		    err, errlen, "current -> %s: %s", version, strerror(errno));
		unlink(path);
		return -1;
	}
	/*
	 * The watchdog is a fresh process of the binary that works now, so
	 * nothing of the new one can keep it from going back.
	 */
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)getpid());
	argv[a++] = prev;
	if (c->root[0] != '\0') {
		argv[a++] = (char *)(uintptr_t) "--root";
		argv[a++] = (char *)(uintptr_t)c->root;
	}
	argv[a++] = (char *)(uintptr_t) "watchdog";
	argv[a++] = pidbuf;
	argv[a] = NULL;
	if ((pid = fork()) == 0) {
		setsid();
		execv(prev, argv);
		_exit(127);
	}
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		unlink(path);
		return -1;
	}
	log_info("event=keeper_trial version=%s previous=%s watchdog=%d",
	    version, prev, (int)pid);
	return 0;
}

void
selfup_exec(const struct keeper_conf *c)
{
	char cur[KEEPER_PATH_MAX], real[PATH_MAX];

	selfup_path(c, "current/edge-keeper", cur, sizeof(cur));
	if (realpath(cur, real) == NULL) {
		log_warn("event=keeper_exec_failed path=%s", cur);
		return;
	}
	log_info("event=keeper_exec path=%s", real);
	execv(real, selfup_argv);
	log_warn("event=keeper_exec_failed path=%s", real);
}

void
selfup_commit(const struct keeper_conf *c)
{
	char path[KEEPER_PATH_MAX];
	struct trial t;

	if (priv_client_fd() >= 0) {
		selfup_remote(PRIV_SELF_COMMIT, "", NULL, 0);
		return;
	}
	if (trial_read(c, &t) != 0 || strcmp(t.version, ef_version) != 0)
		return;
	selfup_path(c, "trial", path, sizeof(path));
	if (unlink(path) == 0)
		log_info("event=keeper_committed version=%s", ef_version);
}

bool
selfup_failed(const struct keeper_conf *c, const char *version)
{
	char path[KEEPER_PATH_MAX], name[80];

	if (priv_client_fd() >= 0)
		return selfup_remote(PRIV_SELF_FAILED, version, NULL, 0) == 1;
	snprintf(name, sizeof(name), "%s.failed", version);
	selfup_path(c, name, path, sizeof(path));
	return access(path, F_OK) == 0;
}

/*
 * A trial names the version current was switched to.  One that names
 * another was never begun: the keeper that wrote it died before it
 * switched current (selfup_begin writes the trial first).  Left there, it
 * would keep selfup_launch from ever launching current again.
 */
static void
selfup_trial_sweep(const struct keeper_conf *c)
{
	char path[KEEPER_PATH_MAX], cur[KEEPER_PATH_MAX], to[256];
	struct trial t;
	ssize_t n;

	if (trial_read(c, &t) != 0)
		return;
	selfup_path(c, "current", cur, sizeof(cur));
	if ((n = readlink(cur, to, sizeof(to) - 1)) > 0) {
		to[n] = '\0';
		if (strcmp(to, t.version) == 0)
			return;
	}
	selfup_path(c, "trial", path, sizeof(path));
	if (unlink(path) == 0)
		log_warnx("event=keeper_trial_swept version=%s msg=\"current "
			  "was never switched to it\"",
		    t.version);
}

void
selfup_launch(const struct keeper_conf *c,
    int (*verify)(
	const char *path, const char *version, char *err, size_t errlen))
{
	char cur[KEEPER_PATH_MAX], real[PATH_MAX], self[PATH_MAX], ver[80],
	    err[256];
	struct trial t;

	selfup_trial_sweep(c);
	selfup_path(c, "current/edge-keeper", cur, sizeof(cur));
	if (trial_read(c, &t) == 0 || realpath(cur, real) == NULL ||
	    realpath("/proc/self/exe", self) == NULL ||
	    strcmp(real, self) == 0 ||
	    version_of_path(c, real, ver, sizeof(ver)) == NULL ||
	    strcmp(ver, ef_version) == 0 || selfup_failed(c, ver))
		return;
	if (verify(real, ver, err, sizeof(err)) != 0) {
		log_warnx("event=keeper_launch_refused version=%s err=\"%s\"",
		    ver, err);
		return;
	}
	log_info("event=keeper_launch version=%s path=%s", ver, real);
	execv(real, selfup_argv);
	log_warn("event=keeper_launch_failed path=%s", real);
}

/* Alive and not a zombie (/proc files have no size: read, not stat). */
static bool
pid_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	if (kill(pid, 0) != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static void
watchdog_sleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The trial failed: stop it, mark it, point current back. */
static void
watchdog_revert(const struct keeper_conf *c, pid_t pid, const struct trial *t,
    const char *why)
{
	char path[KEEPER_PATH_MAX], name[80], prevver[80];
	int i;

	if (pid_alive(pid)) {
		kill(pid, SIGTERM);
		for (i = 0; i < 50 && pid_alive(pid); i++)
			watchdog_sleep(100);
		if (pid_alive(pid))
			kill(pid, SIGKILL);
	}
	snprintf(name, sizeof(name), "%s.failed", t->version);
	selfup_path(c, name, path, sizeof(path));
	afile_write(path, why, strlen(why), 0600);
	current_set(c,
	    version_of_path(c, t->previous, prevver, sizeof(prevver)) ? prevver
								      : "");
	selfup_path(c, "trial", path, sizeof(path));
	unlink(path);
	log_warnx("event=keeper_trial_failed version=%s why=\"%s\" back_to=%s",
	    t->version, why, t->previous);
}

int
keeper_watchdog_main(struct keeper_conf *c, int argc, char **argv)
{
	char *run_argv[5];
	struct trial t;
	int64_t pid;
	sigset_t none;
	int a = 0;

	if (argc != 2 || util_parse_i64(argv[1], 2, INT32_MAX, &pid) != 0) {
		fprintf(stderr,
		    "usage: edge-keeper [--root DIR] watchdog "
		    "PID\n");
		return 2;
	}
	/* The keeper's blocked signals came along through exec: not ours. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (;;) {
		if (trial_read(c, &t) != 0)
			return 0; /* committed */
		if (!pid_alive((pid_t)pid)) {
			watchdog_revert(c, (pid_t)pid, &t,
			    "the new keeper exited before it reported");
			break;
		}
		if (util_now() > t.deadline) {
			watchdog_revert(c, (pid_t)pid, &t,
			    "the new keeper did not report in time");
			break;
		}
		watchdog_sleep(500);
	}
	/*
	 * Under systemd (a real host, started by a unit) the unit's restart
	 * brings the previous one back; elsewhere the watchdog becomes it.
	 */
	if (c->root[0] == '\0' && getenv("INVOCATION_ID") != NULL)
		return 0;
	run_argv[a++] = t.previous;
	if (c->root[0] != '\0') {
		run_argv[a++] = (char *)(uintptr_t) "--root";
		run_argv[a++] = c->root;
	}
	run_argv[a++] = (char *)(uintptr_t) "run";
	run_argv[a] = NULL;
	execv(t.previous, run_argv);
	log_warn("event=keeper_revert_exec_failed path=%s", t.previous);
	return 1;
}
