/*
 * `edge-cp serve`: data-directory set-up, the HTTPS server, and the
 * background ticker (rollout engine, last_seen flush, session expiry,
 * event retention), and the thread that probes node dataplanes for the
 * rollout engine (cp/probe.h).
 *
 * DATA_DIR holds (created on first start, reused after):
 *	edge-cp.db	the SQLite database (WAL)
 *	tls.key/crt	the HTTPS key (0600) and self-signed certificate;
 *			replace both with CA-issued ones to taste
 *	release.key	release-signing secret key, minisign format (0600)
 *	release.pub	its public key, minisign format
 *	state.key	the desired-state signing key, an Ed25519 seed in hex
 *			(0600; cp/statekey.h)
 *	tls.next.*, tls.old.*  a TLS key staged by `edge-cp tls rotate`, the
 *			one `tls switch` retired (cp/tlsrot.h)
 *	hash.key	the key of the token hashes (0600)
 *	generation	the restore guard's counter and marks, outside the
 *			database (0600; cp/generation.h)
 *	admin.token	the first admin API token (0600)
 *	server.url	where the local CLI finds this server
 *	artifacts/	release binaries and their signatures
 *			(artifacts/<component>/<version>[.minisig], 0644;
 *			see cp/artifact.h)
 */
#include "cp/serve.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/log.h"
#include "common/minisign.h"
#include "common/util.h"
#include "cp/api.h"
#include "cp/artifact.h"
#include "cp/auth.h"
#include "cp/generation.h"
#include "cp/live.h"
#include "cp/probe.h"
#include "cp/ratelimit.h"
#include "cp/release_keys.h"
#include "cp/retention.h"
#include "cp/rollout.h"
#include "cp/sse.h"
#include "cp/server.h"
#include "cp/session.h"
#include "cp/statekey.h"
#include "cp/store.h"
#include "cp/tls.h"
#include "cp/tlsrot.h"

#define FLUSH_EVERY_S 10
#define SEEN_RESOLUTION 60 /* persist last_seen at this granularity */

/*
 * Connections.  A keeper keeps one connection to edge-cp open, reused
 * from one check-in to the next, so N nodes behind one NAT address hold
 * about N connections from it.  SERVE_PER_IP_LIMIT lets a POP of a
 * thousand nodes share one address, and still leaves any one address
 * less than 2 % of SERVE_CONN_LIMIT, which is sized for the 50,000 nodes
 * of SPEC section 8 with room for operators and reconnects: it takes some
 * sixty addresses to fill it, and every connection they hold is bounded
 * in time (below).
 */
#define SERVE_CONN_LIMIT 60000
#define SERVE_PER_IP_LIMIT 1024
#define SERVE_TIMEOUT_S 60

/*
 * The longest a request may take to arrive, headers and body, from its
 * first byte (cp/deadline.h).  Bodies other than release uploads are at
 * most SERVER_MAX_BODY (1 MiB): 120 s carries that over 72 kbit/s, room
 * for an operator on a poor mobile link, while a client that trickles
 * holds a connection at most 3 minutes: the 120 s and the idle timeout it
 * may wait before its first byte.  A release upload of ARTIFACT_MAX_SIZE
 * gets ARTIFACT_UPLOAD_TIMEOUT_S, but only once its admin token was
 * accepted on the headers: a stranger never gets more than the 120 s,
 * and at most four uploads (cp/api_releases.c) run at once.
 */
#define SERVE_REQUEST_TIMEOUT_S 120

/*
 * Work for callers not yet known, per address (cp/ratelimit.h): a bucket
 * of SERVE_UNAUTH_BURST requests refilled at SERVE_UNAUTH_RATE a second.
 * A node that is (re)installed makes four such requests (the bootstrap
 * script, the keeper binary, the enrollment, its first handshake) and
 * every node makes one handshake after edge-cp restarts.  So 125 nodes
 * behind one NAT address can be reinstalled at once, or 500 re-handshake,
 * without one 429; a larger POP gets through at 20 requests a second
 * (five reinstalled nodes a second), each refused request told to come
 * back within a second (Retry-After).  One address alone makes edge-cp
 * verify at most 20 signatures a second, about a millisecond of CPU.
 */
#define SERVE_UNAUTH_RATE 20
#define SERVE_UNAUTH_BURST 500

static volatile sig_atomic_t serve_stop;
static pthread_mutex_t tick_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tick_cv = PTHREAD_COND_INITIALIZER;

static void
path_in(char *buf, size_t len, const char *dir, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
		fatalx("event=start_failed msg=\"data dir path too long\"");
}

/* Read a small secret file, or create it with n random bytes. */
static void
serve_key_file(const char *dir, const char *name, unsigned char *key, size_t n)
{
	char path[600], *txt = NULL, hex[129];
	size_t len;

	path_in(path, sizeof(path), dir, name);
	if (afile_read(path, 1024, &txt, &len) == 0) {
		txt[strcspn(txt, "\n")] = '\0';
		if (util_unhex(key, n, txt) != (int)n)
			fatalx(
			    "event=start_failed file=%s msg=\"bad key\"", path);
		sodium_memzero(txt, len);
		free(txt);
		return;
	}
	if (errno != ENOENT)
		fatal("event=start_failed file=%s", path);
	randombytes_buf(key, n);
	util_hex(hex, sizeof(hex), key, n);
	hex[2 * n] = '\n';
	if (afile_write(path, hex, 2 * n + 1, 0600) != 0)
		fatal("event=start_failed file=%s", path);
	sodium_memzero(hex, sizeof(hex));
}

static void
serve_tls(const char *dir, const char *listen, char **key, char **crt)
{
	char kp[600], cpth[600], err[256], host[256] = "localhost";
	const char *dns[3] = { "localhost", NULL, NULL };
	const char *ips[4] = { "127.0.0.1", "::1", NULL, NULL };
	char lhost[64];
	const char *colon = strrchr(listen, ':');
	struct stat st;

	path_in(kp, sizeof(kp), dir, "tls.key");
	path_in(cpth, sizeof(cpth), dir, "tls.crt");
	if (stat(kp, &st) != 0 || stat(cpth, &st) != 0) {
		if (gethostname(host, sizeof(host)) == 0 &&
		    strcmp(host, "localhost") != 0)
			dns[1] = host;
		/* A specific listen address goes into the certificate too. */
		if (colon != NULL && (size_t)(colon - listen) < sizeof(lhost)) {
			memcpy(lhost, listen, (size_t)(colon - listen));
			lhost[colon - listen] = '\0';
			if (strcmp(lhost, "0.0.0.0") != 0 &&
			    strcmp(lhost, "127.0.0.1") != 0 && lhost[0] != '[')
				ips[2] = lhost;
		}
		if (tls_selfsigned_create(
			kp, cpth, dns, ips, err, sizeof(err)) != 0)
			fatalx("event=start_failed msg=\"tls: %s\"", err);
		log_info("event=tls_created cert=%s", cpth);
	}
	if (tls_load(kp, cpth, key, crt, err, sizeof(err)) != 0)
		fatalx("event=start_failed msg=\"tls: %s\"", err);
	if (tls_pin_from_cert(*crt, strlen(*crt), cp.pin, sizeof(cp.pin), err,
		sizeof(err)) != 0)
		fatalx("event=start_failed msg=\"tls pin: %s\"", err);
}

static void
serve_release_key(const char *dir)
{
	char kp[600], pp[600], err[256], buf[1024], *txt = NULL;
	struct msig_pub pub;
	struct msig_sec sec;
	size_t len;

	path_in(kp, sizeof(kp), dir, "release.key");
	path_in(pp, sizeof(pp), dir, "release.pub");
	if (afile_read(pp, 4096, &txt, &len) != 0) {
		if (errno != ENOENT)
			fatal("event=start_failed file=%s", pp);
		if (msig_keygen(&pub, &sec) != 0 ||
		    msig_sec_encode(&sec, buf, sizeof(buf)) != 0)
			fatalx("event=start_failed msg=\"release key\"");
		sodium_memzero(&sec, sizeof(sec));
		/* The secret first: a public key alone would be useless. */
		if (afile_write(kp, buf, strlen(buf), 0600) != 0)
			fatal("event=start_failed file=%s", kp);
		sodium_memzero(buf, sizeof(buf));
		if (msig_pub_encode(&pub, buf, sizeof(buf)) != 0 ||
		    afile_write(pp, buf, strlen(buf), 0644) != 0)
			fatal("event=start_failed file=%s", pp);
		log_info("event=release_key_created pub=%s", pp);
		if (afile_read(pp, 4096, &txt, &len) != 0)
			fatal("event=start_failed file=%s", pp);
	}
	free(txt);
	/* release.pub, and the rotations that led to it. */
	if (release_keys_load(dir, err, sizeof(err)) != 0)
		fatalx("event=start_failed file=%s msg=\"%s\"", pp, err);
}

/*
 * The first admin token.  The file is written before the database row,
 * so a crash in between leaves a file whose token the next start adds.
 */
static void
serve_admin_token(const char *dir)
{
	char path[600], token[AUTH_TOKEN_LEN + 2];
	struct store_apitoken t;
	char *txt = NULL;
	unsigned char hash[32];
	size_t len;
	int rc;

	path_in(path, sizeof(path), dir, "admin.token");
	if (afile_read(path, 256, &txt, &len) == 0) {
		txt[strcspn(txt, "\n")] = '\0';
		util_strlcpy(token, txt, sizeof(token));
		sodium_memzero(txt, len);
		free(txt);
	} else if (errno == ENOENT) {
		if (auth_token_new("efa", token, sizeof(token)) != 0)
			fatalx("event=start_failed msg=\"admin token\"");
		len = strlen(token);
		token[len] = '\n';
		if (afile_write(path, token, len + 1, 0600) != 0)
			fatal("event=start_failed file=%s", path);
		token[len] = '\0';
	} else
		fatal("event=start_failed file=%s", path);
	if (auth_token_hash(token, hash) != 0)
		fatalx("event=start_failed file=%s msg=\"not a token\"", path);
	sodium_memzero(token, sizeof(token));
	rc = store_apitoken_find(cp.store, hash, &t);
	/* Revoked stays revoked: the file's token is not let in again. */
	if (rc == STORE_OK && t.revoked_at != 0)
		log_warnx("event=admin_token_revoked file=%s msg=\"the token "
			  "in this file was revoked; remove the file\"",
		    path);
	else if (rc == STORE_NOTFOUND) {
		rc = store_apitoken_add(
		    cp.store, "admin", "admin", hash, 0, "edge-cp");
		if (rc == STORE_CONFLICT)
			log_warnx(
			    "event=admin_token_ignored file=%s msg=\"a "
			    "token named admin exists with another value\"",
			    path);
		else if (rc != STORE_OK)
			fatalx("event=start_failed msg=\"admin token store\"");
	} else if (rc != STORE_OK)
		fatalx("event=start_failed msg=\"admin token lookup\"");
}

/* Where the local CLI (and tests) reach this server, with the real port. */
static void
serve_url_file(const char *dir, const char *listen)
{
	char path[600], url[300], host[256];
	const char *colon = strrchr(listen, ':');
	size_t hl = colon ? (size_t)(colon - listen) : 0;
	int n;

	path_in(path, sizeof(path), dir, "server.url");
	if (hl >= sizeof(host))
		return;
	memcpy(host, listen, hl);
	host[hl] = '\0';
	if (strcmp(host, "0.0.0.0") == 0)
		util_strlcpy(host, "127.0.0.1", sizeof(host));
	else if (strcmp(host, "[::]") == 0)
		util_strlcpy(host, "[::1]", sizeof(host));
	n = snprintf(url, sizeof(url), "https://%s:%u\n", host, server_port());
	if (n < 0 || (size_t)n >= sizeof(url) ||
	    afile_write(path, url, (size_t)n, 0644) != 0)
		log_warn("event=server_url_not_written file=%s", path);
}

static int
serve_load_node(const struct store_node_row *row, void *arg)
{
	struct live_node *n;
	json_t *st;

	(void)arg;
	if (live_add(row->id, row->pop, row->public_key, row->drain,
		row->last_seen) != 0)
		return -1;
	if (row->has_status && row->status != NULL &&
	    (st = json_loads(row->status, 0, NULL)) != NULL) {
		if ((n = live_get(row->id)) != NULL) {
			live_apply_status(
			    n, st, row->status_hash, row->last_seen);
			live_put(n);
		}
		json_decref(st);
	}
	return 0;
}

struct seen_batch {
	struct store_seen *v;
	size_t n, cap;
	bool all;
	int64_t now;
};

static void
seen_collect(struct live_node *n, void *arg)
{
	struct seen_batch *b = arg;
	int64_t seen = atomic_load(&n->last_seen);
	int64_t flushed = atomic_load(&n->seen_flushed);

	if (seen <= flushed || (!b->all && seen - flushed < SEEN_RESOLUTION))
		return;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		struct store_seen *v = realloc(b->v, cap * sizeof(*v));

		if (v == NULL)
			return;
		b->v = v;
		b->cap = cap;
	}
	/* The node outlives the batch: the table keeps its reference. */
	b->v[b->n].id = n->id;
	b->v[b->n].last_seen = seen;
	b->n++;
	atomic_store(&n->seen_flushed, seen);
}

/*
 * last_seen lives in memory (a check-in costs no write) and reaches the
 * disk here, in one transaction, at SEEN_RESOLUTION granularity: what a
 * crash loses is at most that much liveness history, never a report.
 */
static void
serve_flush_seen(bool all)
{
	struct seen_batch b = { NULL, 0, 0, all, util_now() };

	/* Removal takes the write lock, so ids stay valid while we hold... */
	live_each(seen_collect, &b);
	/* ...and store writes are done outside the table lock. */
	if (b.n > 0 && store_node_flush_seen(cp.store, b.v, b.n) != STORE_OK)
		log_warnx("event=flush_seen_failed nodes=%zu", b.n);
	free(b.v);
}

/*
 * node.health events: the transitions cp/live.c queued where they
 * happened (a report, a drain, a check-in after a silence) and the ones
 * the sweep finds (silence), written in one transaction a tick, in
 * order, each with the time it happened.  A batch the store refuses
 * (disk full) stays queued for the next tick; while the queue is full,
 * transitions coalesce (cp/live.h) and that is logged.
 */
struct health_flush {
	struct live_transition *t;
	const char **objs, **dets;
	char (*details)[128];
	int64_t *ts;
	uint64_t coalesced; /* as last logged */
};

static void
serve_health_events(struct health_flush *w, int64_t now)
{
	uint64_t coalesced;
	size_t i, n;

	live_sweep(now);
	n = live_transitions_peek(w->t, LIVE_TRANSITIONS_MAX);
	for (i = 0; i < n; i++) {
		/* Ids and POP names are [a-z0-9-]: nothing to quote. */
		snprintf(w->details[i], sizeof(w->details[0]),
		    "{\"from\":\"%s\",\"to\":\"%s\",\"pop\":\"%s\"}",
		    live_health_name(w->t[i].from),
		    live_health_name(w->t[i].to), w->t[i].pop);
		w->objs[i] = w->t[i].id;
		w->dets[i] = w->details[i];
		w->ts[i] = w->t[i].at;
	}
	if (n > 0) {
		if (store_event_batch(cp.store, "edge-cp", "node.health",
			w->objs, w->dets, w->ts, n) == STORE_OK)
			live_transitions_drop(n);
		else
			log_warnx("event=health_events_delayed count=%zu", n);
	}
	coalesced = live_transitions_coalesced();
	if (coalesced != w->coalesced) {
		log_warnx("event=health_events_coalesced count=%llu total=%llu",
		    (unsigned long long)(coalesced - w->coalesced),
		    (unsigned long long)coalesced);
		w->coalesced = coalesced;
	}
}

static void *
serve_ticker(void *arg)
{
	int64_t last_flush = util_now(), last_expire = util_now();
	int64_t last_gen = util_now();
	struct health_flush hw = { 0 };

	(void)arg;
	hw.t = calloc(LIVE_TRANSITIONS_MAX, sizeof(*hw.t));
	hw.objs = calloc(LIVE_TRANSITIONS_MAX, sizeof(*hw.objs));
	hw.dets = calloc(LIVE_TRANSITIONS_MAX, sizeof(*hw.dets));
	hw.details = calloc(LIVE_TRANSITIONS_MAX, sizeof(*hw.details));
	hw.ts = calloc(LIVE_TRANSITIONS_MAX, sizeof(*hw.ts));
	if (hw.t == NULL || hw.objs == NULL || hw.dets == NULL ||
	    hw.details == NULL || hw.ts == NULL)
		fatalx("event=start_failed msg=\"out of memory\"");
	pthread_mutex_lock(&tick_mu);
	while (!serve_stop) {
		struct timespec ts;
		int64_t now;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&tick_cv, &tick_mu, &ts);
		if (serve_stop)
			break;
		pthread_mutex_unlock(&tick_mu);
		now = util_now();
		rollout_tick(now);
		serve_health_events(&hw, now);
		retention_tick(cp.store, now);
		if (now - last_flush >= FLUSH_EVERY_S) {
			serve_flush_seen(false);
			last_flush = now;
		}
		if (now - last_expire >= 60) {
			session_expire(now);
			last_expire = now;
		}
		if (now - last_gen >= GEN_BUMP_EVERY_S) {
			gen_tick(cp.store, false);
			last_gen = now;
		}
		pthread_mutex_lock(&tick_mu);
	}
	pthread_mutex_unlock(&tick_mu);
	/* What was queued since the last tick goes in before the stop. */
	serve_health_events(&hw, util_now());
	free(hw.t);
	free(hw.objs);
	free(hw.dets);
	free(hw.details);
	free(hw.ts);
	return NULL;
}

/* Exits: 0 to stdout when asked (--help), 2 to stderr on a misuse. */
static void
usage_serve_exit(int rc)
{
	fprintf(rc == 0 ? stdout : stderr,
	    "usage: edge-cp serve [--listen ADDR:PORT] "
	    "[--data-dir DIR] [--public-url URL]\n"
	    "       [--threads N] [--node-interval S] [--conn-limit N] "
	    "[--per-ip-limit N] [--timeout S]\n"
	    "       [--request-timeout S] [--upload-timeout S] "
	    "[--unauth-rate N] [--unauth-burst N]\n"
	    "       [--keeper-binary PATH] [--event-streams N]\n"
	    "       [--event-retention DAYS|0] [--metrics-auth none|viewer]\n"
	    "       [--accept-restore] [--two-person]\n");
	exit(rc);
}

static void
usage_serve(void)
{
	usage_serve_exit(2);
}

static unsigned
opt_num(const char *s, int64_t min, int64_t max, const char *what)
{
	int64_t v;

	if (util_parse_i64(s, min, max, &v) != 0) {
		fprintf(stderr,
		    "edge-cp: %s must be a number from %lld to "
		    "%lld\n",
		    what, (long long)min, (long long)max);
		exit(2);
	}
	return (unsigned)v;
}

int
serve_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "public-url", required_argument, NULL, 'u' },
		{ "threads", required_argument, NULL, 't' },
		{ "node-interval", required_argument, NULL, 'i' },
		{ "conn-limit", required_argument, NULL, 'c' },
		{ "per-ip-limit", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "keeper-binary", required_argument, NULL, 'k' },
		{ "event-streams", required_argument, NULL, 'e' },
		{ "request-timeout", required_argument, NULL, 'R' },
		{ "upload-timeout", required_argument, NULL, 'U' },
		{ "unauth-rate", required_argument, NULL, 'r' },
		{ "unauth-burst", required_argument, NULL, 'b' },
		{ "event-retention", required_argument, NULL, 'E' },
		{ "metrics-auth", required_argument, NULL, 'M' },
		{ "two-person", no_argument, NULL, '2' },
		{ "accept-restore", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct server_opts so = {
		.listen = "0.0.0.0:8443",
		.conn_limit = SERVE_CONN_LIMIT,
		.per_ip_limit = SERVE_PER_IP_LIMIT,
		.timeout_s = SERVE_TIMEOUT_S,
		.request_timeout_s = SERVE_REQUEST_TIMEOUT_S,
		.upload_timeout_s = ARTIFACT_UPLOAD_TIMEOUT_S,
		.unauth_rate = SERVE_UNAUTH_RATE,
		.unauth_burst = SERVE_UNAUTH_BURST,
	};
	unsigned char seed[crypto_sign_SEEDBYTES];
	unsigned streams = SSE_MAX_STREAMS;
	int64_t retention = RETENTION_DEFAULT_S;
	const char *dir = "/var/lib/edge-cp", *keeper_bin = NULL;
	char path[600], err[1200], *key = NULL, *crt = NULL;
	struct rlimit rl;
	bool accept_restore = false;
	pthread_t ticker;
	sigset_t set;
	long ncpu;
	int c, sig;

	cp.interval_s = 5;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			so.listen = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'u':
			if (strncmp(optarg, "https://", 8) != 0 ||
			    strlen(optarg) >= sizeof(cp.public_url)) {
				fprintf(stderr,
				    "edge-cp: --public-url must be "
				    "an https:// URL\n");
				exit(2);
			}
			util_strlcpy(
			    cp.public_url, optarg, sizeof(cp.public_url));
			break;
		case 't':
			so.threads = opt_num(optarg, 1, 256, "--threads");
			break;
		case 'i':
			cp.interval_s =
			    opt_num(optarg, 1, 300, "--node-interval");
			break;
		case 'c':
			so.conn_limit =
			    opt_num(optarg, 16, 1000000, "--conn-limit");
			break;
		case 'p':
			so.per_ip_limit =
			    opt_num(optarg, 1, 1000000, "--per-ip-limit");
			break;
		case 'T':
			so.timeout_s = opt_num(optarg, 1, 3600, "--timeout");
			break;
		case 'k':
			keeper_bin = optarg;
			break;
		case 'e':
			streams = opt_num(optarg, 1, 4096, "--event-streams");
			break;
		case 'R':
			so.request_timeout_s =
			    opt_num(optarg, 1, 3600, "--request-timeout");
			break;
		case 'U':
			so.upload_timeout_s =
			    opt_num(optarg, 1, 86400, "--upload-timeout");
			break;
		case 'r':
			so.unauth_rate =
			    opt_num(optarg, 0, RATELIMIT_MAX, "--unauth-rate");
			break;
		case 'b':
			so.unauth_burst =
			    opt_num(optarg, 1, RATELIMIT_MAX, "--unauth-burst");
			break;
		case 'E':
			if (retention_parse(optarg, &retention) != 0) {
				fprintf(stderr,
				    "edge-cp: --event-retention must be days "
				    "(0: keep every event), or a number with "
				    "s, m, h, d or w, up to %d days\n",
				    RETENTION_MAX_DAYS);
				exit(2);
			}
			break;
		case 'M':
			if (strcmp(optarg, "viewer") != 0 &&
			    strcmp(optarg, "none") != 0) {
				fprintf(stderr,
				    "edge-cp: --metrics-auth must be none or "
				    "viewer\n");
				exit(2);
			}
			cp.metrics_auth = strcmp(optarg, "viewer") == 0;
			break;
		case '2':
			cp.two_person = true;
			break;
		case 'A':
			accept_restore = true;
			break;
		case 'h':
			usage_serve_exit(0);
			break;
		default:
			usage_serve();
		}
	}
	if (optind != argc)
		usage_serve();
	if (so.threads == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		so.threads = ncpu > 0 ? 4 * (unsigned)ncpu : 4;
	}
	if (sodium_init() < 0)
		fatalx("event=start_failed msg=\"libsodium\"");
	/*
	 * Everything edge-cp creates is private unless it says otherwise
	 * (the database holds BGP session passwords); files meant to be
	 * public get their mode explicitly.
	 */
	umask(0077);
	/* Every kept-alive node connection is a descriptor. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		fatal("event=start_failed dir=%s", dir);
	util_strlcpy(cp.data_dir, dir, sizeof(cp.data_dir));
	cp.started_at = util_now();
	path_in(path, sizeof(path), dir, "edge-cp.db");
	if ((cp.store = store_open(path, err, sizeof(err))) == NULL)
		fatalx("event=start_failed msg=\"store: %s\"", err);
	serve_key_file(dir, "hash.key", cp.hash_key, sizeof(cp.hash_key));
	/* Before anything acts on the database: is it the one we left? */
	switch (gen_start(cp.store, dir, accept_restore, err, sizeof(err))) {
	case 0:
		break;
	case GEN_REFUSED:
		log_warnx("event=start_refused reason=restored");
		fprintf(stderr, "edge-cp: %s\n", err);
		store_close(cp.store);
		exit(GEN_REFUSED);
	default:
		fatalx("event=start_failed msg=\"%s\"", err);
	}
	serve_tls(dir, so.listen, &key, &crt);
	if (tlsrot_load(dir, cp.pin, err, sizeof(err)) != 0)
		fatalx("event=start_failed msg=\"tls rotation: %s\"", err);
	serve_release_key(dir);
	serve_key_file(dir, "state.key", seed, sizeof(seed));
	statekey_init(seed);
	sodium_memzero(seed, sizeof(seed));
	serve_admin_token(dir);
	/* Without one, /v1/bootstrap.sh says so (503); not fatal. */
	bootstrap_load_keeper(keeper_bin);
	/*
	 * Uploads cut short and releases whose row never committed (a crash
	 * mid-publish) leave files; none is served, and here they go.
	 */
	if (api_releases_sweep() < 0)
		log_warnx("event=artifact_sweep_incomplete");
	if (live_init(cp.interval_s) != 0 ||
	    store_node_each(cp.store, serve_load_node, NULL) != STORE_OK)
		fatalx("event=start_failed msg=\"loading nodes\"");

	/* Signals are taken by sigwait below, not by any thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	so.key_pem = key;
	so.cert_pem = crt;
	if (probe_start() != 0)
		fatalx("event=start_failed msg=\"probe thread\"");
	if (sse_start(so.timeout_s, streams) != 0)
		fatalx("event=start_failed msg=\"event feed thread\"");
	if (server_start(&so, err, sizeof(err)) != 0)
		fatalx("event=start_failed msg=\"%s\"", err);
	sodium_memzero(key, strlen(key));
	free(key);
	free(crt);
	serve_url_file(dir, so.listen);
	retention_init(retention);
	if (pthread_create(&ticker, NULL, serve_ticker, NULL) != 0)
		fatalx("event=start_failed msg=\"ticker thread\"");
	log_info("event=listening addr=%s port=%u data_dir=%s nodes=%zu "
		 "threads=%u schema=%d two_person=%d pin=%s",
	    so.listen, server_port(), dir, live_count(), so.threads,
	    store_schema_version(cp.store), cp.two_person, cp.pin);

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
	}
	log_info("event=stopping signal=%d", sig);
	pthread_mutex_lock(&tick_mu);
	serve_stop = 1;
	pthread_cond_signal(&tick_cv);
	pthread_mutex_unlock(&tick_mu);
	pthread_join(ticker, NULL);
	probe_stop();
	sse_stop();
	server_stop(10000);
	serve_flush_seen(true);
	/* What was written since the last bump makes every copy old. */
	gen_tick(cp.store, false);
	session_shutdown();
	live_shutdown();
	store_close(cp.store);
	sodium_memzero(cp.hash_key, sizeof(cp.hash_key));
	log_info("event=stopped");
	return 0;
}
