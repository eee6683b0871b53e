#include "cp/session.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define SESSION_BUCKETS 65536
#define SESSION_STRIPES 64

struct session {
	char sid[NODEAUTH_SIDHEX + 1];
	unsigned char key[32];
	uint64_t last_ctr;
	int64_t opened_at;
	int64_t expires_at;
	struct live_node *node;
	struct session *next;
};

static struct session *sess_tab[SESSION_BUCKETS];
static pthread_mutex_t sess_mu[SESSION_STRIPES];
static pthread_once_t sess_once = PTHREAD_ONCE_INIT;
static atomic_size_t sess_n;

static void
sess_init(void)
{
	size_t i;

	for (i = 0; i < SESSION_STRIPES; i++)
		pthread_mutex_init(&sess_mu[i], NULL);
}

/* The session id is random, so its first bytes are a fine hash. */
static unsigned
sess_bucket(const char *sid)
{
	unsigned char b[4];

	if (util_unhex(b, sizeof(b),
		(char[9]){ sid[0], sid[1], sid[2], sid[3], sid[4], sid[5],
		    sid[6], sid[7], '\0' }) != 4)
		return 0;
	return ((unsigned)b[0] << 24 | (unsigned)b[1] << 16 |
		   (unsigned)b[2] << 8 | b[3]) %
	    SESSION_BUCKETS;
}

static void
sess_free(struct session *s)
{
	sodium_memzero(s->key, sizeof(s->key));
	live_put(s->node);
	free(s);
	atomic_fetch_sub(&sess_n, 1);
}

/*
 * Remove sessions matching pred from every bucket.  Walks the whole table:
 * used by the expiry tick and at shutdown only.
 */
static void
sess_sweep(int (*pred)(const struct session *, const void *), const void *arg)
{
	size_t b;

	for (b = 0; b < SESSION_BUCKETS; b++) {
		struct session **pp, *s;
		pthread_mutex_t *mu = &sess_mu[b % SESSION_STRIPES];

		if (sess_tab[b] == NULL)
			continue;
		pthread_mutex_lock(mu);
		for (pp = &sess_tab[b]; (s = *pp) != NULL;) {
			if (pred(s, arg)) {
				*pp = s->next;
				sess_free(s);
			} else
				pp = &s->next;
		}
		pthread_mutex_unlock(mu);
	}
}

/* Unlink and free the session with this id, if it still exists. */
static void
sess_remove_sid(const char *sid)
{
	struct session **pp, *s;
	unsigned b = sess_bucket(sid);
	pthread_mutex_t *mu = &sess_mu[b % SESSION_STRIPES];

	pthread_mutex_lock(mu);
	for (pp = &sess_tab[b]; (s = *pp) != NULL; pp = &s->next)
		if (strcmp(s->sid, sid) == 0) {
			*pp = s->next;
			sess_free(s);
			break;
		}
	pthread_mutex_unlock(mu);
}

int
session_open(struct live_node *n, const unsigned char key[32], int64_t now,
    char sid[NODEAUTH_SIDHEX + 1], int64_t *expires_at)
{
	unsigned char raw[NODEAUTH_SIDBYTES];
	char evict[NODEAUTH_SIDHEX + 1] = "";
	struct session *s;
	unsigned b;
	int i, slot = 0;

	pthread_once(&sess_once, sess_init);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	randombytes_buf(raw, sizeof(raw));
	util_hex(s->sid, sizeof(s->sid), raw, sizeof(raw));
	memcpy(s->key, key, 32);
	s->opened_at = now;
	s->expires_at = now + SESSION_TTL;
	s->node = n;
	atomic_fetch_add(&n->refs, 1);
	b = sess_bucket(s->sid);
	pthread_mutex_lock(&sess_mu[b % SESSION_STRIPES]);
	s->next = sess_tab[b];
	sess_tab[b] = s;
	pthread_mutex_unlock(&sess_mu[b % SESSION_STRIPES]);
	atomic_fetch_add(&sess_n, 1);
	memcpy(sid, s->sid, sizeof(s->sid));
	*expires_at = s->expires_at;
	/*
	 * Remember the id in the node's slots; a full set evicts the oldest,
	 * which bounds what replayed or repeated handshakes can allocate.
	 */
	pthread_mutex_lock(&n->mu);
	for (i = 0; i < LIVE_SESSIONS; i++) {
		if (n->sessions[i][0] == '\0') {
			slot = i;
			break;
		}
		if (n->session_order[i] < n->session_order[slot])
			slot = i;
	}
	memcpy(evict, n->sessions[slot], sizeof(evict));
	memcpy(n->sessions[slot], sid, NODEAUTH_SIDHEX + 1);
	n->session_order[slot] = ++n->session_seq;
	pthread_mutex_unlock(&n->mu);
	if (evict[0] != '\0')
		sess_remove_sid(evict);
	return 0;
}

enum session_rc
session_auth(const struct nodeauth_hdr *h, const char *method, const char *path,
    const unsigned char body_hash[32], int64_t now, struct live_node **node)
{
	struct session *s;
	enum session_rc rc;
	unsigned b;
	pthread_mutex_t *mu;

	pthread_once(&sess_once, sess_init);
	*node = NULL;
	b = sess_bucket(h->sid);
	mu = &sess_mu[b % SESSION_STRIPES];
	pthread_mutex_lock(mu);
	for (s = sess_tab[b]; s != NULL; s = s->next)
		if (memcmp(s->sid, h->sid, NODEAUTH_SIDHEX) == 0)
			break;
	if (s == NULL || s->expires_at <= now)
		rc = SESSION_UNKNOWN;
	else if (atomic_load(&s->node->revoked))
		rc = SESSION_REVOKED;
	else if (nodeauth_check(
		     s->key, method, path, s->node->id, h, body_hash) != 0)
		rc = SESSION_BAD_TAG;
	/* Only an authentic request may move the counter or fail on time. */
	else if (h->ctr <= s->last_ctr)
		rc = SESSION_REPLAY;
	else if (h->ts < now - NODEAUTH_MAX_SKEW ||
	    h->ts > now + NODEAUTH_MAX_SKEW)
		rc = SESSION_CLOCK;
	else {
		s->last_ctr = h->ctr;
		atomic_fetch_add(&s->node->refs, 1);
		*node = s->node;
		rc = SESSION_OK;
	}
	pthread_mutex_unlock(mu);
	return rc;
}

void
session_close_node(struct live_node *n)
{
	char sids[LIVE_SESSIONS][NODEAUTH_SIDHEX + 1];
	int i;

	pthread_once(&sess_once, sess_init);
	pthread_mutex_lock(&n->mu);
	memcpy(sids, n->sessions, sizeof(sids));
	memset(n->sessions, 0, sizeof(n->sessions));
	pthread_mutex_unlock(&n->mu);
	for (i = 0; i < LIVE_SESSIONS; i++)
		if (sids[i][0] != '\0')
			sess_remove_sid(sids[i]);
}

static int
sess_expired(const struct session *s, const void *arg)
{
	return s->expires_at <= *(const int64_t *)arg ||
	    atomic_load(&s->node->revoked);
}

void
session_expire(int64_t now)
{
	pthread_once(&sess_once, sess_init);
	sess_sweep(sess_expired, &now);
}

static int
sess_all(const struct session *s, const void *arg)
{
	(void)s;
	(void)arg;
	return 1;
}

void
session_shutdown(void)
{
	pthread_once(&sess_once, sess_init);
	sess_sweep(sess_all, NULL);
}

size_t
session_count(void)
{
	return atomic_load(&sess_n);
}

const char *
session_rc_str(enum session_rc rc)
{
	switch (rc) {
	case SESSION_OK:
		return "ok";
	case SESSION_UNKNOWN:
		return "unknown or expired session";
	case SESSION_BAD_TAG:
		return "bad request tag";
	case SESSION_REPLAY:
		return "counter not increasing (replay)";
	case SESSION_CLOCK:
		return "timestamp outside the allowed clock skew";
	case SESSION_REVOKED:
		return "node removed";
	}
	return "error";
}
