/*
 * server: edge-cp's HTTPS front (libmicrohttpd + GnuTLS) and the contract
 * between it and the route handlers in cp/api_*.c.
 *
 * Request life, driven by libmicrohttpd in its epoll thread pool:
 *
 *	headers ──▶ route matched; a route open to anyone that does work
 *	   │        for it (AUTH_NONE_LIMITED) takes a token from the
 *	   │        caller's address (429 when there is none); Content-Length
 *	   │        checked (413 at once when over the route's limit).  Either
 *	   │        refusal is made before a byte of the body is read.
 *	   │        Streaming routes only: the caller is authenticated and
 *	   │        the route's stream->begin runs now, so a refusal (401,
 *	   │        403, 409...) is answered before a byte of the body is read
 *	   ▼
 *	body ─────▶ accumulated up to the route's limit (a chunked body that
 *	   │        grows past it is discarded and answered 413); a streaming
 *	   │        route's chunks go to stream->data instead of memory
 *	   ▼
 *	complete ─▶ authenticated per the route (node tag, bearer token role;
 *	   │        done already for streaming routes), JSON parsed strictly
 *	   │        when the route takes JSON, handler runs and sets exactly
 *	   ▼        one reply
 *	completed ▶ stream->end (when begin succeeded), metrics recorded,
 *	            request freed
 *
 * From its connection's being ready (accepted, or its previous reply
 * sent) to the end of its body, a request is bounded in time; past that
 * it is cut (cp/deadline.h).  Replies are not bounded, so event streams
 * live on.  A failed authentication takes a token from the caller's
 * address too, and is answered 429 instead of 401 when there is none.
 *
 * A handler runs on a pool thread, must not block for long, and calls
 * exactly one reply_* function.  Everything a handler allocates through
 * req_alloc() is freed with the request (per-request arena).
 *
 * Paths reach handlers percent-decoded, except that a URI holding an
 * encoded NUL ("%00") is left entirely undecoded: decoded, the NUL would
 * end the C string early and "/a%00/b" would be routed as "/a".  Every
 * parameter check refuses the "%" that remains.
 */
#ifndef EF_SERVER_H
#define EF_SERVER_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/minisign.h"
#include "cp/live.h"

/* The body limit of routes that do not set their own (max_body). */
#define SERVER_MAX_BODY (1u << 20)
#define SERVER_MAX_PARAMS 3

enum role { ROLE_NONE, ROLE_VIEWER, ROLE_OPERATOR, ROLE_ADMIN };

enum auth_need {
	AUTH_NONE, /* anyone */
	/*
	 * Anyone, but each request first takes a token from its address's
	 * bucket (cp/ratelimit.h; 429 when there is none), before its body is
	 * read: the routes that make edge-cp verify a signature, write to
	 * the database or send megabytes for a caller it does not know yet.
	 */
	AUTH_NONE_LIMITED,
	AUTH_NODE, /* a node session tag */
	/*
	 * A node session tag or a viewer (or higher) token, told apart by the
	 * Authorization scheme ("EdgeNode" or "Bearer"): release artifacts,
	 * which nodes download and operators inspect.
	 */
	AUTH_NODE_OR_VIEWER,
	/*
	 * Anyone (Prometheus scrapers), or, when edge-cp runs with
	 * --metrics-auth viewer (cp.metrics_auth), a viewer or higher token:
	 * GET /metrics.
	 */
	AUTH_METRICS,
	AUTH_VIEWER,
	AUTH_OPERATOR,
	AUTH_ADMIN,
};

/* Process-wide state of a running edge-cp, set up once by serve. */
struct cp_ctx {
	struct store *store;
	unsigned char hash_key[32]; /* keys the token hashes */
	char pin[128];              /* sha256//... of our certificate */
	bool self_signed;
	char public_url[256]; /* "" = from the Host header */
	char data_dir[512];
	int64_t interval_s; /* node check-in interval */
	int64_t started_at;
	bool metrics_auth; /* /metrics needs a viewer token (AUTH_METRICS) */
	/*
	 * serve --two-person (threat T17): uploads wait for a second admin,
	 * wide rollouts for a second person's promote, and a freeze is lifted
	 * by another token than the one that set it (docs/api.md).
	 */
	bool two_person;
};

extern struct cp_ctx cp;

struct arena_blk;
struct deadline_conn;

struct req {
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	const struct route *route;
	char params[SERVER_MAX_PARAMS][128];
	char *body;      /* NULL for streaming routes */
	size_t len, cap; /* len: body bytes received, streamed or not */
	bool too_large;
	bool replied;
	bool streaming; /* stream->begin succeeded: stream->end is due */
	void *stream;   /* the streaming route's per-request state */
	json_t *json;   /* parsed body (JSON routes) */
	char actor[64]; /* token name or node id */
	enum role role;
	struct live_node *node; /* node routes: referenced */
	unsigned status;
	struct MHD_Response *resp;
	uint64_t t0;
	struct arena_blk *arena;
	struct deadline_conn *dl; /* the connection's time bound, or NULL */
};

typedef int (*route_fn)(struct req *);

/*
 * A route whose body is too large to hold in memory (release uploads)
 * streams it instead.  Bearer-token routes only: a node tag covers the
 * body's hash, so it could only be checked after the whole body.
 *
 *   begin	runs on the headers, once the caller is authenticated and
 *		before any body byte is read; sets up r->stream.  Returns 0,
 *		or -1 after making a reply (the body is then never read).
 *   data	each chunk of the body, in order (never more than the
 *		route's max_body in all).  Returns 0, or -1 after making a
 *		reply: the rest of the body is read and dropped, the handler
 *		does not run, and the reply goes out when the body ends.
 *   end	the request is over, answered or cut: releases r->stream and
 *		whatever begin took (temporary files).  Called exactly once
 *		for every begin that returned 0, after the handler if it ran.
 *
 * The route's fn runs after the last chunk, like any handler.
 */
struct body_stream {
	int (*begin)(struct req *);
	int (*data)(struct req *, const char *buf, size_t len);
	void (*end)(struct req *);
};

struct route {
	const char *method;
	const char *pattern; /* "/v1/pops/{}": {} is a parameter */
	enum auth_need auth;
	bool json_body;
	route_fn fn;
	const char *name; /* metrics label */
	size_t max_body;  /* body limit; 0: SERVER_MAX_BODY */
	const struct body_stream
	    *stream; /* NULL: the body is kept in r->body */
};

/*
 * Replies.  reply_json steals body.  All set r->status and return 0, so a
 * handler can end with "return reply_...(...)".
 */
int reply_json(struct req *r, unsigned status, json_t *body);
int reply_error(struct req *r, unsigned status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int reply_data(struct req *r, unsigned status, const char *ctype,
    const void *data, size_t len);
/*
 * Reply with a body of unknown length that read writes as the client
 * takes it (chunked): libmicrohttpd's content reader contract; done
 * frees cls when the response ends, also when no response can be made.
 */
int reply_stream(struct req *r, unsigned status, const char *ctype,
    MHD_ContentReaderCallback read, void *cls,
    MHD_ContentReaderFreeCallback done);
/*
 * Reply with size bytes read from fd (a regular file), without reading it
 * into memory.  Takes fd: it is closed with the response, or at once when
 * no response can be made (the connection is then dropped).
 */
int reply_fd(
    struct req *r, unsigned status, const char *ctype, int fd, uint64_t size);
/* Add a response header to the reply just made. */
void reply_header(struct req *r, const char *name, const char *value);
/* The store's result as an error reply (NOTFOUND → 404 and so on). */
int reply_store_error(struct req *r, int rc, const char *what);

const char *req_header(struct req *r, const char *name);
const char *req_query(struct req *r, const char *name);
void *req_alloc(struct req *r, size_t n);

/* The routing table (cp/routes.c) and its length. */
extern const struct route server_routes[];
extern const size_t server_nroutes;

/* Defaults and their reasons: cp/serve.c. */
struct server_opts {
	const char *listen; /* "ADDR:PORT" */
	const char *key_pem;
	const char *cert_pem;
	unsigned threads;
	unsigned conn_limit;
	unsigned per_ip_limit;
	unsigned timeout_s; /* idle */
	/*
	 * The longest a request may take to arrive, headers and body, from
	 * its first byte (cp/deadline.h); a release upload, once its admin
	 * token was accepted on the headers, gets upload_timeout_s instead.
	 */
	unsigned request_timeout_s;
	unsigned upload_timeout_s;
	/*
	 * Per address (cp/ratelimit.h): AUTH_NONE_LIMITED requests and failed
	 * authentications take a token from a bucket of unauth_burst,
	 * refilled at unauth_rate a second; unauth_rate 0: no limit.
	 */
	unsigned unauth_rate;
	unsigned unauth_burst;
};

int server_start(const struct server_opts *o, char *err, size_t errlen);
/* The port actually bound (for --listen ADDR:0). */
unsigned server_port(void);
/* Stop accepting, wait up to grace_ms for in-flight requests, stop. */
void server_stop(unsigned grace_ms);

#endif
