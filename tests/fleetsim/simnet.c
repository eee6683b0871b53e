#include "tests/fleetsim/simnet.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/util.h"

#define SIMNET_SEC_NS (1000ull * 1000 * 1000)
#define SIMNET_OUT_MIN 2048
#define SIMNET_IN_MAX (2 * (SIMNET_RESP_MAX + SIMNET_HDRS_MAX))

enum conn_state {
	CS_NONE,
	CS_CONNECTING,
	CS_HANDSHAKE,
	CS_SENDING,
	CS_RECEIVING,
	CS_IDLE,
};

struct simnet {
	unsigned char pin[32]; /* SHA-256 of the server's SPKI */
	char host[300];        /* Host header */
	size_t host_len;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	gnutls_certificate_credentials_t cred;
	int epfd;
	struct simnet_conn *conns; /* every connection, for timeouts */
	struct simnet_conn *kicks; /* requests waiting to start */
	size_t inflight;
	uint64_t conns_opened;
	uint64_t reconnects;
	uint64_t last_scan; /* timeouts last checked, mono ns */
};

struct simnet_conn {
	struct simnet *net;
	struct simnet_conn *prev, *next; /* net->conns */
	struct simnet_conn *kick_next;   /* net->kicks */
	bool kicked;
	bool running; /* inside conn_run: a new request is sent by the loop */
	bool reused;  /* the request went out on an older connection */
	enum conn_state cs;
	int fd;
	gnutls_session_t tls;
	uint32_t ev; /* epoll interest now set */
	char *out;
	size_t out_len, out_off, out_cap;
	char *in;
	size_t in_len, in_cap;
	uint64_t t0; /* request queued, mono ns */
	simnet_done_fn *done;
	void *arg;
};

/* ---------------------------------------------------------------------
 * Server address and pin.
 */

/* SHA-256 of a certificate's SubjectPublicKeyInfo: what a pin names. */
static int
spki_hash(const gnutls_datum_t *crt_data, gnutls_x509_crt_fmt_t fmt,
    unsigned char out[32])
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_pubkey_t pub = NULL;
	unsigned char der[4096];
	size_t derlen = sizeof(der);
	int ret = -1;

	if (gnutls_x509_crt_init(&crt) < 0)
		return -1;
	if (gnutls_pubkey_init(&pub) < 0)
		goto out;
	if (gnutls_x509_crt_import(crt, crt_data, fmt) < 0 ||
	    gnutls_pubkey_import_x509(pub, crt, 0) < 0 ||
	    gnutls_pubkey_export(pub, GNUTLS_X509_FMT_DER, der, &derlen) < 0)
		goto out;
	crypto_hash_sha256(out, der, derlen);
	ret = 0;
out:
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	gnutls_x509_crt_deinit(crt);
	return ret;
}

static int
pin_from_cert(const char *path, unsigned char pin[32], char *err, size_t errlen)
{
	gnutls_datum_t pem;
	char *buf = NULL;
	size_t len = 0;
	int ret;

	if (afile_read(path, 65536, &buf, &len) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	pem.data = (unsigned char *)buf;
	pem.size = (unsigned)len;
	if ((ret = spki_hash(&pem, GNUTLS_X509_FMT_PEM, pin)) != 0)
		snprintf(err, errlen, "%s: not a PEM certificate", path);
	free(buf);
	return ret;
}

static int
pin_parse(const char *s, unsigned char pin[32], char *err, size_t errlen)
{
	if (strncmp(s, "sha256//", 8) != 0 ||
	    util_unb64(pin, 32, s + 8) != 32) {
		snprintf(err, errlen, "--pin must be sha256//<base64 SHA-256>");
		return -1;
	}
	return 0;
}

/* "https://HOST[:PORT]" (no path) to an address and a Host header. */
static int
server_parse(struct simnet *net, const char *url, char *err, size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	char host[256];
	const char *h, *port = "443", *end;
	size_t hl;
	int rc;

	if (strncmp(url, "https://", 8) != 0)
		goto bad;
	h = url + 8;
	if (*h == '[') {
		if ((end = strchr(h, ']')) == NULL)
			goto bad;
		hl = (size_t)(end - h - 1);
		h++;
		end++;
	} else {
		end = h + strcspn(h, ":/");
		hl = (size_t)(end - h);
	}
	if (hl == 0 || hl >= sizeof(host))
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (*end == ':')
		port = end + 1;
	else if (*end != '\0')
		goto bad;
	if (strchr(port, '/') != NULL || strlen(url + 8) >= sizeof(net->host))
		goto bad;
	net->host_len = util_strlcpy(net->host, url + 8, sizeof(net->host));
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	memcpy(&net->addr, ai->ai_addr, ai->ai_addrlen);
	net->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
bad:
	snprintf(err, errlen, "--server must be https://HOST:PORT");
	return -1;
}

/* ---------------------------------------------------------------------
 * HTTP/1.1 responses.
 */

/*
 * Parse a response in buf[0..len).  Returns its total length when it is
 * complete, 0 while more is needed, -1 when it is malformed.  buf must
 * have room for a NUL after len (the body is NUL-terminated in place).
 * *close is set when the server will close the connection.
 */
static ssize_t
resp_parse(char *buf, size_t len, struct simnet_resp *r, bool *close)
{
	char *eoh, *line, *next, *v, *body;
	uint64_t clen = 0;
	size_t hlen;
	int64_t st;
	char num[24];

	if ((eoh = memmem(buf, len, "\r\n\r\n", 4)) == NULL)
		return len > SIMNET_HDRS_MAX ? -1 : 0;
	hlen = (size_t)(eoh - buf) + 4;
	if (hlen < 16 ||
	    (strncmp(buf, "HTTP/1.1 ", 9) != 0 &&
		strncmp(buf, "HTTP/1.0 ", 9) != 0))
		return -1;
	memcpy(num, buf + 9, 3);
	num[3] = '\0';
	if (util_parse_i64(num, 100, 599, &st) != 0)
		return -1;
	r->status = (int)st;
	r->etag[0] = '\0';
	*close = strncmp(buf, "HTTP/1.0", 8) == 0;
	line = (char *)memchr(buf, '\n', hlen) + 1;
	for (; line < eoh; line = next) {
		size_t ll, vl;

		next = memchr(line, '\n', (size_t)(eoh + 2 - line));
		if (next == NULL || next - line < 1 || next[-1] != '\r')
			return -1;
		next++;
		ll = (size_t)(next - line) - 2; /* without CRLF */
		if ((v = memchr(line, ':', ll)) == NULL)
			continue;
		v++;
		while (v < line + ll && *v == ' ')
			v++;
		vl = (size_t)(line + ll - v);
		if (strncasecmp(line, "Content-Length:", 15) == 0) {
			if (vl == 0 || vl >= sizeof(num))
				return -1;
			memcpy(num, v, vl);
			num[vl] = '\0';
			if (util_parse_u64(num, SIMNET_RESP_MAX, &clen) != 0)
				return -1;
		} else if (strncasecmp(line, "ETag:", 5) == 0) {
			if (vl < sizeof(r->etag)) {
				memcpy(r->etag, v, vl);
				r->etag[vl] = '\0';
			}
		} else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0)
			return -1;
		else if (strncasecmp(line, "Connection:", 11) == 0 &&
		    strncasecmp(v, "close", 5) == 0)
			*close = true;
	}
	/* No body on a 304 or 204, whatever the headers say. */
	if (r->status == 304 || r->status == 204)
		clen = 0;
	if (len < hlen + clen)
		return 0;
	body = buf + hlen;
	body[clen] = '\0';
	r->body = body;
	r->body_len = (size_t)clen;
	return (ssize_t)(hlen + clen);
}

/* ---------------------------------------------------------------------
 * Connections: non-blocking TCP + GnuTLS, driven by epoll.
 */

static void
conn_want(struct simnet_conn *c, uint32_t ev)
{
	struct epoll_event e;

	if (c->ev == ev)
		return;
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.ptr = c;
	if (epoll_ctl(c->net->epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->ev = ev;
}

static void
conn_close(struct simnet_conn *c)
{
	if (c->tls != NULL) {
		/* Best effort; a blocking bye would stall the loop. */
		gnutls_bye(c->tls, GNUTLS_SHUT_WR);
		gnutls_deinit(c->tls);
		c->tls = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd); /* also leaves the epoll set */
		c->fd = -1;
	}
	c->cs = CS_NONE;
	c->ev = 0;
	c->in_len = 0;
}

static int
conn_open(struct simnet_conn *c)
{
	struct simnet *net = c->net;
	struct epoll_event e;
	int one = 1;

	c->fd = socket(
	    net->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&net->addr, net->addrlen) != 0 &&
	    errno != EINPROGRESS)
		goto err;
	memset(&e, 0, sizeof(e));
	e.events = EPOLLOUT;
	e.data.ptr = c;
	if (epoll_ctl(net->epfd, EPOLL_CTL_ADD, c->fd, &e) != 0)
		goto err;
	c->ev = EPOLLOUT;
	c->cs = CS_CONNECTING;
	c->reused = false;
	net->conns_opened++;
	return 0;
err:
	close(c->fd);
	c->fd = -1;
	return -1;
}

/* The peer's certificate key must be the pinned one. */
static int
conn_check_pin(struct simnet_conn *c)
{
	const gnutls_datum_t *certs;
	unsigned int n = 0;
	unsigned char h[32];

	certs = gnutls_certificate_get_peers(c->tls, &n);
	if (certs == NULL || n == 0 ||
	    spki_hash(&certs[0], GNUTLS_X509_FMT_DER, h) != 0)
		return -1;
	return sodium_memcmp(h, c->net->pin, sizeof(h));
}

static int
conn_start_tls(struct simnet_conn *c)
{
	if (gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0)
		return -1;
	if (gnutls_set_default_priority(c->tls) < 0 ||
	    gnutls_credentials_set(
		c->tls, GNUTLS_CRD_CERTIFICATE, c->net->cred) < 0)
		return -1;
	gnutls_transport_set_int(c->tls, c->fd);
	c->cs = CS_HANDSHAKE;
	return 0;
}

/* Make room for at least 4 KiB more input (and a NUL). */
static int
conn_in_room(struct simnet_conn *c)
{
	size_t cap;
	char *p;

	if (c->in_cap - c->in_len >= 4096)
		return 0;
	cap = c->in_cap ? c->in_cap * 2 : 8192;
	if (cap > SIMNET_IN_MAX || (p = realloc(c->in, cap)) == NULL)
		return -1;
	c->in = p;
	c->in_cap = cap;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
	/*
	 * p is held by c->in (simnet_conn_free() releases it); the analyzer
	 * does not follow c, which came through epoll's data pointer.
	 */
	return 0;
#pragma GCC diagnostic pop
}

/*
 * The request has a complete response: end it.  The callback may queue
 * the next request on c; conn_run's loop then sends it at once.
 */
static void
conn_deliver(struct simnet_conn *c, struct simnet_resp *r, bool close)
{
	simnet_done_fn *done = c->done;
	void *arg = c->arg;

	c->done = NULL;
	c->arg = NULL;
	c->net->inflight--;
	r->elapsed_us = (util_mono_ns() - c->t0) / 1000u;
	/* r points into c->in, which stays allocated across a close. */
	if (close)
		conn_close(c);
	else
		c->cs = CS_IDLE;
	done(arg, r, NULL);
}

/*
 * Move the connection on as far as it goes without blocking.  Returns -1
 * with a reason on a transport error (the caller closes and fails it).
 */
static int
conn_run(struct simnet_conn *c, const char **why)
{
	struct simnet_resp r;
	struct sockaddr_storage peer;
	socklen_t sl;
	ssize_t n;
	bool close = false;
	int rc, soerr = 0;

	for (;;) {
		switch (c->cs) {
		case CS_NONE:
			return 0;
		case CS_IDLE:
			/*
			 * Nothing to wait for until the next request; EPOLLIN
			 * stays set so a server closing the connection shows
			 * at once, and the next request needs no epoll_ctl.
			 */
			conn_want(c, EPOLLIN);
			return 0;
		case CS_CONNECTING:
			sl = sizeof(peer);
			if (getpeername(c->fd, (struct sockaddr *)&peer, &sl) !=
			    0) {
				sl = sizeof(soerr);
				if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR,
					&soerr, &sl) == 0 &&
				    soerr == 0)
					return 0; /* still connecting */
				*why = "connect failed";
				return -1;
			}
			if (conn_start_tls(c) != 0) {
				*why = "TLS set-up failed";
				return -1;
			}
			break;
		case CS_HANDSHAKE:
			rc = gnutls_handshake(c->tls);
			if (rc == GNUTLS_E_AGAIN ||
			    rc == GNUTLS_E_INTERRUPTED) {
				conn_want(c,
				    gnutls_record_get_direction(c->tls)
					? EPOLLOUT
					: EPOLLIN);
				return 0;
			}
			if (rc < 0) {
				*why = gnutls_strerror(rc);
				return -1;
			}
			if (conn_check_pin(c) != 0) {
				*why = "server key does not match the pin";
				return -1;
			}
			c->cs = CS_SENDING;
			break;
		case CS_SENDING:
			n = gnutls_record_send(c->tls, c->out + c->out_off,
			    c->out_len - c->out_off);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
				conn_want(c, EPOLLOUT);
				return 0;
			}
			if (n < 0) {
				*why = gnutls_strerror((int)n);
				return -1;
			}
			c->out_off += (size_t)n;
			if (c->out_off < c->out_len)
				break;
			/*
			 * Read at once rather than wait for epoll: it costs a
			 * recv that finds nothing, but measured under
			 * cp_checkin's full load, waiting was slower.
			 */
			c->cs = CS_RECEIVING;
			c->in_len = 0;
			conn_want(c, EPOLLIN);
			break;
		case CS_RECEIVING:
			if (conn_in_room(c) != 0) {
				*why = "response too large";
				return -1;
			}
			n = gnutls_record_recv(c->tls, c->in + c->in_len,
			    c->in_cap - c->in_len - 1);
			if (n == GNUTLS_E_AGAIN)
				return 0;
			if (n == GNUTLS_E_INTERRUPTED)
				break;
			if (n <= 0) {
				*why = n == 0 ? "connection closed"
					      : gnutls_strerror((int)n);
				return -1;
			}
			c->in_len += (size_t)n;
			if ((n = resp_parse(c->in, c->in_len, &r, &close)) <
			    0) {
				*why = "malformed response";
				return -1;
			}
			if (n == 0)
				break;
			if ((size_t)n != c->in_len) {
				*why = "bytes after the response";
				return -1;
			}
			conn_deliver(c, &r, close);
			break;
		}
	}
}

/* End the request in flight with an error; c is closed. */
static void
conn_fail(struct simnet_conn *c, const char *why)
{
	simnet_done_fn *done = c->done;
	void *arg = c->arg;

	conn_close(c);
	if (done == NULL)
		return;
	c->done = NULL;
	c->arg = NULL;
	c->net->inflight--;
	done(arg, NULL, why);
}

/*
 * Something arrived on an idle connection: TLS housekeeping (a session
 * ticket) is read and the connection kept; the end of the connection, an
 * error or bytes nobody asked for close it.
 */
static void
conn_idle_event(struct simnet_conn *c, uint32_t events)
{
	char buf[512];
	ssize_t n;

	if (events & (EPOLLHUP | EPOLLERR)) {
		conn_close(c);
		return;
	}
	do
		n = gnutls_record_recv(c->tls, buf, sizeof(buf));
	while (n == GNUTLS_E_INTERRUPTED);
	if (n != GNUTLS_E_AGAIN)
		conn_close(c);
}

/* An epoll event, or 0: a request was queued from outside the loop. */
static void
conn_event(struct simnet_conn *c, uint32_t events)
{
	const char *why = NULL;
	int rc;

	if (c->cs == CS_NONE)
		return;
	if (c->cs == CS_IDLE) {
		if (events != 0)
			conn_idle_event(c, events);
		return;
	}
	c->running = true;
	rc = conn_run(c, &why);
	c->running = false;
	if (rc == 0)
		return;
	/*
	 * A kept-alive connection the server has closed meanwhile fails
	 * before any byte of the answer: reconnect once.
	 */
	if (c->reused && c->in_len == 0) {
		conn_close(c);
		c->out_off = 0;
		c->net->reconnects++;
		if (conn_open(c) == 0)
			return;
		why = "reconnect failed";
	}
	conn_fail(c, why != NULL ? why : "transport error");
}

static void
conn_kick(struct simnet_conn *c)
{
	if (c->kicked)
		return;
	c->kicked = true;
	c->kick_next = c->net->kicks;
	c->net->kicks = c;
}

/* A queued request starts: open the connection, or send on the old one. */
static void
conn_start(struct simnet_conn *c)
{
	if (c->done == NULL)
		return;
	if (c->cs == CS_NONE) {
		if (conn_open(c) != 0)
			conn_fail(c, "cannot open a connection");
		return;
	}
	conn_event(c, 0);
}

/* ---------------------------------------------------------------------
 * The interface.
 */

int
simnet_new(const char *server, const char *pin, const char *cert_file,
    struct simnet **out, char *err, size_t errlen)
{
	struct simnet *net;

	*out = NULL;
	if ((net = calloc(1, sizeof(*net))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	net->epfd = -1;
	if ((pin != NULL
		    ? pin_parse(pin, net->pin, err, errlen)
		    : pin_from_cert(cert_file, net->pin, err, errlen)) != 0 ||
	    server_parse(net, server, err, errlen) != 0)
		goto err;
	/* No trust store: the pin is checked by hand after the handshake. */
	if (gnutls_certificate_allocate_credentials(&net->cred) < 0) {
		net->cred = NULL;
		snprintf(err, errlen, "out of memory");
		goto err;
	}
	if ((net->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto err;
	}
	*out = net;
	return 0;
err:
	simnet_free(net);
	return -1;
}

void
simnet_free(struct simnet *net)
{
	if (net == NULL)
		return;
	while (net->conns != NULL)
		simnet_conn_free(net->conns);
	if (net->cred != NULL)
		gnutls_certificate_free_credentials(net->cred);
	if (net->epfd >= 0)
		close(net->epfd);
	free(net);
}

struct simnet_conn *
simnet_conn_new(struct simnet *net)
{
	struct simnet_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->net = net;
	c->fd = -1;
	c->next = net->conns;
	if (net->conns != NULL)
		net->conns->prev = c;
	net->conns = c;
	return c;
}

void
simnet_conn_free(struct simnet_conn *c)
{
	struct simnet *net;
	struct simnet_conn **pp;

	if (c == NULL)
		return;
	net = c->net;
	conn_close(c);
	if (c->done != NULL)
		net->inflight--;
	if (c->kicked)
		for (pp = &net->kicks; *pp != NULL; pp = &(*pp)->kick_next)
			if (*pp == c) {
				*pp = c->kick_next;
				break;
			}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		net->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	/* Requests carry tags and enrollment tokens. */
	if (c->out != NULL)
		sodium_memzero(c->out, c->out_cap);
	free(c->out);
	free(c->in);
	free(c);
}

bool
simnet_conn_busy(const struct simnet_conn *c)
{
	return c->done != NULL;
}

/* Append len bytes; the caller has made room. */
static char *
put(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

int
simnet_request(struct simnet_conn *c, const char *method, const char *path,
    const char *hdrs, const char *body, size_t body_len, simnet_done_fn *done,
    void *arg)
{
	static const char ver[] = " HTTP/1.1\r\nHost: ";
	struct simnet *net = c->net;
	size_t ml = strlen(method), pl = strlen(path), xl = strlen(hdrs);
	size_t cl = 0, need;
	char clen[96], *p;

	if (c->done != NULL)
		return -1;
	if (body_len > 0)
		cl = (size_t)snprintf(clen, sizeof(clen),
		    "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n",
		    body_len);
	/*
	 * Assembled with memcpy: on cp_checkin's hot path a second
	 * snprintf of the head showed in the client's CPU per check-in.
	 */
	need = ml + 1 + pl + sizeof(ver) - 1 + net->host_len + 2 + xl + cl + 2 +
	    body_len;
	if (need > SIMNET_REQ_MAX)
		return -1;
	if (need > c->out_cap) {
		size_t cap = need < SIMNET_OUT_MIN ? SIMNET_OUT_MIN : need;

		if ((p = malloc(cap)) == NULL)
			return -1;
		if (c->out != NULL)
			sodium_memzero(c->out, c->out_cap);
		free(c->out);
		c->out = p;
		c->out_cap = cap;
	}
	p = put(c->out, method, ml);
	*p++ = ' ';
	p = put(p, path, pl);
	p = put(p, ver, sizeof(ver) - 1);
	p = put(p, net->host, net->host_len);
	p = put(p, "\r\n", 2);
	p = put(p, hdrs, xl);
	p = put(p, clen, cl);
	p = put(p, "\r\n", 2);
	if (body_len > 0)
		p = put(p, body, body_len);
	c->out_len = (size_t)(p - c->out);
	c->out_off = 0;
	c->t0 = util_mono_ns();
	c->done = done;
	c->arg = arg;
	net->inflight++;
	if (c->cs == CS_IDLE) {
		c->cs = CS_SENDING;
		c->reused = true;
	}
	/* Inside its own loop, a kept-alive connection sends at once. */
	if (!c->running || c->cs == CS_NONE)
		conn_kick(c);
	return 0;
}

void
simnet_step(struct simnet *net, int max_ms)
{
	struct simnet_conn *c, *list;
	struct epoll_event ev[512];
	uint64_t now;
	int i, n;

	/*
	 * Requests queued since the last step.  Those queued meanwhile (a
	 * callback's next request) wait for the next step, which then does
	 * not sleep: no unbounded loop here.
	 */
	list = net->kicks;
	net->kicks = NULL;
	while ((c = list) != NULL) {
		list = c->kick_next;
		c->kick_next = NULL;
		c->kicked = false;
		conn_start(c);
	}
	n = epoll_wait(
	    net->epfd, ev, (int)ARRAY_LEN(ev), net->kicks != NULL ? 0 : max_ms);
	for (i = 0; i < n; i++)
		conn_event(ev[i].data.ptr, ev[i].events);
	now = util_mono_ns();
	if (now - net->last_scan < SIMNET_SEC_NS)
		return;
	net->last_scan = now;
	for (c = net->conns; c != NULL; c = c->next)
		if (c->done != NULL &&
		    now - c->t0 > SIMNET_TIMEOUT_S * SIMNET_SEC_NS)
			conn_fail(c, "request timed out");
}

void
simnet_stats(const struct simnet *net, struct simnet_stats *st)
{
	st->conns_opened = net->conns_opened;
	st->reconnects = net->reconnects;
	st->inflight = net->inflight;
}
