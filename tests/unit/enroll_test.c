/*
 * Unit tests of what enrollment writes (keeper_enroll_save: node.key,
 * release.pub, then keeper.conf, the commit point) with its 1st, 2nd, ...
 * write, fsync or rename failing, and killed at each of them
 * (tests/unit/faultio.h): a keeper.conf is never there without the node
 * key and release key written with it, and enrolling again afterwards
 * (with a fresh key, as `edge-keeper enroll` makes one) works.
 */
#include <errno.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "common/afile.h"
#include "common/util.h"
#include "faultio.h"
#include "keeper/keeper.h"
#include "tmpdir.h"

static struct keeper_conf conf;
static unsigned char sk1[crypto_sign_SECRETKEYBYTES];
static unsigned char sk2[crypto_sign_SECRETKEYBYTES];

static const char *
rkey_of(const unsigned char *sk)
{
	return sk == sk1 ? "untrusted comment: k1\nRWQ1\n"
			 : "untrusted comment: k2\nRWQ2\n";
}

static int
node_setup(void)
{
	char err[256];

	tmp_rmtree(conf.root);
	return keeper_dirs(&conf, err, sizeof(err));
}

static int
enroll_with(const unsigned char *sk)
{
	char err[256];

	snprintf(conf.node_id, sizeof(conf.node_id), "%s",
	    sk == sk1 ? "n-1" : "n-2");
	return keeper_enroll_save(&conf, sk, rkey_of(sk), err, sizeof(err));
}

static int
enroll1(void *arg)
{
	(void)arg;
	return enroll_with(sk1) == 0 ? 0 : 1;
}

/*
 * Not enrolled (no keeper.conf), or enrolled with the node key and the
 * release key of the same enrollment.
 */
static int
enrolled_whole(void)
{
	struct keeper_conf have;
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	char err[256], path[KEEPER_PATH_MAX], *pub = NULL;
	const unsigned char *want;
	int rc;

	memset(&have, 0, sizeof(have));
	memcpy(have.root, conf.root, sizeof(have.root));
	if (keeper_conf_load(&have, err, sizeof(err)) != 0)
		return errno == ENOENT;
	want = strcmp(have.node_id, "n-1") == 0 ? sk1 : sk2;
	keeper_path(
	    &have, "/var/lib/edge-keeper/release.pub", path, sizeof(path));
	rc = keeper_key_load(&have, sk, err, sizeof(err)) == 0 &&
	    memcmp(sk, want, sizeof(sk)) == 0 &&
	    afile_read(path, 4096, &pub, NULL) == 0 &&
	    strcmp(pub, rkey_of(want)) == 0;
	free(pub);
	return rc;
}

TEST(enroll_writes_key_release_key_and_config)
{
	CHECK(node_setup() == 0);
	CHECK(enroll_with(sk1) == 0);
	CHECK(enrolled_whole());
}

TEST(failed_enroll_never_leaves_a_config_without_its_key)
{
	int n, rc, calls;

	for (n = 1; n < FAULTIO_MAX; n++) {
		CHECK(node_setup() == 0);
		faultio_fail(n);
		rc = enroll_with(sk1);
		calls = atomic_load(&faultio_calls);
		faultio_off();
		CHECK(enrolled_whole());
		if (rc == 0 && calls < n)
			break;
		/* Enrolling again, with another key, works. */
		if (rc != 0 && access(conf.root, F_OK) == 0) {
			char path[KEEPER_PATH_MAX];

			keeper_path(&conf, "/etc/edge-keeper/keeper.conf", path,
			    sizeof(path));
			if (access(path, F_OK) != 0) {
				CHECK(enroll_with(sk2) == 0);
				CHECK(enrolled_whole());
			}
		}
	}
	CHECK(n > 8 && n < FAULTIO_MAX);
}

TEST(killed_enroll_never_leaves_a_config_without_its_key)
{
	char path[KEEPER_PATH_MAX];
	int n, rc;

	keeper_path(&conf, "/etc/edge-keeper/keeper.conf", path, sizeof(path));
	for (n = 1; n < FAULTIO_MAX; n++) {
		CHECK(node_setup() == 0);
		rc = faultio_run(n, enroll1, NULL);
		CHECK(rc == 0 || rc == FAULTIO_CRASHED);
		CHECK(enrolled_whole());
		if (rc == 0)
			break;
		if (access(path, F_OK) != 0) {
			CHECK(enroll_with(sk2) == 0);
			CHECK(enrolled_whole());
		}
	}
	CHECK(n > 8 && n < FAULTIO_MAX);
}

/*
 * keeper.conf's dataplane_user: edge-dp by default, kept through a save
 * when set, and a value that is no user name refused (threat T46).
 */
TEST(conf_dataplane_user)
{
	struct keeper_conf have;
	char err[256], path[KEEPER_PATH_MAX];
	FILE *f;

	CHECK(node_setup() == 0);
	CHECK(enroll_with(sk1) == 0);
	memset(&have, 0, sizeof(have));
	memcpy(have.root, conf.root, sizeof(have.root));
	CHECK(keeper_conf_load(&have, err, sizeof(err)) == 0);
	CHECK(strcmp(have.dp_user, KEEPER_DP_USER) == 0);
	util_strlcpy(have.dp_user, "nobody", sizeof(have.dp_user));
	CHECK(keeper_conf_save(&have, err, sizeof(err)) == 0);
	memset(have.dp_user, 0, sizeof(have.dp_user));
	CHECK(keeper_conf_load(&have, err, sizeof(err)) == 0);
	CHECK(strcmp(have.dp_user, "nobody") == 0);
	keeper_path(&have, "/etc/edge-keeper/keeper.conf", path, sizeof(path));
	CHECK((f = fopen(path, "a")) != NULL);
	if (f != NULL) {
		fputs("dataplane_user=a b\n", f);
		fclose(f);
	}
	CHECK(keeper_conf_load(&have, err, sizeof(err)) == -1);
	CHECK(strstr(err, "dataplane_user") != NULL);
}

/* A pid that is no process: a child that has exited and been reaped. */
static pid_t
dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

static bool
exists(const char *rel)
{
	char path[KEEPER_PATH_MAX];

	keeper_path(&conf, rel, path, sizeof(path));
	return access(path, F_OK) == 0;
}

static void
touch(const char *rel)
{
	char path[KEEPER_PATH_MAX];

	keeper_path(&conf, rel, path, sizeof(path));
	afile_write(path, "x", 1, 0600);
}

/*
 * The temporary files of writes killed midway are swept from the keeper's
 * directories; a live process's, and names that only look alike, stay.
 */
TEST(sweep_removes_what_killed_writes_left)
{
	char dead[96], dead2[96], live[96], own[96];

	CHECK(node_setup() == 0);
	snprintf(dead, sizeof(dead), "/etc/edge-keeper/keeper.conf.tmp.%ld",
	    (long)dead_pid());
	snprintf(dead2, sizeof(dead2),
	    "/var/lib/edge-keeper/dataplane/edge-dp.tmp.%ld", (long)dead_pid());
	snprintf(live, sizeof(live), "/var/lib/edge-keeper/node.key.tmp.%ld",
	    (long)getppid());
	snprintf(own, sizeof(own), "/var/lib/edge-keeper/desired.json.tmp.%ld",
	    (long)getpid());
	{
		char path[KEEPER_PATH_MAX];

		keeper_path(&conf, "/var/lib/edge-keeper/dataplane", path,
		    sizeof(path));
		CHECK(mkdir(path, 0700) == 0);
	}
	touch(dead);
	touch(dead2);
	touch(live);
	touch(own);
	touch("/var/lib/edge-keeper/a.tmp.12x");
	touch("/var/lib/edge-keeper/.tmp.1");
	CHECK(exists(dead) && exists(dead2));
	keeper_sweep(&conf);
	CHECK(!exists(dead));
	CHECK(!exists(dead2));
	CHECK(exists(live));
	CHECK(exists(own));
	CHECK(exists("/var/lib/edge-keeper/a.tmp.12x"));
	CHECK(exists("/var/lib/edge-keeper/.tmp.1"));
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	randombytes_buf(sk1, sizeof(sk1));
	randombytes_buf(sk2, sizeof(sk2));
	tmp_setup("enroll_test");
	snprintf(conf.root, sizeof(conf.root), "%s/root", tmpdir);
	snprintf(conf.server, sizeof(conf.server), "https://127.0.0.1:1");
	snprintf(conf.pin, sizeof(conf.pin), "sha256//x");
	snprintf(conf.metrics, sizeof(conf.metrics), "off");
	snprintf(conf.user, sizeof(conf.user), "%s", KEEPER_USER);
	conf.interval_s = 5;
	conf.trial_s = 0;
	RUN(enroll_writes_key_release_key_and_config);
	RUN(failed_enroll_never_leaves_a_config_without_its_key);
	RUN(killed_enroll_never_leaves_a_config_without_its_key);
	RUN(conf_dataplane_user);
	RUN(sweep_removes_what_killed_writes_left);
	tmp_rmtree(conf.root);
	tmp_cleanup();
	return check_done();
}
