/*
 * privsep: the keeper's privileged part (contract in privsep.h; the wire
 * and the policy in common/priv.h).
 */
#include "keeper/privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/exec.h"
#include "common/log.h"
#include "common/nladdr.h"
#include "common/nodeauth.h"
#include "common/priv.h"
#include "common/relkey.h"
#include "common/statesig.h"
#include "common/util.h"
#include "keeper/release.h"
#include "keeper/release_keys.h"
#include "keeper/selfup.h"
#include "keeper/trust.h"

#define PS_SPAWNED_MAX 8
#define PS_EXEC_TIMEOUT_MAX (3600 * 1000)

/* The parent's state; each channel's thread touches only its own. */
static struct {
	const struct keeper_conf *conf;
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	struct release_ctx rel;
	pid_t child;
	bool reexec; /* a self-update began: exec once the child is gone */
	/* Dataplanes started here (PRIV_DP_SIGNAL may signal only those). */
	struct {
		pid_t pid;
		int pidfd;
	} spawned[PS_SPAWNED_MAX];
	size_t nspawned;
} ps;

/* ---- policy ---- */

static const char *const ps_anchor_files[] = {
	"/etc/edge-keeper/keeper.conf",
	"/var/lib/edge-keeper/node.key",
	"/var/lib/edge-keeper/release.pub",
	"/var/lib/edge-keeper/release.retired",
	"/var/lib/edge-keeper/release.revoked",
	TRUST_STATE_PUB,
	NULL,
};

static const char *const ps_anchor_dirs[] = {
	"/var/lib/edge-keeper/dataplane",
	"/var/lib/edge-keeper/keeper",
	NULL,
};

bool
privsep_plain(const char *path, size_t len)
{
	size_t i;

	if (len == 0 || path[0] != '/' || len >= PRIV_PATH_MAX)
		return false;
	for (i = 0; i < len; i++) {
		const char *c = path + i;
		size_t left = len - i;

		if (c[0] != '/')
			continue;
		if ((left > 1 && c[1] == '/') ||
		    (left > 1 && c[1] == '.' && (left == 2 || c[2] == '/')) ||
		    (left > 2 && c[1] == '.' && c[2] == '.' &&
			(left == 3 || c[3] == '/')))
			return false;
	}
	return true;
}

/* Is rel (a path under the root) one that write_allow lets through? */
static bool
ps_allowed(const char *allow, const char *rel)
{
	const char *p = allow;

	if (allow[0] == '\0' || strncmp(rel, "/var/lib/edge-keeper/", 21) == 0)
		return true;
	for (;;) {
		size_t len = strcspn(p, ",");

		if (len > 0 && strncmp(rel, p, len) == 0 &&
		    (p[len - 1] == '/' || rel[len] == '\0'))
			return true;
		/* "/etc/app/" also names the directory /etc/app itself. */
		if (len > 1 && p[len - 1] == '/' && strlen(rel) == len - 1 &&
		    strncmp(rel, p, len - 1) == 0)
			return true;
		if (p[len] == '\0')
			return false;
		p += len + 1;
	}
}

bool
privsep_path_ok(const struct keeper_conf *c, const char *path, bool write,
    char *why, size_t len)
{
	size_t rl = strlen(c->root), i;
	const char *rel, *base;

	if (!privsep_plain(path, strlen(path))) {
		snprintf(why, len, "not an absolute, plain path");
		return false;
	}
	/* Outside the root nothing is ours; under it, compare the rest. */
	if (strncmp(path, c->root, rl) != 0 || (rl > 0 && path[rl] != '/')) {
		if (write && c->write_allow[0] != '\0') {
			snprintf(why, len, "outside the root");
			return false;
		}
		return true;
	}
	rel = path + rl;
	if (!write)
		return strcmp(rel, "/var/lib/edge-keeper/node.key") == 0
		    ? (snprintf(why, len, "the node key"), false)
		    : true;
	for (i = 0; ps_anchor_files[i] != NULL; i++)
		if (strcmp(rel, ps_anchor_files[i]) == 0)
			goto anchor;
	for (i = 0; ps_anchor_dirs[i] != NULL; i++) {
		size_t dl = strlen(ps_anchor_dirs[i]);

		if (strncmp(rel, ps_anchor_dirs[i], dl) == 0 &&
		    (rel[dl] == '/' || rel[dl] == '\0'))
			goto anchor;
	}
	/* The release sequence watermarks: /var/lib/edge-keeper/NAME.seq */
	base = strrchr(rel, '/');
	if ((size_t)(base - rel) == strlen("/var/lib/edge-keeper") &&
	    strncmp(rel, "/var/lib/edge-keeper/", 21) == 0 &&
	    strlen(base) > 4 && strcmp(base + strlen(base) - 4, ".seq") == 0)
		goto anchor;
	if (!ps_allowed(c->write_allow, rel)) {
		snprintf(why, len, "not under write_allow in keeper.conf");
		return false;
	}
	return true;
anchor:
	snprintf(why, len, "one of the keeper's trust anchors");
	return false;
}

/* The installed path of a release: component, version -> path. */
static bool
ps_release_path(
    const char *component, const char *version, char *out, size_t len)
{
	char host[256];

	if (!util_version_ok(version))
		return false;
	if (strcmp(component, "dataplane") == 0)
		snprintf(host, sizeof(host),
		    "/var/lib/edge-keeper/dataplane/%s/edge-dp", version);
	else if (strcmp(component, "keeper") == 0)
		snprintf(host, sizeof(host), "%s/%s/edge-keeper", SELFUP_DIR,
		    version);
	else
		return false;
	keeper_path(ps.conf, host, out, len);
	return true;
}

/* ---- answers ---- */

static void
ps_answer_init(struct priv_msg *a, int rc, int e, const char *err)
{
	priv_msg_init(a, PRIV_ANSWER);
	priv_put_u32(a, (uint32_t)rc);
	priv_put_u32(a, (uint32_t)(rc == 0 ? 0 : e));
	priv_put_str(a, err);
}

/* A refusal: logged, answered EPERM. */
static void
ps_refuse(struct priv_msg *a, uint32_t type, const char *what, const char *why)
{
	log_warnx("event=priv_refused type=%u what=\"%.200s\" why=\"%s\"",
	    (unsigned)type, what, why);
	ps_answer_init(a, -1, EPERM, why);
}

static void
ps_status(struct priv_msg *a, int rc, const char *err)
{
	ps_answer_init(a, rc, errno, rc == 0 ? "" : err);
}

/* ---- operations ---- */

static void
ps_file_op(struct priv_msg *m, struct priv_msg *a)
{
	char path[PRIV_PATH_MAX + 1], to[PRIV_PATH_MAX + 1] = "", why[128];
	const void *data = NULL;
	char *buf = NULL;
	struct stat st;
	uint32_t mode = 0, uid = 0, gid = 0;
	size_t len = 0;
	int64_t max = 0;
	bool change = m->type != PRIV_READ && m->type != PRIV_STAT;
	int rc;

	/* Every field first; then the policy; then the operation. */
	priv_get_str(m, path, sizeof(path));
	switch (m->type) {
	case PRIV_READ:
		max = priv_get_i64(m);
		if (max < 0 || max > (int64_t)(PRIV_MSG_MAX - 4096))
			m->bad = true;
		break;
	case PRIV_WRITE:
		mode = priv_get_u32(m);
		data = priv_get_bytes(m, PRIV_MSG_MAX, &len);
		if ((mode & ~07777u) != 0)
			m->bad = true;
		break;
	case PRIV_MKDIRS:
		mode = priv_get_u32(m);
		len = priv_get_u32(m);
		if ((mode & ~07777u) != 0 || len >= strlen(path))
			m->bad = true;
		break;
	case PRIV_RENAME:
		priv_get_str(m, to, sizeof(to));
		break;
	case PRIV_OWNMODE:
		uid = priv_get_u32(m);
		gid = priv_get_u32(m);
		mode = priv_get_u32(m);
		if (mode != (uint32_t)-1 && (mode & ~07777u) != 0)
			m->bad = true;
		break;
	case PRIV_SYSCTL:
		data = priv_get_bytes(m, 4096, &len);
		break;
	default:
		break;
	}
	if (m->bad)
		return;
	if (!privsep_path_ok(ps.conf, path, change, why, sizeof(why)) ||
	    (m->type == PRIV_RENAME &&
		!privsep_path_ok(ps.conf, to, true, why, sizeof(why)))) {
		ps_refuse(a, m->type, path, why);
		return;
	}
	switch (m->type) {
	case PRIV_READ:
		rc = afile_read(path, (size_t)max, &buf, &len);
		ps_status(a, rc, strerror(errno));
		if (rc == 0)
			priv_put_bytes(a, buf, len);
		free(buf);
		break;
	case PRIV_WRITE:
		ps_status(a, afile_write(path, data, len, (mode_t)mode), "");
		break;
	case PRIV_STAT:
		rc = lstat(path, &st);
		ps_status(a, rc, "");
		priv_put_u32(a, rc == 0 ? (uint32_t)st.st_mode : 0);
		priv_put_u32(a, rc == 0 ? (uint32_t)st.st_uid : 0);
		priv_put_u32(a, rc == 0 ? (uint32_t)st.st_gid : 0);
		priv_put_i64(a, rc == 0 ? (int64_t)st.st_size : 0);
		break;
	case PRIV_MKDIRS:
		ps_status(a, priv_direct_mkdirs(path, len, (mode_t)mode), "");
		break;
	case PRIV_UNLINK:
		ps_status(a, unlink(path), "");
		break;
	case PRIV_RENAME:
		ps_status(a, rename(path, to), "");
		break;
	case PRIV_OWNMODE:
		ps_status(a, priv_ownmode(path, uid, gid, mode), "");
		break;
	case PRIV_SYSCTL:
		if (strncmp(path, "/proc/sys/", 10) != 0)
			ps_refuse(a, m->type, path, "not a sysctl");
		else
			ps_status(a, priv_sysctl_write(path, data, len), "");
		break;
	default:
		m->bad = true;
	}
}

static const char *const ps_programs[] = {
	"apt-get",
	"dpkg-query",
	"systemctl",
	"bird", /* only to check a configuration: bird -p */
	NULL,
};

static const char *const ps_env[] = {
	"DEBIAN_FRONTEND=noninteractive",
	NULL,
};

static bool
ps_listed(const char *const *list, const char *s)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static void
ps_exec(struct priv_msg *m, struct priv_msg *a)
{
	char args[PRIV_ARGV_MAX + 1][PRIV_PATH_MAX];
	char envs[4][128];
	const char *argv[PRIV_ARGV_MAX + 1], *envp[5];
	struct exec_result *r;
	uint32_t n, ne, i, timeout;

	n = priv_get_u32(m);
	if (m->bad || n == 0 || n > PRIV_ARGV_MAX) {
		m->bad = true;
		return;
	}
	for (i = 0; i < n; i++) {
		priv_get_str(m, args[i], sizeof(args[i]));
		argv[i] = args[i];
	}
	argv[n] = NULL;
	ne = priv_get_u32(m);
	if (m->bad || ne > 4) {
		m->bad = true;
		return;
	}
	for (i = 0; i < ne; i++) {
		priv_get_str(m, envs[i], sizeof(envs[i]));
		envp[i] = envs[i];
	}
	envp[ne] = NULL;
	timeout = priv_get_u32(m);
	if (m->bad || timeout == 0 || timeout > PS_EXEC_TIMEOUT_MAX) {
		m->bad = true;
		return;
	}
	if (!ps_listed(ps_programs, argv[0]) ||
	    (strcmp(argv[0], "bird") == 0 &&
		(n < 2 || strcmp(argv[1], "-p") != 0))) {
		ps_refuse(a, m->type, argv[0], "not a program the keeper runs");
		return;
	}
	for (i = 0; i < ne; i++)
		if (!ps_listed(ps_env, envp[i])) {
			ps_refuse(a, m->type, envp[i],
			    "not an environment the keeper sets");
			return;
		}
	if ((r = malloc(sizeof(*r))) == NULL) {
		ps_answer_init(a, -1, ENOMEM, "out of memory");
		return;
	}
	ps_answer_init(
	    a, exec_run(argv, ne ? envp : NULL, (int)timeout, r), EIO, r->out);
	priv_put_u32(a, (uint32_t)r->status);
	priv_put_u32(a, r->timed_out);
	priv_put_bytes(a, r->out, r->out_len);
	free(r);
}

static void
ps_addr(struct priv_msg *m, struct priv_msg *a)
{
	char err[256] = "";
	struct nladdr ad;
	const void *p;
	uint32_t add, ifindex;
	size_t len;
	int rc;

	memset(&ad, 0, sizeof(ad));
	add = priv_get_u32(m);
	ifindex = priv_get_u32(m);
	ad.family = (int)priv_get_u32(m);
	p = priv_get_bytes(m, sizeof(ad.addr), &len);
	ad.prefixlen = priv_get_u32(m);
	if (m->bad || len != sizeof(ad.addr) || ifindex == 0 ||
	    (ad.family != AF_INET && ad.family != AF_INET6) ||
	    ad.prefixlen > (ad.family == AF_INET ? 32u : 128u)) {
		m->bad = true;
		return;
	}
	memcpy(ad.addr, p, len);
	rc = add ? nladdr_add(ifindex, &ad, err, sizeof(err))
		 : nladdr_del(ifindex, &ad, err, sizeof(err));
	ps_answer_init(a, rc, EIO, err);
}

/*
 * A Unix socket whose peer is BIRD or an edge-dp release: the program's
 * name, also when its file was replaced since it started.  1 when it is,
 * 0 when it is another program, -1 when the peer is gone (it is exiting,
 * as an edge-dp handing over does: the same to the caller as a socket
 * nobody listens on).
 */
static int
ps_peer_ok(int fd)
{
	struct ucred uc;
	socklen_t sl = sizeof(uc);
	char link[64], exe[PRIV_PATH_MAX];
	const char *base;
	ssize_t n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &sl) != 0)
		return 0;
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)uc.pid);
	if ((n = readlink(link, exe, sizeof(exe) - 1)) <= 0)
		return errno == ENOENT || errno == ESRCH ? -1 : 0;
	exe[n] = '\0';
	if (n > 10 && strcmp(exe + n - 10, " (deleted)") == 0)
		exe[n - 10] = '\0';
	base = strrchr(exe, '/');
	base = base != NULL ? base + 1 : exe;
	return strcmp(base, "bird") == 0 || strcmp(base, "edge-dp") == 0;
}

static void
ps_connect(struct priv_msg *m, struct priv_msg *a)
{
	char path[PRIV_PATH_MAX + 1], why[128];
	struct timeval tv = { 2, 0 };
	int fd;

	priv_get_str(m, path, sizeof(path));
	if (m->bad)
		return;
	if (!privsep_path_ok(ps.conf, path, false, why, sizeof(why))) {
		ps_refuse(a, m->type, path, why);
		return;
	}
	if ((fd = util_unix_connect(path)) < 0) {
		ps_status(a, -1, "");
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	switch (ps_peer_ok(fd)) {
	case 1:
		break;
	case -1:
		close(fd);
		errno = ECONNREFUSED;
		ps_status(a, -1, "");
		return;
	default:
		close(fd);
		ps_refuse(a, m->type, path, "not BIRD's or edge-dp's socket");
		return;
	}
	ps_answer_init(a, 0, 0, "");
	a->fd = fd;
}

static void
ps_sign(struct priv_msg *m, struct priv_msg *a)
{
	char prefix[CP_ID_MAX + 32];
	unsigned char sig[crypto_sign_BYTES];
	const char *msg;
	size_t len;
	int n;

	msg = priv_get_bytes(m, PRIV_SIGN_MAX, &len);
	if (m->bad)
		return;
	n = snprintf(prefix, sizeof(prefix), "edgefleet-session-v1\n%s\n",
	    ps.conf->node_id);
	if (n < 0 || len < (size_t)n || memcmp(msg, prefix, (size_t)n) != 0 ||
	    memchr(msg, '\0', len) != NULL) {
		ps_refuse(a, m->type, "signature", "not this node's handshake");
		return;
	}
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg, len, ps.sk);
	ps_answer_init(a, 0, 0, "");
	priv_put_bytes(a, sig, sizeof(sig));
}

static void
ps_release(struct priv_msg *m, struct priv_msg *a)
{
	char comp[32], ver[80], path[PRIV_PATH_MAX + 1], want[KEEPER_PATH_MAX];
	char err[512] = "", *sig = NULL;
	const void *s = NULL;
	uint32_t rollback;
	size_t len = 0;
	int rc;

	priv_get_str(m, comp, sizeof(comp));
	priv_get_str(m, ver, sizeof(ver));
	priv_get_str(m, path, sizeof(path));
	rollback = priv_get_u32(m);
	if (m->type == PRIV_RELEASE_INSTALL) {
		s = priv_get_bytes(m, 4096, &len);
		if (m->fd < 0 || (s != NULL && memchr(s, '\0', len) != NULL))
			m->bad = true;
	}
	if (m->bad)
		return;
	if (!ps_release_path(comp, ver, want, sizeof(want)) ||
	    strcmp(path, want) != 0) {
		ps_refuse(a, m->type, path, "not where that release lives");
		return;
	}
	if (m->type == PRIV_RELEASE_VERIFY) {
		rc = release_verify(
		    &ps.rel, comp, ver, path, rollback != 0, err, sizeof(err));
		ps_answer_init(a, rc, EPERM, err);
		return;
	}
	if ((sig = malloc(len + 1)) == NULL) {
		ps_answer_init(a, -1, ENOMEM, "out of memory");
		return;
	}
	memcpy(sig, s, len);
	sig[len] = '\0';
	rc = release_install(&ps.rel, comp, ver, path, rollback != 0, sig,
	    m->fd, err, sizeof(err));
	free(sig);
	ps_answer_init(a, rc, EPERM, err);
}

/*
 * A release key rotation: only what verifies under the pinned key moves
 * the pin (keeper/release_keys.h); the texts are parsed here, not in the
 * unprivileged part's JSON.
 */
static void
ps_release_key(struct priv_msg *m, struct priv_msg *a)
{
	char pub[RELKEY_PUB_TEXT_MAX + 1], stmt[MSIG_SIG_MAX + 1],
	    err[512] = "";
	bool installed = false;
	int rc;

	priv_get_str(m, pub, sizeof(pub));
	priv_get_str(m, stmt, sizeof(stmt));
	if (m->bad)
		return;
	rc = release_key_rotate(
	    &ps.rel, pub, stmt, &installed, err, sizeof(err));
	ps_answer_init(a, rc, EPERM, err);
	priv_put_u32(a, installed);
}

/* A revocation list: only one the pinned key signed, newer than ours. */
static void
ps_release_revoked(struct priv_msg *m, struct priv_msg *a)
{
	char *text, sig[MSIG_SIG_MAX + 1], err[512] = "";
	bool installed = false;
	int rc;

	if ((text = malloc(RELKEY_REVOKED_TEXT_MAX + 1)) == NULL) {
		m->bad = true;
		return;
	}
	priv_get_str(m, text, RELKEY_REVOKED_TEXT_MAX + 1);
	priv_get_str(m, sig, sizeof(sig));
	if (!m->bad) {
		rc = release_revoked_install(
		    &ps.rel, text, sig, &installed, err, sizeof(err));
		ps_answer_init(a, rc, EPERM, err);
		priv_put_u32(a, installed);
	}
	free(text);
}

static const char *const ps_dp_options[] = {
	"--listen",
	"--health-listen",
	"--control",
	"--workers",
	"--root",
	"--drain-timeout",
	"--user",
	NULL,
};

static void
ps_dp_start(struct priv_msg *m, struct priv_msg *a)
{
	char args[PRIV_ARGV_MAX + 1][PRIV_PATH_MAX], log[PRIV_PATH_MAX];
	char want[KEEPER_PATH_MAX], ver[80], err[512] = "";
	const char *argv[PRIV_ARGV_MAX + 1], *v, *slash;
	uint32_t n, i;
	pid_t pid;
	int rfd;

	n = priv_get_u32(m);
	if (m->bad || n == 0 || n > PRIV_ARGV_MAX - 2) {
		m->bad = true;
		return;
	}
	for (i = 0; i < n; i++) {
		priv_get_str(m, args[i], sizeof(args[i]));
		argv[i] = args[i];
	}
	argv[n] = NULL;
	priv_get_str(m, log, sizeof(log));
	if (m->bad)
		return;
	/* .../dataplane/VERSION/edge-dp: the version from the path. */
	keeper_path(
	    ps.conf, "/var/lib/edge-keeper/dataplane/", want, sizeof(want));
	v = argv[0] + strlen(want);
	if (strncmp(argv[0], want, strlen(want)) != 0 ||
	    (slash = strchr(v, '/')) == NULL ||
	    (size_t)(slash - v) >= sizeof(ver)) {
		ps_refuse(a, m->type, argv[0], "not an installed dataplane");
		return;
	}
	memcpy(ver, v, (size_t)(slash - v));
	ver[slash - v] = '\0';
	if (!ps_release_path("dataplane", ver, want, sizeof(want)) ||
	    strcmp(argv[0], want) != 0) {
		ps_refuse(a, m->type, argv[0], "not an installed dataplane");
		return;
	}
	for (i = 1; i < n; i++) {
		if (strcmp(argv[i], "--takeover") == 0)
			continue;
		if (!ps_listed(ps_dp_options, argv[i]) || i + 1 >= n) {
			ps_refuse(a, m->type, argv[i], "not an edge-dp option");
			return;
		}
		i++;
	}
	keeper_path(ps.conf, "/var/lib/edge-keeper/dataplane/edge-dp.log", want,
	    sizeof(want));
	if (strcmp(log, want) != 0) {
		ps_refuse(a, m->type, log, "not the dataplane's log");
		return;
	}
	/* What runs as root is what the release key signed, right now. */
	if (release_verify(&ps.rel, "dataplane", ver, argv[0], true, err,
		sizeof(err)) != 0) {
		ps_refuse(a, m->type, argv[0], err);
		return;
	}
	if (priv_direct_spawn(argv, log, &pid, &rfd, err, sizeof(err)) != 0) {
		ps_answer_init(a, -1, EIO, err);
		return;
	}
	if (ps.nspawned == PS_SPAWNED_MAX) {
		if (ps.spawned[0].pidfd >= 0)
			close(ps.spawned[0].pidfd);
		memmove(&ps.spawned[0], &ps.spawned[1],
		    sizeof(ps.spawned[0]) * (PS_SPAWNED_MAX - 1));
		ps.nspawned--;
	}
	ps.spawned[ps.nspawned].pid = pid;
	ps.spawned[ps.nspawned].pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ps.nspawned++;
	ps_answer_init(a, 0, 0, "");
	priv_put_i64(a, pid);
	a->fd = rfd;
}

static void
ps_dp_signal(struct priv_msg *m, struct priv_msg *a)
{
	int64_t pid = priv_get_i64(m);
	int sig = (int)priv_get_u32(m), rc;
	size_t i;

	if (m->bad)
		return;
	if (sig != SIGSTOP && sig != SIGCONT && sig != SIGKILL &&
	    sig != SIGTERM) {
		ps_refuse(
		    a, m->type, "signal", "not a signal the keeper sends");
		return;
	}
	for (i = 0; i < ps.nspawned; i++)
		if (ps.spawned[i].pid == pid)
			break;
	if (i == ps.nspawned) {
		ps_refuse(
		    a, m->type, "pid", "not a process the keeper started");
		return;
	}
	rc = ps.spawned[i].pidfd >= 0 ? (int)syscall(SYS_pidfd_send_signal,
					    ps.spawned[i].pidfd, sig, NULL, 0)
				      : kill((pid_t)pid, sig);
	ps_status(a, rc, "");
}

static void
ps_self(struct priv_msg *m, struct priv_msg *a)
{
	char ver[80], path[KEEPER_PATH_MAX], err[512] = "";
	int rc;

	priv_get_str(m, ver, sizeof(ver));
	if (m->bad)
		return;
	switch (m->type) {
	case PRIV_SELF_COMMIT:
		selfup_commit(ps.conf);
		ps_answer_init(a, 0, 0, "");
		return;
	case PRIV_SELF_FAILED:
		ps_answer_init(a, 0, 0, "");
		priv_put_u32(
		    a, util_version_ok(ver) && selfup_failed(ps.conf, ver));
		return;
	default:
		break;
	}
	if (!ps_release_path("keeper", ver, path, sizeof(path))) {
		ps_refuse(a, m->type, ver, "not a release version");
		return;
	}
	rc = release_verify(
	    &ps.rel, "keeper", ver, path, true, err, sizeof(err));
	if (rc == 0)
		rc = selfup_begin(ps.conf, ver, err, sizeof(err));
	if (rc == 0)
		ps.reexec = true;
	ps_answer_init(a, rc, EPERM, err);
}

/*
 * The profile mark (keeper/release.h): the child says which profile
 * version it applies; the mark only ever goes up, so a child that lies
 * can make the node refuse older profiles, never accept one.
 */
static void
ps_profile_mark(struct priv_msg *m, struct priv_msg *a)
{
	char err[512] = "";
	int64_t v = priv_get_i64(m);
	int rc;

	if (m->bad || v < 0) {
		m->bad = true;
		return;
	}
	rc = release_profile_mark(ps.conf, v, err, sizeof(err));
	ps_answer_init(a, rc, EIO, err);
}

/*
 * A desired-state document, to verify here against this part's own
 * reading of state.pub before the pins it announces reach keeper.conf
 * (keeper/trust.h).  A refusal is the document's fault, not the child's:
 * answered, not logged as a refused request (the child says why).
 */
static void
ps_state_trust(struct priv_msg *m, struct priv_msg *a)
{
	char sig[STATESIG_HDR_MAX], key[STATESIG_PUB_TEXT_MAX];
	char pins[CP_PIN_MAX], err[512] = "";
	const char *body;
	uint32_t write;
	size_t len = 0;

	body = priv_get_bytes(m, TRUST_DOC_MAX, &len);
	priv_get_str(m, sig, sizeof(sig));
	priv_get_str(m, key, sizeof(key));
	write = priv_get_u32(m);
	if (m->bad || write > 1) {
		m->bad = true;
		return;
	}
	if (trust_accept_direct(ps.conf, body, len, sig, key, write != 0, pins,
		sizeof(pins), err, sizeof(err)) != 0) {
		ps_answer_init(a, -1, EPERM, err);
		return;
	}
	ps_answer_init(a, 0, 0, "");
	priv_put_str(a, pins);
}

/* One request; false when it broke the wire format. */
static bool
ps_handle(int chan, struct priv_msg *m, struct priv_msg *a)
{
	static const uint32_t gate_ok[] = { PRIV_READ, PRIV_WRITE, PRIV_ADDR };
	size_t i;

	priv_msg_init(a, 0);
	if (chan == PRIV_CHAN_GATE) {
		for (i = 0; i < sizeof(gate_ok) / sizeof(gate_ok[0]); i++)
			if (m->type == gate_ok[i])
				break;
		if (i == sizeof(gate_ok) / sizeof(gate_ok[0]))
			return false;
	}
	switch (m->type) {
	case PRIV_READ:
	case PRIV_WRITE:
	case PRIV_STAT:
	case PRIV_MKDIRS:
	case PRIV_UNLINK:
	case PRIV_RENAME:
	case PRIV_OWNMODE:
	case PRIV_SYSCTL:
		ps_file_op(m, a);
		break;
	case PRIV_EXEC:
		ps_exec(m, a);
		break;
	case PRIV_ADDR:
		ps_addr(m, a);
		break;
	case PRIV_CONNECT:
		ps_connect(m, a);
		break;
	case PRIV_SIGN:
		ps_sign(m, a);
		break;
	case PRIV_RELEASE_INSTALL:
	case PRIV_RELEASE_VERIFY:
		ps_release(m, a);
		break;
	case PRIV_RELEASE_KEY:
		ps_release_key(m, a);
		break;
	case PRIV_RELEASE_REVOKED:
		ps_release_revoked(m, a);
		break;
	case PRIV_DP_START:
		ps_dp_start(m, a);
		break;
	case PRIV_DP_SIGNAL:
		ps_dp_signal(m, a);
		break;
	case PRIV_SELF_BEGIN:
	case PRIV_SELF_COMMIT:
	case PRIV_SELF_FAILED:
		ps_self(m, a);
		break;
	case PRIV_PROFILE_MARK:
		ps_profile_mark(m, a);
		break;
	case PRIV_STATE_TRUST:
		ps_state_trust(m, a);
		break;
	default:
		m->bad = true;
	}
	/* Every field read, none past the end, and an answer made. */
	return !m->bad && m->pos == m->len && a->type == PRIV_ANSWER;
}

/*
 * Serve one request: 0, or 1 when the child closed the channel or it
 * broke: a request that breaks the format ends the child, for whatever
 * sent it is not the keeper.
 */
static int
ps_serve_one(int chan, int sock)
{
	struct priv_msg m, a;
	int rc;

	priv_msg_init(&a, 0);
	if ((rc = priv_recv(sock, &m)) == 1)
		return 1;
	if (rc != 0 || !ps_handle(chan, &m, &a)) {
		log_warnx("event=priv_protocol_error channel=%d type=%u "
			  "msg=\"%s\"",
		    chan, (unsigned)m.type,
		    rc != 0 ? strerror(errno) : "malformed request");
		priv_msg_clear(&m);
		priv_msg_clear(&a);
		kill(ps.child, SIGKILL);
		return 1;
	}
	rc = priv_send(sock, &a);
	priv_msg_clear(&m);
	priv_msg_clear(&a);
	return rc == 0 ? 0 : 1;
}

struct ps_thread_arg {
	int sock;
};

static void *
ps_gate_thread(void *arg)
{
	while (ps_serve_one(
		   PRIV_CHAN_GATE, ((struct ps_thread_arg *)arg)->sock) == 0)
		;
	return NULL;
}

/* The parent, from the fork on.  Never returns. */
static void
ps_parent(int sock_main, int sock_gate, const sigset_t *old)
{
	struct ps_thread_arg ga = { sock_gate };
	pthread_t gt;
	sigset_t set;
	int status = 0, sfd, code;

	/* Signals to the parent reach the child; the rest is its thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (pthread_create(&gt, NULL, ps_gate_thread, &ga) != 0) {
		log_warnx("event=priv_failed msg=\"cannot start a thread\"");
		kill(ps.child, SIGKILL);
		waitpid(ps.child, &status, 0);
		_exit(1);
	}
	for (;;) {
		struct pollfd pf[2] = { { sock_main, POLLIN, 0 },
			{ sfd, POLLIN, 0 } };
		struct signalfd_siginfo si;

		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (sfd >= 0 && (pf[1].revents & POLLIN) != 0 &&
		    read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			kill(ps.child, (int)si.ssi_signo);
		if (pf[0].revents != 0 &&
		    ps_serve_one(PRIV_CHAN_MAIN, sock_main) != 0)
			break;
	}
	/*
	 * The child closed its channel: it is exiting.  Signals meanwhile
	 * still go to it.
	 */
	while (waitpid(ps.child, &status, WNOHANG) == 0) {
		struct pollfd pf = { sfd, POLLIN, 0 };
		struct signalfd_siginfo si;

		if (poll(&pf, 1, 100) == 1 &&
		    read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			kill(ps.child, (int)si.ssi_signo);
	}
	close(sock_main);
	shutdown(sock_gate, SHUT_RDWR);
	pthread_join(gt, NULL);
	close(sock_gate);
	sodium_memzero(ps.sk, sizeof(ps.sk));
	if (ps.reexec) {
		log_info("event=keeper_reexec");
		close(sfd);
		sigprocmask(SIG_SETMASK, old, NULL);
		selfup_exec(ps.conf);
		_exit(1); /* the watchdog goes back */
	}
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	if (WIFSIGNALED(status) &&
	    (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGINT))
		code = 0;
	_exit(code);
}

/* The child: the user's ids, for good.  0, or -1 with err. */
static int
ps_drop(const struct passwd *pw, char *err, size_t errlen)
{
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "cannot become %s: %s", pw->pw_name,
		    strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "could become root again");
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
privsep_start(const struct keeper_conf *c,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES], char *err,
    size_t errlen)
{
	struct passwd *pw;
	sigset_t set, old;
	int sm[2], sg[2];
	pid_t parent = getpid();

	if (strcmp(c->user, "root") == 0) {
		log_warnx("event=privsep_off msg=\"user=root in keeper.conf: "
			  "one process, all of it root\"");
		return 0;
	}
	if ((pw = getpwnam(c->user)) == NULL &&
	    strcmp(c->user, KEEPER_USER) == 0) {
		log_warnx("event=privsep_user msg=\"no user %s: running the "
			  "unprivileged part as nobody\"",
		    c->user);
		pw = getpwnam("nobody");
	}
	if (pw == NULL) {
		snprintf(
		    err, errlen, "no user %s (keeper.conf user=)", c->user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s is root; say user=root for that",
		    c->user);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sm) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sg) != 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	memset(&ps, 0, sizeof(ps));
	ps.conf = c;
	ps.rel.conf = c;
	memcpy(ps.sk, sk, sizeof(ps.sk));
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	if ((ps.child = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	if (ps.child > 0) {
		close(sm[1]);
		close(sg[1]);
		log_info("event=privsep child=%d user=%s", (int)ps.child,
		    pw->pw_name);
		ps_parent(sm[0], sg[0], &old);
	}
	close(sm[0]);
	close(sg[0]);
	sodium_memzero(ps.sk, sizeof(ps.sk));
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (ps_drop(pw, err, errlen) != 0) {
		log_warnx("event=privsep_failed msg=\"%s\"", err);
		_exit(1);
	}
	/* After the uid changed, which clears it: gone with the parent. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	priv_client_set(PRIV_CHAN_MAIN, sm[1]);
	priv_client_set(PRIV_CHAN_GATE, sg[1]);
	return 0;
}
