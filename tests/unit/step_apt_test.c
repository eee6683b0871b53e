/*
 * Unit tests of the apt_package Step kind with recording stand-ins for
 * dpkg-query and apt-get: they log their arguments and answer from the
 * state directory (state/installed holds the installed version,
 * state/status a raw dpkg status line, state/apt_fail and
 * state/dpkg_fail make them fail).  The real commands are never run:
 * the exec search path is the stand-ins' directory only.
 */
#include <string.h>

#include "check.h"
#include "steps/kinds.h"
#include "steptest.h"

static const struct step_kind *const K = &step_apt_package;

static const char dpkg_query[] =
    "#!/bin/sh\n"
    "{ printf 'dpkg-query'; for a in \"$@\"; do printf '|%s' \"$a\"; done;"
    " printf '|\\n'; } >> @LOG@\n"
    "if [ -f @S@/dpkg_fail ]; then\n"
    "	echo 'dpkg-query: error: parsing file status' >&2; exit 2\n"
    "fi\n"
    "if [ -f @S@/status ]; then\n"
    "	read s < @S@/status; printf '%s\\n' \"$s\"; exit 0\n"
    "fi\n"
    "if [ -f @S@/installed ]; then\n"
    "	read v < @S@/installed\n"
    "	printf 'install ok installed %s\\n' \"$v\"; exit 0\n"
    "fi\n"
    "echo \"dpkg-query: no packages found matching $4\" >&2\n"
    "exit 1\n";

static const char apt_get[] =
    "#!/bin/sh\n"
    "{ printf 'apt-get'; for a in \"$@\"; do printf '|%s' \"$a\"; done;"
    " printf '|DEBIAN_FRONTEND=%s\\n' \"$DEBIAN_FRONTEND\"; } >> @LOG@\n"
    "echo 'Reading package lists...'\n"
    "echo 'Building dependency tree...'\n"
    "if [ -f @S@/apt_fail ]; then\n"
    "	echo \"E: Unable to locate package ${6%%=*}\"; exit 100\n"
    "fi\n"
    "case \"$6\" in *=*) v=${6#*=} ;; *) v=1.0-1 ;; esac\n"
    "printf '%s\\n' \"$v\" > @S@/installed\n"
    "exit 0\n";

#define QUERY(name) "dpkg-query|-W|-f|${Status} ${Version}\\n|" name "|\n"
#define INSTALL(target)                                                        \
	"apt-get|install|-y|--no-install-recommends|-o|"                       \
	"DPkg::Lock::Timeout=60|" target "|DEBIAN_FRONTEND=noninteractive\n"

static struct step_env
env(void)
{
	/* Under a root the commands still run: they are not confined. */
	struct step_env e = { .root = st_root, .systemd = true, .now = 0 };

	return e;
}

static enum step_state
check(void *p, struct step_result *res)
{
	return st_check(K, env(), p, res);
}

static int
apply(void *p, struct step_result *res)
{
	return st_apply(K, env(), p, res);
}

static void *
parse_ok(const char *text)
{
	return st_parse_ok(K, text);
}

static void
reset(void)
{
	st_reset();
	st_stub("dpkg-query", dpkg_query);
	st_stub("apt-get", apt_get);
}

TEST(apt_parse_accepts)
{
	void *p;

	CHECK((p = parse_ok("{\"name\":\"bird2\"}")) != NULL);
	K->free_params(p);
	CHECK((p = parse_ok("{\"name\":\"libstdc++6\","
			    "\"version\":\"1:12.2.0-14+deb12u1~bpo.1\"}")) !=
	    NULL);
	K->free_params(p);
	CHECK(
	    (p = parse_ok("{\"name\":\"0ad-data\",\"version\":null}")) != NULL);
	K->free_params(p);
	CHECK(K->retry_s == 60);
}

TEST(apt_parse_refuses)
{
	CHECK(st_refuses(K, "{}", "name: required"));
	CHECK(st_refuses(K, "{\"version\":\"1\"}", "name: required"));
	CHECK(st_refuses(K, "{\"name\":1}", "name: must be a string"));
	CHECK(st_refuses(K, "{\"name\":\"a\"}", "name:"));
	CHECK(st_refuses(K, "{\"name\":\"Bird\"}", "name:"));
	CHECK(st_refuses(K, "{\"name\":\"-bird\"}", "name:"));
	CHECK(st_refuses(K, "{\"name\":\"+bird\"}", "name:"));
	CHECK(st_refuses(K, "{\"name\":\"bird 2\"}", "name:"));
	CHECK(st_refuses(K, "{\"name\":\"bird=2\"}", "name:"));
	CHECK(st_refuses(K, "{\"name\":\"bird:amd64\"}", "name:"));
	CHECK(
	    st_refuses(K, "{\"name\":\"bird\",\"version\":\"\"}", "version:"));
	CHECK(st_refuses(
	    K, "{\"name\":\"bird\",\"version\":\"1 2\"}", "version:"));
	CHECK(st_refuses(
	    K, "{\"name\":\"bird\",\"version\":\"1;rm\"}", "version:"));
	CHECK(st_refuses(K, "{\"name\":\"bird\",\"version\":2}",
	    "version: must be a string"));
	CHECK(st_refuses(K, "{\"name\":\"bird\",\"release\":\"x\"}",
	    "release: unknown field"));
}

TEST(apt_installs_missing_package)
{
	struct step_result res;
	void *p;

	reset();
	CHECK((p = parse_ok("{\"name\":\"bird2\"}")) != NULL);
	CHECK(check(p, &res) == STEP_NEEDS_CHANGE);
	CHECK(strstr(res.reason, "bird2 is not installed") != NULL);
	CHECK_STR(st_calls(), QUERY("bird2"));
	st_calls_reset();
	CHECK(apply(p, &res) == 0);
	CHECK_STR(st_calls(), INSTALL("bird2"));
	st_calls_reset();
	CHECK(check(p, &res) == STEP_IN_SYNC);
	/* Idempotent: the second check only queries. */
	CHECK(check(p, &res) == STEP_IN_SYNC);
	CHECK_STR(st_calls(), QUERY("bird2") QUERY("bird2"));
	K->free_params(p);
}

TEST(apt_pins_a_version)
{
	struct step_result res;
	void *p;

	reset();
	CHECK(st_state_put("installed", "2.0.10-1\n") == 0);
	CHECK((p = parse_ok("{\"name\":\"bird2\",\"version\":\"2.0.12-1\"}")) !=
	    NULL);
	CHECK(check(p, &res) == STEP_NEEDS_CHANGE);
	CHECK(strstr(res.reason, "2.0.10-1 installed, want 2.0.12-1") != NULL);
	st_calls_reset();
	CHECK(apply(p, &res) == 0);
	CHECK_STR(st_calls(), INSTALL("bird2=2.0.12-1"));
	CHECK(check(p, &res) == STEP_IN_SYNC);
	K->free_params(p);
	/* Without a version any installed one will do. */
	CHECK((p = parse_ok("{\"name\":\"bird2\"}")) != NULL);
	CHECK(check(p, &res) == STEP_IN_SYNC);
	K->free_params(p);
}

TEST(apt_removed_package_needs_install)
{
	struct step_result res;
	void *p;

	reset();
	CHECK(st_state_put("status", "deinstall ok config-files 2.0.12-1\n") ==
	    0);
	CHECK((p = parse_ok("{\"name\":\"bird2\"}")) != NULL);
	CHECK(check(p, &res) == STEP_NEEDS_CHANGE);
	CHECK(strstr(res.reason, "deinstall ok config-files") != NULL);
	K->free_params(p);
}

TEST(apt_failing_install_is_an_error)
{
	struct step_result res;
	void *p;

	reset();
	CHECK(st_state_put("apt_fail", "") == 0);
	CHECK((p = parse_ok("{\"name\":\"no-such-pkg\"}")) != NULL);
	CHECK(check(p, &res) == STEP_NEEDS_CHANGE);
	CHECK(apply(p, &res) == -1);
	CHECK(res.state == STEP_ERROR);
	CHECK(strstr(res.reason, "exit status 100") != NULL);
	CHECK(
	    strstr(res.reason, "Unable to locate package no-such-pkg") != NULL);
	CHECK(check(p, &res) == STEP_NEEDS_CHANGE);
	K->free_params(p);
}

TEST(apt_query_failure_is_an_error)
{
	struct step_result res;
	void *p;

	reset();
	CHECK(st_state_put("dpkg_fail", "") == 0);
	CHECK((p = parse_ok("{\"name\":\"bird2\"}")) != NULL);
	CHECK(check(p, &res) == STEP_ERROR);
	CHECK(strstr(res.reason, "exit status 2") != NULL);
	CHECK(strstr(res.reason, "parsing file status") != NULL);
	K->free_params(p);
}

TEST(apt_missing_command_is_an_error)
{
	struct step_result res;
	void *p;

	st_reset(); /* no stand-ins in the search path at all */
	CHECK((p = parse_ok("{\"name\":\"bird2\"}")) != NULL);
	{
		char path[512];

		snprintf(path, sizeof(path), "%s/dpkg-query", st_bin);
		unlink(path);
		snprintf(path, sizeof(path), "%s/apt-get", st_bin);
		unlink(path);
	}
	CHECK(check(p, &res) == STEP_ERROR);
	CHECK(strstr(res.reason, "dpkg-query: command not found") != NULL);
	CHECK(apply(p, &res) == -1);
	CHECK(strstr(res.reason, "apt-get: command not found") != NULL);
	K->free_params(p);
}

int
main(void)
{
	st_setup("apt");
	RUN(apt_parse_accepts);
	RUN(apt_parse_refuses);
	RUN(apt_installs_missing_package);
	RUN(apt_pins_a_version);
	RUN(apt_removed_package_needs_install);
	RUN(apt_failing_install_is_an_error);
	RUN(apt_query_failure_is_an_error);
	RUN(apt_missing_command_is_an_error);
	st_teardown();
	return check_done();
}
