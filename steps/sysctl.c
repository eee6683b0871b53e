/*
 * sysctl {key, value}: a kernel parameter, live and persisted.
 *
 * Live: /proc/sys/<key with dots as slashes> (env->proc_sys, never under
 * the root: net.* sysctls are per network namespace).  Persisted: one file
 * per key, <root>/etc/sysctl.d/90-edgefleet-<key>.conf, holding exactly
 * "key = value\n".  One file per key keeps the step idempotent without
 * parsing or merging a shared file, and two steps never fight over one
 * file.  The cost: a key dropped from the profile leaves its file behind
 * (nothing here knows which files are no longer wanted).
 *
 * Values are compared with white space normalised, because the kernel
 * prints vectors with tabs ("4096\t87380\t6291456") where a profile
 * writes spaces; the normalised form is what is written and persisted.
 * Numbers are JSON strings too, so "1" and 1 cannot both mean the same.
 *
 * The live value is written only when it differs: some parameters act on
 * every write, not only on a change.  A key whose /proc/sys entry does not
 * exist (a module not loaded, a typo) is an error, never created.  Keys
 * are limited to [a-z0-9_.-] with dots, so a parameter whose name holds a
 * dot itself (an interface "eth0.100") cannot be named.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/priv.h"
#include "common/json.h"
#include "common/util.h"
#include "steps/kinds.h"

#define SYSCTL_KEY_MAX 128
#define SYSCTL_VALUE_MAX 256
#define SYSCTL_READ_MAX 4096

struct sysctl_params {
	char key[SYSCTL_KEY_MAX + 1];
	char value[SYSCTL_VALUE_MAX + 1]; /* white space normalised */
};

static bool
sysctl_key_ok(const char *k)
{
	size_t i;
	bool dot = false;

	if (k[0] == '\0' || k[0] == '.' || strlen(k) > SYSCTL_KEY_MAX ||
	    k[strlen(k) - 1] == '.' || strstr(k, "..") != NULL)
		return false;
	for (i = 0; k[i] != '\0'; i++) {
		char c = k[i];

		if (c == '.')
			dot = true;
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			     c == '_' || c == '-'))
			return false;
	}
	return dot;
}

/* Collapse runs of blanks (space, tab, newline) to one space; trim. */
static void
sysctl_norm(char *dst, size_t len, const char *src)
{
	size_t o = 0;
	bool space = false;

	for (; *src != '\0' && o + 1 < len; src++) {
		if (*src == ' ' || *src == '\t' || *src == '\n') {
			space = o > 0;
			continue;
		}
		if (space) {
			if (o + 2 >= len)
				break;
			dst[o++] = ' ';
		}
		space = false;
		dst[o++] = *src;
	}
	dst[o] = '\0';
}

static int
sysctl_parse(const json_t *params, void **out, char *err, size_t errlen)
{
	static const char *const fields[] = { "key", "value", NULL };
	const char *key = NULL, *value = NULL, *c;
	struct sysctl_params *p;

	*out = NULL;
	if (jfield_only(params, fields, err, errlen) != 0 ||
	    jfield_str(
		params, "key", true, SYSCTL_KEY_MAX, &key, err, errlen) != 0 ||
	    jfield_str(params, "value", true, SYSCTL_VALUE_MAX, &value, err,
		errlen) != 0)
		return -1;
	if (!sysctl_key_ok(key)) {
		snprintf(err, errlen,
		    "key: must be dotted words of [a-z0-9_-], like "
		    "\"net.ipv4.ip_forward\"");
		return -1;
	}
	for (c = value; *c != '\0'; c++)
		if ((*c > 0 && *c < 0x20 && *c != '\t') || *c == 0x7f) {
			snprintf(err, errlen,
			    "value: control characters are not allowed");
			return -1;
		}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "key: out of memory");
		return -1;
	}
	util_strlcpy(p->key, key, sizeof(p->key));
	sysctl_norm(p->value, sizeof(p->value), value);
	if (p->value[0] == '\0') {
		free(p);
		snprintf(err, errlen, "value: must not be empty");
		return -1;
	}
	*out = p;
	return 0;
}

static void
sysctl_free(void *p)
{
	free(p);
}

static int
sysctl_paths(const struct sysctl_params *p, const struct step_env *env,
    char *proc, char *conf, size_t len)
{
	char host[sizeof("/etc/sysctl.d/90-edgefleet-.conf") + SYSCTL_KEY_MAX];
	size_t i;

	const char *ps = env->proc_sys ? env->proc_sys : "/proc/sys";
	size_t start = strlen(ps) + 1;

	/* Not under the root: net.* sysctls belong to the network namespace. */
	if ((size_t)snprintf(proc, len, "%s/%s", ps, p->key) >= len)
		return -1;
	for (i = start; proc[i] != '\0'; i++)
		if (proc[i] == '.')
			proc[i] = '/';
	snprintf(
	    host, sizeof(host), "/etc/sysctl.d/90-edgefleet-%s.conf", p->key);
	return step_path(env, host, conf, len);
}

/*
 * /proc files report a size of 0, so afile_read() does not fit: read up
 * to len - 1 bytes until end-of-file.  Returns 0 or -1 with errno.
 */
static int
sysctl_read(const char *path, char *buf, size_t len)
{
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (off + 1 < len) {
		ssize_t n = read(fd, buf + off, len - 1 - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	close(fd);
	return 0;
}

/* The persisted line, exactly. */
static void
sysctl_line(const struct sysctl_params *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s = %s\n", p->key, p->value);
}

/*
 * Compare the live value.  Returns 1 when in sync, 0 when it differs
 * (reason in res), -1 on error (reason in res).
 */
static int
sysctl_live(
    const struct sysctl_params *p, const char *proc, struct step_result *res)
{
	char raw[SYSCTL_READ_MAX], cur[SYSCTL_READ_MAX];

	if (sysctl_read(proc, raw, sizeof(raw)) != 0) {
		if (errno == ENOENT)
			step_set(res, STEP_ERROR,
			    "%s: no such kernel parameter (%s does not "
			    "exist; module not loaded?)",
			    p->key, proc);
		else
			step_set(res, STEP_ERROR, "%s: cannot read %s: %s",
			    p->key, proc, strerror(errno));
		return -1;
	}
	sysctl_norm(cur, sizeof(cur), raw);
	if (strcmp(cur, p->value) == 0)
		return 1;
	step_set(res, STEP_NEEDS_CHANGE, "%s is \"%.100s\", want \"%.100s\"",
	    p->key, cur, p->value);
	return 0;
}

/* Same contract as sysctl_live(), for the persisted file. */
static int
sysctl_persisted(
    const struct sysctl_params *p, const char *conf, struct step_result *res)
{
	char want[SYSCTL_KEY_MAX + SYSCTL_VALUE_MAX + 8];
	char *have = NULL;
	size_t len;
	int rc;

	sysctl_line(p, want, sizeof(want));
	if (afile_read(conf, sizeof(want), &have, &len) != 0) {
		if (errno == ENOENT) {
			step_set(res, STEP_NEEDS_CHANGE,
			    "%s is not persisted (%s is missing)", p->key,
			    conf);
			return 0;
		}
		if (errno == EFBIG) {
			step_set(res, STEP_NEEDS_CHANGE, "%s differs", conf);
			return 0;
		}
		step_set(res, STEP_ERROR, "cannot read %s: %s", conf,
		    strerror(errno));
		return -1;
	}
	rc = len == strlen(want) && memcmp(have, want, len) == 0;
	if (!rc)
		step_set(res, STEP_NEEDS_CHANGE, "%s differs", conf);
	free(have);
	return rc;
}

static void
sysctl_check(
    const void *params, const struct step_env *env, struct step_result *res)
{
	const struct sysctl_params *p = params;
	char proc[4096], conf[4096];

	if (sysctl_paths(p, env, proc, conf, sizeof(proc)) != 0) {
		step_set(res, STEP_ERROR, "%s: path too long", p->key);
		return;
	}
	if (sysctl_live(p, proc, res) != 1)
		return;
	if (sysctl_persisted(p, conf, res) != 1)
		return;
	step_set(res, STEP_IN_SYNC, "%s = %s", p->key, p->value);
}

/* One write: the kernel takes a sysctl value in a single write(2). */
static int
sysctl_write(
    const struct sysctl_params *p, const char *proc, struct step_result *res)
{
	char buf[SYSCTL_VALUE_MAX + 2];
	size_t len = (size_t)snprintf(buf, sizeof(buf), "%s\n", p->value);

	if (priv_sysctl_write(proc, buf, len) != 0) {
		step_set(res, STEP_ERROR, "cannot set %s to \"%.100s\": %s",
		    p->key, p->value, strerror(errno));
		return -1;
	}
	return 0;
}

static int
sysctl_apply(
    const void *params, const struct step_env *env, struct step_result *res)
{
	const struct sysctl_params *p = params;
	char proc[4096], conf[4096],
	    line[SYSCTL_KEY_MAX + SYSCTL_VALUE_MAX + 8];
	struct step_result tmp;
	int rc;

	if (sysctl_paths(p, env, proc, conf, sizeof(proc)) != 0) {
		step_set(res, STEP_ERROR, "%s: path too long", p->key);
		return -1;
	}
	if ((rc = sysctl_live(p, proc, &tmp)) < 0) {
		*res = tmp;
		return -1;
	}
	if (rc == 0 && sysctl_write(p, proc, res) != 0)
		return -1;
	if ((rc = sysctl_persisted(p, conf, &tmp)) < 0) {
		*res = tmp;
		return -1;
	}
	if (rc == 1)
		goto out;
	sysctl_line(p, line, sizeof(line));
	if (step_mkdirs(env, "/etc/sysctl.d", 0755) != 0 ||
	    afile_write(conf, line, strlen(line), 0644) != 0) {
		step_set(res, STEP_ERROR, "cannot persist %s in %s: %s", p->key,
		    conf, strerror(errno));
		return -1;
	}
out:
	step_set(res, STEP_IN_SYNC, "%s = %s", p->key, p->value);
	return 0;
}

const struct step_kind step_sysctl = {
	.name = "sysctl",
	.parse = sysctl_parse,
	.free_params = sysctl_free,
	.check = sysctl_check,
	.apply = sysctl_apply,
	.retry_s = 30,
};
