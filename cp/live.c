#include "cp/live.h"

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

int
live_init(void)
{
	atomic_store(&live_started, util_now());
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
	pthread_mutex_init(&n->mu, NULL);
	n->drain = drain;
	n->ev_health = -1;
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
	pthread_mutex_unlock(&n->mu);
}

void
live_set_drain(struct live_node *n, bool drain)
{
	pthread_mutex_lock(&n->mu);
	n->drain = drain;
	pthread_mutex_unlock(&n->mu);
	atomic_fetch_add(&n->local_epoch, 1);
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
	int64_t seen = atomic_load(&n->last_seen);
	enum live_health h;

	if (seen != 0 && seen < atomic_load(&live_started))
		seen = atomic_load(&live_started);
	pthread_mutex_lock(&n->mu);
	if (n->drain)
		h = n->withdrawn ? HEALTH_DRAINED : HEALTH_DRAINING;
	else if (!n->has_report)
		h = seen != 0 && now - seen > 3 * interval_s
		    ? HEALTH_UNREACHABLE
		    : HEALTH_ENROLLED;
	else if (now - seen > 3 * interval_s)
		h = HEALTH_UNREACHABLE;
	else if (n->step_error || !n->dp_healthy)
		h = HEALTH_DEGRADED;
	else
		h = HEALTH_HEALTHY;
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
