/*
 * nodeclient: the node side of edge-cp's node protocol (docs/protocol.md),
 * for shell integration tests until edge-keeper speaks it.
 *
 *	nodeclient enroll  --server URL --pin PIN --token T --state FILE
 *			   [--hostname H] [--facts JSON] [--bad-signature]
 *	nodeclient desired --state FILE [--if-none-match ETAG] [--count N]
 *			   [--out FILE] [--paced]
 *	nodeclient status  --state FILE --body JSON
 *	nodeclient get     --state FILE --path P [--out FILE]
 *	nodeclient replay|tamper|stale|wrong-node --state FILE
 *			   [--other-node ID]
 *
 * Every command also takes --server URL and --pin sha256//...; enroll
 * needs them, the others default to what enroll wrote to the state file.
 * --clock-off S makes the node's clock S seconds off (negative: behind),
 * as a node without NTP has it: the protocol must recover from that.
 * desired --paced waits for a line on stdin before each check-in after
 * the first (and stops at its end), all in one session: a test decides
 * when a node checks in, without a new handshake each time.
 *
 * The protocol half of this file is the model the keeper follows:
 *
 *	cpclient_enroll()	 make an Ed25519 key pair, prove possession, register
 *	cpclient_handshake()	 open a session: signed X25519 exchange, crypto_kx
 *	cpclient_auth_line()	 the Authorization header for one request
 *	cpclient_request()	 a tagged request; re-handshakes once on a 401
 *			 session_expired (edge-cp restarted, TTL passed)
 *
 * The attack commands send hand-made requests that edge-cp must refuse and
 * print one line "STATUS" per request sent; each follows the refused
 * request with a control request (except replay, which leads with one), so
 * a test can tell "refused for the right reason" from "session broken":
 *
 *	replay		GET desired, then the same bytes again	200 401
 *	tamper		status body B under A's tag, then A	401 200
 *	stale		ts 1000 s in the past, then a fresh one	401 200
 *	wrong-node	tag made for another node id, then ours	401 200
 *
 * Exit status: 0 when every answer was the expected one, 1 otherwise
 * (details on stderr), 2 on a usage error.
 *
 * State file (mode 0600, written with afile_write): "key=value" lines
 * node_id, secret_key (base64 of the 64-byte Ed25519 secret key), server
 * and pin.  Line-based rather than JSON so the secret key never passes
 * through an allocator we cannot wipe, and so shell tests can read the
 * node id with sed.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/cpclient.h"
#include "common/httpc.h"
#include "common/json.h"
#include "common/nodeauth.h"
#include "common/util.h"

#define NC_STATE_MAX 4096
#define NC_COUNT_MAX 100000

struct nc_opts {
	const char *server;
	const char *pin;
	const char *token;
	const char *state;
	const char *hostname;
	const char *facts;
	const char *inm;
	const char *out;
	const char *body;
	const char *other_node;
	const char *path;
	int64_t count;
	bool paced;
	int64_t clock_off;
	bool bad_sig;
};

/* ---------------------------------------------------------------------
 * Transport: one httpc, so one kept-alive connection for all requests.
 */

/* ---------------------------------------------------------------------
 * State file.
 */

static int
nc_state_write(
    const char *path, const struct cp_ident *id, char *err, size_t errlen)
{
	char buf[NC_STATE_MAX], sk[128];
	int n, ret = -1;

	if (util_b64(sk, sizeof(sk), id->sk, sizeof(id->sk)) != 0) {
		snprintf(err, errlen, "cannot encode the key");
		goto out;
	}
	n = snprintf(buf, sizeof(buf),
	    "node_id=%s\nsecret_key=%s\n"
	    "server=%s\npin=%s\n",
	    id->node_id, sk, id->server, id->pin);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		snprintf(err, errlen, "state too large");
		goto out;
	}
	if (afile_write(path, buf, (size_t)n, 0600) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

/* Copy a state value into dst, refusing what does not fit. */
static int
nc_state_copy(char *dst, size_t len, const char *v, const char *key, char *err,
    size_t errlen)
{
	if (util_strlcpy(dst, v, len) >= len || v[0] == '\0') {
		snprintf(err, errlen, "state: %s empty or too long", key);
		return -1;
	}
	return 0;
}

static int
nc_state_read(const char *path, struct cp_ident *id, char *err, size_t errlen)
{
	char *buf = NULL, *line, *next, *eq;
	size_t len = 0;
	bool have_sk = false;
	int ret = -1;

	memset(id, 0, sizeof(*id));
	if (afile_read(path, NC_STATE_MAX, &buf, &len) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (line = buf; line < buf + len && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (line[0] == '\0')
			continue;
		if ((eq = strchr(line, '=')) == NULL) {
			snprintf(err, errlen, "%s: line without '='", path);
			goto out;
		}
		*eq++ = '\0';
		if (strcmp(line, "node_id") == 0) {
			if (nc_state_copy(id->node_id, sizeof(id->node_id), eq,
				line, err, errlen) != 0)
				goto out;
		} else if (strcmp(line, "server") == 0) {
			if (nc_state_copy(id->server, sizeof(id->server), eq,
				line, err, errlen) != 0)
				goto out;
		} else if (strcmp(line, "pin") == 0) {
			if (nc_state_copy(id->pin, sizeof(id->pin), eq, line,
				err, errlen) != 0)
				goto out;
		} else if (strcmp(line, "secret_key") == 0) {
			if (util_unb64(id->sk, sizeof(id->sk), eq) !=
			    (int)sizeof(id->sk)) {
				snprintf(
				    err, errlen, "%s: bad secret_key", path);
				goto out;
			}
			have_sk = true;
		} else {
			snprintf(err, errlen, "%s: unknown key %s", path, line);
			goto out;
		}
	}
	if (id->node_id[0] == '\0' || !have_sk) {
		snprintf(
		    err, errlen, "%s: node_id or secret_key missing", path);
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(buf, len);
	free(buf);
	if (ret != 0)
		sodium_memzero(id, sizeof(*id));
	return ret;
}

/* ---------------------------------------------------------------------
 * The protocol: what the keeper does.
 */

/* ---------------------------------------------------------------------
 * Commands.
 */

/* Load the state file and apply --server/--pin overrides, then connect. */
static int
nc_open(struct cpclient *c, const struct nc_opts *o, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (o->state == NULL) {
		snprintf(err, errlen, "--state is required");
		return -1;
	}
	if (nc_state_read(o->state, &c->id, err, errlen) != 0)
		return -1;
	if ((o->server != NULL &&
		nc_state_copy(c->id.server, sizeof(c->id.server), o->server,
		    "server", err, errlen) != 0) ||
	    (o->pin != NULL &&
		nc_state_copy(c->id.pin, sizeof(c->id.pin), o->pin, "pin", err,
		    errlen) != 0))
		return -1;
	if (c->id.server[0] == '\0') {
		snprintf(err, errlen, "no server: give --server");
		return -1;
	}
	if (cpclient_open(c, 0, err, errlen) != 0)
		return -1;
	/* A clock that is off: what the client believes before it learns. */
	c->clock_offset = o->clock_off;
	return 0;
}

/*
 * Save a document: atomically (afile_write) into a regular file, but
 * written straight into anything else (/dev/null, a pipe): renaming over
 * a device would replace the device with a file.
 */
static int
nc_save(const char *path, const void *buf, size_t len)
{
	struct stat sb;
	int fd, rc = 0;

	if (stat(path, &sb) != 0 || S_ISREG(sb.st_mode))
		return afile_write(path, buf, len, 0644);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	if (len > 0 && write(fd, buf, len) != (ssize_t)len)
		rc = -1;
	close(fd);
	return rc;
}

static int
cmd_enroll(const struct nc_opts *o)
{
	struct cpclient c;
	struct httpc_resp resp = { 0 };
	json_t *facts = NULL;
	char err[512], host[256];
	int ret = 1;

	memset(&c, 0, sizeof(c));
	if (o->server == NULL || o->pin == NULL || o->token == NULL ||
	    o->state == NULL) {
		fprintf(stderr,
		    "nodeclient: enroll needs --server, --pin, "
		    "--token and --state\n");
		return 2;
	}
	if (o->hostname != NULL)
		util_strlcpy(host, o->hostname, sizeof(host));
	else if (gethostname(host, sizeof(host)) != 0)
		util_strlcpy(host, "node", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	if (o->facts != NULL &&
	    json_parse_strict(o->facts, strlen(o->facts), 65536,
		JSON_DEFAULT_DEPTH, &facts, err, sizeof(err)) != 0) {
		fprintf(stderr, "nodeclient: --facts: %s\n", err);
		return 2;
	}
	if (nc_state_copy(c.id.server, sizeof(c.id.server), o->server, "server",
		err, sizeof(err)) != 0 ||
	    nc_state_copy(c.id.pin, sizeof(c.id.pin), o->pin, "pin", err,
		sizeof(err)) != 0 ||
	    cpclient_open(&c, 0, err, sizeof(err)) != 0)
		goto fail;
	if (cpclient_enroll(&c, o->token, host, facts, o->bad_sig, &resp, err,
		sizeof(err)) != 0) {
		if (resp.body != NULL)
			fprintf(stderr, "nodeclient: HTTP %ld %s\n",
			    resp.status, resp.body);
		goto fail;
	}
	if (nc_state_write(o->state, &c.id, err, sizeof(err)) != 0)
		goto fail;
	printf("%s\n", resp.body);
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "nodeclient: %s\n", err);
out:
	httpc_resp_clear(&resp);
	json_decref(facts);
	cpclient_close(&c);
	return ret;
}

static int
cmd_desired(const struct nc_opts *o)
{
	struct cpclient c;
	struct httpc_resp resp = { 0 };
	char err[512], etag[sizeof(resp.etag)] = "";
	int64_t i, count = o->count > 0 ? o->count : 1;
	int ret = 1;

	if (o->inm != NULL)
		util_strlcpy(etag, o->inm, sizeof(etag));
	if (nc_open(&c, o, err, sizeof(err)) != 0)
		goto fail;
	/* Like the keeper: send back the ETag of what we last received. */
	for (i = 0; i < count; i++) {
		char line[64];

		if (o->paced && i > 0 &&
		    fgets(line, sizeof(line), stdin) == NULL)
			break;
		if (cpclient_request(&c, "GET", "/v1/node/desired", etag, NULL,
			0, &resp, err, sizeof(err)) != 0)
			goto fail;
		printf("%ld %s\n", resp.status,
		    resp.etag[0] != '\0' ? resp.etag : "-");
		fflush(stdout);
		if (resp.status != 200 && resp.status != 304) {
			fprintf(stderr, "nodeclient: HTTP %ld %s\n",
			    resp.status, resp.body);
			goto out;
		}
		if (resp.etag[0] != '\0')
			util_strlcpy(etag, resp.etag, sizeof(etag));
		if (resp.status == 200 && o->out != NULL &&
		    nc_save(o->out, resp.body, resp.len) != 0) {
			snprintf(err, sizeof(err), "%s: %s", o->out,
			    strerror(errno));
			goto fail;
		}
		httpc_resp_clear(&resp);
	}
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "nodeclient: %s\n", err);
out:
	httpc_resp_clear(&resp);
	cpclient_close(&c);
	return ret;
}

static int
cmd_status(const struct nc_opts *o)
{
	struct cpclient c;
	struct httpc_resp resp = { 0 };
	char err[512];
	int ret = 1;

	if (o->body == NULL) {
		fprintf(stderr, "nodeclient: status needs --body JSON\n");
		return 2;
	}
	if (nc_open(&c, o, err, sizeof(err)) != 0 ||
	    cpclient_request(&c, "POST", "/v1/node/status", NULL, o->body,
		strlen(o->body), &resp, err, sizeof(err)) != 0) {
		fprintf(stderr, "nodeclient: %s\n", err);
		goto out;
	}
	printf("%ld %s\n", resp.status, resp.body);
	ret = resp.status == 200 ? 0 : 1;
out:
	httpc_resp_clear(&resp);
	cpclient_close(&c);
	return ret;
}

static int
nc_write_file(void *arg, const void *buf, size_t len, char *err, size_t errlen)
{
	FILE *f = arg;

	if (fwrite(buf, 1, len, f) != len) {
		snprintf(err, errlen, "write: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Any signed GET (release artifacts): prints the status; a 200's body is
 * streamed to --out (default: discarded).  Exit 0 only on a 200.
 */
static int
cmd_get(const struct nc_opts *o)
{
	struct cpclient c;
	struct httpc_resp resp = { 0 };
	struct httpc_stream st;
	const char *out = o->out != NULL ? o->out : "/dev/null";
	char err[512];
	FILE *f;
	int ret = 1;

	if (o->path == NULL || o->path[0] != '/') {
		fprintf(stderr, "nodeclient: get needs --path /...\n");
		return 2;
	}
	if ((f = fopen(out, "we")) == NULL) {
		fprintf(stderr, "nodeclient: %s: %s\n", out, strerror(errno));
		return 1;
	}
	memset(&st, 0, sizeof(st));
	st.fn = nc_write_file;
	st.arg = f;
	st.max = SIZE_MAX;
	st.timeout_ms = 300000;
	if (nc_open(&c, o, err, sizeof(err)) != 0 ||
	    cpclient_download(&c, o->path, &st, &resp, err, sizeof(err)) != 0) {
		fprintf(stderr, "nodeclient: %s\n", err);
		goto out;
	}
	printf("%ld\n", resp.status);
	if (resp.status != 200) {
		fprintf(stderr, "nodeclient: HTTP %ld %s\n", resp.status,
		    resp.body);
		goto out;
	}
	ret = 0;
out:
	if (fclose(f) != 0 && ret == 0) {
		fprintf(stderr, "nodeclient: %s: %s\n", out, strerror(errno));
		ret = 1;
	}
	httpc_resp_clear(&resp);
	cpclient_close(&c);
	return ret;
}

/* ---------------------------------------------------------------------
 * Attack hooks.  Each request is printed as one "STATUS" line on stdout;
 * the reason edge-cp gave goes to stderr.
 */

/* Print the status, explain it on stderr, and say if it was expected. */
static bool
nc_expect(const struct httpc_resp *r, long want, const char *what)
{
	printf("%ld\n", r->status);
	fflush(stdout);
	fprintf(stderr, "nodeclient: %s: HTTP %ld %s\n", what, r->status,
	    r->body != NULL ? r->body : "");
	if (want == 200 ? (r->status == 200 || r->status == 304)
			: r->status == want)
		return true;
	fprintf(stderr, "nodeclient: %s: expected %ld\n", what, want);
	return false;
}

static int
atk_replay(
    struct cpclient *c, const struct nc_opts *o, char *err, size_t errlen)
{
	struct httpc_resp r1 = { 0 }, r2 = { 0 };
	char line[CPCLIENT_AUTH_LINE];
	bool ok;
	int ret = -1;

	(void)o;
	if (cpclient_handshake(c, err, errlen) != 0 ||
	    cpclient_auth_line(&c->s, c->id.node_id, "GET", "/v1/node/desired",
		NULL, 0, ++c->s.ctr, util_now(), line, sizeof(line)) != 0)
		goto out;
	if (cpclient_send(c, "GET", "/v1/node/desired", line, NULL, NULL, 0,
		&r1, err, errlen) != 0)
		goto out;
	ok = nc_expect(&r1, 200, "original");
	if (cpclient_send(c, "GET", "/v1/node/desired", line, NULL, NULL, 0,
		&r2, err, errlen) != 0)
		goto out;
	ok = nc_expect(&r2, 401, "replayed") && ok;
	ret = ok ? 0 : 1;
out:
	sodium_memzero(line, sizeof(line));
	httpc_resp_clear(&r1);
	httpc_resp_clear(&r2);
	return ret;
}

static int
atk_tamper(
    struct cpclient *c, const struct nc_opts *o, char *err, size_t errlen)
{
	static const char body_a[] = "{\"generation\":\"tamper-a\"}";
	static const char body_b[] = "{\"generation\":\"tamper-b\"}";
	struct httpc_resp r1 = { 0 }, r2 = { 0 };
	char line[CPCLIENT_AUTH_LINE];
	bool ok;
	int ret = -1;

	(void)o;
	if (cpclient_handshake(c, err, errlen) != 0 ||
	    cpclient_auth_line(&c->s, c->id.node_id, "POST", "/v1/node/status",
		body_a, sizeof(body_a) - 1, ++c->s.ctr, util_now(), line,
		sizeof(line)) != 0)
		goto out;
	if (cpclient_send(c, "POST", "/v1/node/status", line, NULL, body_b,
		sizeof(body_b) - 1, &r1, err, errlen) != 0)
		goto out;
	ok = nc_expect(&r1, 401, "tampered body");
	/* The refused request did not use up the counter. */
	if (cpclient_send(c, "POST", "/v1/node/status", line, NULL, body_a,
		sizeof(body_a) - 1, &r2, err, errlen) != 0)
		goto out;
	ok = nc_expect(&r2, 200, "original body") && ok;
	ret = ok ? 0 : 1;
out:
	httpc_resp_clear(&r1);
	httpc_resp_clear(&r2);
	return ret;
}

static int
atk_stale(struct cpclient *c, const struct nc_opts *o, char *err, size_t errlen)
{
	struct httpc_resp r1 = { 0 }, r2 = { 0 };
	char line[CPCLIENT_AUTH_LINE];
	int64_t now = util_now();
	bool ok;
	int ret = -1;

	(void)o;
	/* A correct tag and a fresh counter: only the time is wrong. */
	if (cpclient_handshake(c, err, errlen) != 0 ||
	    cpclient_auth_line(&c->s, c->id.node_id, "GET", "/v1/node/desired",
		NULL, 0, ++c->s.ctr, now - 1000, line, sizeof(line)) != 0)
		goto out;
	if (cpclient_send(c, "GET", "/v1/node/desired", line, NULL, NULL, 0,
		&r1, err, errlen) != 0)
		goto out;
	ok = nc_expect(&r1, 401, "stale timestamp");
	if (r1.server_time < 0) {
		fprintf(stderr, "nodeclient: no X-Edge-Server-Time header\n");
		ok = false;
	} else
		fprintf(stderr,
		    "nodeclient: X-Edge-Server-Time: %lld (ours "
		    "%lld)\n",
		    (long long)r1.server_time, (long long)now);
	if (cpclient_request(c, "GET", "/v1/node/desired", NULL, NULL, 0, &r2,
		err, errlen) != 0)
		goto out;
	ok = nc_expect(&r2, 200, "fresh timestamp") && ok;
	ret = ok ? 0 : 1;
out:
	httpc_resp_clear(&r1);
	httpc_resp_clear(&r2);
	return ret;
}

static int
atk_wrong_node(
    struct cpclient *c, const struct nc_opts *o, char *err, size_t errlen)
{
	struct httpc_resp r1 = { 0 }, r2 = { 0 };
	char line[CPCLIENT_AUTH_LINE];
	const char *other = o->other_node;
	bool ok;
	int ret = -1;

	if (other == NULL)
		other = strcmp(c->id.node_id, "n-000000000000") == 0
		    ? "n-ffffffffffff"
		    : "n-000000000000";
	if (strcmp(other, c->id.node_id) == 0) {
		snprintf(err, errlen, "--other-node is this node");
		return -1;
	}
	/* Our session key, someone else's id in the tagged string. */
	if (cpclient_handshake(c, err, errlen) != 0 ||
	    cpclient_auth_line(&c->s, other, "GET", "/v1/node/desired", NULL, 0,
		++c->s.ctr, util_now(), line, sizeof(line)) != 0)
		goto out;
	if (cpclient_send(c, "GET", "/v1/node/desired", line, NULL, NULL, 0,
		&r1, err, errlen) != 0)
		goto out;
	ok = nc_expect(&r1, 401, "tag for another node");
	if (cpclient_request(c, "GET", "/v1/node/desired", NULL, NULL, 0, &r2,
		err, errlen) != 0)
		goto out;
	ok = nc_expect(&r2, 200, "tag for this node") && ok;
	ret = ok ? 0 : 1;
out:
	httpc_resp_clear(&r1);
	httpc_resp_clear(&r2);
	return ret;
}

static int
cmd_attack(const struct nc_opts *o,
    int (*fn)(struct cpclient *, const struct nc_opts *, char *, size_t))
{
	struct cpclient c;
	char err[512];
	int rc;

	if (nc_open(&c, o, err, sizeof(err)) != 0) {
		fprintf(stderr, "nodeclient: %s\n", err);
		cpclient_close(&c);
		return 1;
	}
	if ((rc = fn(&c, o, err, sizeof(err))) < 0)
		fprintf(stderr, "nodeclient: %s\n", err);
	cpclient_close(&c);
	return rc == 0 ? 0 : 1;
}

static int
cmd_replay(const struct nc_opts *o)
{
	return cmd_attack(o, atk_replay);
}

static int
cmd_tamper(const struct nc_opts *o)
{
	return cmd_attack(o, atk_tamper);
}

static int
cmd_stale(const struct nc_opts *o)
{
	return cmd_attack(o, atk_stale);
}

static int
cmd_wrong_node(const struct nc_opts *o)
{
	return cmd_attack(o, atk_wrong_node);
}

static const struct nc_cmd {
	const char *name;
	int (*fn)(const struct nc_opts *);
} nc_cmds[] = {
	{ "enroll", cmd_enroll },
	{ "desired", cmd_desired },
	{ "status", cmd_status },
	{ "get", cmd_get },
	{ "replay", cmd_replay },
	{ "tamper", cmd_tamper },
	{ "stale", cmd_stale },
	{ "wrong-node", cmd_wrong_node },
};

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
	    "usage: nodeclient enroll --server URL --pin PIN --token T "
	    "--state FILE\n"
	    "                  [--hostname H] [--facts JSON] "
	    "[--bad-signature]\n"
	    "       nodeclient desired --state FILE [--if-none-match ETAG] "
	    "[--count N] [--out FILE] [--paced]\n"
	    "       nodeclient status --state FILE --body JSON\n"
	    "       nodeclient get --state FILE --path P [--out FILE]\n"
	    "       nodeclient replay|tamper|stale|wrong-node --state FILE "
	    "[--other-node ID]\n"
	    "every command takes --server URL --pin sha256//... (default: "
	    "the state file's)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 'S' },
		{ "pin", required_argument, NULL, 'P' },
		{ "token", required_argument, NULL, 't' },
		{ "state", required_argument, NULL, 's' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "facts", required_argument, NULL, 'f' },
		{ "bad-signature", no_argument, NULL, 'B' },
		{ "if-none-match", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },
		{ "body", required_argument, NULL, 'b' },
		{ "other-node", required_argument, NULL, 'N' },
		{ "path", required_argument, NULL, 'p' },
		{ "clock-off", required_argument, NULL, 'C' },
		{ "paced", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct nc_opts o;
	const struct nc_cmd *cmd = NULL;
	size_t i;
	int c, rc;

	if (argc < 2)
		usage();
	for (i = 0; i < ARRAY_LEN(nc_cmds); i++)
		if (strcmp(argv[1], nc_cmds[i].name) == 0)
			cmd = &nc_cmds[i];
	if (cmd == NULL)
		usage();
	memset(&o, 0, sizeof(o));
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			o.server = optarg;
			break;
		case 'P':
			o.pin = optarg;
			break;
		case 't':
			o.token = optarg;
			break;
		case 's':
			o.state = optarg;
			break;
		case 'H':
			o.hostname = optarg;
			break;
		case 'f':
			o.facts = optarg;
			break;
		case 'B':
			o.bad_sig = true;
			break;
		case 'C':
			if (util_parse_i64(optarg, -86400 * 365, 86400 * 365,
				&o.clock_off) != 0) {
				fprintf(stderr, "nodeclient: --clock-off: seconds\n");
				return 2;
			}
			break;
		case 'i':
			o.inm = optarg;
			break;
		case 'n':
			if (util_parse_i64(optarg, 1, NC_COUNT_MAX, &o.count) !=
			    0) {
				fprintf(stderr,
				    "nodeclient: --count must be "
				    "1..%d\n",
				    NC_COUNT_MAX);
				return 2;
			}
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'c':
			o.paced = true;
			break;
		case 'b':
			o.body = optarg;
			break;
		case 'N':
			o.other_node = optarg;
			break;
		case 'p':
			o.path = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0 || httpc_global_init() != 0) {
		fprintf(stderr,
		    "nodeclient: cannot initialise libsodium or "
		    "libcurl\n");
		return 1;
	}
	rc = cmd->fn(&o);
	httpc_global_cleanup();
	return rc;
}
