/*
 * fleetsim: thousands of simulated keepers in one process (SPEC §8), with
 * real enrollment, real Ed25519 keys, real sessions and real HTTPS.
 *
 *	fleetsim --server URL (--pin sha256//... | --cert FILE)
 *		 --token ADMIN_TOKEN --pop NAME --nodes N --interval S
 *		 --duration S [--fail-rate F] [--seed X] [--conns K]
 *		 [-o json]
 *
 *  1. Enrollment tokens: with the operator API token, POST
 *     /v1/enrollment-tokens for the POP, as many as N needs (edge-cp caps
 *     "uses" at FS_TOKEN_USES, cp/api_admin.c).
 *  2. Setup: every node makes its Ed25519 key pair, enrolls (proof of
 *     possession) and opens a session (signed X25519 handshake), as
 *     edge-keeper does; up to K at a time.
 *  3. Check-ins, for --duration seconds from the end of the setup: every
 *     node GETs /v1/node/desired with If-None-Match every --interval
 *     seconds ±10 % (the first one spread uniformly over the first
 *     interval, so the fleet does not arrive in step; each node keeps its
 *     phase, and check-ins missed while edge-cp lagged are skipped, not
 *     made up, so a backlog cannot turn into a stampede).  A 200 is
 *     "applied": the node POSTs a status report (schema/status.schema.json)
 *     saying it runs the targets: generation = the ETag, versions =
 *     {profile, dataplane, keeper}, one "in_sync" step per profile step and,
 *     when a dataplane version is targeted, a healthy dataplane at it.  Like
 *     the keeper, a node re-sends its report only when it changed (or the
 *     last one failed), plus every FS_RESEND_S seconds.
 *
 * Failures (--fail-rate F, 0..1): each time a node gets a document whose
 * targets differ from those it runs, it draws a number (from --seed, its
 * index and its count of draws, so they do not depend on timing); with
 * probability F it "fails": it keeps reporting its previous versions, the
 * first step of the new profile (or, when it has none, a step "dataplane"
 * of kind dataplane) is in "error" with reason "simulated failure", and
 * the dataplane is unhealthy when its version was to change.  A failure
 * holds until the next document: a keeper would retry every pass, and
 * fail the same way.  A node starts from nothing: profile 0, no releases.
 *
 * Connections.  No thread and no TLS connection per node: the nodes share
 * a pool of K kept-alive connections (--conns, default FS_CONNS_DEFAULT),
 * through tests/fleetsim/simnet (one epoll loop, non-blocking GnuTLS,
 * HTTP/1.1 by hand; shared with tests/bench/cp_checkin).  That works
 * because an edge-cp session belongs to the node, not to a connection
 * (cp/session.c finds it by the id in the tag): a node may use any
 * connection.  A node whose check-in is due waits in a FIFO for a free
 * connection, then holds it for its whole exchange (GET, and the POST
 * after a 200), which keeps its requests in counter order.  edge-cp caps
 * connections per client address (--per-ip-limit, default 1024): the
 * default pool of 32 stays well under it, and it is plenty: at a few ms
 * per request, 32 connections carry well over 10,000 check-ins per
 * second (50,000 nodes at 5 s).  A larger K needs edge-cp started with a
 * per-ip limit above K.  Every simulated node enrolls and handshakes from
 * the same address, like a whole fleet behind one NAT: edge-cp's limit on
 * that work per address (--unauth-burst, --unauth-rate) must let 2N
 * through, or be off (--unauth-rate 0).  Only the time a request
 * spends on a connection counts as latency ("request sent to response
 * parsed"); the wait for a free connection is shown in the text summary.
 *
 * Cost per node: about 370 bytes (keys, session, ETag, timer, which
 * versions it runs): 25 MB for 50,000.  Per check-in about 30 µs of CPU on
 * a small VM, most of it in the kernel (TCP, waking up); due check-ins
 * leave in batches of FS_TICK_NS to wake less often.  No allocation in
 * the steady state except to parse a changed desired document.
 *
 * Sessions expire (SESSION_TTL) and vanish when edge-cp restarts: on a
 * 401 "session_expired" a node handshakes again and retries once, as
 * common/cpclient.c does; that is not an error.
 *
 * Output: a progress line per second on stderr; at the end a summary on
 * stdout, or with -o json one line (the last on stdout):
 *	{"nodes":N,"enrolled":E,"checkins":C,"checkins_per_s":X,
 *	 "p50_ms":P,"p99_ms":Q,"errors":K}
 * checkins: answered GET /v1/node/desired (200 or 304); p50/p99: their
 * latency; errors: failed requests and unexpected answers, setup included.
 * Exit status: 0 when errors is 0, 1 otherwise, 2 on a usage error.
 *
 * One simulator per process (the callbacks find it through a static).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/json.h"
#include "common/util.h"
#include "tests/fleetsim/hist.h"
#include "tests/fleetsim/simnet.h"
#include "tests/fleetsim/simnode.h"

#define FS_NODES_MAX 200000
#define FS_CONNS_DEFAULT 32
#define FS_CONNS_MAX 4096
#define FS_INTERVAL_MAX 300 /* edge-cp's --node-interval range */
#define FS_DURATION_MAX 86400
#define FS_TOKEN_USES 100000 /* edge-cp's cap on "uses" */
#define FS_TOKEN_TTL 3600
#define FS_TOKEN_MAX 128
#define FS_RESEND_S 300 /* keeper/run.c FULL_REPORT_S */
#define FS_TARGETS_MAX 4096
#define FS_STEPS_MAX 256
#define FS_NAME_MAX 64
#define FS_KIND_MAX 32
#define FS_VERSION_MAX 64
#define FS_GEN_MAX 64 /* status.schema.json: generation */
#define FS_REPORT_MAX (SIMNET_REQ_MAX - 1024)
#define FS_SEC_NS (1000ull * 1000 * 1000)
#define FS_DRAIN_NS (10 * FS_SEC_NS)
#define FS_TICK_NS (4ull * 1000 * 1000) /* timer resolution */

/*
 * A simulated node:
 *
 *	NEW ─▶ ENROLL ─▶ SESSION ─▶ READY ◀────────────────────────────┐
 *	  setup: one pooled           │ due (timer heap)                │
 *	  connection throughout       ▼                                 │
 *	                            QUEUED ─▶ GET ──200──▶ POST ────────┤
 *	                        (a free connection)  └──304─────────────┤
 *	                                  401 session_expired, once:    │
 *	                                  REKEY, then the GET or POST ──┘
 *
 * A failed setup leaves it DEAD; a failed check-in is counted and the next
 * one comes at the next interval.  From QUEUED to READY it holds one
 * connection.
 */
enum fs_phase {
	FN_NEW,
	FN_ENROLL,
	FN_SESSION,
	FN_READY,
	FN_QUEUED,
	FN_GET,
	FN_POST,
	FN_REKEY,
	FN_DEAD,
};

struct fs_node {
	struct simnode sn;
	char etag[FS_GEN_MAX + 1]; /* of the last document applied */
	uint64_t due;              /* next check-in (mono ns) */
	uint64_t rng;              /* xorshift64* state, for jitter */
	uint64_t report_hash;      /* of the last report sent */
	uint32_t report_at;        /* s since start, last report accepted */
	uint32_t qnext;            /* FIFO link */
	uint32_t draws;            /* failure draws so far */
	uint16_t applied;          /* fs_target it runs */
	uint16_t desired;          /* fs_target it was last given */
	uint16_t conn;             /* pool slot while it holds one */
	uint8_t phase;
	bool failed;     /* last document not applied (simulated) */
	bool dp_failed;  /* ... and its dataplane version was to change */
	bool report_ok;  /* last report accepted */
	bool retried;    /* this check-in already handshook again */
	bool rekey_post; /* after the handshake: re-send the report */
};

struct fs_step {
	char name[FS_NAME_MAX + 1];
	char kind[FS_KIND_MAX + 1];
};

/* What a desired document asks a node to run; interned, few distinct. */
struct fs_target {
	int64_t profile;
	char dataplane[FS_VERSION_MAX + 1];
	char keeper[FS_VERSION_MAX + 1];
	size_t nsteps;
	struct fs_step *steps;
};

struct fs_opts {
	const char *server;
	const char *pin;
	const char *cert;
	const char *token;
	const char *pop;
	int64_t nodes;
	int64_t interval;
	int64_t duration;
	int64_t conns;
	double fail_rate;
	uint64_t seed;
	bool json;
};

struct fleet {
	const struct fs_opts *o;
	struct simnet *net;
	uint64_t t_start; /* process start, mono ns */

	struct fs_node *nodes;
	size_t n;
	char (*tokens)[FS_TOKEN_MAX];
	size_t ntokens;

	/* Connection pool: free slots as a stack. */
	struct simnet_conn **conns;
	uint16_t *free_conns;
	size_t nfree;

	/* Nodes waiting for a connection (FIFO) and for their timer (heap). */
	uint32_t q_head, q_tail;
	size_t q_len;
	uint32_t *heap;
	size_t heap_n;

	struct fs_target *targets;
	size_t ntargets;

	bool running;  /* check-in phase: finished nodes are rescheduled */
	bool stopping; /* no more requests start */
	bool starting; /* inside fs_start: a released slot goes to the pool */

	/* Figures. */
	size_t enrolled;
	size_t sessions;
	size_t setup_failed;
	uint64_t checkins;
	uint64_t changed; /* 200s: new documents */
	uint64_t reports;
	uint64_t sim_failures;
	uint64_t rekeys;
	uint64_t errors;
	struct hist lat;      /* check-in latency */
	struct hist lat_same; /* ... of those answered 304 */
	struct hist wait;     /* due to a connection */
	char first_err[512];
	char report[FS_REPORT_MAX];
};

#define FS_NONE UINT32_MAX

static struct fleet *fs_fleet;
static volatile sig_atomic_t fs_signalled;

static simnet_done_fn fs_done;
static void fs_start(struct fleet *, struct fs_node *, uint16_t);
static void fs_free(struct fleet *);

/* ---------------------------------------------------------------------
 * Small helpers.
 */

static uint64_t
fs_splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Uniform in [0, 1), from the node's own xorshift64* stream. */
static double
fs_rand01(struct fs_node *nd)
{
	uint64_t x = nd->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	nd->rng = x;
	return (double)((x * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

/*
 * The node's next failure draw, uniform in [0, 1): a function of --seed,
 * the node and how many draws it made, so that a seed fails the same
 * nodes at the same changes however the run is timed.
 */
static double
fs_fail_draw(const struct fleet *fl, struct fs_node *nd)
{
	uint64_t x = fs_splitmix(fl->o->seed);

	x = fs_splitmix(x + (uint64_t)(nd - fl->nodes));
	x = fs_splitmix(x + nd->draws++);
	return (double)(x >> 11) / 9007199254740992.0;
}

static uint64_t
fs_fnv(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint32_t
fs_now_s(const struct fleet *fl)
{
	return (uint32_t)((util_mono_ns() - fl->t_start) / FS_SEC_NS);
}

static void fs_fail(struct fleet *fl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Count an error; the first one is kept for the summary. */
static void
fs_fail(struct fleet *fl, const char *fmt, ...)
{
	va_list ap;

	fl->errors++;
	if (fl->first_err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(fl->first_err, sizeof(fl->first_err), fmt, ap);
	va_end(ap);
}

static size_t
fs_inflight(const struct fleet *fl)
{
	struct simnet_stats st;

	simnet_stats(fl->net, &st);
	return st.inflight;
}

/* ---------------------------------------------------------------------
 * The wait queue, the timer heap and the connection pool.
 */

static void
fs_queue_push(struct fleet *fl, struct fs_node *nd)
{
	uint32_t idx = (uint32_t)(nd - fl->nodes);

	nd->phase = FN_QUEUED;
	nd->qnext = FS_NONE;
	if (fl->q_tail != FS_NONE)
		fl->nodes[fl->q_tail].qnext = idx;
	else
		fl->q_head = idx;
	fl->q_tail = idx;
	fl->q_len++;
}

static struct fs_node *
fs_queue_pop(struct fleet *fl)
{
	struct fs_node *nd;

	if (fl->q_head == FS_NONE)
		return NULL;
	nd = &fl->nodes[fl->q_head];
	fl->q_head = nd->qnext;
	if (fl->q_head == FS_NONE)
		fl->q_tail = FS_NONE;
	fl->q_len--;
	return nd;
}

static bool
fs_heap_less(const struct fleet *fl, uint32_t a, uint32_t b)
{
	return fl->nodes[a].due < fl->nodes[b].due;
}

static void
fs_heap_push(struct fleet *fl, struct fs_node *nd)
{
	size_t i = fl->heap_n++, p;
	uint32_t idx = (uint32_t)(nd - fl->nodes);

	nd->phase = FN_READY;
	while (i > 0) {
		p = (i - 1) / 2;
		if (!fs_heap_less(fl, idx, fl->heap[p]))
			break;
		fl->heap[i] = fl->heap[p];
		i = p;
	}
	fl->heap[i] = idx;
}

static struct fs_node *
fs_heap_pop(struct fleet *fl)
{
	uint32_t top, last;
	size_t i = 0, c;

	if (fl->heap_n == 0)
		return NULL;
	top = fl->heap[0];
	last = fl->heap[--fl->heap_n];
	for (;;) {
		c = 2 * i + 1;
		if (c >= fl->heap_n)
			break;
		if (c + 1 < fl->heap_n &&
		    fs_heap_less(fl, fl->heap[c + 1], fl->heap[c]))
			c++;
		if (!fs_heap_less(fl, fl->heap[c], last))
			break;
		fl->heap[i] = fl->heap[c];
		i = c;
	}
	if (fl->heap_n > 0)
		fl->heap[i] = last;
	return &fl->nodes[top];
}

/*
 * A connection is free again: the next waiting node takes it at once
 * (from inside the connection's callback, so simnet sends without a
 * round through epoll), or it goes back to the pool.
 */
static void
fs_release(struct fleet *fl, uint16_t slot)
{
	struct fs_node *nd;

	/*
	 * A request that cannot even be built ends at once and releases
	 * again: then the slot waits for fs_dispatch, no recursion.
	 */
	if (!fl->stopping && !fl->starting && (nd = fs_queue_pop(fl)) != NULL) {
		fl->starting = true;
		fs_start(fl, nd, slot);
		fl->starting = false;
		return;
	}
	fl->free_conns[fl->nfree++] = slot;
}

/* Give free connections to waiting nodes. */
static void
fs_dispatch(struct fleet *fl)
{
	struct fs_node *nd;

	fl->starting = true;
	while (
	    !fl->stopping && fl->nfree > 0 && (nd = fs_queue_pop(fl)) != NULL)
		fs_start(fl, nd, fl->free_conns[--fl->nfree]);
	fl->starting = false;
}

/* ---------------------------------------------------------------------
 * Desired documents and status reports.
 */

/* The target's index, interned; -1 when the table is full. */
static int
fs_target_intern(struct fleet *fl, int64_t profile, const char *dp,
    const char *keeper, const json_t *steps)
{
	struct fs_target *t;
	const json_t *st;
	size_t i;

	for (i = 0; i < fl->ntargets; i++) {
		t = &fl->targets[i];
		if (t->profile == profile && strcmp(t->dataplane, dp) == 0 &&
		    strcmp(t->keeper, keeper) == 0)
			return (int)i;
	}
	if (fl->ntargets == FS_TARGETS_MAX)
		return -1;
	t = &fl->targets[fl->ntargets];
	memset(t, 0, sizeof(*t));
	t->profile = profile;
	util_strlcpy(t->dataplane, dp, sizeof(t->dataplane));
	util_strlcpy(t->keeper, keeper, sizeof(t->keeper));
	if (json_array_size(steps) > 0 &&
	    (t->steps = calloc(json_array_size(steps), sizeof(*t->steps))) ==
		NULL)
		return -1;
	json_array_foreach(steps, i, st)
	{
		util_strlcpy(t->steps[i].name,
		    json_string_value(json_object_get(st, "name")),
		    sizeof(t->steps[i].name));
		util_strlcpy(t->steps[i].kind,
		    json_string_value(json_object_get(st, "kind")),
		    sizeof(t->steps[i].kind));
	}
	t->nsteps = json_array_size(steps);
	return (int)fl->ntargets++;
}

/*
 * The targets of a desired document (schema/desired.schema.json): the
 * profile version and its steps, the dataplane and keeper versions.
 */
static int
fs_parse_desired(struct fleet *fl, const struct simnet_resp *r,
    uint16_t *target, char *err, size_t errlen)
{
	json_t *o = NULL, *prof, *dp, *kp, *steps, *st;
	const char *dpv = NULL, *kv = NULL, *s;
	int64_t pv = 0;
	char sub[256];
	size_t i;
	int t, ret = -1;

	if (json_parse_strict(r->body, r->body_len, SIMNET_RESP_MAX,
		JSON_DEFAULT_DEPTH, &o, sub, sizeof(sub)) != 0 ||
	    jfield_obj(o, "profile", true, &prof, sub, sizeof(sub)) != 0 ||
	    jfield_int(prof, "version", true, 0, INT64_MAX, &pv, sub,
		sizeof(sub)) != 0 ||
	    jfield_arr(prof, "steps", true, FS_STEPS_MAX, &steps, sub,
		sizeof(sub)) != 0 ||
	    jfield_obj(o, "dataplane", true, &dp, sub, sizeof(sub)) != 0 ||
	    jfield_str(dp, "version", true, FS_VERSION_MAX, &dpv, sub,
		sizeof(sub)) != 0 ||
	    jfield_obj(o, "keeper", true, &kp, sub, sizeof(sub)) != 0 ||
	    jfield_str(kp, "version", true, FS_VERSION_MAX, &kv, sub,
		sizeof(sub)) != 0) {
		snprintf(err, errlen, "desired state: %s", sub);
		goto out;
	}
	json_array_foreach(steps, i, st)
	{
		if (!json_is_object(st) ||
		    jfield_str(st, "name", true, FS_NAME_MAX, &s, sub,
			sizeof(sub)) != 0 ||
		    jfield_str(st, "kind", true, FS_KIND_MAX, &s, sub,
			sizeof(sub)) != 0) {
			snprintf(err, errlen, "desired state: steps[%zu]: %s",
			    i, json_is_object(st) ? sub : "not an object");
			goto out;
		}
	}
	if ((t = fs_target_intern(fl, pv, dpv, kv, steps)) < 0) {
		snprintf(err, errlen, "more than %d distinct targets",
		    FS_TARGETS_MAX);
		goto out;
	}
	*target = (uint16_t)t;
	ret = 0;
out:
	json_decref(o);
	return ret;
}

/* A bounded string builder: overflow is remembered, not written. */
struct fs_buf {
	char *p;
	size_t len, cap;
	bool over;
};

static void
fs_put(struct fs_buf *b, const char *s)
{
	size_t l = strlen(s);

	if (b->over || b->len + l >= b->cap) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->len, s, l);
	b->len += l;
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void
fs_put_str(struct fs_buf *b, const char *s)
{
	char esc[8];

	fs_put(b, "\"");
	for (; *s != '\0' && !b->over; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			esc[2] = '\0';
		} else if (ch < 0x20)
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
		else {
			esc[0] = (char)ch;
			esc[1] = '\0';
		}
		fs_put(b, esc);
	}
	fs_put(b, "\"");
}

static void
fs_put_step(struct fs_buf *b, bool first, const char *name, const char *kind,
    bool error)
{
	fs_put(b, first ? "{\"name\":" : ",{\"name\":");
	fs_put_str(b, name);
	fs_put(b, ",\"kind\":");
	fs_put_str(b, kind);
	fs_put(b,
	    error ? ",\"state\":\"error\",\"reason\":\"simulated failure\"}"
		  : ",\"state\":\"in_sync\",\"reason\":\"\"}");
}

/* The node's status report into fl->report; its length, or -1. */
static int
fs_report(struct fleet *fl, const struct fs_node *nd, size_t *len)
{
	const struct fs_target *a = &fl->targets[nd->applied];
	const struct fs_target *d = &fl->targets[nd->desired];
	struct fs_buf b = { fl->report, 0, sizeof(fl->report), false };
	char pv[24] = "";
	size_t i;

	if (a->profile > 0)
		snprintf(pv, sizeof(pv), "%lld", (long long)a->profile);
	fs_put(&b, "{\"generation\":");
	fs_put_str(&b, nd->etag);
	fs_put(&b, ",\"versions\":{\"profile\":");
	fs_put_str(&b, pv);
	fs_put(&b, ",\"dataplane\":");
	fs_put_str(&b, a->dataplane);
	fs_put(&b, ",\"keeper\":");
	fs_put_str(&b, a->keeper);
	fs_put(&b, "},\"steps\":[");
	for (i = 0; i < d->nsteps; i++)
		fs_put_step(&b, i == 0, d->steps[i].name, d->steps[i].kind,
		    nd->failed && i == 0);
	if (nd->failed && d->nsteps == 0)
		fs_put_step(&b, true, "dataplane", "dataplane", true);
	fs_put(&b, "]");
	if (d->dataplane[0] != '\0') {
		fs_put(&b, ",\"dataplane\":{\"healthy\":");
		fs_put(&b, nd->failed && nd->dp_failed ? "false" : "true");
		fs_put(&b, ",\"version\":");
		fs_put_str(&b, a->dataplane);
		fs_put(&b, "}");
	}
	fs_put(&b, "}");
	if (b.over)
		return -1;
	*len = b.len;
	return 0;
}

/*
 * "Apply" a new document: run its targets, or, drawn with --fail-rate when
 * they differ from what the node runs, fail and keep the old ones.
 */
static void
fs_apply(struct fleet *fl, struct fs_node *nd, uint16_t target)
{
	const struct fs_target *from = &fl->targets[nd->applied];
	const struct fs_target *to = &fl->targets[target];

	nd->desired = target;
	nd->failed = false;
	nd->dp_failed = false;
	if (target == nd->applied)
		return;
	if (fl->o->fail_rate > 0 && fs_fail_draw(fl, nd) < fl->o->fail_rate) {
		nd->failed = true;
		nd->dp_failed = strcmp(from->dataplane, to->dataplane) != 0;
		fl->sim_failures++;
		return;
	}
	nd->applied = target;
}

/* ---------------------------------------------------------------------
 * Node requests.
 */

/*
 * The exchange is over: schedule the next check-in, free the connection.
 * The next one is due an interval (±10 %) after this one was due, not
 * after it ended, and slots that have passed meanwhile are skipped: each
 * node keeps its phase, so a slow spell of edge-cp neither grows into a
 * backlog nor bunches the fleet into waves once it is over.
 */
static void
fs_finish(struct fleet *fl, struct fs_node *nd)
{
	uint64_t iv = (uint64_t)fl->o->interval * FS_SEC_NS;
	uint64_t now = util_mono_ns();
	uint16_t slot = nd->conn;

	do
		nd->due += (uint64_t)((double)iv * (0.9 + 0.2 * fs_rand01(nd)));
	while (nd->due <= now);
	if (fl->running)
		fs_heap_push(fl, nd);
	else
		nd->phase = FN_READY;
	fs_release(fl, slot);
}

static void
fs_setup_end(struct fleet *fl, struct fs_node *nd, bool ok)
{
	if (ok) {
		fl->sessions++;
		nd->phase = FN_READY;
	} else {
		fl->setup_failed++;
		nd->phase = FN_DEAD;
	}
	fs_release(fl, nd->conn);
}

static void
fs_get(struct fleet *fl, struct fs_node *nd)
{
	char inm[FS_GEN_MAX + 32] = "";

	nd->phase = FN_GET;
	if (nd->etag[0] != '\0')
		snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n", nd->etag);
	if (simnode_request(&nd->sn, fl->conns[nd->conn], "GET",
		"/v1/node/desired", inm, NULL, 0, fs_done, nd) != 0) {
		fs_fail(fl, "node %s: cannot build a check-in", nd->sn.id);
		fs_finish(fl, nd);
	}
}

/* POST the report when it changed, the last one failed, or it is due. */
static void
fs_maybe_report(struct fleet *fl, struct fs_node *nd, bool force)
{
	uint32_t now = fs_now_s(fl);
	uint64_t h;
	size_t len;

	if (fs_report(fl, nd, &len) != 0) {
		fs_fail(fl, "node %s: status report too large", nd->sn.id);
		fs_finish(fl, nd);
		return;
	}
	h = fs_fnv(fl->report, len);
	if (!force && nd->report_ok && h == nd->report_hash &&
	    now - nd->report_at < FS_RESEND_S) {
		fs_finish(fl, nd);
		return;
	}
	nd->report_hash = h;
	nd->report_ok = false;
	nd->phase = FN_POST;
	if (simnode_request(&nd->sn, fl->conns[nd->conn], "POST",
		"/v1/node/status", "", fl->report, len, fs_done, nd) != 0) {
		fs_fail(fl, "node %s: cannot build a report", nd->sn.id);
		fs_finish(fl, nd);
	}
}

/* A 401 session_expired: handshake again, then retry once. */
static bool
fs_rekey(struct fleet *fl, struct fs_node *nd, const struct simnet_resp *r)
{
	char code[64];

	if (r->status != 401 || nd->retried)
		return false;
	simnode_error_code(r, code, sizeof(code));
	if (strcmp(code, "session_expired") != 0)
		return false;
	nd->retried = true;
	nd->rekey_post = nd->phase == FN_POST;
	nd->phase = FN_REKEY;
	fl->rekeys++;
	if (simnode_session(&nd->sn, fl->conns[nd->conn], fs_done, nd) != 0) {
		fs_fail(fl, "node %s: cannot build a handshake", nd->sn.id);
		fs_finish(fl, nd);
	}
	return true;
}

/* A node gets a connection: its next request goes out on it. */
static void
fs_start(struct fleet *fl, struct fs_node *nd, uint16_t slot)
{
	uint64_t now = util_mono_ns();
	char host[80];
	size_t idx = (size_t)(nd - fl->nodes);

	nd->conn = slot;
	if (nd->phase == FN_NEW) {
		snprintf(host, sizeof(host), "sim-%zu.%s", idx, fl->o->pop);
		nd->phase = FN_ENROLL;
		if (simnode_enroll(&nd->sn, fl->conns[slot],
			fl->tokens[idx / FS_TOKEN_USES], host, fs_done,
			nd) != 0) {
			fs_fail(
			    fl, "node %zu: cannot build the enrollment", idx);
			fs_setup_end(fl, nd, false);
		}
		return;
	}
	hist_add(&fl->wait, now > nd->due ? (now - nd->due) / 1000u : 0);
	nd->retried = false;
	fs_get(fl, nd);
}

static void
fs_on_setup(struct fleet *fl, struct fs_node *nd, const struct simnet_resp *r)
{
	char err[512];
	size_t idx = (size_t)(nd - fl->nodes);

	if (nd->phase == FN_ENROLL) {
		if (simnode_enrolled(&nd->sn, r, err, sizeof(err)) != 0) {
			fs_fail(fl, "node %zu: %s", idx, err);
			fs_setup_end(fl, nd, false);
			return;
		}
		fl->enrolled++;
		nd->phase = FN_SESSION;
		if (simnode_session(
			&nd->sn, fl->conns[nd->conn], fs_done, nd) != 0) {
			fs_fail(fl, "node %zu: cannot build a handshake", idx);
			fs_setup_end(fl, nd, false);
		}
		return;
	}
	if (simnode_session_opened(&nd->sn, r, err, sizeof(err)) != 0) {
		fs_fail(fl, "node %s: %s", nd->sn.id, err);
		fs_setup_end(fl, nd, false);
		return;
	}
	fs_setup_end(fl, nd, true);
}

static void
fs_on_get(struct fleet *fl, struct fs_node *nd, const struct simnet_resp *r)
{
	char err[512];
	uint16_t target;

	if (r->status != 200 && r->status != 304) {
		if (fs_rekey(fl, nd, r))
			return;
		fs_fail(fl, "node %s: check-in: HTTP %d %.200s", nd->sn.id,
		    r->status, r->body);
		fs_finish(fl, nd);
		return;
	}
	fl->checkins++;
	hist_add(&fl->lat, r->elapsed_us);
	if (r->status == 304) {
		hist_add(&fl->lat_same, r->elapsed_us);
		fs_maybe_report(fl, nd, false);
		return;
	}
	fl->changed++;
	if (r->etag[0] == '\0' || strlen(r->etag) > FS_GEN_MAX) {
		fs_fail(fl, "node %s: check-in: 200 without a usable ETag",
		    nd->sn.id);
		fs_finish(fl, nd);
		return;
	}
	if (fs_parse_desired(fl, r, &target, err, sizeof(err)) != 0) {
		fs_fail(fl, "node %s: %s", nd->sn.id, err);
		fs_finish(fl, nd);
		return;
	}
	util_strlcpy(nd->etag, r->etag, sizeof(nd->etag));
	fs_apply(fl, nd, target);
	fs_maybe_report(fl, nd, false);
}

static void
fs_on_post(struct fleet *fl, struct fs_node *nd, const struct simnet_resp *r)
{
	if (r->status == 200) {
		fl->reports++;
		nd->report_ok = true;
		nd->report_at = fs_now_s(fl);
	} else if (fs_rekey(fl, nd, r))
		return;
	else
		fs_fail(fl, "node %s: status report: HTTP %d %.200s", nd->sn.id,
		    r->status, r->body);
	fs_finish(fl, nd);
}

static void
fs_on_rekey(struct fleet *fl, struct fs_node *nd, const struct simnet_resp *r)
{
	char err[512];

	if (simnode_session_opened(&nd->sn, r, err, sizeof(err)) != 0) {
		fs_fail(fl, "node %s: %s", nd->sn.id, err);
		fs_finish(fl, nd);
		return;
	}
	if (nd->rekey_post)
		fs_maybe_report(fl, nd, true);
	else
		fs_get(fl, nd);
}

static void
fs_done(void *arg, const struct simnet_resp *r, const char *why)
{
	struct fleet *fl = fs_fleet;
	struct fs_node *nd = arg;

	if (r == NULL) {
		if (nd->sn.id[0] != '\0')
			fs_fail(fl, "node %s: %s", nd->sn.id, why);
		else
			fs_fail(
			    fl, "node %zu: %s", (size_t)(nd - fl->nodes), why);
		if (nd->phase == FN_ENROLL || nd->phase == FN_SESSION)
			fs_setup_end(fl, nd, false);
		else
			fs_finish(fl, nd);
		return;
	}
	switch (nd->phase) {
	case FN_ENROLL:
	case FN_SESSION:
		fs_on_setup(fl, nd, r);
		break;
	case FN_GET:
		fs_on_get(fl, nd, r);
		break;
	case FN_POST:
		fs_on_post(fl, nd, r);
		break;
	case FN_REKEY:
		fs_on_rekey(fl, nd, r);
		break;
	default:
		fs_fail(
		    fl, "node %s: an answer in phase %d", nd->sn.id, nd->phase);
		break;
	}
}

/* ---------------------------------------------------------------------
 * The phases.
 */

struct fs_admin {
	bool done;
	int status;
	char token[FS_TOKEN_MAX];
	char err[512];
};

static void
fs_admin_done(void *arg, const struct simnet_resp *r, const char *why)
{
	struct fs_admin *a = arg;
	json_t *o = NULL;
	const char *tok = NULL;
	char sub[256];

	a->done = true;
	if (r == NULL) {
		snprintf(a->err, sizeof(a->err), "%s", why);
		return;
	}
	a->status = r->status;
	if (r->status != 201) {
		snprintf(a->err, sizeof(a->err), "HTTP %d %.300s", r->status,
		    r->body);
		return;
	}
	if (json_parse_strict(r->body, r->body_len, SIMNET_RESP_MAX,
		JSON_DEFAULT_DEPTH, &o, sub, sizeof(sub)) != 0 ||
	    jfield_str(o, "token", true, FS_TOKEN_MAX - 1, &tok, sub,
		sizeof(sub)) != 0)
		snprintf(a->err, sizeof(a->err), "answer: %s", sub);
	else
		util_strlcpy(a->token, tok, sizeof(a->token));
	json_decref(o);
}

/* Enrollment tokens for the POP, FS_TOKEN_USES uses each at most. */
static int
fs_tokens(struct fleet *fl)
{
	struct fs_admin a;
	char hdr[FS_TOKEN_MAX + 64], body[256];
	size_t i, left = fl->n, uses;
	int len;

	fl->ntokens = (fl->n + FS_TOKEN_USES - 1) / FS_TOKEN_USES;
	if ((fl->tokens = calloc(fl->ntokens, sizeof(*fl->tokens))) == NULL)
		return -1;
	len = snprintf(
	    hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", fl->o->token);
	if (len < 0 || (size_t)len >= sizeof(hdr)) {
		fprintf(stderr, "fleetsim: --token is too long\n");
		return -1;
	}
	for (i = 0; i < fl->ntokens; i++) {
		uses = left < FS_TOKEN_USES ? left : FS_TOKEN_USES;
		left -= uses;
		len = snprintf(body, sizeof(body),
		    "{\"pop\":\"%s\",\"uses\":%zu,\"ttl_s\":%d}", fl->o->pop,
		    uses, FS_TOKEN_TTL);
		memset(&a, 0, sizeof(a));
		if (simnet_request(fl->conns[0], "POST",
			"/v1/enrollment-tokens", hdr, body, (size_t)len,
			fs_admin_done, &a) != 0)
			return -1;
		while (!a.done)
			simnet_step(fl->net, 100);
		if (a.token[0] == '\0') {
			fprintf(stderr,
			    "fleetsim: cannot create an enrollment "
			    "token for POP %s: %s\n",
			    fl->o->pop, a.err);
			sodium_memzero(hdr, sizeof(hdr));
			return -1;
		}
		util_strlcpy(fl->tokens[i], a.token, sizeof(fl->tokens[i]));
		sodium_memzero(&a, sizeof(a));
	}
	sodium_memzero(hdr, sizeof(hdr));
	return 0;
}

static void
fs_progress_setup(const struct fleet *fl)
{
	fprintf(stderr,
	    "fleetsim: setup: %zu/%zu enrolled, %zu with a session, "
	    "%llu errors\n",
	    fl->enrolled, fl->n, fl->sessions, (unsigned long long)fl->errors);
}

/* Enroll every node and open its session, K at a time. */
static void
fs_setup(struct fleet *fl, double *secs)
{
	uint64_t t0 = util_mono_ns(), tick = t0 + FS_SEC_NS, now;
	size_t i;

	for (i = 0; i < fl->n; i++)
		fs_queue_push(fl, &fl->nodes[i]);
	for (i = 0; i < fl->n; i++)
		fl->nodes[i].phase = FN_NEW;
	fs_dispatch(fl);
	while (fl->sessions + fl->setup_failed < fl->n && !fs_signalled) {
		simnet_step(fl->net, 100);
		fs_dispatch(fl);
		if ((now = util_mono_ns()) >= tick) {
			fs_progress_setup(fl);
			tick = now + FS_SEC_NS;
		}
	}
	*secs = (double)(util_mono_ns() - t0) / 1e9;
	for (i = 0; i < fl->ntokens; i++)
		sodium_memzero(fl->tokens[i], sizeof(fl->tokens[i]));
}

/*
 * When to wake for the next due node: the end of its FS_TICK_NS tick, so
 * that nodes due close together leave in one batch.  Waking costs more
 * than the check-in itself (a context switch in and out of epoll_wait);
 * the few ms added to the due times are not counted as latency, and
 * spread out again with the jitter.
 */
static uint64_t
fs_wake(const struct fleet *fl, uint64_t t0)
{
	uint64_t due = fl->nodes[fl->heap[0]].due;

	if (due <= t0)
		return due;
	return t0 + ((due - t0 + FS_TICK_NS - 1) / FS_TICK_NS) * FS_TICK_NS;
}

/* Check in for --duration seconds; returns the seconds it ran. */
static double
fs_run(struct fleet *fl)
{
	uint64_t iv = (uint64_t)fl->o->interval * FS_SEC_NS;
	uint64_t t0 = util_mono_ns(), now, end, tick, next, last_c = 0;
	struct fs_node *nd;
	double secs;
	size_t i;

	end = t0 + (uint64_t)fl->o->duration * FS_SEC_NS;
	tick = t0 + FS_SEC_NS;
	fl->running = true;
	for (i = 0; i < fl->n; i++) {
		nd = &fl->nodes[i];
		if (nd->phase != FN_READY)
			continue;
		nd->due = t0 + (uint64_t)((double)iv * fs_rand01(nd));
		fs_heap_push(fl, nd);
	}
	while ((now = util_mono_ns()) < end && !fs_signalled) {
		while (fl->heap_n > 0 && fl->nodes[fl->heap[0]].due <= now)
			fs_queue_push(fl, fs_heap_pop(fl));
		fs_dispatch(fl);
		if (now >= tick) {
			fprintf(stderr,
			    "fleetsim: %3llus check-ins %llu (%llu/s), new "
			    "documents %llu, reports %llu, errors %llu, "
			    "waiting %zu, in flight %zu\n",
			    (unsigned long long)((now - t0) / FS_SEC_NS),
			    (unsigned long long)fl->checkins,
			    (unsigned long long)(fl->checkins - last_c),
			    (unsigned long long)fl->changed,
			    (unsigned long long)fl->reports,
			    (unsigned long long)fl->errors, fl->q_len,
			    fs_inflight(fl));
			last_c = fl->checkins;
			tick += FS_SEC_NS;
		}
		next = end < tick ? end : tick;
		if (fl->heap_n > 0 && fs_wake(fl, t0) < next)
			next = fs_wake(fl, t0);
		simnet_step(fl->net,
		    next > now ? (int)((next - now + 999999) / 1000000) : 0);
	}
	secs = (double)(util_mono_ns() - t0) / 1e9;
	/* Let the exchanges under way finish; start no new one. */
	fl->stopping = true;
	now = util_mono_ns();
	while (fs_inflight(fl) > 0 && util_mono_ns() - now < FS_DRAIN_NS)
		simnet_step(fl->net, 50);
	if (fs_inflight(fl) > 0)
		fs_fail(fl, "%zu requests still unanswered at the end",
		    fs_inflight(fl));
	return secs;
}

/* ---------------------------------------------------------------------
 * Set-up, output, options.
 */

static int
fs_init(struct fleet *fl, const struct fs_opts *o, char *err, size_t errlen)
{
	size_t i;

	memset(fl, 0, sizeof(*fl));
	fl->o = o;
	fl->t_start = util_mono_ns();
	fl->q_head = fl->q_tail = FS_NONE;
	if (simnet_new(o->server, o->pin, o->cert, &fl->net, err, errlen) != 0)
		goto err;
	fl->n = (size_t)o->nodes;
	fl->nodes = calloc(fl->n, sizeof(*fl->nodes));
	fl->heap = calloc(fl->n, sizeof(*fl->heap));
	fl->conns = calloc((size_t)o->conns, sizeof(*fl->conns));
	fl->free_conns = calloc((size_t)o->conns, sizeof(*fl->free_conns));
	fl->targets = calloc(FS_TARGETS_MAX, sizeof(*fl->targets));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
	/*
	 * Each array is held by *fl, which fs_free() releases whole; the
	 * analyzer loses track of the fields of a heap struct here and
	 * reports them leaked.
	 */
	if (fl->nodes == NULL || fl->heap == NULL || fl->conns == NULL ||
	    fl->free_conns == NULL || fl->targets == NULL)
		goto oom;
#pragma GCC diagnostic pop
	/* Target 0: what a new node runs, nothing. */
	fl->ntargets = 1;
	for (i = 0; i < fl->n; i++) {
		fl->nodes[i].rng = fs_splitmix(o->seed + i) | 1;
		fl->nodes[i].qnext = FS_NONE;
	}
	/* Pushed in reverse so that slot 0 is handed out first. */
	for (i = (size_t)o->conns; i-- > 0;) {
		if ((fl->conns[i] = simnet_conn_new(fl->net)) == NULL)
			goto oom;
		fl->free_conns[fl->nfree++] = (uint16_t)i;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
err:
	fs_free(fl);
	return -1;
}

/* Also after a failed fs_init, and twice: it leaves fl zeroed. */
static void
fs_free(struct fleet *fl)
{
	size_t i;

	for (i = 0; fl->nodes != NULL && i < fl->n; i++)
		simnode_wipe(&fl->nodes[i].sn);
	if (fl->tokens != NULL)
		sodium_memzero(fl->tokens, fl->ntokens * sizeof(*fl->tokens));
	for (i = 0; fl->targets != NULL && i < fl->ntargets; i++)
		free(fl->targets[i].steps);
	free(fl->tokens);
	free(fl->targets);
	free(fl->nodes);
	free(fl->heap);
	free(fl->conns);
	free(fl->free_conns);
	simnet_free(fl->net); /* and every connection */
	memset(fl, 0, sizeof(*fl));
}

static void
fs_print(const struct fleet *fl, double setup_s, double run_s)
{
	struct simnet_stats st;
	double rate = run_s > 0 ? (double)fl->checkins / run_s : 0;

	simnet_stats(fl->net, &st);
	if (fl->o->json) {
		printf("{\"nodes\":%zu,\"enrolled\":%zu,\"checkins\":%llu,"
		       "\"checkins_per_s\":%.1f,\"p50_ms\":%.3f,"
		       "\"p99_ms\":%.3f,\"errors\":%llu}\n",
		    fl->n, fl->enrolled, (unsigned long long)fl->checkins, rate,
		    hist_quantile_ms(&fl->lat, 0.50),
		    hist_quantile_ms(&fl->lat, 0.99),
		    (unsigned long long)fl->errors);
		return;
	}
	printf("fleetsim: %zu nodes, POP %s, every %lld s over %lld "
	       "connections\n",
	    fl->n, fl->o->pop, (long long)fl->o->interval,
	    (long long)fl->o->conns);
	printf("  setup           %zu enrolled, %zu with a session in %.1f s\n",
	    fl->enrolled, fl->sessions, setup_s);
	printf("  check-ins       %llu in %.1f s (%.0f/s)\n",
	    (unsigned long long)fl->checkins, run_s, rate);
	printf("  latency         p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
	    hist_quantile_ms(&fl->lat, 0.50), hist_quantile_ms(&fl->lat, 0.99),
	    (double)fl->lat.max_us / 1000.0);
	printf(
	    "  ... unchanged   p50 %.2f ms  p99 %.2f ms  (%llu answered 304)\n",
	    hist_quantile_ms(&fl->lat_same, 0.50),
	    hist_quantile_ms(&fl->lat_same, 0.99),
	    (unsigned long long)fl->lat_same.n);
	printf("  connection wait p50 %.2f ms  p99 %.2f ms\n",
	    hist_quantile_ms(&fl->wait, 0.50),
	    hist_quantile_ms(&fl->wait, 0.99));
	printf("  new documents   %llu  reports %llu  simulated failures "
	       "%llu  re-handshakes %llu\n",
	    (unsigned long long)fl->changed, (unsigned long long)fl->reports,
	    (unsigned long long)fl->sim_failures,
	    (unsigned long long)fl->rekeys);
	printf("  connections     %llu opened, %llu requests re-sent\n",
	    (unsigned long long)st.conns_opened,
	    (unsigned long long)st.reconnects);
	printf("  errors          %llu\n", (unsigned long long)fl->errors);
}

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
	    "usage: fleetsim --server URL (--pin sha256//... | --cert FILE) "
	    "--token ADMIN_TOKEN\n"
	    "                --pop NAME --nodes N --interval S --duration S\n"
	    "                [--fail-rate F] [--seed X] [--conns K] "
	    "[-o json]\n"
	    "  N: 1..%d, S: interval 1..%d, duration 1..%d, F: 0..1, "
	    "K: 1..%d (default %d)\n"
	    "  edge-cp needs --per-ip-limit above K\n",
	    FS_NODES_MAX, FS_INTERVAL_MAX, FS_DURATION_MAX, FS_CONNS_MAX,
	    FS_CONNS_DEFAULT);
	exit(2);
}

static int64_t
opt_num(const char *s, int64_t min, int64_t max, const char *what)
{
	int64_t v;

	if (util_parse_i64(s, min, max, &v) != 0) {
		fprintf(stderr, "fleetsim: %s must be %lld..%lld\n", what,
		    (long long)min, (long long)max);
		exit(2);
	}
	return v;
}

static double
opt_rate(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !(v >= 0.0) || v > 1.0) {
		fprintf(stderr, "fleetsim: --fail-rate must be 0..1\n");
		exit(2);
	}
	return v;
}

static void
fs_on_signal(int sig)
{
	(void)sig;
	fs_signalled = 1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 'S' },
		{ "pin", required_argument, NULL, 'P' },
		{ "cert", required_argument, NULL, 'C' },
		{ "token", required_argument, NULL, 't' },
		{ "pop", required_argument, NULL, 'p' },
		{ "nodes", required_argument, NULL, 'n' },
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "fail-rate", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 's' },
		{ "conns", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct fs_opts o;
	struct fleet *fl = NULL;
	struct sigaction sa;
	struct rlimit rl;
	double setup_s = 0, run_s = 0;
	uint64_t seed;
	char err[512];
	int c, ret = 1;

	memset(&o, 0, sizeof(o));
	o.conns = FS_CONNS_DEFAULT;
	o.seed = 1;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
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
		case 'p':
			o.pop = optarg;
			break;
		case 'n':
			o.nodes = opt_num(optarg, 1, FS_NODES_MAX, "--nodes");
			break;
		case 'i':
			o.interval =
			    opt_num(optarg, 1, FS_INTERVAL_MAX, "--interval");
			break;
		case 'd':
			o.duration =
			    opt_num(optarg, 1, FS_DURATION_MAX, "--duration");
			break;
		case 'f':
			o.fail_rate = opt_rate(optarg);
			break;
		case 's':
			if (util_parse_u64(optarg, UINT64_MAX, &seed) != 0) {
				fprintf(stderr,
				    "fleetsim: --seed must be a "
				    "non-negative integer\n");
				exit(2);
			}
			o.seed = seed;
			break;
		case 'k':
			o.conns = opt_num(optarg, 1, FS_CONNS_MAX, "--conns");
			break;
		case 'o':
			if (strcmp(optarg, "json") == 0)
				o.json = true;
			else if (strcmp(optarg, "text") != 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || o.server == NULL || o.token == NULL ||
	    o.pop == NULL || (o.pin == NULL) == (o.cert == NULL) ||
	    o.nodes == 0 || o.interval == 0 || o.duration == 0)
		usage();
	if (!util_name_ok(o.pop)) {
		fprintf(stderr,
		    "fleetsim: --pop must match "
		    "[a-z0-9][a-z0-9-]{0,31}\n");
		exit(2);
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "fleetsim: cannot initialise libsodium\n");
		return 1;
	}
	/* A write to a connection the server dropped is an error, not death. */
	signal(SIGPIPE, SIG_IGN);
	/* INT and TERM end the run early, with its summary. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fs_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((fl = malloc(sizeof(*fl))) == NULL) {
		fprintf(stderr, "fleetsim: out of memory\n");
		return 1;
	}
	fs_fleet = fl;
	if (fs_init(fl, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "fleetsim: %s\n", err);
		goto out;
	}
	if (fs_tokens(fl) != 0)
		goto out;
	fs_setup(fl, &setup_s);
	fprintf(stderr,
	    "fleetsim: setup done in %.1f s: %zu enrolled, %zu "
	    "with a session, %zu failed\n",
	    setup_s, fl->enrolled, fl->sessions, fl->setup_failed);
	if (fl->sessions > 0 && !fs_signalled)
		run_s = fs_run(fl);
	if (fl->first_err[0] != '\0')
		fprintf(stderr, "fleetsim: first error: %s\n", fl->first_err);
	fs_print(fl, setup_s, run_s);
	ret = fl->errors == 0 && fl->setup_failed == 0 ? 0 : 1;
out:
	fs_free(fl);
	free(fl);
	return ret;
}
