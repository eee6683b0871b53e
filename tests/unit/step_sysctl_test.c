/*
 * Unit tests of the sysctl Step kind against a fake root: <root>/proc/sys
 * (through step_env.proc_sys)
 * holds plain files standing in for kernel parameters, so the real
 * /proc/sys is never touched.
 */
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "steps/kinds.h"
#include "steptest.h"

#define FWD "/proc/sys/net/ipv4/ip_forward"
#define FWD_CONF "/etc/sysctl.d/90-edgefleet-net.ipv4.ip_forward.conf"
#define RMEM "/proc/sys/net/ipv4/tcp_rmem"
#define RMEM_CONF "/etc/sysctl.d/90-edgefleet-net.ipv4.tcp_rmem.conf"

static const struct step_kind *const K = &step_sysctl;

static struct step_env
env(void)
{
	static char proc_sys[1024];
	struct step_env e = { .root = st_root, .systemd = false, .now = 0 };

	/* /proc/sys is not under the root; point it at the fake one. */
	snprintf(proc_sys, sizeof(proc_sys), "%s/proc/sys", st_root);
	e.proc_sys = proc_sys;
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

TEST(sysctl_parse_accepts)
{
	void *p;

	CHECK((p = parse_ok("{\"key\":\"net.ipv4.ip_forward\","
			    "\"value\":\"1\"}")) != NULL);
	K->free_params(p);
	CHECK((p = parse_ok("{\"key\":\"net.ipv4.conf.all.rp_filter\","
			    "\"value\":\"2\"}")) != NULL);
	K->free_params(p);
	CHECK((p = parse_ok("{\"key\":\"net.core.default_qdisc\","
			    "\"value\":\"fq\"}")) != NULL);
	K->free_params(p);
	CHECK((p = parse_ok("{\"key\":\"net.ipv4.tcp_rmem\","
			    "\"value\":\"4096\\t87380  6291456\"}")) != NULL);
	K->free_params(p);
}

TEST(sysctl_parse_refuses)
{
	char long_key[200], text[600];
	size_t n;

	CHECK(st_refuses(K, "{\"value\":\"1\"}", "key: required"));
	CHECK(st_refuses(K, "{\"key\":\"a.b\"}", "value: required"));
	CHECK(st_refuses(
	    K, "{\"key\":\"a.b\",\"value\":1}", "value: must be a string"));
	CHECK(st_refuses(
	    K, "{\"key\":1,\"value\":\"1\"}", "key: must be a string"));
	CHECK(st_refuses(K, "{\"key\":\"a.b\",\"value\":\"1\",\"x\":1}",
	    "x: unknown field"));
	CHECK(st_refuses(K, "{\"key\":\"net..ipv4\",\"value\":\"1\"}", "key:"));
	CHECK(st_refuses(K, "{\"key\":\"net/ipv4\",\"value\":\"1\"}", "key:"));
	CHECK(st_refuses(K, "{\"key\":\"Net.ipv4\",\"value\":\"1\"}", "key:"));
	CHECK(st_refuses(K, "{\"key\":\"kernel\",\"value\":\"1\"}", "key:"));
	CHECK(st_refuses(K, "{\"key\":\".net.x\",\"value\":\"1\"}", "key:"));
	CHECK(st_refuses(K, "{\"key\":\"net.x.\",\"value\":\"1\"}", "key:"));
	CHECK(st_refuses(K, "{\"key\":\"\",\"value\":\"1\"}", "key:"));
	CHECK(st_refuses(K, "{\"key\":\"net.a b\",\"value\":\"1\"}", "key:"));
	memset(long_key, 'a', 129);
	long_key[1] = '.';
	long_key[129] = '\0';
	snprintf(
	    text, sizeof(text), "{\"key\":\"%s\",\"value\":\"1\"}", long_key);
	CHECK(st_refuses(K, text, "key: longer than 128"));
	long_key[128] = '\0';
	snprintf(
	    text, sizeof(text), "{\"key\":\"%s\",\"value\":\"1\"}", long_key);
	{
		void *p = parse_ok(text);

		CHECK(p != NULL);
		K->free_params(p);
	}
	CHECK(st_refuses(
	    K, "{\"key\":\"a.b\",\"value\":\"\"}", "value: must not be empty"));
	CHECK(st_refuses(K, "{\"key\":\"a.b\",\"value\":\" \\t \"}",
	    "value: must not be empty"));
	CHECK(st_refuses(
	    K, "{\"key\":\"a.b\",\"value\":\"1\\n2\"}", "value: control"));
	n = (size_t)snprintf(
	    text, sizeof(text), "{\"key\":\"a.b\",\"value\":\"");
	memset(text + n, '1', 257);
	snprintf(text + n + 257, sizeof(text) - n - 257, "\"}");
	CHECK(st_refuses(K, text, "value: longer than 256"));
}

TEST(sysctl_converges)
{
	struct step_result res;
	char buf[256];
	struct stat st;
	void *p;

	st_reset();
	CHECK(st_put(st_rpath(FWD), "0\n", 0644) == 0);
	CHECK((p = parse_ok("{\"key\":\"net.ipv4.ip_forward\","
			    "\"value\":\"1\"}")) != NULL);
	CHECK(check(p, &res) == STEP_NEEDS_CHANGE);
	CHECK(strstr(res.reason, "is \"0\", want \"1\"") != NULL);
	CHECK(apply(p, &res) == 0);
	CHECK(st_get(st_rpath(FWD), buf, sizeof(buf)) != NULL);
	CHECK_STR(buf, "1\n");
	/* The sysctl.d directory did not exist; now it and the file do. */
	CHECK(st_get(st_rpath(FWD_CONF), buf, sizeof(buf)) != NULL);
	CHECK_STR(buf, "net.ipv4.ip_forward = 1\n");
	CHECK(stat(st_rpath(FWD_CONF), &st) == 0);
	CHECK((st.st_mode & 07777) == 0644);
	CHECK(stat(st_rpath("/etc/sysctl.d"), &st) == 0 &&
	    (st.st_mode & 07777) == 0755);
	CHECK(check(p, &res) == STEP_IN_SYNC);
	/* Idempotent: nothing left to apply. */
	CHECK(check(p, &res) == STEP_IN_SYNC);
	K->free_params(p);
}

TEST(sysctl_persists_without_rewriting_live_value)
{
	struct step_result res;
	char buf[256];
	void *p;

	/* The kernel prints tabs; the profile wrote spaces: same value. */
	st_reset();
	CHECK(st_put(st_rpath(RMEM), "4096\t87380\t6291456\n", 0644) == 0);
	CHECK((p = parse_ok("{\"key\":\"net.ipv4.tcp_rmem\","
			    "\"value\":\"4096 87380  6291456\"}")) != NULL);
	CHECK(check(p, &res) == STEP_NEEDS_CHANGE);
	CHECK(strstr(res.reason, "not persisted") != NULL);
	CHECK(apply(p, &res) == 0);
	/* Only the missing half was done: the live file keeps its tabs. */
	CHECK(st_get(st_rpath(RMEM), buf, sizeof(buf)) != NULL);
	CHECK_STR(buf, "4096\t87380\t6291456\n");
	CHECK(st_get(st_rpath(RMEM_CONF), buf, sizeof(buf)) != NULL);
	CHECK_STR(buf, "net.ipv4.tcp_rmem = 4096 87380 6291456\n");
	CHECK(check(p, &res) == STEP_IN_SYNC);
	K->free_params(p);
}

TEST(sysctl_repairs_edited_persisted_file)
{
	struct step_result res;
	char buf[256];
	void *p;

	st_reset();
	CHECK(st_put(st_rpath(FWD), "1\n", 0644) == 0);
	CHECK(st_put(st_rpath(FWD_CONF), "net.ipv4.ip_forward=0\n", 0600) == 0);
	CHECK((p = parse_ok("{\"key\":\"net.ipv4.ip_forward\","
			    "\"value\":\"1\"}")) != NULL);
	CHECK(check(p, &res) == STEP_NEEDS_CHANGE);
	CHECK(strstr(res.reason, "differs") != NULL);
	CHECK(apply(p, &res) == 0);
	CHECK(st_get(st_rpath(FWD_CONF), buf, sizeof(buf)) != NULL);
	CHECK_STR(buf, "net.ipv4.ip_forward = 1\n");
	CHECK(check(p, &res) == STEP_IN_SYNC);
	K->free_params(p);
}

TEST(sysctl_missing_entry_is_an_error)
{
	struct step_result res;
	struct stat st;
	void *p;

	st_reset();
	CHECK((p = parse_ok("{\"key\":\"net.ipv4.no_such_thing\","
			    "\"value\":\"1\"}")) != NULL);
	CHECK(check(p, &res) == STEP_ERROR);
	CHECK(strstr(res.reason, "no such kernel parameter") != NULL);
	CHECK(strstr(res.reason, "/proc/sys/net/ipv4/no_such_thing") != NULL);
	CHECK(apply(p, &res) == -1);
	CHECK(res.state == STEP_ERROR);
	CHECK(strstr(res.reason, "no such kernel parameter") != NULL);
	/* Nothing was created: not the entry, not the persisted file. */
	CHECK(stat(st_rpath("/proc/sys/net/ipv4/no_such_thing"), &st) != 0);
	CHECK(stat(st_rpath("/etc/sysctl.d"), &st) != 0);
	K->free_params(p);
}

int
main(void)
{
	st_setup("sysctl");
	RUN(sysctl_parse_accepts);
	RUN(sysctl_parse_refuses);
	RUN(sysctl_converges);
	RUN(sysctl_persists_without_rewriting_live_value);
	RUN(sysctl_repairs_edited_persisted_file);
	RUN(sysctl_missing_entry_is_an_error);
	st_teardown();
	return check_done();
}
