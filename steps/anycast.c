/*
 * anycast {probe?, interface?, interval_ms?, timeout_ms?, rise?, fall?,
 * min_up_ms?, min_down_ms?}: the POP's anycast prefixes on an interface
 * while, and only while, the dataplane is healthy (SPEC §6).
 *
 * The step itself changes no address: the keeper's anycast gate
 * (keeper/gate.h) does, on its own 250 ms timer.  The step hands the gate
 * its configuration (the prefixes from the POP's "bgp" section, the drain
 * flag and drain_s from the desired state, the probe and its hysteresis
 * from these params) and reports where the gate stands.  So a health
 * flip is not a step change, and a gate that withdrew because the
 * dataplane is down is doing its job: the step is in_sync, with the state
 * as its reason; the dataplane's health is reported on its own.
 *
 * Defaults: probe http://127.0.0.1/healthz (edge-dp's health endpoint;
 * an IP literal, never a name that needs DNS, and never one of the
 * anycast addresses, which would probe the fleet instead of this node),
 * interface lo, interval_ms 250, timeout_ms 200, rise 5, fall 3,
 * min_up_ms 0, min_down_ms 5000.
 *
 * Under `edge-keeper check` there is no gate: the keeper probes once and
 * compares the interface with what that probe says it should hold.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/util.h"
#include "steps/kinds.h"

#define ANYCAST_HOST_MAX 64

struct anycast_params {
	char probe[GATE_PROBE_MAX];
	char host[ANYCAST_HOST_MAX]; /* the probe's address, canonical */
	char iface[IF_NAMESIZE];
	int interval_ms, timeout_ms, rise, fall, min_up_ms, min_down_ms;
};

/* http://ADDR[:PORT]/PATH with ADDR an IPv4 literal or [IPv6]. */
static int
anycast_probe_host(const char *url, char *host, size_t len)
{
	const char *h, *end;
	char buf[ANYCAST_HOST_MAX];
	unsigned char bin[16];
	size_t n;
	int af;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	h = url + 7;
	if (*h == '[') {
		h++;
		if ((end = strchr(h, ']')) == NULL)
			return -1;
		af = AF_INET6;
	} else {
		end = h + strcspn(h, ":/");
		af = AF_INET;
	}
	if ((n = (size_t)(end - h)) == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, h, n);
	buf[n] = '\0';
	if (inet_pton(af, buf, bin) != 1 ||
	    inet_ntop(af, bin, host, (socklen_t)len) == NULL)
		return -1;
	for (h = url; *h != '\0'; h++)
		if ((unsigned char)*h <= ' ' || *h == 0x7f)
			return -1;
	return 0;
}

static int
anycast_parse(const json_t *params, void **out, char *err, size_t errlen)
{
	static const char *const keys[] = { "probe", "interface", "interval_ms",
		"timeout_ms", "rise", "fall", "min_up_ms", "min_down_ms",
		NULL };
	const char *probe = "http://127.0.0.1/healthz", *iface = "lo";
	int64_t interval = 250, timeout = 200, rise = 5, fall = 3, up = 0,
		down = 5000;
	struct anycast_params *p;
	char host[ANYCAST_HOST_MAX];

	*out = NULL;
	if (jfield_only(params, keys, err, errlen) != 0 ||
	    jfield_str(params, "probe", false, GATE_PROBE_MAX - 1, &probe, err,
		errlen) != 0 ||
	    jfield_str(params, "interface", false, IF_NAMESIZE - 1, &iface, err,
		errlen) != 0 ||
	    jfield_int(params, "interval_ms", false, 50, 10000, &interval, err,
		errlen) != 0 ||
	    jfield_int(params, "timeout_ms", false, 10, 10000, &timeout, err,
		errlen) != 0 ||
	    jfield_int(params, "rise", false, 1, 100, &rise, err, errlen) !=
		0 ||
	    jfield_int(params, "fall", false, 1, 100, &fall, err, errlen) !=
		0 ||
	    jfield_int(
		params, "min_up_ms", false, 0, 600000, &up, err, errlen) != 0 ||
	    jfield_int(params, "min_down_ms", false, 0, 600000, &down, err,
		errlen) != 0)
		return -1;
	if (anycast_probe_host(probe, host, sizeof(host)) != 0) {
		snprintf(err, errlen,
		    "probe: must be http://ADDRESS[:PORT]/PATH with an IP "
		    "address");
		return -1;
	}
	if (iface[0] == '\0' || strpbrk(iface, "/ \t\n") != NULL) {
		snprintf(err, errlen, "interface: not an interface name");
		return -1;
	}
	if (timeout > interval) {
		snprintf(err, errlen, "timeout_ms: at most interval_ms");
		return -1;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	util_strlcpy(p->probe, probe, sizeof(p->probe));
	util_strlcpy(p->host, host, sizeof(p->host));
	util_strlcpy(p->iface, iface, sizeof(p->iface));
	p->interval_ms = (int)interval;
	p->timeout_ms = (int)timeout;
	p->rise = (int)rise;
	p->fall = (int)fall;
	p->min_up_ms = (int)up;
	p->min_down_ms = (int)down;
	*out = p;
	return 0;
}

/* The gate's configuration on this host; -1 with res set. */
static int
anycast_config(const struct anycast_params *p, const struct step_env *env,
    struct gate_config *c, struct step_result *res)
{
	const struct step_host *h = env->host;
	const json_t *bgp = h ? h->bgp : NULL, *a;
	size_t i;

	memset(c, 0, sizeof(*c)); /* compared with memcmp: no stray bytes */
	if (h == NULL) {
		step_set(res, STEP_ERROR, "no desired state");
		return -1;
	}
	/* The probe's address as bytes: text compares miss "2001:0db8::a". */
	char ptext[ANYCAST_HOST_MAX + 8];
	struct nladdr probe;

	snprintf(ptext, sizeof(ptext), "%s/%s", p->host,
	    strchr(p->host, ':') ? "128" : "32");
	if (nladdr_parse(ptext, &probe) != 0) {
		step_set(res, STEP_ERROR, "probe %s refused", p->probe);
		return -1;
	}
	json_array_foreach(json_object_get(bgp, "anycast"), i, a)
	{
		const char *pfx =
		    json_string_value(json_object_get(a, "prefix"));
		const struct nladdr *an = &c->prefixes[c->nprefixes];

		if (c->nprefixes == GATE_MAX_PREFIXES ||
		    nladdr_parse(pfx, &c->prefixes[c->nprefixes]) != 0) {
			step_set(
			    res, STEP_ERROR, "anycast prefix %s refused", pfx);
			return -1;
		}
		if (an->family == probe.family &&
		    memcmp(an->addr, probe.addr,
			an->family == AF_INET ? 4 : 16) == 0) {
			step_set(res, STEP_ERROR,
			    "probe %s is an anycast address: it would probe "
			    "the fleet, not this node",
			    p->probe);
			return -1;
		}
		c->nprefixes++;
	}
	util_strlcpy(c->ifname, p->iface, sizeof(c->ifname));
	util_strlcpy(c->probe, p->probe, sizeof(c->probe));
	c->interval_ms = p->interval_ms;
	c->timeout_ms = p->timeout_ms;
	c->rise = p->rise;
	c->fall = p->fall;
	c->min_up_ms = p->min_up_ms;
	c->min_down_ms = p->min_down_ms;
	c->drain = h->drain;
	c->drain_s = (int)json_integer_value(
	    json_object_get(json_object_get(bgp, "drain"), "drain_s"));
	return 0;
}

/* Where the gate stands, as the step's reason (no counters or clocks). */
static void
anycast_report(const struct gate_view *v, struct step_result *res)
{
	if (v->addr_err[0] != '\0') {
		step_set(res, STEP_ERROR, "%s", v->addr_err);
		return;
	}
	switch (v->state) {
	case GATE_ANNOUNCED:
		step_set(res, STEP_IN_SYNC, "announced");
		break;
	case GATE_WITHDRAWN:
		step_set(res, STEP_IN_SYNC, "withdrawn: %s",
		    v->healthy ? "dataplane healthy, waiting out the hold"
			       : "dataplane not healthy");
		break;
	case GATE_DRAINING:
		step_set(res, STEP_IN_SYNC,
		    "draining: announced with the drain policy until drain_s "
		    "passes");
		break;
	case GATE_DRAINED:
		step_set(res, STEP_IN_SYNC, "drained: withdrawn");
		break;
	}
}

static void
anycast_check(
    const void *params, const struct step_env *env, struct step_result *res)
{
	const struct anycast_params *p = params;
	struct gate_config c;
	struct gate_view *v;

	if (anycast_config(p, env, &c, res) != 0)
		return;
	if (env->host->gate_get == NULL) {
		step_set(res, STEP_ERROR, "no anycast gate on this host");
		return;
	}
	if ((v = malloc(sizeof(*v))) == NULL) {
		step_set(res, STEP_ERROR, "out of memory");
		return;
	}
	env->host->gate_get(env->host->gate, &c, v);
	if (!v->configured || !gate_config_equal(&v->config, &c))
		step_set(res, STEP_NEEDS_CHANGE, "the gate has %s",
		    v->configured ? "another configuration"
				  : "no configuration yet");
	else if (v->pending)
		step_set(res, STEP_NEEDS_CHANGE, "%s", v->pending_why);
	else
		anycast_report(v, res);
	free(v);
}

static int
anycast_apply(
    const void *params, const struct step_env *env, struct step_result *res)
{
	struct gate_config c;
	char err[256];

	if (anycast_config(params, env, &c, res) != 0)
		return -1;
	if (env->host->gate_set == NULL) {
		step_set(res, STEP_ERROR,
		    "the anycast gate runs in `edge-keeper run` only");
		return -1;
	}
	if (env->host->gate_set(env->host->gate, &c, err, sizeof(err)) != 0) {
		step_set(res, STEP_ERROR, "%s", err);
		return -1;
	}
	return 0;
}

const struct step_kind step_anycast = {
	.name = "anycast",
	.parse = anycast_parse,
	.free_params = free,
	.check = anycast_check,
	.apply = anycast_apply,
	.retry_s = 5,
};
