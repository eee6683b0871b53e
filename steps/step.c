/*
 * step: what every kind shares: finding a kind by name, confining host
 * paths to the root, filling results, and two helpers for the kinds
 * (steps/kinds.h).
 */
#include "steps/step.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/priv.h"
#include "common/util.h"
#include "steps/kinds.h"

const struct step_kind *
step_kind_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; step_kinds[i] != NULL; i++)
		if (strcmp(step_kinds[i]->name, name) == 0)
			return step_kinds[i];
	return NULL;
}

/* True when some '/'-separated component of path is "..". */
static bool
step_has_dotdot(const char *path)
{
	const char *p = path;

	while (*p != '\0') {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += n;
		if (*p == '/')
			p++;
	}
	return false;
}

int
step_path(const struct step_env *env, const char *path, char *out, size_t len)
{
	const char *root = env != NULL && env->root != NULL ? env->root : "";

	if (path == NULL || path[0] != '/' || step_has_dotdot(path))
		return -1;
	if ((size_t)snprintf(out, len, "%s%s", root, path) >= len)
		return -1;
	return 0;
}

void
step_set(struct step_result *res, enum step_state state, const char *fmt, ...)
{
	va_list ap;

	res->state = state;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

const char *
step_state_name(enum step_state s)
{
	switch (s) {
	case STEP_IN_SYNC:
		return "in_sync";
	case STEP_NEEDS_CHANGE:
		return "needs_change";
	case STEP_ERROR:
		return "error";
	case STEP_SKIPPED:
		return "skipped";
	}
	return "unknown";
}

int
step_mkdirs(const struct step_env *env, const char *dir, mode_t mode)
{
	char buf[4096];

	if (step_path(env, dir, buf, sizeof(buf)) != 0) {
		errno = EINVAL;
		return -1;
	}
	/* Components of the root are not ours to create. */
	return priv_mkdirs(buf,
	    strlen(env != NULL && env->root != NULL ? env->root : ""), mode);
}

const char *
step_oneline(char *buf, size_t len, const char *s)
{
	size_t o = 0;
	bool space = false;

	if (len == 0)
		return buf;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == ' ' || (c >= '\t' && c <= '\r')) {
			space = o > 0;
			continue;
		}
		if (o + (space ? 1 : 0) + 1 >= len) {
			/* Cut: end in "..." if there is room for it. */
			if (len >= 4) {
				o = o < len - 4 ? o : len - 4;
				memcpy(buf + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (space)
			buf[o++] = ' ';
		space = false;
		buf[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	buf[o] = '\0';
	return buf;
}
