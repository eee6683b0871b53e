/*
 * dataplane {listen, control, workers?, root?, drain_timeout?,
 * ready_timeout?, user?, health_listen?}: edge-dp at the version the
 * desired state names, running, upgraded by takeover.  health_listen is
 * edge-dp's --health-listen (dataplane/dp.h), where this step's own
 * /healthz check goes, and where the anycast step's probe should point:
 * it is answered also when edge-dp is at --max-conns.
 *
 * check: the running edge-dp (asked on its control socket) has the wanted
 * version -> in_sync; otherwise needs_change (not installed, not running,
 * or another version running).  No version targeted -> in_sync.
 * apply: fetch and verify the release through the keeper
 * (step_host.fetch_release), install it side by side under
 * /var/lib/edge-keeper/dataplane/<version>/edge-dp (or, when it is
 * installed already, verify it again: step_host.verify_release; a rollback
 * to an older release needs the desired state's explicit leave), and
 * start it: with
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
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/dpopts.h"
#include "common/json.h"
#include "common/log.h"
#include "common/priv.h"
#include "common/util.h"
#include "dataplane/takeover.h"
#include "steps/kinds.h"

#define DP_MAX_LISTEN 16
#define DP_READY_TIMEOUT_S 15
#define DP_HEALTH_TIMEOUT_S 5

struct dataplane_params {
	char listen[DP_MAX_LISTEN][64];
	size_t nlisten;
	char health[64]; /* --health-listen ADDR:PORT, "" for none */
	char control[108];
	char root[256];
	int64_t workers;
	int64_t drain_timeout;
	int64_t ready_timeout;
	/*
	 * edge-dp --user: "" when the step names none (the node's default
	 * then, dp_user()), "root" to keep it root.
	 */
	char user[33];
};

/* The control socket is in a directory of its own (/run/edge-dp/). */
static bool
ctl_own_dir(const char *control)
{
	const char *last = strrchr(control, '/');
	size_t depth = 0;

	for (; control < last; control++)
		depth += *control == '/';
	return depth >= 2;
}

/* ADDR:PORT as edge-dp takes it (it checks the rest itself). */
static bool
listen_addr_ok(const char *s)
{
	return strlen(s) < 64 && strchr(s, ':') != NULL &&
	    strpbrk(s, " \t\n") == NULL;
}

static int
dataplane_parse(const json_t *params, void **out, char *err, size_t errlen)
{
	static const char *const keys[] = { "listen", "control", "workers",
		"root", "drain_timeout", "ready_timeout", "user",
		"health_listen", NULL };
	struct dataplane_params *p;
	const char *control = NULL, *root = NULL, *user = NULL, *health = NULL;
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
	p->ready_timeout = DP_READY_TIMEOUT_S;
	if (jfield_only(params, keys, err, errlen) ||
	    jfield_arr(
		params, "listen", true, DP_MAX_LISTEN, &listen, err, errlen) ||
	    jfield_str(params, "control", true, 100, &control, err, errlen) ||
	    jfield_str(params, "root", false, 255, &root, err, errlen) ||
	    jfield_int(
		params, "workers", false, 0, 256, &p->workers, err, errlen) ||
	    jfield_int(params, "drain_timeout", false, 0, 3600,
		&p->drain_timeout, err, errlen) ||
	    jfield_int(params, "ready_timeout", false, 1, 600,
		&p->ready_timeout, err, errlen) ||
	    jfield_str(params, "user", false, 32, &user, err, errlen) ||
	    jfield_str(
		params, "health_listen", false, 63, &health, err, errlen))
		goto fail;
	if (user != NULL) {
		if (!util_name_ok(user)) {
			snprintf(err, errlen, "user: a user name");
			goto fail;
		}
		util_strlcpy(p->user, user, sizeof(p->user));
	}
	if (json_array_size(listen) == 0) {
		snprintf(err, errlen, "listen: at least one ADDR:PORT");
		goto fail;
	}
	json_array_foreach(listen, i, v)
	{
		const char *s = json_string_value(v);

		if (s == NULL || !listen_addr_ok(s)) {
			snprintf(err, errlen, "listen[%zu]: want ADDR:PORT", i);
			goto fail;
		}
		util_strlcpy(p->listen[p->nlisten++], s, sizeof(p->listen[0]));
	}
	if (health != NULL) {
		if (!listen_addr_ok(health) || p->nlisten == DP_MAX_LISTEN) {
			snprintf(err, errlen,
			    "health_listen: want ADDR:PORT, with at most %d "
			    "listen addresses",
			    DP_MAX_LISTEN - 1);
			goto fail;
		}
		for (i = 0; i < p->nlisten; i++)
			if (strcmp(p->listen[i], health) == 0) {
				snprintf(err, errlen,
				    "health_listen: %s is a listen address",
				    health);
				goto fail;
			}
		util_strlcpy(p->health, health, sizeof(p->health));
	}
	if (control[0] != '/' || strstr(control, "..") != NULL) {
		snprintf(err, errlen, "control: an absolute path");
		goto fail;
	}
	util_strlcpy(p->control, control, sizeof(p->control));
	/*
	 * With a user, the socket's directory becomes that user's (0700):
	 * one of its own, such as /run/edge-dp/, never /run or /tmp.
	 */
	if (p->user[0] != '\0' && strcmp(p->user, "root") != 0) {
		if (!ctl_own_dir(control)) {
			snprintf(err, errlen,
			    "control: with user, a socket in a directory of "
			    "its own (/run/edge-dp/ctl.sock)");
			goto fail;
		}
	}
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

/* What a running edge-dp says of itself on its control socket. */
struct dp_state {
	char version[80];
	char successor[80]; /* the version taking over from it, or "" */
	bool draining;
	int64_t uid;              /* it runs as; -1 when it does not say */
	char options[DPOPTS_HEX]; /* dpopts.h; "" when it does not say */
	int64_t pid;
};

/* Ask the running edge-dp; 0, or -1 when none answers. */
static int
dp_status(const char *path, struct dp_state *ds)
{
	struct timeval tv = { 2, 0 };
	char buf[1024];
	json_t *o = NULL, *succ;
	ssize_t n;
	size_t got = 0;
	int fd, rc = -1;

	memset(ds, 0, sizeof(*ds));
	if ((fd = priv_connect_unix(path)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(fd, "status\n", 7) != 7)
		goto out;
	while (got < sizeof(buf) - 1 &&
	    (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	if ((o = json_loads(buf, 0, NULL)) == NULL ||
	    !json_is_string(json_object_get(o, "version")))
		goto out;
	/* "edge-dp" releases report the version they were built with. */
	util_strlcpy(ds->version,
	    json_string_value(json_object_get(o, "version")),
	    sizeof(ds->version));
	ds->draining = json_is_true(json_object_get(o, "draining"));
	ds->pid = json_is_integer(json_object_get(o, "pid"))
	    ? json_integer_value(json_object_get(o, "pid"))
	    : -1;
	ds->uid = json_is_integer(json_object_get(o, "uid"))
	    ? json_integer_value(json_object_get(o, "uid"))
	    : -1;
	if (json_is_string(json_object_get(o, "options")))
		util_strlcpy(ds->options,
		    json_string_value(json_object_get(o, "options")),
		    sizeof(ds->options));
	succ = json_object_get(json_object_get(o, "successor"), "version");
	if (json_is_string(succ))
		util_strlcpy(ds->successor, json_string_value(succ),
		    sizeof(ds->successor));
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

/* The ids of user, root's for "".  -1: no such user. */
static int
dp_uid(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *pp = NULL;
	char buf[4096];

	*uid = 0;
	*gid = 0;
	if (user[0] == '\0')
		return 0;
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &pp) != 0 || pp == NULL)
		return -1;
	*uid = pp->pw_uid;
	*gid = pp->pw_gid;
	return 0;
}

/*
 * Who edge-dp runs as (threat T46), into user ("" for root): the step's
 * user; when it names none, the node's default (keeper.conf
 * dataplane_user, "edge-dp") if that user exists here and the control
 * socket is in a directory of its own, else root, and *note says which
 * of those was missing so the step's reason shows it.  A user the step
 * names and the node lacks is an error (dp_uid() fails later); a missing
 * default is not: nodes made before the package made the user keep
 * serving, as root, and say so.
 */
static void
dp_user(const struct dataplane_params *p, const struct step_env *env,
    char *user, size_t len, const char **note)
{
	const char *def = env->host != NULL ? env->host->dataplane_user : NULL;
	uid_t uid;
	gid_t gid;

	*note = "";
	user[0] = '\0';
	if (p->user[0] != '\0') {
		if (strcmp(p->user, "root") != 0)
			util_strlcpy(user, p->user, len);
		return;
	}
	if (def == NULL || def[0] == '\0' || strcmp(def, "root") == 0)
		return;
	if (dp_uid(def, &uid, &gid) != 0)
		*note = " (as root: this node has no user for it)";
	else if (!ctl_own_dir(p->control))
		*note = " (as root: its control socket is not in a "
			"directory of its own)";
	else
		util_strlcpy(user, def, len);
}

/* edge-dp's command line, NULL-terminated, without --takeover. */
struct dp_argv {
	const char *v[2 * DP_MAX_LISTEN + 18];
	char wbuf[24], dbuf[24];
	size_t n;
};

static void
dp_argv(struct dp_argv *d, const struct dataplane_params *p, const char *user,
    const char *bin, const char *ctl, const char *www)
{
	const char **argv = d->v;
	size_t a = 0, i;

	argv[a++] = bin;
	for (i = 0; i < p->nlisten; i++) {
		argv[a++] = "--listen";
		argv[a++] = p->listen[i];
	}
	if (p->health[0] != '\0') {
		argv[a++] = "--health-listen";
		argv[a++] = p->health;
	}
	argv[a++] = "--control";
	argv[a++] = ctl;
	if (p->workers > 0) {
		snprintf(
		    d->wbuf, sizeof(d->wbuf), "%lld", (long long)p->workers);
		argv[a++] = "--workers";
		argv[a++] = d->wbuf;
	}
	if (www[0] != '\0') {
		argv[a++] = "--root";
		argv[a++] = www;
	}
	snprintf(d->dbuf, sizeof(d->dbuf), "%lld", (long long)p->drain_timeout);
	argv[a++] = "--drain-timeout";
	argv[a++] = d->dbuf;
	if (user[0] != '\0') {
		argv[a++] = "--user";
		argv[a++] = user;
	}
	argv[a] = NULL;
	d->n = a;
}

/* The fingerprint of the options edge-dp should run with (dpopts.h). */
static int
dp_want_options(const struct dataplane_params *p, const struct step_env *env,
    const char *user, const char *bin, const char *ctl, char out[DPOPTS_HEX])
{
	struct dp_argv d;
	char www[1024] = "";

	if (p->root[0] != '\0' &&
	    step_path(env, p->root, www, sizeof(www)) != 0)
		return -1;
	dp_argv(&d, p, user, bin, ctl, www);
	dpopts_fingerprint(d.v, out);
	return 0;
}

static void
dataplane_check(
    const void *vp, const struct step_env *env, struct step_result *res)
{
	const struct dataplane_params *p = vp;
	char bin[1024], ctl[1024], user[33], opts[DPOPTS_HEX];
	struct dp_state ds;
	const char *want, *note;
	struct priv_stat st;
	uid_t uid;
	gid_t gid;

	if (env->host == NULL || env->host->dataplane_version[0] == '\0') {
		step_set(res, STEP_IN_SYNC, "no dataplane release targeted");
		return;
	}
	want = env->host->dataplane_version;
	dp_user(p, env, user, sizeof(user), &note);
	if (dp_paths(p, env, bin, ctl, sizeof(bin)) != 0)
		step_set(res, STEP_ERROR, "path too long");
	else if (priv_lstat(bin, &st) != 0)
		step_set(res, STEP_NEEDS_CHANGE, "%s is not installed", want);
	else if (dp_status(ctl, &ds) != 0)
		step_set(res, STEP_NEEDS_CHANGE, "not running");
	else if (strcmp(ds.successor, want) == 0)
		step_set(res, STEP_IN_SYNC, "%s taking over from %s", want,
		    ds.version);
	else if (strcmp(ds.version, want) != 0)
		step_set(res, STEP_NEEDS_CHANGE, "running %s, want %s",
		    ds.version, want);
	else if (dp_uid(user, &uid, &gid) != 0)
		step_set(res, STEP_ERROR, "user %s: no such user", user);
	else if (ds.uid >= 0 && ds.uid != (int64_t)uid)
		step_set(res, STEP_NEEDS_CHANGE, "running as uid %lld, want %s",
		    (long long)ds.uid, user[0] ? user : "root");
	else if (dp_want_options(p, env, user, bin, ctl, opts) != 0)
		step_set(res, STEP_ERROR, "path too long");
	/* One that does not say (an older release) is left as it is. */
	else if (ds.options[0] != '\0' && strcmp(ds.options, opts) != 0)
		step_set(res, STEP_NEEDS_CHANGE,
		    "running with other options (listen, workers, root, "
		    "drain_timeout, health_listen)");
	else
		step_set(res, STEP_IN_SYNC, "%s running%s%s", want,
		    ds.draining ? " (draining)" : "", note);
}

/*
 * Start edge-dp detached (common/priv.h: priv_spawn, which the keeper's
 * privileged part does after verifying the binary once more).  *dpid is
 * the edge-dp process, so a start that never becomes ready can be
 * stopped; *readyfd is the read end of its --ready-fd pipe.
 */
static int
dp_spawn(const struct dataplane_params *p, const char *user, const char *bin,
    const char *ctl, const char *www, const char *log, bool takeover,
    pid_t *dpid, int *readyfd, char *err, size_t errlen)
{
	struct dp_argv d;

	dp_argv(&d, p, user, bin, ctl, www);
	if (takeover) {
		d.v[d.n++] = "--takeover";
		d.v[d.n] = NULL;
	}
	return priv_spawn(d.v, log, dpid, readyfd, err, errlen);
}

/*
 * Wait up to ms for the --ready-fd line: 1 ready, 0 nothing yet, -1 the
 * process closed it without being ready (it exited).
 */
static int
dp_wait_ready(int fd, int ms)
{
	struct pollfd pf = { fd, POLLIN, 0 };
	char buf[64];
	ssize_t n;

	if (poll(&pf, 1, ms) != 1)
		return 0;
	n = read(fd, buf, sizeof(buf));
	return n > 6 && memcmp(buf, "ready ", 6) == 0 ? 1 : -1;
}

/*
 * A started process that did not say it was ready in time: freeze it,
 * look once more (it may have said so just now: a successor says so
 * before it tells its predecessor, so a frozen one that has not cannot
 * have taken anything over), then kill it, or let it go on.  A stopped
 * process cannot exit to free its pid, so the signals cannot reach a
 * recycled one.  1 when it turned out ready.
 */
static int
dp_stop_unready(pid_t pid, int readyfd)
{
	int ready;

	priv_signal(pid, SIGSTOP);
	ready = dp_wait_ready(readyfd, 0) == 1;
	priv_signal(pid, ready ? SIGCONT : SIGKILL);
	return ready;
}

/*
 * GET /healthz on the health listener, else the first listen address (a
 * wildcard address is asked on loopback): 0 when it answers 200.
 */
static int
dp_healthz(const struct dataplane_params *p, char *why, size_t len)
{
	const char *at = p->health[0] != '\0' ? p->health : p->listen[0];
	const char *port = strrchr(at, ':');
	char url[128], host[64];
	long code = 0;
	CURLcode rc;
	CURL *c;

	snprintf(host, sizeof(host), "%.*s", (int)(port - at), at);
	if (strcmp(host, "0.0.0.0") == 0 || host[0] == '\0')
		util_strlcpy(host, "127.0.0.1", sizeof(host));
	else if (strcmp(host, "[::]") == 0)
		util_strlcpy(host, "[::1]", sizeof(host));
	snprintf(url, sizeof(url), "http://%s%s/healthz", host, port);
	if ((c = curl_easy_init()) == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		snprintf(why, len, "%s: %s", url, curl_easy_strerror(rc));
		return -1;
	}
	if (code != 200) {
		snprintf(why, len, "%s: HTTP %ld", url, code);
		return -1;
	}
	return 0;
}

static int
dataplane_apply(
    const void *vp, const struct step_env *env, struct step_result *res)
{
	const struct dataplane_params *p = vp;
	char bin[1024], ctl[1024], dir[1024], log[1024], www[1024], err[512];
	char user[33];
	const char *want, *note;
	struct priv_stat st;
	struct dp_state ds;
	int64_t end, wait_s;
	int rfd, ready;
	bool had;
	pid_t pid;

	if (env->host == NULL || env->host->dataplane_version[0] == '\0')
		return 0;
	want = env->host->dataplane_version;
	if (dp_paths(p, env, bin, ctl, sizeof(bin)) != 0) {
		step_set(res, STEP_ERROR, "path too long");
		return -1;
	}
	/*
	 * Installed already: verify it again.  One that is not what edge-cp
	 * signed has been removed by the check; it is fetched again at once,
	 * so the node heals in this pass instead of reporting an error.
	 */
	if (priv_lstat(bin, &st) == 0 &&
	    env->host->verify_release(env->host->ctx, "dataplane", want, bin,
		env->host->dataplane_rollback, err, sizeof(err)) != 0) {
		if (priv_lstat(bin, &st) == 0) {
			step_set(res, STEP_ERROR, "installed %s refused: %s",
			    want, err);
			return -1;
		}
		log_warnx("event=dataplane_refetch msg=\"installed %s refused: "
			  "%s\"",
		    want, err);
	}
	if (priv_lstat(bin, &st) != 0) {
		if (env->host->fetch_release(env->host->ctx, "dataplane", want,
			bin, env->host->dataplane_rollback, err,
			sizeof(err)) != 0) {
			step_set(res, STEP_ERROR, "release %s refused: %s",
			    want, err);
			return -1;
		}
	}
	had = dp_status(ctl, &ds) == 0;
	/* The control socket's directory (/run is a tmpfs). */
	util_strlcpy(dir, p->control, sizeof(dir));
	*strrchr(dir, '/') = '\0';
	if (dir[0] != '\0' && step_mkdirs(env, dir, 0755) != 0) {
		step_set(res, STEP_ERROR, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	/*
	 * edge-dp --user makes its control socket in a directory of the
	 * user's own, and renames a successor's over it there.
	 */
	dp_user(p, env, user, sizeof(user), &note);
	if (user[0] != '\0') {
		char full[1024];
		uid_t uid;
		gid_t gid;

		if (dp_uid(user, &uid, &gid) != 0) {
			step_set(
			    res, STEP_ERROR, "user %s: no such user", user);
			return -1;
		}
		if (step_path(env, dir, full, sizeof(full)) != 0 ||
		    priv_ownmode(full, uid, gid, 0700) != 0) {
			step_set(res, STEP_ERROR, "%s for %s: %s", dir, user,
			    strerror(errno));
			return -1;
		}
	}
	/* Its static files are a host path too: under the keeper's root. */
	www[0] = '\0';
	if (step_path(env, "/var/lib/edge-keeper/dataplane/edge-dp.log", log,
		sizeof(log)) != 0 ||
	    (p->root[0] != '\0' &&
		step_path(env, p->root, www, sizeof(www)) != 0) ||
	    dp_spawn(p, user, bin, ctl, www, log, had, &pid, &rfd, err,
		sizeof(err)) != 0) {
		step_set(res, STEP_ERROR, "start %s: %s", want, err);
		return -1;
	}
	/*
	 * A successor must be given longer than its predecessor gives it,
	 * so that one we kill has been given up on already.
	 */
	wait_s = p->ready_timeout;
	if (had && wait_s <= TAKEOVER_READY_TIMEOUT_S)
		wait_s = TAKEOVER_READY_TIMEOUT_S + 1;
	ready = dp_wait_ready(rfd, (int)wait_s * 1000);
	if (ready == 0)
		ready = dp_stop_unready(pid, rfd);
	close(rfd);
	if (ready != 1) {
		step_set(res, STEP_ERROR, "%s %s; %s keeps serving", want,
		    ready < 0 ? "exited before it was ready (see edge-dp.log)"
			      : "was not ready in time and was stopped",
		    had ? ds.version : "nothing");
		return -1;
	}
	/* Accepting; now it has to answer. */
	end = util_now() + DP_HEALTH_TIMEOUT_S;
	while (dp_healthz(p, err, sizeof(err)) != 0) {
		struct timespec ts = { 0, 100000000 };

		if (util_now() >= end) {
			step_set(res, STEP_ERROR,
			    "%s started but is not healthy: %s", want, err);
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	/*
	 * And the control socket is the process started here: a successor
	 * renames its socket over the path only once its predecessor said
	 * DONE, and until then the path is the predecessor's, which stops
	 * answering as it hands over.  The check that follows must find the
	 * new one there, not the old one (the same version, moving to a
	 * user, would be moved again) or a socket nobody answers on ("not
	 * running", which would start yet another).
	 */
	end = util_now() + DP_READY_TIMEOUT_S;
	for (;;) {
		struct timespec ts = { 0, 50000000 };
		struct dp_state now;

		memset(&now, 0, sizeof(now));
		if (dp_status(ctl, &now) == 0 && now.pid == (int64_t)pid)
			break;
		if (util_now() >= end) {
			step_set(res, STEP_ERROR,
			    "%s started, but its control socket still names "
			    "%s",
			    want, now.version[0] ? now.version : "nothing");
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	return 0;
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
	struct dp_state ds;
	char ctl[1024];

	if (step_path(env, p->control, ctl, sizeof(ctl)) != 0 ||
	    dp_status(ctl, &ds) != 0)
		return -1;
	/* Mid-takeover, the successor is the one taking connections. */
	if (ds.successor[0] != '\0') {
		util_strlcpy(version, ds.successor, len);
		*draining = false;
	} else {
		util_strlcpy(version, ds.version, len);
		*draining = ds.draining;
	}
	return 0;
}
