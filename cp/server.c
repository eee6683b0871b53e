#include "cp/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/nodeauth.h"
#include "common/util.h"
#include "cp/auth.h"
#include "cp/deadline.h"
#include "cp/metrics.h"
#include "cp/ratelimit.h"
#include "cp/session.h"
#include "cp/store.h"

struct cp_ctx cp;

/*
 * A chunked upload that passes the cap is read on (libmicrohttpd takes a
 * reply only before the body or after it, so the 413 can only be queued
 * once the upload ends) but not kept; past this much more than the cap
 * the connection is cut instead.  The same holds for the rest of a
 * streamed body after the stream refused a chunk.
 */
#define SERVER_DISCARD_MAX (8u << 20)

/*
 * Addresses the limit on unauthenticated work remembers at once; about
 * 60 bytes each.  An address needs its entry only while its bucket is
 * below full (cp/ratelimit.h), so this holds every address that spent a
 * token in the last burst/rate seconds, and a flood from more addresses
 * than that is limited as a group.
 */
#define SERVER_RATELIMIT_ENTRIES 8192

struct arena_blk {
	struct arena_blk *next;
	max_align_t data[];
};

static struct MHD_Daemon *server_d;
static atomic_int server_inflight;
static struct ratelimit *server_rl; /* NULL: no limit */
/*
 * A request's time budgets, counted from when its connection became ready
 * for it: the idle timeout (the longest the client may wait before its
 * first byte) plus the bound on the request itself (cp/deadline.h).
 */
static uint64_t server_budget_ms, server_upload_budget_ms;

static unsigned char server_empty_hash[32];
static pthread_once_t server_empty_once = PTHREAD_ONCE_INIT;

static void
server_empty_init(void)
{
	nodeauth_body_hash("", 0, server_empty_hash);
}

void *
req_alloc(struct req *r, size_t n)
{
	struct arena_blk *b = calloc(1, sizeof(*b) + n);

	if (b == NULL)
		return NULL;
	b->next = r->arena;
	r->arena = b;
	return b->data;
}

static uint64_t
server_ms(void)
{
	return util_mono_ns() / 1000000u;
}

/*
 * A token from the caller's address for work done before it is known
 * (cp/ratelimit.h).  true: go on; false: a 429 with Retry-After was made.
 * The first refusal of an address in a minute is logged.
 */
static bool
server_limit(struct req *r, const char *why)
{
	const union MHD_ConnectionInfo *ci;
	enum ratelimit_rc rc;
	unsigned retry = 0;
	char ra[16], addr[64];

	if (server_rl == NULL ||
	    (ci = MHD_get_connection_info(
		 r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS)) == NULL)
		return true;
	rc = ratelimit_take(server_rl, ci->client_addr, server_ms(), &retry);
	if (rc == RATELIMIT_OK)
		return true;
	metrics_ratelimited();
	if (rc == RATELIMIT_REFUSED_NOTE)
		log_warnx("event=rate_limited client=%s route=%s reason=%s "
			  "retry_after_s=%u",
		    util_addr_str(ci->client_addr, addr, sizeof(addr)),
		    r->route != NULL ? r->route->name : "none", why, retry);
	reply_error(r, 429, "rate_limited",
	    "too many unauthenticated requests or failed authentications "
	    "from this address; retry in %u s",
	    retry);
	snprintf(ra, sizeof(ra), "%u", retry);
	reply_header(r, "Retry-After", ra);
	return false;
}

const char *
req_header(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
req_query(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(
	    r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static void
reply_set(struct req *r, unsigned status, struct MHD_Response *resp)
{
	if (r->replied) {
		log_warnx("event=bug msg=\"second reply\" route=%s",
		    r->route ? r->route->name : "none");
		MHD_destroy_response(resp);
		return;
	}
	r->replied = true;
	r->status = status;
	r->resp = resp;
}

int
reply_data(struct req *r, unsigned status, const char *ctype, const void *data,
    size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(
	    len, (void *)(uintptr_t)data, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return 0; /* no reply: the connection is dropped */
	if (ctype != NULL)
		MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	reply_set(r, status, resp);
	return 0;
}

int
reply_stream(struct req *r, unsigned status, const char *ctype,
    MHD_ContentReaderCallback read, void *cls,
    MHD_ContentReaderFreeCallback done)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_callback(
	    MHD_SIZE_UNKNOWN, 16384, read, cls, done);
	if (resp == NULL) {
		done(cls);
		return 0; /* no reply: the connection is dropped */
	}
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	reply_set(r, status, resp);
	return 0;
}

int
reply_json(struct req *r, unsigned status, json_t *body)
{
	char *txt = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct MHD_Response *resp;

	json_decref(body);
	if (txt == NULL) {
		static const char oom[] = "{\"error\":{\"code\":\"internal\","
					  "\"message\":\"out of memory\"}}";

		return reply_data(
		    r, 500, "application/json", oom, sizeof(oom) - 1);
	}
	resp = MHD_create_response_from_buffer(
	    strlen(txt), txt, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(txt);
		return 0;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	reply_set(r, status, resp);
	return 0;
}

int
reply_error(
    struct req *r, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return reply_json(r, status,
	    json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

int
reply_fd(
    struct req *r, unsigned status, const char *ctype, int fd, uint64_t size)
{
	struct MHD_Response *resp = NULL;

	/* MHD takes the descriptor only when it makes the response. */
	if (size <= SIZE_MAX)
		resp = MHD_create_response_from_fd((size_t)size, fd);
	if (resp == NULL) {
		close(fd);
		return 0; /* no reply: the connection is dropped */
	}
	if (ctype != NULL)
		MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	reply_set(r, status, resp);
	return 0;
}

void
reply_header(struct req *r, const char *name, const char *value)
{
	if (r->resp != NULL)
		MHD_add_response_header(r->resp, name, value);
}

int
reply_store_error(struct req *r, int rc, const char *what)
{
	switch (rc) {
	case STORE_NOTFOUND:
		reply_error(r, 404, "not_found", "%s not found", what);
		break;
	case STORE_CONFLICT:
		reply_error(r, 409, "conflict",
		    "%s already exists or is in a "
		    "conflicting state",
		    what);
		break;
	case STORE_INVALID:
		reply_error(r, 422, "invalid_reference",
		    "%s refers to "
		    "something that does not exist",
		    what);
		break;
	case STORE_FULL:
		reply_error(r, 503, "storage_full",
		    "the database disk is "
		    "full; retry later");
		reply_header(r, "Retry-After", "30");
		break;
	default:
		reply_error(r, 500, "internal", "storage error");
		break;
	}
	return 0;
}

/* Match "/v1/pops/{}" against a path, capturing parameters. */
static bool
route_match(const char *pattern, const char *path, struct req *r)
{
	const char *p = pattern, *u = path;
	int np = 0;

	while (*p != '\0' && *u != '\0') {
		if (p[0] == '{' && p[1] == '}') {
			size_t n = strcspn(u, "/");

			if (n == 0 || n >= sizeof(r->params[0]) ||
			    np >= SERVER_MAX_PARAMS)
				return false;
			memcpy(r->params[np], u, n);
			r->params[np][n] = '\0';
			np++;
			u += n;
			p += 2;
			continue;
		}
		if (*p != *u)
			return false;
		p++;
		u++;
	}
	return *p == '\0' && *u == '\0';
}

/* Find the route; *path_known tells a 405 from a 404. */
static const struct route *
route_find(
    struct req *r, const char *method, const char *path, bool *path_known)
{
	size_t i;

	*path_known = false;
	for (i = 0; i < server_nroutes; i++) {
		const struct route *rt = &server_routes[i];

		if (!route_match(rt->pattern, path, r))
			continue;
		*path_known = true;
		if (strcmp(rt->method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
			strcmp(rt->method, "GET") == 0))
			return rt;
	}
	return NULL;
}

static size_t
route_max_body(const struct route *rt)
{
	return rt->max_body != 0 ? rt->max_body : SERVER_MAX_BODY;
}

static bool
server_auth_node(struct req *r, const char *hdr)
{
	struct nodeauth_hdr h;
	unsigned char bh[32];
	enum session_rc rc;
	int64_t now = util_now();

	/* The tag covers the path, not a query: refuse one. */
	if (MHD_get_connection_values(
		r->conn, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0) {
		reply_error(r, 400, "invalid_field",
		    "node requests take no query string");
		return false;
	}
	if (hdr == NULL || nodeauth_parse(hdr, &h) != 0) {
		if (!server_limit(r, "failed_auth"))
			return false;
		reply_error(r, 401, "unauthenticated",
		    "node "
		    "authentication required (EdgeNode header)");
		return false;
	}
	if (r->len == 0) {
		/* Check-ins have no body: that hash is computed once. */
		pthread_once(&server_empty_once, server_empty_init);
		memcpy(bh, server_empty_hash, sizeof(bh));
	} else
		nodeauth_body_hash(r->body, r->len, bh);
	rc = session_auth(&h, r->method, r->path, bh, now, &r->node);
	if (rc != SESSION_OK) {
		char ts[24];

		/*
		 * Every node meets an unknown session after edge-cp restarts,
		 * and finding none costs one lookup: that is not held against
		 * the address.  A tag that does not verify is.
		 */
		if (rc != SESSION_UNKNOWN && !server_limit(r, "failed_auth"))
			return false;
		reply_error(r, 401,
		    rc == SESSION_CLOCK         ? "clock_skew"
			: rc == SESSION_UNKNOWN ? "session_expired"
						: "unauthenticated",
		    "%s", session_rc_str(rc));
		/* Lets a node with a wrong clock learn ours. */
		snprintf(ts, sizeof(ts), "%lld", (long long)now);
		reply_header(r, "X-Edge-Server-Time", ts);
		return false;
	}
	util_strlcpy(r->actor, r->node->id, sizeof(r->actor));
	return true;
}

static bool
server_authenticate(struct req *r)
{
	const struct route *rt = r->route;
	const char *hdr = req_header(r, "Authorization");
	enum auth_need need = rt->auth;

	switch (need) {
	case AUTH_NONE:
	case AUTH_NONE_LIMITED:
		return true;
	case AUTH_NODE:
		return server_auth_node(r, hdr);
	case AUTH_NODE_OR_VIEWER:
		/* The scheme says which: a node never holds a token. */
		if (hdr != NULL && strncasecmp(hdr, "EdgeNode ", 9) == 0)
			return server_auth_node(r, hdr);
		need = AUTH_VIEWER;
		break;
	case AUTH_METRICS:
		if (!cp.metrics_auth)
			return true;
		need = AUTH_VIEWER;
		break;
	default:
		break;
	}
	r->role = auth_bearer(hdr, r->actor, sizeof(r->actor));
	if (r->role == ROLE_NONE) {
		/*
		 * A failure costs what a success does (a keyed hash and an
		 * index lookup), so it is checked first and only then held
		 * against the address: refusing before checking would let
		 * one client behind a NAT lock out every operator behind it.
		 */
		if (!server_limit(r, "failed_auth"))
			return false;
		reply_error(r, 401, "unauthenticated",
		    rt->auth == AUTH_NODE_OR_VIEWER
			? "a node session tag (EdgeNode) or a valid API "
			  "token (Authorization: Bearer TOKEN) is required"
			: "a valid API token is required (Authorization: "
			  "Bearer TOKEN); an unknown, revoked or expired "
			  "token is not one");
		reply_header(r, "WWW-Authenticate", "Bearer");
		return false;
	}
	if ((need == AUTH_VIEWER && r->role < ROLE_VIEWER) ||
	    (need == AUTH_OPERATOR && r->role < ROLE_OPERATOR) ||
	    (need == AUTH_ADMIN && r->role < ROLE_ADMIN)) {
		reply_error(r, 403, "forbidden", "this needs the %s role",
		    need == AUTH_ADMIN          ? "admin"
			: need == AUTH_OPERATOR ? "operator"
						: "viewer");
		return false;
	}
	return true;
}

static void
server_dispatch(struct req *r)
{
	char err[256];

	if (r->too_large) {
		reply_error(r, 413, "too_large", "request body over %zu bytes",
		    route_max_body(r->route));
		return;
	}
	/* A streaming route authenticated its caller on the headers. */
	if (r->route->stream == NULL && !server_authenticate(r))
		return;
	if (r->route->json_body) {
		if (json_parse_strict(r->body ? r->body : "", r->len,
			route_max_body(r->route), JSON_DEFAULT_DEPTH, &r->json,
			err, sizeof(err)) != 0) {
			reply_error(r, 400, "bad_json", "%s", err);
			return;
		}
	}
	r->route->fn(r);
	if (!r->replied)
		reply_error(r, 500, "internal", "no reply");
}

/* Counts the Content-Length and Transfer-Encoding headers of a request. */
struct framing {
	int cl, te;
};

static enum MHD_Result
server_count_framing(
    void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct framing *f = cls;

	(void)kind;
	(void)value;
	if (strcasecmp(key, "Content-Length") == 0)
		f->cl++;
	else if (strcasecmp(key, "Transfer-Encoding") == 0)
		f->te++;
	return MHD_YES;
}

/*
 * A request whose body length can be read two ways (two Content-Length
 * headers, or one with Transfer-Encoding; RFC 9112 §6.3) is refused and
 * its connection closed: a proxy in front could read it the other way
 * and the two would disagree on where the next request starts.
 */
static bool
server_framing_ok(struct MHD_Connection *conn)
{
	struct framing f = { 0, 0 };

	MHD_get_connection_values(
	    conn, MHD_HEADER_KIND, server_count_framing, &f);
	return f.cl <= 1 && f.te <= 1 && !(f.cl == 1 && f.te == 1);
}

static enum MHD_Result
server_queue(struct req *r)
{
	enum MHD_Result ret;

	if (r->resp == NULL)
		return MHD_NO; /* allocation failed: drop the connection */
	ret = MHD_queue_response(r->conn, r->status, r->resp);
	MHD_destroy_response(r->resp);
	r->resp = NULL;
	return ret;
}

/*
 * Headers of a streaming route: authenticate and let the stream set up,
 * so that a refused upload is answered before its body is read.
 */
static void
server_stream_begin(struct req *r)
{
	if (!server_authenticate(r))
		return;
	if (r->route->stream->begin(r) == 0) {
		r->streaming = true;
		/*
		 * An accepted upload may take longer than other requests;
		 * nobody unauthenticated gets this far.
		 */
		deadline_route(r->dl, r->route->name, server_upload_budget_ms);
	} else if (!r->replied)
		reply_error(r, 500, "internal", "upload refused");
}

/* A reply made on the headers: the request is no longer received. */
static enum MHD_Result
server_queue_early(struct req *r)
{
	deadline_disarm(r->dl);
	return server_queue(r);
}

/* A body chunk: kept in r->body, streamed, or (over the limit) dropped. */
static enum MHD_Result
server_body(struct req *r, const char *data, size_t n)
{
	size_t max = route_max_body(r->route);

	if (r->too_large || r->replied || r->len + n > max) {
		if (!r->replied)
			r->too_large = true;
		r->len += n;
		return r->len > max + SERVER_DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	if (r->streaming) {
		r->len += n;
		if (r->route->stream->data(r, data, n) != 0 && !r->replied)
			reply_error(r, 500, "internal", "upload failed");
		return MHD_YES;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;
		char *b;

		while (cap < r->len + n + 1)
			cap *= 2;
		if ((b = realloc(r->body, cap)) == NULL)
			return MHD_NO;
		r->body = b;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return MHD_YES;
}

static enum MHD_Result
server_on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct req *r = *con_cls;
	const union MHD_ConnectionInfo *ci;
	bool known;

	(void)cls;
	(void)version;
	if (r == NULL) {
		const char *cl;
		uint64_t n;

		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		*con_cls = r;
		atomic_fetch_add(&server_inflight, 1);
		r->conn = conn;
		r->method = method;
		r->path = url;
		r->t0 = util_mono_ns();
		if ((ci = MHD_get_connection_info(
			 conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT)) != NULL)
			r->dl = ci->socket_context;
		if (!server_framing_ok(conn)) {
			reply_error(r, 400, "bad_request",
			    "ambiguous message framing: one Content-Length "
			    "or one Transfer-Encoding, not both or two");
			reply_header(r, "Connection", "close");
			return server_queue_early(r);
		}
		r->route = route_find(r, method, url, &known);
		if (r->route == NULL) {
			if (known)
				reply_error(r, 405, "method_not_allowed",
				    "%s is not allowed here", method);
			else
				reply_error(
				    r, 404, "not_found", "no such endpoint");
			return server_queue_early(r);
		}
		deadline_route(r->dl, r->route->name, server_budget_ms);
		/* Before the body is read, so a refusal costs next to nothing. */
		if (r->route->auth == AUTH_NONE_LIMITED &&
		    !server_limit(r, "unauthenticated"))
			return server_queue_early(r);
		cl = req_header(r, "Content-Length");
		if (cl != NULL &&
		    (util_parse_u64(cl, UINT64_MAX, &n) != 0 ||
			n > route_max_body(r->route))) {
			/* Answered before a byte of the body is read. */
			r->too_large = true;
			server_dispatch(r);
			return server_queue_early(r);
		}
		if (r->route->stream != NULL) {
			server_stream_begin(r);
			if (r->replied)
				return server_queue_early(r);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		return server_body(r, upload_data, n);
	}
	/*
	 * The body is complete.  A reply made while it was read (a stream
	 * that failed) goes out now; one queued on the headers already went.
	 */
	deadline_disarm(r->dl);
	if (r->replied)
		return r->resp != NULL ? server_queue(r) : MHD_YES;
	server_dispatch(r);
	return server_queue(r);
}

static void
server_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;
	struct arena_blk *b, *next;

	(void)cls;
	(void)conn;
	(void)toe;
	if (r == NULL)
		return;
	/* A kept-alive connection is now ready for its next request. */
	deadline_arm(r->dl, server_ms(), server_budget_ms);
	if (r->streaming)
		r->route->stream->end(r);
	metrics_request(r->route, r->status, util_mono_ns() - r->t0);
	for (b = r->arena; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	json_decref(r->json);
	live_put(r->node);
	free(r->body);
	free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&server_inflight, 1);
}

/*
 * Connections open and close (libmicrohttpd's NOTIFY_CONNECTION, on the
 * connection's thread): each is bounded in time from the start, the TLS
 * handshake and its first request's headers included.  CLOSED comes
 * before libmicrohttpd closes the descriptor (cp/deadline.h).
 */
static void
server_on_connection(void *cls, struct MHD_Connection *conn,
    void **socket_context, enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *fd, *addr;

	(void)cls;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		deadline_close(*socket_context);
		*socket_context = NULL;
		return;
	}
	if (code != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	addr =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	*socket_context = fd == NULL
	    ? NULL
	    : deadline_open(fd->connect_fd,
		  addr != NULL ? addr->client_addr : NULL, server_ms(),
		  server_budget_ms);
}

static void
server_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512], q[600];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("event=mhd msg=%s", log_quote(q, sizeof(q), msg));
}

/*
 * libmicrohttpd's percent-decoding, except for a URI (or query argument)
 * that holds an encoded NUL: that one is left undecoded, so the handlers,
 * which see C strings, never get a path cut short at the NUL.
 */
static size_t
server_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	if (strstr(s, "%00") != NULL)
		return strlen(s);
	return MHD_http_unescape(s);
}

/* Streaming routes must be able to authenticate on the headers alone. */
static int
server_check_routes(char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < server_nroutes; i++) {
		const struct route *rt = &server_routes[i];

		if (rt->stream != NULL &&
		    (rt->auth == AUTH_NODE || rt->auth == AUTH_NODE_OR_VIEWER ||
			rt->json_body)) {
			snprintf(err, errlen,
			    "route %s %s: a streaming route takes a bearer "
			    "token and no JSON",
			    rt->method, rt->pattern);
			return -1;
		}
	}
	return 0;
}

static int
server_parse_listen(
    const char *listen, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	int64_t port;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (colon == NULL || util_parse_i64(colon + 1, 0, 65535, &port) != 0) {
		snprintf(err, errlen, "listen address must be ADDR:PORT");
		return -1;
	}
	hl = (size_t)(colon - listen);
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "listen address too long");
		return -1;
	}
	memcpy(host, listen, hl);
	host[hl] = '\0';
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		host[hl - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1)
			return 0;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) == 1)
			return 0;
	}
	snprintf(err, errlen,
	    "bad listen address %s (want IPv4:PORT or "
	    "[IPv6]:PORT)",
	    listen);
	return -1;
}

int
server_start(const struct server_opts *o, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TLS |
	    MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;

	if (server_check_routes(err, errlen) != 0 ||
	    server_parse_listen(o->listen, &ss, err, errlen) != 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	server_budget_ms =
	    ((uint64_t)o->timeout_s + o->request_timeout_s) * 1000u;
	server_upload_budget_ms =
	    ((uint64_t)o->timeout_s + o->upload_timeout_s) * 1000u;
	if (o->unauth_rate > 0 &&
	    (server_rl = ratelimit_new(SERVER_RATELIMIT_ENTRIES, o->unauth_rate,
		 o->unauth_burst)) == NULL) {
		snprintf(err, errlen, "cannot make the rate limit table");
		return -1;
	}
	if (deadline_start() != 0) {
		snprintf(err, errlen, "cannot start the request timer thread");
		ratelimit_free(server_rl);
		server_rl = NULL;
		return -1;
	}
	server_d = MHD_start_daemon(flags, 0, NULL, NULL, server_on_request,
	    NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_HTTPS_MEM_KEY, o->key_pem, MHD_OPTION_HTTPS_MEM_CERT,
	    o->cert_pem, MHD_OPTION_HTTPS_PRIORITIES,
	    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
	    MHD_OPTION_THREAD_POOL_SIZE, o->threads,
	    MHD_OPTION_CONNECTION_LIMIT, o->conn_limit,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->per_ip_limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_NOTIFY_COMPLETED,
	    server_on_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION,
	    server_on_connection, NULL, MHD_OPTION_EXTERNAL_LOGGER, server_log,
	    NULL, MHD_OPTION_UNESCAPE_CALLBACK, server_unescape, NULL,
	    MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
	if (server_d == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", o->listen,
		    strerror(errno));
		deadline_stop();
		ratelimit_free(server_rl);
		server_rl = NULL;
		return -1;
	}
	return 0;
}

unsigned
server_port(void)
{
	const union MHD_DaemonInfo *i;

	if (server_d == NULL ||
	    (i = MHD_get_daemon_info(server_d, MHD_DAEMON_INFO_BIND_PORT)) ==
		NULL)
		return 0;
	return i->port;
}

void
server_stop(unsigned grace_ms)
{
	MHD_socket fd;
	unsigned waited = 0;

	if (server_d == NULL)
		return;
	fd = MHD_quiesce_daemon(server_d);
	/* In-flight requests finish; idle keep-alive connections do not count. */
	while (atomic_load(&server_inflight) > 0 && waited < grace_ms) {
		usleep(10000);
		waited += 10;
	}
	if (atomic_load(&server_inflight) > 0)
		log_warnx("event=stop_cut_requests inflight=%d grace_ms=%u",
		    (int)atomic_load(&server_inflight), grace_ms);
	MHD_stop_daemon(server_d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	server_d = NULL;
	/* Every connection is closed: nothing is left to time or limit. */
	deadline_stop();
	ratelimit_free(server_rl);
	server_rl = NULL;
}
