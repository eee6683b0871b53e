/*
 * One edge-dp worker: an epoll loop over its listeners, its connections
 * and its inbox doorbell (dataplane/dp.h has the connection's life).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "common/version.h"
#include "dataplane/dp.h"
#include "dataplane/http.h"

#define RBUF (HTTP_MAX_HEAD + 4096)
#define WHEAD 1024
#define MAX_EVENTS 256
#define SMALL_FILE 16384 /* read and sent with the head in one writev */
#define LIMITS_LOG_EVERY_MS 10000 /* a flood of slow clients: one line */
#define PAUSE_ERROR_MS 1000       /* accept failed for want of resources */

enum item_type { IT_LISTENER, IT_HEALTH_LISTENER, IT_DOORBELL, IT_CONN };

struct item {
	enum item_type type;
	int fd;
};

enum conn_state { CS_READING, CS_BODY, CS_WRITING };

struct conn {
	struct item it; /* first: epoll's data.ptr points here */
	enum conn_state state;
	char rbuf[RBUF];
	size_t rlen;
	char whead[WHEAD];
	char *small; /* SMALL_FILE bytes, allocated on first use */
	size_t wlen, woff;
	const char *body; /* small static body after the head */
	size_t body_len, body_off;
	int ffd; /* file being sent, -1 */
	off_t foff;
	size_t frem;
	uint64_t discard; /* Content-Length body bytes still to drop */
	bool chunked;
	struct http_chunked ch;
	bool keep_alive;
	/*
	 * The bound the connection is under (dp.h) started at since
	 * (monotonic ms): in READING the idle bound when idle, else the
	 * head bound; in BODY the head bound; in WRITING the send bound,
	 * restarted by every write that makes progress.
	 */
	int64_t since;
	bool idle;
	bool health; /* from a health listener: no slot, /healthz only */
	bool dead;   /* freed this batch; its events are stale */
	struct conn *prev, *next;
};

struct wctx {
	struct dp_worker *w;
	struct item *litems;
	struct item bell;
	struct conn *conns; /* every connection, for timeouts */
	struct conn *grave; /* freed during this epoll batch */
	int64_t now;        /* wall clock, s: for Date */
	int64_t ms;         /* monotonic, ms: for the bounds */
	char date[40];
	int64_t date_at;
	bool paused;       /* listeners out of the epoll (not stopped) */
	bool paused_error; /* ... because accept failed, not the limit */
	int64_t paused_at; /* ms */
	int64_t logged_at; /* ms: the last line about limits */
	unsigned long long logged[4]; /* the counts it gave */
};

/* A slot for one more connection; false at --max-conns. */
static bool
slot_take(void)
{
	if (atomic_fetch_add_explicit(&dp.nconns, 1, memory_order_relaxed) <
	    dp.max_conns)
		return true;
	atomic_fetch_sub_explicit(&dp.nconns, 1, memory_order_relaxed);
	return false;
}

static void
slot_put(void)
{
	atomic_fetch_sub_explicit(&dp.nconns, 1, memory_order_relaxed);
}

/* The same for a health listener's connection (dp.h). */
static bool
health_slot_take(void)
{
	if (atomic_fetch_add_explicit(&dp.nhealth, 1, memory_order_relaxed) <
	    DP_HEALTH_CONNS)
		return true;
	atomic_fetch_sub_explicit(&dp.nhealth, 1, memory_order_relaxed);
	return false;
}

static void
conn_slot_put(bool health)
{
	if (health)
		atomic_fetch_sub_explicit(&dp.nhealth, 1, memory_order_relaxed);
	else
		slot_put();
}

static const char *
wdate(struct wctx *x)
{
	if (x->date_at != x->now) {
		http_date(x->now, x->date, sizeof(x->date));
		x->date_at = x->now;
	}
	return x->date;
}

static void
conn_link(struct wctx *x, struct conn *c)
{
	c->prev = NULL;
	c->next = x->conns;
	if (x->conns != NULL)
		x->conns->prev = c;
	x->conns = c;
	atomic_fetch_add(&x->w->conns, 1);
}

static void
conn_unlink(struct wctx *x, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		x->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	atomic_fetch_sub(&x->w->conns, 1);
}

/*
 * Forget a connection; close its socket unless it was handed over.  The
 * memory waits until the end of the epoll batch: a later event of the
 * same batch may still point at it, and must find it marked dead.
 */
static void
conn_free(struct wctx *x, struct conn *c, bool close_fd)
{
	if (c->dead)
		return;
	if (c->it.fd >= 0)
		epoll_ctl(x->w->epfd, EPOLL_CTL_DEL, c->it.fd, NULL);
	conn_unlink(x, c);
	conn_slot_put(c->health);
	if (c->ffd >= 0)
		close(c->ffd);
	if (close_fd && c->it.fd >= 0)
		close(c->it.fd);
	c->dead = true;
	c->next = x->grave;
	x->grave = c;
}

/*
 * Past the send bound: reset rather than close, so the kernel drops what
 * the client never took instead of keeping it for an orphan socket.
 */
static void
conn_abort(struct wctx *x, struct conn *c)
{
	struct linger lg = { 1, 0 };

	setsockopt(c->it.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	conn_free(x, c, true);
}

static void
conn_bury(struct wctx *x)
{
	struct conn *c, *next;

	for (c = x->grave; c != NULL; c = next) {
		next = c->next;
		free(c->small);
		free(c);
	}
	x->grave = NULL;
}

/*
 * A connection for fd, with len bytes already read, under the idle bound
 * or the head bound, which has run for age_ms.  The caller has a slot for
 * it (slot_take(), health_slot_take() for a health listener's, or
 * worker_give()); the connection owns it from here, and gives it back on
 * failure too.
 */
static struct conn *
conn_new(struct wctx *x, int fd, const char *buf, size_t len, bool idle,
    int64_t age_ms, bool health)
{
	struct conn *c;
	struct epoll_event ev;
	int one = 1;

	if (len > RBUF || (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		conn_slot_put(health);
		return NULL;
	}
	c->it.type = IT_CONN;
	c->health = health;
	c->it.fd = fd;
	c->ffd = -1;
	c->state = CS_READING;
	c->idle = idle;
	c->since = x->ms - age_ms;
	memcpy(c->rbuf, buf, len);
	c->rlen = len;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = c;
	if (epoll_ctl(x->w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		close(fd);
		free(c);
		conn_slot_put(health);
		return NULL;
	}
	conn_link(x, c);
	return c;
}

static void
conn_want_write(struct wctx *x, struct conn *c, bool on)
{
	struct epoll_event ev;

	ev.events = (on ? EPOLLOUT : EPOLLIN) | EPOLLRDHUP;
	ev.data.ptr = c;
	epoll_ctl(x->w->epfd, EPOLL_CTL_MOD, c->it.fd, &ev);
}

/*
 * Put a response head in place: length < 0 sends no Content-Length (a
 * 304).  The small static body, if any, follows it unless head_only.
 */
static void
respond_head(struct wctx *x, struct conn *c, int status, const char *ctype,
    int64_t length, const char *extra)
{
	char cl[48] = "";
	int n;

	if (dp_closing())
		c->keep_alive = false;
	if (length >= 0)
		snprintf(cl, sizeof(cl), "Content-Length: %lld\r\n",
		    (long long)length);
	n = snprintf(c->whead, sizeof(c->whead),
	    "HTTP/1.1 %d %s\r\nServer: edge-dp\r\nDate: %s\r\n%s%s%s%s%s%s"
	    "\r\n",
	    status, http_reason(status), wdate(x), cl,
	    ctype ? "Content-Type: " : "", ctype ? ctype : "",
	    ctype ? "\r\n" : "", extra ? extra : "",
	    c->keep_alive ? "" : "Connection: close\r\n");
	c->wlen = n > 0 && (size_t)n < sizeof(c->whead) ? (size_t)n : 0;
	c->woff = 0;
	c->body = NULL;
	c->body_len = c->body_off = 0;
	c->state = CS_WRITING;
	c->idle = false;
	c->since = x->ms;
}

static void
respond(struct wctx *x, struct conn *c, int status, const char *ctype,
    const char *body, size_t body_len, const char *extra, bool head_only)
{
	respond_head(x, c, status, ctype, (int64_t)body_len, extra);
	if (!head_only) {
		c->body = body;
		c->body_len = body_len;
	}
}

static void
respond_error(struct wctx *x, struct conn *c, int status)
{
	c->keep_alive = false;
	respond(x, c, status, NULL, NULL, 0, NULL, false);
}

static const char *
content_type(const char *path, size_t len)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".css", "text/css" },
		{ ".js", "text/javascript" },
		{ ".json", "application/json" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".png", "image/png" },
		{ ".jpg", "image/jpeg" },
		{ ".svg", "image/svg+xml" },
		{ ".woff2", "font/woff2" },
	};
	size_t i, el;

	for (i = 0; i < ARRAY_LEN(types); i++) {
		el = strlen(types[i].ext);
		if (len >= el && memcmp(path + len - el, types[i].ext, el) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
}

/*
 * Decode the request path into out (a relative path for openat2): %XX
 * decoded, no NUL, no ".." segment, no empty result ("" means the root).
 * -1 when it is not acceptable.
 */
static int
path_decode(const char *p, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (len == 0 || p[0] != '/')
		return -1;
	for (i = 1; i < len; i++) {
		char ch = p[i];

		if (ch == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			hi = p[i + 1];
			lo = p[i + 2];
			hi = hi >= '0' && hi <= '9' ? hi - '0'
			    : (hi | 32) >= 'a' && (hi | 32) <= 'f'
			    ? (hi | 32) - 'a' + 10
			    : -1;
			lo = lo >= '0' && lo <= '9' ? lo - '0'
			    : (lo | 32) >= 'a' && (lo | 32) <= 'f'
			    ? (lo | 32) - 'a' + 10
			    : -1;
			if (hi < 0 || lo < 0)
				return -1;
			ch = (char)(hi * 16 + lo);
			i += 2;
			if (ch == '\0')
				return -1;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = ch;
	}
	out[o] = '\0';
	/* No ".." segment, whatever its spelling was. */
	for (i = 0; i < o; i++)
		if ((i == 0 || out[i - 1] == '/') && out[i] == '.' &&
		    i + 1 < o && out[i + 1] == '.' &&
		    (i + 2 == o || out[i + 2] == '/'))
			return -1;
	return 0;
}

static int
open_beneath(const char *rel, int flags)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	/* The kernel keeps us inside --root, symlinks included. */
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(
	    SYS_openat2, dp.rootfd, rel[0] ? rel : ".", &how, sizeof(how));
}

static void
serve_file(struct wctx *x, struct conn *c, const struct http_request *rq)
{
	char rel[HTTP_MAX_TARGET + 16], etag[64], lm[40], extra[256];
	const struct http_field *inm, *ims;
	bool head = rq->method == HTTP_HEAD;
	struct stat st;
	int fd = -1;

	if (dp.rootfd < 0 ||
	    path_decode(rq->path, rq->path_len, rel, sizeof(rel) - 12) != 0)
		goto not_found;
	fd = open_beneath(rel, O_RDONLY);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* A directory serves its index.html. */
		size_t n = strlen(rel);

		close(fd);
		snprintf(rel + n, sizeof(rel) - n, "%sindex.html",
		    n == 0 || rel[n - 1] == '/' ? "" : "/");
		fd = open_beneath(rel, O_RDONLY);
	}
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto not_found;
	snprintf(etag, sizeof(etag), "\"%llx-%llx\"",
	    (unsigned long long)st.st_size,
	    (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
		(unsigned long long)st.st_mtim.tv_nsec);
	http_date(st.st_mtim.tv_sec, lm, sizeof(lm));
	snprintf(extra, sizeof(extra), "ETag: %s\r\nLast-Modified: %s\r\n",
	    etag, lm);
	inm = http_field_get(rq, "If-None-Match");
	ims = http_field_get(rq, "If-Modified-Since");
	if ((inm != NULL && inm->value_len == strlen(etag) &&
		memcmp(inm->value, etag, inm->value_len) == 0) ||
	    (inm == NULL && ims != NULL && ims->value_len == strlen(lm) &&
		memcmp(ims->value, lm, ims->value_len) == 0)) {
		close(fd);
		respond_head(x, c, 304, NULL, -1, extra);
		return;
	}
	respond_head(
	    x, c, 200, content_type(rel, strlen(rel)), st.st_size, extra);
	if (head) {
		close(fd);
		return;
	}
	/*
	 * A small file goes out with its head in one writev: one syscall
	 * instead of a send and a sendfile.
	 */
	if (st.st_size <= SMALL_FILE &&
	    (c->small != NULL || (c->small = malloc(SMALL_FILE)) != NULL)) {
		ssize_t r = pread(fd, c->small, (size_t)st.st_size, 0);

		close(fd);
		if (r != st.st_size) {
			c->keep_alive = false;
			respond_error(x, c, 500);
			return;
		}
		c->body = c->small;
		c->body_len = (size_t)r;
		return;
	}
	c->ffd = fd;
	c->foff = 0;
	c->frem = (size_t)st.st_size;
	return;
not_found:
	if (fd >= 0)
		close(fd);
	respond(x, c, 404, NULL, NULL, 0, NULL, head);
}

static void
handle(struct wctx *x, struct conn *c, const struct http_request *rq)
{
	static const char ok[] = "ok\n", draining[] = "draining\n";
	static __thread char version[80];
	bool head = rq->method == HTTP_HEAD;

	c->keep_alive = rq->keep_alive;
	atomic_fetch_add_explicit(&x->w->requests, 1, memory_order_relaxed);
	if (rq->method != HTTP_GET && !head) {
		c->keep_alive = false;
		respond(
		    x, c, 405, NULL, NULL, 0, "Allow: GET, HEAD\r\n", false);
		return;
	}
	if (rq->path_len == 8 && memcmp(rq->path, "/healthz", 8) == 0) {
		if (atomic_load(&dp.draining))
			respond(x, c, 503, "text/plain", draining,
			    sizeof(draining) - 1, NULL, head);
		else
			respond(x, c, 200, "text/plain", ok, sizeof(ok) - 1,
			    NULL, head);
		return;
	}
	if (rq->path_len == 8 && memcmp(rq->path, "/version", 8) == 0) {
		snprintf(version, sizeof(version), "edge-dp %s\n", ef_version);
		respond(x, c, 200, "text/plain", version, strlen(version), NULL,
		    head);
		return;
	}
	/* A health listener serves no files: it is no way round the limit. */
	if (c->health)
		respond(x, c, 404, NULL, NULL, 0, NULL, head);
	else
		serve_file(x, c, rq);
}

/* Hand a connection at a request boundary to the successor. */
static void
conn_handoff(struct wctx *x, struct conn *c)
{
	struct dp_handoff *h = calloc(1, sizeof(*h));

	if (h == NULL || (c->rlen > 0 && (h->buf = malloc(c->rlen)) == NULL)) {
		free(h);
		conn_free(x, c, true);
		return;
	}
	h->fd = c->it.fd;
	h->len = c->rlen;
	h->idle = c->idle;
	h->age_ms = x->ms > c->since ? x->ms - c->since : 0;
	if (c->rlen > 0)
		memcpy(h->buf, c->rbuf, c->rlen);
	/*
	 * Out of our epoll first, then into the outbox, and only then off the
	 * count: main ends the handover when the count is 0 and the outbox
	 * empty, so the connection must never be in neither.
	 */
	epoll_ctl(x->w->epfd, EPOLL_CTL_DEL, c->it.fd, NULL);
	c->it.fd = -1;
	pthread_mutex_lock(&dp.out_mu);
	h->next = dp.outbox;
	dp.outbox = h;
	pthread_cond_signal(&dp.out_cv);
	pthread_mutex_unlock(&dp.out_mu);
	conn_free(x, c, false);
}

/* Drop body bytes of the current request; true when it is all gone. */
static bool
conn_body(struct conn *c, int *status)
{
	size_t used, out;
	int r;

	if (c->discard > 0) {
		used = c->rlen < c->discard ? c->rlen : (size_t)c->discard;
		c->discard -= used;
		memmove(c->rbuf, c->rbuf + used, c->rlen - used);
		c->rlen -= used;
		return c->discard == 0;
	}
	if (!c->chunked)
		return true;
	r = http_chunked_feed(&c->ch, c->rbuf, c->rlen, &used, &out, status);
	if (r < 0)
		return false;
	memmove(c->rbuf, c->rbuf + used, c->rlen - used);
	c->rlen -= used;
	if (r == 1)
		c->chunked = false;
	return r == 1;
}

/*
 * Parse and answer whatever complete requests are buffered.  Returns -1
 * when the connection was freed.
 */
static int
conn_process(struct wctx *x, struct conn *c)
{
	struct http_request rq;
	int status = 0;

	while (c->state != CS_WRITING) {
		if (c->state == CS_BODY) {
			if (!conn_body(c, &status)) {
				if (status != 0) {
					respond_error(x, c, status);
					break;
				}
				return 0; /* need more */
			}
			/* The request is all read: idle until the next. */
			c->state = CS_READING;
			c->idle = true;
			c->since = x->ms;
			continue;
		}
		if (c->rlen == 0) {
			if (atomic_load(&x->w->handover)) {
				conn_handoff(x, c);
				return -1;
			}
			return 0;
		}
		switch (http_parse_request(c->rbuf, c->rlen, &rq, &status)) {
		case HTTP_PARSE_INCOMPLETE:
			/* The first byte of a head ends the idle bound. */
			if (c->idle) {
				c->idle = false;
				c->since = x->ms;
			}
			if (c->rlen >= RBUF) {
				respond_error(x, c, 431);
				break;
			}
			/* A partial head goes along with the connection. */
			if (atomic_load(&x->w->handover)) {
				conn_handoff(x, c);
				return -1;
			}
			return 0;
		case HTTP_PARSE_ERROR:
			respond_error(x, c, status ? status : 400);
			break;
		case HTTP_PARSE_OK:
			handle(x, c, &rq);
			/* The head is answered; its body (if any) is dropped. */
			memmove(c->rbuf, c->rbuf + rq.head_len,
			    c->rlen - rq.head_len);
			c->rlen -= rq.head_len;
			if (rq.content_length > 0)
				c->discard = (uint64_t)rq.content_length;
			if (rq.chunked) {
				memset(&c->ch, 0, sizeof(c->ch));
				c->chunked = true;
			}
			break;
		}
	}
	return 0;
}

/* Write what is pending; -1 when the connection was freed. */
static int
conn_write(struct wctx *x, struct conn *c)
{
	ssize_t n;

next:
	/* Head and small body together, while both are pending. */
	while (c->woff < c->wlen && c->body_off < c->body_len) {
		struct iovec iov[2] = {
			{ c->whead + c->woff, c->wlen - c->woff },
			{ (void *)(uintptr_t)(c->body + c->body_off),
			    c->body_len - c->body_off },
		};
		size_t h = iov[0].iov_len;

		n = writev(c->it.fd, iov, 2);
		if (n < 0 && errno == EAGAIN)
			goto again;
		if (n <= 0)
			goto dead;
		c->since = x->ms;
		if ((size_t)n <= h)
			c->woff += (size_t)n;
		else {
			c->woff = c->wlen;
			c->body_off += (size_t)n - h;
		}
	}
	while (c->woff < c->wlen) {
		n = send(c->it.fd, c->whead + c->woff, c->wlen - c->woff,
		    MSG_NOSIGNAL | (c->body_len || c->frem ? MSG_MORE : 0));
		if (n < 0 && errno == EAGAIN)
			goto again;
		if (n <= 0)
			goto dead;
		c->since = x->ms;
		c->woff += (size_t)n;
	}
	while (c->body_off < c->body_len) {
		n = send(c->it.fd, c->body + c->body_off,
		    c->body_len - c->body_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			goto again;
		if (n <= 0)
			goto dead;
		c->since = x->ms;
		c->body_off += (size_t)n;
	}
	while (c->frem > 0) {
		n = sendfile(c->it.fd, c->ffd, &c->foff, c->frem);
		if (n < 0 && errno == EAGAIN)
			goto again;
		if (n <= 0)
			goto dead;
		c->since = x->ms;
		c->frem -= (size_t)n;
	}
	if (c->ffd >= 0) {
		close(c->ffd);
		c->ffd = -1;
	}
	if (!c->keep_alive) {
		conn_free(x, c, true);
		return -1;
	}
	conn_want_write(x, c, false);
	/* A body still to drop is under the head bound, else idle. */
	c->state = c->discard > 0 || c->chunked ? CS_BODY : CS_READING;
	c->idle = c->state == CS_READING;
	c->since = x->ms;
	/* Pipelined requests already buffered are answered in turn. */
	if (conn_process(x, c) != 0)
		return -1;
	if (c->state == CS_WRITING)
		goto next;
	return 0;
again:
	conn_want_write(x, c, true);
	return 0;
dead:
	conn_free(x, c, true);
	return -1;
}

static void
conn_readable(struct wctx *x, struct conn *c)
{
	ssize_t n;

	while (c->rlen < RBUF) {
		n = recv(c->it.fd, c->rbuf + c->rlen, RBUF - c->rlen, 0);
		if (n > 0) {
			c->rlen += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			break;
		/* EOF or error: nothing more will come. */
		conn_free(x, c, true);
		return;
	}
	if (c->state == CS_WRITING)
		return;
	if (conn_process(x, c) == 0 && c->state == CS_WRITING)
		conn_write(x, c);
}

/* Listeners out of the epoll: all of them, or all but health ones. */
static void
listeners_off(struct wctx *x, bool all)
{
	size_t i;

	for (i = 0; i < x->w->nlfds; i++)
		if (all || !x->w->lhealth[i])
			epoll_ctl(
			    x->w->epfd, EPOLL_CTL_DEL, x->w->lfds[i], NULL);
}

static int
listeners_on(struct dp_worker *w, char *err, size_t errlen)
{
	struct epoll_event ev;
	size_t i;

	for (i = 0; i < w->nlfds; i++) {
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		ev.data.ptr = &w->litems[i];
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->lfds[i], &ev) != 0 &&
		    errno != EEXIST) {
			snprintf(err, errlen, "epoll add: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/*
 * Stop accepting for now (dp.h: at --max-conns, or when accept failed
 * for want of descriptors or memory, which would otherwise wake us again
 * at once for the same connection, forever).
 */
static void
accept_pause(struct wctx *x, bool error)
{
	/* A health listener's probes are still answered (dp.h). */
	listeners_off(x, false);
	x->paused = true;
	x->paused_error = error;
	x->paused_at = x->ms;
	atomic_store(&x->w->paused, true);
	atomic_fetch_add_explicit(
	    error ? &x->w->accept_errors : &x->w->limit_pauses, 1,
	    memory_order_relaxed);
}

/* After each batch: accept again once there is room. */
static void
accept_resume(struct wctx *x)
{
	char err[128];

	if (!x->paused || atomic_load(&x->w->stop_accepting))
		return;
	if (x->paused_error && x->ms - x->paused_at < PAUSE_ERROR_MS)
		return;
	if (atomic_load_explicit(&dp.nconns, memory_order_relaxed) >=
	    dp.max_conns)
		return;
	if (listeners_on(x->w, err, sizeof(err)) != 0) {
		log_warnx("event=accept_resume_failed worker=%d msg=\"%s\"",
		    x->w->index, err);
		return;
	}
	x->paused = false;
	atomic_store(&x->w->paused, false);
}

static void
accept_all(struct wctx *x, int lfd)
{
	int fd;

	/* A stop read from the inbox earlier in this batch counts too. */
	while (!x->paused && !atomic_load(&x->w->stopped)) {
		if (!slot_take()) {
			accept_pause(x, false);
			return;
		}
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			/* A new connection's head bound runs from now. */
			conn_new(x, fd, "", 0, false, 0, false);
			continue;
		}
		slot_put();
		switch (errno) {
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			accept_pause(x, true);
			return;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
		case EPERM:
		case ENETDOWN:
		case ENETUNREACH:
		case EHOSTDOWN:
		case EHOSTUNREACH:
		case ENONET:
		case ENOPROTOOPT:
		case EOPNOTSUPP:
			/*
			 * That connection failed before we took it (accept(2)
			 * passes on its network error): the next may be fine.
			 */
			continue;
		default:
			/* EAGAIN: all taken; EINVAL: not listening. */
			return;
		}
	}
}

/*
 * A health listener (dp.h): not paused at --max-conns, its own bound of
 * DP_HEALTH_CONNS, past which a connection is closed at once (the prober
 * tries again).  Any other accept error ends this batch's accepting; the
 * descriptors for DP_HEALTH_CONNS are kept aside from --max-conns
 * (main.c), so running out of them is not the probes' doing.
 */
static void
accept_health(struct wctx *x, int lfd)
{
	int fd;

	while (!atomic_load(&x->w->stopped)) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (!health_slot_take()) {
			close(fd);
			continue;
		}
		conn_new(x, fd, "", 0, false, 0, true);
	}
}

/* Connections handed to us, and commands, through the inbox. */
static void
inbox(struct wctx *x)
{
	struct dp_handoff *h, *next;
	struct conn *c, *cn;
	uint64_t v;

	if (read(x->w->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("event=doorbell_read");
	pthread_mutex_lock(&x->w->mu);
	h = x->w->inbox;
	x->w->inbox = NULL;
	pthread_mutex_unlock(&x->w->mu);
	if (atomic_exchange(&x->w->start_accepting, false) &&
	    !atomic_load(&x->w->stop_accepting)) {
		char err[128];

		if (listeners_on(x->w, err, sizeof(err)) != 0)
			log_warnx("event=accept_start_failed worker=%d "
				  "msg=\"%s\"",
			    x->w->index, err);
	}
	for (; h != NULL; h = next) {
		next = h->next;
		c = conn_new(x, h->fd, h->buf ? h->buf : "", h->len, h->idle,
		    h->age_ms, false);
		atomic_fetch_sub(&x->w->pending, 1);
		free(h->buf);
		free(h);
		if (c != NULL && conn_process(x, c) == 0 &&
		    c->state == CS_WRITING)
			conn_write(x, c);
	}
	if (atomic_load(&x->w->stop_accepting) &&
	    !atomic_load(&x->w->stopped)) {
		listeners_off(x, true);
		x->paused = false;
		atomic_store(&x->w->paused, false);
		/* Nothing accepted from here on: main may count what is left. */
		atomic_store(&x->w->stopped, true);
	}
	/* Stopping: idle connections close now, busy ones after a reply. */
	if (dp_closing())
		for (c = x->conns; c != NULL; c = cn) {
			cn = c->next;
			if (c->state == CS_READING && c->rlen == 0)
				conn_free(x, c, true);
		}
	/* Idle connections go now; busy ones at their next boundary. */
	if (atomic_load(&x->w->handover))
		for (c = x->conns; c != NULL; c = cn) {
			cn = c->next;
			if (c->state == CS_READING)
				conn_process(x, c);
		}
}

/*
 * At most one line per LIMITS_LOG_EVERY_MS per worker, with the counts
 * since the last: a flood of slow clients must not become one of log
 * lines.  Idle timeouts are how keep-alive ends: counted, not logged.
 */
static void
limits_log(struct wctx *x)
{
	struct dp_worker *w = x->w;
	unsigned long long v[4];

	if (x->logged_at != 0 && x->ms - x->logged_at < LIMITS_LOG_EVERY_MS)
		return;
	v[0] = atomic_load_explicit(&w->head_timeouts, memory_order_relaxed);
	v[1] = atomic_load_explicit(&w->send_timeouts, memory_order_relaxed);
	v[2] = atomic_load_explicit(&w->limit_pauses, memory_order_relaxed);
	v[3] = atomic_load_explicit(&w->accept_errors, memory_order_relaxed);
	if (memcmp(v, x->logged, sizeof(v)) == 0)
		return;
	log_warnx("event=limits worker=%d head_timeouts=%llu "
		  "send_timeouts=%llu limit_pauses=%llu accept_errors=%llu "
		  "max_conns=%u",
	    w->index, v[0] - x->logged[0], v[1] - x->logged[1],
	    v[2] - x->logged[2], v[3] - x->logged[3], dp.max_conns);
	memcpy(x->logged, v, sizeof(v));
	x->logged_at = x->ms;
}

/* Once a second: close what is past its bound (dp.h). */
static void
sweep(struct wctx *x)
{
	struct conn *c, *next;
	atomic_ullong *count;
	int64_t bound;

	for (c = x->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state == CS_WRITING) {
			bound = dp.send_ms;
			count = &x->w->send_timeouts;
		} else if (c->state == CS_READING && c->idle) {
			bound = dp.idle_ms;
			count = &x->w->idle_timeouts;
		} else {
			bound = dp.head_ms;
			count = &x->w->head_timeouts;
		}
		if (x->ms - c->since <= bound)
			continue;
		atomic_fetch_add_explicit(count, 1, memory_order_relaxed);
		if (c->state == CS_WRITING)
			conn_abort(x, c);
		else
			conn_free(x, c, true);
	}
	limits_log(x);
}

static void *
worker_main(void *arg)
{
	struct wctx x;
	struct epoll_event evs[MAX_EVENTS];
	int64_t last_sweep = 0;
	cpu_set_t set;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int n, i;

	memset(&x, 0, sizeof(x));
	x.w = arg;
	if (ncpu > 0) {
		CPU_ZERO(&set);
		CPU_SET(x.w->index % ncpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	x.now = util_now();
	x.ms = (int64_t)(util_mono_ns() / 1000000);
	while (!atomic_load(&x.w->quit)) {
		n = epoll_wait(x.w->epfd, evs, MAX_EVENTS, 1000);
		x.now = util_now();
		x.ms = (int64_t)(util_mono_ns() / 1000000);
		for (i = 0; i < n; i++) {
			struct item *it = evs[i].data.ptr;

			if (it->type == IT_LISTENER)
				accept_all(&x, it->fd);
			else if (it->type == IT_HEALTH_LISTENER)
				accept_health(&x, it->fd);
			else if (it->type == IT_DOORBELL)
				inbox(&x);
			else if (((struct conn *)it)->dead)
				continue;
			else if (evs[i].events & EPOLLOUT)
				conn_write(&x, (struct conn *)it);
			else
				conn_readable(&x, (struct conn *)it);
		}
		if (x.now != last_sweep) {
			sweep(&x);
			last_sweep = x.now;
		}
		accept_resume(&x);
		conn_bury(&x);
	}
	while (x.conns != NULL)
		conn_free(&x, x.conns, true);
	conn_bury(&x);
	return NULL;
}

int
worker_start(struct dp_worker *w, bool accept, char *err, size_t errlen)
{
	static struct item bells[DP_MAX_WORKERS];
	struct item *li;
	struct epoll_event ev;
	size_t i;

	pthread_mutex_init(&w->mu, NULL);
	if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "epoll/eventfd: %s", strerror(errno));
		return -1;
	}
	bells[w->index].type = IT_DOORBELL;
	bells[w->index].fd = w->evfd;
	ev.events = EPOLLIN;
	ev.data.ptr = &bells[w->index];
	epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev);
	if ((li = calloc(w->nlfds ? w->nlfds : 1, sizeof(*li))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w->litems = li;
	for (i = 0; i < w->nlfds; i++) {
		li[i].type = w->lhealth[i] ? IT_HEALTH_LISTENER : IT_LISTENER;
		li[i].fd = w->lfds[i];
	}
	if (accept && listeners_on(w, err, errlen) != 0)
		return -1;
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		snprintf(err, errlen, "thread: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void
worker_wake(struct dp_worker *w)
{
	uint64_t one = 1;

	if (write(w->evfd, &one, sizeof(one)) < 0)
		log_warn("event=doorbell_write worker=%d", w->index);
}

void
worker_accept(struct dp_worker *w)
{
	atomic_store(&w->start_accepting, true);
	worker_wake(w);
}

void
worker_give(struct dp_worker *w, int fd, char *buf, size_t len, bool idle,
    int64_t age_ms)
{
	struct dp_handoff *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		close(fd);
		free(buf);
		return;
	}
	h->fd = fd;
	h->buf = buf;
	h->len = len;
	h->idle = idle;
	h->age_ms = age_ms;
	/* Counted from now on, so a handover does not end without it. */
	atomic_fetch_add(&w->pending, 1);
	/* Taken past --max-conns too: see dp.h. */
	atomic_fetch_add_explicit(&dp.nconns, 1, memory_order_relaxed);
	pthread_mutex_lock(&w->mu);
	h->next = w->inbox;
	w->inbox = h;
	pthread_mutex_unlock(&w->mu);
	worker_wake(w);
}
