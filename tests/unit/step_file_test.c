/*
 * Unit tests of the file Step kind against a temporary root.  Owner and
 * group changes need root; run as another user those parts are skipped.
 */
#include <dirent.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "steps/kinds.h"
#include "steptest.h"

static const struct step_kind *const K = &step_file;

static struct step_env
env(void)
{
	struct step_env e = { .root = st_root, .systemd = false, .now = 0 };

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

/* Directory entries other than "." and "..". */
static int
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void *
parse_ok(const char *text)
{
	return st_parse_ok(K, text);
}

TEST(file_parse_accepts)
{
	void *p;

	CHECK((p = parse_ok("{\"path\":\"/etc/motd\",\"content\":\"\"}")) !=
	    NULL);
	K->free_params(p);
	CHECK((p = parse_ok("{\"path\":\"/etc/x/y.conf\",\"content\":\"a\\nb\","
			    "\"mode\":\"0600\",\"owner\":\"root\","
			    "\"group\":\"root\"}")) != NULL);
	K->free_params(p);
	CHECK((p = parse_ok("{\"path\":\"/usr/local/bin/t\",\"content\":\"x\","
			    "\"mode\":\"4755\"}")) != NULL);
	K->free_params(p);
	CHECK((p = parse_ok("{\"path\":\"/a\",\"content\":\"x\","
			    "\"mode\":\"644\"}")) != NULL);
	K->free_params(p);
}

TEST(file_parse_refuses)
{
	char text[400], path[300];

	CHECK(st_refuses(K, "{\"content\":\"x\"}", "path: required"));
	CHECK(st_refuses(K, "{\"path\":\"/a\"}", "content: required"));
	CHECK(st_refuses(
	    K, "{\"path\":\"/a\",\"content\":1}", "content: must be a string"));
	CHECK(st_refuses(K, "{\"path\":\"/a\",\"content\":\"\",\"x\":1}",
	    "x: unknown field"));
	CHECK(st_refuses(K, "{\"path\":\"etc/a\",\"content\":\"\"}", "path:"));
	CHECK(st_refuses(
	    K, "{\"path\":\"/etc/../a\",\"content\":\"\"}", "path:"));
	CHECK(st_refuses(K, "{\"path\":\"/..\",\"content\":\"\"}", "path:"));
	CHECK(st_refuses(K, "{\"path\":\"/\",\"content\":\"\"}", "path:"));
	CHECK(st_refuses(K, "{\"path\":\"/etc/\",\"content\":\"\"}", "path:"));
	CHECK(st_refuses(K, "{\"path\":\"/a\\nb\",\"content\":\"\"}", "path:"));
	CHECK(st_refuses(
	    K, "{\"path\":1,\"content\":\"\"}", "path: must be a string"));
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[256] = '\0';
	snprintf(
	    text, sizeof(text), "{\"path\":\"%s\",\"content\":\"\"}", path);
	CHECK(st_refuses(K, text, "path: longer than 255"));
	path[255] = '\0';
	snprintf(
	    text, sizeof(text), "{\"path\":\"%s\",\"content\":\"\"}", path);
	{
		void *p = parse_ok(text);

		CHECK(p != NULL);
		K->free_params(p);
	}
	CHECK(st_refuses(K, "{\"path\":\"/a\",\"content\":\"\",\"mode\":644}",
	    "mode: must be a string"));
	CHECK(st_refuses(K,
	    "{\"path\":\"/a\",\"content\":\"\",\"mode\":\"0x44\"}", "mode:"));
	CHECK(st_refuses(K,
	    "{\"path\":\"/a\",\"content\":\"\",\"mode\":\"0648\"}", "mode:"));
	CHECK(st_refuses(
	    K, "{\"path\":\"/a\",\"content\":\"\",\"mode\":\"64\"}", "mode:"));
	CHECK(st_refuses(
	    K, "{\"path\":\"/a\",\"content\":\"\",\"mode\":\"\"}", "mode:"));
	CHECK(st_refuses(K,
	    "{\"path\":\"/a\",\"content\":\"\",\"mode\":\"17777\"}",
	    "mode: must be at most 07777"));
	CHECK(st_refuses(K,
	    "{\"path\":\"/a\",\"content\":\"\",\"owner\":\"a b\"}", "owner:"));
	CHECK(st_refuses(
	    K, "{\"path\":\"/a\",\"content\":\"\",\"owner\":\"\"}", "owner:"));
	CHECK(st_refuses(K,
	    "{\"path\":\"/a\",\"content\":\"\",\"owner\":\"-rf\"}", "owner:"));
	CHECK(st_refuses(K,
	    "{\"path\":\"/a\",\"content\":\"\",\"group\":\"a/b\"}", "group:"));
	CHECK(st_refuses(K, "{\"path\":\"/a\",\"content\":\"\",\"group\":0}",
	    "group: must be a string"));
}

/* Content is bounded at 1 MiB, and may not hold NUL bytes. */
TEST(file_parse_content_bounds)
{
	static char big[(1 << 20) + 2];
	char err[256];
	json_t *o;
	void *p = NULL;

	memset(big, 'x', sizeof(big) - 1);
	o = json_pack(
	    "{s:s,s:s%}", "path", "/a", "content", big, (size_t)(1 << 20));
	CHECK(o != NULL);
	CHECK(K->parse(o, &p, err, sizeof(err)) == 0);
	K->free_params(p);
	json_object_set_new(o, "content", json_stringn(big, (1 << 20) + 1));
	CHECK(K->parse(o, &p, err, sizeof(err)) == -1);
	CHECK(strncmp(err, "content: longer than", 20) == 0);
	json_object_set_new(o, "content", json_stringn("a\0b", 3));
	CHECK(K->parse(o, &p, err, sizeof(err)) == -1);
	CHECK_STR(err, "content: must not contain NUL bytes");
	json_decref(o);
}

TEST(file_converges)
{
	struct step_result res;
	char buf[256];
	struct stat st;
	void *p;

	st_reset();
	CHECK((p = parse_ok("{\"path\":\"/etc/edge/a/b.conf\","
			    "\"content\":\"hello\\n\",\"mode\":\"0640\"}")) !=
	    NULL);
	CHECK(check(p, &res) == STEP_NEEDS_CHANGE);
	CHECK(strstr(res.reason, "does not exist") != NULL);
	CHECK(apply(p, &res) == 0);
	CHECK(st_get(st_rpath("/etc/edge/a/b.conf"), buf, sizeof(buf)));
	CHECK_STR(buf, "hello\n");
	CHECK(stat(st_rpath("/etc/edge/a/b.conf"), &st) == 0);
	CHECK((st.st_mode & 07777) == 0640);
	CHECK(stat(st_rpath("/etc/edge/a"), &st) == 0);
	CHECK(S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755);
	CHECK(check(p, &res) == STEP_IN_SYNC);
	CHECK(check(p, &res) == STEP_IN_SYNC);
	/* Only the named path: no temporary file is left next to it. */
	CHECK(entries(st_rpath("/etc/edge/a")) == 1);
	K->free_params(p);
}

TEST(file_repairs_drift)
{
	struct step_result res;
	char buf[256];
	struct stat st;
	void *p;

	st_reset();
	CHECK((p = parse_ok(
		   "{\"path\":\"/etc/motd\",\"content\":\"hi\\n\"}")) != NULL);
	/* Same length, other bytes. */
	CHECK(st_put(st_rpath("/etc/motd"), "ho\n", 0644) == 0);
	CHECK(check(p, &res) == STEP_NEEDS_CHANGE);
	CHECK(strstr(res.reason, "content differs") != NULL);
	CHECK(apply(p, &res) == 0);
	CHECK_STR(st_get(st_rpath("/etc/motd"), buf, sizeof(buf)), "hi\n");
	CHECK(check(p, &res) == STEP_IN_SYNC);
	/* Mode only: default 0644. */
	CHECK(chmod(st_rpath("/etc/motd"), 0600) == 0);
	CHECK(check(p, &res) == STEP_NEEDS_CHANGE);
	CHECK(strstr(res.reason, "mode is 0600, want 0644") != NULL);
	CHECK(apply(p, &res) == 0);
	CHECK(stat(st_rpath("/etc/motd"), &st) == 0);
	CHECK((st.st_mode & 07777) == 0644);
	CHECK(check(p, &res) == STEP_IN_SYNC);
	K->free_params(p);
}

TEST(file_replaces_symlink_not_target)
{
	struct step_result res;
	char buf[256];
	struct stat st;
	void *p;

	st_reset();
	CHECK(st_put(st_rpath("/etc/target"), "keep\n", 0644) == 0);
	CHECK(symlink("target", st_rpath("/etc/link")) == 0);
	CHECK((p = parse_ok(
		   "{\"path\":\"/etc/link\",\"content\":\"new\\n\"}")) != NULL);
	CHECK(check(p, &res) == STEP_NEEDS_CHANGE);
	CHECK(strstr(res.reason, "not a regular file") != NULL);
	CHECK(apply(p, &res) == 0);
	CHECK(lstat(st_rpath("/etc/link"), &st) == 0 && S_ISREG(st.st_mode));
	CHECK_STR(st_get(st_rpath("/etc/link"), buf, sizeof(buf)), "new\n");
	CHECK_STR(st_get(st_rpath("/etc/target"), buf, sizeof(buf)), "keep\n");
	CHECK(check(p, &res) == STEP_IN_SYNC);
	K->free_params(p);
}

TEST(file_directory_in_the_way_is_an_error)
{
	struct step_result res;
	void *p;

	st_reset();
	CHECK(mkdir(st_rpath("/etc"), 0755) == 0);
	CHECK(mkdir(st_rpath("/etc/d"), 0755) == 0);
	CHECK(
	    (p = parse_ok("{\"path\":\"/etc/d\",\"content\":\"x\"}")) != NULL);
	CHECK(check(p, &res) == STEP_ERROR);
	CHECK(strstr(res.reason, "is a directory") != NULL);
	CHECK(apply(p, &res) == -1);
	CHECK(res.state == STEP_ERROR);
	K->free_params(p);
}

TEST(file_unknown_owner_is_an_error)
{
	struct step_result res;
	struct stat st;
	void *p;

	st_reset();
	CHECK((p = parse_ok("{\"path\":\"/etc/x\",\"content\":\"x\","
			    "\"owner\":\"ef-no-such-user\"}")) != NULL);
	CHECK(check(p, &res) == STEP_ERROR);
	CHECK(strstr(res.reason, "owner:") != NULL);
	CHECK(strstr(res.reason, "ef-no-such-user") != NULL);
	CHECK(apply(p, &res) == -1);
	CHECK(strstr(res.reason, "ef-no-such-user") != NULL);
	CHECK(stat(st_rpath("/etc/x"), &st) != 0);
	K->free_params(p);
	CHECK((p = parse_ok("{\"path\":\"/etc/x\",\"content\":\"x\","
			    "\"group\":\"ef-no-such-group\"}")) != NULL);
	CHECK(check(p, &res) == STEP_ERROR);
	CHECK(strstr(res.reason, "group:") != NULL);
	K->free_params(p);
}

/* Needs root: chown to another user, and setuid kept after chown. */
TEST(file_owner_group_and_setuid)
{
	struct step_result res;
	struct passwd *pw = getpwnam("nobody");
	struct stat st;
	void *p;

	if (geteuid() != 0 || pw == NULL)
		return; /* not root, or no "nobody": nothing to check */
	st_reset();
	CHECK((p = parse_ok("{\"path\":\"/usr/local/bin/t\",\"content\":\"x\","
			    "\"mode\":\"4750\",\"owner\":\"nobody\","
			    "\"group\":\"root\"}")) != NULL);
	CHECK(check(p, &res) == STEP_NEEDS_CHANGE);
	CHECK(apply(p, &res) == 0);
	CHECK(stat(st_rpath("/usr/local/bin/t"), &st) == 0);
	CHECK(st.st_uid == pw->pw_uid && st.st_gid == 0);
	CHECK((st.st_mode & 07777) == 04750);
	CHECK(check(p, &res) == STEP_IN_SYNC);
	/* Owner drift alone is found and repaired. */
	CHECK(chown(st_rpath("/usr/local/bin/t"), 0, 0) == 0);
	CHECK(chmod(st_rpath("/usr/local/bin/t"), 04750) == 0);
	CHECK(check(p, &res) == STEP_NEEDS_CHANGE);
	CHECK(strstr(res.reason, "owner is uid 0, want nobody") != NULL);
	CHECK(apply(p, &res) == 0);
	CHECK(stat(st_rpath("/usr/local/bin/t"), &st) == 0);
	CHECK(st.st_uid == pw->pw_uid && (st.st_mode & 07777) == 04750);
	CHECK(check(p, &res) == STEP_IN_SYNC);
	K->free_params(p);
}

int
main(void)
{
	st_setup("file");
	RUN(file_parse_accepts);
	RUN(file_parse_refuses);
	RUN(file_parse_content_bounds);
	RUN(file_converges);
	RUN(file_repairs_drift);
	RUN(file_replaces_symlink_not_target);
	RUN(file_directory_in_the_way_is_an_error);
	RUN(file_unknown_owner_is_an_error);
	RUN(file_owner_group_and_setuid);
	st_teardown();
	return check_done();
}
