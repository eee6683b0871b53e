/*
 * disable_unattended_upgrades {}: the fleet changes packages through its
 * profiles only, so apt's own periodic jobs are switched off twice over:
 *
 * - <root>/etc/apt/apt.conf.d/20auto-upgrades (the file the
 *   unattended-upgrades package's debconf question writes) holds exactly
 *   DUU_CONTENT below; we own the file and overwrite it whole;
 * - with systemd as PID 1, apt-daily.timer and apt-daily-upgrade.timer
 *   are masked ("systemctl mask --now" also stops them).  Masking works
 *   for timers that are not installed too, so the result is the same on
 *   a minimal image.
 *
 * Without systemd (containers, --root) only the file is checked and
 * written; the reason says the timers were not looked at.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/afile.h"
#include "common/exec.h"
#include "common/json.h"
#include "steps/kinds.h"

#define DUU_DIR "/etc/apt/apt.conf.d"
#define DUU_FILE DUU_DIR "/20auto-upgrades"
#define DUU_CONTENT                                                            \
	"APT::Periodic::Update-Package-Lists \"0\";\n"                         \
	"APT::Periodic::Unattended-Upgrade \"0\";\n"
#define DUU_TIMEOUT_MS (60 * 1000)
#define DUU_NO_SYSTEMD "timers not looked at: systemd is not PID 1"

/* Nothing to hold, but a non-NULL result is what callers expect. */
struct duu_params {
	char unused;
};

static int
duu_parse(const json_t *params, void **out, char *err, size_t errlen)
{
	static const char *const fields[] = { NULL };
	struct duu_params *p;

	*out = NULL;
	if (jfield_only(params, fields, err, errlen) != 0)
		return -1;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "params: out of memory");
		return -1;
	}
	*out = p;
	return 0;
}

static void
duu_free(void *p)
{
	free(p);
}

/* 1 when the file holds DUU_CONTENT, 0 when not, -1 on error (in res). */
static int
duu_file_ok(const char *path, struct step_result *res)
{
	char *have = NULL;
	size_t len;
	int rc;

	if (afile_read(path, 4096, &have, &len) != 0) {
		if (errno == ENOENT || errno == EFBIG)
			return 0;
		step_set(res, STEP_ERROR, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	rc = len == strlen(DUU_CONTENT) && memcmp(have, DUU_CONTENT, len) == 0;
	free(have);
	return rc;
}

/*
 * 1 when both timers are masked, 0 when not (what they are in why), -1
 * when systemctl could not be run (reason in res).
 */
static int
duu_timers_ok(char *why, size_t whylen, struct step_result *res)
{
	static const char *const argv[] = { "systemctl", "is-enabled",
		"apt-daily.timer", "apt-daily-upgrade.timer", NULL };
	struct exec_result r;
	const char *l;
	int n = 0;

	if (exec_run(argv, NULL, DUU_TIMEOUT_MS, &r) != 0) {
		step_set(
		    res, STEP_ERROR, "%s", step_oneline(why, whylen, r.out));
		return -1;
	}
	/* One line per unit; is-enabled exits non-zero for masked units. */
	for (l = r.out; *l != '\0'; n++) {
		size_t len = strcspn(l, "\n");

		if (len != strlen("masked") || strncmp(l, "masked", len) != 0)
			goto no;
		l += len;
		if (*l == '\n')
			l++;
	}
	if (n == 2)
		return 1;
no:
	step_oneline(why, whylen, r.out);
	return 0;
}

static void
duu_check(
    const void *params, const struct step_env *env, struct step_result *res)
{
	char path[4096], why[200];
	int file, timers = 1;

	(void)params;
	if (step_path(env, DUU_FILE, path, sizeof(path)) != 0) {
		step_set(res, STEP_ERROR, "%s: path too long", DUU_FILE);
		return;
	}
	if ((file = duu_file_ok(path, res)) < 0)
		return;
	if (env->systemd && (timers = duu_timers_ok(why, sizeof(why), res)) < 0)
		return;
	if (!env->systemd)
		step_set(res, file ? STEP_IN_SYNC : STEP_NEEDS_CHANGE, "%s%s",
		    file ? "" : DUU_FILE " differs; ", DUU_NO_SYSTEMD);
	else if (!file)
		step_set(res, STEP_NEEDS_CHANGE, "%s differs%s", DUU_FILE,
		    timers ? "" : "; apt timers are not masked");
	else if (!timers)
		step_set(res, STEP_NEEDS_CHANGE,
		    "apt timers are not masked (is-enabled: %s)", why);
	else
		step_set(res, STEP_IN_SYNC, "%s", "");
}

static int
duu_apply(
    const void *params, const struct step_env *env, struct step_result *res)
{
	static const char *const argv[] = { "systemctl", "mask", "--now",
		"apt-daily.timer", "apt-daily-upgrade.timer", NULL };
	char path[4096], why[400];
	struct exec_result r;
	int file;

	(void)params;
	if (step_path(env, DUU_FILE, path, sizeof(path)) != 0) {
		step_set(res, STEP_ERROR, "%s: path too long", DUU_FILE);
		return -1;
	}
	if ((file = duu_file_ok(path, res)) < 0)
		return -1;
	if (!file &&
	    (step_mkdirs(env, DUU_DIR, 0755) != 0 ||
		afile_write(path, DUU_CONTENT, strlen(DUU_CONTENT), 0644) !=
		    0)) {
		step_set(res, STEP_ERROR, "cannot write %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (!env->systemd) {
		step_set(res, STEP_IN_SYNC, "%s", DUU_NO_SYSTEMD);
		return 0;
	}
	if (duu_timers_ok(why, sizeof(why), res) == 1) {
		step_set(res, STEP_IN_SYNC, "%s", "");
		return 0;
	}
	if (exec_run(argv, NULL, DUU_TIMEOUT_MS, &r) != 0 || r.status != 0) {
		step_set(res, STEP_ERROR, "systemctl mask --now: %s",
		    step_oneline(why, sizeof(why), r.out));
		return -1;
	}
	step_set(res, STEP_IN_SYNC, "%s", "");
	return 0;
}

const struct step_kind step_disable_unattended_upgrades = {
	.name = "disable_unattended_upgrades",
	.parse = duu_parse,
	.free_params = duu_free,
	.check = duu_check,
	.apply = duu_apply,
	.retry_s = 60,
};
