/*
 * Unit tests of the systemd_unit Step kind with a recording systemctl
 * stand-in (steptest.h): state/<unit>.en and state/<unit>.act hold what
 * is-enabled and is-active answer.
 */
#include <string.h>

#include "check.h"
#include "steps/kinds.h"
#include "steptest.h"

#define U "edge-dp.service"
#define Q_EN "systemctl|is-enabled|" U "|\n"
#define Q_ACT "systemctl|is-active|" U "|\n"
#define CALL(verb) "systemctl|" verb "|" U "|\n"

static const struct step_kind *const K = &step_systemd_unit;

static enum step_state
check(void *p, bool systemd, struct step_result *res)
{
	struct step_env e = { .root = st_root, .systemd = systemd };

	memset(res, 0, sizeof(*res));
	K->check(p, &e, res);
	return res->state;
}

static int
apply(void *p, struct step_result *res)
{
	struct step_env e = { .root = st_root, .systemd = true };

	memset(res, 0, sizeof(*res));
	return K->apply(p, &e, res);
}

static void *
unit(bool enabled, bool active)
{
	char text[200], err[256];
	void *p = NULL;

	snprintf(text, sizeof(text),
	    "{\"name\":\"" U "\",\"enabled\":%s,\"active\":%s}",
	    enabled ? "true" : "false", active ? "true" : "false");
	if (st_parse(K, text, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "parse %s: %s\n", text, err);
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

TEST(su_parse_accepts)
{
	static const char *const good[] = {
		"{\"name\":\"bird.service\",\"enabled\":true,\"active\":true}",
		"{\"name\":\"getty@tty1.service\",\"enabled\":false,"
		"\"active\":false}",
		"{\"name\":\"apt-daily.timer\",\"enabled\":false,"
		"\"active\":false}",
		"{\"name\":\"systemd-resolved.socket\",\"enabled\":true,"
		"\"active\":true}",
		"{\"name\":\"multi-user.target\",\"enabled\":true,"
		"\"active\":true}",
		"{\"name\":\"var-lib_x.mount\",\"enabled\":true,"
		"\"active\":true}",
		"{\"name\":\"edge.path\",\"enabled\":true,\"active\":false}",
		NULL,
	};
	char err[256];
	size_t i;

	for (i = 0; good[i] != NULL; i++) {
		void *p = NULL;

		CHECK(st_parse(K, good[i], &p, err, sizeof(err)) == 0);
		K->free_params(p);
	}
}

TEST(su_parse_refuses)
{
	CHECK(st_refuses(
	    K, "{\"enabled\":true,\"active\":true}", "name: required"));
	CHECK(st_refuses(K, "{\"name\":\"a.service\",\"active\":true}",
	    "enabled: required"));
	CHECK(st_refuses(K, "{\"name\":\"a.service\",\"enabled\":true}",
	    "active: required"));
	CHECK(st_refuses(K,
	    "{\"name\":\"a.service\",\"enabled\":\"yes\",\"active\":true}",
	    "enabled: must be true or false"));
	CHECK(st_refuses(K,
	    "{\"name\":\"a.service\",\"enabled\":true,\"active\":1}",
	    "active: must be true or false"));
	CHECK(st_refuses(K,
	    "{\"name\":\"a.service\",\"enabled\":true,\"active\":true,"
	    "\"restart\":true}",
	    "restart: unknown field"));
	CHECK(st_refuses(
	    K, "{\"name\":\"a\",\"enabled\":true,\"active\":true}", "name:"));
	CHECK(st_refuses(K,
	    "{\"name\":\"a.conf\",\"enabled\":true,\"active\":true}", "name:"));
	CHECK(st_refuses(K,
	    "{\"name\":\".service\",\"enabled\":true,\"active\":true}",
	    "name:"));
	CHECK(st_refuses(K,
	    "{\"name\":\"a b.service\",\"enabled\":true,\"active\":true}",
	    "name:"));
	CHECK(st_refuses(K,
	    "{\"name\":\"../a.service\",\"enabled\":true,\"active\":true}",
	    "name:"));
	CHECK(st_refuses(K,
	    "{\"name\":\"--now.service\",\"enabled\":true,\"active\":true}",
	    "name:"));
	CHECK(st_refuses(K, "{\"name\":7,\"enabled\":true,\"active\":true}",
	    "name: must be a string"));
}

TEST(su_skipped_without_systemd)
{
	struct step_result res;
	void *p;

	reset();
	CHECK((p = unit(true, true)) != NULL);
	CHECK(check(p, false, &res) == STEP_SKIPPED);
	CHECK_STR(res.reason, "systemd is not PID 1");
	CHECK_STR(st_calls(), "");
	K->free_params(p);
}

TEST(su_enables_and_starts)
{
	struct step_result res;
	void *p;

	reset();
	CHECK((p = unit(true, true)) != NULL);
	CHECK(check(p, true, &res) == STEP_NEEDS_CHANGE);
	CHECK(strstr(res.reason,
		  "is disabled and inactive, want enabled and "
		  "active") != NULL);
	CHECK_STR(st_calls(), Q_EN Q_ACT);
	st_calls_reset();
	CHECK(apply(p, &res) == 0);
	CHECK_STR(st_calls(), Q_EN Q_ACT CALL("enable") CALL("start"));
	st_calls_reset();
	CHECK(check(p, true, &res) == STEP_IN_SYNC);
	CHECK(check(p, true, &res) == STEP_IN_SYNC);
	CHECK_STR(st_calls(), Q_EN Q_ACT Q_EN Q_ACT);
	K->free_params(p);
}

TEST(su_disables_and_stops)
{
	struct step_result res;
	void *p;

	reset();
	CHECK(st_state_put(U ".en", "enabled\n") == 0);
	CHECK(st_state_put(U ".act", "active\n") == 0);
	CHECK((p = unit(false, false)) != NULL);
	CHECK(check(p, true, &res) == STEP_NEEDS_CHANGE);
	st_calls_reset();
	CHECK(apply(p, &res) == 0);
	CHECK_STR(st_calls(), Q_EN Q_ACT CALL("disable") CALL("stop"));
	CHECK(check(p, true, &res) == STEP_IN_SYNC);
	K->free_params(p);
}

TEST(su_changes_only_the_half_that_differs)
{
	struct step_result res;
	void *p;

	reset();
	CHECK(st_state_put(U ".en", "enabled\n") == 0);
	CHECK(st_state_put(U ".act", "failed\n") == 0);
	CHECK((p = unit(true, true)) != NULL);
	CHECK(check(p, true, &res) == STEP_NEEDS_CHANGE);
	st_calls_reset();
	CHECK(apply(p, &res) == 0);
	CHECK_STR(st_calls(), Q_EN Q_ACT CALL("start"));
	CHECK(check(p, true, &res) == STEP_IN_SYNC);
	K->free_params(p);
	/* A failed unit counts as stopped; masked counts as disabled. */
	reset();
	CHECK(st_state_put(U ".en", "masked\n") == 0);
	CHECK(st_state_put(U ".act", "failed\n") == 0);
	CHECK((p = unit(false, false)) != NULL);
	CHECK(check(p, true, &res) == STEP_IN_SYNC);
	K->free_params(p);
}

TEST(su_unenablable_states_are_errors)
{
	static const char *const states[] = { "static\n", "masked\n",
		"generated\n", NULL };
	struct step_result res;
	size_t i;
	void *p;

	for (i = 0; states[i] != NULL; i++) {
		reset();
		CHECK(st_state_put(U ".en", states[i]) == 0);
		CHECK((p = unit(true, true)) != NULL);
		CHECK(check(p, true, &res) == STEP_ERROR);
		CHECK(strstr(res.reason, "cannot be enabled") != NULL);
		CHECK(apply(p, &res) == -1);
		K->free_params(p);
	}
	/* But a static unit can be wanted not enabled and running. */
	reset();
	CHECK(st_state_put(U ".en", "static\n") == 0);
	CHECK((p = unit(false, true)) != NULL);
	CHECK(check(p, true, &res) == STEP_NEEDS_CHANGE);
	st_calls_reset();
	CHECK(apply(p, &res) == 0);
	CHECK_STR(st_calls(), Q_EN Q_ACT CALL("start"));
	K->free_params(p);
}

TEST(su_failing_start_is_an_error)
{
	struct step_result res;
	void *p;

	reset();
	CHECK(st_state_put(U ".en", "enabled\n") == 0);
	CHECK(st_state_put("fail_start", "") == 0);
	CHECK((p = unit(true, true)) != NULL);
	CHECK(apply(p, &res) == -1);
	CHECK(res.state == STEP_ERROR);
	CHECK(strstr(res.reason, "systemctl start " U ": failed:") != NULL);
	CHECK(strstr(res.reason, "Access denied") != NULL);
	K->free_params(p);
}

TEST(su_unexpected_answer_is_an_error)
{
	struct step_result res;
	void *p;

	reset();
	CHECK(st_state_put(U ".act", "Failed to connect to bus\n") == 0);
	CHECK((p = unit(false, false)) != NULL);
	CHECK(check(p, true, &res) == STEP_ERROR);
	CHECK(strstr(res.reason, "Failed to connect to bus") != NULL);
	K->free_params(p);
}

int
main(void)
{
	st_setup("systemd");
	RUN(su_parse_accepts);
	RUN(su_parse_refuses);
	RUN(su_skipped_without_systemd);
	RUN(su_enables_and_starts);
	RUN(su_disables_and_stops);
	RUN(su_changes_only_the_half_that_differs);
	RUN(su_unenablable_states_are_errors);
	RUN(su_failing_start_is_an_error);
	RUN(su_unexpected_answer_is_an_error);
	st_teardown();
	return check_done();
}
