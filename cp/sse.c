/*
 * The live event feed (state machine and limits in cp/sse.h).
 */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "cp/api.h"
#include "cp/auth.h"
#include "cp/sse.h"

/* Open streams of one token (the hub's per-token count). */
struct sse_owner {
	char name[64];
	unsigned n;
};

struct sse_stream {
	struct MHD_Connection *conn;
	struct sse_owner *owner;
	unsigned char token_hash[32]; /* the keyed hash of its token */
	bool ending;                  /* the token is no longer valid */
	struct event_filter f;
	char node[64], pop[64], kind[64];
	int64_t cursor;  /* the newest event id this stream is past */
	int64_t backlog; /* newest events to send first (0: none) */
	int64_t gap_to;  /* > 0: events up to this id are gone (retention) */
	bool opened;     /* the retry line and backlog went out */
	char *buf;       /* frames not yet taken by the connection */
	size_t len, off, cap;
	uint64_t last_write_ns;
	bool parked;
	struct sse_stream *next; /* the hub's parked list */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool running, stopping, woken;
	struct sse_stream *parked;
	unsigned streams, max_streams, per_token;
	struct sse_owner *owners; /* max_streams slots; n == 0: free */
	unsigned keepalive_s;
} hub = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/* ---- filters ---------------------------------------------------------- */

/* Names in filters: node ids, POP names, actions. */
static bool
sse_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return false;
	return strspn(s,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789._-") == n;
}

int
sse_filter_parse(struct req *r, struct event_filter *f)
{
	static const char *const keys[] = { "node", "pop", "kind" };
	const char **out[] = { &f->node, &f->pop, &f->kind };
	size_t i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < 3; i++) {
		const char *v = req_query(r, keys[i]);

		if (v == NULL)
			continue;
		if (!sse_name_ok(v)) {
			reply_error(r, 400, "invalid_field",
			    "%s must be 1-63 characters of letters, digits, "
			    "'.', '_' and '-'",
			    keys[i]);
			return -1;
		}
		*out[i] = v;
	}
	return 0;
}

/* ---- frames ----------------------------------------------------------- */

static int
sse_put(struct sse_stream *s, const char *p, size_t n)
{
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *b;

		while (cap < s->len + n)
			cap *= 2;
		if ((b = realloc(s->buf, cap)) == NULL)
			return -1;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

/* A frame per event; the cursor moves to the last one. */
static int
sse_frames(struct sse_stream *s, json_t *events)
{
	char head[160];
	json_t *e;
	size_t i;

	json_array_foreach(events, i, e)
	{
		char *data = json_dumps(e, JSON_COMPACT);
		int64_t id = json_integer_value(json_object_get(e, "id"));
		int n = snprintf(head, sizeof(head),
		    "id: %lld\nevent: %s\ndata: ", (long long)id,
		    json_string_value(json_object_get(e, "action")));

		if (data == NULL || n < 0 || (size_t)n >= sizeof(head) ||
		    sse_put(s, head, (size_t)n) != 0 ||
		    sse_put(s, data, strlen(data)) != 0 ||
		    sse_put(s, "\n\n", 2) != 0) {
			free(data);
			return -1;
		}
		free(data);
		s->cursor = id;
	}
	return 0;
}

/* The last words of a stream whose token no longer holds. */
#define SSE_END_COMMENT                                                        \
	": end: the token of this stream was revoked or has expired\n\n"

/*
 * Fill the buffer with what is due: the opening, new events, or a
 * keepalive; or, once the stream's token no longer holds, the end
 * (s->ending).  0 (maybe nothing due), -1 when the stream must end at
 * once.
 */
static int
sse_fill(struct sse_stream *s)
{
	int64_t last = store_last_event(cp.store);
	char name[64];
	json_t *ev = NULL;
	int rc;

	s->len = s->off = 0;
	/*
	 * The token is checked again at every wake-up (an event, a
	 * keepalive): one revoked or expired meanwhile ends the stream with
	 * a last comment saying why, and a reconnect then gets 401.
	 */
	if (s->opened &&
	    auth_hash_role(s->token_hash, util_now(), name, sizeof(name)) <
		ROLE_VIEWER) {
		s->ending = true;
		return sse_put(s, SSE_END_COMMENT, strlen(SSE_END_COMMENT));
	}
	if (!s->opened) {
		char retry[32];
		int n = snprintf(
		    retry, sizeof(retry), "retry: %d\n\n", SSE_RETRY_MS);

		s->opened = true;
		if (sse_put(s, retry, (size_t)n) != 0)
			return -1;
		if (s->gap_to > 0) {
			char gap[200];

			n = snprintf(gap, sizeof(gap),
			    ": gap: events %lld to %lld were removed by the "
			    "event retention; the stream goes on from %lld\n\n",
			    (long long)s->cursor + 1, (long long)s->gap_to,
			    (long long)s->gap_to + 1);
			if (n < 0 || (size_t)n >= sizeof(gap) ||
			    sse_put(s, gap, (size_t)n) != 0)
				return -1;
		}
		if (s->backlog > 0) {
			rc = store_event_tail(cp.store, &s->f, s->backlog, &ev);
			if (rc != STORE_OK || sse_frames(s, ev) != 0) {
				json_decref(ev);
				return -1;
			}
			json_decref(ev);
			if (s->cursor < last)
				s->cursor = last;
			return 0;
		}
	}
	if (last > s->cursor) {
		rc = store_event_list(
		    cp.store, &s->f, s->cursor, SSE_BATCH, &ev);
		if (rc != STORE_OK || sse_frames(s, ev) != 0) {
			json_decref(ev);
			return -1;
		}
		/* A short batch read everything up to `last`. */
		if (json_array_size(ev) < SSE_BATCH && s->cursor < last)
			s->cursor = last;
		json_decref(ev);
	}
	if (s->len == 0 &&
	    util_mono_ns() - s->last_write_ns >=
		(uint64_t)hub.keepalive_s * 1000000000ull)
		return sse_put(s, ": keepalive\n\n", 13);
	return 0;
}

/* ---- the content reader ------------------------------------------------ */

static ssize_t
sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct sse_stream *s = cls;
	size_t n;

	(void)pos;
	for (;;) {
		if (s->off < s->len) {
			n = s->len - s->off < max ? s->len - s->off : max;
			memcpy(out, s->buf + s->off, n);
			s->off += n;
			s->last_write_ns = util_mono_ns();
			return (ssize_t)n;
		}
		if (s->ending)
			return MHD_CONTENT_READER_END_OF_STREAM;
		pthread_mutex_lock(&hub.mu);
		if (hub.stopping) {
			pthread_mutex_unlock(&hub.mu);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		pthread_mutex_unlock(&hub.mu);
		if (sse_fill(s) != 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (s->len > 0)
			continue;
		/* Nothing due: park, unless an event came in meanwhile. */
		pthread_mutex_lock(&hub.mu);
		if (hub.stopping || store_last_event(cp.store) > s->cursor) {
			pthread_mutex_unlock(&hub.mu);
			continue;
		}
		s->parked = true;
		s->next = hub.parked;
		hub.parked = s;
		MHD_suspend_connection(s->conn);
		pthread_mutex_unlock(&hub.mu);
		return 0;
	}
}

static void
sse_unpark_locked(struct sse_stream *s)
{
	struct sse_stream **p;

	for (p = &hub.parked; *p != NULL; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	s->parked = false;
}

static void
sse_done(void *cls)
{
	struct sse_stream *s = cls;

	pthread_mutex_lock(&hub.mu);
	if (s->parked)
		sse_unpark_locked(s);
	hub.streams--;
	s->owner->n--;
	pthread_mutex_unlock(&hub.mu);
	free(s->buf);
	sodium_memzero(s->token_hash, sizeof(s->token_hash));
	free(s);
}

/* ---- the hub ----------------------------------------------------------- */

/* Resume the parked streams that have something due (all: every one). */
static void
sse_wake_locked(bool all)
{
	uint64_t now = util_mono_ns(),
		 due = (uint64_t)hub.keepalive_s * 1000000000ull;
	struct sse_stream **p = &hub.parked, *s;

	while ((s = *p) != NULL) {
		if (all || now - s->last_write_ns >= due) {
			*p = s->next;
			s->parked = false;
			MHD_resume_connection(s->conn);
		} else
			p = &s->next;
	}
}

static void
sse_on_event(void)
{
	pthread_mutex_lock(&hub.mu);
	hub.woken = true;
	pthread_cond_signal(&hub.cv);
	pthread_mutex_unlock(&hub.mu);
}

static void *
sse_hub(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&hub.mu);
	while (!hub.stopping) {
		struct timespec ts;

		if (!hub.woken) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&hub.cv, &hub.mu, &ts);
		}
		if (hub.stopping)
			break;
		sse_wake_locked(hub.woken);
		hub.woken = false;
	}
	sse_wake_locked(true);
	pthread_mutex_unlock(&hub.mu);
	return NULL;
}

int
sse_start(unsigned idle_timeout_s, unsigned max_streams)
{
	free(hub.owners);
	if ((hub.owners = calloc(max_streams, sizeof(*hub.owners))) == NULL)
		return -1;
	hub.max_streams = max_streams;
	hub.per_token = max_streams / 4 ? max_streams / 4 : 1;
	hub.keepalive_s = SSE_KEEPALIVE_S;
	if (idle_timeout_s / 2 < hub.keepalive_s)
		hub.keepalive_s = idle_timeout_s / 2 ? idle_timeout_s / 2 : 1;
	hub.stopping = false;
	store_on_event(cp.store, sse_on_event);
	if (pthread_create(&hub.thread, NULL, sse_hub, NULL) != 0)
		return -1;
	hub.running = true;
	return 0;
}

void
sse_stop(void)
{
	if (!hub.running)
		return;
	pthread_mutex_lock(&hub.mu);
	hub.stopping = true;
	pthread_cond_signal(&hub.cv);
	pthread_mutex_unlock(&hub.mu);
	pthread_join(hub.thread, NULL);
	store_on_event(cp.store, NULL);
	hub.running = false;
}

/* The token's slot, a free one for a new token (the hub's lock held). */
static struct sse_owner *
sse_owner_locked(const char *name)
{
	struct sse_owner *free_slot = NULL;
	unsigned i;

	for (i = 0; i < hub.max_streams; i++) {
		if (hub.owners[i].n > 0 &&
		    strcmp(hub.owners[i].name, name) == 0)
			return &hub.owners[i];
		if (hub.owners[i].n == 0 && free_slot == NULL)
			free_slot = &hub.owners[i];
	}
	/*
	 * Fewer streams than slots are open (the caller checked): there is a
	 * free one, which cppcheck cannot know.
	 */
	/* cppcheck-suppress nullPointer */
	util_strlcpy(free_slot->name, name, sizeof(free_slot->name));
	return free_slot;
}

unsigned
sse_streams(void)
{
	unsigned n;

	pthread_mutex_lock(&hub.mu);
	n = hub.streams;
	pthread_mutex_unlock(&hub.mu);
	return n;
}

/* ---- the route --------------------------------------------------------- */

int
api_events_stream(struct req *r)
{
	const char *lei = req_header(r, "Last-Event-ID"),
		   *after = req_query(r, "after"),
		   *bl = req_query(r, "backlog"),
		   *authz = req_header(r, "Authorization");
	unsigned char hash[32];
	struct event_filter f;
	struct sse_stream *s;
	int64_t cursor = -1, backlog = 0, oldest = 0;
	int rc;

	/* The route let a valid token in: its hash is for the re-checks. */
	if (authz == NULL || strncmp(authz, "Bearer ", 7) != 0 ||
	    auth_token_hash(authz + 7, hash) != 0)
		return reply_error(r, 401, "unauthenticated",
		    "a valid API token is required (Authorization: Bearer "
		    "TOKEN)");
	if (sse_filter_parse(r, &f) != 0)
		return 0;
	if (lei != NULL && util_parse_i64(lei, 0, INT64_MAX, &cursor) != 0)
		return reply_error(r, 400, "invalid_field",
		    "Last-Event-ID must be an event id");
	if (cursor < 0 && after != NULL &&
	    util_parse_i64(after, 0, INT64_MAX, &cursor) != 0)
		return reply_error(
		    r, 400, "invalid_field", "after must be an event id");
	if (bl != NULL && util_parse_i64(bl, 0, 1000, &backlog) != 0)
		return reply_error(r, 400, "invalid_field",
		    "backlog must be an integer 0-1000");
	/* A cursor older than what retention kept: say what is gone. */
	if (cursor >= 0 &&
	    (rc = store_event_oldest(cp.store, &oldest)) != STORE_OK)
		return reply_store_error(r, rc, "events");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return reply_error(r, 503, "unavailable", "out of memory");
	memcpy(s->token_hash, hash, sizeof(hash));
	sodium_memzero(hash, sizeof(hash));
	pthread_mutex_lock(&hub.mu);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-null-dereference"
	/*
	 * sse_owner_locked() finds a slot once fewer streams than slots are
	 * open, as checked before it; the analyzer takes it for NULL.
	 */
	if (hub.stopping || !hub.running || hub.streams >= hub.max_streams ||
	    (s->owner = sse_owner_locked(r->actor))->n >= hub.per_token) {
		bool all = hub.streams >= hub.max_streams;

		pthread_mutex_unlock(&hub.mu);
		sodium_memzero(s->token_hash, sizeof(s->token_hash));
		free(s);
		reply_error(r, 503, "unavailable",
		    all ? "too many event streams are open (%u)"
			: "this token has its share of event streams open "
			  "(%u)",
		    all ? hub.max_streams : hub.per_token);
		reply_header(r, "Retry-After", "10");
		return 0;
	}
#pragma GCC diagnostic pop
	hub.streams++;
	s->owner->n++;
	pthread_mutex_unlock(&hub.mu);
	s->conn = r->conn;
	/* The filter's strings outlive the request. */
	if (f.node != NULL)
		s->f.node = memcpy(s->node, f.node, strlen(f.node) + 1);
	if (f.pop != NULL)
		s->f.pop = memcpy(s->pop, f.pop, strlen(f.pop) + 1);
	if (f.kind != NULL)
		s->f.kind = memcpy(s->kind, f.kind, strlen(f.kind) + 1);
	if (cursor >= 0) {
		s->cursor = cursor;
		if (cursor < oldest - 1)
			s->gap_to = oldest - 1;
	} else {
		s->cursor = store_last_event(cp.store);
		s->backlog = backlog;
	}
	s->last_write_ns = util_mono_ns();
	reply_stream(r, 200, "text/event-stream", sse_read, s, sse_done);
	reply_header(r, "X-Accel-Buffering", "no");
	return 0;
}
