/*
 * Unit tests of the disable_unattended_upgrades Step kind: the apt
 * configuration file under a temporary root, and the timers through a
 * recording systemctl stand-in (steptest.h).
 */
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "steps/kinds.h"
#include "steptest.h"

#define AUTO "/etc/apt/apt.conf.d/20auto-upgrades"
#define AUTO_CONTENT                                                           \
	"APT::Periodic::Update-Package-Lists \"0\";\n"                         \
	"APT::Periodic::Unattended-Upgrade \"0\";\n"
#define IS_ENABLED                                                             \
	"systemctl|is-enabled|apt-daily.timer|apt-daily-upgrade.timer|\n"
#define MASK "systemctl|mask|--now|apt-daily.timer|apt-daily-upgrade.timer|\n"

static const struct step_kind *const K = &step_disable_unattended_upgrades;

static enum step_state
check(void *p, bool systemd, struct step_result *res)
{
	struct step_env e = { .root = st_root, .systemd = systemd };

	memset(res, 0, sizeof(*res));
	K->check(p, &e, res);
	return res->state;
}

static int
apply(void *p, bool systemd, struct step_result *res)
{
	struct step_env e = { .root = st_root, .systemd = systemd };

	memset(res, 0, sizeof(*res));
	return K->apply(p, &e, res);
}

static void *
parse_ok(void)
{
	char err[256];
	void *p = NULL;

	if (st_parse(K, "{}", &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "parse: %s\n", err);
		return NULL;
	}
	return p;
}

static void
reset(void)
{
	st_reset();
	st_stub_systemctl();
}

TEST(duu_parse)
{
	void *p;

	CHECK((p = parse_ok()) != NULL);
	K->free_params(p);
	CHECK(st_refuses(K, "{\"timers\":true}", "timers: unknown field"));
	CHECK(st_refuses(K, "{\"x\":null}", "x: unknown field"));
}

TEST(duu_without_systemd_writes_only_the_file)
{
	struct step_result res;
	char buf[512];
	struct stat st;
	void *p;

	reset();
	CHECK((p = parse_ok()) != NULL);
	CHECK(check(p, false, &res) == STEP_NEEDS_CHANGE);
	CHECK(strstr(res.reason, AUTO " differs") != NULL);
	CHECK(strstr(res.reason, "timers not looked at") != NULL);
	CHECK(apply(p, false, &res) == 0);
	CHECK_STR(st_get(st_rpath(AUTO), buf, sizeof(buf)), AUTO_CONTENT);
	CHECK(stat(st_rpath(AUTO), &st) == 0 && (st.st_mode & 07777) == 0644);
	CHECK(check(p, false, &res) == STEP_IN_SYNC);
	CHECK(strstr(res.reason,
		  "timers not looked at: systemd is not PID 1") != NULL);
	CHECK(check(p, false, &res) == STEP_IN_SYNC);
	/* systemctl was never asked. */
	CHECK_STR(st_calls(), "");
	K->free_params(p);
}

TEST(duu_overwrites_the_packages_file)
{
	struct step_result res;
	char buf[512];
	void *p;

	reset();
	CHECK(st_put(st_rpath(AUTO),
		  "APT::Periodic::Update-Package-Lists \"1\";\n"
		  "APT::Periodic::Unattended-Upgrade \"1\";\n",
		  0644) == 0);
	CHECK((p = parse_ok()) != NULL);
	CHECK(check(p, false, &res) == STEP_NEEDS_CHANGE);
	CHECK(apply(p, false, &res) == 0);
	CHECK_STR(st_get(st_rpath(AUTO), buf, sizeof(buf)), AUTO_CONTENT);
	/* Our content plus a line: differs again. */
	CHECK(st_put(st_rpath(AUTO), AUTO_CONTENT "// x\n", 0644) == 0);
	CHECK(check(p, false, &res) == STEP_NEEDS_CHANGE);
	K->free_params(p);
}

TEST(duu_with_systemd_masks_the_timers)
{
	struct step_result res;
	char buf[512];
	void *p;

	reset();
	CHECK(st_state_put("apt-daily.timer.en", "enabled\n") == 0);
	CHECK(st_state_put("apt-daily-upgrade.timer.en", "enabled\n") == 0);
	CHECK((p = parse_ok()) != NULL);
	CHECK(check(p, true, &res) == STEP_NEEDS_CHANGE);
	CHECK_STR(st_calls(), IS_ENABLED);
	st_calls_reset();
	CHECK(apply(p, true, &res) == 0);
	CHECK_STR(st_calls(), IS_ENABLED MASK);
	CHECK_STR(st_get(st_rpath(AUTO), buf, sizeof(buf)), AUTO_CONTENT);
	st_calls_reset();
	CHECK(check(p, true, &res) == STEP_IN_SYNC);
	CHECK(check(p, true, &res) == STEP_IN_SYNC);
	CHECK_STR(st_calls(), IS_ENABLED IS_ENABLED);
	K->free_params(p);
}

TEST(duu_one_timer_unmasked_needs_change)
{
	struct step_result res;
	void *p;

	reset();
	CHECK(st_put(st_rpath(AUTO), AUTO_CONTENT, 0644) == 0);
	CHECK(st_state_put("apt-daily.timer.en", "masked\n") == 0);
	CHECK((p = parse_ok()) != NULL);
	CHECK(check(p, true, &res) == STEP_NEEDS_CHANGE);
	CHECK(strstr(res.reason, "not masked") != NULL);
	CHECK(strstr(res.reason, "masked disabled") != NULL);
	CHECK(apply(p, true, &res) == 0);
	CHECK(check(p, true, &res) == STEP_IN_SYNC);
	K->free_params(p);
}

TEST(duu_failing_mask_is_an_error)
{
	struct step_result res;
	void *p;

	reset();
	CHECK(st_state_put("fail_mask", "") == 0);
	CHECK((p = parse_ok()) != NULL);
	CHECK(apply(p, true, &res) == -1);
	CHECK(res.state == STEP_ERROR);
	CHECK(strstr(res.reason, "Access denied") != NULL);
	/* The file half was done before the timers. */
	CHECK(check(p, true, &res) == STEP_NEEDS_CHANGE);
	CHECK(strstr(res.reason, "not masked") != NULL);
	K->free_params(p);
}

int
main(void)
{
	st_setup("unattended");
	RUN(duu_parse);
	RUN(duu_without_systemd_writes_only_the_file);
	RUN(duu_overwrites_the_packages_file);
	RUN(duu_with_systemd_masks_the_timers);
	RUN(duu_one_timer_unmasked_needs_change);
	RUN(duu_failing_mask_is_an_error);
	st_teardown();
	return check_done();
}
