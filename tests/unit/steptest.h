/*
 * steptest: what the Step kind tests share: a temporary directory holding
 * a fake host root, a bin directory for recording stand-ins and a state
 * directory they answer from, plus small file helpers.
 *
 *	<tmp>/root	the step_env root
 *	<tmp>/bin	stand-ins (dpkg-query, apt-get, systemctl); the exec
 *			search path is this directory only, so a missing
 *			stand-in fails instead of running the real command
 *	<tmp>/state	files the stand-ins read and write
 *	<tmp>/log	one line per stand-in call: "name|arg|arg|...|"
 *
 * A test program calls st_setup() before its first RUN() and
 * st_teardown() after the last, so a failed CHECK (which returns from the
 * test) still leaves nothing behind.
 */
#ifndef EF_TESTS_STEPTEST_H
#define EF_TESTS_STEPTEST_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/exec.h"
#include "steps/step.h"

static char st_tmp[256], st_root[300], st_bin[300], st_state[300], st_log[300];

static inline int
st_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)f;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static inline int
st_rmtree(const char *path)
{
	return nftw(path, st_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdir -p of path's parent directories. */
static inline int
st_mkparents(const char *path)
{
	char buf[1024];
	size_t i;

	snprintf(buf, sizeof(buf), "%s", path);
	for (i = 1; buf[i] != '\0'; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		buf[i] = '/';
	}
	return 0;
}

/* Write content to path (parents created), then chmod to mode. */
static inline int
st_put(const char *path, const char *content, mode_t mode)
{
	FILE *f;
	int rc;

	if (st_mkparents(path) != 0 || (f = fopen(path, "w")) == NULL)
		return -1;
	rc = fputs(content, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc == 0 ? chmod(path, mode) : -1;
}

/* The whole file in buf (NUL-terminated), or NULL. */
static inline const char *
st_get(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* <root><host> in a static buffer (one at a time). */
static inline const char *
st_rpath(const char *host)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "%s%s", st_root, host);
	return buf;
}

/* Parse JSON text and hand it to the kind's parse(). */
static inline int
st_parse(const struct step_kind *k, const char *text, void **out, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	int rc;

	*out = NULL;
	err[0] = '\0';
	if (j == NULL) {
		snprintf(err, errlen, "test JSON: %s", je.text);
		return -2;
	}
	rc = k->parse(j, out, err, errlen);
	json_decref(j);
	return rc;
}

/*
 * Parse text and expect a refusal whose message starts with prefix.
 * Returns 1 when so.
 */
static inline int
st_refuses(const struct step_kind *k, const char *text, const char *prefix)
{
	char err[256];
	void *p = NULL;
	int rc = st_parse(k, text, &p, err, sizeof(err));

	if (rc == 0) {
		k->free_params(p);
		fprintf(stderr, "accepted: %s\n", text);
		return 0;
	}
	if (p != NULL || strncmp(err, prefix, strlen(prefix)) != 0) {
		fprintf(stderr, "%s: got \"%s\", want \"%s...\"\n", text, err,
		    prefix);
		return 0;
	}
	return 1;
}

/*
 * An executable stand-in bin/<name> with the script text, in which @LOG@
 * stands for the log file and @S@ for the state directory.  Stand-ins run
 * with PATH set to the bin directory, so they use shell built-ins only.
 */
static inline int
st_stub(const char *name, const char *script)
{
	char path[512], text[8192];
	size_t o = 0;
	const char *c;

	for (c = script; *c != '\0' && o + 300 < sizeof(text);) {
		if (strncmp(c, "@LOG@", 5) == 0) {
			o += (size_t)snprintf(
			    text + o, sizeof(text) - o, "%s", st_log);
			c += 5;
		} else if (strncmp(c, "@S@", 3) == 0) {
			o += (size_t)snprintf(
			    text + o, sizeof(text) - o, "%s", st_state);
			c += 3;
		} else
			text[o++] = *c++;
	}
	text[o] = '\0';
	snprintf(path, sizeof(path), "%s/%s", st_bin, name);
	return st_put(path, text, 0755);
}

/*
 * A systemctl stand-in.  Unit state lives in state/<unit>.en (is-enabled
 * word, default "disabled") and state/<unit>.act (is-active word, default
 * "inactive"); state/fail_<verb> makes that verb fail.
 */
static inline int
st_stub_systemctl(void)
{
	return st_stub("systemctl",
	    "#!/bin/sh\n"
	    "{ printf 'systemctl'; for a in \"$@\"; do printf '|%s' \"$a\"; "
	    "done; printf '|\\n'; } >> @LOG@\n"
	    "cmd=$1; shift\n"
	    "if [ -f \"@S@/fail_$cmd\" ]; then\n"
	    "	echo \"Failed to $cmd $1: Access denied\" >&2; exit 1\n"
	    "fi\n"
	    "case $cmd in\n"
	    "is-enabled)\n"
	    "	rc=1\n"
	    "	for u in \"$@\"; do\n"
	    "		s=disabled; [ -f \"@S@/$u.en\" ] && read s < "
	    "\"@S@/$u.en\"\n"
	    "		echo \"$s\"; [ \"$s\" = enabled ] && rc=0\n"
	    "	done\n"
	    "	exit $rc ;;\n"
	    "is-active)\n"
	    "	s=inactive; [ -f \"@S@/$1.act\" ] && read s < \"@S@/$1.act\"\n"
	    "	echo \"$s\"; [ \"$s\" = active ] && exit 0; exit 3 ;;\n"
	    "enable|disable) echo \"${cmd}d\" > \"@S@/$1.en\" ;;\n"
	    "start) echo active > \"@S@/$1.act\" ;;\n"
	    "stop) echo inactive > \"@S@/$1.act\" ;;\n"
	    "mask)\n"
	    "	[ \"$1\" = --now ] && shift\n"
	    "	for u in \"$@\"; do\n"
	    "		echo masked > \"@S@/$u.en\"; echo inactive > "
	    "\"@S@/$u.act\"\n"
	    "	done ;;\n"
	    "*) echo \"Unknown command verb $cmd.\" >&2; exit 1 ;;\n"
	    "esac\n"
	    "exit 0\n");
}

/* A file in the state directory the stand-ins answer from. */
static inline int
st_state_put(const char *name, const char *content)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", st_state, name);
	return st_put(path, content, 0644);
}

/* The stand-ins' log, and emptying it. */
static inline const char *
st_calls(void)
{
	static char buf[8192];

	return st_get(st_log, buf, sizeof(buf)) ? buf : "";
}

static inline void
st_calls_reset(void)
{
	(void)st_put(st_log, "", 0644);
}

/* Empty the root and the state directory. */
static inline void
st_reset(void)
{
	st_rmtree(st_root);
	st_rmtree(st_state);
	mkdir(st_root, 0755);
	mkdir(st_state, 0755);
	st_calls_reset();
}

static inline void
st_setup(const char *name)
{
	snprintf(st_tmp, sizeof(st_tmp), "/tmp/ef-%s-XXXXXX", name);
	if (mkdtemp(st_tmp) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(st_root, sizeof(st_root), "%s/root", st_tmp);
	snprintf(st_bin, sizeof(st_bin), "%s/bin", st_tmp);
	snprintf(st_state, sizeof(st_state), "%s/state", st_tmp);
	snprintf(st_log, sizeof(st_log), "%s/log", st_tmp);
	mkdir(st_bin, 0755);
	st_reset();
	exec_set_path(st_bin);
}

static inline void
st_teardown(void)
{
	st_rmtree(st_tmp);
}

/* Check, apply and parse through a kind's table, as the keeper does. */
static inline enum step_state
st_check(const struct step_kind *k, struct step_env e, void *p,
    struct step_result *res)
{
	memset(res, 0, sizeof(*res));
	k->check(p, &e, res);
	return res->state;
}

static inline int
st_apply(const struct step_kind *k, struct step_env e, void *p,
    struct step_result *res)
{
	memset(res, 0, sizeof(*res));
	return k->apply(p, &e, res);
}

/* Parse that must succeed; NULL (with the reason on stderr) if not. */
static inline void *
st_parse_ok(const struct step_kind *k, const char *text)
{
	char err[256];
	void *p = NULL;

	if (st_parse(k, text, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "parse %s: %s\n", text, err);
		return NULL;
	}
	return p;
}

#endif
