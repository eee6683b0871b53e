#include "cp/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/afile.h"
#include "common/httpc.h"
#include "common/json.h"
#include "common/relkey.h"
#include "common/util.h"
#include "cp/artifact.h"
#include "cp/cli_keys.h"
#include "cp/tls.h"
#include "cp/validate.h"

#define CLI_MAX_ARGS 32
#define CLI_MAX_FLAGS 16

/* A release upload may take this long (64 MiB over a slow link). */
#define CLI_UPLOAD_TIMEOUT_MS (ARTIFACT_UPLOAD_TIMEOUT_S * 1000L)

/* Flags that take no value. */
static const char *const cli_bool_flags[] = { "--force", "--follow", "--help",
	"--rollback", "--auto-rollback", "--approval", "--all", NULL };

struct cli {
	const char *pos[CLI_MAX_ARGS];
	int npos;
	const char *fname[CLI_MAX_FLAGS];
	const char *fval[CLI_MAX_FLAGS];
	bool fused[CLI_MAX_FLAGS];
	int nflags;
	bool json;
	long timeout_ms; /* 0: httpc's default */
	struct httpc *h;
	char auth[256];
	char *extra_hdr; /* one more request header, or NULL (malloc'd) */
};

struct column {
	const char *title;
	const char *key; /* "a" or "a.b" */
};

static int
usage(void)
{
	fprintf(stderr,
	    "usage: edge-cp [--server URL] [--token T] [--pin PIN] "
	    "[--data-dir DIR] [-o json] NOUN VERB ...\n"
	    "       edge-cp serve [...]          run the control plane\n"
	    "       edge-cp tls rotate|switch|status  the TLS key "
	    "(cp/tlsrot.h)\n"
	    "  pop add NAME --region R [--bgp FILE|JSON]\n"
	    "  pop list | pop show NAME\n"
	    "  pop set NAME [--region R] [--bgp FILE|JSON] [--force]\n"
	    "  token create --pop P [--ttl SECONDS] [--uses N]\n"
	    "  token list [--all] | token revoke ID    (token: enrollment "
	    "tokens; also enrolltoken)\n"
	    "  apitoken create --name N --role viewer|operator|admin "
	    "[--expires DURATION]\n"
	    "      DURATION: seconds, or a number with s, m, h, d or w "
	    "(90m, 12h, 30d)\n"
	    "  apitoken list | apitoken revoke NAME\n"
	    "  node list [--pop P] | node show ID\n"
	    "  node drain ID | node undrain ID | node remove ID\n"
	    "  node set ID --router-id A.B.C.D|auto\n"
	    "  profile show [--version N] | profile set FILE\n"
	    "  release list | release add --component C --version V FILE\n"
	    "  release approve|discard COMPONENT VERSION   (two-person rule)\n"
	    "  release list | release add --component C --version V "
	    "[--signature SIG] FILE\n"
	    "  release next-seq COMPONENT\n"
	    "  release sign --key FILE --component C --version V --seq N "
	    "[--out SIG] FILE\n"
	    "      (offline: connects to nothing)\n"
	    "  release-key show | release-key add PUB ROTATION\n"
	    "  revocation show | revocation add LIST LIST.minisig\n"
	    "  revocation sign --key FILE --serial N --out LIST "
	    "ENTRY...\n"
	    "      (offline; ENTRY: \"dataplane seq=5\", \"keeper "
	    "version=1.2.0\")\n"
	    "  release-key rotate --key OLD.key --out PREFIX --dataplane-seq N "
	    "--keeper-seq N\n"
	    "      (offline: a new key pair and its rotation statement)\n"
	    "  rollout create|plan COMPONENT VERSION [--strategy "
	    "waves|all_at_once]\n"
	    "      [--waves JSON] [--bake-s S] [--min-reports N] "
	    "[--max-unavailable-per-pop N]\n"
	    "      [--pop-min-healthy N] [--deadline-s S] [--unhealthy-s S]\n"
	    "      [--auto-rollback] [--approval] [--rollback]\n"
	    "      [--probe-port PORT [--probe-path PATH] "
	    "[--probe-timeout-s S]]\n"
	    "  rollout list | rollout show|pause|resume|promote|abort ID\n"
	    "  freeze on|off\n"
	    "  fleet\n"
	    "  events [--after ID] [--limit N] [--node ID] [--pop P] "
	    "[--kind K] [--follow]\n");
	return 2;
}

static const char *
flag(struct cli *c, const char *name)
{
	int i;

	for (i = 0; i < c->nflags; i++)
		if (strcmp(c->fname[i], name) == 0) {
			c->fused[i] = true;
			return c->fval[i];
		}
	return NULL;
}

/* Every flag given must have been read by the command. */
static int
flags_all_used(struct cli *c)
{
	int i;

	for (i = 0; i < c->nflags; i++)
		if (!c->fused[i]) {
			fprintf(stderr, "edge-cp: unknown option %s\n",
			    c->fname[i]);
			return -1;
		}
	return 0;
}

static int
cli_parse(struct cli *c, int argc, char **argv)
{
	int i, k;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool is_bool = false;

		if (strcmp(a, "-o") == 0) {
			if (i + 1 >= argc || strcmp(argv[i + 1], "json") != 0)
				return -1;
			c->json = true;
			i++;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			if (c->npos >= CLI_MAX_ARGS)
				return -1;
			c->pos[c->npos++] = a;
			continue;
		}
		if (c->nflags >= CLI_MAX_FLAGS)
			return -1;
		for (k = 0; cli_bool_flags[k] != NULL; k++)
			if (strcmp(a, cli_bool_flags[k]) == 0)
				is_bool = true;
		c->fname[c->nflags] = a;
		if (is_bool)
			c->fval[c->nflags] = "1";
		else {
			if (i + 1 >= argc) {
				fprintf(
				    stderr, "edge-cp: %s needs a value\n", a);
				return -1;
			}
			c->fval[c->nflags] = argv[++i];
		}
		c->nflags++;
	}
	return 0;
}

/* Read DIR/name into buf, first line only. */
static int
read_line_file(const char *dir, const char *name, char *buf, size_t len)
{
	char path[600], *txt;
	size_t n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return -1;
	if (afile_read(path, 64 * 1024, &txt, &n) != 0) {
		fprintf(stderr, "edge-cp: cannot read %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	txt[strcspn(txt, "\n")] = '\0';
	util_strlcpy(buf, txt, len);
	free(txt);
	return 0;
}

static int
cli_connect(struct cli *c)
{
	const char *server = flag(c, "--server"), *token = flag(c, "--token");
	const char *pin = flag(c, "--pin"), *dir = flag(c, "--data-dir");
	char url[512], tok[128], pinbuf[128], err[256], path[600], *crt;
	struct httpc_opts o;
	size_t n;

	if (server == NULL)
		server = getenv("EDGE_CP_URL");
	if (token == NULL)
		token = getenv("EDGE_CP_TOKEN");
	if (pin == NULL)
		pin = getenv("EDGE_CP_PIN");
	if (dir == NULL)
		dir = "/var/lib/edge-cp";
	/* With no server and no token, the local data dir says it all. */
	if (server == NULL) {
		if (read_line_file(dir, "server.url", url, sizeof(url)) != 0)
			return -1;
		server = url;
		if (pin == NULL) {
			snprintf(path, sizeof(path), "%s/tls.crt", dir);
			if (afile_read(path, 64 * 1024, &crt, &n) != 0 ||
			    tls_pin_from_cert(crt, n, pinbuf, sizeof(pinbuf),
				err, sizeof(err)) != 0) {
				fprintf(
				    stderr, "edge-cp: cannot pin %s\n", path);
				return -1;
			}
			free(crt);
			pin = pinbuf;
		}
	}
	if (token == NULL) {
		if (read_line_file(dir, "admin.token", tok, sizeof(tok)) != 0)
			return -1;
		token = tok;
	}
	snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %s", token);
	memset(&o, 0, sizeof(o));
	o.base_url = server;
	o.pin = pin;
	o.timeout_ms = c->timeout_ms;
	if (httpc_global_init() != 0 ||
	    (c->h = httpc_new(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "edge-cp: %s\n", err);
		return -1;
	}
	return 0;
}

/*
 * One API call with a body of type ctype (NULL: none).  Returns the parsed
 * response body (object) on a 2xx, NULL after printing the API's error
 * message otherwise.
 */
static json_t *
api_send(struct cli *c, const char *method, const char *path, const char *ctype,
    const void *body, size_t len)
{
	char cthdr[64];
	const char *hdrs[4] = { c->auth, NULL, NULL, NULL };
	struct httpc_resp resp;
	char err[512];
	json_t *out = NULL;

	if (ctype != NULL) {
		snprintf(cthdr, sizeof(cthdr), "Content-Type: %s", ctype);
		hdrs[1] = cthdr;
	}
	hdrs[ctype != NULL ? 2 : 1] = c->extra_hdr;
	if (httpc_request(c->h, method, path, hdrs, body, len, &resp, err,
		sizeof(err)) != 0) {
		fprintf(stderr, "edge-cp: %s\n", err);
		return NULL;
	}
	if (resp.len > 0)
		out = json_loadb(resp.body, resp.len, 0, NULL);
	if (resp.status < 200 || resp.status > 299) {
		json_t *e = json_object_get(out, "error");
		const char *msg =
		    json_string_value(json_object_get(e, "message"));

		fprintf(stderr, "edge-cp: %ld %s: %s\n", resp.status,
		    json_string_value(json_object_get(e, "code"))
			? json_string_value(json_object_get(e, "code"))
			: "error",
		    msg ? msg : resp.body);
		json_decref(out);
		out = NULL;
	} else if (out == NULL)
		out = json_object();
	httpc_resp_clear(&resp);
	return out;
}

/* One API call with an optional JSON body; as api_send(). */
static json_t *
api(struct cli *c, const char *method, const char *path, json_t *body)
{
	char *txt = NULL;
	json_t *out;

	if (body != NULL && (txt = json_dumps(body, JSON_COMPACT)) == NULL)
		return NULL;
	out = api_send(
	    c, method, path, "application/json", txt, txt ? strlen(txt) : 0);
	free(txt);
	return out;
}

static const json_t *
jpath(const json_t *o, const char *key)
{
	char first[64];
	const char *dot = strchr(key, '.');

	if (dot == NULL)
		return json_object_get(o, key);
	if ((size_t)(dot - key) >= sizeof(first))
		return NULL;
	memcpy(first, key, (size_t)(dot - key));
	first[dot - key] = '\0';
	return jpath(json_object_get(o, first), dot + 1);
}

static void
cell(const json_t *v, char *buf, size_t len)
{
	if (v == NULL || json_is_null(v))
		util_strlcpy(buf, "-", len);
	else if (json_is_string(v))
		util_strlcpy(buf,
		    json_string_value(v)[0] ? json_string_value(v) : "-", len);
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		util_strlcpy(buf, json_is_true(v) ? "yes" : "no", len);
	else {
		char *t = json_dumps(v, JSON_COMPACT);

		util_strlcpy(buf, t ? t : "?", len);
		free(t);
	}
}

static void
table(const json_t *rows, const struct column *cols)
{
	size_t w[16] = { 0 }, i, k, ncol;
	const json_t *row;
	char buf[256];

	for (ncol = 0; ncol < 16 && cols[ncol].title != NULL; ncol++)
		w[ncol] = strlen(cols[ncol].title);
	json_array_foreach(rows, i, row) for (k = 0; k < ncol; k++)
	{
		cell(jpath(row, cols[k].key), buf, sizeof(buf));
		if (strlen(buf) > w[k])
			w[k] = strlen(buf) > 60 ? 60 : strlen(buf);
	}
	/* The last column is not padded: no trailing blanks. */
	for (k = 0; k < ncol; k++)
		printf("%-*s%s", k + 1 < ncol ? (int)w[k] : 0, cols[k].title,
		    k + 1 < ncol ? "  " : "\n");
	json_array_foreach(rows, i, row) for (k = 0; k < ncol; k++)
	{
		cell(jpath(row, cols[k].key), buf, sizeof(buf));
		printf("%-*.60s%s", k + 1 < ncol ? (int)w[k] : 0, buf,
		    k + 1 < ncol ? "  " : "\n");
	}
}

static void
show_object(const json_t *o)
{
	const char *key;
	json_t *v;
	char buf[4096];

	json_object_foreach((json_t *)(uintptr_t)o, key, v)
	{
		if (json_is_object(v) || json_is_array(v)) {
			char *t = json_dumps(v, JSON_COMPACT);

			printf("%-14s %s\n", key, t ? t : "?");
			free(t);
			continue;
		}
		cell(v, buf, sizeof(buf));
		printf("%-14s %s\n", key, buf);
	}
}

/* Print a result: JSON as is with -o json, else a table or key: value. */
static int
output(
    struct cli *c, json_t *res, const char *list_key, const struct column *cols)
{
	if (res == NULL)
		return 1;
	if (c->json) {
		char *t = json_dumps(res, JSON_INDENT(2) | JSON_SORT_KEYS);

		printf("%s\n", t ? t : "{}");
		free(t);
	} else if (list_key != NULL)
		table(json_object_get(res, list_key), cols);
	else
		show_object(res);
	json_decref(res);
	return 0;
}

/* --bgp takes inline JSON or a file name. */
static json_t *
load_json_arg(const char *arg, const char *what)
{
	char err[256], *txt = NULL;
	json_t *v = NULL;
	size_t n;

	if (arg[0] == '{') {
		if (json_parse_strict(arg, strlen(arg), 1u << 20, 32, &v, err,
			sizeof(err)) != 0)
			fprintf(stderr, "edge-cp: %s: %s\n", what, err);
		return v;
	}
	if (afile_read(arg, 1u << 20, &txt, &n) != 0) {
		fprintf(stderr, "edge-cp: %s: cannot read %s: %s\n", what, arg,
		    strerror(errno));
		return NULL;
	}
	if (json_parse_strict(txt, n, 1u << 20, 32, &v, err, sizeof(err)) != 0)
		fprintf(stderr, "edge-cp: %s: %s: %s\n", what, arg, err);
	free(txt);
	return v;
}

static const struct column pop_cols[] = {
	{ "NAME", "name" },
	{ "REGION", "region" },
	{ "NODES", "nodes" },
	{ "ASN", "bgp.asn" },
	{ NULL, NULL },
};
static const struct column node_cols[] = {
	{ "ID", "id" },
	{ "POP", "pop" },
	{ "HOSTNAME", "hostname" },
	{ "STATE", "state" },
	{ "HEALTH", "health" },
	{ "DRAIN", "drain" },
	{ "PROFILE", "versions.profile" },
	{ "DATAPLANE", "versions.dataplane" },
	{ "KEEPER", "versions.keeper" },
	{ "LAST_SEEN", "last_seen" },
	{ NULL, NULL },
};
static const struct column rollout_cols[] = {
	{ "ID", "id" },
	{ "COMPONENT", "component" },
	{ "VERSION", "version" },
	{ "PREVIOUS", "previous" },
	{ "STRATEGY", "strategy" },
	{ "STATE", "state" },
	{ "BY", "created_by" },
	{ NULL, NULL },
};
static const struct column event_cols[] = {
	{ "ID", "id" },
	{ "TS", "ts" },
	{ "ACTOR", "actor" },
	{ "ACTION", "action" },
	{ "OBJECT", "object" },
	{ "DETAIL", "detail" },
	{ NULL, NULL },
};
static const struct column release_cols[] = {
	{ "COMPONENT", "component" },
	{ "VERSION", "version" },
	{ "SEQ", "seq" },
	{ "SHA256", "sha256" },
	{ "SIZE", "size" },
	{ "STATE", "state" },
	{ "BY", "created_by" },
	{ "APPROVED_BY", "approved_by" },
	{ NULL, NULL },
};

static int
cmd_pop(struct cli *c, const char *verb)
{
	char path[128];
	const char *name = c->npos > 2 ? c->pos[2] : NULL;
	const char *region = flag(c, "--region"), *bgp = flag(c, "--bgp");
	bool force = flag(c, "--force") != NULL;
	json_t *body, *b = NULL;

	if (flags_all_used(c) != 0)
		return 2;
	if (strcmp(verb, "list") == 0)
		return output(
		    c, api(c, "GET", "/v1/pops", NULL), "pops", pop_cols);
	if (name == NULL || !util_name_ok(name))
		return usage();
	snprintf(path, sizeof(path), "/v1/pops/%s", name);
	if (strcmp(verb, "show") == 0)
		return output(c, api(c, "GET", path, NULL), NULL, NULL);
	if (bgp != NULL && (b = load_json_arg(bgp, "--bgp")) == NULL)
		return 1;
	if (strcmp(verb, "add") == 0) {
		if (region == NULL) {
			json_decref(b);
			return usage();
		}
		body = json_pack("{s:s,s:s}", "name", name, "region", region);
	} else if (strcmp(verb, "set") == 0) {
		body = json_object();
		if (region != NULL)
			json_object_set_new(
			    body, "region", json_string(region));
		if (force)
			json_object_set_new(body, "force", json_true());
	} else {
		json_decref(b);
		return usage();
	}
	if (b != NULL)
		json_object_set_new(body, "bgp", b);
	b = api(c, strcmp(verb, "add") == 0 ? "POST" : "PATCH",
	    strcmp(verb, "add") == 0 ? "/v1/pops" : path, body);
	json_decref(body);
	return output(c, b, NULL, NULL);
}

static const struct column enrolltoken_cols[] = {
	{ "ID", "id" },
	{ "POP", "pop" },
	{ "STATE", "state" },
	{ "USES_LEFT", "uses_left" },
	{ "USES", "uses" },
	{ "CREATED", "created_at" },
	{ "BY", "created_by" },
	{ "EXPIRES", "expires_at" },
	{ "REVOKED_BY", "revoked_by" },
	{ NULL, NULL },
};

/* token list [--all] | token revoke ID: enrollment tokens (admin). */
static int
cmd_token_admin(struct cli *c, const char *verb)
{
	bool all = flag(c, "--all") != NULL;
	char path[96];
	int64_t id;

	if (flags_all_used(c) != 0)
		return 2;
	if (strcmp(verb, "list") == 0 && c->npos == 2)
		return output(c,
		    api(c, "GET",
			all ? "/v1/enrollment-tokens?all=true"
			    : "/v1/enrollment-tokens",
			NULL),
		    "enrollment_tokens", enrolltoken_cols);
	if (strcmp(verb, "revoke") != 0 || c->npos != 3 || all)
		return usage();
	if (util_parse_i64(c->pos[2], 1, INT64_MAX, &id) != 0) {
		fprintf(stderr,
		    "edge-cp: %s is not an enrollment token id (a positive "
		    "integer; edge-cp token list shows them)\n",
		    c->pos[2]);
		return 2;
	}
	snprintf(
	    path, sizeof(path), "/v1/enrollment-tokens/%lld", (long long)id);
	return output(c, api(c, "DELETE", path, NULL), NULL, NULL);
}

static int
cmd_token(struct cli *c, const char *verb)
{
	const char *pop = flag(c, "--pop"), *ttl = flag(c, "--ttl");
	const char *uses = flag(c, "--uses");
	int64_t v;
	json_t *body, *res;

	if (strcmp(verb, "list") == 0 || strcmp(verb, "revoke") == 0)
		return cmd_token_admin(c, verb);
	if (flags_all_used(c) != 0 || strcmp(verb, "create") != 0 ||
	    pop == NULL)
		return usage();
	body = json_pack("{s:s}", "pop", pop);
	if (ttl != NULL) {
		if (util_parse_i64(ttl, 1, INT32_MAX, &v) != 0)
			return usage();
		json_object_set_new(body, "ttl_s", json_integer(v));
	}
	if (uses != NULL) {
		if (util_parse_i64(uses, 1, INT32_MAX, &v) != 0)
			return usage();
		json_object_set_new(body, "uses", json_integer(v));
	}
	res = api(c, "POST", "/v1/enrollment-tokens", body);
	json_decref(body);
	if (res != NULL && !c->json) {
		printf("id:       %lld\ntoken:    %s\nexpires:  %lld\n\n"
		       "On the new node, run:\n  %s\n",
		    (long long)json_integer_value(json_object_get(res, "id")),
		    json_string_value(json_object_get(res, "token")),
		    (long long)json_integer_value(
			json_object_get(res, "expires_at")),
		    json_string_value(
			json_object_get(res, "bootstrap_command")));
		json_decref(res);
		return 0;
	}
	return output(c, res, NULL, NULL);
}

/* The longest API token life edge-cp takes (cp/api_admin.c). */
#define CLI_TOKEN_TTL_MAX (3650LL * 86400)

/*
 * "3600", "90m", "12h", "30d", "2w": seconds, 1 s to 3650 days.  0, or
 * -1 when s is not such a duration.
 */
static int
parse_duration(const char *s, int64_t *secs)
{
	return util_parse_duration(s, 1, 1, CLI_TOKEN_TTL_MAX, secs);
}

static const struct column apitoken_cols[] = {
	{ "NAME", "name" },
	{ "ROLE", "role" },
	{ "STATE", "state" },
	{ "CREATED", "created_at" },
	{ "BY", "created_by" },
	{ "EXPIRES", "expires_at" },
	{ "LAST_USED", "last_used" },
	{ NULL, NULL },
};

static int
cmd_apitoken(struct cli *c, const char *verb)
{
	const char *name = flag(c, "--name"), *role = flag(c, "--role");
	const char *expires = flag(c, "--expires");
	const char *target = c->npos > 2 ? c->pos[2] : NULL;
	char path[96];
	int64_t ttl;
	json_t *body, *res;

	if (flags_all_used(c) != 0)
		return 2;
	if (strcmp(verb, "list") == 0 && target == NULL && name == NULL &&
	    role == NULL && expires == NULL)
		return output(c, api(c, "GET", "/v1/api-tokens", NULL),
		    "api_tokens", apitoken_cols);
	if (strcmp(verb, "revoke") == 0 && c->npos == 3 && name == NULL &&
	    role == NULL && expires == NULL) {
		if (!util_name_ok(target)) {
			fprintf(stderr,
			    "edge-cp: no API token is named %s (names match "
			    "[a-z0-9][a-z0-9-]{0,31})\n",
			    target);
			return 2;
		}
		snprintf(path, sizeof(path), "/v1/api-tokens/%s", target);
		return output(c, api(c, "DELETE", path, NULL), NULL, NULL);
	}
	if (strcmp(verb, "create") != 0 || name == NULL || role == NULL ||
	    target != NULL)
		return usage();
	body = json_pack("{s:s,s:s}", "name", name, "role", role);
	if (expires != NULL) {
		if (parse_duration(expires, &ttl) != 0) {
			fprintf(stderr,
			    "edge-cp: --expires %s: not a duration; give "
			    "seconds or a number with s, m, h, d or w (90m, "
			    "12h, 30d), from 1 s to 3650 d\n",
			    expires);
			json_decref(body);
			return 2;
		}
		json_object_set_new(body, "ttl_s", json_integer(ttl));
	}
	res = api(c, "POST", "/v1/api-tokens", body);
	json_decref(body);
	return output(c, res, NULL, NULL);
}

static int
cmd_node(struct cli *c, const char *verb)
{
	const char *id = c->npos > 2 ? c->pos[2] : NULL;
	const char *pop = flag(c, "--pop"), *rid = flag(c, "--router-id");
	char path[160];
	json_t *body;
	int rc;

	if (flags_all_used(c) != 0)
		return 2;
	if (strcmp(verb, "list") == 0) {
		if (pop != NULL && !util_name_ok(pop))
			return usage();
		snprintf(path, sizeof(path), "/v1/nodes%s%s",
		    pop ? "?pop=" : "", pop ? pop : "");
		return output(c, api(c, "GET", path, NULL), "nodes", node_cols);
	}
	if (id == NULL || !util_name_ok(id))
		return usage();
	snprintf(path, sizeof(path), "/v1/nodes/%s", id);
	if (strcmp(verb, "show") == 0)
		return output(c, api(c, "GET", path, NULL), NULL, NULL);
	if (strcmp(verb, "remove") == 0)
		return output(c, api(c, "DELETE", path, NULL), NULL, NULL);
	if (strcmp(verb, "drain") == 0 || strcmp(verb, "undrain") == 0) {
		snprintf(path, sizeof(path), "/v1/nodes/%s/%s", id, verb);
		return output(c, api(c, "POST", path, NULL), NULL, NULL);
	}
	if (strcmp(verb, "set") == 0 && rid != NULL) {
		/* "auto": the router id from the node's facts again. */
		body = strcmp(rid, "auto") == 0
		    ? json_pack("{s:n}", "router_id")
		    : json_pack("{s:s}", "router_id", rid);
		rc = output(c, api(c, "PATCH", path, body), NULL, NULL);
		json_decref(body);
		return rc;
	}
	return usage();
}

static int
cmd_profile(struct cli *c, const char *verb)
{
	const char *v = flag(c, "--version");
	char path[64];
	json_t *doc, *res;
	int64_t n;

	if (flags_all_used(c) != 0)
		return 2;
	if (strcmp(verb, "show") == 0) {
		if (v != NULL && util_parse_i64(v, 1, INT64_MAX, &n) != 0)
			return usage();
		snprintf(path, sizeof(path), "/v1/profile%s%s",
		    v ? "?version=" : "", v ? v : "");
		res = api(c, "GET", path, NULL);
		if (res != NULL && !c->json) {
			char *t = json_dumps(
			    json_object_get(res, "doc"), JSON_INDENT(2));

			printf("version %lld by %s\n%s\n",
			    (long long)json_integer_value(
				json_object_get(res, "version")),
			    json_string_value(
				json_object_get(res, "created_by")),
			    t ? t : "");
			free(t);
			json_decref(res);
			return 0;
		}
		return output(c, res, NULL, NULL);
	}
	if (strcmp(verb, "set") != 0 || c->npos < 3)
		return usage();
	if ((doc = load_json_arg(c->pos[2], "profile")) == NULL)
		return 1;
	res = api(c, "PUT", "/v1/profile", doc);
	json_decref(doc);
	return output(c, res, NULL, NULL);
}

/* Integer options of rollout create: --bake-s 60 -> "bake_s": 60. */
static const struct {
	const char *flag, *key;
} rollout_int_flags[] = {
	{ "--bake-s", "bake_s" },
	{ "--min-reports", "min_reports" },
	{ "--max-unavailable-per-pop", "max_unavailable_per_pop" },
	{ "--pop-min-healthy", "pop_min_healthy" },
	{ "--deadline-s", "deadline_s" },
	{ "--unhealthy-s", "unhealthy_s" },
};

/*
 * "probe" of rollout create / plan: edge-cp's own probe of each node's
 * dataplane (cp/probe.h).  The server checks the values; here only that
 * the numbers are numbers.  -1: usage.
 */
static int
rollout_probe_body(struct cli *c, json_t *body)
{
	const char *port = flag(c, "--probe-port"),
		   *path = flag(c, "--probe-path"),
		   *tmo = flag(c, "--probe-timeout-s");
	json_t *pr;
	int64_t v;

	if (port == NULL)
		return path != NULL || tmo != NULL ? -1 : 0;
	if ((pr = json_object()) == NULL ||
	    json_object_set_new(body, "probe", pr) != 0 ||
	    util_parse_i64(port, 0, INT64_MAX, &v) != 0)
		return -1;
	json_object_set_new(pr, "port", json_integer(v));
	if (path != NULL)
		json_object_set_new(pr, "path", json_string(path));
	if (tmo != NULL) {
		if (util_parse_i64(tmo, 0, INT64_MAX, &v) != 0)
			return -1;
		json_object_set_new(pr, "timeout_s", json_integer(v));
	}
	return 0;
}

/* The body of rollout create / plan from the command line; NULL: usage. */
static json_t *
rollout_body(struct cli *c)
{
	const char *strategy = flag(c, "--strategy"),
		   *waves = flag(c, "--waves");
	json_t *body, *w;
	size_t i;
	int64_t v;

	if (c->npos < 4)
		return NULL;
	body = json_pack(
	    "{s:s,s:s}", "component", c->pos[2], "version", c->pos[3]);
	if (strategy != NULL)
		json_object_set_new(body, "strategy", json_string(strategy));
	if (flag(c, "--rollback") != NULL)
		json_object_set_new(body, "rollback", json_true());
	if (flag(c, "--auto-rollback") != NULL)
		json_object_set_new(body, "auto_rollback", json_true());
	if (flag(c, "--approval") != NULL)
		json_object_set_new(body, "approval", json_true());
	for (i = 0;
	     i < sizeof(rollout_int_flags) / sizeof(rollout_int_flags[0]);
	     i++) {
		const char *val = flag(c, rollout_int_flags[i].flag);

		if (val == NULL)
			continue;
		if (util_parse_i64(val, 0, INT64_MAX, &v) != 0) {
			json_decref(body);
			return NULL;
		}
		json_object_set_new(
		    body, rollout_int_flags[i].key, json_integer(v));
	}
	/* --probe-port 80 [--probe-path /healthz] [--probe-timeout-s 5] */
	if (rollout_probe_body(c, body) != 0) {
		json_decref(body);
		return NULL;
	}
	/* --waves '[{"count":1},{"pop":"fra1"},{"percent":100}]' */
	if (waves != NULL) {
		if ((w = json_loads(waves, JSON_REJECT_DUPLICATES, NULL)) ==
		    NULL) {
			fprintf(stderr, "edge-cp: --waves: not JSON\n");
			json_decref(body);
			return NULL;
		}
		json_object_set_new(body, "waves", w);
	}
	return body;
}

/* plan: every wave with its POPs and node count, as a table. */
static int
rollout_plan_out(struct cli *c, json_t *res)
{
	json_t *w;
	size_t i;

	if (res == NULL || c->json)
		return output(c, res, NULL, NULL);
	printf("%-6s %-16s %-6s %s\n", "WAVE", "NAME", "NODES", "POPS");
	json_array_foreach(json_object_get(res, "waves"), i, w)
	{
		const char *k;
		json_t *n;

		printf("%-6lld %-16s %-6lld",
		    (long long)json_integer_value(json_object_get(w, "wave")),
		    json_string_value(json_object_get(w, "name")),
		    (long long)json_integer_value(json_object_get(w, "count")));
		json_object_foreach(json_object_get(w, "pops"), k, n)
		    printf(" %s:%lld", k, (long long)json_integer_value(n));
		printf("\n");
	}
	printf("skipped (not healthy): %zu\n",
	    json_array_size(json_object_get(res, "skipped")));
	json_decref(res);
	return 0;
}

static int
cmd_rollout(struct cli *c, const char *verb)
{
	static const char *const acts[] = { "abort", "pause", "resume",
		"promote", NULL };
	char path[96];
	json_t *body = NULL, *res;
	int64_t id;
	size_t i;

	if (strcmp(verb, "create") == 0 || strcmp(verb, "plan") == 0)
		body = rollout_body(c);
	if (flags_all_used(c) != 0) {
		json_decref(body);
		return 2;
	}
	if (strcmp(verb, "list") == 0)
		return output(c, api(c, "GET", "/v1/rollouts", NULL),
		    "rollouts", rollout_cols);
	if (strcmp(verb, "create") == 0 || strcmp(verb, "plan") == 0) {
		if (body == NULL)
			return usage();
		if (strcmp(verb, "plan") == 0)
			json_object_set_new(body, "dry_run", json_true());
		res = api(c, "POST", "/v1/rollouts", body);
		json_decref(body);
		return strcmp(verb, "plan") == 0 ? rollout_plan_out(c, res)
						 : output(c, res, NULL, NULL);
	}
	if (c->npos < 3 || util_parse_i64(c->pos[2], 1, INT64_MAX, &id) != 0)
		return usage();
	if (strcmp(verb, "show") == 0) {
		snprintf(
		    path, sizeof(path), "/v1/rollouts/%lld", (long long)id);
		return output(c, api(c, "GET", path, NULL), NULL, NULL);
	}
	for (i = 0; acts[i] != NULL; i++)
		if (strcmp(verb, acts[i]) == 0) {
			snprintf(path, sizeof(path), "/v1/rollouts/%lld/%s",
			    (long long)id, verb);
			return output(
			    c, api(c, "POST", path, NULL), NULL, NULL);
		}
	return usage();
}

/* freeze on | off: the global rollout freeze. */
static int
cmd_freeze(struct cli *c, const char *verb)
{
	if (flags_all_used(c) != 0)
		return 2;
	if (strcmp(verb, "on") == 0)
		return output(
		    c, api(c, "POST", "/v1/freeze", NULL), NULL, NULL);
	if (strcmp(verb, "off") == 0)
		return output(
		    c, api(c, "DELETE", "/v1/freeze", NULL), NULL, NULL);
	return usage();
}

/*
 * release add: the file is mapped, not read, so libcurl sends it from the
 * page cache whatever its size (up to edge-cp's limit).
 */
/*
 * The Edgefleet-Signature header of an upload signed offline: the
 * signature file's text in base64 (cp/api_releases.c).
 */
static int
cli_sig_header(struct cli *c, const char *sigf)
{
	static const char name[] = "Edgefleet-Signature: ";
	char *txt = NULL;
	size_t len, cap;

	if (afile_read(sigf, MSIG_SIG_MAX, &txt, &len) != 0) {
		fprintf(stderr, "edge-cp: %s: %s\n", sigf, strerror(errno));
		return -1;
	}
	cap = sizeof(name) +
	    sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	if ((c->extra_hdr = malloc(cap)) == NULL) {
		free(txt);
		return -1;
	}
	memcpy(c->extra_hdr, name, sizeof(name));
	util_b64(
	    c->extra_hdr + sizeof(name) - 1, cap - sizeof(name) + 1, txt, len);
	free(txt);
	return 0;
}

static int
cmd_release_add(struct cli *c)
{
	const char *comp = flag(c, "--component"), *ver = flag(c, "--version");
	const char *file = c->npos == 3 ? c->pos[2] : NULL;
	const char *sigf = flag(c, "--signature");
	char path[160];
	struct stat st;
	void *data = MAP_FAILED;
	json_t *res = NULL;
	int fd = -1;

	if (flags_all_used(c) != 0 || comp == NULL || ver == NULL ||
	    file == NULL)
		return usage();
	/* The names go into the URL: check them as edge-cp will. */
	if (!artifact_name_ok(comp, ver)) {
		fprintf(stderr,
		    "edge-cp: --component must be dataplane or keeper "
		    "and --version must match [A-Za-z0-9][A-Za-z0-9._+-]{0,63} "
		    "(not ending in %s)\n",
		    ARTIFACT_SIG_SUFFIX);
		return 2;
	}
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) != 0) {
		fprintf(stderr, "edge-cp: %s: %s\n", file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0 ||
	    (uint64_t)st.st_size > ARTIFACT_MAX_SIZE) {
		fprintf(stderr,
		    "edge-cp: %s: must be a regular file of 1 byte "
		    "to %u MiB\n",
		    file, ARTIFACT_MAX_SIZE >> 20);
		goto out;
	}
	if (sigf != NULL && cli_sig_header(c, sigf) != 0)
		goto out;
	data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (data == MAP_FAILED) {
		fprintf(stderr, "edge-cp: %s: %s\n", file, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "/v1/releases/%s/%s", comp, ver);
	res = api_send(c, "PUT", path, "application/octet-stream", data,
	    (size_t)st.st_size);
	/* The signature is four lines: in JSON output only. */
	if (res != NULL && !c->json)
		json_object_del(res, "signature");
out:
	if (data != MAP_FAILED)
		munmap(data, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
	return output(c, res, NULL, NULL);
}

/* The offline commands (cp/cli_keys.h); nothing is connected. */
static int
cmd_offline(struct cli *c, const char *noun)
{
	const char *key = flag(c, "--key"), *out = flag(c, "--out");
	const char *comp = flag(c, "--component"), *ver = flag(c, "--version");
	const char *seq = flag(c, "--seq"), *dps = flag(c, "--dataplane-seq");
	const char *kps = flag(c, "--keeper-seq");
	int64_t n = 0, dp = 0, kp = 0;

	if (strcmp(noun, "revocation") == 0) {
		const char *ser = flag(c, "--serial");

		if (flags_all_used(c) != 0 || key == NULL || out == NULL ||
		    ser == NULL || util_parse_i64(ser, 1, INT64_MAX, &n) != 0 ||
		    c->npos < 3)
			return usage();
		return cli_keys_revoke(
		    key, n, c->pos + 2, (size_t)c->npos - 2, out);
	}
	if (flags_all_used(c) != 0 || key == NULL)
		return usage();
	if (strcmp(noun, "release") == 0) {
		if (c->npos != 3 || comp == NULL || ver == NULL ||
		    seq == NULL || util_parse_i64(seq, 1, INT64_MAX, &n) != 0)
			return usage();
		return cli_keys_sign(key, comp, ver, n, c->pos[2], out);
	}
	if (c->npos != 2 || out == NULL || dps == NULL || kps == NULL ||
	    util_parse_i64(dps, 0, INT64_MAX, &dp) != 0 ||
	    util_parse_i64(kps, 0, INT64_MAX, &kp) != 0)
		return usage();
	return cli_keys_rotate(key, out, dp, kp);
}

/*
 * A signed document edge-cp keeps: `NOUN show` prints its text, `NOUN add
 * FILE1 FILE2` posts the two files' texts as the members k1 and k2.
 */
struct cli_signed {
	const char *path;     /* GET and POST */
	const char *show_key; /* the text `show` prints */
	const char *k1, *k2;
	size_t max1, max2;
};

static const struct cli_signed cli_release_keys = { "/v1/release-keys",
	"public_key", "public_key", "statement", RELKEY_PUB_TEXT_MAX,
	MSIG_SIG_MAX };
static const struct cli_signed cli_revocations = { "/v1/release-revocations",
	"list", "list", "signature", RELKEY_REVOKED_TEXT_MAX, MSIG_SIG_MAX };

static int
cmd_signed(struct cli *c, const char *verb, const struct cli_signed *d)
{
	char *t1 = NULL, *t2 = NULL;
	const json_t *rot;
	json_t *body, *res;
	size_t n;

	if (flags_all_used(c) != 0)
		return 2;
	if (strcmp(verb, "show") == 0) {
		if (c->npos != 2)
			return usage();
		res = api(c, "GET", d->path, NULL);
		if (res == NULL || c->json)
			return output(c, res, NULL, NULL);
		printf(
		    "%s", json_string_value(json_object_get(res, d->show_key)));
		if ((rot = json_object_get(res, "rotations")) != NULL)
			printf("rotations: %zu\n", json_array_size(rot));
		json_decref(res);
		return 0;
	}
	if (c->npos != 4)
		return usage();
	if (afile_read(c->pos[2], d->max1, &t1, &n) != 0 ||
	    afile_read(c->pos[3], d->max2, &t2, &n) != 0) {
		fprintf(stderr, "edge-cp: %s: %s\n",
		    t1 == NULL ? c->pos[2] : c->pos[3], strerror(errno));
		free(t1);
		return 1;
	}
	body = json_pack("{s:s,s:s}", d->k1, t1, d->k2, t2);
	free(t1);
	free(t2);
	if (body == NULL) {
		fprintf(stderr, "edge-cp: the files are not text\n");
		return 1;
	}
	res = api(c, "POST", d->path, body);
	json_decref(body);
	return output(c, res, NULL, NULL);
}

static int
cmd_release(struct cli *c, const char *verb)
{
	char path[160];
	bool approve = strcmp(verb, "approve") == 0;
	json_t *res;

	if (strcmp(verb, "add") == 0)
		return cmd_release_add(c);
	if (strcmp(verb, "next-seq") == 0) {
		if (flags_all_used(c) != 0 || c->npos != 3 ||
		    strlen(c->pos[2]) > 32 ||
		    strspn(c->pos[2], "abcdefghijklmnopqrstuvwxyz") !=
			strlen(c->pos[2]))
			return usage();
		snprintf(
		    path, sizeof(path), "/v1/releases/%s/next-seq", c->pos[2]);
		if ((res = api(c, "GET", path, NULL)) == NULL)
			return 1;
		if (c->json)
			return output(c, res, NULL, NULL);
		printf("%lld\n",
		    (long long)json_integer_value(
			json_object_get(res, "next_seq")));
		json_decref(res);
		return 0;
	}
	if (flags_all_used(c) != 0)
		return 2;
	/* approve|discard COMPONENT VERSION: names checked as for add. */
	if (approve || strcmp(verb, "discard") == 0) {
		if (c->npos != 4 || !artifact_name_ok(c->pos[2], c->pos[3]))
			return usage();
		snprintf(path, sizeof(path), "/v1/releases/%s/%s%s", c->pos[2],
		    c->pos[3], approve ? "/approve" : "");
		res = api(c, approve ? "POST" : "DELETE", path, NULL);
		if (res != NULL && !c->json)
			json_object_del(res, "signature");
		return output(c, res, NULL, NULL);
	}
	return output(
	    c, api(c, "GET", "/v1/releases", NULL), "releases", release_cols);
}

static int
cmd_events(struct cli *c)
{
	static const char *const filters[] = { "node", "pop", "kind" };
	const char *after = flag(c, "--after"), *limit = flag(c, "--limit");
	bool follow = flag(c, "--follow") != NULL;
	int64_t a = 0, l = 100, oldest;
	char path[400], query[256] = "";
	json_t *res, *list, *ev;
	size_t i, n = 0;

	/* --node ID, --pop NAME, --kind K: as GET /v1/events takes them. */
	for (i = 0; i < 3; i++) {
		char name[16];
		const char *v;

		snprintf(name, sizeof(name), "--%s", filters[i]);
		if ((v = flag(c, name)) == NULL)
			continue;
		if (strlen(v) == 0 || strlen(v) > 63 ||
		    strspn(v,
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789._-") != strlen(v)) {
			fprintf(stderr,
			    "edge-cp: %s: 1-63 letters, digits, '.', '_' or "
			    "'-'\n",
			    name);
			return 2;
		}
		n += (size_t)snprintf(
		    query + n, sizeof(query) - n, "&%s=%s", filters[i], v);
	}
	if (flags_all_used(c) != 0 ||
	    (after && util_parse_i64(after, 0, INT64_MAX, &a) != 0) ||
	    (limit && util_parse_i64(limit, 1, 1000, &l) != 0))
		return usage();
	for (;;) {
		snprintf(path, sizeof(path),
		    "/v1/events?after=%lld&limit=%lld%s", (long long)a,
		    (long long)l, query);
		if ((res = api(c, "GET", path, NULL)) == NULL)
			return 1;
		list = json_object_get(res, "events");
		oldest = json_integer_value(json_object_get(res, "oldest_id"));
		/* Asked from an id retention has passed: say what is gone. */
		if (a > 0 && a < oldest - 1) {
			fprintf(stderr,
			    "edge-cp: events %lld to %lld were removed by the "
			    "event retention\n",
			    (long long)a + 1, (long long)oldest - 1);
			a = oldest - 1;
		}
		json_array_foreach(list, i, ev) a =
		    json_integer_value(json_object_get(ev, "id"));
		if (!follow)
			return output(c, res, "events", event_cols);
		if (c->json) {
			json_array_foreach(list, i, ev)
			{
				char *t = json_dumps(ev, JSON_COMPACT);

				printf("%s\n", t ? t : "{}");
				free(t);
			}
		} else if (json_array_size(list) > 0)
			table(list, event_cols);
		fflush(stdout);
		json_decref(res);
		sleep(1);
	}
}

/* Usage errors are found before anything is read or connected. */
static bool
cli_known(const char *noun, const char *verb)
{
	static const char *const cmds[] = {
		"pop add",
		"pop list",
		"pop show",
		"pop set",
		"token create",
		"token list",
		"token revoke",
		"apitoken create",
		"apitoken list",
		"apitoken revoke",
		"node list",
		"node show",
		"node drain",
		"node undrain",
		"node remove",
		"node set",
		"profile show",
		"profile set",
		"release list",
		"release add",
		"release approve",
		"release discard",
		"release sign",
		"release next-seq",
		"release-key show",
		"release-key add",
		"release-key rotate",
		"revocation show",
		"revocation add",
		"revocation sign",
		"rollout create",
		"rollout list",
		"rollout show",
		"rollout abort",
		"rollout plan",
		"rollout pause",
		"rollout resume",
		"rollout promote",
		"freeze on",
		"freeze off",
		"fleet ",
		"events ",
		NULL,
	};
	char cmd[64];
	size_t i;

	snprintf(cmd, sizeof(cmd), "%s %s", noun, verb);
	for (i = 0; cmds[i] != NULL; i++)
		if (strcmp(cmds[i], cmd) == 0)
			return true;
	return false;
}

int
cli_main(int argc, char **argv)
{
	struct cli c;
	const char *noun, *verb;
	int rc;

	memset(&c, 0, sizeof(c));
	if (cli_parse(&c, argc, argv) != 0 || c.npos < 1)
		return usage();
	if (flag(&c, "--help") != NULL)
		return usage();
	noun = c.pos[0];
	verb = c.npos > 1 ? c.pos[1] : "";
	/* enrolltoken: the longer name of the enrollment-token noun. */
	if (strcmp(noun, "enrolltoken") == 0)
		noun = "token";
	if (!cli_known(noun, verb))
		return usage();
	if (strcmp(verb, "sign") == 0 || strcmp(verb, "rotate") == 0)
		return cmd_offline(&c, noun);
	if (strcmp(noun, "release") == 0 && strcmp(verb, "add") == 0)
		c.timeout_ms = CLI_UPLOAD_TIMEOUT_MS;
	if (cli_connect(&c) != 0)
		return 1;
	if (strcmp(noun, "pop") == 0)
		rc = cmd_pop(&c, verb);
	else if (strcmp(noun, "token") == 0)
		rc = cmd_token(&c, verb);
	else if (strcmp(noun, "apitoken") == 0)
		rc = cmd_apitoken(&c, verb);
	else if (strcmp(noun, "node") == 0)
		rc = cmd_node(&c, verb);
	else if (strcmp(noun, "profile") == 0)
		rc = cmd_profile(&c, verb);
	else if (strcmp(noun, "rollout") == 0)
		rc = cmd_rollout(&c, verb);
	else if (strcmp(noun, "release") == 0)
		rc = cmd_release(&c, verb);
	else if (strcmp(noun, "release-key") == 0)
		rc = cmd_signed(&c, verb, &cli_release_keys);
	else if (strcmp(noun, "revocation") == 0)
		rc = cmd_signed(&c, verb, &cli_revocations);
	else if (strcmp(noun, "freeze") == 0)
		rc = cmd_freeze(&c, verb);
	else if (strcmp(noun, "fleet") == 0)
		rc = flags_all_used(&c) != 0
		    ? 2
		    : output(&c, api(&c, "GET", "/v1/fleet", NULL), NULL, NULL);
	else if (strcmp(noun, "events") == 0)
		rc = cmd_events(&c);
	else
		rc = usage();
	httpc_free(c.h);
	free(c.extra_hdr);
	sodium_memzero(c.auth, sizeof(c.auth));
	return rc;
}
