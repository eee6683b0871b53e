/*
 * `edge-keeper run`, the daemon, and `check` and `status`.
 *
 * The loop (SPEC §5), every interval_s (±10 % jitter):
 *
 *	fetch ──200──▶ parse + validate whole ──ok──▶ save (afile), adopt
 *	  │  │                                └─bad─▶ keep the last good,
 *	  │  └─304: nothing new (it is also the heartbeat)       report it
 *	  └─unreachable: keep the last good; next fetch after a capped,
 *	    jittered backoff; steps keep running every interval
 *	run the Steps (keeper/reconcile.c)
 *	report ── only when the report changed, every 5 min anyway, and at
 *	          once when edge-cp comes back
 *
 * A control-plane outage never withdraws anything: the last good desired
 * state, kept on disk, stays in force until edge-cp says otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/birdctl.h"
#include "common/exec.h"
#include "common/json.h"
#include "common/log.h"
#include "common/priv.h"
#include "common/util.h"
#include "common/version.h"
#include "keeper/desired.h"
#include "keeper/gate.h"
#include "keeper/keeper.h"
#include "keeper/metrics.h"
#include "keeper/privsep.h"
#include "keeper/reconcile.h"
#include "keeper/release.h"
#include "keeper/release_keys.h"
#include "keeper/selfup.h"
#include "keeper/trust.h"
#include "steps/kinds.h"

#define DESIRED_FILE "/var/lib/edge-keeper/desired.json"
#define ETAG_FILE "/var/lib/edge-keeper/desired.etag"
#define PASS_FILE "/var/lib/edge-keeper/last-pass.json"
#define GATE_FILE "/var/lib/edge-keeper/anycast.addrs"
#define LOCK_FILE "/var/lib/edge-keeper/run.lock"
#define FULL_REPORT_S 300
#define FETCH_BACKOFF_MAX 60

struct keeper {
	struct keeper_conf *conf;
	struct cpclient cp;
	struct kdesired *d;    /* in force; NULL before the first */
	char etag[96];         /* of d, as edge-cp named it */
	char desired_err[256]; /* why the newest document was refused */
	struct backoff bo;
	struct step_result *res;
	size_t nres;
	struct pass_stats stats;
	bool reachable;
	int fetch_fails;
	int64_t next_fetch;
	int64_t last_sync; /* last successful exchange with edge-cp */
	int64_t last_report;
	unsigned char report_hash[32];
	bool report_ok; /* report_hash was accepted by edge-cp */
	unsigned char pass_hash[32];
	uint64_t passes;
	double last_pass_ms;
	struct step_host host;
	struct release_ctx rel;
	struct gate *gate; /* NULL under `check` */
	bool reexec; /* a self-update's trial started: exec after the pass */
	bool dry;    /* `check`: trust anchors are read, never written */
	long timeout_ms;
};

static bool
keeper_self_failed(void *self, const char *version)
{
	return selfup_failed(((struct keeper *)self)->conf, version);
}

static int
keeper_self_update(void *self, const char *version, char *err, size_t errlen)
{
	struct keeper *k = self;

	if (selfup_begin(k->conf, version, err, errlen) != 0)
		return -1;
	k->reexec = true;
	return 0;
}

static int
keeper_gate_set(
    void *gate, const struct gate_config *c, char *err, size_t errlen)
{
	return gate_configure(gate, c, err, errlen);
}

static void
keeper_gate_get(void *gate, const struct gate_config *want, struct gate_view *v)
{
	(void)want;
	gate_view(gate, v);
}

/* `check`: no gate runs; one probe and a look at the interface. */
static void
keeper_gate_once(
    void *gate, const struct gate_config *want, struct gate_view *v)
{
	(void)gate;
	gate_view_once(want, v);
}

/* The gate changed state: wake the loop to report it (gate.h). */
static void
keeper_gate_notify(void *arg)
{
	(void)arg;
	kill(getpid(), SIGUSR1);
}

static void
keeper_env(struct keeper *k, struct step_env *env)
{
	env->root = k->conf->root;
	env->proc_sys = NULL; /* the real one, of our network namespace */
	env->systemd = k->conf->root[0] == '\0' &&
	    access("/run/systemd/system", F_OK) == 0;
	env->now = util_now();
	k->host.dataplane_version = k->d ? k->d->dataplane_version : "";
	k->host.dataplane_rollback = k->d ? k->d->dataplane_rollback : false;
	k->host.dataplane_user = k->conf->dp_user;
	k->host.fetch_release = release_fetch;
	k->host.verify_release = release_verify;
	k->rel.cp = &k->cp;
	k->rel.conf = k->conf;
	k->host.ctx = &k->rel;
	k->host.keeper_version = k->d ? k->d->keeper_version : "";
	k->host.keeper_rollback = k->d ? k->d->keeper_rollback : false;
	k->host.self_failed = keeper_self_failed;
	k->host.self_update = k->gate ? keeper_self_update : NULL;
	k->host.self = k;
	k->host.bgp = k->d ? k->d->bgp : NULL;
	k->host.router_id = k->d ? k->d->router_id : "";
	k->host.drain = k->d ? k->d->drain : false;
	k->host.gate = k->gate;
	k->host.gate_set = k->gate ? keeper_gate_set : NULL;
	k->host.gate_get = k->gate ? keeper_gate_get : keeper_gate_once;
	env->host = &k->host;
}

/* Adopt a validated document; the old one is freed. */
static void
keeper_adopt(struct keeper *k, struct kdesired *d, const char *etag)
{
	struct step_result *res = NULL;

	if (d->nsteps > 0 && (res = calloc(d->nsteps, sizeof(*res))) == NULL) {
		log_warnx("event=adopt_failed msg=\"out of memory\"");
		kdesired_free(d);
		return;
	}
	kdesired_free(k->d);
	free(k->res);
	k->d = d;
	k->res = res;
	k->nres = d->nsteps;
	util_strlcpy(k->etag, etag, sizeof(k->etag));
	if (d->interval_s > 0)
		k->conf->interval_s = d->interval_s;
}

/*
 * The profile high-water mark (T38): a document whose profile is older
 * than the newest this node applied is refused whole, unless it says
 * "rollback": true for its profile, so an edge-cp restored from an old
 * copy cannot take the node's profile back by itself.  true (with err)
 * when refused.
 */
static bool
keeper_profile_refused(
    const struct keeper *k, const struct kdesired *d, char *err, size_t len)
{
	int64_t mark = release_mark(k->conf, "profile");

	if (d->profile_version >= mark || d->profile_rollback)
		return false;
	snprintf(err, len,
	    "profile version %lld is older than the newest applied %lld "
	    "and the desired state does not say rollback",
	    (long long)d->profile_version, (long long)mark);
	return true;
}

/* Adopt and record the profile applied from now on (not under check). */
static void
keeper_take(struct keeper *k, struct kdesired *d, const char *etag)
{
	int64_t pv = d->profile_version;
	char err[256];

	keeper_adopt(k, d, etag);
	if (k->gate != NULL && k->d != NULL &&
	    release_profile_mark(k->conf, pv, err, sizeof(err)) != 0)
		log_warnx("event=profile_mark_failed profile=%lld msg=\"%s\"",
		    (long long)pv, err);
}

/* The last good document from disk, so an outage at start changes nothing. */
static void
keeper_load_saved(struct keeper *k)
{
	char doc[KEEPER_PATH_MAX], etag[KEEPER_PATH_MAX], err[256], tag[96];
	struct kdesired *d;
	char *txt = NULL;
	size_t len;

	keeper_path(k->conf, DESIRED_FILE, doc, sizeof(doc));
	keeper_path(k->conf, ETAG_FILE, etag, sizeof(etag));
	if ((d = kdesired_load(
		 doc, etag, tag, sizeof(tag), err, sizeof(err))) == NULL) {
		if (errno != ENOENT)
			log_warnx(
			    "event=saved_desired_refused msg=\"%s\"", err);
		return;
	}
	if (keeper_profile_refused(k, d, err, sizeof(err))) {
		log_warnx("event=saved_desired_refused msg=\"%s\"", err);
		kdesired_free(d);
		return;
	}
	/*
	 * One saved before documents were signed stays in force, but the
	 * next fetch asks for a whole, signed one (keeper/trust.h).
	 */
	if (afile_read(doc, TRUST_DOC_MAX, &txt, &len) != 0 ||
	    !trust_saved_ok(k->conf, txt, len)) {
		if (tag[0] != '\0')
			log_info("event=saved_desired_unsigned msg=\"fetching "
				 "a signed one\"");
		tag[0] = '\0';
	}
	free(txt);
	keeper_take(k, d, tag);
	log_info("event=saved_desired_loaded profile=%lld etag=%s",
	    (long long)d->profile_version, tag[0] ? "kept" : "none");
}

/*
 * A desired-state answer: its signature checked and the pins it
 * announces stored (keeper/trust.h), then parsed and validated whole.
 * NULL with why in err when refused.
 */
static struct kdesired *
keeper_accept(
    struct keeper *k, const struct httpc_resp *r, char *err, size_t errlen)
{
	char pins[CP_PIN_MAX], why[512];

	if (trust_accept(k->conf, r->body, r->len, r->state_sig, r->state_key,
		!k->dry, pins, sizeof(pins), err, errlen) != 0)
		return NULL;
	/* Edge-cp's next TLS key: the connections from now on accept it. */
	if (!k->dry && pins[0] != '\0' && strcmp(pins, k->cp.id.pin) != 0) {
		if (trust_repin(
			&k->cp, pins, k->timeout_ms, why, sizeof(why)) != 0)
			log_warnx("event=repin_failed msg=\"%s\"", why);
		else {
			util_strlcpy(k->conf->pin, pins, sizeof(k->conf->pin));
			log_info("event=tls_pins_in_force pins=\"%s\"", pins);
		}
	}
	return kdesired_parse(r->body, r->len, err, errlen);
}

static void
keeper_fetch(struct keeper *k)
{
	struct httpc_resp r = { 0 };
	struct kdesired *d;
	char err[512], path[KEEPER_PATH_MAX], epath[KEEPER_PATH_MAX];
	int64_t now = util_now(), wait;

	if (now < k->next_fetch)
		return;
	if (cpclient_request(&k->cp, "GET", "/v1/node/desired", k->etag, NULL,
		0, &r, err, sizeof(err)) != 0 ||
	    (r.status != 200 && r.status != 304)) {
		if (r.status != 0)
			snprintf(err, sizeof(err), "HTTP %ld", r.status);
		if (k->reachable || k->fetch_fails == 0)
			log_warnx("event=cp_unreachable err=\"%s\"", err);
		k->reachable = false;
		k->fetch_fails++;
		/* Capped, jittered: a fleet does not come back in step. */
		wait = k->conf->interval_s
		    << (k->fetch_fails < 4 ? k->fetch_fails : 4);
		if (wait > FETCH_BACKOFF_MAX)
			wait = FETCH_BACKOFF_MAX;
		k->next_fetch = now + wait / 2 +
		    (int64_t)randombytes_uniform((uint32_t)(wait / 2 + 1));
		httpc_resp_clear(&r);
		return;
	}
	if (!k->reachable)
		log_info("event=cp_reachable");
	if (!k->reachable)
		k->report_ok = false; /* report at once */
	k->reachable = true;
	k->fetch_fails = 0;
	k->next_fetch = 0;
	k->last_sync = now;
	if (r.status == 200) {
		d = keeper_accept(k, &r, err, sizeof(err));
		if (d != NULL &&
		    keeper_profile_refused(k, d, err, sizeof(err))) {
			kdesired_free(d);
			d = NULL;
		}
		if (d == NULL) {
			/* Refused whole; the last good one stays in force. */
			log_warnx("event=desired_refused msg=\"%s\"", err);
			util_strlcpy(
			    k->desired_err, err, sizeof(k->desired_err));
		} else {
			k->desired_err[0] = '\0';
			keeper_path(k->conf, DESIRED_FILE, path, sizeof(path));
			keeper_path(k->conf, ETAG_FILE, epath, sizeof(epath));
			if (trust_save_sig(k->conf, r.state_sig) != 0 ||
			    kdesired_save(path, epath, r.body, r.len, r.etag) !=
				0)
				log_warn("event=desired_not_saved");
			log_info("event=desired_adopted profile=%lld steps=%zu",
			    (long long)d->profile_version, d->nsteps);
			keeper_take(k, d, r.etag);
		}
	}
	httpc_resp_clear(&r);
}

/*
 * After a fetch, in `run` only (`check` changes nothing): a release key
 * the desired state names and this node does not pin yet is followed
 * before the pass, so it is in place before a release it signed.
 */
static void
keeper_release_keys(struct keeper *k)
{
	char err[512];

	if (!k->reachable || k->d == NULL)
		return;
	if (release_keys_sync(&k->rel, k->d->release_key, err, sizeof(err)) < 0)
		log_warnx("event=release_key_sync_failed msg=\"%s\"", err);
	if (release_revoked_sync(&k->rel, k->d->revocations, err, sizeof(err)) <
	    0)
		log_warnx("event=release_revoked_sync_failed msg=\"%s\"", err);
}

/* The first step of a kind in the desired state, or NULL. */
static const struct step_inst *
keeper_step(const struct keeper *k, const struct step_kind *kind)
{
	size_t i;

	for (i = 0; k->d != NULL && i < k->nres; i++)
		if (k->d->steps[i].kind == kind)
			return &k->d->steps[i];
	return NULL;
}

/* BIRD's sessions with the POP's neighbours, by neighbour address. */
static json_t *
keeper_bgp_sessions(struct keeper *k)
{
	const struct step_inst *bs = keeper_step(k, &step_bird_config);
	struct birdctl_proto *rows;
	char sock[KEEPER_PATH_MAX], err[256], name[64];
	const json_t *n;
	json_t *out;
	size_t nrows = 0, i, j;

	if (bs == NULL || k->d->bgp == NULL || (out = json_array()) == NULL)
		return NULL;
	keeper_path(k->conf, bird_socket(bs->params), sock, sizeof(sock));
	if ((rows = calloc(64, sizeof(*rows))) == NULL ||
	    birdctl_protocols(sock, rows, 64, &nrows, err, sizeof(err)) != 0)
		nrows = 0;
	json_array_foreach(json_object_get(k->d->bgp, "neighbors"), i, n)
	{
		const char *state = "unknown: BIRD does not answer";

		bird_peer_name(n, name, sizeof(name));
		for (j = 0; j < nrows; j++)
			if (strcmp(rows[j].name, name) == 0)
				state = rows[j].info[0] ? rows[j].info
							: rows[j].state;
		if (nrows > 0 && state[0] == 'u' && strchr(state, ':'))
			state = "not configured";
		json_array_append_new(out,
		    json_pack("{s:s,s:s%}", "neighbor",
			json_string_value(json_object_get(n, "address")),
			"state", state, strnlen(state, 32)));
	}
	free(rows);
	return out;
}

/* The anycast gate's part of the report: announced, drained, health. */
static void
keeper_report_gate(struct keeper *k, json_t *rep, bool *probe_ok)
{
	struct gate_view *v;
	json_t *ann, *flips;
	char txt[NLADDR_TEXT_MAX];
	size_t i;

	*probe_ok = true;
	if (k->gate == NULL || keeper_step(k, &step_anycast) == NULL ||
	    (v = malloc(sizeof(*v))) == NULL)
		return;
	gate_view(k->gate, v);
	if (!v->configured) {
		free(v);
		return;
	}
	*probe_ok = v->healthy;
	ann = json_array();
	flips = json_array();
	for (i = 0; i < v->nannounced; i++) {
		nladdr_format(&v->announced[i], txt, sizeof(txt));
		json_array_append_new(ann, json_string(txt));
	}
	for (i = 0; i < v->nflips; i++)
		json_array_append_new(flips,
		    json_pack("{s:I,s:s,s:s}", "at", (json_int_t)v->flips[i].at,
			"to", gate_state_name(v->flips[i].to), "reason",
			v->flips[i].reason));
	json_object_set_new(rep, "announced", ann);
	json_object_set_new(
	    rep, "drained", json_boolean(v->state == GATE_DRAINED));
	json_object_set_new(rep, "anycast",
	    json_pack("{s:s,s:o}", "state", gate_state_name(v->state), "flips",
		flips));
	free(v);
}

/* The status report (schema/status.schema.json); caller frees. */
static char *
keeper_report(struct keeper *k, size_t *len)
{
	json_t *steps = json_array(), *rep;
	char pv[24] = "", dpv[80] = "";
	bool have_dp = false, dp_up = false, draining = false, probe_ok;
	json_t *sessions;
	size_t i;
	char *txt;

	if (steps == NULL)
		return NULL;
	if (k->d != NULL && k->d->profile_version > 0)
		snprintf(
		    pv, sizeof(pv), "%lld", (long long)k->d->profile_version);
	for (i = 0; k->d != NULL && i < k->nres; i++)
		json_array_append_new(steps,
		    json_pack("{s:s,s:s,s:s,s:s}", "name", k->d->steps[i].name,
			"kind", k->d->steps[i].kind->name, "state",
			step_state_name(k->res[i].state), "reason",
			k->res[i].reason));
	/* A refused document shows as a step of its own. */
	if (k->desired_err[0] != '\0')
		json_array_append_new(steps,
		    json_pack("{s:s,s:s,s:s}", "name", "desired-state", "state",
			"error", "reason", k->desired_err));
	/*
	 * The dataplane as its control socket describes it, once a release
	 * is targeted: before that there is nothing to run, and a profile
	 * with a dataplane step can go out ahead of the first release.
	 */
	for (i = 0; k->d != NULL && i < k->nres; i++)
		if (k->d->steps[i].kind == &step_dataplane) {
			struct step_env env;

			keeper_env(k, &env);
			if (env.host == NULL ||
			    env.host->dataplane_version[0] == '\0')
				break;
			have_dp = true;
			/*
			 * Between a predecessor's exit and its successor
			 * binding the control socket nobody answers for a
			 * moment: ask again within a second before saying
			 * the dataplane is not running.
			 */
			for (int tries = 0; tries < 10; tries++) {
				struct timespec ts = { 0, 100000000 };

				dp_up = step_dataplane_running(
					    k->d->steps[i].params, &env, dpv,
					    sizeof(dpv), &draining) == 0;
				if (dp_up)
					break;
				nanosleep(&ts, NULL);
			}
			break;
		}
	rep =
	    json_pack("{s:s,s:{s:s,s:s,s:s},s:o,s:{s:I,s:I,s:I}}", "generation",
		k->etag, "versions", "profile", pv, "keeper", ef_version,
		"dataplane", dp_up ? dpv : "", "steps", steps, "admitted",
		"dataplane", (json_int_t)release_mark(k->conf, "dataplane"),
		"keeper", (json_int_t)release_mark(k->conf, "keeper"),
		"profile", (json_int_t)release_mark(k->conf, "profile"));
	if (rep == NULL)
		return NULL;
	keeper_report_gate(k, rep, &probe_ok);
	if ((sessions = keeper_bgp_sessions(k)) != NULL)
		json_object_set_new(rep, "bgp_sessions", sessions);
	/*
	 * Healthy: running and not draining as its control socket says, and
	 * answering the anycast gate's probe where one runs.
	 */
	if (have_dp)
		json_object_set_new(rep, "dataplane",
		    json_pack("{s:b,s:s,s:s}", "healthy",
			dp_up && !draining && probe_ok, "version",
			dp_up ? dpv : "", "reason",
			!dp_up          ? "not running"
			    : draining  ? "draining"
			    : !probe_ok ? "does not answer the health probe"
					: ""));
	txt = json_dump_canonical(rep, len);
	json_decref(rep);
	return txt;
}

static void
keeper_send_report(struct keeper *k, const char *txt, size_t len)
{
	struct httpc_resp r = { 0 };
	unsigned char h[32];
	char err[512];
	int64_t now = util_now();

	crypto_generichash(
	    h, sizeof(h), (const unsigned char *)txt, len, NULL, 0);
	if (k->report_ok && memcmp(h, k->report_hash, sizeof(h)) == 0 &&
	    now - k->last_report < FULL_REPORT_S)
		return;
	if (!k->reachable)
		return;
	if (cpclient_request(&k->cp, "POST", "/v1/node/status", NULL, txt, len,
		&r, err, sizeof(err)) == 0 &&
	    r.status == 200) {
		memcpy(k->report_hash, h, sizeof(h));
		k->report_ok = true;
		k->last_report = now;
		/* A keeper on trial has shown it works: keep it. */
		selfup_commit(k->conf);
	} else {
		log_warnx("event=report_failed status=%ld err=\"%s\"", r.status,
		    r.status ? r.body : err);
		k->report_ok = false;
	}
	httpc_resp_clear(&r);
}

/* last-pass.json for `edge-keeper status`, written only on change. */
static void
keeper_save_pass(struct keeper *k, const char *report, size_t len)
{
	char path[KEEPER_PATH_MAX], *txt;
	unsigned char h[32];
	json_t *o;

	o = json_pack("{s:s,s:b,s:s,s:s%}", "node_id", k->conf->node_id,
	    "cp_reachable", k->reachable, "server", k->conf->server, "report",
	    report, len);
	if (o == NULL || (txt = json_dumps(o, JSON_INDENT(1))) == NULL) {
		json_decref(o);
		return;
	}
	json_decref(o);
	crypto_generichash(
	    h, sizeof(h), (unsigned char *)txt, strlen(txt), NULL, 0);
	if (memcmp(h, k->pass_hash, sizeof(h)) != 0) {
		keeper_path(k->conf, PASS_FILE, path, sizeof(path));
		if (afile_write(path, txt, strlen(txt), 0600) == 0)
			memcpy(k->pass_hash, h, sizeof(h));
	}
	free(txt);
}

/* The anycast gate's state and what it announces, for /metrics. */
static size_t
keeper_metrics_gate(const struct keeper *k, char *buf, size_t len)
{
	struct gate_view *v;
	char txt[NLADDR_TEXT_MAX];
	size_t n = 0, i;
	int w;

	if (k->gate == NULL || len == 0 || (v = malloc(sizeof(*v))) == NULL)
		return 0;
	gate_view(k->gate, v);
	if (v->configured) {
		w = snprintf(buf, len,
		    "# TYPE edgekeeper_anycast_healthy gauge\n"
		    "edgekeeper_anycast_healthy %d\n"
		    "# TYPE edgekeeper_anycast_state gauge\n"
		    "edgekeeper_anycast_state{state=\"%s\"} 1\n"
		    "# TYPE edgekeeper_anycast_announced gauge\n",
		    v->healthy ? 1 : 0, gate_state_name(v->state));
		n = w > 0 ? (size_t)w : 0;
		for (i = 0; i < v->nannounced && n < len; i++) {
			nladdr_format(&v->announced[i], txt, sizeof(txt));
			w = snprintf(buf + n, len - n,
			    "edgekeeper_anycast_announced{prefix=\"%s\"} 1\n",
			    txt);
			n += w > 0 ? (size_t)w : 0;
		}
	}
	free(v);
	return n < len ? n : len - 1;
}

static void
keeper_metrics(const struct keeper *k)
{
	char buf[16384];
	size_t i, n = 0;
	int w;
	int64_t age = k->last_sync ? util_now() - k->last_sync : -1;

	w = snprintf(buf, sizeof(buf),
	    "# TYPE edgekeeper_passes_total counter\n"
	    "edgekeeper_passes_total %llu\n"
	    "# TYPE edgekeeper_reconcile_seconds gauge\n"
	    "edgekeeper_reconcile_seconds %.6f\n"
	    "# TYPE edgekeeper_cp_reachable gauge\n"
	    "edgekeeper_cp_reachable %d\n"
	    "# TYPE edgekeeper_last_sync_age_seconds gauge\n"
	    "edgekeeper_last_sync_age_seconds %lld\n"
	    "# TYPE edgekeeper_profile_version gauge\n"
	    "edgekeeper_profile_version %lld\n"
	    "# TYPE edgekeeper_step_state gauge\n",
	    (unsigned long long)k->passes, k->last_pass_ms / 1000.0,
	    k->reachable ? 1 : 0, (long long)age,
	    (long long)(k->d ? k->d->profile_version : 0));
	n = w > 0 ? (size_t)w : 0;
	n += keeper_metrics_gate(k, buf + n, sizeof(buf) - n);
	for (i = 0; k->d != NULL && i < k->nres && n < sizeof(buf); i++) {
		w = snprintf(buf + n, sizeof(buf) - n,
		    "edgekeeper_step_state{step=\"%s\",state=\"%s\"} 1\n",
		    k->d->steps[i].name, step_state_name(k->res[i].state));
		n += w > 0 ? (size_t)w : 0;
	}
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	kmetrics_publish(buf, n);
}

static void
keeper_pass(struct keeper *k, bool dry_run)
{
	struct step_env env;
	uint64_t t0 = util_mono_ns();

	if (k->d == NULL)
		return;
	keeper_env(k, &env);
	reconcile_pass(k->d, &env, dry_run, &k->bo, k->res, &k->stats);
	k->passes++;
	k->last_pass_ms = (double)(util_mono_ns() - t0) / 1e6;
}

static struct release_ctx *keeper_launch_ctx;

static int
keeper_launch_verify(
    const char *path, const char *version, char *err, size_t errlen)
{
	return release_verify(
	    keeper_launch_ctx, "keeper", version, path, true, err, errlen);
}

/*
 * One `run` per node: a second would apply, report and move the anycast
 * gate over the first.  An exclusive flock on LOCK_FILE, which holds the
 * holder's pid for the message; the privileged part keeps it for its
 * life.  Close-on-exec: a self-update's exec in place lets it go and the
 * new image takes it again at once, and so does the watchdog's exec of
 * the previous version after it killed the failed one.  -1 with err.
 */
static int run_lock_fd = -1;

static int
keeper_lock(const struct keeper_conf *conf, char *err, size_t errlen)
{
	char path[KEEPER_PATH_MAX], pid[24] = "";
	ssize_t n;
	int fd;

	keeper_path(conf, LOCK_FILE, path, sizeof(path));
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) <
	    0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		if ((n = pread(fd, pid, sizeof(pid) - 1, 0)) > 0)
			pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errlen, "%s: %s", path,
		    e == EWOULDBLOCK ? "another edge-keeper run holds it"
				     : strerror(e));
		if (e == EWOULDBLOCK && pid[0] != '\0')
			snprintf(err + strlen(err), errlen - strlen(err),
			    " (pid %s)", pid);
		close(fd);
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn("event=lock_write path=%s", path);
	run_lock_fd = fd;
	return 0;
}

/*
 * Open the client from keeper.conf and node.key.  For `run` (daemon):
 * first the version this node last committed to (after a reboot), then
 * the split into the privileged part and the unprivileged one that goes
 * on here without the key (keeper/privsep.h).
 */
static int
keeper_open(
    struct keeper *k, struct keeper_conf *conf, long timeout_ms, bool daemon)
{
	char err[KEEPER_PATH_MAX + 128];

	memset(k, 0, sizeof(*k));
	k->conf = conf;
	k->dry = !daemon;
	k->timeout_ms = timeout_ms;
	if (keeper_conf_load(conf, err, sizeof(err)) != 0 ||
	    keeper_key_load(conf, k->cp.id.sk, err, sizeof(err)) != 0) {
		fprintf(stderr, "edge-keeper: %s%s\n", err,
		    errno == ENOENT ? " (not enrolled?)" : "");
		return -1;
	}
	if (daemon) {
		if (keeper_lock(conf, err, sizeof(err)) != 0) {
			fprintf(stderr, "edge-keeper: %s\n", err);
			return -1;
		}
		keeper_sweep(conf);
		k->rel.conf = conf;
		keeper_launch_ctx = &k->rel;
		selfup_launch(conf, keeper_launch_verify);
		if (privsep_start(conf, k->cp.id.sk, err, sizeof(err)) != 0) {
			fprintf(stderr, "edge-keeper: %s\n", err);
			return -1;
		}
		/* The unprivileged part: neither the key nor the lock. */
		if (priv_client_fd() >= 0) {
			sodium_memzero(k->cp.id.sk, sizeof(k->cp.id.sk));
			close(run_lock_fd);
			run_lock_fd = -1;
		}
	}
	util_strlcpy(k->cp.id.server, conf->server, sizeof(k->cp.id.server));
	util_strlcpy(k->cp.id.pin, conf->pin, sizeof(k->cp.id.pin));
	util_strlcpy(k->cp.id.node_id, conf->node_id, sizeof(k->cp.id.node_id));
	if (conf->tool_path[0] != '\0')
		exec_set_path(conf->tool_path);
	if (cpclient_open(&k->cp, timeout_ms, err, sizeof(err)) != 0) {
		fprintf(stderr, "edge-keeper: %s\n", err);
		return -1;
	}
	return 0;
}

static void
keeper_close(struct keeper *k)
{
	cpclient_close(&k->cp);
	kdesired_free(k->d);
	free(k->res);
}

int
keeper_run_main(struct keeper_conf *conf, int argc, char **argv)
{
	struct keeper k;
	char err[256], path[KEEPER_PATH_MAX], *rep;
	uint64_t next = 0, now;
	sigset_t set;
	size_t len;
	int sig = 0;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: edge-keeper [--root DIR] run\n");
		return 2;
	}
	if (keeper_open(&k, conf, 10000, true) != 0)
		return 1;
	k.rel.cp = &k.cp;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1); /* the anycast gate changed state */
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* Threads started from here on inherit the mask. */
	if (strcmp(conf->metrics, "off") != 0 &&
	    kmetrics_start(conf->metrics, err, sizeof(err)) != 0)
		log_warnx("event=metrics_off msg=\"%s\"", err);
	keeper_path(conf, GATE_FILE, path, sizeof(path));
	if ((k.gate = gate_start(
		 path, keeper_gate_notify, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "edge-keeper: anycast gate: %s\n", err);
		keeper_close(&k);
		return 1;
	}
	keeper_load_saved(&k);
	log_info("event=started node=%s server=%s interval_s=%lld",
	    conf->node_id, conf->server, (long long)conf->interval_s);
	while (sig != SIGTERM && sig != SIGINT) {
		struct timespec ts;
		int64_t ms;

		if (sig != SIGUSR1) {
			keeper_fetch(&k);
			keeper_release_keys(&k);
			keeper_pass(&k, false);
			/* interval ± 10 %, so a fleet spreads its check-ins. */
			ms = conf->interval_s * 900 +
			    (int64_t)randombytes_uniform(
				(uint32_t)(conf->interval_s * 200 + 1));
			next = util_mono_ns() + (uint64_t)ms * 1000000;
		}
		/*
		 * A gate flip is reported at once, without a pass.  A pass
		 * that started a self-update is not: its keeper_self step
		 * still differs until the exec, and the new keeper's first
		 * report is the one that counts.
		 */
		if (!k.reexec && (rep = keeper_report(&k, &len)) != NULL) {
			keeper_send_report(&k, rep, len);
			keeper_save_pass(&k, rep, len);
			free(rep);
		}
		keeper_metrics(&k);
		if (k.reexec) {
			/* The addresses and the dataplane stay as they are. */
			log_info("event=keeper_reexec");
			gate_stop(k.gate);
			k.gate = NULL;
			kmetrics_stop();
			/* Split: the privileged part execs once this exits. */
			if (priv_client_fd() < 0)
				selfup_exec(conf);
			break; /* exec failed: the watchdog goes back */
		}
		now = util_mono_ns();
		ms = next > now ? (int64_t)((next - now) / 1000000) : 0;
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (ms % 1000) * 1000000;
		sig = sigtimedwait(&set, NULL, &ts);
	}
	log_info("event=stopping signal=%d", sig);
	/* The addresses stay: the dataplane serves without the keeper. */
	gate_stop(k.gate);
	k.gate = NULL;
	kmetrics_stop();
	keeper_close(&k);
	return 0;
}

static void
print_results(const struct keeper *k)
{
	size_t i;

	printf("%-24s %-12s %-14s %s\n", "STEP", "KIND", "STATE", "REASON");
	for (i = 0; i < k->nres; i++)
		printf("%-24s %-12s %-14s %s\n", k->d->steps[i].name,
		    k->d->steps[i].kind->name, step_state_name(k->res[i].state),
		    k->res[i].reason[0] ? k->res[i].reason : "-");
}

int
keeper_check_main(struct keeper_conf *conf, int argc, char **argv)
{
	struct keeper k;
	int rc;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: edge-keeper [--root DIR] check\n");
		return 2;
	}
	if (keeper_open(&k, conf, 5000, false) != 0)
		return 1;
	/* The newest desired state if edge-cp answers, else the saved one. */
	keeper_load_saved(&k);
	k.etag[0] = '\0';
	keeper_fetch(&k);
	if (k.d == NULL) {
		fprintf(stderr,
		    "edge-keeper: no desired state (edge-cp %s, "
		    "nothing saved)\n",
		    k.reachable ? "reachable" : "unreachable");
		keeper_close(&k);
		return 1;
	}
	if (k.desired_err[0] != '\0')
		printf("edge-cp's newest desired state is refused: %s\n",
		    k.desired_err);
	keeper_pass(&k, true);
	printf("profile %lld, %s\n", (long long)k.d->profile_version,
	    k.reachable ? "from edge-cp" : "saved (edge-cp unreachable)");
	print_results(&k);
	rc = k.stats.error > 0 ? 1 : k.stats.needs_change > 0 ? 3 : 0;
	keeper_close(&k);
	return rc;
}

/* The anycast gate and BIRD's sessions, as the last report has them. */
static void
keeper_status_bgp(const json_t *rep)
{
	const json_t *a = json_object_get(rep, "anycast"), *v;
	size_t i;

	if (a != NULL) {
		printf("\nanycast     %s:",
		    json_string_value(json_object_get(a, "state")));
		json_array_foreach(json_object_get(rep, "announced"), i, v)
		    printf(" %s", json_string_value(v));
		printf("\n");
		json_array_foreach(json_object_get(a, "flips"), i, v)
		{
			const char *r =
			    json_string_value(json_object_get(v, "reason"));

			printf("  %lld  %-10s %s\n",
			    (long long)json_integer_value(
				json_object_get(v, "at")),
			    json_string_value(json_object_get(v, "to")),
			    r ? r : "");
		}
	}
	json_array_foreach(json_object_get(rep, "bgp_sessions"), i, v)
	    printf("bgp         %s %s\n",
		json_string_value(json_object_get(v, "neighbor")),
		json_string_value(json_object_get(v, "state")));
}

int
keeper_status_main(struct keeper_conf *conf, int argc, char **argv)
{
	char path[KEEPER_PATH_MAX], err[256], *txt = NULL;
	json_t *o = NULL, *rep = NULL, *st;
	const char *s;
	size_t len, i;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: edge-keeper [--root DIR] status\n");
		return 2;
	}
	keeper_path(conf, PASS_FILE, path, sizeof(path));
	if (afile_read(path, 1u << 20, &txt, &len) != 0 ||
	    json_parse_strict(txt, len, 1u << 20, JSON_DEFAULT_DEPTH, &o, err,
		sizeof(err)) != 0 ||
	    (s = json_string_value(json_object_get(o, "report"))) == NULL ||
	    (rep = json_loads(s, 0, NULL)) == NULL) {
		fprintf(
		    stderr, "edge-keeper: no pass recorded yet (%s)\n", path);
		free(txt);
		json_decref(o);
		return 1;
	}
	printf("node        %s\nedge-cp     %s (%s)\ngeneration  %s\n"
	       "profile     %s\nkeeper      %s\n\n",
	    json_string_value(json_object_get(o, "node_id")),
	    json_string_value(json_object_get(o, "server")),
	    json_is_true(json_object_get(o, "cp_reachable")) ? "reachable"
							     : "unreachable",
	    json_string_value(json_object_get(rep, "generation")),
	    json_string_value(
		json_object_get(json_object_get(rep, "versions"), "profile")),
	    json_string_value(
		json_object_get(json_object_get(rep, "versions"), "keeper")));
	printf("%-24s %-12s %-14s %s\n", "STEP", "KIND", "STATE", "REASON");
	json_array_foreach(json_object_get(rep, "steps"), i, st)
	{
		const char *reason =
		    json_string_value(json_object_get(st, "reason"));

		printf("%-24s %-12s %-14s %s\n",
		    json_string_value(json_object_get(st, "name")),
		    json_string_value(json_object_get(st, "kind"))
			? json_string_value(json_object_get(st, "kind"))
			: "-",
		    json_string_value(json_object_get(st, "state")),
		    reason && reason[0] ? reason : "-");
	}
	keeper_status_bgp(rep);
	free(txt);
	json_decref(o);
	json_decref(rep);
	return 0;
}
