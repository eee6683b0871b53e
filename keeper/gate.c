#include "keeper/gate.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/afile.h"
#include "common/log.h"
#include "common/priv.h"
#include "common/util.h"

#define GATE_MANAGED_MAX (GATE_MAX_PREFIXES * 2)
#define GATE_LIST_MAX 512

/* The hysteresis, apart from the thread and the interface (gate_fsm). */
struct gate_fsm {
	enum gate_state state;
	int ok, fail;     /* consecutive probes */
	int64_t since_ms; /* entered state (monotonic) */
	int64_t drain_until_ms;
	bool hold; /* WITHDRAWN for health: min_down_ms applies */
};

struct gate {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	bool configured, adopted;
	struct gate_config cfg;
	struct gate_fsm fsm;
	bool healthy;
	char probe_err[128];
	char addr_err[256];
	struct nladdr announced[GATE_MAX_PREFIXES];
	size_t nannounced;
	struct gate_flip flips[GATE_FLIPS];
	size_t nflips;
	/*
	 * Addresses this gate put on an interface (state_file), recorded
	 * before they are put there; dirty while the file is behind.
	 */
	struct nladdr managed[GATE_MANAGED_MAX];
	size_t nmanaged;
	bool managed_dirty;
	char state_file[1024];
	void (*notify)(void *);
	void *arg;
	CURL *curl;
};

const char *
gate_state_name(enum gate_state s)
{
	switch (s) {
	case GATE_WITHDRAWN:
		return "withdrawn";
	case GATE_ANNOUNCED:
		return "announced";
	case GATE_DRAINING:
		return "draining";
	case GATE_DRAINED:
		return "drained";
	}
	return "?";
}

static int64_t
gate_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t
gate_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static CURL *
gate_curl(void)
{
	CURL *c = curl_easy_init();

	if (c == NULL)
		return NULL;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gate_discard);
	return c;
}

/* One GET: 0 when it answered 200, else -1 with why. */
static int
gate_probe(CURL *c, const char *url, int timeout_ms, char *err, size_t len)
{
	long status = 0;
	CURLcode rc;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	if ((rc = curl_easy_perform(c)) != CURLE_OK) {
		snprintf(err, len, "%s", curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(err, len, "HTTP %ld", status);
		return -1;
	}
	err[0] = '\0';
	return 0;
}

/*
 * One probe's verdict through the state machine in gate.h.  Returns the
 * reason of a change, NULL when the state stayed.
 */
static const char *
gate_fsm_tick(
    struct gate_fsm *f, const struct gate_config *c, bool healthy, int64_t now)
{
	enum gate_state from = f->state;
	const char *why = NULL;

	if (healthy) {
		f->ok += f->ok < 1000000;
		f->fail = 0;
	} else {
		f->fail += f->fail < 1000000;
		f->ok = 0;
	}
	if (c->drain) {
		if (f->state == GATE_ANNOUNCED) {
			f->state = GATE_DRAINING;
			f->drain_until_ms = now + (int64_t)c->drain_s * 1000;
			why = "drain asked: the drain policy is announced";
		} else if (f->state == GATE_WITHDRAWN) {
			f->state = GATE_DRAINED;
			why = "drain asked while withdrawn";
		}
		if (f->state == GATE_DRAINING && f->fail >= c->fall) {
			f->state = GATE_DRAINED;
			why = "dataplane unhealthy while draining";
		} else if (f->state == GATE_DRAINING &&
		    now >= f->drain_until_ms) {
			f->state = GATE_DRAINED;
			why = "drain_s passed";
		}
	} else if (f->state == GATE_DRAINING || f->state == GATE_DRAINED) {
		f->state = GATE_WITHDRAWN;
		f->hold = false;
		why = "undrain asked";
	}
	if (f->state == GATE_WITHDRAWN && f->ok >= c->rise &&
	    (!f->hold || now - f->since_ms >= c->min_down_ms)) {
		f->state = GATE_ANNOUNCED;
		why = "dataplane healthy";
	} else if (f->state == GATE_ANNOUNCED && f->fail >= c->fall &&
	    now - f->since_ms >= c->min_up_ms) {
		f->state = GATE_WITHDRAWN;
		f->hold = true;
		why = "dataplane unhealthy";
	}
	if (f->state != from)
		f->since_ms = now;
	return f->state != from ? why : NULL;
}

static bool
gate_wants_up(enum gate_state s)
{
	return s == GATE_ANNOUNCED || s == GATE_DRAINING;
}

static bool
gate_has(const struct nladdr *list, size_t n, const struct nladdr *a)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (nladdr_equal(&list[i], a))
			return true;
	return false;
}

/* state_file: one managed address per line. */
static void
gate_managed_load(struct gate *g)
{
	char *txt = NULL, *line, *save = NULL;
	size_t len;

	g->nmanaged = 0;
	if (g->state_file[0] == '\0' ||
	    afile_read(g->state_file, 64 * 1024, &txt, &len) != 0)
		return;
	for (line = strtok_r(txt, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		if (g->nmanaged < GATE_MANAGED_MAX &&
		    nladdr_parse(line, &g->managed[g->nmanaged]) == 0)
			g->nmanaged++;
	free(txt);
}

static void
gate_managed_save(struct gate *g)
{
	char buf[GATE_MANAGED_MAX * (NLADDR_TEXT_MAX + 1)],
	    one[NLADDR_TEXT_MAX];
	size_t i, o = 0;

	if (g->state_file[0] == '\0')
		return;
	for (i = 0; i < g->nmanaged; i++) {
		nladdr_format(&g->managed[i], one, sizeof(one));
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\n", one);
	}
	if (afile_write(g->state_file, buf, o, 0600) != 0) {
		if (!g->managed_dirty)
			log_warn("event=gate_state_not_saved path=%s",
			    g->state_file);
		g->managed_dirty = true;
	} else
		g->managed_dirty = false;
}

static void
gate_managed_set(struct gate *g, const struct nladdr *a, bool on)
{
	size_t i;

	for (i = 0; i < g->nmanaged; i++)
		if (nladdr_equal(&g->managed[i], a))
			break;
	if (on && i == g->nmanaged && g->nmanaged < GATE_MANAGED_MAX)
		g->managed[g->nmanaged++] = *a;
	else if (!on && i < g->nmanaged)
		g->managed[i] = g->managed[--g->nmanaged];
	else if (!g->managed_dirty)
		return;
	gate_managed_save(g);
}

/*
 * Make the interface hold what the state wants: the configured prefixes
 * when up, none of them (nor any address the gate added before) when
 * down.  Runs on the gate's thread without the lock; reports through
 * err and *announced.
 */
static void
gate_sync(struct gate *g, const struct gate_config *c, bool up,
    struct nladdr *announced, size_t *nann, char *err, size_t errlen)
{
	struct nladdr have[GATE_LIST_MAX];
	char e[256], txt[NLADDR_TEXT_MAX];
	size_t n = 0, i;
	unsigned idx;

	err[0] = '\0';
	*nann = 0;
	if (g->managed_dirty)
		gate_managed_save(g);
	if ((idx = nladdr_ifindex(c->ifname, err, errlen)) == 0 ||
	    nladdr_list(idx, have, GATE_LIST_MAX, &n, err, errlen) != 0)
		return;
	for (i = 0; i < c->nprefixes; i++) {
		const struct nladdr *a = &c->prefixes[i];
		bool on = gate_has(have, n, a);

		/*
		 * Recorded first, put there after: a keeper killed in
		 * between, and restarted with this prefix gone from its
		 * configuration, still knows to remove it.  A record that
		 * cannot be written does not stop the announcement (the
		 * write is tried again every tick): a disk error must not
		 * withdraw a healthy node.
		 */
		if (up)
			gate_managed_set(g, a, true);
		if (up && !on) {
			if (nladdr_add(idx, a, e, sizeof(e)) != 0) {
				util_strlcpy(err, e, errlen);
				continue;
			}
			nladdr_format(a, txt, sizeof(txt));
			log_info(
			    "event=anycast_add addr=%s if=%s", txt, c->ifname);
			on = true;
		}
		if (up && on)
			announced[(*nann)++] = *a;
	}
	for (i = 0; i < n; i++) {
		bool mine = gate_has(g->managed, g->nmanaged, &have[i]);
		bool want = up && gate_has(c->prefixes, c->nprefixes, &have[i]);

		if (want ||
		    (!mine && !gate_has(c->prefixes, c->nprefixes, &have[i])))
			continue;
		if (nladdr_del(idx, &have[i], e, sizeof(e)) != 0) {
			util_strlcpy(err, e, errlen);
			continue;
		}
		nladdr_format(&have[i], txt, sizeof(txt));
		log_info("event=anycast_del addr=%s if=%s", txt, c->ifname);
		gate_managed_set(g, &have[i], false);
	}
}

/* First configuration: take the interface as the keeper left it. */
static void
gate_adopt(struct gate *g, int64_t now)
{
	struct nladdr have[GATE_LIST_MAX];
	char err[256];
	size_t n = 0, i, present = 0;
	unsigned idx;

	g->fsm.since_ms = now - g->cfg.min_up_ms;
	g->fsm.state = GATE_WITHDRAWN;
	g->fsm.hold = false;
	if ((idx = nladdr_ifindex(g->cfg.ifname, err, sizeof(err))) == 0 ||
	    nladdr_list(idx, have, GATE_LIST_MAX, &n, err, sizeof(err)) != 0)
		return;
	for (i = 0; i < g->cfg.nprefixes; i++)
		present += gate_has(have, n, &g->cfg.prefixes[i]);
	if (g->cfg.nprefixes > 0 && present == g->cfg.nprefixes) {
		/* Announced when we stopped: the probe decides from here. */
		g->fsm.state = g->cfg.drain ? GATE_DRAINING : GATE_ANNOUNCED;
		g->fsm.drain_until_ms = now + (int64_t)g->cfg.drain_s * 1000;
		g->fsm.ok = g->cfg.rise;
	}
	log_info("event=gate_adopted state=%s present=%zu of=%zu",
	    gate_state_name(g->fsm.state), present, g->cfg.nprefixes);
}

static void
gate_flip_add(struct gate *g, enum gate_state to, const char *why)
{
	struct gate_flip *f;

	if (g->nflips == GATE_FLIPS) {
		memmove(&g->flips[0], &g->flips[1],
		    sizeof(g->flips[0]) * (GATE_FLIPS - 1));
		g->nflips--;
	}
	f = &g->flips[g->nflips++];
	f->at = util_now();
	f->to = to;
	util_strlcpy(f->reason, why, sizeof(f->reason));
}

static void
gate_tick(struct gate *g)
{
	struct gate_config c;
	struct nladdr ann[GATE_MAX_PREFIXES];
	char perr[128], aerr[256];
	const char *why;
	bool healthy, changed = false;
	enum gate_state st;
	size_t nann;
	int64_t now;

	pthread_mutex_lock(&g->mu);
	c = g->cfg;
	pthread_mutex_unlock(&g->mu);
	healthy =
	    gate_probe(g->curl, c.probe, c.timeout_ms, perr, sizeof(perr)) == 0;
	now = gate_now_ms();
	pthread_mutex_lock(&g->mu);
	if (!g->adopted) {
		gate_adopt(g, now);
		g->adopted = true;
	}
	if (healthy != g->healthy && !healthy)
		log_warnx(
		    "event=probe_failed url=%s err=\"%s\"", c.probe, perr);
	g->healthy = healthy;
	util_strlcpy(g->probe_err, perr, sizeof(g->probe_err));
	if ((why = gate_fsm_tick(&g->fsm, &g->cfg, healthy, now)) != NULL) {
		char reason[96];

		snprintf(reason, sizeof(reason), "%s%s%.40s", why,
		    healthy ? "" : ": ", healthy ? "" : perr);
		gate_flip_add(g, g->fsm.state, reason);
		log_info("event=gate state=%s reason=\"%s\"",
		    gate_state_name(g->fsm.state), reason);
		changed = true;
	}
	st = g->fsm.state;
	pthread_mutex_unlock(&g->mu);

	gate_sync(g, &c, gate_wants_up(st), ann, &nann, aerr, sizeof(aerr));

	pthread_mutex_lock(&g->mu);
	changed |= strcmp(aerr, g->addr_err) != 0 || nann != g->nannounced ||
	    memcmp(ann, g->announced, nann * sizeof(ann[0])) != 0;
	util_strlcpy(g->addr_err, aerr, sizeof(g->addr_err));
	memcpy(g->announced, ann, nann * sizeof(ann[0]));
	g->nannounced = nann;
	pthread_mutex_unlock(&g->mu);
	if (changed && g->notify != NULL)
		g->notify(g->arg);
}

static void *
gate_main(void *arg)
{
	struct gate *g = arg;
	struct timespec ts;
	int64_t next = gate_now_ms(), interval;

	/* Its own channel to the privileged part: never behind apt-get. */
	priv_client_thread(PRIV_CHAN_GATE);
	pthread_mutex_lock(&g->mu);
	for (;;) {
		while (!g->stop && (!g->configured || gate_now_ms() < next)) {
			int64_t at =
			    g->configured ? next : gate_now_ms() + 1000;

			ts.tv_sec = at / 1000;
			ts.tv_nsec = (at % 1000) * 1000000;
			pthread_cond_timedwait(&g->cv, &g->mu, &ts);
		}
		if (g->stop)
			break;
		interval = g->cfg.interval_ms;
		pthread_mutex_unlock(&g->mu);
		gate_tick(g);
		/* A fixed rate, not a fixed pause: probes do not drift. */
		next += interval;
		if (next < gate_now_ms())
			next = gate_now_ms();
		pthread_mutex_lock(&g->mu);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

struct gate *
gate_start(const char *state_file, void (*notify)(void *), void *arg, char *err,
    size_t errlen)
{
	pthread_condattr_t ca;
	struct gate *g;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((g->curl = gate_curl()) == NULL) {
		snprintf(err, errlen, "libcurl: cannot make a handle");
		free(g);
		return NULL;
	}
	util_strlcpy(
	    g->state_file, state_file ? state_file : "", sizeof(g->state_file));
	gate_managed_load(g);
	g->notify = notify;
	g->arg = arg;
	pthread_mutex_init(&g->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((errno = pthread_create(&g->thread, NULL, gate_main, g)) != 0) {
		snprintf(err, errlen, "thread: %s", strerror(errno));
		curl_easy_cleanup(g->curl);
		free(g);
		return NULL;
	}
	return g;
}

int
gate_configure(
    struct gate *g, const struct gate_config *c, char *err, size_t errlen)
{
	if (nladdr_ifindex(c->ifname, err, errlen) == 0)
		return -1;
	pthread_mutex_lock(&g->mu);
	if (!g->configured || !gate_config_equal(&g->cfg, c)) {
		g->cfg = *c;
		g->configured = true;
		pthread_cond_signal(&g->cv);
	}
	pthread_mutex_unlock(&g->mu);
	return 0;
}

void
gate_view(struct gate *g, struct gate_view *v)
{
	memset(v, 0, sizeof(*v));
	pthread_mutex_lock(&g->mu);
	v->configured = g->configured && g->adopted;
	v->config = g->cfg;
	v->state = g->fsm.state;
	v->healthy = g->healthy;
	util_strlcpy(v->probe_err, g->probe_err, sizeof(v->probe_err));
	util_strlcpy(v->addr_err, g->addr_err, sizeof(v->addr_err));
	memcpy(v->announced, g->announced,
	    g->nannounced * sizeof(g->announced[0]));
	v->nannounced = g->nannounced;
	memcpy(v->flips, g->flips, g->nflips * sizeof(g->flips[0]));
	v->nflips = g->nflips;
	pthread_mutex_unlock(&g->mu);
}

void
gate_stop(struct gate *g)
{
	if (g == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = true;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
	pthread_join(g->thread, NULL);
	curl_easy_cleanup(g->curl);
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g);
}

void
gate_view_once(const struct gate_config *c, struct gate_view *v)
{
	struct nladdr have[GATE_LIST_MAX];
	char err[256];
	size_t n = 0, i, present = 0;
	unsigned idx;
	CURL *curl;

	memset(v, 0, sizeof(*v));
	v->configured = true;
	v->config = *c;
	if ((curl = gate_curl()) != NULL) {
		v->healthy = gate_probe(curl, c->probe, c->timeout_ms,
				 v->probe_err, sizeof(v->probe_err)) == 0;
		curl_easy_cleanup(curl);
	}
	v->state = c->drain ? GATE_DRAINED
	    : v->healthy    ? GATE_ANNOUNCED
			    : GATE_WITHDRAWN;
	if ((idx = nladdr_ifindex(c->ifname, err, sizeof(err))) == 0 ||
	    nladdr_list(idx, have, GATE_LIST_MAX, &n, err, sizeof(err)) != 0) {
		util_strlcpy(v->addr_err, err, sizeof(v->addr_err));
		return;
	}
	for (i = 0; i < c->nprefixes; i++)
		if (gate_has(have, n, &c->prefixes[i]))
			v->announced[present++] = c->prefixes[i];
	v->nannounced = present;
	if (gate_wants_up(v->state) ? present != c->nprefixes : present != 0) {
		v->pending = true;
		snprintf(v->pending_why, sizeof(v->pending_why),
		    "%zu of %zu prefixes on %s while the probe says %.40s",
		    present, c->nprefixes, c->ifname,
		    v->healthy ? "healthy" : v->probe_err);
	}
}
