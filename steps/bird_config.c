/*
 * bird_config {path?, main_config?, socket?, interface?}: the BIRD 2
 * include that announces this node's anycast prefixes to the POP's
 * neighbours, rendered from the desired state (the POP's "bgp" section,
 * the node's router id and the drain flag).
 *
 * Defaults: path /etc/bird/edgefleet.conf, main_config
 * /etc/bird/bird.conf (which must `include` path; the step says so when
 * it does not), socket /run/bird/bird.ctl, interface "lo" (where the
 * anycast step puts the addresses).
 *
 * Rendering is deterministic and shaped so that BIRD never resets a BGP
 * session for a change that does not need one:
 * - protocol names are stable: ef_anycast (direct), ef_device, and one
 *   ef_peer_<name or address> per neighbour, whatever the list order;
 * - the communities, the large communities and the drain flag live in
 *   `define`s used only by the export filter; BIRD answers a changed
 *   filter by re-evaluating the exported routes (a refeed), not by
 *   restarting the session.  A changed prepend count changes the
 *   filter's body the same way.  Changing a neighbour's address, AS,
 *   hold time, password or BFD does reset that one session, as it must.
 *
 * Check: render; the file must hold exactly those bytes and BIRD must
 * have accepted them (a stamp with their SHA-256 is written after a
 * successful `configure`, in /var/lib/edge-keeper/bird_config.applied).
 * Apply: write the bytes to path.candidate, `bird -p -c` it, rename it
 * over path (mode 0640, group bird when that group exists, so BIRD
 * running as its own user can read it), then `configure` through BIRD's
 * control socket; only its reply code decides (0003/0004/0005 ok, else
 * the step's reason is BIRD's own message).  Nothing is reloaded when
 * the bytes did not change, so a health flip or an unrelated profile
 * edit never touches BIRD.
 *
 * The candidate is parsed on its own, so it must be a complete
 * configuration by itself: that is why it carries the router id and
 * its own device protocol, and why bird.conf must not set either.
 */
#include <errno.h>
#include <grp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/birdctl.h"
#include "common/exec.h"
#include "common/priv.h"
#include "common/json.h"
#include "common/util.h"
#include "steps/kinds.h"

#define BIRD_PATH_MAX 255
#define BIRD_CONF_MAX (1u << 20)
#define BIRD_STAMP "/var/lib/edge-keeper/bird_config.applied"
#define BIRD_CHECK_TIMEOUT_MS 10000

struct bird_params {
	char path[BIRD_PATH_MAX + 1];
	char main_config[BIRD_PATH_MAX + 1];
	char socket[BIRD_PATH_MAX + 1];
	char iface[16];
};

static int
bird_parse(const json_t *params, void **out, char *err, size_t errlen)
{
	static const char *const keys[] = { "path", "main_config", "socket",
		"interface", NULL };
	const char *path = "/etc/bird/edgefleet.conf";
	const char *main_config = "/etc/bird/bird.conf";
	const char *sock = "/run/bird/bird.ctl", *iface = "lo";
	struct bird_params *p;
	char buf[BIRD_PATH_MAX + 1];

	*out = NULL;
	if (jfield_only(params, keys, err, errlen) != 0 ||
	    jfield_str(params, "path", false, BIRD_PATH_MAX, &path, err,
		errlen) != 0 ||
	    jfield_str(params, "main_config", false, BIRD_PATH_MAX,
		&main_config, err, errlen) != 0 ||
	    jfield_str(params, "socket", false, BIRD_PATH_MAX, &sock, err,
		errlen) != 0 ||
	    jfield_str(params, "interface", false, 15, &iface, err, errlen) !=
		0)
		return -1;
	if (step_path(NULL, path, buf, sizeof(buf)) != 0 ||
	    step_path(NULL, main_config, buf, sizeof(buf)) != 0 ||
	    step_path(NULL, sock, buf, sizeof(buf)) != 0 ||
	    strpbrk(path, "\"\\\n") != NULL) {
		snprintf(err, errlen,
		    "path, main_config, socket: absolute paths without "
		    "\"..\" or quotes");
		return -1;
	}
	if (iface[0] == '\0' || strpbrk(iface, "\"\\/ \n") != NULL) {
		snprintf(err, errlen, "interface: not an interface name");
		return -1;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	util_strlcpy(p->path, path, sizeof(p->path));
	util_strlcpy(p->main_config, main_config, sizeof(p->main_config));
	util_strlcpy(p->socket, sock, sizeof(p->socket));
	util_strlcpy(p->iface, iface, sizeof(p->iface));
	*out = p;
	return 0;
}

/* "65001:100" -> "(65001,100)"; "65001:1:2" -> "(65001,1,2)". */
static void
bird_community(FILE *f, const char *c)
{
	fputc('(', f);
	for (; *c != '\0'; c++)
		fputc(*c == ':' ? ',' : *c, f);
	fputc(')', f);
}

/* define NAME = add(add(EMPTY, (a,b)), (c,d)); -- a list constant. */
static void
bird_define_list(
    FILE *f, const char *name, const json_t *list, const char *empty)
{
	size_t i, n = json_array_size(list);

	fprintf(f, "define %s = ", name);
	for (i = 0; i < n; i++)
		fputs("add(", f);
	fputs(empty, f);
	for (i = 0; i < n; i++) {
		fputs(", ", f);
		bird_community(f, json_string_value(json_array_get(list, i)));
		fputc(')', f);
	}
	fputs(";\n", f);
}

/* A BIRD symbol from a neighbour's name or address: ef_peer_<[a-z0-9_]>. */
void
bird_peer_name(const json_t *n, char *out, size_t len)
{
	const char *s = json_string_value(json_object_get(n, "name"));
	size_t o;

	if (s == NULL)
		s = json_string_value(json_object_get(n, "address"));
	o = (size_t)snprintf(out, len, "ef_peer_");
	for (; *s != '\0' && o + 1 < len; s++)
		out[o++] = (*s >= 'a' && *s <= 'z') ||
			(*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
		    ? *s
		    : '_';
	out[o] = '\0';
}

static bool
bird_is_v6(const char *addr)
{
	return strchr(addr, ':') != NULL;
}

/* The direct protocol's import: only the anycast prefixes of a family. */
static void
bird_direct_channel(FILE *f, const json_t *anycast, bool v6)
{
	const json_t *a;
	size_t i;
	bool any = false;

	fprintf(f, "\t%s { import ", v6 ? "ipv6" : "ipv4");
	json_array_foreach(anycast, i, a)
	{
		const char *p = json_string_value(json_object_get(a, "prefix"));

		if (bird_is_v6(p) != v6)
			continue;
		fprintf(f, "%s%s", any ? ", " : "where net ~ [ ", p);
		any = true;
	}
	fprintf(f, "%s; };\n", any ? " ]" : "none");
}

static void
bird_render_peer(FILE *f, const json_t *n, int64_t asn, int64_t hold)
{
	const char *addr = json_string_value(json_object_get(n, "address"));
	const char *pw = json_string_value(json_object_get(n, "password"));
	char name[64];

	bird_peer_name(n, name, sizeof(name));
	fprintf(f,
	    "\nprotocol bgp %s {\n"
	    "\tdescription \"edgefleet neighbour %s\";\n"
	    "\tlocal as %lld;\n"
	    "\tneighbor %s as %lld;\n"
	    "\thold time %lld;\n",
	    name, addr, (long long)asn, addr,
	    (long long)json_integer_value(json_object_get(n, "asn")),
	    (long long)hold);
	if (pw != NULL)
		fprintf(f, "\tpassword \"%s\";\n", pw);
	if (json_is_true(json_object_get(n, "bfd")))
		fputs("\tbfd on;\n", f);
	fprintf(f,
	    "\t%s {\n"
	    "\t\timport none;\n"
	    "\t\texport filter ef_export;\n"
	    "\t\tnext hop self;\n"
	    "\t};\n"
	    "}\n",
	    bird_is_v6(addr) ? "ipv6" : "ipv4");
}

int
bird_render(const json_t *bgp, const char *router_id, bool drain,
    const char *iface, char **out, size_t *len, char *err, size_t errlen)
{
	const json_t *anycast = json_object_get(bgp, "anycast");
	const json_t *peers = json_object_get(bgp, "neighbors");
	const json_t *dr = json_object_get(bgp, "drain"), *a, *n;
	int64_t asn = json_integer_value(json_object_get(bgp, "asn"));
	int64_t hold = json_integer_value(json_object_get(bgp, "hold_time"));
	int64_t prepend = json_integer_value(json_object_get(dr, "prepend"));
	bool bfd = false;
	char name[32];
	size_t i;
	int64_t k;
	FILE *f;

	*out = NULL;
	if (json_array_size(peers) > 0 &&
	    (router_id == NULL || router_id[0] == '\0')) {
		snprintf(err, errlen,
		    "no router id for this node: edge-cp has none in its "
		    "facts (set one with `edge-cp node set ID --router-id "
		    "A.B.C.D`)");
		return -1;
	}
	json_array_foreach(anycast, i, a)
	{
		const char *p = json_string_value(json_object_get(a, "prefix"));
		size_t l = strlen(router_id ? router_id : "");

		if (l > 0 && strncmp(p, router_id, l) == 0 && p[l] == '/') {
			snprintf(err, errlen,
			    "router id %s is an anycast address; a node's "
			    "router id must be its own",
			    router_id);
			return -1;
		}
	}
	if ((f = open_memstream(out, len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	fputs("# Generated by edge-keeper from this node's desired state: do "
	      "not edit.\n# Local settings belong in bird.conf, which "
	      "includes this file.\n",
	    f);
	if (json_array_size(peers) == 0 && json_array_size(anycast) == 0) {
		/* A configuration of its own needs one protocol. */
		fputs("# The POP has no BGP neighbours and no anycast "
		      "prefixes.\n\nprotocol device ef_device {\n}\n",
		    f);
		goto done;
	}
	if (router_id != NULL && router_id[0] != '\0')
		fprintf(f, "\nrouter id %s;\n", router_id);
	fputs("\n# Only these constants change with the communities and the "
	      "drain flag:\n# BIRD refeeds the routes, no session is "
	      "reset.\n",
	    f);
	fprintf(f, "define EF_DRAINING = %s;\n", drain ? "true" : "false");
	bird_define_list(
	    f, "EF_DRAIN_C", json_object_get(dr, "communities"), "-empty-");
	json_array_foreach(anycast, i, a)
	{
		snprintf(name, sizeof(name), "EF_A%zu_C", i);
		bird_define_list(
		    f, name, json_object_get(a, "communities"), "-empty-");
		snprintf(name, sizeof(name), "EF_A%zu_LC", i);
		bird_define_list(f, name,
		    json_object_get(a, "large_communities"), "---empty---");
	}
	fprintf(f,
	    "\nprotocol device ef_device {\n}\n"
	    "\nprotocol direct ef_anycast {\n");
	bird_direct_channel(f, anycast, false);
	bird_direct_channel(f, anycast, true);
	fprintf(f, "\tinterface \"%s\";\n}\n", iface);
	fputs("\nfunction ef_tag()\n{\n", f);
	json_array_foreach(anycast, i, a) fprintf(f,
	    "\tif net = %s then {\n"
	    "\t\tbgp_community.add(EF_A%zu_C);\n"
	    "\t\tbgp_large_community.add(EF_A%zu_LC);\n"
	    "\t}\n",
	    json_string_value(json_object_get(a, "prefix")), i, i);
	fputs("\tif EF_DRAINING then {\n"
	      "\t\tbgp_community.add(EF_DRAIN_C);\n",
	    f);
	for (k = 0; k < prepend; k++)
		fprintf(f, "\t\tbgp_path.prepend(%lld);\n", (long long)asn);
	fputs("\t}\n}\n", f);
	fputs("\nfilter ef_export\n{\n"
	      "\tif proto != \"ef_anycast\" then reject;\n"
	      "\tef_tag();\n"
	      "\taccept;\n}\n",
	    f);
	json_array_foreach(peers, i, n) bfd |=
	    json_is_true(json_object_get(n, "bfd"));
	if (bfd)
		fputs("\nprotocol bfd ef_bfd {\n}\n", f);
	json_array_foreach(peers, i, n) bird_render_peer(f, n, asn, hold);
done:
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static void
bird_sha(const char *s, size_t len, char hex[65])
{
	unsigned char h[32];

	crypto_hash_sha256(h, (const unsigned char *)s, len);
	util_hex(hex, 65, h, sizeof(h));
}

/* Does the main config include path (a line `include "path";`)? */
static bool
bird_included(const char *main_txt, const char *path)
{
	const char *line = main_txt, *p;
	size_t plen = strlen(path);

	while (line != NULL && *line != '\0') {
		p = line + strspn(line, " \t");
		if (strncmp(p, "include", 7) == 0) {
			p += 7;
			p += strspn(p, " \t");
			if (*p == '"' && strncmp(p + 1, path, plen) == 0 &&
			    p[1 + plen] == '"')
				return true;
		}
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return false;
}

struct bird_paths {
	char path[1024], main_config[1024], socket[1024], stamp[1024];
	char candidate[1100];
};

static int
bird_paths(const struct bird_params *p, const struct step_env *env,
    struct bird_paths *bp, struct step_result *res)
{
	if (step_path(env, p->path, bp->path, sizeof(bp->path)) != 0 ||
	    step_path(env, p->main_config, bp->main_config,
		sizeof(bp->main_config)) != 0 ||
	    step_path(env, p->socket, bp->socket, sizeof(bp->socket)) != 0 ||
	    step_path(env, BIRD_STAMP, bp->stamp, sizeof(bp->stamp)) != 0) {
		step_set(res, STEP_ERROR, "path too long under the root");
		return -1;
	}
	snprintf(
	    bp->candidate, sizeof(bp->candidate), "%s.candidate", bp->path);
	return 0;
}

/* Render for this host; NULL (with res set) when it cannot be. */
static char *
bird_want(const struct bird_params *p, const struct step_env *env, size_t *len,
    struct step_result *res)
{
	const struct step_host *h = env->host;
	char err[STEP_REASON_MAX], *txt;

	if (h == NULL) {
		step_set(res, STEP_ERROR, "no desired state to render");
		return NULL;
	}
	if (bird_render(h->bgp, h->router_id, h->drain, p->iface, &txt, len,
		err, sizeof(err)) != 0) {
		step_set(res, STEP_ERROR, "%s", err);
		return NULL;
	}
	return txt;
}

static void
bird_check(
    const void *params, const struct step_env *env, struct step_result *res)
{
	const struct bird_params *p = params;
	struct bird_paths bp;
	char *want, *have = NULL, *main_txt = NULL, *stamp = NULL;
	char hex[65];
	size_t wlen, hlen, len;

	if (bird_paths(p, env, &bp, res) != 0 ||
	    (want = bird_want(p, env, &wlen, res)) == NULL)
		return;
	bird_sha(want, wlen, hex);
	if (afile_read(bp.main_config, BIRD_CONF_MAX, &main_txt, &len) != 0)
		step_set(
		    res, STEP_ERROR, "%s: %s", p->main_config, strerror(errno));
	else if (!bird_included(main_txt, bp.path))
		step_set(res, STEP_ERROR,
		    "%s does not include %s: add the line include \"%s\";",
		    p->main_config, bp.path, bp.path);
	else if (afile_read(bp.path, BIRD_CONF_MAX, &have, &hlen) != 0)
		step_set(res, STEP_NEEDS_CHANGE, "%s: %s", p->path,
		    errno == ENOENT ? "missing" : strerror(errno));
	else if (hlen != wlen || memcmp(have, want, wlen) != 0)
		step_set(res, STEP_NEEDS_CHANGE,
		    "%s differs from the rendered "
		    "configuration",
		    p->path);
	else if (afile_read(bp.stamp, 128, &stamp, &len) != 0 ||
	    strncmp(stamp, hex, 64) != 0)
		step_set(res, STEP_NEEDS_CHANGE, "BIRD has not loaded %s yet",
		    p->path);
	else
		step_set(res, STEP_IN_SYNC, "%s", "");
	free(want);
	free(have);
	free(main_txt);
	free(stamp);
}

/* Group bird may read it, when there is such a group. */
static void
bird_perms(const char *path)
{
	struct group g, *gp = NULL;
	char buf[4096];

	if (getgrnam_r("bird", &g, buf, sizeof(buf), &gp) == 0 && gp != NULL)
		priv_ownmode(path, (uid_t)-1, gp->gr_gid, 0640);
}

static int
bird_apply(
    const void *params, const struct step_env *env, struct step_result *res)
{
	const struct bird_params *p = params;
	struct exec_result *er;
	struct bird_paths bp;
	char *want, hex[65], err[STEP_REASON_MAX], dir[1024], *slash;
	size_t wlen;
	int rc = -1;

	if (bird_paths(p, env, &bp, res) != 0 ||
	    (want = bird_want(p, env, &wlen, res)) == NULL)
		return -1;
	bird_sha(want, wlen, hex);
	util_strlcpy(dir, p->path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';
	if (step_mkdirs(env, dir, 0755) != 0 ||
	    afile_write(bp.candidate, want, wlen, 0644) != 0) {
		step_set(
		    res, STEP_ERROR, "%s: %s", bp.candidate, strerror(errno));
		goto out;
	}
	if ((er = malloc(sizeof(*er))) == NULL) {
		step_set(res, STEP_ERROR, "out of memory");
		goto out_unlink;
	}
	{
		const char *const argv[] = { "bird", "-p", "-c", bp.candidate,
			NULL };

		if (exec_run(argv, NULL, BIRD_CHECK_TIMEOUT_MS, er) != 0 ||
		    er->status != 0) {
			char line[300];

			step_set(res, STEP_ERROR, "bird -p refused it: %s",
			    step_oneline(line, sizeof(line), er->out));
			free(er);
			goto out_unlink;
		}
	}
	free(er);
	if (priv_rename(bp.candidate, bp.path) != 0) {
		step_set(res, STEP_ERROR, "%s: %s", bp.path, strerror(errno));
		goto out_unlink;
	}
	bird_perms(bp.path);
	if (birdctl_configure(bp.socket, NULL, err, sizeof(err)) != 0) {
		step_set(res, STEP_ERROR, "birdc configure: %s", err);
		goto out;
	}
	if (step_mkdirs(env, "/var/lib/edge-keeper", 0700) != 0 ||
	    afile_write(bp.stamp, hex, 64, 0600) != 0) {
		step_set(res, STEP_ERROR, "%s: %s", bp.stamp, strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
out_unlink:
	priv_unlink(bp.candidate);
out:
	free(want);
	return rc;
}

const char *
bird_socket(const void *params)
{
	return ((const struct bird_params *)params)->socket;
}

const struct step_kind step_bird_config = {
	.name = "bird_config",
	.parse = bird_parse,
	.free_params = free,
	.check = bird_check,
	.apply = bird_apply,
	.retry_s = 10,
};
