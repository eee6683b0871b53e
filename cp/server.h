/*
 * server: edge-cp's HTTPS front (libmicrohttpd + GnuTLS) and the contract
 * between it and the route handlers in cp/api_*.c.
 *
 * Request life, driven by libmicrohttpd in its epoll thread pool:
 *
 *	headers ──▶ route matched, Content-Length checked (413 at once when
 *	   │        over SERVER_MAX_BODY: the body is never read)
 *	   ▼
 *	body ─────▶ accumulated up to SERVER_MAX_BODY (a chunked body that
 *	   │        grows past it is discarded and answered 413)
 *	   ▼
 *	complete ─▶ authenticated per the route (node tag, bearer token role),
 *	   │        JSON parsed strictly when the route takes JSON, handler
 *	   ▼        runs and sets exactly one reply
 *	completed ▶ metrics recorded, request freed
 *
 * A handler runs on a pool thread, must not block for long, and calls
 * exactly one reply_* function.  Everything a handler allocates through
 * req_alloc() is freed with the request (per-request arena).
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

#define SERVER_MAX_BODY (1u << 20)
#define SERVER_MAX_PARAMS 3

enum role { ROLE_NONE, ROLE_VIEWER, ROLE_OPERATOR, ROLE_ADMIN };

enum auth_need {
	AUTH_NONE, /* anyone */
	AUTH_NODE, /* a node session tag */
	AUTH_VIEWER,
	AUTH_OPERATOR,
	AUTH_ADMIN,
};

/* Process-wide state of a running edge-cp, set up once by serve. */
struct cp_ctx {
	struct store *store;
	unsigned char hash_key[32]; /* keys the token hashes */
	struct msig_pub release_pub;
	char release_pub_text[256];
	char pin[128]; /* sha256//... of our certificate */
	bool self_signed;
	char public_url[256]; /* "" = from the Host header */
	char data_dir[512];
	int64_t interval_s; /* node check-in interval */
	int64_t started_at;
};

extern struct cp_ctx cp;

struct arena_blk;

struct req {
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	const struct route *route;
	char params[SERVER_MAX_PARAMS][128];
	char *body;
	size_t len, cap;
	bool too_large;
	bool replied;
	json_t *json;   /* parsed body (JSON routes) */
	char actor[64]; /* token name or node id */
	enum role role;
	struct live_node *node; /* node routes: referenced */
	unsigned status;
	struct MHD_Response *resp;
	uint64_t t0;
	struct arena_blk *arena;
};

typedef int (*route_fn)(struct req *);

struct route {
	const char *method;
	const char *pattern; /* "/v1/pops/{}": {} is a parameter */
	enum auth_need auth;
	bool json_body;
	route_fn fn;
	const char *name; /* metrics label */
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

struct server_opts {
	const char *listen; /* "ADDR:PORT" */
	const char *key_pem;
	const char *cert_pem;
	unsigned threads;
	unsigned conn_limit;
	unsigned per_ip_limit;
	unsigned timeout_s;
};

int server_start(const struct server_opts *o, char *err, size_t errlen);
/* The port actually bound (for --listen ADDR:0). */
unsigned server_port(void);
/* Stop accepting, wait up to grace_ms for in-flight requests, stop. */
void server_stop(unsigned grace_ms);

#endif
