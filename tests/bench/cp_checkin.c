/*
 * cp_checkin: how many unchanged-state check-ins edge-cp answers per
 * second and per CPU-second (SPEC §8: >= 20,000 per edge-cp CPU-second).
 *
 *	cp_checkin --server URL (--pin sha256//... | --cert tls.crt)
 *		   --token ENROLLTOKEN --nodes N --seconds S
 *		   [--json FILE] [--cp-pid PID]
 *
 * With real keys and real HTTPS:
 *
 *  1. setup: N nodes enroll (Ed25519 key pair, proof of possession), open
 *     a session (signed X25519 handshake) and fetch their desired state
 *     once (200 + ETag), at most BENCH_SETUP_INFLIGHT at a time;
 *  2. warm-up: every node polls GET /v1/node/desired with If-None-Match,
 *     back to back, over its own kept-alive TLS connection, until each has
 *     had an answer and at least a second has passed;
 *  3. measurement, S seconds of the same.  Counted: answers, latency
 *     (request queued to response parsed), answers other than 304, new
 *     connections, and edge-cp's utime+stime from /proc/PID/stat.
 *
 * The client is one thread, non-blocking GnuTLS sockets and epoll, with
 * HTTP/1.1 written and parsed by hand.  It shares the machine with the
 * server it measures, so its own cost per check-in matters: through the
 * libcurl multi interface it was about 45 µs of CPU, more than edge-cp's
 * own, and the client was the bottleneck; this way it is a few µs (one
 * TLS record each way, one HMAC, no allocation in the steady state).  The
 * requests are those of tests/tools/nodeclient.c, the reference client.
 *
 * edge-cp limits connections per client address (--per-ip-limit, default
 * 64): start it with a limit above N for this benchmark.
 *
 * Exit status: 0 when the run completed without an error or an answer
 * other than 304, 1 otherwise, 2 on a usage error.  Tests never assert on
 * the figures (STYLE.md); tests/bench/run.sh prints them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/json.h"
#include "common/nodeauth.h"
#include "common/util.h"

#define BENCH_NODES_MAX		5000
#define BENCH_SECONDS_MAX	600
#define BENCH_SETUP_INFLIGHT	64
#define BENCH_REQ_MAX		2048
#define BENCH_RESP_MAX		(256u << 10)
#define BENCH_HDRS_MAX		(16u << 10)
#define BENCH_SEC_NS		(1000ull * 1000 * 1000)
#define BENCH_WARMUP_MIN_NS	(1 * BENCH_SEC_NS)
#define BENCH_WARMUP_MAX_NS	(60 * BENCH_SEC_NS)
#define BENCH_SETUP_MAX_NS	(300 * BENCH_SEC_NS)
#define BENCH_DRAIN_MAX_NS	(10 * BENCH_SEC_NS)
#define BENCH_REQ_TIMEOUT_NS	(30 * BENCH_SEC_NS)
#define BENCH_TARGET		20000	/* check-ins per edge-cp CPU-second */

/*
 * Latency histogram in microseconds, log-linear: exact below 64 µs, then
 * 64 buckets per power of two (under 1.6 % error) up to 2^34 µs.
 */
#define HIST_SUB	64
#define HIST_BUCKETS	(HIST_SUB + (34 - 6) * HIST_SUB)

struct hist {
	uint64_t	b[HIST_BUCKETS];
	uint64_t	n;
	uint64_t	max_us;
};

/*
 * A node's connection, one request at a time:
 *
 *	NONE ─▶ CONNECTING ─▶ HANDSHAKE ─▶ SENDING ─▶ RECEIVING
 *	  ▲                    (pin checked)  ▲            │ response
 *	  │                                   └─── IDLE ◀──┘
 *	  └── any error, a timeout, or "Connection: close" (back to NONE;
 *	      the next request opens a new connection)
 */
enum conn_state {
	CS_NONE,
	CS_CONNECTING,
	CS_HANDSHAKE,
	CS_SENDING,
	CS_RECEIVING,
	CS_IDLE,
};

/* What the node is doing, protocol-wise. */
enum bn_phase {
	BN_WAIT,	/* setup not started */
	BN_ENROLL,
	BN_SESSION,
	BN_FIRST,	/* the first GET desired: 200 and the ETag */
	BN_READY,	/* set up, not polling */
	BN_POLL,
	BN_STOPPED,	/* gave up after an error */
};

struct bench;

struct resp {
	int	status;
	char	etag[96];
	char	*body;		/* into the node's input buffer */
	size_t	body_len;
	bool	close;		/* "Connection: close" */
};

struct bnode {
	struct bench		*b;
	size_t			 idx;
	enum bn_phase		 phase;

	/* Identity and session. */
	char			 id[40];
	unsigned char		 sk[crypto_sign_SECRETKEYBYTES];
	unsigned char		 kx_pk[crypto_kx_PUBLICKEYBYTES];
	unsigned char		 kx_sk[crypto_kx_SECRETKEYBYTES];
	char			 sid[NODEAUTH_SIDHEX + 1];
	unsigned char		 key[NODEAUTH_KEYBYTES];
	uint64_t		 ctr;
	char			 etag[96];

	/* Connection. */
	enum conn_state		 cs;
	int			 fd;
	gnutls_session_t	 tls;
	uint32_t		 ev;		/* epoll interest now set */
	bool			 reused;	/* request on an older conn */
	char			 out[BENCH_REQ_MAX];
	size_t			 out_len, out_off;
	char			*in;
	size_t			 in_len, in_cap;
	uint64_t		 t0;		/* request queued, mono ns */
};

struct bench_opts {
	const char	*server;
	const char	*pin;
	const char	*cert;
	const char	*token;
	const char	*json;
	int64_t		 nodes;
	int64_t		 seconds;
	int64_t		 cp_pid;
};

struct bench {
	const struct bench_opts		*o;
	unsigned char			 pin[32];	/* SHA-256 of SPKI */
	char				 host[300];	/* Host header */
	struct sockaddr_storage		 addr;
	socklen_t			 addrlen;
	gnutls_certificate_credentials_t cred;
	unsigned char			 empty_hash[32];
	int				 epfd;
	struct bnode			*nodes;
	size_t				 n;

	/* Setup. */
	size_t			 setup_next;
	size_t			 setup_active;
	size_t			 ready;
	size_t			 setup_failed;
	bool			 in_setup_next;

	/* Polling. */
	bool			 measuring;
	bool			 stopping;
	size_t			 first_polls;	/* nodes with >= 1 poll done */
	size_t			 busy;		/* requests in flight */
	uint64_t		 checkins;
	uint64_t		 non304;
	uint64_t		 errors;
	uint64_t		 new_conns;	/* opened while measuring */
	size_t			 stopped;
	struct hist		 hist;
	uint64_t		 last_scan;	/* timeouts last checked */
	char			 first_err[512];
};

static void	bn_response(struct bnode *, const struct resp *);
static void	bn_failed(struct bnode *, const char *);

/* ---------------------------------------------------------------------
 * Small helpers.
 */

static unsigned
hist_bucket(uint64_t us)
{
	unsigned e;

	if (us < HIST_SUB)
		return (unsigned)us;
	e = 63u - (unsigned)__builtin_clzll(us);	/* e >= 6 */
	if (e >= 34)
		return HIST_BUCKETS - 1;
	return HIST_SUB + (e - 6) * HIST_SUB +
	    (unsigned)((us >> (e - 6)) - HIST_SUB);
}

/* The middle of a bucket, in microseconds. */
static double
hist_value(unsigned idx)
{
	unsigned e, m;

	if (idx < HIST_SUB)
		return idx;
	e = (idx - HIST_SUB) / HIST_SUB + 6;
	m = (idx - HIST_SUB) % HIST_SUB + HIST_SUB;
	return (double)((uint64_t)m << (e - 6)) +
	    (double)(1ull << (e - 6)) / 2.0;
}

static void
hist_add(struct hist *h, uint64_t us)
{
	h->b[hist_bucket(us)]++;
	h->n++;
	if (us > h->max_us)
		h->max_us = us;
}

/* The p-quantile (0 < p <= 1) in milliseconds; 0 when empty. */
static double
hist_quantile_ms(const struct hist *h, double p)
{
	uint64_t want, seen = 0;
	unsigned i;

	if (h->n == 0)
		return 0.0;
	want = (uint64_t)(p * (double)h->n + 0.999999);
	if (want == 0)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want)
			return hist_value(i) / 1000.0;
	}
	return (double)h->max_us / 1000.0;
}

/* utime + stime of a process, in clock ticks. */
static int
proc_cpu_ticks(pid_t pid, uint64_t *ticks)
{
	char path[64], buf[2048], *p, *end;
	unsigned long long ut, st;
	size_t n;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and ')': skip past the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	p++;
	/* Fields 3..13, then utime (14) and stime (15). */
	for (i = 3; i < 14; i++) {
		while (*p == ' ')
			p++;
		if ((p = strchr(p, ' ')) == NULL)
			return -1;
	}
	errno = 0;
	ut = strtoull(p, &end, 10);
	if (end == p || errno != 0)
		return -1;
	p = end;
	st = strtoull(p, &end, 10);
	if (end == p || errno != 0)
		return -1;
	*ticks = ut + st;
	return 0;
}

static double
self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0.0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

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
pin_from_cert(const char *path, unsigned char pin[32], char *err,
    size_t errlen)
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

/*
 * "https://HOST[:PORT]" (no path) to an address and a Host header.
 * Resolved once, at start.
 */
static int
server_parse(struct bench *b, const char *url, char *err, size_t errlen)
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
	if (strchr(port, '/') != NULL || strlen(url + 8) >= sizeof(b->host))
		goto bad;
	util_strlcpy(b->host, url + 8, sizeof(b->host));
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	memcpy(&b->addr, ai->ai_addr, ai->ai_addrlen);
	b->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
bad:
	snprintf(err, errlen, "--server must be https://HOST:PORT");
	return -1;
}

static void
bench_fail(struct bench *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Remember the first problem for the summary; later ones only count. */
static void
bench_fail(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	if (b->first_err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(b->first_err, sizeof(b->first_err), fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------------
 * HTTP/1.1 responses.  edge-cp answers with Content-Length, never chunked.
 */

/* Headers end, or NULL while incomplete. */
static char *
resp_headers_end(char *buf, size_t len)
{
	return memmem(buf, len, "\r\n\r\n", 4);
}

/*
 * Parse a response in buf[0..len).  Returns its total length when it is
 * complete, 0 while more is needed, -1 when it is malformed.  buf must
 * have room for a NUL after len (the body is NUL-terminated in place).
 */
static ssize_t
resp_parse(char *buf, size_t len, struct resp *r)
{
	char *eoh, *line, *next, *v;
	uint64_t clen = 0;
	size_t hlen;
	int64_t st;
	char num[24];

	memset(r, 0, sizeof(*r));
	if ((eoh = resp_headers_end(buf, len)) == NULL)
		return len > BENCH_HDRS_MAX ? -1 : 0;
	hlen = (size_t)(eoh - buf) + 4;
	if (hlen < 16 || (strncmp(buf, "HTTP/1.1 ", 9) != 0 &&
	    strncmp(buf, "HTTP/1.0 ", 9) != 0))
		return -1;
	memcpy(num, buf + 9, 3);
	num[3] = '\0';
	if (util_parse_i64(num, 100, 599, &st) != 0)
		return -1;
	r->status = (int)st;
	r->close = strncmp(buf, "HTTP/1.0", 8) == 0;
	line = (char *)memchr(buf, '\n', hlen) + 1;
	for (; line < eoh; line = next) {
		size_t ll;

		next = memchr(line, '\n', (size_t)(eoh + 2 - line));
		if (next == NULL || next - line < 1 || next[-1] != '\r')
			return -1;
		next++;
		ll = (size_t)(next - line) - 2;	/* without CRLF */
		if ((v = memchr(line, ':', ll)) == NULL)
			continue;
		v++;
		while (v < line + ll && *v == ' ')
			v++;
		if (strncasecmp(line, "Content-Length:", 15) == 0) {
			size_t vl = (size_t)(line + ll - v);

			if (vl == 0 || vl >= sizeof(num))
				return -1;
			memcpy(num, v, vl);
			num[vl] = '\0';
			if (util_parse_u64(num, BENCH_RESP_MAX, &clen) != 0)
				return -1;
		} else if (strncasecmp(line, "ETag:", 5) == 0) {
			size_t vl = (size_t)(line + ll - v);

			if (vl < sizeof(r->etag)) {
				memcpy(r->etag, v, vl);
				r->etag[vl] = '\0';
			}
		} else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0)
			return -1;
		else if (strncasecmp(line, "Connection:", 11) == 0 &&
		    strncasecmp(v, "close", 5) == 0)
			r->close = true;
	}
	/* No body on a 304 or 204, whatever the headers say. */
	if (r->status == 304 || r->status == 204)
		clen = 0;
	if (len < hlen + clen)
		return 0;
	r->body = buf + hlen;
	r->body_len = (size_t)clen;
	r->body[clen] = '\0';
	return (ssize_t)(hlen + clen);
}

/* ---------------------------------------------------------------------
 * Connections: non-blocking TCP + GnuTLS, driven by epoll.
 */

static void
conn_want(struct bnode *nd, uint32_t ev)
{
	struct epoll_event e;

	if (nd->ev == ev)
		return;
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.ptr = nd;
	if (epoll_ctl(nd->b->epfd, EPOLL_CTL_MOD, nd->fd, &e) == 0)
		nd->ev = ev;
}

static void
conn_close(struct bnode *nd)
{
	if (nd->tls != NULL) {
		/* Best effort; a blocking bye would stall the loop. */
		gnutls_bye(nd->tls, GNUTLS_SHUT_WR);
		gnutls_deinit(nd->tls);
		nd->tls = NULL;
	}
	if (nd->fd >= 0) {
		close(nd->fd);	/* also leaves the epoll set */
		nd->fd = -1;
	}
	nd->cs = CS_NONE;
	nd->ev = 0;
	nd->in_len = 0;
}

static int
conn_open(struct bnode *nd)
{
	struct bench *b = nd->b;
	struct epoll_event e;
	int one = 1;

	nd->fd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (nd->fd < 0)
		return -1;
	setsockopt(nd->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(nd->fd, (struct sockaddr *)&b->addr, b->addrlen) != 0 &&
	    errno != EINPROGRESS)
		goto err;
	memset(&e, 0, sizeof(e));
	e.events = EPOLLOUT;
	e.data.ptr = nd;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, nd->fd, &e) != 0)
		goto err;
	nd->ev = EPOLLOUT;
	nd->cs = CS_CONNECTING;
	nd->reused = false;
	if (b->measuring)
		b->new_conns++;
	return 0;
err:
	close(nd->fd);
	nd->fd = -1;
	return -1;
}

/* The peer's certificate key must be the pinned one. */
static int
conn_check_pin(struct bnode *nd)
{
	const gnutls_datum_t *certs;
	unsigned int n = 0;
	unsigned char h[32];

	certs = gnutls_certificate_get_peers(nd->tls, &n);
	if (certs == NULL || n == 0 ||
	    spki_hash(&certs[0], GNUTLS_X509_FMT_DER, h) != 0)
		return -1;
	return sodium_memcmp(h, nd->b->pin, sizeof(h));
}

static int
conn_start_tls(struct bnode *nd)
{
	if (gnutls_init(&nd->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0)
		return -1;
	if (gnutls_set_default_priority(nd->tls) < 0 ||
	    gnutls_credentials_set(nd->tls, GNUTLS_CRD_CERTIFICATE,
	    nd->b->cred) < 0)
		return -1;
	gnutls_transport_set_int(nd->tls, nd->fd);
	nd->cs = CS_HANDSHAKE;
	return 0;
}

/*
 * Move the connection on as far as it goes without blocking, delivering a
 * complete response to bn_response(), which may queue the next request on
 * the same connection: the loop then sends it at once, so a node in the
 * steady state costs no epoll_ctl and no recursion.  Returns -1 with a
 * reason on a transport error (the caller closes).
 */
static int
conn_run(struct bnode *nd, const char **why)
{
	struct resp r;
	ssize_t n;
	int rc, soerr = 0;
	socklen_t sl;
	struct sockaddr_storage peer;

	for (;;) {
		switch (nd->cs) {
		case CS_NONE:
			return 0;
		case CS_IDLE:
			/* Nothing to wait for until the next request. */
			conn_want(nd, 0);
			return 0;
		case CS_CONNECTING:
			sl = sizeof(peer);
			if (getpeername(nd->fd, (struct sockaddr *)&peer,
			    &sl) != 0) {
				sl = sizeof(soerr);
				if (getsockopt(nd->fd, SOL_SOCKET, SO_ERROR,
				    &soerr, &sl) == 0 && soerr == 0)
					return 0;	/* still connecting */
				*why = "connect failed";
				return -1;
			}
			if (conn_start_tls(nd) != 0) {
				*why = "TLS set-up failed";
				return -1;
			}
			break;
		case CS_HANDSHAKE:
			rc = gnutls_handshake(nd->tls);
			if (rc == GNUTLS_E_AGAIN ||
			    rc == GNUTLS_E_INTERRUPTED) {
				conn_want(nd, gnutls_record_get_direction(
				    nd->tls) ? EPOLLOUT : EPOLLIN);
				return 0;
			}
			if (rc < 0) {
				*why = gnutls_strerror(rc);
				return -1;
			}
			if (conn_check_pin(nd) != 0) {
				*why = "server key does not match the pin";
				return -1;
			}
			nd->cs = CS_SENDING;
			break;
		case CS_SENDING:
			n = gnutls_record_send(nd->tls, nd->out + nd->out_off,
			    nd->out_len - nd->out_off);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
				conn_want(nd, EPOLLOUT);
				return 0;
			}
			if (n < 0) {
				*why = gnutls_strerror((int)n);
				return -1;
			}
			nd->out_off += (size_t)n;
			if (nd->out_off == nd->out_len) {
				nd->cs = CS_RECEIVING;
				nd->in_len = 0;
				conn_want(nd, EPOLLIN);
			}
			break;
		case CS_RECEIVING:
			if (nd->in_cap - nd->in_len < 4096) {
				size_t cap = nd->in_cap ? nd->in_cap * 2 : 8192;
				char *p;

				if (cap > 2 * (BENCH_RESP_MAX +
				    BENCH_HDRS_MAX) ||
				    (p = realloc(nd->in, cap)) == NULL) {
					*why = "response too large";
					return -1;
				}
				nd->in = p;
				nd->in_cap = cap;
			}
			n = gnutls_record_recv(nd->tls, nd->in + nd->in_len,
			    nd->in_cap - nd->in_len - 1);
			if (n == GNUTLS_E_AGAIN)
				return 0;
			if (n == GNUTLS_E_INTERRUPTED)
				break;
			if (n <= 0) {
				*why = n == 0 ? "connection closed" :
				    gnutls_strerror((int)n);
				return -1;
			}
			nd->in_len += (size_t)n;
			if ((n = resp_parse(nd->in, nd->in_len, &r)) < 0) {
				*why = "malformed response";
				return -1;
			}
			if (n == 0)
				break;
			if ((size_t)n != nd->in_len) {
				*why = "bytes after the response";
				return -1;
			}
			nd->b->busy--;
			/*
			 * r points into nd->in, which stays allocated; a
			 * closing server means the next request reconnects.
			 */
			if (r.close)
				conn_close(nd);
			else
				nd->cs = CS_IDLE;
			bn_response(nd, &r);
			break;
		}
	}
}

/* An epoll event (or 0: a request was queued from outside the loop). */
static void
conn_event(struct bnode *nd, uint32_t events)
{
	const char *why = NULL;

	if (nd->cs == CS_NONE)
		return;
	if (nd->cs == CS_IDLE) {
		/* Only hang-ups arrive while idle: the server closed it. */
		if (events & (EPOLLHUP | EPOLLERR))
			conn_close(nd);
		return;
	}
	if (conn_run(nd, &why) == 0)
		return;
	/*
	 * A kept-alive connection the server has closed meanwhile fails
	 * before any byte of the answer: reconnect once, as libcurl and
	 * browsers do.
	 */
	if (nd->reused && nd->in_len == 0) {
		conn_close(nd);
		nd->out_off = 0;
		if (conn_open(nd) == 0)
			return;
		why = "reconnect failed";
	}
	conn_close(nd);
	nd->b->busy--;
	bn_failed(nd, why != NULL ? why : "transport error");
}

/*
 * Queue the request in nd->out: on the kept-alive connection if there is
 * one (conn_run sends it when it regains control, or the caller calls
 * conn_event), on a new connection otherwise (epoll reports it connected).
 * On failure the node is failed here.
 */
static void
conn_request(struct bnode *nd)
{
	nd->out_off = 0;
	nd->t0 = util_mono_ns();
	nd->b->busy++;
	if (nd->cs == CS_IDLE) {
		nd->cs = CS_SENDING;
		nd->reused = true;
		return;
	}
	if (conn_open(nd) != 0) {
		nd->b->busy--;
		bn_failed(nd, "cannot open a connection");
	}
}

/* ---------------------------------------------------------------------
 * The node protocol: the requests of tests/tools/nodeclient.c.
 */

static int
bn_post(struct bnode *nd, const char *path, const char *body)
{
	int n;

	n = snprintf(nd->out, sizeof(nd->out), "POST %s HTTP/1.1\r\n"
	    "Host: %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", path, nd->b->host, strlen(body),
	    body);
	if (n < 0 || (size_t)n >= sizeof(nd->out))
		return -1;
	nd->out_len = (size_t)n;
	conn_request(nd);
	return 0;
}

/* Proof of possession: the new key signs the token and itself. */
static int
bn_enroll(struct bnode *nd)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
	char pk_b64[64], sig_b64[128], host[32], msg[512], body[1024];
	int n, ret = -1;

	nd->phase = BN_ENROLL;
	crypto_sign_keypair(pk, nd->sk);
	util_b64(pk_b64, sizeof(pk_b64), pk, sizeof(pk));
	snprintf(host, sizeof(host), "bench-%zu", nd->idx);
	n = nodeauth_enroll_msg(msg, sizeof(msg), nd->b->o->token, pk_b64,
	    host);
	if (n < 0)
		goto out;
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg,
	    (size_t)n, nd->sk);
	util_b64(sig_b64, sizeof(sig_b64), sig, sizeof(sig));
	n = snprintf(body, sizeof(body), "{\"token\":\"%s\",\"public_key\":"
	    "\"%s\",\"hostname\":\"%s\",\"signature\":\"%s\"}",
	    nd->b->o->token, pk_b64, host, sig_b64);
	if (n < 0 || (size_t)n >= sizeof(body))
		goto out;
	ret = bn_post(nd, "/v1/enroll", body);
out:
	sodium_memzero(msg, sizeof(msg));
	sodium_memzero(body, sizeof(body));
	return ret;
}

/* The handshake: an ephemeral X25519 key signed with the node key. */
static int
bn_session(struct bnode *nd)
{
	unsigned char sig[crypto_sign_BYTES];
	char kpk_b64[64], sig_b64[128], msg[512], body[1024];
	int64_t ts = util_now();
	int n;

	nd->phase = BN_SESSION;
	crypto_kx_keypair(nd->kx_pk, nd->kx_sk);
	util_b64(kpk_b64, sizeof(kpk_b64), nd->kx_pk, sizeof(nd->kx_pk));
	n = nodeauth_session_msg(msg, sizeof(msg), nd->id, ts, kpk_b64);
	if (n < 0)
		return -1;
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg,
	    (size_t)n, nd->sk);
	util_b64(sig_b64, sizeof(sig_b64), sig, sizeof(sig));
	n = snprintf(body, sizeof(body), "{\"node_id\":\"%s\",\"ts\":%lld,"
	    "\"kx_public_key\":\"%s\",\"signature\":\"%s\"}", nd->id,
	    (long long)ts, kpk_b64, sig_b64);
	if (n < 0 || (size_t)n >= sizeof(body))
		return -1;
	return bn_post(nd, "/v1/node/session", body);
}

/* A tagged GET /v1/node/desired, with If-None-Match once we have an ETag. */
static int
bn_get_desired(struct bnode *nd)
{
	struct nodeauth_hdr h;
	char auth[NODEAUTH_HDR_MAX], inm[128] = "";
	int n;

	memcpy(h.sid, nd->sid, sizeof(h.sid));
	h.ctr = ++nd->ctr;
	h.ts = util_now();
	if (nodeauth_tag(nd->key, "GET", "/v1/node/desired", nd->id, h.ctr,
	    h.ts, nd->b->empty_hash, h.tag) != 0 ||
	    nodeauth_format(auth, sizeof(auth), &h) < 0)
		return -1;
	if (nd->etag[0] != '\0' && (size_t)snprintf(inm, sizeof(inm),
	    "If-None-Match: %s\r\n", nd->etag) >= sizeof(inm))
		return -1;
	n = snprintf(nd->out, sizeof(nd->out), "GET /v1/node/desired "
	    "HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n%s\r\n",
	    nd->b->host, auth, inm);
	if (n < 0 || (size_t)n >= sizeof(nd->out))
		return -1;
	nd->out_len = (size_t)n;
	conn_request(nd);
	return 0;
}

static int
bn_enrolled(struct bnode *nd, const struct resp *r)
{
	json_t *o = NULL;
	const char *id = NULL;
	char err[256];
	int ret = -1;

	if (json_parse_strict(r->body, r->body_len, BENCH_RESP_MAX,
	    JSON_DEFAULT_DEPTH, &o, err, sizeof(err)) != 0 ||
	    jfield_str(o, "node_id", true, sizeof(nd->id) - 1, &id, err,
	    sizeof(err)) != 0) {
		bench_fail(nd->b, "enroll answer: %s", err);
		goto out;
	}
	util_strlcpy(nd->id, id, sizeof(nd->id));
	ret = 0;
out:
	json_decref(o);
	return ret;
}

/* The node is the crypto_kx client; its tx key is the session key. */
static int
bn_session_opened(struct bnode *nd, const struct resp *r)
{
	unsigned char spk[crypto_kx_PUBLICKEYBYTES];
	unsigned char rx[crypto_kx_SESSIONKEYBYTES];
	unsigned char tx[crypto_kx_SESSIONKEYBYTES];
	const char *sid = NULL, *spk_b64 = NULL;
	json_t *o = NULL;
	char err[256];
	int ret = -1;

	if (json_parse_strict(r->body, r->body_len, BENCH_RESP_MAX,
	    JSON_DEFAULT_DEPTH, &o, err, sizeof(err)) != 0 ||
	    jfield_str(o, "session_id", true, NODEAUTH_SIDHEX, &sid, err,
	    sizeof(err)) != 0 ||
	    jfield_str(o, "kx_public_key", true, 64, &spk_b64, err,
	    sizeof(err)) != 0) {
		bench_fail(nd->b, "session answer: %s", err);
		goto out;
	}
	if (strlen(sid) != NODEAUTH_SIDHEX ||
	    util_unb64(spk, sizeof(spk), spk_b64) != (int)sizeof(spk) ||
	    crypto_kx_client_session_keys(rx, tx, nd->kx_pk, nd->kx_sk,
	    spk) != 0) {
		bench_fail(nd->b, "session answer: unusable key or id");
		goto out;
	}
	memcpy(nd->sid, sid, sizeof(nd->sid));
	memcpy(nd->key, tx, sizeof(nd->key));
	nd->ctr = 0;
	ret = 0;
out:
	sodium_memzero(nd->kx_sk, sizeof(nd->kx_sk));
	sodium_memzero(rx, sizeof(rx));
	sodium_memzero(tx, sizeof(tx));
	json_decref(o);
	return ret;
}

/* ---------------------------------------------------------------------
 * One state machine per node, moved on by responses.
 */

static void
bench_setup_next(struct bench *b)
{
	/* A failure inside calls back here; the outer loop carries on. */
	if (b->in_setup_next)
		return;
	b->in_setup_next = true;
	while (b->setup_next < b->n && b->setup_active < BENCH_SETUP_INFLIGHT) {
		struct bnode *nd = &b->nodes[b->setup_next++];

		b->setup_active++;
		nd->phase = BN_ENROLL;
		if (bn_enroll(nd) != 0)
			bn_failed(nd, "cannot build the enrollment");
	}
	b->in_setup_next = false;
}

static void
bn_setup_end(struct bnode *nd, bool ok)
{
	struct bench *b = nd->b;

	b->setup_active--;
	if (ok) {
		nd->phase = BN_READY;
		b->ready++;
	} else {
		nd->phase = BN_STOPPED;
		b->setup_failed++;
	}
	bench_setup_next(b);
}

/* A request could not be made or completed (transport or protocol). */
static void
bn_failed(struct bnode *nd, const char *why)
{
	struct bench *b = nd->b;

	bench_fail(b, "node %zu: %s", nd->idx, why);
	switch (nd->phase) {
	case BN_ENROLL:
	case BN_SESSION:
	case BN_FIRST:
		bn_setup_end(nd, false);
		break;
	case BN_POLL:
		b->errors++;
		b->stopped++;
		nd->phase = BN_STOPPED;
		break;
	default:
		nd->phase = BN_STOPPED;
		break;
	}
}

static void
bn_setup_response(struct bnode *nd, const struct resp *r)
{
	struct bench *b = nd->b;
	bool ok = false;

	switch (nd->phase) {
	case BN_ENROLL:
		if (r->status != 201)
			bench_fail(b, "enroll: HTTP %d %s", r->status, r->body);
		else if (bn_enrolled(nd, r) == 0 && bn_session(nd) == 0)
			return;
		break;
	case BN_SESSION:
		if (r->status != 201)
			bench_fail(b, "session: HTTP %d %s", r->status,
			    r->body);
		else if (bn_session_opened(nd, r) == 0) {
			nd->phase = BN_FIRST;
			if (bn_get_desired(nd) == 0)
				return;
		}
		break;
	case BN_FIRST:
		if (r->status != 200 || r->etag[0] == '\0') {
			bench_fail(b, "first desired: HTTP %d (ETag %s) %s",
			    r->status, r->etag[0] ? r->etag : "none", r->body);
			break;
		}
		util_strlcpy(nd->etag, r->etag, sizeof(nd->etag));
		ok = true;
		break;
	default:
		break;
	}
	bn_setup_end(nd, ok);
}

static void
bn_poll_response(struct bnode *nd, const struct resp *r)
{
	struct bench *b = nd->b;

	if (nd->ctr == 2)	/* ctr 1 was the setup GET */
		b->first_polls++;
	if (b->measuring) {
		b->checkins++;
		hist_add(&b->hist, (util_mono_ns() - nd->t0) / 1000u);
	}
	if (r->status != 304) {
		/* Counted in the warm-up too: every answer after the first. */
		b->non304++;
		bench_fail(b, "poll: HTTP %d %s", r->status, r->body);
		if (r->status != 200) {
			nd->phase = BN_STOPPED;
			b->stopped++;
			return;
		}
		if (r->etag[0] != '\0')
			util_strlcpy(nd->etag, r->etag, sizeof(nd->etag));
	}
	if (b->stopping)
		return;
	if (bn_get_desired(nd) != 0) {
		b->errors++;
		bench_fail(b, "poll: cannot build a request");
		nd->phase = BN_STOPPED;
		b->stopped++;
	}
}

static void
bn_response(struct bnode *nd, const struct resp *r)
{
	if (nd->phase == BN_POLL)
		bn_poll_response(nd, r);
	else
		bn_setup_response(nd, r);
}

/* Fail requests that have waited too long (a stuck server). */
static void
bench_timeouts(struct bench *b)
{
	uint64_t now = util_mono_ns();
	size_t i;

	for (i = 0; i < b->n; i++) {
		struct bnode *nd = &b->nodes[i];

		if (nd->cs == CS_NONE || nd->cs == CS_IDLE ||
		    now - nd->t0 < BENCH_REQ_TIMEOUT_NS)
			continue;
		conn_close(nd);
		b->busy--;
		bn_failed(nd, "request timed out");
	}
}

static void
bench_step(struct bench *b, int max_ms)
{
	struct epoll_event ev[512];
	uint64_t now;
	int i, n;

	n = epoll_wait(b->epfd, ev, (int)ARRAY_LEN(ev), max_ms);
	for (i = 0; i < n; i++)
		conn_event(ev[i].data.ptr, ev[i].events);
	now = util_mono_ns();
	if (now - b->last_scan > BENCH_SEC_NS) {
		b->last_scan = now;
		bench_timeouts(b);
	}
}

/* ---------------------------------------------------------------------
 * The run.
 */

struct bench_result {
	double	setup_s;
	double	warmup_s;
	double	window_s;
	double	cp_cpu_s;	/* < 0 without --cp-pid */
	double	client_cpu_s;
};

static int
bench_setup(struct bench *b, double *secs)
{
	uint64_t t0 = util_mono_ns();

	bench_setup_next(b);
	while (b->ready + b->setup_failed < b->n) {
		if (util_mono_ns() - t0 > BENCH_SETUP_MAX_NS) {
			bench_fail(b, "setup took over %llu s",
			    (unsigned long long)(BENCH_SETUP_MAX_NS /
			    BENCH_SEC_NS));
			return -1;
		}
		bench_step(b, 100);
	}
	*secs = (double)(util_mono_ns() - t0) / 1e9;
	return b->setup_failed == 0 ? 0 : -1;
}

static int
bench_poll(struct bench *b, struct bench_result *res)
{
	uint64_t t0 = util_mono_ns(), ws, we, now, cp0 = 0, cp1 = 0;
	pid_t pid = (pid_t)b->o->cp_pid;
	double c0;
	size_t i;

	for (i = 0; i < b->n; i++) {
		b->nodes[i].phase = BN_POLL;
		if (bn_get_desired(&b->nodes[i]) != 0) {
			bench_fail(b, "cannot build a request");
			return -1;
		}
		/* Sends at once on the connection kept from the setup. */
		conn_event(&b->nodes[i], 0);
	}
	/* Warm-up: every node has had an answer, and at least a second. */
	while ((now = util_mono_ns()) - t0 < BENCH_WARMUP_MIN_NS ||
	    b->first_polls + b->stopped < b->n) {
		if (now - t0 > BENCH_WARMUP_MAX_NS) {
			bench_fail(b, "warm-up took over a minute");
			return -1;
		}
		bench_step(b, 50);
	}
	if (pid > 0 && proc_cpu_ticks(pid, &cp0) != 0) {
		bench_fail(b, "cannot read /proc/%ld/stat", (long)pid);
		return -1;
	}
	c0 = self_cpu_s();
	ws = util_mono_ns();
	res->warmup_s = (double)(ws - t0) / 1e9;
	b->measuring = true;
	we = ws + (uint64_t)b->o->seconds * BENCH_SEC_NS;
	while ((now = util_mono_ns()) < we && b->stopped < b->n)
		bench_step(b, (int)((we - now) / 1000000u) + 1);
	b->measuring = false;
	b->stopping = true;
	now = util_mono_ns();
	if (pid > 0 && proc_cpu_ticks(pid, &cp1) != 0) {
		bench_fail(b, "cannot read /proc/%ld/stat", (long)pid);
		return -1;
	}
	res->client_cpu_s = self_cpu_s() - c0;
	res->window_s = (double)(now - ws) / 1e9;
	res->cp_cpu_s = pid > 0 ?
	    (double)(cp1 - cp0) / (double)sysconf(_SC_CLK_TCK) : -1.0;
	/* Let the requests in flight finish before the connections close. */
	while (b->busy > 0 && util_mono_ns() - now < BENCH_DRAIN_MAX_NS)
		bench_step(b, 50);
	return 0;
}

static json_t *
bench_json(const struct bench *b, const struct bench_result *r)
{
	double rate = r->window_s > 0 ? (double)b->checkins / r->window_s : 0;
	json_t *o;

	o = json_pack("{s:s,s:I,s:f,s:f,s:f,s:I,s:f,s:I,s:I,s:I,s:I,"
	    "s:{s:f,s:f,s:f},s:f,s:I}",
	    "benchmark", "cp_checkin",
	    "nodes", (json_int_t)b->n,
	    "seconds", r->window_s,
	    "setup_s", r->setup_s,
	    "warmup_s", r->warmup_s,
	    "checkins", (json_int_t)b->checkins,
	    "checkins_per_s", rate,
	    "non_304", (json_int_t)b->non304,
	    "errors", (json_int_t)b->errors,
	    "nodes_stopped", (json_int_t)b->stopped,
	    "new_connections", (json_int_t)b->new_conns,
	    "latency_ms",
	    "p50", hist_quantile_ms(&b->hist, 0.50),
	    "p99", hist_quantile_ms(&b->hist, 0.99),
	    "max", (double)b->hist.max_us / 1000.0,
	    "client_cpu_s", r->client_cpu_s,
	    "target_checkins_per_cp_cpu_s", (json_int_t)BENCH_TARGET);
	if (o == NULL)
		return NULL;
	if (r->cp_cpu_s >= 0) {
		json_object_set_new(o, "cp_cpu_s", json_real(r->cp_cpu_s));
		json_object_set_new(o, "cp_cpu_us_per_checkin",
		    b->checkins ? json_real(r->cp_cpu_s * 1e6 /
		    (double)b->checkins) : json_null());
		json_object_set_new(o, "checkins_per_cp_cpu_s",
		    r->cp_cpu_s > 0 ? json_real((double)b->checkins /
		    r->cp_cpu_s) : json_null());
	} else {
		json_object_set_new(o, "cp_cpu_s", json_null());
		json_object_set_new(o, "cp_cpu_us_per_checkin", json_null());
		json_object_set_new(o, "checkins_per_cp_cpu_s", json_null());
	}
	return o;
}

static void
bench_print(const struct bench *b, const struct bench_result *r)
{
	double rate = r->window_s > 0 ? (double)b->checkins / r->window_s : 0;

	printf("cp_checkin: %zu nodes, %.1f s measured (setup %.1f s, "
	    "warm-up %.1f s)\n", b->n, r->window_s, r->setup_s, r->warmup_s);
	printf("  check-ins       %llu  (%.0f/s)\n",
	    (unsigned long long)b->checkins, rate);
	printf("  latency         p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
	    hist_quantile_ms(&b->hist, 0.50), hist_quantile_ms(&b->hist, 0.99),
	    (double)b->hist.max_us / 1000.0);
	printf("  non-304         %llu  errors %llu  new connections %llu\n",
	    (unsigned long long)b->non304, (unsigned long long)b->errors,
	    (unsigned long long)b->new_conns);
	if (r->cp_cpu_s > 0 && b->checkins > 0)
		printf("  edge-cp CPU     %.2f s  %.1f us/check-in  %.0f "
		    "check-ins per CPU-second (target >= %d)\n", r->cp_cpu_s,
		    r->cp_cpu_s * 1e6 / (double)b->checkins,
		    (double)b->checkins / r->cp_cpu_s, BENCH_TARGET);
	else if (r->cp_cpu_s < 0)
		printf("  edge-cp CPU     not measured (no --cp-pid)\n");
	printf("  client CPU      %.2f s  %.1f us/check-in\n", r->client_cpu_s,
	    b->checkins ? r->client_cpu_s * 1e6 / (double)b->checkins : 0.0);
}

static int
bench_write_json(const char *path, json_t *o, char *err, size_t errlen)
{
	char *txt = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS |
	    JSON_REAL_PRECISION(6));
	int ret = -1;

	if (txt == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (afile_write(path, txt, strlen(txt), 0644) != 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else
		ret = 0;
	free(txt);
	return ret;
}

static int
bench_init(struct bench *b, const struct bench_opts *o, char *err,
    size_t errlen)
{
	size_t i;

	memset(b, 0, sizeof(*b));
	b->o = o;
	b->epfd = -1;
	if ((o->pin != NULL ? pin_parse(o->pin, b->pin, err, errlen) :
	    pin_from_cert(o->cert, b->pin, err, errlen)) != 0 ||
	    server_parse(b, o->server, err, errlen) != 0)
		return -1;
	nodeauth_body_hash("", 0, b->empty_hash);
	/* No trust store: the pin is checked by hand after the handshake. */
	if (gnutls_certificate_allocate_credentials(&b->cred) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((b->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		return -1;
	}
	if ((b->nodes = calloc((size_t)o->nodes, sizeof(*b->nodes))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	b->n = (size_t)o->nodes;
	for (i = 0; i < b->n; i++) {
		b->nodes[i].b = b;
		b->nodes[i].idx = i;
		b->nodes[i].fd = -1;
	}
	return 0;
}

static void
bench_free(struct bench *b)
{
	size_t i;

	for (i = 0; b->nodes != NULL && i < b->n; i++) {
		conn_close(&b->nodes[i]);
		free(b->nodes[i].in);
		sodium_memzero(&b->nodes[i], sizeof(b->nodes[i]));
	}
	free(b->nodes);
	if (b->cred != NULL)
		gnutls_certificate_free_credentials(b->cred);
	if (b->epfd >= 0)
		close(b->epfd);
	memset(b, 0, sizeof(*b));
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: cp_checkin --server URL (--pin sha256//... | "
	    "--cert FILE) --token ENROLLTOKEN\n"
	    "                  --nodes N --seconds S [--json FILE] "
	    "[--cp-pid PID]\n"
	    "  N: 1..%d, S: 1..%d; edge-cp needs --per-ip-limit above N\n",
	    BENCH_NODES_MAX, BENCH_SECONDS_MAX);
	exit(2);
}

static int64_t
opt_num(const char *s, int64_t min, int64_t max, const char *what)
{
	int64_t v;

	if (util_parse_i64(s, min, max, &v) != 0) {
		fprintf(stderr, "cp_checkin: %s must be %lld..%lld\n", what,
		    (long long)min, (long long)max);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 'S' },
		{ "pin", required_argument, NULL, 'P' },
		{ "cert", required_argument, NULL, 'C' },
		{ "token", required_argument, NULL, 't' },
		{ "nodes", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' },
		{ "cp-pid", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts o;
	struct bench_result res;
	struct bench *b = NULL;
	struct rlimit rl;
	json_t *doc = NULL;
	uint64_t ticks;
	char err[512];
	int c, ret = 1;

	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			o.server = optarg;
			break;
		case 'P':
			o.pin = optarg;
			break;
		case 'C':
			o.cert = optarg;
			break;
		case 't':
			o.token = optarg;
			break;
		case 'n':
			o.nodes = opt_num(optarg, 1, BENCH_NODES_MAX,
			    "--nodes");
			break;
		case 's':
			o.seconds = opt_num(optarg, 1, BENCH_SECONDS_MAX,
			    "--seconds");
			break;
		case 'j':
			o.json = optarg;
			break;
		case 'p':
			o.cp_pid = opt_num(optarg, 1, INT32_MAX, "--cp-pid");
			break;
		default:
			usage();
		}
	}
	if (optind != argc || o.server == NULL || o.token == NULL ||
	    (o.pin == NULL) == (o.cert == NULL) || o.nodes == 0 ||
	    o.seconds == 0)
		usage();
	if (sodium_init() < 0) {
		fprintf(stderr, "cp_checkin: cannot initialise libsodium\n");
		return 1;
	}
	/* A write to a connection the server dropped is an error, not death. */
	signal(SIGPIPE, SIG_IGN);
	/* One descriptor per node. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (o.cp_pid > 0 && proc_cpu_ticks((pid_t)o.cp_pid, &ticks) != 0) {
		fprintf(stderr, "cp_checkin: no process %lld\n",
		    (long long)o.cp_pid);
		return 1;
	}
	if ((b = malloc(sizeof(*b))) == NULL) {
		fprintf(stderr, "cp_checkin: out of memory\n");
		return 1;
	}
	if (bench_init(b, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "cp_checkin: %s\n", err);
		goto out;
	}
	if (bench_setup(b, &res.setup_s) != 0) {
		fprintf(stderr, "cp_checkin: setup failed for %zu of %zu "
		    "nodes: %s\n", b->setup_failed, b->n, b->first_err);
		if (b->n > 64)
			fprintf(stderr, "cp_checkin: hint: edge-cp drops "
			    "connections past its --per-ip-limit (default "
			    "64); it needs more than %zu here\n", b->n);
		goto out;
	}
	if (bench_poll(b, &res) != 0) {
		fprintf(stderr, "cp_checkin: %s\n", b->first_err);
		goto out;
	}
	bench_print(b, &res);
	if (b->first_err[0] != '\0')
		fprintf(stderr, "cp_checkin: first problem: %s\n",
		    b->first_err);
	if (o.json != NULL) {
		if ((doc = bench_json(b, &res)) == NULL) {
			fprintf(stderr, "cp_checkin: out of memory\n");
			goto out;
		}
		if (bench_write_json(o.json, doc, err, sizeof(err)) != 0) {
			fprintf(stderr, "cp_checkin: %s\n", err);
			goto out;
		}
	}
	ret = b->errors == 0 && b->non304 == 0 && b->stopped == 0 ? 0 : 1;
out:
	json_decref(doc);
	bench_free(b);
	free(b);
	return ret;
}
