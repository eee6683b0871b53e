#include "cp/deadline.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "cp/metrics.h"

struct deadline_conn {
	struct deadline_conn *prev, *next; /* dl_head, under dl_mu */
	int fd;
	bool cut; /* under dl_mu */
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} addr;
	atomic_uint_least64_t since_ms; /* ready for this request since */
	atomic_uint_least64_t due_ms;   /* 0: answering, no deadline */
	_Atomic(const char *) route;    /* NULL: its headers are not in */
};

/* A cut to log, copied out so the log is written without the lock. */
struct dl_cut {
	char addr[64];
	const char *route;
	uint64_t after_ms;
};

static pthread_mutex_t dl_mu = PTHREAD_MUTEX_INITIALIZER;
static struct deadline_conn *dl_head;
static size_t dl_n;

static pthread_mutex_t dl_run_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dl_run_cv = PTHREAD_COND_INITIALIZER;
static pthread_t dl_thread;
static bool dl_running, dl_stopping;

static uint64_t
dl_now(void)
{
	return util_mono_ns() / 1000000u;
}

struct deadline_conn *
deadline_open(
    int fd, const struct sockaddr *sa, uint64_t now_ms, uint64_t budget_ms)
{
	struct deadline_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->fd = fd;
	if (sa != NULL && sa->sa_family == AF_INET)
		memcpy(&c->addr.in, sa, sizeof(c->addr.in));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		memcpy(&c->addr.in6, sa, sizeof(c->addr.in6));
	else
		c->addr.sa.sa_family = AF_UNSPEC;
	atomic_init(&c->since_ms, now_ms);
	atomic_init(&c->due_ms, now_ms + budget_ms);
	atomic_init(&c->route, NULL);
	pthread_mutex_lock(&dl_mu);
	c->next = dl_head;
	if (dl_head != NULL)
		dl_head->prev = c;
	dl_head = c;
	dl_n++;
	pthread_mutex_unlock(&dl_mu);
	return c;
}

void
deadline_close(struct deadline_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&dl_mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		dl_head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	dl_n--;
	pthread_mutex_unlock(&dl_mu);
	free(c);
}

void
deadline_arm(struct deadline_conn *c, uint64_t now_ms, uint64_t budget_ms)
{
	if (c == NULL)
		return;
	atomic_store(&c->route, NULL);
	atomic_store(&c->since_ms, now_ms);
	atomic_store(&c->due_ms, now_ms + budget_ms);
}

void
deadline_route(struct deadline_conn *c, const char *route, uint64_t budget_ms)
{
	if (c == NULL)
		return;
	atomic_store(&c->route, route);
	atomic_store(&c->due_ms, atomic_load(&c->since_ms) + budget_ms);
}

void
deadline_disarm(struct deadline_conn *c)
{
	if (c != NULL)
		atomic_store(&c->due_ms, 0);
}

size_t
deadline_count(void)
{
	size_t n;

	pthread_mutex_lock(&dl_mu);
	n = dl_n;
	pthread_mutex_unlock(&dl_mu);
	return n;
}

/*
 * One walk over every open connection under the list mutex: a few tens
 * of nanoseconds each, so some milliseconds a second at the largest
 * --conn-limit, during which no connection opens or closes.
 */
unsigned
deadline_sweep(uint64_t now_ms)
{
	struct dl_cut logs[DEADLINE_LOG_MAX];
	struct deadline_conn *c;
	unsigned n = 0, i;

	pthread_mutex_lock(&dl_mu);
	for (c = dl_head; c != NULL; c = c->next) {
		uint64_t due = atomic_load(&c->due_ms);

		if (c->cut || due == 0 || now_ms < due)
			continue;
		/*
		 * What the log says is read first: once shut down, the
		 * connection's own thread ends the request and arms it for
		 * the next one (deadline_arm), concurrently with this.
		 */
		if (n < DEADLINE_LOG_MAX) {
			uint64_t since = atomic_load(&c->since_ms);

			util_addr_str(
			    &c->addr.sa, logs[n].addr, sizeof(logs[n].addr));
			logs[n].route = atomic_load(&c->route);
			logs[n].after_ms = now_ms > since ? now_ms - since : 0;
		}
		/*
		 * libmicrohttpd reads the end of the stream, ends the request
		 * (its completed callback runs, with no reply) and closes.
		 */
		shutdown(c->fd, SHUT_RDWR);
		c->cut = true;
		n++;
	}
	pthread_mutex_unlock(&dl_mu);
	for (i = 0; i < n && i < DEADLINE_LOG_MAX; i++)
		log_warnx("event=request_timeout client=%s phase=%s route=%s "
			  "after_s=%llu",
		    logs[i].addr, logs[i].route != NULL ? "body" : "headers",
		    logs[i].route != NULL ? logs[i].route : "none",
		    (unsigned long long)(logs[i].after_ms / 1000));
	if (n > DEADLINE_LOG_MAX)
		log_warnx("event=request_timeout_unlogged count=%u",
		    n - DEADLINE_LOG_MAX);
	if (n > 0)
		metrics_request_timeouts(n);
	return n;
}

static void *
deadline_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&dl_run_mu);
	while (!dl_stopping) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&dl_run_cv, &dl_run_mu, &ts);
		if (dl_stopping)
			break;
		pthread_mutex_unlock(&dl_run_mu);
		deadline_sweep(dl_now());
		pthread_mutex_lock(&dl_run_mu);
	}
	pthread_mutex_unlock(&dl_run_mu);
	return NULL;
}

int
deadline_start(void)
{
	if (dl_running)
		return 0;
	dl_stopping = false;
	if (pthread_create(&dl_thread, NULL, deadline_main, NULL) != 0)
		return -1;
	dl_running = true;
	return 0;
}

void
deadline_stop(void)
{
	if (!dl_running)
		return;
	pthread_mutex_lock(&dl_run_mu);
	dl_stopping = true;
	pthread_cond_signal(&dl_run_cv);
	pthread_mutex_unlock(&dl_run_mu);
	pthread_join(dl_thread, NULL);
	dl_running = false;
}
