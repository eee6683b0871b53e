/*
 * `edge-keeper enroll`: make this node's key, register it with edge-cp
 * with a one-time token, and write what the daemon needs.
 *
 * The pin is checked in the TLS handshake, before a byte of HTTP is sent,
 * so a wrong pin or a fake edge-cp never sees the token.  Order of writes:
 * state.pub, node.key, release.pub, then keeper.conf last (the commit
 * point).  An enrolled node (keeper.conf present) is left alone: running
 * the bootstrap line twice changes nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/json.h"
#include "common/minisign.h"
#include "common/statesig.h"
#include "common/util.h"
#include "common/version.h"
#include "keeper/keeper.h"
#include "keeper/trust.h"

/* Retries of an enrollment edge-cp refused as too busy (429, 503). */
#define ENROLL_RETRIES 5
#define ENROLL_RETRY_MAX_S 30

/*
 * The node's own IPv4 address for BGP's router id: the lowest global one
 * on an interface that is up and not loopback (link-local and loopback
 * addresses are not unique; anycast ones live on lo).  "" when none.
 */
static void
enroll_router_id(char *out, size_t len)
{
	struct ifaddrs *ifa, *i;
	uint32_t best = 0, a;

	out[0] = '\0';
	if (getifaddrs(&ifa) != 0)
		return;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
		    (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
			continue;
		a = ntohl(((struct sockaddr_in *)(void *)i->ifa_addr)
			      ->sin_addr.s_addr);
		if ((a >> 24) == 127 || (a >> 16) == 0xa9fe || a == 0)
			continue;
		if (best == 0 || a < best)
			best = a;
	}
	freeifaddrs(ifa);
	if (best != 0) {
		struct in_addr in = { htonl(best) };

		inet_ntop(AF_INET, &in, out, (socklen_t)len);
	}
}

static json_t *
enroll_facts(const char *hostname, const char *router_id)
{
	struct utsname u;
	char rid[INET_ADDRSTRLEN];
	json_t *f = json_pack(
	    "{s:s,s:s}", "hostname", hostname, "keeper_version", ef_version);

	if (f != NULL && uname(&u) == 0) {
		json_object_set_new(f, "kernel", json_string(u.release));
		json_object_set_new(f, "machine", json_string(u.machine));
	}
	if (router_id == NULL) {
		enroll_router_id(rid, sizeof(rid));
		router_id = rid;
	}
	if (f != NULL && router_id[0] != '\0')
		json_object_set_new(f, "router_id", json_string(router_id));
	return f;
}

int
keeper_enroll_save(const struct keeper_conf *conf,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES], const char *rkey,
    char *err, size_t errlen)
{
	char path[KEEPER_PATH_MAX];

	keeper_path(
	    conf, "/var/lib/edge-keeper/release.pub", path, sizeof(path));
	if (keeper_key_save(conf, sk, err, errlen) != 0)
		return -1;
	if (afile_write(path, rkey, strlen(rkey), 0644) != 0) {
		snprintf(err, errlen, "%.400s: %s", path, strerror(errno));
		return -1;
	}
	return keeper_conf_save(conf, err, errlen);
}

int
keeper_enroll_main(struct keeper_conf *conf, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "pin", required_argument, NULL, 'p' },
		{ "token", required_argument, NULL, 't' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "router-id", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *server = NULL, *pin = NULL, *token = NULL, *rid = NULL;
	unsigned char bin[4];
	char host[256] = "", err[512];
	struct keeper_conf have;
	struct cpclient c;
	struct httpc_resp resp = { 0 };
	struct msig_pub rpub;
	json_t *facts = NULL, *rep = NULL;
	const char *id = NULL, *rkey = NULL, *skey = NULL;
	long wait_s;
	int ch, ret = 1, rc, tries;

	memset(&c, 0, sizeof(c));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			server = optarg;
			break;
		case 'p':
			pin = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'H':
			util_strlcpy(host, optarg, sizeof(host));
			break;
		case 'r':
			rid = optarg;
			break;
		default:
			goto usage;
		}
	}
	/*
	 * The token on the command line is visible to every local user
	 * (ps); EDGE_TOKEN in the environment is not (/proc/PID/environ is
	 * the owner's), and that is how the bootstrap script passes it.
	 */
	if (token == NULL && (token = getenv("EDGE_TOKEN")) != NULL &&
	    token[0] == '\0')
		token = NULL;
	if (server == NULL || pin == NULL || token == NULL || optind != argc)
		goto usage;
	if (rid != NULL && inet_pton(AF_INET, rid, bin) != 1) {
		fprintf(stderr,
		    "edge-keeper: --router-id: not an IPv4 "
		    "address\n");
		return 2;
	}
	if (strncmp(server, "https://", 8) != 0 ||
	    strncmp(pin, "sha256//", 8) != 0) {
		fprintf(stderr,
		    "edge-keeper: --server must be https:// and "
		    "--pin sha256//...\n");
		return 2;
	}
	have = *conf;
	if (keeper_conf_load(&have, err, sizeof(err)) == 0) {
		printf("edge-keeper: already enrolled as %s with %s; nothing "
		       "to do\n",
		    have.node_id, have.server);
		return 0;
	}
	if (errno != ENOENT) {
		fprintf(stderr, "edge-keeper: %s\n", err);
		return 1;
	}
	if (host[0] == '\0' && gethostname(host, sizeof(host)) != 0)
		util_strlcpy(host, "node", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	if (keeper_dirs(conf, err, sizeof(err)) != 0)
		goto fail;
	keeper_sweep(conf);
	if (util_strlcpy(c.id.server, server, sizeof(c.id.server)) >=
		sizeof(c.id.server) ||
	    util_strlcpy(c.id.pin, pin, sizeof(c.id.pin)) >= sizeof(c.id.pin)) {
		snprintf(err, sizeof(err), "server or pin too long");
		goto fail;
	}
	if (cpclient_open(&c, 30000, err, sizeof(err)) != 0 ||
	    (facts = enroll_facts(host, rid)) == NULL)
		goto fail;
	/*
	 * A refused rate (429) or a busy edge-cp (503) is worth waiting for:
	 * a whole POP reinstalled at once may meet the per-address limit.
	 * At most ENROLL_RETRIES more tries, as long as edge-cp says
	 * (Retry-After), up to ENROLL_RETRY_MAX_S each.
	 */
	for (tries = 0;; tries++) {
		rc = cpclient_enroll(
		    &c, token, host, facts, false, &resp, err, sizeof(err));
		if (rc == 0 || tries == ENROLL_RETRIES ||
		    (resp.status != 429 && resp.status != 503))
			break;
		wait_s = resp.retry_after > 0 ? resp.retry_after : 2;
		if (wait_s > ENROLL_RETRY_MAX_S)
			wait_s = ENROLL_RETRY_MAX_S;
		fprintf(stderr,
		    "edge-keeper: edge-cp is busy (HTTP %ld); trying again in "
		    "%ld s\n",
		    resp.status, wait_s);
		httpc_resp_clear(&resp);
		sleep((unsigned)wait_s);
	}
	if (rc != 0) {
		char code[64];

		cpclient_error_code(&resp, code, sizeof(code));
		if (code[0] != '\0')
			snprintf(err, sizeof(err),
			    "edge-cp refused: %s (HTTP "
			    "%ld)",
			    code, resp.status);
		goto fail;
	}
	if (json_parse_strict(resp.body, resp.len, CPCLIENT_RESP_MAX,
		JSON_DEFAULT_DEPTH, &rep, err, sizeof(err)) != 0 ||
	    jfield_str(rep, "node_id", true, CP_ID_MAX - 1, &id, err,
		sizeof(err)) != 0 ||
	    jfield_str(rep, "release_public_key", true, 1024, &rkey, err,
		sizeof(err)) != 0 ||
	    msig_pub_decode(rkey, &rpub, err, sizeof(err)) != 0 ||
	    jfield_str(rep, "state_public_key", false,
		STATESIG_PUB_TEXT_MAX - 1, &skey, err, sizeof(err)) != 0)
		goto fail;
	util_strlcpy(conf->server, server, sizeof(conf->server));
	util_strlcpy(conf->pin, pin, sizeof(conf->pin));
	util_strlcpy(conf->node_id, id, sizeof(conf->node_id));
	if (conf->interval_s == 0)
		conf->interval_s = 5;
	if (conf->metrics[0] == '\0')
		util_strlcpy(
		    conf->metrics, "127.0.0.1:9464", sizeof(conf->metrics));
	/*
	 * The state key before keeper.conf, the commit point.  An edge-cp
	 * that does not sign yet sends none: the node learns it once later
	 * (keeper/trust.h).
	 */
	if ((skey != NULL &&
		trust_save_key(conf, skey, err, sizeof(err)) != 0) ||
	    keeper_enroll_save(conf, c.id.sk, rkey, err, sizeof(err)) != 0)
		goto fail;
	printf("edge-keeper: enrolled as %s\n", conf->node_id);
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "edge-keeper: enroll: %s\n", err);
out:
	cpclient_close(&c);
	json_decref(facts);
	json_decref(rep);
	httpc_resp_clear(&resp);
	return ret;
usage:
	fprintf(stderr,
	    "usage: edge-keeper [--root DIR] enroll --server URL "
	    "--pin sha256//... [--token T] [--hostname H] [--router-id "
	    "A.B.C.D]\n"
	    "       (without --token: the token in EDGE_TOKEN)\n");
	return 2;
}
