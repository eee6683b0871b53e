/*
 * apt_package {name, version?}: a Debian package installed, at a version
 * when one is given.
 *
 * check:	dpkg-query -W -f '${Status} ${Version}\n' NAME
 *		in sync when the status is "install ok installed" (and the
 *		version matches); dpkg-query's exit status 1 means the
 *		package is unknown, so it needs installing.
 * apply:	apt-get install -y --no-install-recommends
 *		    -o DPkg::Lock::Timeout=60 NAME[=VERSION]
 *		with DEBIAN_FRONTEND=noninteractive, at most 10 minutes.
 *
 * The package lists are not refreshed here (no apt-get update): which
 * lists a node installs from is part of its image, and an update on every
 * retry would hammer the mirrors.  A package apt cannot locate is an
 * error with apt's own words, retried after retry_s.
 *
 * Under --root the commands still run against the real host: dpkg has no
 * root prefix we could trust.  Tests put recording stand-ins first in the
 * exec search path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/exec.h"
#include "common/json.h"
#include "common/util.h"
#include "steps/kinds.h"

#define APT_NAME_MAX 128
#define APT_VERSION_MAX 128
#define APT_QUERY_TIMEOUT_MS (30 * 1000)
#define APT_INSTALL_TIMEOUT_MS (10 * 60 * 1000)
#define APT_INSTALLED "install ok installed "

struct apt_params {
	char name[APT_NAME_MAX + 1];
	char version[APT_VERSION_MAX + 1]; /* "" for any */
};

static bool
apt_name_ok(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (i = 1; s[i] != '\0'; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '+' || c == '.' || c == '-'))
			return false;
	}
	return i >= 2;
}

static bool
apt_version_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '+' ||
			c == '~' || c == ':' || c == '-'))
			return false;
	}
	return i > 0;
}

static int
apt_parse(const json_t *params, void **out, char *err, size_t errlen)
{
	static const char *const fields[] = { "name", "version", NULL };
	const char *name = NULL, *version = NULL;
	struct apt_params *p;

	*out = NULL;
	if (jfield_only(params, fields, err, errlen) != 0 ||
	    jfield_str(
		params, "name", true, APT_NAME_MAX, &name, err, errlen) != 0 ||
	    jfield_str(params, "version", false, APT_VERSION_MAX, &version, err,
		errlen) != 0)
		return -1;
	if (!apt_name_ok(name)) {
		snprintf(err, errlen, "name: must match [a-z0-9][a-z0-9+.-]+");
		return -1;
	}
	if (version != NULL && !apt_version_ok(version)) {
		snprintf(err, errlen, "version: must match [A-Za-z0-9.+~:-]+");
		return -1;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "name: out of memory");
		return -1;
	}
	util_strlcpy(p->name, name, sizeof(p->name));
	util_strlcpy(
	    p->version, version != NULL ? version : "", sizeof(p->version));
	*out = p;
	return 0;
}

static void
apt_free(void *p)
{
	free(p);
}

/*
 * apt-get prints progress first and its errors ("E: ...") last; the
 * reason carries the errors when there are any, else the output's start.
 */
static void
apt_errors(const char *out, char *buf, size_t len)
{
	char lines[EXEC_OUT_MAX];
	const char *l = out;
	size_t o = 0;

	while (*l != '\0') {
		size_t n = strcspn(l, "\n");

		if (n > 3 && strncmp(l, "E: ", 3) == 0 && o + 2 < sizeof(lines))
			o += (size_t)snprintf(lines + o, sizeof(lines) - o,
			    "%s%.*s", o > 0 ? "; " : "", (int)n - 3, l + 3);
		l += n;
		if (*l == '\n')
			l++;
	}
	if (o >= sizeof(lines))
		o = sizeof(lines) - 1;
	lines[o] = '\0';
	step_oneline(buf, len, o > 0 ? lines : out);
}

static void
apt_check(
    const void *params, const struct step_env *env, struct step_result *res)
{
	const struct apt_params *p = params;
	const char *const argv[] = { "dpkg-query", "-W", "-f",
		"${Status} ${Version}\\n", p->name, NULL };
	struct exec_result rr, *r = &rr;
	char line[256];
	const char *have;

	(void)env;
	if (exec_run(argv, NULL, APT_QUERY_TIMEOUT_MS, r) != 0) {
		step_set(res, STEP_ERROR, "%s",
		    step_oneline(line, sizeof(line), r->out));
		return;
	}
	if (r->status == 1) {
		step_set(
		    res, STEP_NEEDS_CHANGE, "%s is not installed", p->name);
		return;
	}
	if (r->status != 0) {
		step_set(res, STEP_ERROR, "dpkg-query %s: exit status %d: %s",
		    p->name, r->status,
		    step_oneline(line, sizeof(line), r->out));
		return;
	}
	/* The first line only: a multi-arch package prints one per arch. */
	r->out[strcspn(r->out, "\n")] = '\0';
	if (strncmp(r->out, APT_INSTALLED, strlen(APT_INSTALLED)) != 0) {
		step_set(res, STEP_NEEDS_CHANGE, "%s is not installed (%s)",
		    p->name, step_oneline(line, sizeof(line), r->out));
		return;
	}
	have = r->out + strlen(APT_INSTALLED);
	if (p->version[0] != '\0' && strcmp(have, p->version) != 0)
		step_set(res, STEP_NEEDS_CHANGE, "%s %.100s installed, want %s",
		    p->name, have, p->version);
	else
		step_set(
		    res, STEP_IN_SYNC, "%s %.100s installed", p->name, have);
}

static int
apt_apply(
    const void *params, const struct step_env *env, struct step_result *res)
{
	const struct apt_params *p = params;
	static const char *const envx[] = { "DEBIAN_FRONTEND=noninteractive",
		NULL };
	char target[APT_NAME_MAX + APT_VERSION_MAX + 2], why[400];
	const char *const argv[] = { "apt-get", "install", "-y",
		"--no-install-recommends", "-o", "DPkg::Lock::Timeout=60",
		target, NULL };
	struct exec_result r;

	(void)env;
	if (p->version[0] != '\0')
		snprintf(target, sizeof(target), "%s=%s", p->name, p->version);
	else
		snprintf(target, sizeof(target), "%s", p->name);
	if (exec_run(argv, envx, APT_INSTALL_TIMEOUT_MS, &r) != 0) {
		step_set(res, STEP_ERROR, "apt-get install %s: %s", target,
		    step_oneline(why, sizeof(why), r.out));
		return -1;
	}
	if (r.status != 0) {
		apt_errors(r.out, why, sizeof(why));
		step_set(res, STEP_ERROR,
		    "apt-get install %s failed (exit status %d): %s", target,
		    r.status, why);
		return -1;
	}
	step_set(res, STEP_IN_SYNC, "installed %s", target);
	return 0;
}

const struct step_kind step_apt_package = {
	.name = "apt_package",
	.parse = apt_parse,
	.free_params = apt_free,
	.check = apt_check,
	.apply = apt_apply,
	.retry_s = 60,
};
