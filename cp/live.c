#include "cp/live.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define LIVE_BUCKETS 65536

static struct live_node *live_tab[LIVE_BUCKETS];
static pthread_rwlock_t live_lock = PTHREAD_RWLOCK_INITIALIZER;
static size_t live_n;
static atomic_uint live_epoch = 1;

static const char *const live_health_names[HEALTH__COUNT] = {
	"enrolled",
	"healthy",
	"degraded",
	"unreachable",
	"draining",
	"drained",
};

static unsigned
live_hash(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % LIVE_BUCKETS;
}

/*
 * When this edge-cp started: no node is judged unreachable on silence
 * that began before, while nobody was listening (last_seen reaches the
 * database only every few seconds, and a crash loses the rest).
 */
static atomic_llong live_started;
static atomic_llong live_interval = 5;

/*
 * The transition queue (cp/live.h): a ring in transition order.  Lock
 * order: the table lock, then a node's mu, then live_q_mu.
 */
static struct {
	pthread_mutex_t mu;
	struct live_transition v[LIVE_TRANSITIONS_MAX];
	size_t head, n; /* oldest at head */
	uint64_t coalesced;
} live_q = { .mu = PTHREAD_MUTEX_INITIALIZER };

int
live_init(int64_t interval_s)
{
	atomic_store(&live_started, util_now());
	atomic_store(&live_interval, interval_s);
	return 0;
}

static void
live_free(struct live_node *n)
{
	pthread_mutex_destroy(&n->mu);
	free(n);
}

void
live_shutdown(void)
{
	size_t i;

	pthread_rwlock_wrlock(&live_lock);
	for (i = 0; i < LIVE_BUCKETS; i++) {
		struct live_node *n = live_tab[i], *next;

		for (; n != NULL; n = next) {
			next = n->next;
			live_put(n);
		}
		live_tab[i] = NULL;
	}
	live_n = 0;
	pthread_rwlock_unlock(&live_lock);
}

int
live_add(const char *id, const char *pop, const unsigned char public_key[32],
    bool drain, int64_t last_seen)
{
	struct live_node *n;
	unsigned h = live_hash(id);

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return -1;
	util_strlcpy(n->id, id, sizeof(n->id));
	util_strlcpy(n->pop, pop, sizeof(n->pop));
	memcpy(n->public_key, public_key, 32);
	atomic_init(&n->refs, 1); /* the table's reference */
	atomic_init(&n->last_seen, last_seen);
	atomic_init(&n->seen_flushed, last_seen);
	n->added = util_now();
	pthread_mutex_init(&n->mu, NULL);
	n->drain = drain;
	atomic_init(&n->ev_health, -1);
	pthread_rwlock_wrlock(&live_lock);
	n->next = live_tab[h];
	live_tab[h] = n;
	live_n++;
	pthread_rwlock_unlock(&live_lock);
	return 0;
}

struct live_node *
live_get(const char *id)
{
	struct live_node *n;

	pthread_rwlock_rdlock(&live_lock);
	for (n = live_tab[live_hash(id)]; n != NULL; n = n->next)
		if (strcmp(n->id, id) == 0) {
			atomic_fetch_add(&n->refs, 1);
			break;
		}
	pthread_rwlock_unlock(&live_lock);
	return n;
}

void
live_put(struct live_node *n)
{
	if (n != NULL && atomic_fetch_sub(&n->refs, 1) == 1)
		live_free(n);
}

void
live_remove(const char *id)
{
	struct live_node **pp, *n = NULL;

	pthread_rwlock_wrlock(&live_lock);
	for (pp = &live_tab[live_hash(id)]; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->id, id) == 0) {
			n = *pp;
			*pp = n->next;
			live_n--;
			break;
		}
	pthread_rwlock_unlock(&live_lock);
	if (n != NULL) {
		atomic_store(&n->revoked, true);
		live_put(n);
	}
}

/* Health from the inputs; n->mu held. */
static enum live_health
live_health_locked(struct live_node *n, int64_t now, int64_t interval_s)
{
	int64_t seen = atomic_load(&n->last_seen);

	if (seen != 0 && seen < atomic_load(&live_started))
		seen = atomic_load(&live_started);
	if (n->drain)
		return n->withdrawn ? HEALTH_DRAINED : HEALTH_DRAINING;
	if (!n->has_report && seen == 0)
		return now - n->added > LIVE_ENROLL_GRACE * interval_s
		    ? HEALTH_UNREACHABLE
		    : HEALTH_ENROLLED;
	if (!n->has_report)
		return now - seen > 3 * interval_s ? HEALTH_UNREACHABLE
						   : HEALTH_ENROLLED;
	if (now - seen > 3 * interval_s)
		return HEALTH_UNREACHABLE;
	if (n->step_error || !n->dp_healthy)
		return HEALTH_DEGRADED;
	return HEALTH_HEALTHY;
}

/* Queue a transition; -1 when the queue is full (counted). */
static int
live_q_push(
    const struct live_node *n, int from, enum live_health to, int64_t at)
{
	struct live_transition *t;
	int rc = 0;

	pthread_mutex_lock(&live_q.mu);
	if (live_q.n == LIVE_TRANSITIONS_MAX) {
		live_q.coalesced++;
		rc = -1;
	} else {
		t = &live_q.v[(live_q.head + live_q.n) % LIVE_TRANSITIONS_MAX];
		util_strlcpy(t->id, n->id, sizeof(t->id));
		util_strlcpy(t->pop, n->pop, sizeof(t->pop));
		t->at = at;
		t->from = (enum live_health)from;
		t->to = to;
		live_q.n++;
	}
	pthread_mutex_unlock(&live_q.mu);
	return rc;
}

/*
 * Derive the node's health and queue the transition from what the event
 * log last heard of, if it changed (the rules are in cp/live.h); n->mu
 * held.  A transition the full queue refused leaves ev_health as it was.
 */
static void
live_note_locked(struct live_node *n, int64_t now)
{
	enum live_health h =
	    live_health_locked(n, now, atomic_load(&live_interval));
	int was = atomic_load(&n->ev_health);

	if (was == (int)h)
		return;
	if (was >= 0 && h != HEALTH_ENROLLED &&
	    (was != HEALTH_ENROLLED || h == HEALTH_UNREACHABLE) &&
	    live_q_push(n, was, h, now) != 0)
		return;
	atomic_store(&n->ev_health, (int)h);
}

static void
live_copy_version(char *dst, const json_t *versions, const char *key)
{
	const char *v = json_string_value(json_object_get(versions, key));

	util_strlcpy(dst, v ? v : "", LIVE_VERSION_MAX);
}

void
live_apply_status(struct live_node *n, const json_t *status,
    const unsigned char hash[32], int64_t now)
{
	const json_t *versions = json_object_get(status, "versions");
	const json_t *steps = json_object_get(status, "steps"), *st;
	const json_t *dp = json_object_get(status, "dataplane");
	bool step_error = false, pending = false;
	size_t i;

	json_array_foreach(steps, i, st)
	{
		const char *state =
		    json_string_value(json_object_get(st, "state"));

		if (state != NULL && strcmp(state, "error") == 0)
			step_error = true;
		else if (state == NULL || strcmp(state, "in_sync") != 0)
			pending = true;
	}
	pthread_mutex_lock(&n->mu);
	n->has_report = true;
	n->step_error = step_error;
	n->steps_pending = pending;
	n->report_checkins = atomic_load(&n->checkins);
	n->report_at = now;
	util_strlcpy(n->report_gen,
	    json_string_value(json_object_get(status, "generation"))
		? json_string_value(json_object_get(status, "generation"))
		: "",
	    sizeof(n->report_gen));
	/* No dataplane section: nothing claims it is down. */
	n->dp_healthy =
	    dp == NULL || !json_is_false(json_object_get(dp, "healthy"));
	if (n->dp_healthy)
		n->dp_down_since = 0;
	else if (n->dp_down_since == 0)
		n->dp_down_since = now;
	n->withdrawn = json_is_true(json_object_get(status, "drained"));
	live_copy_version(n->v_profile, versions, "profile");
	live_copy_version(n->v_dataplane, versions, "dataplane");
	live_copy_version(n->v_keeper, versions, "keeper");
	memcpy(n->status_hash, hash, 32);
	live_note_locked(n, now);
	pthread_mutex_unlock(&n->mu);
}

int
live_set_addr(struct live_node *n, const struct sockaddr *sa, char *was)
{
	char buf[LIVE_ADDR_MAX];
	int moved;
	const void *a;
	int af = sa != NULL ? sa->sa_family : AF_UNSPEC;

	if (af == AF_INET)
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (af == AF_INET6) {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;

		a = a6;
		/* A dual-stack listener sees IPv4 nodes as ::ffff:A.B.C.D. */
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			af = AF_INET;
			a = &a6->s6_addr[12];
		}
	} else
		return 0;
	if (inet_ntop(af, a, buf, sizeof(buf)) == NULL)
		return 0;
	pthread_mutex_lock(&n->mu);
	moved = n->addr[0] != '\0' && strcmp(n->addr, buf) != 0;
	if (moved)
		util_strlcpy(was, n->addr, LIVE_ADDR_MAX);
	util_strlcpy(n->addr, buf, sizeof(n->addr));
	pthread_mutex_unlock(&n->mu);
	return moved;
}

void
live_set_drain(struct live_node *n, bool drain)
{
	pthread_mutex_lock(&n->mu);
	n->drain = drain;
	live_note_locked(n, util_now());
	pthread_mutex_unlock(&n->mu);
	atomic_fetch_add(&n->local_epoch, 1);
}

void
live_seen(struct live_node *n, int64_t now)
{
	atomic_store(&n->last_seen, now);
	/* A check-in changes nothing else: only a silence can end here. */
	if (atomic_load(&n->ev_health) != HEALTH_UNREACHABLE)
		return;
	pthread_mutex_lock(&n->mu);
	live_note_locked(n, now);
	pthread_mutex_unlock(&n->mu);
}

static void
live_sweep_one(struct live_node *n, void *arg)
{
	pthread_mutex_lock(&n->mu);
	live_note_locked(n, *(const int64_t *)arg);
	pthread_mutex_unlock(&n->mu);
}

void
live_sweep(int64_t now)
{
	live_each(live_sweep_one, &now);
}

size_t
live_transitions_peek(struct live_transition *out, size_t max)
{
	size_t i;

	pthread_mutex_lock(&live_q.mu);
	for (i = 0; i < live_q.n && i < max; i++)
		out[i] = live_q.v[(live_q.head + i) % LIVE_TRANSITIONS_MAX];
	pthread_mutex_unlock(&live_q.mu);
	return i;
}

void
live_transitions_drop(size_t n)
{
	pthread_mutex_lock(&live_q.mu);
	if (n > live_q.n)
		n = live_q.n;
	live_q.head = (live_q.head + n) % LIVE_TRANSITIONS_MAX;
	live_q.n -= n;
	pthread_mutex_unlock(&live_q.mu);
}

uint64_t
live_transitions_coalesced(void)
{
	uint64_t n;

	pthread_mutex_lock(&live_q.mu);
	n = live_q.coalesced;
	pthread_mutex_unlock(&live_q.mu);
	return n;
}

int
live_kx_fresh(struct live_node *n, const unsigned char kx_pk[32])
{
	unsigned i;
	int rc = 0;

	pthread_mutex_lock(&n->mu);
	for (i = 0; i < LIVE_KX_SEEN; i++)
		if (memcmp(n->kx_seen[i], kx_pk, 8) == 0)
			rc = -1;
	if (rc == 0) {
		memcpy(n->kx_seen[n->kx_next], kx_pk, 8);
		n->kx_next = (n->kx_next + 1) % LIVE_KX_SEEN;
	}
	pthread_mutex_unlock(&n->mu);
	return rc;
}

enum live_health
live_health(struct live_node *n, int64_t now, int64_t interval_s)
{
	enum live_health h;

	pthread_mutex_lock(&n->mu);
	h = live_health_locked(n, now, interval_s);
	pthread_mutex_unlock(&n->mu);
	return h;
}

const char *
live_health_name(enum live_health h)
{
	return h < HEALTH__COUNT ? live_health_names[h] : "unknown";
}

void
live_bump_global(void)
{
	atomic_fetch_add(&live_epoch, 1);
}

unsigned
live_global_epoch(void)
{
	return atomic_load(&live_epoch);
}

void
live_each(void (*fn)(struct live_node *, void *), void *arg)
{
	size_t i;

	pthread_rwlock_rdlock(&live_lock);
	for (i = 0; i < LIVE_BUCKETS; i++) {
		struct live_node *n;

		for (n = live_tab[i]; n != NULL; n = n->next)
			fn(n, arg);
	}
	pthread_rwlock_unlock(&live_lock);
}

size_t
live_count(void)
{
	size_t n;

	pthread_rwlock_rdlock(&live_lock);
	n = live_n;
	pthread_rwlock_unlock(&live_lock);
	return n;
}
