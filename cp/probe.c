#include "cp/probe.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "cp/metrics.h"
#include "cp/server.h"

/* A due node, as a scan found it. */
struct probe_item {
	char id[40];
	char url[LIVE_PROBE_URL_MAX];
	unsigned timeout_s;
	unsigned gen; /* the node's probe.gen when queued */
};

/* A probe in flight. */
struct probe_slot {
	CURL *h; /* NULL: free */
	struct probe_item it;
	int64_t started;
	size_t got;
	char err[CURL_ERROR_SIZE];
};

static struct {
	pthread_t thread;
	bool running;
	atomic_bool stop;
	CURLM *multi;
	struct probe_item *queue; /* PROBE_QUEUE_MAX */
	size_t qn, qnext;         /* queued, started of them */
	struct probe_slot slot[PROBE_INFLIGHT_MAX];
	unsigned inflight;
	/*
	 * The latest want_until any node was given: past it nobody wants a
	 * probe, and the thread does not scan the live table at all (a
	 * fleet that never probes pays nothing for it).
	 */
	atomic_llong wanted_until;
} pr;

struct probe_scan {
	int64_t now;
};

static uint64_t
probe_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
probe_want(struct live_node *n, unsigned port, const char *path,
    unsigned timeout_s, int64_t until)
{
	pthread_mutex_lock(&n->mu);
	/* Results of another target say nothing of this one. */
	if (n->probe.port != port || n->probe.timeout_s != timeout_s ||
	    strcmp(n->probe.path, path) != 0) {
		memset(&n->probe.res, 0, sizeof(n->probe.res));
		n->probe.gen++;
		n->probe.port = port;
		n->probe.timeout_s = timeout_s;
		util_strlcpy(n->probe.path, path, sizeof(n->probe.path));
	}
	if (until > n->probe.want_until)
		n->probe.want_until = until;
	pthread_mutex_unlock(&n->mu);
	/* A race between two callers only lowers it to a still-close time. */
	if (until > atomic_load(&pr.wanted_until))
		atomic_store(&pr.wanted_until, until);
}

/* live_each: queue n when it is due; the table lock is held. */
static void
probe_collect(struct live_node *n, void *arg)
{
	struct probe_scan *s = arg;
	struct live_probe *p = &n->probe;
	struct probe_item *it;
	bool due;

	if (pr.qn >= PROBE_QUEUE_MAX)
		return;
	pthread_mutex_lock(&n->mu);
	/*
	 * Due once an interval, and at once (but once a second at most) when
	 * the node's report changed since the newest probe began: the gate
	 * wants a probe begun after the report, so that one is not an
	 * interval late.
	 */
	due = p->next_at <= s->now ||
	    (n->report_at >= p->res.started && p->res.started < s->now);
	if (p->want_until >= s->now && !p->busy && due && p->port > 0 &&
	    n->addr[0] != '\0') {
		it = &pr.queue[pr.qn];
		util_strlcpy(it->id, n->id, sizeof(it->id));
		it->timeout_s = p->timeout_s;
		it->gen = p->gen;
		/* An IPv6 literal goes in brackets. */
		if ((size_t)snprintf(it->url, sizeof(it->url),
			strchr(n->addr, ':') != NULL ? "http://[%s]:%u%s"
						     : "http://%s:%u%s",
			n->addr, p->port, p->path) < sizeof(it->url)) {
			p->busy = true;
			pr.qn++;
		}
	}
	pthread_mutex_unlock(&n->mu);
}

static size_t
probe_discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct probe_slot *s = arg;

	(void)ptr;
	s->got += size * nmemb;
	/* Returning less than was given ends the transfer: an error. */
	return s->got > PROBE_BODY_MAX ? 0 : size * nmemb;
}

static int
probe_begin(struct probe_slot *s, const struct probe_item *it)
{
	CURL *h = curl_easy_init();

	if (h == NULL)
		return -1;
	s->it = *it;
	s->started = util_now();
	s->got = 0;
	s->err[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, s->it.url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)it->timeout_s);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)it->timeout_s);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "edge-cp-probe");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, probe_discard);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->err);
	curl_easy_setopt(h, CURLOPT_PRIVATE, s);
	if (curl_multi_add_handle(pr.multi, h) != CURLM_OK) {
		curl_easy_cleanup(h);
		return -1;
	}
	s->h = h;
	pr.inflight++;
	metrics_probe_inflight(1);
	return 0;
}

/* What a finished transfer says: 0 ok, or the failure in words. */
static enum metrics_probe
probe_outcome(
    struct probe_slot *s, CURLcode rc, long *status, char *err, size_t len)
{
	long oserr = 0;
	curl_off_t conn = 0;

	*status = 0;
	err[0] = '\0';
	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, status);
	switch (rc) {
	case CURLE_OK:
		if (*status == 200)
			return METRICS_PROBE_OK;
		snprintf(err, len, "status %ld", *status);
		return METRICS_PROBE_STATUS;
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(s->h, CURLINFO_CONNECT_TIME_T, &conn);
		snprintf(err, len, "%s after %u s",
		    conn == 0 ? "connect timeout" : "timeout", s->it.timeout_s);
		return METRICS_PROBE_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(s->h, CURLINFO_OS_ERRNO, &oserr);
		if (oserr == ECONNREFUSED) {
			snprintf(err, len, "connection refused");
			return METRICS_PROBE_REFUSED;
		}
		if (oserr == EHOSTUNREACH || oserr == ENETUNREACH)
			snprintf(err, len, "unreachable");
		else
			snprintf(err, len, "cannot connect: %s",
			    oserr != 0 ? strerror((int)oserr)
				       : curl_easy_strerror(rc));
		return METRICS_PROBE_ERROR;
	case CURLE_WRITE_ERROR:
		snprintf(err, len, "answer over %d bytes", PROBE_BODY_MAX);
		return METRICS_PROBE_ERROR;
	default:
		util_strlcpy(err,
		    s->err[0] != '\0' ? s->err : curl_easy_strerror(rc), len);
		return METRICS_PROBE_ERROR;
	}
}

/* Write a finished probe into its node and free the slot. */
static void
probe_end(struct probe_slot *s, CURLcode rc)
{
	struct live_probe_result *res, void_res;
	struct live_node *n;
	enum metrics_probe kind;
	int64_t now = util_now(), next;
	char err[sizeof(res->error)];
	long status;
	bool ok, turned = false;

	kind = probe_outcome(s, rc, &status, err, sizeof(err));
	ok = kind == METRICS_PROBE_OK;
	metrics_probe(kind);
	if ((n = live_get(s->it.id)) != NULL) {
		pthread_mutex_lock(&n->mu);
		res = &n->probe.res;
		/* Its target changed meanwhile: a result of nothing asked. */
		if (n->probe.gen != s->it.gen) {
			memset(&void_res, 0, sizeof(void_res));
			res = &void_res;
		}
		if (res->at != 0 && res->ok == ok)
			res->run++;
		else {
			turned = true;
			res->run = 1;
			res->run_since = s->started;
		}
		res->started = s->started;
		res->at = now;
		res->ok = ok;
		res->status = status;
		util_strlcpy(res->error, err, sizeof(res->error));
		util_strlcpy(res->url, s->it.url, sizeof(res->url));
		next = s->started + cp.interval_s;
		n->probe.next_at = next > now ? next : now;
		n->probe.busy = false;
		pthread_mutex_unlock(&n->mu);
		live_put(n);
	}
	/* A node's first result and each change are logged, not each probe. */
	if (turned) {
		if (ok)
			log_info("event=probe_ok node=%s url=%s", s->it.id,
			    s->it.url);
		else
			log_warnx("event=probe_failed node=%s url=%s "
				  "error=\"%s\"",
			    s->it.id, s->it.url, err);
	}
	curl_multi_remove_handle(pr.multi, s->h);
	curl_easy_cleanup(s->h);
	s->h = NULL;
	pr.inflight--;
	metrics_probe_inflight(-1);
}

/* Leave the node of an item that will not be probed idle again. */
static void
probe_release(const char *id)
{
	struct live_node *n = live_get(id);

	if (n == NULL)
		return;
	pthread_mutex_lock(&n->mu);
	n->probe.busy = false;
	pthread_mutex_unlock(&n->mu);
	live_put(n);
}

/* Start queued probes while there are free slots. */
static void
probe_fill(void)
{
	size_t i;

	for (i = 0; i < PROBE_INFLIGHT_MAX && pr.qnext < pr.qn; i++) {
		if (pr.slot[i].h != NULL)
			continue;
		if (probe_begin(&pr.slot[i], &pr.queue[pr.qnext]) != 0) {
			log_warnx("event=probe_start_failed node=%s",
			    pr.queue[pr.qnext].id);
			probe_release(pr.queue[pr.qnext].id);
		}
		pr.qnext++;
	}
}

static void *
probe_main(void *arg)
{
	struct probe_scan scan;
	uint64_t last_scan = 0;
	CURLMsg *msg;
	int running, left;
	size_t i;

	(void)arg;
	while (!atomic_load(&pr.stop)) {
		if (pr.qnext == pr.qn &&
		    probe_ms() - last_scan >= PROBE_SCAN_MS) {
			pr.qn = pr.qnext = 0;
			scan.now = util_now();
			if (atomic_load(&pr.wanted_until) >= scan.now)
				live_each(probe_collect, &scan);
			last_scan = probe_ms();
		}
		probe_fill();
		curl_multi_perform(pr.multi, &running);
		while ((msg = curl_multi_info_read(pr.multi, &left)) != NULL) {
			struct probe_slot *s = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(
			    msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			if (s != NULL)
				probe_end(s, msg->data.result);
		}
		/* New slots free: start the next before waiting. */
		if (pr.qnext < pr.qn && pr.inflight < PROBE_INFLIGHT_MAX)
			continue;
		curl_multi_poll(pr.multi, NULL, 0, PROBE_SCAN_MS, NULL);
	}
	for (i = 0; i < PROBE_INFLIGHT_MAX; i++) {
		if (pr.slot[i].h == NULL)
			continue;
		probe_release(pr.slot[i].it.id);
		curl_multi_remove_handle(pr.multi, pr.slot[i].h);
		curl_easy_cleanup(pr.slot[i].h);
		pr.slot[i].h = NULL;
		metrics_probe_inflight(-1);
	}
	for (; pr.qnext < pr.qn; pr.qnext++)
		probe_release(pr.queue[pr.qnext].id);
	pr.inflight = 0;
	return NULL;
}

int
probe_start(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	pr.queue = calloc(PROBE_QUEUE_MAX, sizeof(*pr.queue));
	pr.multi = curl_multi_init();
	if (pr.queue == NULL || pr.multi == NULL)
		goto err;
	atomic_store(&pr.stop, false);
	if (pthread_create(&pr.thread, NULL, probe_main, NULL) != 0)
		goto err;
	pr.running = true;
	return 0;
err:
	if (pr.multi != NULL)
		curl_multi_cleanup(pr.multi);
	free(pr.queue);
	pr.multi = NULL;
	pr.queue = NULL;
	return -1;
}

void
probe_stop(void)
{
	if (!pr.running)
		return;
	atomic_store(&pr.stop, true);
	curl_multi_wakeup(pr.multi);
	pthread_join(pr.thread, NULL);
	curl_multi_cleanup(pr.multi);
	free(pr.queue);
	pr.multi = NULL;
	pr.queue = NULL;
	pr.running = false;
}

json_t *
probe_view(struct live_node *n)
{
	struct live_probe_result r;

	pthread_mutex_lock(&n->mu);
	r = n->probe.res;
	pthread_mutex_unlock(&n->mu);
	if (r.at == 0)
		return NULL;
	return json_pack("{s:s,s:b,s:I,s:s,s:I,s:I,s:I,s:I}", "url", r.url,
	    "ok", r.ok, "status", (json_int_t)r.status, "error", r.error,
	    "started_at", (json_int_t)r.started, "at", (json_int_t)r.at, "run",
	    (json_int_t)r.run, "run_since", (json_int_t)r.run_since);
}
