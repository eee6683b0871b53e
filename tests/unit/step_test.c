/*
 * Unit tests of steps/step.c and the kind table: step_path's confinement,
 * kind lookup, results, the helpers the kinds share, and what every
 * kind's parse() must do with unknown fields and a missing params object.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "steps/kinds.h"
#include "steps/step.h"
#include "steptest.h"

TEST(step_path_joins_root)
{
	struct step_env host = { .root = "" }, r = { .root = "/tmp/r" };
	char out[64];

	CHECK(step_path(&host, "/etc/x", out, sizeof(out)) == 0);
	CHECK_STR(out, "/etc/x");
	CHECK(step_path(&r, "/etc/x", out, sizeof(out)) == 0);
	CHECK_STR(out, "/tmp/r/etc/x");
	CHECK(step_path(NULL, "/etc/x", out, sizeof(out)) == 0);
	CHECK_STR(out, "/etc/x");
	/* ".." only as a whole component is refused. */
	CHECK(step_path(&r, "/a/..b/c..", out, sizeof(out)) == 0);
	CHECK(step_path(&r, "/a/./b", out, sizeof(out)) == 0);
}

TEST(step_path_refuses)
{
	struct step_env r = { .root = "/tmp/r" };
	char out[16], big[64];

	CHECK(step_path(&r, "etc/x", big, sizeof(big)) == -1);
	CHECK(step_path(&r, "", big, sizeof(big)) == -1);
	CHECK(step_path(&r, NULL, big, sizeof(big)) == -1);
	CHECK(step_path(&r, "/..", big, sizeof(big)) == -1);
	CHECK(step_path(&r, "/../etc", big, sizeof(big)) == -1);
	CHECK(step_path(&r, "/etc/..", big, sizeof(big)) == -1);
	CHECK(step_path(&r, "/etc/../../x", big, sizeof(big)) == -1);
	CHECK(step_path(&r, "/etc//../x", big, sizeof(big)) == -1);
	/* "/tmp/r/etc/abcdef" needs 18 bytes. */
	CHECK(step_path(&r, "/etc/abcdef", out, sizeof(out)) == -1);
	CHECK(step_path(&r, "/etc/abcd", out, sizeof(out)) == 0);
}

TEST(step_kinds_table)
{
	static const char *const have[] = { "sysctl", "apt_package",
		"disable_unattended_upgrades", "file", "systemd_unit",
		"dataplane", "bird_config", "anycast", "keeper_self", NULL };
	static const char *const later[] = { NULL };
	size_t i, j, n = 0;

	for (i = 0; have[i] != NULL; i++) {
		const struct step_kind *k = step_kind_find(have[i]);

		CHECK(k != NULL);
		CHECK_STR(k->name, have[i]);
		CHECK(k->parse && k->free_params && k->check && k->apply);
		CHECK(k->retry_s > 0);
	}
	for (i = 0; later[i] != NULL; i++)
		CHECK(step_kind_find(later[i]) == NULL);
	CHECK(step_kind_find("nope") == NULL);
	CHECK(step_kind_find("") == NULL);
	CHECK(step_kind_find(NULL) == NULL);
	for (i = 0; step_kinds[i] != NULL; i++, n++)
		for (j = 0; j < i; j++)
			CHECK(strcmp(step_kinds[i]->name,
				  step_kinds[j]->name) != 0);
	CHECK(n == 9);
	CHECK(step_kind_find("apt_package") == &step_apt_package);
}

TEST(step_results)
{
	struct step_result res;
	char big[STEP_REASON_MAX * 2];

	CHECK_STR(step_state_name(STEP_IN_SYNC), "in_sync");
	CHECK_STR(step_state_name(STEP_NEEDS_CHANGE), "needs_change");
	CHECK_STR(step_state_name(STEP_ERROR), "error");
	CHECK_STR(step_state_name(STEP_SKIPPED), "skipped");
	step_set(&res, STEP_ERROR, "x=%d %s", 42, "y");
	CHECK(res.state == STEP_ERROR);
	CHECK_STR(res.reason, "x=42 y");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	step_set(&res, STEP_NEEDS_CHANGE, "%s", big);
	CHECK(strlen(res.reason) == STEP_REASON_MAX - 1);
}

TEST(step_oneline_condenses)
{
	char buf[16];

	CHECK_STR(step_oneline(buf, sizeof(buf), "  a\n\tb  c \n"), "a b c");
	CHECK_STR(step_oneline(buf, sizeof(buf), ""), "");
	CHECK_STR(step_oneline(buf, sizeof(buf), "x\x01y"), "x?y");
	CHECK_STR(step_oneline(buf, sizeof(buf), "0123456789abcdefghij"),
	    "0123456789ab...");
	CHECK_STR(step_oneline(buf, sizeof(buf), "0123456789abcde"),
	    "0123456789abcde");
	CHECK_STR(step_oneline(buf, 3, "abcdef"), "ab");
}

TEST(step_mkdirs_under_root)
{
	struct step_env env = { .root = st_root };
	struct stat st;

	st_reset();
	CHECK(step_mkdirs(&env, "/a/b/c", 0755) == 0);
	CHECK(stat(st_rpath("/a/b/c"), &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(step_mkdirs(&env, "/a/b/c", 0755) == 0);
	CHECK(st_put(st_rpath("/a/file"), "x", 0644) == 0);
	CHECK(step_mkdirs(&env, "/a/file/d", 0755) == -1);
	CHECK(step_mkdirs(&env, "/a/../x", 0755) == -1);
	CHECK(step_mkdirs(&env, "/", 0755) == 0);
}

/* Every kind refuses unknown fields, naming them, and allocates nothing. */
TEST(step_every_kind_refuses_unknown_fields)
{
	size_t i;

	for (i = 0; step_kinds[i] != NULL; i++)
		CHECK(st_refuses(
		    step_kinds[i], "{\"bogus\": 1}", "bogus: unknown field"));
}

/* An absent params object is an empty one: required fields say so. */
TEST(step_parse_without_params)
{
	char err[256];
	void *p = NULL;

	CHECK(step_sysctl.parse(NULL, &p, err, sizeof(err)) == -1);
	CHECK(p == NULL);
	CHECK_STR(err, "key: required");
	CHECK(step_file.parse(NULL, &p, err, sizeof(err)) == -1);
	CHECK_STR(err, "path: required");
	CHECK(step_apt_package.parse(NULL, &p, err, sizeof(err)) == -1);
	CHECK_STR(err, "name: required");
	CHECK(step_systemd_unit.parse(NULL, &p, err, sizeof(err)) == -1);
	CHECK_STR(err, "name: required");
	CHECK(step_disable_unattended_upgrades.parse(
		  NULL, &p, err, sizeof(err)) == 0);
	CHECK(p != NULL);
	step_disable_unattended_upgrades.free_params(p);
}

/*
 * anycast: a probe of an anycast address would probe the fleet, not this
 * node; however the address is written (IPv6 has many spellings).
 */
static int
anycast_probe_refused(const char *probe, const char *prefix)
{
	char err[256], params[256], bgp[256];
	struct step_host host;
	struct step_env env = { .root = "" };
	struct step_result res = { STEP_IN_SYNC, "" };
	json_t *pj, *bj;
	void *p = NULL;
	int refused;

	snprintf(params, sizeof(params), "{\"probe\":\"%s\"}", probe);
	snprintf(
	    bgp, sizeof(bgp), "{\"anycast\":[{\"prefix\":\"%s\"}]}", prefix);
	pj = json_loads(params, 0, NULL);
	bj = json_loads(bgp, 0, NULL);
	memset(&host, 0, sizeof(host));
	host.bgp = bj;
	host.router_id = "";
	env.host = &host;
	if (step_anycast.parse(pj, &p, err, sizeof(err)) != 0) {
		json_decref(pj);
		json_decref(bj);
		return -1;
	}
	step_anycast.check(p, &env, &res);
	refused = res.state == STEP_ERROR &&
	    strstr(res.reason, "is an anycast address") != NULL;
	step_anycast.free_params(p);
	json_decref(pj);
	json_decref(bj);
	return refused;
}

TEST(step_anycast_probe_never_an_anycast_address)
{
	CHECK(anycast_probe_refused(
		  "http://203.0.113.10:8080/healthz", "203.0.113.10/32") == 1);
	CHECK(anycast_probe_refused("http://[2001:db8::a]/healthz",
		  "2001:0db8:0:0:0:0:0:000a/128") == 1);
	CHECK(anycast_probe_refused(
		  "http://[2001:0DB8::A]/healthz", "2001:db8::a/128") == 1);
}

/* 0 when the dataplane step takes these params, -1 with err when not. */
static int
dataplane_parses(const char *params, char *err, size_t errlen)
{
	json_t *j = json_loads(params, 0, NULL);
	void *p = NULL;
	int rc = step_dataplane.parse(j, &p, err, errlen);

	if (rc == 0)
		step_dataplane.free_params(p);
	json_decref(j);
	return rc;
}

TEST(step_dataplane_user)
{
	char err[256];

	CHECK(dataplane_parses("{\"listen\":[\"127.0.0.1:80\"],"
			       "\"control\":\"/run/edge-dp/ctl.sock\","
			       "\"user\":\"nobody\"}",
		  err, sizeof(err)) == 0);
	/* root by name: root whatever the node's default (threat T46). */
	CHECK(dataplane_parses("{\"listen\":[\"127.0.0.1:80\"],"
			       "\"control\":\"/run/ctl.sock\","
			       "\"user\":\"root\"}",
		  err, sizeof(err)) == 0);
	CHECK(dataplane_parses("{\"listen\":[\"127.0.0.1:80\"],"
			       "\"control\":\"/run/edge-dp/ctl.sock\","
			       "\"user\":\"a b\"}",
		  err, sizeof(err)) == -1);
	CHECK(strncmp(err, "user:", 5) == 0);
	/* Its directory becomes the user's: never one shared like /run. */
	CHECK(dataplane_parses("{\"listen\":[\"127.0.0.1:80\"],"
			       "\"control\":\"/run/ctl.sock\","
			       "\"user\":\"nobody\"}",
		  err, sizeof(err)) == -1);
	CHECK(strncmp(err, "control:", 8) == 0);
	CHECK(dataplane_parses("{\"listen\":[\"127.0.0.1:80\"],"
			       "\"control\":\"/run/ctl.sock\"}",
		  err, sizeof(err)) == 0);
}

int
main(void)
{
	st_setup("step");
	RUN(step_path_joins_root);
	RUN(step_path_refuses);
	RUN(step_kinds_table);
	RUN(step_results);
	RUN(step_oneline_condenses);
	RUN(step_mkdirs_under_root);
	RUN(step_every_kind_refuses_unknown_fields);
	RUN(step_parse_without_params);
	RUN(step_anycast_probe_never_an_anycast_address);
	RUN(step_dataplane_user);
	st_teardown();
	return check_done();
}
