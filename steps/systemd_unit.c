/*
 * systemd_unit {name, enabled, active}: a unit enabled or disabled, and
 * running or stopped.  Both booleans are required: "leave it as it is" is
 * no desired state.
 *
 * check:	systemctl is-enabled NAME, systemctl is-active NAME; their
 *		exit statuses are ignored (non-zero for disabled and
 *		inactive units), the first line of output is the state.
 * apply:	systemctl enable|disable NAME, then start|stop NAME, each
 *		only when that half differs.
 *
 * States that enable cannot change are errors when "enabled": true asks
 * for a change: static, generated and transient units have no [Install]
 * section, and a masked unit was masked by someone on purpose; we do not
 * unmask it.  "enabled": false is satisfied by anything but enabled and
 * enabled-runtime, and an unknown unit counts as disabled and inactive,
 * so a step that wants a unit gone is in sync when it does not exist.
 *
 * Without systemd as PID 1 (containers, --root) check says skipped with
 * "systemd is not PID 1"; the keeper reports that instead of applying.
 * A file step that changes a unit file does not daemon-reload here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/exec.h"
#include "common/json.h"
#include "common/util.h"
#include "steps/kinds.h"

#define SU_NAME_MAX 255
#define SU_QUERY_TIMEOUT_MS (30 * 1000)
#define SU_ENABLE_TIMEOUT_MS (60 * 1000)
#define SU_START_TIMEOUT_MS (5 * 60 * 1000)
#define SU_NO_SYSTEMD "systemd is not PID 1"

struct su_params {
	char name[SU_NAME_MAX + 1];
	bool enabled;
	bool active;
};

static bool
su_name_ok(const char *s)
{
	static const char *const types[] = { ".service", ".timer", ".socket",
		".target", ".mount", ".path", NULL };
	size_t i, n = strlen(s);

	if (s[0] == '-' || s[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '@' || c == '.' ||
			c == '_' || c == '-'))
			return false;
	}
	for (i = 0; types[i] != NULL; i++) {
		size_t t = strlen(types[i]);

		if (n > t && strcmp(s + n - t, types[i]) == 0)
			return true;
	}
	return false;
}

static int
su_parse(const json_t *params, void **out, char *err, size_t errlen)
{
	static const char *const fields[] = { "name", "enabled", "active",
		NULL };
	const char *name = NULL;
	bool enabled = false, active = false;
	struct su_params *p;

	*out = NULL;
	if (jfield_only(params, fields, err, errlen) != 0 ||
	    jfield_str(params, "name", true, SU_NAME_MAX, &name, err, errlen) !=
		0 ||
	    jfield_bool(params, "enabled", true, &enabled, err, errlen) != 0 ||
	    jfield_bool(params, "active", true, &active, err, errlen) != 0)
		return -1;
	if (!su_name_ok(name)) {
		snprintf(err, errlen,
		    "name: must match [A-Za-z0-9@._-]+ and end in .service, "
		    ".timer, .socket, .target, .mount or .path");
		return -1;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "name: out of memory");
		return -1;
	}
	util_strlcpy(p->name, name, sizeof(p->name));
	p->enabled = enabled;
	p->active = active;
	*out = p;
	return 0;
}

static void
su_free(void *p)
{
	free(p);
}

static bool
su_in(const char *word, const char *const *list)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(word, list[i]) == 0)
			return true;
	return false;
}

/*
 * systemctl VERB NAME; the first line of its output, trimmed, in word.
 * Returns 0, or -1 when it could not be run (reason in res).
 */
static int
su_query(const struct su_params *p, const char *verb, char *word, size_t len,
    struct step_result *res)
{
	const char *const argv[] = { "systemctl", verb, p->name, NULL };
	struct exec_result r;
	char line[256];

	if (exec_run(argv, NULL, SU_QUERY_TIMEOUT_MS, &r) != 0) {
		step_set(res, STEP_ERROR, "systemctl %s %s: %s", verb, p->name,
		    step_oneline(line, sizeof(line), r.out));
		return -1;
	}
	r.out[strcspn(r.out, "\n")] = '\0';
	step_oneline(word, len, r.out);
	return 0;
}

/*
 * Compare the unit with the params.  Returns -1 on error, else sets
 * *en_ok and *act_ok; res holds in_sync, or needs_change with a reason.
 */
static int
su_compare(const struct su_params *p, bool *en_ok, bool *act_ok,
    struct step_result *res)
{
	static const char *const on[] = { "enabled", "enabled-runtime", NULL };
	static const char *const fixed[] = { "static", "generated", "transient",
		NULL };
	static const char *const masked[] = { "masked", "masked-runtime",
		NULL };
	static const char *const running[] = { "active", "reloading",
		"refreshing", NULL };
	static const char *const known[] = { "active", "reloading",
		"refreshing", "inactive", "failed", "activating",
		"deactivating", "maintenance", NULL };
	char en[128], act[128];

	if (su_query(p, "is-enabled", en, sizeof(en), res) != 0 ||
	    su_query(p, "is-active", act, sizeof(act), res) != 0)
		return -1;
	if (p->enabled) {
		if (su_in(en, fixed) || su_in(en, masked)) {
			step_set(res, STEP_ERROR,
			    "%s is %s and cannot be enabled", p->name, en);
			return -1;
		}
		*en_ok = strcmp(en, "enabled") == 0;
	} else
		*en_ok = !su_in(en, on);
	if (!su_in(act, known)) {
		step_set(res, STEP_ERROR, "systemctl is-active %s: %s", p->name,
		    act);
		return -1;
	}
	*act_ok = su_in(act, running) == p->active;
	if (!*en_ok || !*act_ok)
		step_set(res, STEP_NEEDS_CHANGE,
		    "%s is %s and %s, want %s and %s", p->name, en, act,
		    p->enabled ? "enabled" : "disabled",
		    p->active ? "active" : "inactive");
	else
		step_set(
		    res, STEP_IN_SYNC, "%s is %s and %s", p->name, en, act);
	return 0;
}

static void
su_check(
    const void *params, const struct step_env *env, struct step_result *res)
{
	bool en_ok, act_ok;

	if (!env->systemd) {
		step_set(res, STEP_SKIPPED, SU_NO_SYSTEMD);
		return;
	}
	(void)su_compare(params, &en_ok, &act_ok, res);
}

static int
su_run(const struct su_params *p, const char *verb, int timeout_ms,
    struct step_result *res)
{
	const char *const argv[] = { "systemctl", verb, p->name, NULL };
	struct exec_result r;
	char line[400];

	if (exec_run(argv, NULL, timeout_ms, &r) == 0 && r.status == 0)
		return 0;
	step_set(res, STEP_ERROR, "systemctl %s %s: %s%s", verb, p->name,
	    r.timed_out || r.status < 0 ? "" : "failed: ",
	    step_oneline(line, sizeof(line), r.out));
	return -1;
}

static int
su_apply(
    const void *params, const struct step_env *env, struct step_result *res)
{
	const struct su_params *p = params;
	bool en_ok, act_ok;

	if (!env->systemd) {
		step_set(res, STEP_ERROR, SU_NO_SYSTEMD);
		return -1;
	}
	if (su_compare(p, &en_ok, &act_ok, res) != 0)
		return -1;
	if (!en_ok &&
	    su_run(p, p->enabled ? "enable" : "disable", SU_ENABLE_TIMEOUT_MS,
		res) != 0)
		return -1;
	if (!act_ok &&
	    su_run(p, p->active ? "start" : "stop", SU_START_TIMEOUT_MS, res) !=
		0)
		return -1;
	step_set(res, STEP_IN_SYNC, "%s is %s and %s", p->name,
	    p->enabled ? "enabled" : "disabled",
	    p->active ? "active" : "inactive");
	return 0;
}

const struct step_kind step_systemd_unit = {
	.name = "systemd_unit",
	.parse = su_parse,
	.free_params = su_free,
	.check = su_check,
	.apply = su_apply,
	.retry_s = 30,
};
