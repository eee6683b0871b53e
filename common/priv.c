/*
 * priv: the wire and the unprivileged side (contract in priv.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/log.h"
#include "common/priv.h"
#include "common/util.h"

static struct {
	int sock;
	pthread_mutex_t lock;
} priv_chan[PRIV_CHANS] = {
	{ -1, PTHREAD_MUTEX_INITIALIZER },
	{ -1, PTHREAD_MUTEX_INITIALIZER },
};
static _Thread_local int priv_this_chan = PRIV_CHAN_MAIN;

#define priv_sock (priv_chan[priv_this_chan].sock)

/* ---- messages ---- */

void
priv_msg_init(struct priv_msg *m, uint32_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->fd = -1;
}

void
priv_msg_clear(struct priv_msg *m)
{
	free(m->buf);
	if (m->fd >= 0)
		close(m->fd);
	priv_msg_init(m, 0);
}

static void
priv_put(struct priv_msg *m, const void *p, size_t len)
{
	size_t cap;
	unsigned char *nb;

	if (m->bad || len > PRIV_MSG_MAX - m->len) {
		m->bad = true;
		return;
	}
	if (m->len + len > m->cap) {
		cap = m->cap ? m->cap : 256;
		while (cap < m->len + len)
			cap *= 2;
		if ((nb = realloc(m->buf, cap)) == NULL) {
			m->bad = true;
			return;
		}
		m->buf = nb;
		m->cap = cap;
	}
	if (len > 0)
		memcpy(m->buf + m->len, p, len);
	m->len += len;
}

void
priv_put_u32(struct priv_msg *m, uint32_t v)
{
	priv_put(m, &v, sizeof(v));
}

void
priv_put_i64(struct priv_msg *m, int64_t v)
{
	priv_put(m, &v, sizeof(v));
}

void
priv_put_bytes(struct priv_msg *m, const void *p, size_t len)
{
	if (len > PRIV_MSG_MAX) {
		m->bad = true;
		return;
	}
	priv_put_u32(m, (uint32_t)len);
	priv_put(m, p, len);
}

void
priv_put_str(struct priv_msg *m, const char *s)
{
	priv_put_bytes(m, s, strlen(s));
}

static const void *
priv_get(struct priv_msg *m, size_t len)
{
	const void *p;

	if (m->bad || len > m->len - m->pos) {
		m->bad = true;
		return NULL;
	}
	p = m->buf + m->pos;
	m->pos += len;
	return p;
}

uint32_t
priv_get_u32(struct priv_msg *m)
{
	const void *p = priv_get(m, sizeof(uint32_t));
	uint32_t v = 0;

	if (p != NULL)
		memcpy(&v, p, sizeof(v));
	return v;
}

int64_t
priv_get_i64(struct priv_msg *m)
{
	const void *p = priv_get(m, sizeof(int64_t));
	int64_t v = 0;

	if (p != NULL)
		memcpy(&v, p, sizeof(v));
	return v;
}

const void *
priv_get_bytes(struct priv_msg *m, size_t max, size_t *len)
{
	uint32_t n = priv_get_u32(m);
	const void *p;

	*len = 0;
	if (m->bad || n > max) {
		m->bad = true;
		return NULL;
	}
	if ((p = priv_get(m, n)) != NULL)
		*len = n;
	return p;
}

void
priv_get_str(struct priv_msg *m, char *out, size_t len)
{
	size_t n;
	const char *p = priv_get_bytes(m, len - 1, &n);

	out[0] = '\0';
	if (p == NULL)
		return;
	if (memchr(p, '\0', n) != NULL) {
		m->bad = true;
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

/* ---- the socket ---- */

struct priv_hdr {
	uint32_t type;
	uint32_t len;
};

static int
priv_write_all(int sock, const void *p, size_t len)
{
	const char *c = p;
	ssize_t n;

	while (len > 0) {
		if ((n = send(sock, c, len, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

int
priv_send(int sock, const struct priv_msg *m)
{
	struct priv_hdr h = { m->type, (uint32_t)m->len };
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr mh;
	ssize_t n;

	if (m->bad || m->len > PRIV_MSG_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (m->fd >= 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &m->fd, sizeof(int));
	}
	/* The header goes in one piece: a stream socket takes 8 bytes. */
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(h)) {
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	return priv_write_all(sock, m->buf, m->len);
}

int
priv_recv(int sock, struct priv_msg *m)
{
	struct priv_hdr h;
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr mh;
	struct cmsghdr *c;
	size_t got = 0;
	ssize_t n;

	priv_msg_init(m, 0);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 1;
	if (n < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)) && m->fd < 0)
			memcpy(&m->fd, CMSG_DATA(c), sizeof(int));
		else if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_RIGHTS) {
			/* More than one descriptor: close them all. */
			size_t k,
			    nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (k = 0; k < nfd; k++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + k * sizeof(int),
				    sizeof(int));
				close(fd);
			}
			mh.msg_flags |= MSG_CTRUNC;
		}
	}
	if (n != (ssize_t)sizeof(h) || (mh.msg_flags & MSG_CTRUNC) != 0 ||
	    h.type == 0 || h.type >= PRIV_TYPE_MAX || h.len > PRIV_MSG_MAX) {
		priv_msg_clear(m);
		errno = EPROTO;
		return -1;
	}
	m->type = h.type;
	if (h.len > 0 && (m->buf = malloc(h.len)) == NULL) {
		priv_msg_clear(m);
		return -1;
	}
	m->cap = m->len = h.len;
	while (got < h.len) {
		n = recv(sock, m->buf + got, h.len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			priv_msg_clear(m);
			errno = n == 0 ? EPROTO : errno;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

/* ---- the child ---- */

void
priv_client_set(int chan, int sock)
{
	priv_chan[chan].sock = sock;
}

void
priv_client_thread(int chan)
{
	priv_this_chan = chan;
}

int
priv_client_fd(void)
{
	return priv_sock;
}

int
priv_call(struct priv_msg *req, struct priv_msg *ans, char *err, size_t errlen)
{
	char why[512];
	int rc, e;

	priv_msg_init(ans, 0);
	pthread_mutex_lock(&priv_chan[priv_this_chan].lock);
	rc = priv_send(priv_sock, req);
	if (rc == 0)
		rc = priv_recv(priv_sock, ans);
	pthread_mutex_unlock(&priv_chan[priv_this_chan].lock);
	if (rc != 0 || ans->type != PRIV_ANSWER) {
		/* The parent is gone or broke the format: nothing works. */
		log_warnx("event=priv_lost msg=\"%s\"",
		    rc < 0 ? strerror(errno) : "parent closed the socket");
		_exit(1);
	}
	rc = (int)priv_get_u32(ans);
	e = (int)priv_get_u32(ans);
	priv_get_str(ans, why, sizeof(why));
	if (ans->bad) {
		log_warnx("event=priv_lost msg=\"malformed answer\"");
		_exit(1);
	}
	if (err != NULL && errlen > 0)
		util_strlcpy(err, why, errlen);
	if (rc != 0) {
		errno = e != 0 ? e : EIO;
		return -1;
	}
	return 0;
}

/* One call that answers only rc and errno. */
static int
priv_simple(struct priv_msg *req)
{
	struct priv_msg ans;
	int rc, e;

	rc = priv_call(req, &ans, NULL, 0);
	e = errno;
	priv_msg_clear(&ans);
	priv_msg_clear(req);
	errno = e;
	return rc;
}

int
priv_remote_read(const char *path, size_t max, char **out, size_t *len)
{
	struct priv_msg req, ans;
	const void *p;
	size_t n;
	int rc, e;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	priv_msg_init(&req, PRIV_READ);
	priv_put_str(&req, path);
	priv_put_i64(&req, (int64_t)max);
	rc = priv_call(&req, &ans, NULL, 0);
	e = errno;
	priv_msg_clear(&req);
	if (rc == 0) {
		p = priv_get_bytes(&ans, max, &n);
		if (p == NULL || (*out = malloc(n + 1)) == NULL) {
			rc = -1;
			e = p == NULL ? EPROTO : ENOMEM;
		} else {
			memcpy(*out, p, n);
			(*out)[n] = '\0';
			if (len != NULL)
				*len = n;
		}
	}
	priv_msg_clear(&ans);
	errno = e;
	return rc;
}

int
priv_remote_write(const char *path, const void *data, size_t len, mode_t mode)
{
	struct priv_msg req;

	priv_msg_init(&req, PRIV_WRITE);
	priv_put_str(&req, path);
	priv_put_u32(&req, (uint32_t)mode);
	priv_put_bytes(&req, data, len);
	return priv_simple(&req);
}

int
priv_remote_exec(const char *const *argv, const char *const *env_extra,
    int timeout_ms, struct exec_result *res)
{
	struct priv_msg req, ans;
	const void *p;
	uint32_t n = 0;
	size_t len;
	int rc;

	memset(res, 0, sizeof(*res));
	res->status = -1;
	priv_msg_init(&req, PRIV_EXEC);
	while (argv[n] != NULL)
		n++;
	priv_put_u32(&req, n);
	for (n = 0; argv[n] != NULL; n++)
		priv_put_str(&req, argv[n]);
	for (n = 0; env_extra != NULL && env_extra[n] != NULL; n++)
		;
	priv_put_u32(&req, n);
	for (n = 0; env_extra != NULL && env_extra[n] != NULL; n++)
		priv_put_str(&req, env_extra[n]);
	priv_put_u32(&req, (uint32_t)timeout_ms);
	rc = priv_call(&req, &ans, res->out, sizeof(res->out));
	priv_msg_clear(&req);
	res->status = (int)priv_get_u32(&ans);
	res->timed_out = priv_get_u32(&ans) != 0;
	if ((p = priv_get_bytes(&ans, sizeof(res->out) - 1, &len)) != NULL) {
		memcpy(res->out, p, len);
		res->out[len] = '\0';
		res->out_len = len;
	}
	res->out_len = strlen(res->out);
	priv_msg_clear(&ans);
	return rc;
}

int
priv_remote_addr(bool add, unsigned ifindex, const struct nladdr *a, char *err,
    size_t errlen)
{
	struct priv_msg req, ans;
	int rc, e;

	priv_msg_init(&req, PRIV_ADDR);
	priv_put_u32(&req, add);
	priv_put_u32(&req, ifindex);
	priv_put_u32(&req, (uint32_t)a->family);
	priv_put_bytes(&req, a->addr, sizeof(a->addr));
	priv_put_u32(&req, a->prefixlen);
	rc = priv_call(&req, &ans, err, errlen);
	e = errno;
	priv_msg_clear(&req);
	priv_msg_clear(&ans);
	errno = e;
	return rc;
}

/* ---- primitives ---- */

int
priv_lstat(const char *path, struct priv_stat *st)
{
	struct priv_msg req, ans;
	struct stat s;
	int rc, e;

	if (priv_sock < 0) {
		if (lstat(path, &s) != 0)
			return -1;
		st->mode = s.st_mode;
		st->uid = s.st_uid;
		st->gid = s.st_gid;
		st->size = (int64_t)s.st_size;
		return 0;
	}
	priv_msg_init(&req, PRIV_STAT);
	priv_put_str(&req, path);
	rc = priv_call(&req, &ans, NULL, 0);
	e = errno;
	priv_msg_clear(&req);
	st->mode = (mode_t)priv_get_u32(&ans);
	st->uid = (uid_t)priv_get_u32(&ans);
	st->gid = (gid_t)priv_get_u32(&ans);
	st->size = priv_get_i64(&ans);
	priv_msg_clear(&ans);
	errno = e;
	return rc;
}

int
priv_direct_mkdirs(const char *path, size_t rootlen, mode_t mode)
{
	char buf[PRIV_PATH_MAX];
	struct stat st;
	size_t i;

	if (util_strlcpy(buf, path, sizeof(buf)) >= sizeof(buf) ||
	    rootlen >= strlen(buf)) {
		errno = EINVAL;
		return -1;
	}
	for (i = rootlen + 1;; i++) {
		char c = buf[i];

		if (c != '/' && c != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) != 0) {
			if (errno != EEXIST)
				return -1;
			if (stat(buf, &st) != 0)
				return -1;
			if (!S_ISDIR(st.st_mode)) {
				errno = ENOTDIR;
				return -1;
			}
		}
		buf[i] = c;
		if (c == '\0')
			return 0;
	}
}

int
priv_mkdirs(const char *path, size_t rootlen, mode_t mode)
{
	struct priv_msg req;

	if (priv_sock < 0)
		return priv_direct_mkdirs(path, rootlen, mode);
	priv_msg_init(&req, PRIV_MKDIRS);
	priv_put_str(&req, path);
	priv_put_u32(&req, (uint32_t)mode);
	priv_put_u32(&req, (uint32_t)rootlen);
	return priv_simple(&req);
}

int
priv_unlink(const char *path)
{
	struct priv_msg req;

	if (priv_sock < 0)
		return unlink(path);
	priv_msg_init(&req, PRIV_UNLINK);
	priv_put_str(&req, path);
	return priv_simple(&req);
}

int
priv_rename(const char *from, const char *to)
{
	struct priv_msg req;

	if (priv_sock < 0)
		return rename(from, to);
	priv_msg_init(&req, PRIV_RENAME);
	priv_put_str(&req, from);
	priv_put_str(&req, to);
	return priv_simple(&req);
}

int
priv_ownmode(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	struct priv_msg req;
	struct stat st;
	int fd, rc = -1, e;

	if (priv_sock >= 0) {
		priv_msg_init(&req, PRIV_OWNMODE);
		priv_put_str(&req, path);
		priv_put_u32(&req, (uint32_t)uid);
		priv_put_u32(&req, (uint32_t)gid);
		priv_put_u32(&req, (uint32_t)mode);
		return priv_simple(&req);
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) <
	    0)
		return -1;
	if (fstat(fd, &st) != 0)
		goto out;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	if (((uid != (uid_t)-1 && st.st_uid != uid) ||
		(gid != (gid_t)-1 && st.st_gid != gid)) &&
	    fchown(fd, uid, gid) != 0)
		goto out;
	if (mode != (mode_t)-1 && fchmod(fd, mode) != 0)
		goto out;
	rc = 0;
out:
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

int
priv_sysctl_write(const char *path, const char *value, size_t len)
{
	struct priv_msg req;
	ssize_t n;
	int fd, e;

	if (priv_sock >= 0) {
		priv_msg_init(&req, PRIV_SYSCTL);
		priv_put_str(&req, path);
		priv_put_bytes(&req, value, len);
		return priv_simple(&req);
	}
	if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	n = write(fd, value, len);
	e = n < 0 ? errno : EIO;
	close(fd);
	if (n != (ssize_t)len) {
		errno = e;
		return -1;
	}
	return 0;
}

int
priv_connect_unix(const char *path)
{
	struct priv_msg req, ans;
	int fd = -1, e;

	if (priv_sock < 0)
		return util_unix_connect(path);
	priv_msg_init(&req, PRIV_CONNECT);
	priv_put_str(&req, path);
	if (priv_call(&req, &ans, NULL, 0) == 0) {
		fd = ans.fd;
		ans.fd = -1;
		if (fd < 0)
			errno = EPROTO;
	}
	e = errno;
	priv_msg_clear(&req);
	priv_msg_clear(&ans);
	errno = e;
	return fd;
}

int
priv_sign(
    const void *msg, size_t len, const unsigned char *sk, unsigned char sig[64])
{
	struct priv_msg req, ans;
	const void *p;
	size_t n;
	int rc;

	if (priv_sock < 0)
		return crypto_sign_detached(sig, NULL, msg, len, sk);
	priv_msg_init(&req, PRIV_SIGN);
	priv_put_bytes(&req, msg, len);
	rc = priv_call(&req, &ans, NULL, 0);
	if (rc == 0 && ((p = priv_get_bytes(&ans, 64, &n)) == NULL || n != 64))
		rc = -1;
	else if (rc == 0)
		memcpy(sig, p, 64);
	priv_msg_clear(&req);
	priv_msg_clear(&ans);
	return rc;
}

int
priv_direct_spawn(const char *const *argv, const char *log, pid_t *dpid,
    int *readyfd, char *err, size_t errlen)
{
	const char *av[PRIV_ARGV_MAX + 3];
	char rbuf[24];
	size_t a;
	int fds[2], rfd[2], status;
	pid_t pid;

	*dpid = -1;
	*readyfd = -1;
	for (a = 0; argv[a] != NULL; a++) {
		if (a >= PRIV_ARGV_MAX) {
			snprintf(err, errlen, "too many arguments");
			return -1;
		}
		av[a] = argv[a];
	}
	if (pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(rfd, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	snprintf(rbuf, sizeof(rbuf), "%d", rfd[1]);
	av[a++] = "--ready-fd";
	av[a++] = rbuf;
	av[a] = NULL;
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		close(rfd[0]);
		close(rfd[1]);
		return -1;
	}
	if (pid == 0) {
		pid_t g;
		int fd;

		setsid();
		if ((g = fork()) != 0) {
			ssize_t w = write(fds[1], &g, sizeof(g));

			_exit(w == (ssize_t)sizeof(g) ? 0 : 1);
		}
		/* The grandchild: no parent to wait for it but init. */
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		fcntl(rfd[1], F_SETFD, 0); /* the one descriptor it keeps */
		signal(SIGPIPE, SIG_DFL);
		execv(av[0], (char *const *)(uintptr_t)av);
		_exit(127);
	}
	close(fds[1]);
	close(rfd[1]);
	if (read(fds[0], dpid, sizeof(*dpid)) != (ssize_t)sizeof(*dpid))
		*dpid = -1;
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (*dpid <= 0) {
		snprintf(err, errlen, "fork: the process was not started");
		close(rfd[0]);
		return -1;
	}
	*readyfd = rfd[0];
	return 0;
}

int
priv_spawn(const char *const *argv, const char *log, pid_t *pid, int *readyfd,
    char *err, size_t errlen)
{
	struct priv_msg req, ans;
	uint32_t n;
	int rc;

	if (priv_sock < 0)
		return priv_direct_spawn(argv, log, pid, readyfd, err, errlen);
	*pid = -1;
	*readyfd = -1;
	priv_msg_init(&req, PRIV_DP_START);
	for (n = 0; argv[n] != NULL; n++)
		;
	priv_put_u32(&req, n);
	for (n = 0; argv[n] != NULL; n++)
		priv_put_str(&req, argv[n]);
	priv_put_str(&req, log);
	rc = priv_call(&req, &ans, err, errlen);
	if (rc == 0) {
		*pid = (pid_t)priv_get_i64(&ans);
		*readyfd = ans.fd;
		ans.fd = -1;
		if (ans.bad || *readyfd < 0) {
			snprintf(err, errlen, "no ready descriptor came back");
			rc = -1;
		}
	}
	priv_msg_clear(&req);
	priv_msg_clear(&ans);
	return rc;
}

int
priv_signal(pid_t pid, int sig)
{
	struct priv_msg req;
	int fd, rc;

	if (priv_sock >= 0) {
		priv_msg_init(&req, PRIV_DP_SIGNAL);
		priv_put_i64(&req, pid);
		priv_put_u32(&req, (uint32_t)sig);
		return priv_simple(&req);
	}
	/*
	 * No pidfd (Linux before 5.3, a seccomp filter, valgrind): kill();
	 * the callers signal a process they know to be alive and stopped.
	 */
	if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
		return kill(pid, sig);
	rc = (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
	close(fd);
	return rc;
}
