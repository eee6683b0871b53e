#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/afile.h"
#include "common/log.h"
#include "common/util.h"
#include "keeper/keeper.h"
#include "keeper/privsep.h"
#include "keeper/selfup.h"

#define CONF_PATH "/etc/edge-keeper/keeper.conf"
#define KEY_PATH "/var/lib/edge-keeper/node.key"

void
keeper_path(
    const struct keeper_conf *c, const char *path, char *out, size_t len)
{
	if ((size_t)snprintf(out, len, "%s%s", c->root, path) >= len)
		fatalx("event=path_too_long root=%s", c->root);
}

static int
conf_set(char *dst, size_t len, const char *v, const char *key, char *err,
    size_t errlen)
{
	if (util_strlcpy(dst, v, len) >= len) {
		snprintf(err, errlen, "keeper.conf: %s too long", key);
		return -1;
	}
	return 0;
}

/* write_allow: 1 to 32 absolute, plain paths, comma-separated. */
static int
conf_write_allow(const char *v, const char *path, char *err, size_t errlen)
{
	const char *p = v;
	int n = 0;

	for (;;) {
		size_t len = strcspn(p, ",");

		if (!privsep_plain(p, len) || ++n > 32) {
			snprintf(err, errlen,
			    "%s: write_allow: comma-separated absolute paths "
			    "without . or .. components, at most 32",
			    path);
			return -1;
		}
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}

int
keeper_conf_load(struct keeper_conf *c, char *err, size_t errlen)
{
	char path[KEEPER_PATH_MAX], *buf = NULL, *line, *next, *eq;
	size_t len;
	int rc = -1, e;

	c->interval_s = 5;
	c->trial_s = SELFUP_TRIAL_S;
	util_strlcpy(c->user, KEEPER_USER, sizeof(c->user));
	util_strlcpy(c->dp_user, KEEPER_DP_USER, sizeof(c->dp_user));
	util_strlcpy(c->metrics, "127.0.0.1:9464", sizeof(c->metrics));
	keeper_path(c, CONF_PATH, path, sizeof(path));
	if (afile_read(path, 16384, &buf, &len) != 0) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	for (line = buf; *line != '\0'; line = next) {
		int64_t v;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((eq = strchr(line, '=')) == NULL) {
			snprintf(err, errlen, "%s: line without '='", path);
			goto out;
		}
		*eq++ = '\0';
		if (strcmp(line, "server") == 0) {
			if (conf_set(c->server, sizeof(c->server), eq, line,
				err, errlen) != 0)
				goto out;
		} else if (strcmp(line, "pin") == 0) {
			if (conf_set(c->pin, sizeof(c->pin), eq, line, err,
				errlen) != 0)
				goto out;
		} else if (strcmp(line, "node_id") == 0) {
			if (conf_set(c->node_id, sizeof(c->node_id), eq, line,
				err, errlen) != 0)
				goto out;
		} else if (strcmp(line, "metrics") == 0) {
			if (conf_set(c->metrics, sizeof(c->metrics), eq, line,
				err, errlen) != 0)
				goto out;
		} else if (strcmp(line, "user") == 0) {
			if (conf_set(c->user, sizeof(c->user), eq, line, err,
				errlen) != 0)
				goto out;
		} else if (strcmp(line, "dataplane_user") == 0) {
			if (conf_set(c->dp_user, sizeof(c->dp_user), eq, line,
				err, errlen) != 0)
				goto out;
			if (!util_name_ok(c->dp_user)) {
				snprintf(err, errlen,
				    "%s: dataplane_user: a user name", path);
				goto out;
			}
		} else if (strcmp(line, "write_allow") == 0) {
			if (conf_set(c->write_allow, sizeof(c->write_allow), eq,
				line, err, errlen) != 0 ||
			    conf_write_allow(
				c->write_allow, path, err, errlen) != 0)
				goto out;
		} else if (strcmp(line, "tool_path") == 0) {
			if (conf_set(c->tool_path, sizeof(c->tool_path), eq,
				line, err, errlen) != 0)
				goto out;
		} else if (strcmp(line, "interval_s") == 0) {
			if (util_parse_i64(eq, 1, 300, &v) != 0) {
				snprintf(err, errlen,
				    "%s: interval_s must be "
				    "1-300",
				    path);
				goto out;
			}
			c->interval_s = v;
		} else if (strcmp(line, "trial_s") == 0) {
			if (util_parse_i64(eq, 5, 3600, &v) != 0) {
				snprintf(err, errlen,
				    "%s: trial_s must be 5-3600", path);
				goto out;
			}
			c->trial_s = v;
		} else {
			snprintf(
			    err, errlen, "%s: unknown key %.40s", path, line);
			goto out;
		}
	}
	if (c->server[0] == '\0' || c->node_id[0] == '\0' ||
	    c->pin[0] == '\0') {
		snprintf(err, errlen,
		    "%s: server, pin and node_id are "
		    "required",
		    path);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

int
keeper_conf_save(const struct keeper_conf *c, char *err, size_t errlen)
{
	char path[KEEPER_PATH_MAX], buf[4096], trial[40] = "", user[96] = "";
	char dpuser[96] = "", allow[sizeof(c->write_allow) + 16] = "";
	int n;

	keeper_path(c, CONF_PATH, path, sizeof(path));
	if (c->trial_s > 0 && c->trial_s != SELFUP_TRIAL_S)
		snprintf(trial, sizeof(trial), "trial_s=%lld\n",
		    (long long)c->trial_s);
	if (c->user[0] != '\0' && strcmp(c->user, KEEPER_USER) != 0)
		snprintf(user, sizeof(user), "user=%s\n", c->user);
	if (c->dp_user[0] != '\0' && strcmp(c->dp_user, KEEPER_DP_USER) != 0)
		snprintf(
		    dpuser, sizeof(dpuser), "dataplane_user=%s\n", c->dp_user);
	if (c->write_allow[0] != '\0')
		snprintf(
		    allow, sizeof(allow), "write_allow=%s\n", c->write_allow);
	n = snprintf(buf, sizeof(buf),
	    "# Written by edge-keeper enroll.\n"
	    "server=%s\npin=%s\nnode_id=%s\ninterval_s=%lld\nmetrics=%s\n%s%s%"
	    "s%s%s%s%s",
	    c->server, c->pin, c->node_id, (long long)c->interval_s, c->metrics,
	    c->tool_path[0] ? "tool_path=" : "", c->tool_path,
	    c->tool_path[0] ? "\n" : "", trial, user, dpuser, allow);
	if (n < 0 || (size_t)n >= sizeof(buf) ||
	    afile_write(path, buf, (size_t)n, 0644) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
keeper_key_load(const struct keeper_conf *c,
    unsigned char sk[crypto_sign_SECRETKEYBYTES], char *err, size_t errlen)
{
	char path[KEEPER_PATH_MAX], *buf = NULL;
	size_t len;
	int rc = -1;

	keeper_path(c, KEY_PATH, path, sizeof(path));
	if (afile_read(path, 1024, &buf, &len) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf[strcspn(buf, "\n")] = '\0';
	if (util_unb64(sk, crypto_sign_SECRETKEYBYTES, buf) !=
	    crypto_sign_SECRETKEYBYTES)
		snprintf(err, errlen, "%s: not a node key", path);
	else
		rc = 0;
	sodium_memzero(buf, len);
	free(buf);
	return rc;
}

int
keeper_key_save(const struct keeper_conf *c,
    const unsigned char sk[crypto_sign_SECRETKEYBYTES], char *err,
    size_t errlen)
{
	char path[KEEPER_PATH_MAX], b64[128];
	size_t n;
	int rc = 0;

	keeper_path(c, KEY_PATH, path, sizeof(path));
	util_b64(b64, sizeof(b64), sk, crypto_sign_SECRETKEYBYTES);
	n = strlen(b64);
	b64[n++] = '\n';
	if (afile_write(path, b64, n, 0600) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	sodium_memzero(b64, sizeof(b64));
	return rc;
}

/* mkdir -p for one of our absolute directories under the root. */
static int
mkdirs(const struct keeper_conf *c, const char *dir, mode_t mode, char *err,
    size_t errlen)
{
	char path[KEEPER_PATH_MAX];
	size_t i, start = strlen(c->root) + 1;

	keeper_path(c, dir, path, sizeof(path));
	for (i = start; path[i] != '\0'; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			goto fail;
		path[i] = '/';
	}
	if (mkdir(path, mode) != 0 && errno != EEXIST)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
	return -1;
}

void
keeper_sweep(const struct keeper_conf *c)
{
	static const char *const dirs[] = { "/etc/edge-keeper",
		"/var/lib/edge-keeper", "/var/lib/edge-keeper/dataplane",
		"/var/lib/edge-keeper/keeper", NULL };
	char path[KEEPER_PATH_MAX];
	size_t i;
	int n;

	for (i = 0; dirs[i] != NULL; i++) {
		keeper_path(c, dirs[i], path, sizeof(path));
		if ((n = afile_sweep(path)) > 0)
			log_info("event=swept dir=%s files=%d msg=\"temporary "
				 "files of an interrupted write\"",
			    path, n);
		else if (n < 0)
			log_warn("event=sweep_failed dir=%s", path);
	}
}

int
keeper_dirs(const struct keeper_conf *c, char *err, size_t errlen)
{
	if (c->root[0] != '\0' && mkdir(c->root, 0755) != 0 &&
	    errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", c->root, strerror(errno));
		return -1;
	}
	return mkdirs(c, "/etc/edge-keeper", 0755, err, errlen) != 0 ||
		mkdirs(c, "/var/lib/edge-keeper", 0700, err, errlen) != 0
	    ? -1
	    : 0;
}
