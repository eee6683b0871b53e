/*
 * simnet: the transport under the node simulators (tests/fleetsim/fleetsim
 * and tests/bench/cp_checkin): kept-alive HTTPS/1.1 connections to one
 * edge-cp, non-blocking GnuTLS sockets driven by one epoll loop, with the
 * requests written and the responses parsed by hand.
 *
 * Why not libcurl: the simulators share the machine with the server they
 * load, so their cost per request matters.  Through the libcurl multi
 * interface a check-in cost the client about 45 µs of CPU, more than
 * edge-cp's own; this way it is a few µs (one TLS record each way, no
 * allocation in the steady state).  What edge-cp sends is known: always
 * Content-Length, never chunked, so the parser is small.
 *
 * Trust: no CA store.  The server's certificate key must match the pin
 * (sha256// of its SubjectPublicKeyInfo, as curl's --pinnedpubkey), checked
 * after each TLS handshake before a request is sent.
 *
 * A connection carries one request at a time (no pipelining):
 *
 *	NONE ─▶ CONNECTING ─▶ HANDSHAKE ─▶ SENDING ─▶ RECEIVING
 *	  ▲                    (pin checked)  ▲            │ response
 *	  │                                   └─── IDLE ◀──┘
 *	  └── any error, a timeout, or "Connection: close"; the next request
 *	      on it opens a new connection
 *
 * A connection opens lazily, on its first request.  An idle connection
 * the server closes is closed at once (epoll still watches it), and a
 * request on a kept-alive connection that fails before any byte of the
 * answer (the server closed it just then) is sent once more on a new
 * connection, as libcurl and browsers do.
 *
 * Ownership and threads: everything here belongs to the caller's single
 * thread.  Requests end in a callback, always called from simnet_step()
 * (never from inside simnet_request()), exactly once per accepted request.
 * The callback may queue the next request on the same connection: the loop
 * then sends it at once, so the steady state costs no epoll_ctl and no
 * recursion.
 */
#ifndef EF_SIMNET_H
#define EF_SIMNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIMNET_REQ_MAX (64u << 10)   /* request line, headers and body */
#define SIMNET_RESP_MAX (256u << 10) /* response body */
#define SIMNET_HDRS_MAX (16u << 10)  /* response headers */
#define SIMNET_ETAG_MAX 96
#define SIMNET_TIMEOUT_S 30 /* request queued to response parsed */

struct simnet;
struct simnet_conn;

/* A parsed response; valid during the callback only. */
struct simnet_resp {
	int status;
	char etag[SIMNET_ETAG_MAX]; /* "" when none (or too long) */
	const char *body;           /* NUL-terminated */
	size_t body_len;
	uint64_t elapsed_us; /* simnet_request() to the response parsed */
};

/*
 * How a request ended: r is the response, or NULL when the request failed
 * (transport or TLS error, pin mismatch, timeout, malformed response), with
 * why saying so; the connection is then closed.
 */
typedef void simnet_done_fn(
    void *arg, const struct simnet_resp *r, const char *why);

/*
 * server: "https://HOST[:PORT]", resolved once here.  Exactly one of pin
 * ("sha256//BASE64") and cert_file (a PEM certificate whose key is pinned)
 * is non-NULL.  Returns 0 and a new simnet in *out, or -1 with a message in
 * err (nothing allocated).
 */
int simnet_new(const char *server, const char *pin, const char *cert_file,
    struct simnet **out, char *err, size_t errlen);

/* Frees every connection still open too; NULL is a no-op. */
void simnet_free(struct simnet *net);

/*
 * A new connection, not yet open; NULL when out of memory.  Freeing one
 * drops its request in flight without calling the callback; never from
 * inside that connection's callback.
 */
struct simnet_conn *simnet_conn_new(struct simnet *net);
void simnet_conn_free(struct simnet_conn *c);

/* True while a request is in flight on c (simnet_request would refuse). */
bool simnet_conn_busy(const struct simnet_conn *c);

/*
 * Queue a request on c.  hdrs: extra header lines, each ending in CRLF (""
 * for none); Host is added, and Content-Type: application/json and
 * Content-Length when body_len > 0.  Returns 0 (done will be called
 * exactly once, from simnet_step), or -1 when c is busy or the request is
 * larger than SIMNET_REQ_MAX (done will not be called).
 */
int simnet_request(struct simnet_conn *c, const char *method, const char *path,
    const char *hdrs, const char *body, size_t body_len, simnet_done_fn *done,
    void *arg);

/*
 * Run the loop once: start queued requests, wait up to max_ms for events
 * (not at all when requests are waiting to start), handle them, and fail
 * requests older than SIMNET_TIMEOUT_S (checked once a second).
 */
void simnet_step(struct simnet *net, int max_ms);

struct simnet_stats {
	uint64_t conns_opened; /* TCP connections opened so far */
	uint64_t reconnects;   /* requests re-sent on a new connection */
	size_t inflight;       /* requests accepted and not yet ended */
};

void simnet_stats(const struct simnet *net, struct simnet_stats *st);

#endif
