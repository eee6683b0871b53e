/*
 * edge-dp: the reference dataplane.
 *
 *	edge-dp --listen ADDR:PORT [--listen ...] --control PATH
 *		[--workers N] [--root DIR] [--takeover] [--drain-timeout S]
 *		[--ready-fd N] [--user NAME] [--head-timeout S]
 *		[--idle-timeout S] [--send-timeout S] [--max-conns N]
 *
 * The main thread owns the control socket (status, takeover: see
 * dataplane/takeover.h) and signals; workers (dataplane/worker.c) serve;
 * a handover to a successor runs on a thread of its own, so status is
 * still answered while connections drain.  SIGTERM: stop accepting,
 * finish what is in flight (up to --drain-timeout), exit 0.
 *
 * --ready-fd N: when this process accepts connections on every listener
 * (a fresh start: bound; a takeover: the listeners received, before
 * READY goes to the predecessor), "ready <pid>\n" is written to
 * descriptor N, which is then closed.  A supervisor that sees EOF instead
 * knows the start failed; one that sees nothing in time may kill it.
 *
 * Limits on slow clients and on connections: dataplane/dp.h.  --user:
 * dataplane/priv.h; the order of a start is
 *
 *	listeners (bound, or received from the predecessor), the control
 *	socket bound at PATH.<pid> ─▶ --user: privileges dropped ─▶ workers
 *	accept ─▶ (takeover: READY, connections, DONE) ─▶ PATH.<pid>
 *	renamed over PATH ─▶ ready
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "common/version.h"
#include "dataplane/dp.h"
#include "dataplane/priv.h"
#include "dataplane/takeover.h"

struct dp dp;
static atomic_bool dp_closing_flag;
/* A handover is under way (its thread owns the connection). */
static atomic_bool dp_handing_over;
/* The successor taking over, for status: "" when none. */
static pthread_mutex_t succ_mu = PTHREAD_MUTEX_INITIALIZER;
static char succ_json[160];
static int ready_fd = -1;
/*
 * Our control socket until control_install() renames it over --control
 * ("PATH.<pid>"), removed at exit when the start fails before that.
 */
static char ctl_tmp[sizeof(((struct sockaddr_un *)NULL)->sun_path)];

/* Tell the supervisor (--ready-fd) that we accept connections. */
static void
ready_notify(void)
{
	char line[32];
	int n;

	if (ready_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "ready %ld\n", (long)getpid());
	if (write(ready_fd, line, (size_t)n) != n)
		log_warn("event=ready_notify_failed");
	close(ready_fd);
	ready_fd = -1;
}

/* Exits: 0 to stdout when asked (--help), 2 to stderr on a misuse. */
static void
usage_exit(int rc)
{
	fprintf(rc == 0 ? stdout : stderr,
	    "usage: edge-dp --listen ADDR:PORT [--listen ...] --control PATH\n"
	    "               [--workers N] [--root DIR] [--takeover] "
	    "[--drain-timeout S]\n"
	    "               [--ready-fd N] [--user NAME] [--head-timeout S]\n"
	    "               [--idle-timeout S] [--send-timeout S] "
	    "[--max-conns N]\n"
	    "       edge-dp --control PATH --status\n"
	    "       edge-dp --version\n"
	    "\n"
	    "  --listen ADDR:PORT  serve HTTP/1.1 there (up to 16)\n"
	    "  --control PATH      control socket: status, takeover\n"
	    "  --workers N         worker threads (default: one per CPU)\n"
	    "  --root DIR          static files\n"
	    "  --takeover          take listeners and connections over from\n"
	    "                      the edge-dp at --control\n"
	    "  --drain-timeout S   seconds busy connections get to finish\n"
	    "                      when handing over or stopping (default 30)\n"
	    "  --ready-fd N        write \"ready PID\" to descriptor N once\n"
	    "                      accepting\n"
	    "  --user NAME         start as root, bind (or receive) the\n"
	    "                      listeners and the control socket, then\n"
	    "                      run as NAME for good (no groups, no\n"
	    "                      capabilities) before accepting; the\n"
	    "                      directory of --control must be writable\n"
	    "                      by NAME and --root readable\n"
	    "  --head-timeout S    a request head must be in S seconds after\n"
	    "                      its first byte, a new connection's first\n"
	    "                      S after the accept; bytes trickling in\n"
	    "                      do not extend it (default %d: an honest\n"
	    "                      head takes one segment, a lossy link a\n"
	    "                      few retransmissions)\n"
	    "  --idle-timeout S    a kept-alive connection without a request\n"
	    "                      closes after S seconds (default %d: a\n"
	    "                      visit's next request reuses it, an idle\n"
	    "                      one holds its buffers a minute at most)\n"
	    "  --send-timeout S    a client that takes none of its response\n"
	    "                      for S seconds is reset (default %d: a\n"
	    "                      stalled link recovers sooner; a slow but\n"
	    "                      steady reader is never cut off)\n"
	    "  --max-conns N       connections per process; at N no more are\n"
	    "                      accepted, new clients wait in the kernel's\n"
	    "                      queue until one closes (default %d, ~22 "
	    "KiB\n"
	    "                      each; lowered to fit RLIMIT_NOFILE)\n",
	    DP_HEAD_TIMEOUT_S, DP_IDLE_TIMEOUT_S, DP_SEND_TIMEOUT_S,
	    DP_MAX_CONNS);
	exit(rc);
}

static void
usage(void)
{
	usage_exit(2);
}

/* A --*-timeout: seconds, 1 to DP_TIMEOUT_MAX_S, in ms; exits on misuse. */
static int64_t
timeout_arg(const char *s)
{
	int64_t v;

	if (util_parse_i64(s, 1, DP_TIMEOUT_MAX_S, &v) != 0)
		usage();
	return v * 1000;
}

static int
parse_addr(const char *s, struct dp_listener *l)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	int64_t port;
	size_t hl;

	memset(l, 0, sizeof(*l));
	if (colon == NULL || util_parse_i64(colon + 1, 1, 65535, &port) != 0)
		return -1;
	hl = (size_t)(colon - s);
	if (hl >= sizeof(host) || strlen(s) >= sizeof(l->text))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	util_strlcpy(l->text, s, sizeof(l->text));
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&l->addr;

		host[hl - 1] = '\0';
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		l->addrlen = sizeof(*a);
		return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0
									 : -1;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&l->addr;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		l->addrlen = sizeof(*a);
		return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
	}
}

/*
 * Sockets a successor added to the SO_REUSEPORT groups: bound, but not
 * listening until READY has gone out.  A listening member that died with
 * a successor before READY would take the connections queued on it down
 * with it (reset); a bound, unlistening socket receives none.
 */
static int extra_fds[DP_MAX_WORKERS * DP_MAX_LISTEN];
static size_t nextra;

/* One member of the SO_REUSEPORT group for an address. */
static int
listen_one(const struct dp_listener *l, bool do_listen)
{
	int fd, one = 1;

	fd = socket(
	    l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) != 0 ||
	    (do_listen && listen(fd, 4096) != 0)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void
worker_add_lfd(struct dp_worker *w, int fd, const char *text)
{
	int *n = realloc(w->lfds, (w->nlfds + 1) * sizeof(int));
	char **t = realloc(w->ltext, (w->nlfds + 1) * sizeof(char *));

	if (n != NULL)
		w->lfds = n;
	if (t != NULL)
		w->ltext = t;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
	/*
	 * The copy is stored in w->ltext, which the worker owns for the
	 * process's life; the analyzer loses track of it after the realloc
	 * of ltext and reports it leaked.
	 */
	if (n == NULL || t == NULL ||
	    (w->ltext[w->nlfds] = strdup(text)) == NULL)
		fatalx("event=start_failed msg=\"out of memory\"");
#pragma GCC diagnostic pop
	w->lfds[w->nlfds++] = fd;
}

static int
control_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (util_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) >=
	    sizeof(sa.sun_path))
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/*
 * Does an edge-dp answer at the control path?  A socket we may not
 * connect to (a predecessor that ran as root, its socket root's and we
 * no longer root) counts as answering: two processes that both believe
 * they own the path are worse than one that steps aside.
 */
static bool
control_answers(void)
{
	int fd = control_connect(dp.control);

	if (fd >= 0) {
		close(fd);
		return true;
	}
	return errno == EACCES || errno == EPERM;
}

static void
ctl_tmp_remove(void)
{
	if (ctl_tmp[0] != '\0')
		unlink(ctl_tmp);
}

/*
 * Bind the control socket at PATH.<pid>; control_install() renames it over
 * PATH once this process is to answer there (a successor: after the
 * handover), so a successor replaces its predecessor's socket atomically.
 *
 * Mode 0600 from the start (umask), not by a chmod by name afterwards: in
 * a directory --user may write, the name could be swapped for a link
 * between the bind and the chmod, and root would follow it.  With --user
 * (u) the socket is made with u's filesystem ids: it is u's, so root and
 * u can connect (a successor that has become u must, to tell whether its
 * predecessor still answers), and u's rights, not root's, decide whether
 * it may be made there, the same rights the rename will need once we are
 * u.  So a directory u cannot write fails the start here, before we
 * accept anything or tell a predecessor we are ready, and not after the
 * handover, when nothing could be undone.  A sticky directory (/tmp) not
 * u's is refused for the same reason: u could not rename over a
 * predecessor's socket that is not its own.
 */
static int
control_bind(const struct priv_user *u, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	char dir[sizeof(sa.sun_path)], *slash;
	struct stat st;
	mode_t um;
	int fd = -1, e;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if ((size_t)snprintf(ctl_tmp, sizeof(ctl_tmp), "%s.%ld", dp.control,
		(long)getpid()) >= sizeof(ctl_tmp)) {
		ctl_tmp[0] = '\0';
		snprintf(err, errlen, "control path too long");
		return -1;
	}
	util_strlcpy(sa.sun_path, ctl_tmp, sizeof(sa.sun_path));
	if (u != NULL) {
		util_strlcpy(dir, dp.control, sizeof(dir));
		if ((slash = strrchr(dir, '/')) == NULL)
			util_strlcpy(dir, ".", sizeof(dir));
		else
			slash[slash == dir ? 1 : 0] = '\0';
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
		    ((st.st_mode & S_ISVTX) && st.st_uid != u->uid)) {
			snprintf(err, errlen,
			    "--user: %s must be a directory %s may write, "
			    "not a sticky one it does not own",
			    dir, u->name);
			ctl_tmp[0] = '\0';
			return -1;
		}
		if (priv_fs_become(u) != 0) {
			snprintf(err, errlen, "setfsuid: %s", strerror(errno));
			ctl_tmp[0] = '\0';
			return -1;
		}
	}
	um = umask(0177);
	unlink(ctl_tmp);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 16) != 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		unlink(ctl_tmp);
		ctl_tmp[0] = '\0';
		fd = -1;
		snprintf(err, errlen, "%s%s%s", strerror(e),
		    u != NULL && e == EACCES ? ": the directory must be "
					       "writable by "
					     : "",
		    u != NULL && e == EACCES ? u->name : "");
	}
	umask(um);
	if (u != NULL)
		priv_fs_restore();
	return fd;
}

/* From now on this process answers at the control path. */
static int
control_install(void)
{
	if (rename(ctl_tmp, dp.control) != 0)
		return -1;
	ctl_tmp[0] = '\0';
	return 0;
}

/* Fresh start: one listener per address per worker. */
static void
listeners_bind(void)
{
	unsigned i;
	size_t a;
	int fd;

	for (a = 0; a < dp.nlisten; a++)
		for (i = 0; i < dp.nworkers; i++) {
			if ((fd = listen_one(&dp.listen[a], true)) < 0)
				fatal("event=start_failed listen=%s",
				    dp.listen[a].text);
			worker_add_lfd(&dp.workers[i], fd, dp.listen[a].text);
		}
}

/*
 * Takeover, new side: receive every listener of the old process and
 * spread them over our workers; an address with fewer sockets than we have
 * workers gets new members of its SO_REUSEPORT group.  Returns the
 * control connection, or -1; *proto is the protocol the old one speaks.
 */
static int
takeover_listeners(int *proto)
{
	char line[TAKEOVER_LINE_MAX];
	unsigned *per = calloc(DP_MAX_LISTEN, sizeof(unsigned));
	int64_t n = 0, k;
	size_t nfds, a;
	int sock = -1, fd, p;
	unsigned rr = 0, i;

	if (per == NULL) {
		log_warnx("event=takeover_failed msg=\"out of memory\"");
		return -1;
	}
	/* Our protocol first; a release that knows only 1 hangs up on it. */
	for (p = TAKEOVER_PROTO; p >= 1; p--) {
		if ((sock = control_connect(dp.control)) < 0) {
			log_warn(
			    "event=takeover_failed control=%s", dp.control);
			free(per);
			return -1;
		}
		snprintf(line, sizeof(line), "TAKEOVER %d %ld %s\n", p,
		    (long)getpid(), ef_version);
		if (takeover_send(sock, line, NULL, 0) == 0 &&
		    takeover_recv(sock, line, sizeof(line), &fd, 1, &nfds) == 0)
			break;
		close(sock);
		sock = -1;
	}
	if (sock < 0)
		goto fail;
	*proto = p;
	if (p != TAKEOVER_PROTO)
		log_info("event=takeover_protocol version=%d msg=\"an older "
			 "predecessor: handed-over connections' bounds start "
			 "afresh\"",
		    p);
	if (strncmp(line, "L ", 2) != 0 ||
	    util_parse_i64(line + 2, 0, 65536, &n) != 0)
		goto fail;
	for (k = 0; k < n; k++) {
		if (takeover_recv(sock, line, sizeof(line), &fd, 1, &nfds) !=
			0 ||
		    nfds != 1 || strncmp(line, "l ", 2) != 0)
			goto fail;
		/* Every socket is accepted on, ours or not: none is orphaned. */
		worker_add_lfd(&dp.workers[rr++ % dp.nworkers], fd, line + 2);
		for (a = 0; a < dp.nlisten; a++)
			if (strcmp(dp.listen[a].text, line + 2) == 0)
				per[a]++;
	}
	for (a = 0; a < dp.nlisten; a++)
		for (i = per[a]; i < dp.nworkers; i++) {
			if ((fd = listen_one(&dp.listen[a], false)) < 0 ||
			    nextra == ARRAY_LEN(extra_fds)) {
				log_warn("event=takeover_listen listen=%s",
				    dp.listen[a].text);
				goto fail;
			}
			extra_fds[nextra++] = fd;
			worker_add_lfd(&dp.workers[rr++ % dp.nworkers], fd,
			    dp.listen[a].text);
		}
	free(per);
	log_info("event=takeover_listeners received=%lld", (long long)n);
	return sock;
fail:
	log_warnx("event=takeover_failed msg=\"bad exchange\"");
	free(per);
	if (sock >= 0)
		close(sock);
	return -1;
}

/*
 * Takeover, new side: connections until DONE.  false when the exchange
 * ended without it.
 */
static bool
takeover_receive(int sock, int proto)
{
	char line[TAKEOVER_LINE_MAX];
	unsigned rr = 0, got = 0;
	bool done = false;
	size_t nfds;
	int fd;

	for (;;) {
		struct takeover_conn tc;
		char *buf = NULL;
		size_t off = 0;

		if (takeover_recv(sock, line, sizeof(line), &fd, 1, &nfds) != 0)
			break;
		if (strcmp(line, "DONE") == 0) {
			done = true;
			break;
		}
		if (nfds != 1 || takeover_conn_parse(line, proto, &tc) != 0) {
			if (nfds == 1)
				close(fd);
			break;
		}
		if (tc.len > 0 && (buf = malloc(tc.len)) == NULL) {
			close(fd);
			break;
		}
		while (off < tc.len) {
			ssize_t r = read(sock, buf + off, tc.len - off);

			if (r <= 0)
				break;
			off += (size_t)r;
		}
		if (off < tc.len) {
			close(fd);
			free(buf);
			break;
		}
		/* It keeps the bound it was under, and its age. */
		worker_give(&dp.workers[rr++ % dp.nworkers], fd, buf, off,
		    tc.idle, tc.age_ms);
		got++;
	}
	log_info("event=takeover_done connections=%u complete=%d", got, done);
	return done;
}

/*
 * Wait until every worker has taken its listeners off (a worker that has
 * not may still accept a connection nobody would hand over).
 */
static void
workers_stopped(int64_t deadline)
{
	unsigned i;

	for (i = 0; i < dp.nworkers; i++)
		while (!atomic_load(&dp.workers[i].stopped) &&
		    util_now() < deadline)
			usleep(1000);
}

static unsigned long
conns_total(void)
{
	unsigned long n = 0;
	unsigned i;

	for (i = 0; i < dp.nworkers; i++)
		n += atomic_load(&dp.workers[i].conns) +
		    atomic_load(&dp.workers[i].pending);
	return n;
}

/* Send what workers put in the outbox.  Returns how many were sent. */
static unsigned
outbox_flush(int sock, int wait_ms, int proto)
{
	struct dp_handoff *h, *next;
	struct timespec ts;
	char line[64];
	unsigned n = 0;

	pthread_mutex_lock(&dp.out_mu);
	if (dp.outbox == NULL && wait_ms > 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)wait_ms * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&dp.out_cv, &dp.out_mu, &ts);
	}
	h = dp.outbox;
	dp.outbox = NULL;
	pthread_mutex_unlock(&dp.out_mu);
	for (; h != NULL; h = next) {
		struct takeover_conn tc = { h->len, h->idle, h->age_ms };
		size_t ll;

		next = h->next;
		/* Fails only on a record out of range: that one is closed. */
		if (takeover_conn_format(line, sizeof(line) - 1, proto, &tc) ==
		    0) {
			ll = strlen(line);
			line[ll] = '\n';
			line[ll + 1] = '\0';
			if (takeover_send(sock, line, &h->fd, 1) == 0 &&
			    h->len > 0)
				(void)!write(sock, h->buf, h->len);
		}
		close(h->fd);
		free(h->buf);
		free(h);
		n++;
	}
	return n;
}

/*
 * Takeover, old side.  Returns 0 when the successor has everything and
 * this process must exit, -1 when nothing changed and we keep serving.
 */
static int
takeover_give(int sock, long succ_pid, const char *succ_version, int proto)
{
	char line[TAKEOVER_LINE_MAX];
	struct pollfd p = { sock, POLLIN, 0 };
	size_t total = 0, nfds, a;
	unsigned i, sent = 0;
	int64_t deadline;
	int fd;

	for (i = 0; i < dp.nworkers; i++)
		total += dp.workers[i].nlfds;
	snprintf(line, sizeof(line), "L %zu\n", total);
	if (takeover_send(sock, line, NULL, 0) != 0)
		return -1;
	for (i = 0; i < dp.nworkers; i++)
		for (a = 0; a < dp.workers[i].nlfds; a++) {
			snprintf(line, sizeof(line), "l %s\n",
			    dp.workers[i].ltext[a]);
			if (takeover_send(
				sock, line, &dp.workers[i].lfds[a], 1) != 0)
				return -1;
		}
	/* Nothing changes here until the successor says it is ready. */
	if (poll(&p, 1, TAKEOVER_READY_TIMEOUT_S * 1000) != 1 ||
	    takeover_recv(sock, line, sizeof(line), &fd, 1, &nfds) != 0 ||
	    strcmp(line, "READY") != 0) {
		log_warnx("event=takeover_aborted msg=\"successor not ready; "
			  "still serving\"");
		return -1;
	}
	pthread_mutex_lock(&succ_mu);
	snprintf(succ_json, sizeof(succ_json),
	    ",\"successor\":{\"pid\":%ld,\"version\":\"%s\"}", succ_pid,
	    succ_version);
	pthread_mutex_unlock(&succ_mu);
	atomic_store(&dp.draining, true);
	for (i = 0; i < dp.nworkers; i++) {
		atomic_store(&dp.workers[i].stop_accepting, true);
		atomic_store(&dp.workers[i].handover, true);
		worker_wake(&dp.workers[i]);
	}
	deadline = util_now() + dp.drain_timeout_s;
	workers_stopped(deadline);
	while (conns_total() > 0 && util_now() < deadline)
		sent += outbox_flush(sock, 50, proto);
	if (conns_total() > 0) {
		/* Busy past the timeout: their last response closes. */
		atomic_store(&dp_closing_flag, true);
		deadline = util_now() + 5;
		while (conns_total() > 0 && util_now() < deadline)
			sent += outbox_flush(sock, 50, proto);
	}
	/* The count is 0: whatever was handed over is in the outbox now. */
	sent += outbox_flush(sock, 0, proto);
	takeover_send(sock, "DONE\n", NULL, 0);
	log_info(
	    "event=handed_over connections=%u left=%lu", sent, conns_total());
	return 0;
}

struct giver {
	int fd;
	long pid;
	int proto;
	char version[72];
};

/* The handover's own thread: status stays answered meanwhile. */
static void *
takeover_thread(void *arg)
{
	struct giver *g = arg;

	if (takeover_give(g->fd, g->pid, g->version, g->proto) == 0) {
		close(g->fd);
		_exit(0);
	}
	close(g->fd);
	free(g);
	pthread_mutex_lock(&succ_mu);
	succ_json[0] = '\0';
	pthread_mutex_unlock(&succ_mu);
	atomic_store(&dp_handing_over, false);
	return NULL;
}

/*
 * "TAKEOVER <proto> <pid> [<version>]": start a handover unless one is
 * under way ("BUSY").  The version is what status reports as the
 * successor's.
 */
static void
takeover_start(int cfd, const char *args, int proto)
{
	char pidtxt[24];
	struct giver *g;
	pthread_t t;
	int64_t pid;
	size_t n = strcspn(args, " ");
	const char *ver = args[n] == ' ' ? args + n + 1 : "";

	log_info("event=takeover_requested by=\"%.80s\"", args);
	if (n >= sizeof(pidtxt)) {
		close(cfd);
		return;
	}
	memcpy(pidtxt, args, n);
	pidtxt[n] = '\0';
	if (util_parse_i64(pidtxt, 1, INT32_MAX, &pid) != 0 ||
	    (ver[0] != '\0' && !util_version_ok(ver))) {
		log_warnx("event=takeover_refused msg=\"bad request\"");
		close(cfd);
		return;
	}
	if (atomic_exchange(&dp_handing_over, true)) {
		log_warnx("event=takeover_refused msg=\"one is under way\"");
		(void)takeover_send(cfd, "BUSY\n", NULL, 0);
		close(cfd);
		return;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		close(cfd);
		atomic_store(&dp_handing_over, false);
		return;
	}
	g->fd = cfd;
	g->pid = (long)pid;
	g->proto = proto;
	util_strlcpy(g->version, ver, sizeof(g->version));
	if (pthread_create(&t, NULL, takeover_thread, g) != 0) {
		log_warn("event=takeover_refused msg=pthread_create");
		free(g);
		close(cfd);
		atomic_store(&dp_handing_over, false);
		return;
	}
	pthread_detach(t);
}

/* One control connection; takes ownership of cfd. */
static void
control_serve(int cfd)
{
	char line[TAKEOVER_LINE_MAX], out[1024], succ[sizeof(succ_json)];
	unsigned long long req = 0, head = 0, idle = 0, send = 0, pauses = 0,
			   aerr = 0;
	unsigned i, paused = 0;
	size_t nfds;
	int fd;

	if (takeover_recv(cfd, line, sizeof(line), &fd, 1, &nfds) != 0) {
		close(cfd);
		return;
	}
	if (nfds > 0)
		close(fd);
	if (strcmp(line, "status") == 0) {
		for (i = 0; i < dp.nworkers; i++) {
			struct dp_worker *w = &dp.workers[i];

			req += atomic_load(&w->requests);
			head += atomic_load(&w->head_timeouts);
			idle += atomic_load(&w->idle_timeouts);
			send += atomic_load(&w->send_timeouts);
			pauses += atomic_load(&w->limit_pauses);
			aerr += atomic_load(&w->accept_errors);
			paused += atomic_load(&w->paused);
		}
		pthread_mutex_lock(&succ_mu);
		util_strlcpy(succ, succ_json, sizeof(succ));
		pthread_mutex_unlock(&succ_mu);
		/*
		 * Within the keeper's 1 KiB read (steps/dataplane.c); the
		 * fields after "requests" count limits hit (dp.h).
		 */
		snprintf(out, sizeof(out),
		    "{\"version\":\"%s\",\"pid\":%ld,\"workers\":%u,"
		    "\"connections\":%lu,\"requests\":%llu,\"uid\":%u,"
		    "\"max_connections\":%u,\"paused_workers\":%u,"
		    "\"limits\":{\"head_timeouts\":%llu,"
		    "\"idle_timeouts\":%llu,\"send_timeouts\":%llu,"
		    "\"limit_pauses\":%llu,\"accept_errors\":%llu},"
		    "\"draining\":%s%s}\n",
		    ef_version, (long)getpid(), dp.nworkers, conns_total(), req,
		    (unsigned)getuid(), dp.max_conns, paused, head, idle, send,
		    pauses, aerr, atomic_load(&dp.draining) ? "true" : "false",
		    succ);
		(void)!write(cfd, out, strlen(out));
	} else if (strncmp(line, "TAKEOVER 1 ", 11) == 0 ||
	    strncmp(line, "TAKEOVER 2 ", 11) == 0) {
		takeover_start(cfd, line + 11, line[9] - '0');
		return;
	}
	close(cfd);
}

static void
drain_and_exit(void)
{
	int64_t deadline = util_now() + dp.drain_timeout_s;
	unsigned i;

	atomic_store(&dp.draining, true);
	atomic_store(&dp_closing_flag, true);
	for (i = 0; i < dp.nworkers; i++) {
		atomic_store(&dp.workers[i].stop_accepting, true);
		worker_wake(&dp.workers[i]);
	}
	workers_stopped(deadline);
	while (conns_total() > 0 && util_now() < deadline)
		usleep(20000);
	log_info("event=stopped left=%lu", conns_total());
	exit(0);
}

/* `edge-dp --control PATH --status`: ask a running edge-dp. */
static int
control_status(const char *path)
{
	char buf[1024];
	ssize_t n;
	int fd = control_connect(path);

	if (fd < 0) {
		fprintf(stderr, "edge-dp: no edge-dp at %s\n", path);
		return 1;
	}
	if (takeover_send(fd, "status\n", NULL, 0) != 0 ||
	    (n = read(fd, buf, sizeof(buf) - 1)) <= 0) {
		close(fd);
		return 1;
	}
	buf[n] = '\0';
	fputs(buf, stdout);
	close(fd);
	return 0;
}

bool
dp_closing(void)
{
	return atomic_load(&dp_closing_flag);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "control", required_argument, NULL, 'c' },
		{ "workers", required_argument, NULL, 'w' },
		{ "root", required_argument, NULL, 'r' },
		{ "takeover", no_argument, NULL, 't' },
		{ "drain-timeout", required_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "status", no_argument, NULL, 's' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "user", required_argument, NULL, 'u' },
		{ "head-timeout", required_argument, NULL, 'H' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "send-timeout", required_argument, NULL, 'S' },
		{ "max-conns", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[256];
	struct priv_user user;
	const char *die;
	const char *user_name = NULL;
	struct rlimit rl;
	sigset_t set;
	int64_t v;
	int ch, csock = -1, lsock, sfd, proto = TAKEOVER_PROTO;
	bool status = false, stop = false, max_given = false;
	long ncpu;
	unsigned i;

	log_init("edge-dp", LOG_INFO);
	dp.drain_timeout_s = 30;
	dp.head_ms = DP_HEAD_TIMEOUT_S * 1000LL;
	dp.idle_ms = DP_IDLE_TIMEOUT_S * 1000LL;
	dp.send_ms = DP_SEND_TIMEOUT_S * 1000LL;
	dp.max_conns = DP_MAX_CONNS;
	dp.rootfd = -1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			if (dp.nlisten == DP_MAX_LISTEN ||
			    parse_addr(optarg, &dp.listen[dp.nlisten]) != 0) {
				fprintf(stderr, "edge-dp: bad --listen %s\n",
				    optarg);
				return 2;
			}
			dp.nlisten++;
			break;
		case 'c':
			dp.control = optarg;
			break;
		case 'w':
			if (util_parse_i64(optarg, 1, DP_MAX_WORKERS, &v) != 0)
				usage();
			dp.nworkers = (unsigned)v;
			break;
		case 'r':
			dp.root = optarg;
			break;
		case 't':
			dp.takeover = true;
			break;
		case 'd':
			if (util_parse_i64(optarg, 0, 3600, &v) != 0)
				usage();
			dp.drain_timeout_s = (int)v;
			break;
		case 'V':
			printf("edge-dp %s\n", ef_version);
			return 0;
		case 's':
			status = true;
			break;
		case 'R':
			if (util_parse_i64(optarg, 3, INT32_MAX, &v) != 0 ||
			    fcntl((int)v, F_GETFD) < 0)
				usage();
			ready_fd = (int)v;
			fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
			break;
		case 'u':
			user_name = optarg;
			break;
		case 'H':
			dp.head_ms = timeout_arg(optarg);
			break;
		case 'I':
			dp.idle_ms = timeout_arg(optarg);
			break;
		case 'S':
			dp.send_ms = timeout_arg(optarg);
			break;
		case 'M':
			if (util_parse_i64(optarg, 1, DP_MAX_CONNS_MAX, &v) !=
			    0)
				usage();
			dp.max_conns = (unsigned)v;
			max_given = true;
			break;
		case 'h':
			usage_exit(0);
			break;
		default:
			usage();
		}
	}
	if (status && dp.control != NULL && optind == argc)
		return control_status(dp.control);
	if (optind != argc || dp.nlisten == 0 || dp.control == NULL)
		usage();
	if (user_name != NULL) {
		if (priv_user_lookup(user_name, &user, err, sizeof(err)) != 0) {
			fprintf(stderr, "edge-dp: %s\n", err);
			return 2;
		}
		if (geteuid() != 0) {
			fprintf(stderr,
			    "edge-dp: --user needs edge-dp started "
			    "as root\n");
			return 2;
		}
	}
	if (dp.nworkers == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		dp.nworkers = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	if (dp.root != NULL &&
	    (dp.rootfd = open(dp.root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		fatal("event=start_failed root=%s", dp.root);
	/* Every connection, and every socket handed over, is a descriptor. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/*
	 * --max-conns within the descriptors: each connection may hold two
	 * (its socket, a file being sent); kept aside are the listeners
	 * (ours, and as many again received in a takeover), each worker's
	 * epoll and eventfd, and a margin for the control socket and logs.
	 */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY) {
		rlim_t keep = 64 + 2 * (rlim_t)dp.nworkers * (dp.nlisten + 1);
		rlim_t fit = rl.rlim_cur > keep ? (rl.rlim_cur - keep) / 2 : 1;

		if (dp.max_conns > fit) {
			if (max_given)
				log_warnx(
				    "event=max_conns_lowered from=%u to=%llu "
				    "msg=\"RLIMIT_NOFILE is %llu\"",
				    dp.max_conns, (unsigned long long)fit,
				    (unsigned long long)rl.rlim_cur);
			dp.max_conns = (unsigned)fit;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0)
		fatal("event=start_failed msg=signalfd");
	pthread_mutex_init(&dp.out_mu, NULL);
	pthread_cond_init(&dp.out_cv, NULL);
	if ((dp.workers = calloc(dp.nworkers, sizeof(*dp.workers))) == NULL)
		fatalx("event=start_failed msg=\"out of memory\"");
	for (i = 0; i < dp.nworkers; i++)
		dp.workers[i].index = (int)i;

	if (dp.takeover) {
		if ((csock = takeover_listeners(&proto)) < 0)
			return 1;
	} else {
		/* Refuse to start beside a live predecessor. */
		if ((csock = control_connect(dp.control)) >= 0)
			fatalx("event=start_failed msg=\"an edge-dp is running "
			       "at %s; use --takeover\"",
			    dp.control);
		listeners_bind();
	}
	atexit(ctl_tmp_remove);
	if ((lsock = control_bind(
		 user_name != NULL ? &user : NULL, err, sizeof(err))) < 0)
		fatalx("event=start_failed control=%s msg=\"%s\"", dp.control,
		    err);
	/* Root's work is done: nothing is accepted or read before this. */
	if (user_name != NULL) {
		if (priv_drop(&user, err, sizeof(err)) != 0)
			fatalx("event=start_failed msg=\"dropping privileges: "
			       "%s\"",
			    err);
		if (dp.rootfd >= 0 && faccessat(dp.rootfd, ".", X_OK, 0) != 0)
			fatal("event=start_failed root=%s msg=\"not searchable "
			      "by %s\"",
			    dp.root, user.name);
		log_info("event=privileges_dropped user=%s uid=%u gid=%u",
		    user.name, (unsigned)user.uid, (unsigned)user.gid);
	}
	for (i = 0; i < dp.nworkers; i++)
		if (worker_start(&dp.workers[i], !dp.takeover, err,
			sizeof(err)) != 0)
			fatalx("event=start_failed msg=\"%s\"", err);
	if (dp.takeover) {
		/*
		 * Test hook: a successor that dies before it is ready, after
		 * the value's milliseconds with its workers running.
		 */
		if ((die = getenv("EDGE_DP_TEST_DIE_BEFORE_READY")) != NULL) {
			usleep((useconds_t)atoi(die) * 1000);
			ctl_tmp_remove();
			_exit(3);
		}
		/* The supervisor first: it must not kill a ready successor. */
		ready_notify();
		if (takeover_send(csock, "READY\n", NULL, 0) != 0)
			log_warn("event=takeover_ready_failed");
		/*
		 * Only now do we take connections: our own extra group
		 * members join the groups, and every worker accepts.
		 */
		for (i = 0; i < nextra; i++)
			if (listen(extra_fds[i], 4096) != 0)
				log_warn("event=listen_failed");
		for (i = 0; i < dp.nworkers; i++)
			worker_accept(&dp.workers[i]);
		if (!takeover_receive(csock, proto) && control_answers()) {
			/*
			 * No DONE, and the predecessor still answers: it
			 * gave up on us before our READY (its bound passed)
			 * and keeps serving.  Two owners would be one too
			 * many.
			 */
			fatalx("event=takeover_failed msg=\"predecessor kept "
			       "serving\"");
		}
		close(csock);
	}
	if (control_install() != 0)
		fatal("event=start_failed control=%s", dp.control);
	ready_notify();
	log_info("event=serving workers=%u listeners=%zu control=%s "
		 "takeover=%d uid=%u head_timeout=%lld idle_timeout=%lld "
		 "send_timeout=%lld max_conns=%u",
	    dp.nworkers, dp.nlisten, dp.control, dp.takeover,
	    (unsigned)getuid(), (long long)(dp.head_ms / 1000),
	    (long long)(dp.idle_ms / 1000), (long long)(dp.send_ms / 1000),
	    dp.max_conns);

	for (;;) {
		struct pollfd p[2] = { { lsock, POLLIN, 0 },
			{ sfd, POLLIN, 0 } };
		int cfd;

		if (poll(p, 2, stop ? 200 : -1) < 0)
			continue;
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			(void)!read(sfd, &si, sizeof(si));
			/* A handover drains already, and ends in exit. */
			stop = true;
			if (atomic_load(&dp_handing_over))
				log_info("event=stop_deferred msg=\"handing "
					 "over\"");
		}
		if (stop && !atomic_load(&dp_handing_over)) {
			log_info("event=stopping");
			drain_and_exit();
		}
		if ((p[0].revents & POLLIN) &&
		    (cfd = accept4(lsock, NULL, NULL, SOCK_CLOEXEC)) >= 0)
			control_serve(cfd);
	}
}
