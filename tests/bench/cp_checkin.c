/*
 * cp_checkin: how many unchanged-state check-ins edge-cp answers per
 * second and per CPU-second (SPEC §8: >= 20,000 per edge-cp CPU-second).
 *
 *	cp_checkin --server URL (--pin sha256//... | --cert tls.crt)
 *		   --token ENROLLTOKEN --nodes N --seconds S
 *		   [--json FILE] [--cp-pid PID]
 *
 * With real keys and real HTTPS:
 *
 *  1. setup: N nodes enroll (Ed25519 key pair, proof of possession), open
 *     a session (signed X25519 handshake) and fetch their desired state
 *     once (200 + ETag), at most BENCH_SETUP_INFLIGHT at a time;
 *  2. warm-up: every node polls GET /v1/node/desired with If-None-Match,
 *     back to back, over its own kept-alive TLS connection, until each has
 *     had an answer and at least a second has passed;
 *  3. measurement, S seconds of the same.  Counted: answers, latency
 *     (request queued to response parsed), answers other than 304, new
 *     connections, and edge-cp's utime+stime from /proc/PID/stat.
 *
 * The client is one thread: tests/fleetsim/simnet (non-blocking GnuTLS
 * sockets, epoll, HTTP/1.1 by hand, a few µs of CPU per check-in) and
 * tests/fleetsim/simnode (the node protocol of tests/tools/nodeclient.c),
 * shared with the fleet simulator.  Unlike the simulator, which spreads
 * many nodes over a small pool of connections at their check-in interval,
 * each node here has its own connection and polls without pause: the
 * point is the server's ceiling.
 *
 * edge-cp limits connections per client address (--per-ip-limit, default
 * 1024) and enrollments and handshakes per address (--unauth-rate,
 * --unauth-burst): start it with a limit above N and with --unauth-rate 0
 * for this benchmark, whose nodes all come from one address.
 *
 * Exit status: 0 when the run completed without an error or an answer
 * other than 304, 1 otherwise, 2 on a usage error.  Tests never assert on
 * the figures (STYLE.md); tests/bench/run.sh prints them.
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
#include <sys/types.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/util.h"
#include "tests/fleetsim/hist.h"
#include "tests/fleetsim/simnet.h"
#include "tests/fleetsim/simnode.h"

#define BENCH_NODES_MAX 5000
#define BENCH_SECONDS_MAX 600
#define BENCH_SETUP_INFLIGHT 64
#define BENCH_SEC_NS (1000ull * 1000 * 1000)
#define BENCH_WARMUP_MIN_NS (1 * BENCH_SEC_NS)
#define BENCH_WARMUP_MAX_NS (60 * BENCH_SEC_NS)
#define BENCH_SETUP_MAX_NS (300 * BENCH_SEC_NS)
#define BENCH_DRAIN_MAX_NS (10 * BENCH_SEC_NS)
#define BENCH_TARGET 20000 /* check-ins per edge-cp CPU-second */

/* What the node is doing, protocol-wise. */
enum bn_phase {
	BN_WAIT, /* setup not started */
	BN_ENROLL,
	BN_SESSION,
	BN_FIRST, /* the first GET desired: 200 and the ETag */
	BN_READY, /* set up, not polling */
	BN_POLL,
	BN_STOPPED, /* gave up after an error */
};

struct bench;

struct bnode {
	struct bench *b;
	size_t idx;
	enum bn_phase phase;
	struct simnode sn;
	struct simnet_conn *conn; /* its own, kept alive */
	char etag[SIMNET_ETAG_MAX];
};

struct bench_opts {
	const char *server;
	const char *pin;
	const char *cert;
	const char *token;
	const char *json;
	int64_t nodes;
	int64_t seconds;
	int64_t cp_pid;
};

struct bench {
	const struct bench_opts *o;
	struct simnet *net;
	struct bnode *nodes;
	size_t n;

	/* Setup. */
	size_t setup_next;
	size_t setup_active;
	size_t ready;
	size_t setup_failed;
	bool in_setup_next;

	/* Polling. */
	bool measuring;
	bool stopping;
	size_t first_polls; /* nodes with >= 1 poll done */
	uint64_t checkins;
	uint64_t non304;
	uint64_t errors;
	uint64_t new_conns; /* opened while measuring */
	size_t stopped;
	struct hist hist;
	char first_err[512];
};

static void bn_failed(struct bnode *, const char *);

/* ---------------------------------------------------------------------
 * Small helpers.
 */

/* utime + stime of a process, in clock ticks. */
static int
proc_cpu_ticks(pid_t pid, uint64_t *ticks)
{
	char path[64], buf[2048], *p, *end;
	unsigned long long ut, st;
	size_t n;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and ')': skip past the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	p++;
	/* Fields 3..13, then utime (14) and stime (15). */
	for (i = 3; i < 14; i++) {
		while (*p == ' ')
			p++;
		if ((p = strchr(p, ' ')) == NULL)
			return -1;
	}
	errno = 0;
	ut = strtoull(p, &end, 10);
	if (end == p || errno != 0)
		return -1;
	p = end;
	st = strtoull(p, &end, 10);
	if (end == p || errno != 0)
		return -1;
	*ticks = ut + st;
	return 0;
}

static double
self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0.0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static size_t
bench_inflight(const struct bench *b)
{
	struct simnet_stats st;

	simnet_stats(b->net, &st);
	return st.inflight;
}

static uint64_t
bench_conns_opened(const struct bench *b)
{
	struct simnet_stats st;

	simnet_stats(b->net, &st);
	return st.conns_opened;
}

static void bench_fail(struct bench *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Remember the first problem for the summary; later ones only count. */
static void
bench_fail(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	if (b->first_err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(b->first_err, sizeof(b->first_err), fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------------
 * One state machine per node, moved on by responses.
 */

static simnet_done_fn bn_done;

/* A tagged GET /v1/node/desired, with If-None-Match once we have an ETag. */
static int
bn_get_desired(struct bnode *nd)
{
	char inm[SIMNET_ETAG_MAX + 32] = "";

	if (nd->etag[0] != '\0' &&
	    (size_t)snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n",
		nd->etag) >= sizeof(inm))
		return -1;
	return simnode_request(&nd->sn, nd->conn, "GET", "/v1/node/desired",
	    inm, NULL, 0, bn_done, nd);
}

static int
bn_enroll(struct bnode *nd)
{
	char host[32];

	nd->phase = BN_ENROLL;
	snprintf(host, sizeof(host), "bench-%zu", nd->idx);
	return simnode_enroll(
	    &nd->sn, nd->conn, nd->b->o->token, host, bn_done, nd);
}

static void
bench_setup_next(struct bench *b)
{
	/* A failure inside calls back here; the outer loop carries on. */
	if (b->in_setup_next)
		return;
	b->in_setup_next = true;
	while (b->setup_next < b->n && b->setup_active < BENCH_SETUP_INFLIGHT) {
		struct bnode *nd = &b->nodes[b->setup_next++];

		b->setup_active++;
		if (bn_enroll(nd) != 0)
			bn_failed(nd, "cannot build the enrollment");
	}
	b->in_setup_next = false;
}

static void
bn_setup_end(struct bnode *nd, bool ok)
{
	struct bench *b = nd->b;

	b->setup_active--;
	if (ok) {
		nd->phase = BN_READY;
		b->ready++;
	} else {
		nd->phase = BN_STOPPED;
		b->setup_failed++;
	}
	bench_setup_next(b);
}

/* A request could not be made or completed (transport or protocol). */
static void
bn_failed(struct bnode *nd, const char *why)
{
	struct bench *b = nd->b;

	bench_fail(b, "node %zu: %s", nd->idx, why);
	switch (nd->phase) {
	case BN_ENROLL:
	case BN_SESSION:
	case BN_FIRST:
		bn_setup_end(nd, false);
		break;
	case BN_POLL:
		b->errors++;
		b->stopped++;
		nd->phase = BN_STOPPED;
		break;
	default:
		nd->phase = BN_STOPPED;
		break;
	}
}

static void
bn_setup_response(struct bnode *nd, const struct simnet_resp *r)
{
	struct bench *b = nd->b;
	char err[512];
	bool ok = false;

	switch (nd->phase) {
	case BN_ENROLL:
		if (simnode_enrolled(&nd->sn, r, err, sizeof(err)) != 0)
			bench_fail(b, "%s", err);
		else {
			nd->phase = BN_SESSION;
			if (simnode_session(&nd->sn, nd->conn, bn_done, nd) ==
			    0)
				return;
		}
		break;
	case BN_SESSION:
		if (simnode_session_opened(&nd->sn, r, err, sizeof(err)) != 0)
			bench_fail(b, "%s", err);
		else {
			nd->phase = BN_FIRST;
			if (bn_get_desired(nd) == 0)
				return;
		}
		break;
	case BN_FIRST:
		if (r->status != 200 || r->etag[0] == '\0') {
			bench_fail(b, "first desired: HTTP %d (ETag %s) %s",
			    r->status, r->etag[0] ? r->etag : "none", r->body);
			break;
		}
		util_strlcpy(nd->etag, r->etag, sizeof(nd->etag));
		ok = true;
		break;
	default:
		break;
	}
	bn_setup_end(nd, ok);
}

static void
bn_poll_response(struct bnode *nd, const struct simnet_resp *r)
{
	struct bench *b = nd->b;

	if (nd->sn.ctr == 2) /* ctr 1 was the setup GET */
		b->first_polls++;
	if (b->measuring) {
		b->checkins++;
		hist_add(&b->hist, r->elapsed_us);
	}
	if (r->status != 304) {
		/* Counted in the warm-up too: every answer after the first. */
		b->non304++;
		bench_fail(b, "poll: HTTP %d %s", r->status, r->body);
		if (r->status != 200) {
			nd->phase = BN_STOPPED;
			b->stopped++;
			return;
		}
		if (r->etag[0] != '\0')
			util_strlcpy(nd->etag, r->etag, sizeof(nd->etag));
	}
	if (b->stopping)
		return;
	/* On the same connection: simnet sends it before it returns. */
	if (bn_get_desired(nd) != 0) {
		b->errors++;
		bench_fail(b, "poll: cannot build a request");
		nd->phase = BN_STOPPED;
		b->stopped++;
	}
}

static void
bn_done(void *arg, const struct simnet_resp *r, const char *why)
{
	struct bnode *nd = arg;

	if (r == NULL)
		bn_failed(nd, why);
	else if (nd->phase == BN_POLL)
		bn_poll_response(nd, r);
	else
		bn_setup_response(nd, r);
}

/* ---------------------------------------------------------------------
 * The run.
 */

struct bench_result {
	double setup_s;
	double warmup_s;
	double window_s;
	double cp_cpu_s; /* < 0 without --cp-pid */
	double client_cpu_s;
};

static int
bench_setup(struct bench *b, double *secs)
{
	uint64_t t0 = util_mono_ns();

	bench_setup_next(b);
	while (b->ready + b->setup_failed < b->n) {
		if (util_mono_ns() - t0 > BENCH_SETUP_MAX_NS) {
			bench_fail(b, "setup took over %llu s",
			    (unsigned long long)(BENCH_SETUP_MAX_NS /
				BENCH_SEC_NS));
			return -1;
		}
		simnet_step(b->net, 100);
	}
	*secs = (double)(util_mono_ns() - t0) / 1e9;
	return b->setup_failed == 0 ? 0 : -1;
}

static int
bench_poll(struct bench *b, struct bench_result *res)
{
	uint64_t t0 = util_mono_ns(), ws, we, now, cp0 = 0, cp1 = 0;
	pid_t pid = (pid_t)b->o->cp_pid;
	uint64_t conns0;
	double c0;
	size_t i;

	for (i = 0; i < b->n; i++) {
		b->nodes[i].phase = BN_POLL;
		if (bn_get_desired(&b->nodes[i]) != 0) {
			bench_fail(b, "cannot build a request");
			return -1;
		}
		/* Sent by the next step, on the connection kept from the setup. */
	}
	/* Warm-up: every node has had an answer, and at least a second. */
	while ((now = util_mono_ns()) - t0 < BENCH_WARMUP_MIN_NS ||
	    b->first_polls + b->stopped < b->n) {
		if (now - t0 > BENCH_WARMUP_MAX_NS) {
			bench_fail(b, "warm-up took over a minute");
			return -1;
		}
		simnet_step(b->net, 50);
	}
	if (pid > 0 && proc_cpu_ticks(pid, &cp0) != 0) {
		bench_fail(b, "cannot read /proc/%ld/stat", (long)pid);
		return -1;
	}
	c0 = self_cpu_s();
	conns0 = bench_conns_opened(b);
	ws = util_mono_ns();
	res->warmup_s = (double)(ws - t0) / 1e9;
	b->measuring = true;
	we = ws + (uint64_t)b->o->seconds * BENCH_SEC_NS;
	while ((now = util_mono_ns()) < we && b->stopped < b->n)
		simnet_step(b->net, (int)((we - now) / 1000000u) + 1);
	b->measuring = false;
	b->new_conns = bench_conns_opened(b) - conns0;
	b->stopping = true;
	now = util_mono_ns();
	if (pid > 0 && proc_cpu_ticks(pid, &cp1) != 0) {
		bench_fail(b, "cannot read /proc/%ld/stat", (long)pid);
		return -1;
	}
	res->client_cpu_s = self_cpu_s() - c0;
	res->window_s = (double)(now - ws) / 1e9;
	res->cp_cpu_s =
	    pid > 0 ? (double)(cp1 - cp0) / (double)sysconf(_SC_CLK_TCK) : -1.0;
	/* Let the requests in flight finish before the connections close. */
	while (
	    bench_inflight(b) > 0 && util_mono_ns() - now < BENCH_DRAIN_MAX_NS)
		simnet_step(b->net, 50);
	return 0;
}

static json_t *
bench_json(const struct bench *b, const struct bench_result *r)
{
	double rate = r->window_s > 0 ? (double)b->checkins / r->window_s : 0;
	json_t *o;

	o = json_pack("{s:s,s:I,s:f,s:f,s:f,s:I,s:f,s:I,s:I,s:I,s:I,"
		      "s:{s:f,s:f,s:f},s:f,s:I}",
	    "benchmark", "cp_checkin", "nodes", (json_int_t)b->n, "seconds",
	    r->window_s, "setup_s", r->setup_s, "warmup_s", r->warmup_s,
	    "checkins", (json_int_t)b->checkins, "checkins_per_s", rate,
	    "non_304", (json_int_t)b->non304, "errors", (json_int_t)b->errors,
	    "nodes_stopped", (json_int_t)b->stopped, "new_connections",
	    (json_int_t)b->new_conns, "latency_ms", "p50",
	    hist_quantile_ms(&b->hist, 0.50), "p99",
	    hist_quantile_ms(&b->hist, 0.99), "max",
	    (double)b->hist.max_us / 1000.0, "client_cpu_s", r->client_cpu_s,
	    "target_checkins_per_cp_cpu_s", (json_int_t)BENCH_TARGET);
	if (o == NULL)
		return NULL;
	if (r->cp_cpu_s >= 0) {
		json_object_set_new(o, "cp_cpu_s", json_real(r->cp_cpu_s));
		json_object_set_new(o, "cp_cpu_us_per_checkin",
		    b->checkins
			? json_real(r->cp_cpu_s * 1e6 / (double)b->checkins)
			: json_null());
		json_object_set_new(o, "checkins_per_cp_cpu_s",
		    r->cp_cpu_s > 0
			? json_real((double)b->checkins / r->cp_cpu_s)
			: json_null());
	} else {
		json_object_set_new(o, "cp_cpu_s", json_null());
		json_object_set_new(o, "cp_cpu_us_per_checkin", json_null());
		json_object_set_new(o, "checkins_per_cp_cpu_s", json_null());
	}
	return o;
}

static void
bench_print(const struct bench *b, const struct bench_result *r)
{
	double rate = r->window_s > 0 ? (double)b->checkins / r->window_s : 0;

	printf("cp_checkin: %zu nodes, %.1f s measured (setup %.1f s, "
	       "warm-up %.1f s)\n",
	    b->n, r->window_s, r->setup_s, r->warmup_s);
	printf("  check-ins       %llu  (%.0f/s)\n",
	    (unsigned long long)b->checkins, rate);
	printf("  latency         p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
	    hist_quantile_ms(&b->hist, 0.50), hist_quantile_ms(&b->hist, 0.99),
	    (double)b->hist.max_us / 1000.0);
	printf("  non-304         %llu  errors %llu  new connections %llu\n",
	    (unsigned long long)b->non304, (unsigned long long)b->errors,
	    (unsigned long long)b->new_conns);
	if (r->cp_cpu_s > 0 && b->checkins > 0)
		printf("  edge-cp CPU     %.2f s  %.1f us/check-in  %.0f "
		       "check-ins per CPU-second (target >= %d)\n",
		    r->cp_cpu_s, r->cp_cpu_s * 1e6 / (double)b->checkins,
		    (double)b->checkins / r->cp_cpu_s, BENCH_TARGET);
	else if (r->cp_cpu_s < 0)
		printf("  edge-cp CPU     not measured (no --cp-pid)\n");
	printf("  client CPU      %.2f s  %.1f us/check-in\n", r->client_cpu_s,
	    b->checkins ? r->client_cpu_s * 1e6 / (double)b->checkins : 0.0);
}

static int
bench_write_json(const char *path, json_t *o, char *err, size_t errlen)
{
	char *txt = json_dumps(
	    o, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));
	int ret = -1;

	if (txt == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (afile_write(path, txt, strlen(txt), 0644) != 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else
		ret = 0;
	free(txt);
	return ret;
}

static int
bench_init(
    struct bench *b, const struct bench_opts *o, char *err, size_t errlen)
{
	size_t i;

	memset(b, 0, sizeof(*b));
	b->o = o;
	if (simnet_new(o->server, o->pin, o->cert, &b->net, err, errlen) != 0)
		return -1;
	if ((b->nodes = calloc((size_t)o->nodes, sizeof(*b->nodes))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	b->n = (size_t)o->nodes;
	for (i = 0; i < b->n; i++) {
		b->nodes[i].b = b;
		b->nodes[i].idx = i;
		if ((b->nodes[i].conn = simnet_conn_new(b->net)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

static void
bench_free(struct bench *b)
{
	size_t i;

	for (i = 0; b->nodes != NULL && i < b->n; i++)
		simnode_wipe(&b->nodes[i].sn);
	free(b->nodes);
	simnet_free(b->net); /* and every connection */
	memset(b, 0, sizeof(*b));
}

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
	    "usage: cp_checkin --server URL (--pin sha256//... | "
	    "--cert FILE) --token ENROLLTOKEN\n"
	    "                  --nodes N --seconds S [--json FILE] "
	    "[--cp-pid PID]\n"
	    "  N: 1..%d, S: 1..%d; edge-cp needs --per-ip-limit above N\n",
	    BENCH_NODES_MAX, BENCH_SECONDS_MAX);
	exit(2);
}

static int64_t
opt_num(const char *s, int64_t min, int64_t max, const char *what)
{
	int64_t v;

	if (util_parse_i64(s, min, max, &v) != 0) {
		fprintf(stderr, "cp_checkin: %s must be %lld..%lld\n", what,
		    (long long)min, (long long)max);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 'S' },
		{ "pin", required_argument, NULL, 'P' },
		{ "cert", required_argument, NULL, 'C' },
		{ "token", required_argument, NULL, 't' },
		{ "nodes", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' },
		{ "cp-pid", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts o;
	struct bench_result res;
	struct bench *b = NULL;
	struct rlimit rl;
	json_t *doc = NULL;
	uint64_t ticks;
	char err[512];
	int c, ret = 1;

	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
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
		case 'n':
			o.nodes =
			    opt_num(optarg, 1, BENCH_NODES_MAX, "--nodes");
			break;
		case 's':
			o.seconds =
			    opt_num(optarg, 1, BENCH_SECONDS_MAX, "--seconds");
			break;
		case 'j':
			o.json = optarg;
			break;
		case 'p':
			o.cp_pid = opt_num(optarg, 1, INT32_MAX, "--cp-pid");
			break;
		default:
			usage();
		}
	}
	if (optind != argc || o.server == NULL || o.token == NULL ||
	    (o.pin == NULL) == (o.cert == NULL) || o.nodes == 0 ||
	    o.seconds == 0)
		usage();
	if (sodium_init() < 0) {
		fprintf(stderr, "cp_checkin: cannot initialise libsodium\n");
		return 1;
	}
	/* A write to a connection the server dropped is an error, not death. */
	signal(SIGPIPE, SIG_IGN);
	/* One descriptor per node. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (o.cp_pid > 0 && proc_cpu_ticks((pid_t)o.cp_pid, &ticks) != 0) {
		fprintf(stderr, "cp_checkin: no process %lld\n",
		    (long long)o.cp_pid);
		return 1;
	}
	if ((b = malloc(sizeof(*b))) == NULL) {
		fprintf(stderr, "cp_checkin: out of memory\n");
		return 1;
	}
	if (bench_init(b, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "cp_checkin: %s\n", err);
		goto out;
	}
	if (bench_setup(b, &res.setup_s) != 0) {
		fprintf(stderr,
		    "cp_checkin: setup failed for %zu of %zu "
		    "nodes: %s\n",
		    b->setup_failed, b->n, b->first_err);
		if (b->n > 250)
			fprintf(stderr,
			    "cp_checkin: hint: edge-cp drops "
			    "connections past its --per-ip-limit (default "
			    "1024) and refuses enrollments past --unauth-burst;"
			    " it needs a limit above %zu and --unauth-rate 0 "
			    "here\n",
			    b->n);
		goto out;
	}
	if (bench_poll(b, &res) != 0) {
		fprintf(stderr, "cp_checkin: %s\n", b->first_err);
		goto out;
	}
	bench_print(b, &res);
	if (b->first_err[0] != '\0')
		fprintf(
		    stderr, "cp_checkin: first problem: %s\n", b->first_err);
	if (o.json != NULL) {
		if ((doc = bench_json(b, &res)) == NULL) {
			fprintf(stderr, "cp_checkin: out of memory\n");
			goto out;
		}
		if (bench_write_json(o.json, doc, err, sizeof(err)) != 0) {
			fprintf(stderr, "cp_checkin: %s\n", err);
			goto out;
		}
	}
	ret = b->errors == 0 && b->non304 == 0 && b->stopped == 0 ? 0 : 1;
out:
	json_decref(doc);
	bench_free(b);
	free(b);
	return ret;
}
