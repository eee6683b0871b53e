/*
 * dataplane {listen, control, workers?, root?, drain_timeout?}: edge-dp at
 * the version the desired state names, running, upgraded by takeover.
 *
 * check: the running edge-dp (asked on its control socket) has the wanted
 * version -> in_sync; otherwise needs_change (not installed, not running,
 * or another version running).  No version targeted -> in_sync.
 * apply: fetch and verify the release through the keeper
 * (step_host.fetch_release), install it side by side under
 * /var/lib/edge-keeper/dataplane/<version>/edge-dp, and start it: with
 * --takeover when one is running (it hands over sockets and connections
 * and exits), fresh otherwise.  The new process is detached (its own
 * session, reparented away from the keeper), so it outlives the keeper's
 * restarts.  If it is not serving the new version within
 * DP_READY_TIMEOUT_S, the step fails and the old one keeps serving.
 *
 * Supervision falls out of the loop: a dataplane that died is "not
 * running" at the next check and is started again, with the reconcile
 * loop's backoff after failures.  A keeper restart adopts the running one
 * through its control socket: nothing is kept in the keeper's memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "common/util.h"
#include "steps/kinds.h"

#define DP_MAX_LISTEN 16
#define DP_READY_TIMEOUT_S 15

struct dataplane_params {
	char listen[DP_MAX_LISTEN][64];
	size_t nlisten;
	char control[108];
	char root[256];
	int64_t workers;
	int64_t drain_timeout;
};

static int
dataplane_parse(const json_t *params, void **out, char *err, size_t errlen)
{
	static const char *const keys[] = { "listen", "control", "workers",
		"root", "drain_timeout", NULL };
	struct dataplane_params *p;
	const char *control = NULL, *root = NULL;
	json_t *listen, *v;
	size_t i;

	*out = NULL;
	if (params == NULL) {
		snprintf(err, errlen, "listen: required");
		return -1;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p->drain_timeout = 30;
	if (jfield_only(params, keys, err, errlen) ||
	    jfield_arr(
		params, "listen", true, DP_MAX_LISTEN, &listen, err, errlen) ||
	    jfield_str(params, "control", true, 100, &control, err, errlen) ||
	    jfield_str(params, "root", false, 255, &root, err, errlen) ||
	    jfield_int(
		params, "workers", false, 0, 256, &p->workers, err, errlen) ||
	    jfield_int(params, "drain_timeout", false, 0, 3600,
		&p->drain_timeout, err, errlen))
		goto fail;
	if (json_array_size(listen) == 0) {
		snprintf(err, errlen, "listen: at least one ADDR:PORT");
		goto fail;
	}
	json_array_foreach(listen, i, v)
	{
		const char *s = json_string_value(v);

		if (s == NULL || strlen(s) >= sizeof(p->listen[0]) ||
		    strchr(s, ':') == NULL || strpbrk(s, " \t\n") != NULL) {
			snprintf(err, errlen, "listen[%zu]: want ADDR:PORT", i);
			goto fail;
		}
		util_strlcpy(p->listen[p->nlisten++], s, sizeof(p->listen[0]));
	}
	if (control[0] != '/' || strstr(control, "..") != NULL) {
		snprintf(err, errlen, "control: an absolute path");
		goto fail;
	}
	util_strlcpy(p->control, control, sizeof(p->control));
	if (root != NULL) {
		if (root[0] != '/' || strstr(root, "..") != NULL) {
			snprintf(err, errlen, "root: an absolute path");
			goto fail;
		}
		util_strlcpy(p->root, root, sizeof(p->root));
	}
	*out = p;
	return 0;
fail:
	free(p);
	return -1;
}

static void
dataplane_free(void *p)
{
	free(p);
}

/* Ask the running edge-dp; 0 with its version, -1 when none answers. */
static int
dp_status(const char *path, char *version, size_t len, bool *draining)
{
	struct sockaddr_un sa;
	struct timeval tv = { 2, 0 };
	char buf[1024];
	json_t *o = NULL;
	ssize_t n;
	size_t got = 0;
	int fd, rc = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (util_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) >=
	    sizeof(sa.sun_path))
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, "status\n", 7) != 7)
		goto out;
	while (got < sizeof(buf) - 1 &&
	    (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	if ((o = json_loads(buf, 0, NULL)) == NULL ||
	    !json_is_string(json_object_get(o, "version")))
		goto out;
	/* "edge-dp" releases report the version they were built with. */
	util_strlcpy(
	    version, json_string_value(json_object_get(o, "version")), len);
	*draining = json_is_true(json_object_get(o, "draining"));
	rc = 0;
out:
	json_decref(o);
	close(fd);
	return rc;
}

static int
dp_paths(const struct dataplane_params *p, const struct step_env *env,
    char *bin, char *ctl, size_t len)
{
	char host[512];

	snprintf(host, sizeof(host),
	    "/var/lib/edge-keeper/dataplane/%s/edge-dp",
	    env->host->dataplane_version);
	return step_path(env, host, bin, len) != 0 ||
		step_path(env, p->control, ctl, len) != 0
	    ? -1
	    : 0;
}

static void
dataplane_check(
    const void *vp, const struct step_env *env, struct step_result *res)
{
	const struct dataplane_params *p = vp;
	char bin[1024], ctl[1024], running[80];
	const char *want;
	struct stat st;
	bool draining = false;

	if (env->host == NULL || env->host->dataplane_version[0] == '\0') {
		step_set(res, STEP_IN_SYNC, "no dataplane release targeted");
		return;
	}
	want = env->host->dataplane_version;
	if (dp_paths(p, env, bin, ctl, sizeof(bin)) != 0)
		step_set(res, STEP_ERROR, "path too long");
	else if (stat(bin, &st) != 0)
		step_set(res, STEP_NEEDS_CHANGE, "%s is not installed", want);
	else if (dp_status(ctl, running, sizeof(running), &draining) != 0)
		step_set(res, STEP_NEEDS_CHANGE, "not running");
	else if (strcmp(running, want) != 0)
		step_set(res, STEP_NEEDS_CHANGE, "running %s, want %s", running,
		    want);
	else
		step_set(res, STEP_IN_SYNC, "%s running%s", want,
		    draining ? " (draining)" : "");
}

/* Start edge-dp detached: a double fork, its own session and log. */
static int
dp_spawn(const struct dataplane_params *p, const char *bin, const char *ctl,
    const char *log, bool takeover, char *err, size_t errlen)
{
	char *argv[2 * DP_MAX_LISTEN + 16], wbuf[24], dbuf[24];
	size_t a = 0, i;
	pid_t pid;
	int status;

	argv[a++] = (char *)(uintptr_t)bin;
	for (i = 0; i < p->nlisten; i++) {
		argv[a++] = (char *)(uintptr_t) "--listen";
		argv[a++] = (char *)(uintptr_t)p->listen[i];
	}
	argv[a++] = (char *)(uintptr_t) "--control";
	argv[a++] = (char *)(uintptr_t)ctl;
	if (p->workers > 0) {
		snprintf(wbuf, sizeof(wbuf), "%lld", (long long)p->workers);
		argv[a++] = (char *)(uintptr_t) "--workers";
		argv[a++] = wbuf;
	}
	if (p->root[0] != '\0') {
		argv[a++] = (char *)(uintptr_t) "--root";
		argv[a++] = (char *)(uintptr_t)p->root;
	}
	snprintf(dbuf, sizeof(dbuf), "%lld", (long long)p->drain_timeout);
	argv[a++] = (char *)(uintptr_t) "--drain-timeout";
	argv[a++] = dbuf;
	if (takeover)
		argv[a++] = (char *)(uintptr_t) "--takeover";
	argv[a] = NULL;
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd;

		setsid();
		if (fork() != 0)
			_exit(0);
		/* The grandchild: no parent to wait for it but init. */
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		signal(SIGPIPE, SIG_DFL);
		execv(bin, argv);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	return 0;
}

static int
dataplane_apply(
    const void *vp, const struct step_env *env, struct step_result *res)
{
	const struct dataplane_params *p = vp;
	char bin[1024], ctl[1024], dir[1024], log[1024], running[80] = "";
	char tmp[1100], err[512];
	const char *want;
	struct stat st;
	bool draining = false, had;
	int64_t end;

	if (env->host == NULL || env->host->dataplane_version[0] == '\0')
		return 0;
	want = env->host->dataplane_version;
	if (dp_paths(p, env, bin, ctl, sizeof(bin)) != 0) {
		step_set(res, STEP_ERROR, "path too long");
		return -1;
	}
	if (stat(bin, &st) != 0) {
		util_strlcpy(dir, bin, sizeof(dir));
		*strrchr(dir, '/') = '\0';
		if (step_mkdirs(env, dir + strlen(env->root), 0755) != 0) {
			step_set(res, STEP_ERROR, "mkdir %s: %s", dir,
			    strerror(errno));
			return -1;
		}
		snprintf(tmp, sizeof(tmp), "%s.part", bin);
		if (env->host->fetch_release(env->host->ctx, "dataplane", want,
			tmp, err, sizeof(err)) != 0) {
			unlink(tmp);
			step_set(res, STEP_ERROR, "release %s refused: %s",
			    want, err);
			return -1;
		}
		if (rename(tmp, bin) != 0) {
			step_set(
			    res, STEP_ERROR, "install: %s", strerror(errno));
			unlink(tmp);
			return -1;
		}
	}
	had = dp_status(ctl, running, sizeof(running), &draining) == 0;
	/* The control socket's directory (/run is a tmpfs). */
	util_strlcpy(dir, p->control, sizeof(dir));
	*strrchr(dir, '/') = '\0';
	if (dir[0] != '\0' && step_mkdirs(env, dir, 0755) != 0) {
		step_set(res, STEP_ERROR, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (step_path(env, "/var/lib/edge-keeper/dataplane/edge-dp.log", log,
		sizeof(log)) != 0 ||
	    dp_spawn(p, bin, ctl, log, had, err, sizeof(err)) != 0) {
		step_set(res, STEP_ERROR, "start %s: %s", want, err);
		return -1;
	}
	end = util_now() + DP_READY_TIMEOUT_S;
	while (util_now() < end) {
		struct timespec ts = { 0, 50000000 };

		if (dp_status(ctl, running, sizeof(running), &draining) == 0 &&
		    strcmp(running, want) == 0)
			return 0;
		nanosleep(&ts, NULL);
	}
	step_set(res, STEP_ERROR,
	    "%s did not become ready in %ds; %s keeps serving", want,
	    DP_READY_TIMEOUT_S, had ? running : "nothing");
	return -1;
}

const struct step_kind step_dataplane = {
	"dataplane",
	dataplane_parse,
	dataplane_free,
	dataplane_check,
	dataplane_apply,
	10,
};

int
step_dataplane_running(const void *vp, const struct step_env *env,
    char *version, size_t len, bool *draining)
{
	const struct dataplane_params *p = vp;
	char ctl[1024];

	if (step_path(env, p->control, ctl, sizeof(ctl)) != 0)
		return -1;
	return dp_status(ctl, version, len, draining);
}
