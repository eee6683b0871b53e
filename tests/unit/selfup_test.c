/*
 * Unit tests of keeper/selfup's files: the trial and the current symlink,
 * with selfup_begin()'s 1st, 2nd, ... write, fsync, symlink or rename
 * failing, and killed at each of them (tests/unit/faultio.h).  Failed,
 * nothing changed; killed, current is never switched without a trial to
 * guard it, and a trial left without the switch is swept at the next
 * start, so that current is launched again.
 *
 * selfup_begin() starts the watchdog as a fresh process of the running
 * binary, here this test: started with "watchdog", it exits at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "common/afile.h"
#include "common/priv.h"
#include "common/version.h"
#include "faultio.h"
#include "keeper/selfup.h"
#include "tmpdir.h"

static struct keeper_conf conf;
static char dir[1024];

static const char *
P(const char *name)
{
	static char buf[4][1200];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* The version current points at, "" when there is none. */
static const char *
current(void)
{
	static char to[256];
	ssize_t n = readlink(P("current"), to, sizeof(to) - 1);

	to[n > 0 ? n : 0] = '\0';
	return to;
}

/* The version the trial names, "" when there is none. */
static const char *
trial(void)
{
	static char v[80];
	char *txt = NULL;

	v[0] = '\0';
	if (afile_read(P("trial"), 8192, &txt, NULL) == 0)
		snprintf(v, sizeof(v), "%.*s", (int)strcspn(txt, " "), txt);
	free(txt);
	return v;
}

/* Versions 1.0.0 (current) and 2.0.0 installed, no trial. */
static int
node_setup(void)
{
	tmp_rmtree(conf.root);
	if (mkdir(conf.root, 0755) != 0 ||
	    priv_direct_mkdirs(P("1.0.0"), strlen(conf.root), 0700) != 0 ||
	    priv_direct_mkdirs(P("2.0.0"), strlen(conf.root), 0700) != 0 ||
	    afile_write(P("1.0.0/edge-keeper"), "1", 1, 0755) != 0 ||
	    afile_write(P("2.0.0/edge-keeper"), "2", 1, 0755) != 0 ||
	    symlink("1.0.0", P("current")) != 0)
		return -1;
	return 0;
}

static void
reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static int
begin(void *arg)
{
	char err[256];

	(void)arg;
	return selfup_begin(&conf, "2.0.0", err, sizeof(err)) == 0 ? 0 : 1;
}

static int
never_verify(const char *path, const char *version, char *err, size_t len)
{
	(void)path;
	(void)version;
	snprintf(err, len, "not in this test");
	return -1;
}

TEST(begin_writes_the_trial_then_switches)
{
	CHECK(node_setup() == 0);
	CHECK(begin(NULL) == 0);
	reap();
	CHECK_STR(trial(), "2.0.0");
	CHECK_STR(current(), "2.0.0");
	/* The trial is of the running version only when that is 2.0.0. */
	selfup_commit(&conf);
	CHECK_STR(trial(), strcmp(ef_version, "2.0.0") == 0 ? "" : "2.0.0");
}

/*
 * Failed at any call: -1 and nothing changed, or 0 and both done.  Before,
 * a failed fsync of the directory after the trial's rename or current's
 * left the trial, or current switched with its trial removed.
 */
TEST(failed_begin_changes_nothing)
{
	int n, rc, calls;

	for (n = 1; n < FAULTIO_MAX; n++) {
		CHECK(node_setup() == 0);
		faultio_fail(n);
		rc = begin(NULL);
		calls = atomic_load(&faultio_calls);
		faultio_off();
		reap();
		/*
		 * 0 also when only the fsync of the directory after the
		 * switch failed: the switch is made, its trial guards it.
		 */
		if (rc == 0) {
			CHECK_STR(trial(), "2.0.0");
			CHECK_STR(current(), "2.0.0");
			if (calls < n)
				break;
			continue;
		}
		CHECK_STR(trial(), "");
		CHECK_STR(current(), "1.0.0");
	}
	CHECK(n > 4 && n < FAULTIO_MAX);
}

/*
 * Killed at any call: current never names 2.0.0 without a trial of it;
 * a trial without the switch is swept by the next start (selfup_launch,
 * which here launches nothing), and then nothing is left of the attempt.
 */
TEST(killed_begin_leaves_no_unguarded_switch)
{
	int n, rc;

	for (n = 1; n < FAULTIO_MAX; n++) {
		CHECK(node_setup() == 0);
		rc = faultio_run(n, begin, NULL);
		reap();
		CHECK(rc == 0 || rc == FAULTIO_CRASHED);
		if (strcmp(current(), "2.0.0") == 0)
			CHECK_STR(trial(), "2.0.0");
		else
			CHECK_STR(current(), "1.0.0");
		selfup_launch(&conf, never_verify);
		if (strcmp(current(), "1.0.0") == 0)
			CHECK_STR(trial(), "");
		else
			CHECK_STR(trial(), "2.0.0");
		if (rc == 0)
			break;
	}
	CHECK(n > 4 && n < FAULTIO_MAX);
}

int
main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "watchdog") == 0)
			return 0;
	tmp_setup("selfup_test");
	snprintf(conf.root, sizeof(conf.root), "%s/root", tmpdir);
	snprintf(dir, sizeof(dir), "%s%s", conf.root, SELFUP_DIR);
	conf.trial_s = SELFUP_TRIAL_S;
	RUN(begin_writes_the_trial_then_switches);
	RUN(failed_begin_changes_nothing);
	RUN(killed_begin_leaves_no_unguarded_switch);
	tmp_rmtree(conf.root);
	tmp_cleanup();
	return check_done();
}
