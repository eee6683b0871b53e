/*
 * birdctl: one connection per call to BIRD's control socket.
 *
 * The socket is nonblocking and every wait is a poll() bounded by one
 * deadline on CLOCK_MONOTONIC, taken when the call starts: connecting,
 * the greeting, sending the command and the whole reply share
 * timeout_ms, so a BIRD that is stuck (or something else listening on
 * the path) costs a caller at most that long.
 *
 * Replies are read line by line through a fixed buffer and handed to a
 * per-command line function, so a long reply ("show protocols" on a
 * router with thousands of sessions) is never held in memory whole; only
 * its size is bounded.  BIRD itself formats CLI lines into a 512-byte
 * buffer, so BIRDCTL_LINE_MAX leaves a wide margin and a longer line
 * means the other end is not BIRD.
 */
#include "common/birdctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/priv.h"
#include "common/util.h"

#define BIRDCTL_LINE_MAX 4096           /* one reply line, without "\n" */
#define BIRDCTL_REPLY_MAX (1024 * 1024) /* one reply, greeting included */
#define BIRDCTL_RETRY_MS 10             /* pause while the backlog is full */
#define BIRDCTL_SHOW_MAX 60             /* bytes of a bad line in err */

/*
 * Called for each reply line but "+" lines.  code is the line's own code,
 * or for a continuation the code it continues; text is the line without
 * its code and separator, NUL-terminated; end is set for the final line.
 * Returns 0, or -1 with a message in err to abandon the reply.
 */
typedef int (*birdctl_line_fn)(
    void *arg, int code, const char *text, bool end, char *err, size_t errlen);

struct birdctl_req {
	const char *cmd;
	int timeout_ms;
	birdctl_line_fn line; /* may be NULL */
	void *arg;
	int code;       /* out: the final line's code */
	char last[512]; /* out: the final line's text, cut to fit */
};

struct birdctl_conn {
	int fd;
	uint64_t deadline; /* util_mono_ns() */
	size_t total;      /* bytes received so far */
	size_t off, len;   /* unread bytes are buf[off, len) */
	char *err;
	size_t errlen;
	char buf[2 * (BIRDCTL_LINE_MAX + 1)];
};

__attribute__((format(printf, 3, 4))) static void
birdctl_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Milliseconds to the deadline, rounded up so a wait never spins. */
static int
birdctl_left_ms(uint64_t deadline)
{
	uint64_t now = util_mono_ns(), ms;

	if (now >= deadline)
		return 0;
	ms = (deadline - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/*
 * Wait until fd is ready for events.  POLLERR and POLLHUP count as ready:
 * the read or send that follows reports them with an errno.
 */
static int
birdctl_wait(struct birdctl_conn *c, short events)
{
	struct pollfd pfd = { .fd = c->fd, .events = events };
	int ms, n;

	for (;;) {
		if ((ms = birdctl_left_ms(c->deadline)) == 0) {
			birdctl_err(c->err, c->errlen, "timed out");
			return -1;
		}
		n = poll(&pfd, 1, ms);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			birdctl_err(
			    c->err, c->errlen, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

/*
 * Connect c->fd to path.  A nonblocking connect() on a Unix socket whose
 * listen backlog is full fails with EAGAIN instead of queueing, so that
 * is retried until the deadline; a BIRD too busy to accept is the same
 * to the caller as one too busy to answer.
 */
static int
birdctl_connect(struct birdctl_conn *c, const char *path)
{
	struct sockaddr_un sun;
	socklen_t sl;
	int e;

	if (priv_client_fd() >= 0) {
		/* BIRD's socket is root's: the privileged part connects. */
		if ((c->fd = priv_connect_unix(path)) < 0 ||
		    fcntl(c->fd, F_SETFL, O_NONBLOCK) != 0) {
			birdctl_err(c->err, c->errlen, "connect %s: %s", path,
			    strerror(errno));
			return -1;
		}
		return 0;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (util_strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		birdctl_err(
		    c->err, c->errlen, "%s: socket path too long", path);
		return -1;
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		birdctl_err(c->err, c->errlen, "socket: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return 0;
		if (errno == EINPROGRESS || errno == EINTR)
			break;
		if (errno != EAGAIN) {
			birdctl_err(c->err, c->errlen, "connect %s: %s", path,
			    strerror(errno));
			return -1;
		}
		e = birdctl_left_ms(c->deadline);
		if (e == 0) {
			birdctl_err(c->err, c->errlen, "timed out");
			return -1;
		}
		(void)poll(
		    NULL, 0, e < BIRDCTL_RETRY_MS ? e : BIRDCTL_RETRY_MS);
	}
	/* In progress: writable once it is done, either way. */
	if (birdctl_wait(c, POLLOUT) != 0)
		return -1;
	e = 0;
	sl = sizeof(e);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &sl) != 0)
		e = errno;
	if (e != 0) {
		birdctl_err(
		    c->err, c->errlen, "connect %s: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

static int
birdctl_send(struct birdctl_conn *c, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (birdctl_wait(c, POLLOUT) != 0)
				return -1;
			continue;
		}
		birdctl_err(c->err, c->errlen, "send: %s",
		    n < 0 ? strerror(errno) : "nothing sent");
		return -1;
	}
	return 0;
}

/* Copy up to BIRDCTL_SHOW_MAX bytes of s, anything unprintable as '?'. */
static void
birdctl_show(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t i;

	if (len > BIRDCTL_SHOW_MAX)
		len = BIRDCTL_SHOW_MAX;
	if (len > dstlen - 1)
		len = dstlen - 1;
	for (i = 0; i < len; i++)
		dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	dst[len] = '\0';
}

/*
 * The next line, "\n" replaced by NUL, in *line (valid until the next
 * call) and its length in *len.
 */
static int
birdctl_getline(struct birdctl_conn *c, char **line, size_t *len)
{
	for (;;) {
		char *p = c->buf + c->off, *nl;
		size_t have = c->len - c->off;
		ssize_t n;

		nl = memchr(p, '\n', have);
		if ((nl != NULL ? (size_t)(nl - p) : have) > BIRDCTL_LINE_MAX) {
			birdctl_err(c->err, c->errlen,
			    "reply line longer than %d bytes",
			    BIRDCTL_LINE_MAX);
			return -1;
		}
		if (nl != NULL) {
			*nl = '\0';
			*line = p;
			*len = (size_t)(nl - p);
			c->off += *len + 1;
			return 0;
		}
		/* Room for the rest of a line of the maximal length. */
		if (c->off > 0) {
			memmove(c->buf, p, have);
			c->off = 0;
			c->len = have;
		}
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
			c->total += (size_t)n;
			if (c->total > BIRDCTL_REPLY_MAX) {
				birdctl_err(c->err, c->errlen,
				    "reply longer than %d bytes",
				    BIRDCTL_REPLY_MAX);
				return -1;
			}
			continue;
		}
		if (n == 0) {
			birdctl_err(c->err, c->errlen,
			    "connection closed before the end of the reply");
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			birdctl_err(
			    c->err, c->errlen, "recv: %s", strerror(errno));
			return -1;
		}
		if (birdctl_wait(c, POLLIN) != 0)
			return -1;
	}
}

/* The code of a line "CCCC-..." or "CCCC ...", or -1. */
static int
birdctl_code(const char *s, size_t len)
{
	int i, code = 0;

	if (len < 5 || (s[4] != '-' && s[4] != ' '))
		return -1;
	for (i = 0; i < 4; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		code = code * 10 + (s[i] - '0');
	}
	return code;
}

/*
 * Read one reply up to its final line, passing its lines to req->line
 * when that is set.  A continuation line continues the code of the line
 * before it, so one cannot come first.
 */
static int
birdctl_reply(struct birdctl_conn *c, struct birdctl_req *req)
{
	char show[BIRDCTL_SHOW_MAX + 1], *line;
	const char *text;
	int cur = -1, code;
	bool end;
	size_t len;

	for (;;) {
		if (birdctl_getline(c, &line, &len) != 0)
			return -1;
		if (line[0] == '+')
			continue;
		if (strlen(line) != len) /* a NUL byte */
			code = -1;
		else if (line[0] == ' ' && cur >= 0)
			code = cur;
		else
			code = birdctl_code(line, len);
		if (code < 0) {
			birdctl_show(show, sizeof(show), line, len);
			birdctl_err(c->err, c->errlen,
			    "not a BIRD reply line: \"%s\"", show);
			return -1;
		}
		end = line[0] != ' ' && line[4] == ' ';
		text = line[0] == ' ' ? line + 1 : line + 5;
		cur = code;
		if (req->line != NULL &&
		    req->line(req->arg, code, text, end, c->err, c->errlen) !=
			0)
			return -1;
		if (end) {
			req->code = code;
			util_strlcpy(req->last, text, sizeof(req->last));
			return 0;
		}
	}
}

/* Connect, read the greeting, send req->cmd and read the reply. */
static int
birdctl_run(const char *path, struct birdctl_req *req, char *err, size_t errlen)
{
	struct birdctl_conn c;
	struct birdctl_req greet = { .cmd = NULL };
	int rc = -1;

	req->code = -1;
	req->last[0] = '\0';
	if (req->cmd[0] == '\0' || strpbrk(req->cmd, "\r\n") != NULL) {
		birdctl_err(err, errlen, "command must be one non-empty line");
		return -1;
	}
	if (strlen(req->cmd) >= BIRDCTL_LINE_MAX) {
		birdctl_err(err, errlen, "command longer than %d bytes",
		    BIRDCTL_LINE_MAX - 1);
		return -1;
	}
	if (req->timeout_ms <= 0) {
		birdctl_err(err, errlen, "timeout must be positive");
		return -1;
	}
	c.fd = -1;
	c.deadline = util_mono_ns() + (uint64_t)req->timeout_ms * 1000000;
	c.total = c.off = c.len = 0;
	c.err = err;
	c.errlen = errlen;
	if (birdctl_connect(&c, path) != 0)
		goto out;
	if (birdctl_reply(&c, &greet) != 0)
		goto out;
	if (greet.code != 1) {
		birdctl_err(err, errlen, "%s: greeting %04d, not 0001", path,
		    greet.code);
		goto out;
	}
	if (birdctl_send(&c, req->cmd, strlen(req->cmd)) != 0 ||
	    birdctl_send(&c, "\n", 1) != 0)
		goto out;
	rc = birdctl_reply(&c, req);
out:
	if (c.fd >= 0)
		close(c.fd);
	return rc;
}

struct birdctl_text {
	char *out;
	size_t outlen, used;
	bool first;
};

/* Append s to out, cut to fit. */
static void
birdctl_text_put(struct birdctl_text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->outlen == 0)
		return;
	if (n > t->outlen - 1 - t->used)
		n = t->outlen - 1 - t->used;
	memcpy(t->out + t->used, s, n);
	t->used += n;
	t->out[t->used] = '\0';
}

/*
 * The final line comes here too, as it holds the answer of many commands
 * ("0013 Daemon is up and running"); the empty text of "0000 ", which
 * ends tables, adds nothing.
 */
static int
birdctl_text_line(
    void *arg, int code, const char *text, bool end, char *err, size_t errlen)
{
	struct birdctl_text *t = arg;

	(void)code;
	(void)err;
	(void)errlen;
	if (end && text[0] == '\0')
		return 0;
	if (!t->first)
		birdctl_text_put(t, "\n");
	birdctl_text_put(t, text);
	t->first = false;
	return 0;
}

int
birdctl_cmd(const char *path, const char *cmd, int timeout_ms, int *code,
    char *out, size_t outlen, char *err, size_t errlen)
{
	struct birdctl_text t = { out, outlen, 0, true };
	struct birdctl_req req = { .cmd = cmd, .timeout_ms = timeout_ms };
	int rc;

	if (out != NULL && outlen > 0)
		out[0] = '\0';
	else
		t.outlen = 0;
	req.line = birdctl_text_line;
	req.arg = &t;
	rc = birdctl_run(path, &req, err, errlen);
	if (code != NULL)
		*code = rc == 0 ? req.code : -1;
	return rc;
}

int
birdctl_configure(const char *path, const char *file, char *err, size_t errlen)
{
	struct birdctl_req req = { .timeout_ms = BIRDCTL_TIMEOUT_MS };
	char cmd[BIRDCTL_LINE_MAX];

	if (file == NULL)
		util_strlcpy(cmd, "configure", sizeof(cmd));
	else if (file[0] == '\0' || strpbrk(file, "\"\\\r\n") != NULL) {
		/* BIRD's lexer has no escapes we could rely on. */
		birdctl_err(err, errlen,
		    "configuration file name empty or with a quote, "
		    "backslash or line break");
		return -1;
	} else if ((size_t)snprintf(cmd, sizeof(cmd), "configure \"%s\"",
		       file) >= sizeof(cmd)) {
		birdctl_err(err, errlen, "configuration file name too long");
		return -1;
	}
	req.cmd = cmd;
	if (birdctl_run(path, &req, err, errlen) != 0)
		return -1;
	if (req.code == 3 || req.code == 4 || req.code == 5)
		return 0;
	birdctl_err(err, errlen, "%04d %s", req.code, req.last);
	return -1;
}

/* Skip spaces, then one word: *w and *wlen, which are empty at the end. */
static const char *
birdctl_word(const char *p, const char **w, size_t *wlen)
{
	while (*p == ' ')
		p++;
	*w = p;
	while (*p != '\0' && *p != ' ')
		p++;
	*wlen = (size_t)(p - *w);
	return p;
}

/*
 * The shapes of BIRD's time formats: a date is digits with "-", "/" or
 * "." between them ("2026-11-24"), a time digits with ":" and maybe "."
 * ("18:43:53", "18:43:53.144").  Neither is a whole parser: they only
 * tell a date followed by a time, which is one "Since", from a date
 * followed by the info.  A word has the shape when it starts with a
 * digit, has only digits and bytes of seps, and at least one of need.
 */
static bool
birdctl_shape(const char *w, size_t len, const char *seps, const char *need)
{
	bool seen = false;
	size_t i;

	if (len < 3 || w[0] < '0' || w[0] > '9')
		return false;
	for (i = 0; i < len; i++) {
		if (w[i] >= '0' && w[i] <= '9')
			continue;
		if (strchr(seps, w[i]) == NULL)
			return false;
		if (strchr(need, w[i]) != NULL)
			seen = true;
	}
	return seen;
}

static bool
birdctl_is_date(const char *w, size_t len)
{
	return birdctl_shape(w, len, "-/.", "-/.");
}

static bool
birdctl_is_time(const char *w, size_t len)
{
	return birdctl_shape(w, len, ":.", ":");
}

/* Copy len bytes of s into dst (size dstlen), cut to fit. */
static void
birdctl_put(char *dst, size_t dstlen, const char *s, size_t len)
{
	if (len > dstlen - 1)
		len = dstlen - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/*
 * One row of "show protocols", which BIRD prints as
 * "%-10s %-10s %-10s %-6s %-12s  %s": name, protocol, table and state
 * have no spaces, the time may have one (a date and a time) and the info
 * is the rest, padded with spaces that are dropped here.
 */
static int
birdctl_proto_parse(const char *text, struct birdctl_proto *r)
{
	struct {
		char *dst;
		size_t len;
	} f[] = {
		{ r->name, sizeof(r->name) },
		{ r->proto, sizeof(r->proto) },
		{ r->table, sizeof(r->table) },
		{ r->state, sizeof(r->state) },
	};
	const char *p = text, *w, *since, *q;
	size_t i, wlen, slen;

	for (i = 0; i < ARRAY_LEN(f); i++) {
		p = birdctl_word(p, &w, &wlen);
		if (wlen == 0)
			return -1;
		birdctl_put(f[i].dst, f[i].len, w, wlen);
	}
	p = birdctl_word(p, &since, &slen);
	if (slen == 0)
		return -1;
	q = birdctl_word(p, &w, &wlen);
	if (birdctl_is_date(since, slen) && birdctl_is_time(w, wlen)) {
		p = q;
		slen = (size_t)(p - since);
	}
	birdctl_put(r->since, sizeof(r->since), since, slen);
	while (*p == ' ')
		p++;
	wlen = strlen(p);
	while (wlen > 0 && p[wlen - 1] == ' ')
		wlen--;
	birdctl_put(r->info, sizeof(r->info), p, wlen);
	return 0;
}

struct birdctl_rows {
	struct birdctl_proto *rows;
	size_t max, n;
};

static int
birdctl_rows_line(
    void *arg, int code, const char *text, bool end, char *err, size_t errlen)
{
	struct birdctl_rows *t = arg;
	struct birdctl_proto row;
	char show[BIRDCTL_SHOW_MAX + 1];

	(void)end;
	if (code != 1002)
		return 0;
	if (birdctl_proto_parse(text, &row) != 0) {
		birdctl_show(show, sizeof(show), text, strlen(text));
		birdctl_err(
		    err, errlen, "bad show protocols row: \"%s\"", show);
		return -1;
	}
	if (t->n < t->max)
		t->rows[t->n++] = row;
	return 0;
}

int
birdctl_protocols(const char *path, struct birdctl_proto *rows, size_t max,
    size_t *n, char *err, size_t errlen)
{
	struct birdctl_rows t = { rows, max, 0 };
	struct birdctl_req req = { .cmd = "show protocols",
		.timeout_ms = BIRDCTL_TIMEOUT_MS,
		.line = birdctl_rows_line,
		.arg = &t };

	*n = 0;
	if (birdctl_run(path, &req, err, errlen) != 0)
		return -1;
	if (req.code >= 1000) {
		birdctl_err(err, errlen, "%04d %s", req.code, req.last);
		return -1;
	}
	*n = t.n;
	return 0;
}
