/*
 * The keeper's privilege separation (keeper/privsep.h, common/priv.h),
 * for real: privsep_start forks a privileged part, and the tests run in
 * the unprivileged part as a compromised one would, asking for what the
 * keeper never needs.  Every such request must be refused and change
 * nothing; the keeper's own requests must work.  A request that breaks
 * the wire format must end the unprivileged part.  Needs root (it drops
 * to nobody): skipped otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "common/afile.h"
#include "common/exec.h"
#include "common/priv.h"
#include "common/statesig.h"
#include "common/util.h"
#include "keeper/keeper.h"
#include "keeper/privsep.h"
#include "keeper/release.h"
#include "keeper/trust.h"

static char root[64];
static struct keeper_conf conf;
static unsigned char pk[crypto_sign_PUBLICKEYBYTES];
static unsigned char sk[crypto_sign_SECRETKEYBYTES];
/* edge-cp's state-signing key, for the documents a real edge-cp sends. */
static unsigned char state_pk[crypto_sign_PUBLICKEYBYTES];
static unsigned char state_sk[crypto_sign_SECRETKEYBYTES];
#define PIN_A "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define PIN_B "sha256//BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA="

static const char *
P(const char *rel)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", root, rel);
	return buf[i];
}

/* -1 with EPERM: refused by the privileged part. */
#define REFUSED(call) ((call) == -1 && errno == EPERM)

TEST(privsep_child_is_unprivileged)
{
	CHECK(getuid() != 0 && geteuid() != 0);
	CHECK(setuid(0) != 0);
	CHECK(priv_client_fd() >= 0);
}

TEST(privsep_keeper_file_ops_work)
{
	struct priv_stat st;
	char *txt = NULL;
	size_t len;

	CHECK(priv_mkdirs(P("/etc/app"), strlen(root), 0755) == 0);
	CHECK(afile_write(P("/etc/app/a.conf"), "x=1\n", 4, 0640) == 0);
	CHECK(afile_read(P("/etc/app/a.conf"), 100, &txt, &len) == 0);
	CHECK(len == 4 && memcmp(txt, "x=1\n", 4) == 0);
	free(txt);
	CHECK(priv_lstat(P("/etc/app/a.conf"), &st) == 0);
	CHECK(S_ISREG(st.mode) && (st.mode & 0777) == 0640 && st.uid == 0);
	CHECK(priv_ownmode(P("/etc/app/a.conf"), (uid_t)-1, (gid_t)-1, 0600) ==
	    0);
	CHECK(priv_lstat(P("/etc/app/a.conf"), &st) == 0);
	CHECK((st.mode & 0777) == 0600);
	CHECK(priv_rename(P("/etc/app/a.conf"), P("/etc/app/b.conf")) == 0);
	CHECK(priv_lstat(P("/etc/app/a.conf"), &st) == -1 && errno == ENOENT);
	CHECK(priv_unlink(P("/etc/app/b.conf")) == 0);
	/* The keeper's own state is its to write. */
	CHECK(afile_write(
		  P("/var/lib/edge-keeper/desired.json"), "{}", 2, 0600) == 0);
}

TEST(privsep_node_key_is_never_read)
{
	char *txt = NULL;
	size_t len;

	CHECK(REFUSED(
	    afile_read(P("/var/lib/edge-keeper/node.key"), 4096, &txt, &len)));
	CHECK(txt == NULL);
}

TEST(privsep_trust_anchors_are_not_changed)
{
	struct priv_stat st;
	char *txt = NULL;
	size_t len;

	CHECK(REFUSED(afile_write(
	    P("/var/lib/edge-keeper/release.pub"), "evil", 4, 0644)));
	CHECK(REFUSED(
	    afile_write(P("/var/lib/edge-keeper/state.pub"), "evil", 4, 0644)));
	CHECK(REFUSED(afile_write(
	    P("/var/lib/edge-keeper/release.retired"), "evil\n", 5, 0644)));
	CHECK(REFUSED(afile_write(
	    P("/etc/edge-keeper/keeper.conf"), "user=root\n", 10, 0644)));
	CHECK(REFUSED(afile_write(
	    P("/var/lib/edge-keeper/dataplane.seq"), "0\n", 2, 0600)));
	CHECK(REFUSED(afile_write(
	    P("/var/lib/edge-keeper/dataplane/9.0.0/edge-dp"), "x", 1, 0755)));
	CHECK(REFUSED(afile_write(
	    P("/var/lib/edge-keeper/keeper/current"), "x", 1, 0644)));
	CHECK(REFUSED(priv_mkdirs(
	    P("/var/lib/edge-keeper/dataplane/9.0.0"), strlen(root), 0755)));
	CHECK(REFUSED(priv_unlink(P("/var/lib/edge-keeper/node.key"))));
	CHECK(REFUSED(
	    priv_rename(P("/var/lib/edge-keeper/release.pub"), P("/tmp-x"))));
	CHECK(afile_write(P("/etc/x"), "k", 1, 0644) == 0);
	CHECK(REFUSED(priv_rename(
	    P("/etc/x"), P("/var/lib/edge-keeper/keeper/9.0.0/edge-keeper"))));
	CHECK(REFUSED(priv_ownmode(
	    P("/var/lib/edge-keeper/release.pub"), 65534, 65534, 0666)));
	/* Nothing changed. */
	CHECK(afile_read(P("/var/lib/edge-keeper/release.pub"), 4096, &txt,
		  &len) == 0);
	CHECK(strncmp(txt, "untrusted comment", 17) == 0);
	free(txt);
	CHECK(priv_lstat(P("/var/lib/edge-keeper/dataplane"), &st) == -1);
}

TEST(privsep_path_tricks_are_refused)
{
	CHECK(REFUSED(afile_write("etc/relative", "x", 1, 0644)));
	CHECK(REFUSED(afile_write(
	    P("/etc/../var/lib/edge-keeper/release.pub"), "x", 1, 0644)));
	CHECK(REFUSED(
	    afile_write(P("/var/lib//edge-keeper/release.pub"), "x", 1, 0644)));
	CHECK(REFUSED(afile_write(
	    P("/var/lib/./edge-keeper/release.pub"), "x", 1, 0644)));
	CHECK(REFUSED(priv_unlink(P("/var/lib/edge-keeper/.."))));
}

TEST(privsep_exec_allow_list)
{
	const char *const sh[] = { "sh", "-c", "id", NULL };
	const char *const abs[] = { "/usr/bin/dpkg-query", "-W", NULL };
	const char *const bird[] = { "bird", "-c", "/etc/passwd", NULL };
	const char *const q[] = { "dpkg-query", "-W", "nginx", NULL };
	const char *const badenv[] = { "LD_PRELOAD=/tmp/x.so", NULL };
	struct exec_result r;

	CHECK(REFUSED(exec_run(sh, NULL, 1000, &r)));
	CHECK(REFUSED(exec_run(abs, NULL, 1000, &r)));
	CHECK(REFUSED(exec_run(bird, NULL, 1000, &r)));
	CHECK(REFUSED(exec_run(q, badenv, 1000, &r)));
	/* An allowed program runs, as root, from the keeper's tool path. */
	CHECK(exec_run(q, NULL, 5000, &r) == 0);
	CHECK(r.status == 0);
	CHECK_STR(r.out, "stand-in uid=0 nginx\n");
}

TEST(privsep_sysctl_only_under_proc_sys)
{
	CHECK(REFUSED(priv_sysctl_write(P("/etc/x"), "1\n", 2)));
	CHECK(REFUSED(priv_sysctl_write("/proc/sys/../self/oom_adj", "1", 1)));
}

TEST(privsep_connect_only_to_bird_or_edge_dp)
{
	CHECK(REFUSED(priv_connect_unix(P("/other.sock"))));
}

TEST(privsep_signal_only_what_it_started)
{
	CHECK(REFUSED(priv_signal(1, SIGKILL)));
	CHECK(REFUSED(priv_signal(getppid(), SIGSTOP)));
}

TEST(privsep_dataplane_start_only_signed)
{
	const char *const sh[] = { "/bin/sh", "-c", "id", NULL };
	const char *const dp[] = { P("/var/lib/edge-keeper/dataplane/1.0.0/"
				     "edge-dp"),
		"--listen", "127.0.0.1:1", NULL };
	const char *const opt[] = { P("/var/lib/edge-keeper/dataplane/1.0.0/"
				      "edge-dp"),
		"--exec", "/bin/sh", NULL };
	const char *log = P("/var/lib/edge-keeper/dataplane/edge-dp.log");
	char err[256];
	pid_t pid;
	int fd;

	CHECK(priv_spawn(sh, log, &pid, &fd, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not an installed dataplane") != NULL);
	/* Installed by the test, never signed: not run. */
	CHECK(priv_spawn(dp, log, &pid, &fd, err, sizeof(err)) == -1);
	CHECK(fd < 0);
	CHECK(priv_spawn(opt, log, &pid, &fd, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not an edge-dp option") != NULL);
}

TEST(privsep_signs_only_handshakes)
{
	const char *hs = "edgefleet-session-v1\nnode-7\n1700000000\nAAAA";
	const char *other = "edgefleet-session-v1\nnode-8\n1700000000\nAAAA";
	unsigned char sig[64];

	CHECK(priv_sign("hello", 5, NULL, sig) == -1);
	CHECK(priv_sign(other, strlen(other), NULL, sig) == -1);
	CHECK(priv_sign(hs, strlen(hs), NULL, sig) == 0);
	CHECK(crypto_sign_verify_detached(
		  sig, (const unsigned char *)hs, strlen(hs), pk) == 0);
}

TEST(privsep_release_paths)
{
	struct priv_msg req, ans;
	char err[256];
	int fd = open("/dev/null", O_RDONLY);

	priv_msg_init(&req, PRIV_RELEASE_INSTALL);
	priv_put_str(&req, "dataplane");
	priv_put_str(&req, "1.0.0");
	priv_put_str(&req, P("/usr/sbin/sshd"));
	priv_put_u32(&req, 0);
	priv_put_str(&req, "sig");
	req.fd = fd;
	CHECK(REFUSED(priv_call(&req, &ans, err, sizeof(err))));
	priv_msg_clear(&req);
	priv_msg_clear(&ans);
	priv_msg_init(&req, PRIV_SELF_BEGIN);
	priv_put_str(&req, "../../../tmp");
	CHECK(REFUSED(priv_call(&req, &ans, err, sizeof(err))));
	priv_msg_clear(&req);
	priv_msg_clear(&ans);
	/* A key "rotation" that nothing signed moves no pin. */
	priv_msg_init(&req, PRIV_RELEASE_KEY);
	priv_put_str(&req, "untrusted comment: evil\nRWQ\n");
	priv_put_str(&req, "not a statement");
	CHECK(REFUSED(priv_call(&req, &ans, err, sizeof(err))));
	priv_msg_clear(&req);
	priv_msg_clear(&ans);
}

/* profile.seq: only the privileged part writes it, and only upwards. */
TEST(privsep_profile_mark_only_goes_up)
{
	char err[256];

	CHECK(REFUSED(afile_write(
	    P("/var/lib/edge-keeper/profile.seq"), "1\n", 2, 0600)));
	CHECK(release_mark(&conf, "profile") == 0);
	CHECK(release_profile_mark(&conf, 5, err, sizeof(err)) == 0);
	CHECK(release_mark(&conf, "profile") == 5);
	CHECK(release_profile_mark(&conf, 3, err, sizeof(err)) == 0);
	CHECK(release_mark(&conf, "profile") == 5);
	CHECK(REFUSED(priv_unlink(P("/var/lib/edge-keeper/profile.seq"))));
	CHECK(release_mark(&conf, "profile") == 5);
}

TEST(privsep_ownmode_follows_no_symlink)
{
	struct priv_stat st;

	CHECK(priv_ownmode(P("/etc/link"), 65534, 65534, 0666) == -1);
	CHECK(priv_lstat(P("/etc/passwd-copy"), &st) == 0);
	CHECK(st.uid == 0 && (st.mode & 0777) == 0600);
}

/* With write_allow="/etc/app/,/etc/one.conf" in keeper.conf. */
TEST(privsep_write_allow_bounds_changes)
{
	CHECK(afile_write(P("/etc/app/x"), "1", 1, 0644) == 0);
	CHECK(priv_mkdirs(P("/etc/app/sub/deeper"), strlen(root), 0755) == 0);
	CHECK(afile_write(P("/etc/one.conf"), "1", 1, 0644) == 0);
	CHECK(afile_write(
		  P("/var/lib/edge-keeper/desired.json"), "{}", 2, 0600) == 0);
	CHECK(REFUSED(afile_write(P("/etc/two.conf"), "1", 1, 0644)));
	CHECK(REFUSED(afile_write(P("/etc/app2/x"), "1", 1, 0644)));
	CHECK(REFUSED(afile_write(P("/etc/one.conf.d"), "1", 1, 0644)));
	CHECK(REFUSED(priv_rename(P("/etc/app/x"), P("/etc/cron-x"))));
	CHECK(REFUSED(priv_unlink(P("/etc/passwd-copy"))));
	CHECK(REFUSED(afile_write("/tmp/privsep_test_outside", "1", 1, 0644)));
	CHECK(priv_unlink(P("/etc/app/x")) == 0);
}

/* keeper.conf's pin= line, read through the privileged part. */
static bool
pin_is(const char *want)
{
	char *txt = NULL, line[160];
	size_t len;
	bool same;

	if (afile_read(P("/etc/edge-keeper/keeper.conf"), 4096, &txt, &len) !=
	    0)
		return false;
	snprintf(line, sizeof(line), "\npin=%s\n", want);
	same = strstr(txt, line) != NULL;
	free(txt);
	return same;
}

TEST(privsep_state_trust_verified_in_the_privileged_part)
{
	static const char doc[] =
	    "{\"tls_pins\":[\"" PIN_A "\",\"" PIN_B "\"]}";
	char sig[STATESIG_HDR_MAX], pins[CP_PIN_MAX], err[512], pub[64];
	unsigned char opk[crypto_sign_PUBLICKEYBYTES];
	unsigned char osk[crypto_sign_SECRETKEYBYTES];

	/* Unsigned, or signed by a key of the child's own it offers. */
	CHECK(REFUSED(trust_accept(&conf, doc, strlen(doc), "", "", true, pins,
	    sizeof(pins), err, sizeof(err))));
	CHECK_STR(err, "signature: no signature");
	crypto_sign_keypair(opk, osk);
	statesig_pub_encode(opk, pub, sizeof(pub));
	CHECK(statesig_sign(
		  osk, conf.node_id, doc, strlen(doc), sig, sizeof(sig)) == 0);
	CHECK(REFUSED(trust_accept(&conf, doc, strlen(doc), sig, pub, true,
	    pins, sizeof(pins), err, sizeof(err))));
	CHECK(pin_is(PIN_A));
	/* As edge-cp signs it: the pins reach keeper.conf. */
	CHECK(statesig_sign(state_sk, conf.node_id, doc, strlen(doc), sig,
		  sizeof(sig)) == 0);
	CHECK(trust_accept(&conf, doc, strlen(doc), sig, "", true, pins,
		  sizeof(pins), err, sizeof(err)) == 0);
	CHECK_STR(pins, PIN_A ";" PIN_B);
	CHECK(pin_is(PIN_A ";" PIN_B));
}

static int
second(void)
{
	RUN(privsep_write_allow_bounds_changes);
	fflush(stdout);
	return check_failed;
}

/* Everything the unprivileged part does in the first instance. */
static void
child_tests(void)
{
	RUN(privsep_child_is_unprivileged);
	RUN(privsep_keeper_file_ops_work);
	RUN(privsep_node_key_is_never_read);
	RUN(privsep_trust_anchors_are_not_changed);
	RUN(privsep_path_tricks_are_refused);
	RUN(privsep_exec_allow_list);
	RUN(privsep_sysctl_only_under_proc_sys);
	RUN(privsep_connect_only_to_bird_or_edge_dp);
	RUN(privsep_signal_only_what_it_started);
	RUN(privsep_dataplane_start_only_signed);
	RUN(privsep_signs_only_handshakes);
	RUN(privsep_release_paths);
	RUN(privsep_profile_mark_only_goes_up);
	RUN(privsep_ownmode_follows_no_symlink);
	RUN(privsep_state_trust_verified_in_the_privileged_part);
}

/*
 * Start the split in a process of its own; in its unprivileged part run
 * fn and exit with what it returns.  The status that process (the
 * privileged part) exits with.
 */
static int
instance(int (*fn)(void))
{
	char err[256];
	pid_t pid;
	int status;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		if (privsep_start(&conf, sk, err, sizeof(err)) != 0) {
			printf("# privsep_start: %s\n", err);
			_exit(99);
		}
		_exit(fn());
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int
first(void)
{
	child_tests();
	fflush(stdout);
	return check_failed;
}

/* A message of a type that does not exist. */
static int
garbage(void)
{
	uint32_t hdr[2] = { 999, 0 };

	if (write(priv_client_fd(), hdr, sizeof(hdr)) != sizeof(hdr))
		return 3;
	pause(); /* killed by the privileged part */
	return 4;
}

/* A field that runs past the end of its message. */
static int
overrun(void)
{
	struct priv_msg m;

	priv_msg_init(&m, PRIV_UNLINK);
	priv_put_u32(&m, 100000); /* a string of 100000 bytes: none follow */
	if (priv_send(priv_client_fd(), &m) != 0)
		return 3;
	priv_msg_clear(&m);
	pause();
	return 4;
}

static int
clean_exit(void)
{
	return 0;
}

static int child_failed;

TEST(privsep_unprivileged_part_passed)
{
	CHECK(child_failed == 0);
}

static int st_garbage, st_overrun, st_clean;

TEST(privsep_unknown_message_ends_the_child)
{
	CHECK(st_garbage == 1);
}

TEST(privsep_overrun_ends_the_child)
{
	CHECK(st_overrun == 1);
}

TEST(privsep_parent_exits_with_the_child)
{
	CHECK(st_clean == 0);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
write_file(const char *rel, const char *txt, mode_t mode)
{
	if (afile_write(P(rel), txt, strlen(txt), mode) != 0) {
		perror(rel);
		exit(1);
	}
}

int
main(void)
{
	const char *dirs[] = { "/etc", "/etc/edge-keeper", "/bin", "/var",
		"/var/lib", "/var/lib/edge-keeper", NULL };
	struct sockaddr_un sa;
	int i, lfd;

	if (geteuid() != 0) {
		printf("ok 1 - privsep # SKIP needs root to drop privileges\n");
		return 0;
	}
	if (sodium_init() < 0)
		return 1;
	crypto_sign_keypair(pk, sk);
	snprintf(root, sizeof(root), "/tmp/privsep_test.XXXXXX");
	if (mkdtemp(root) == NULL)
		return 1;
	for (i = 0; dirs[i] != NULL; i++)
		mkdir(P(dirs[i]), 0755);
	write_file("/var/lib/edge-keeper/node.key", "secret\n", 0600);
	write_file("/var/lib/edge-keeper/release.pub",
	    "untrusted comment: x\nRWQ\n", 0644);
	crypto_sign_keypair(state_pk, state_sk);
	{
		char pub[64], line[80];

		statesig_pub_encode(state_pk, pub, sizeof(pub));
		snprintf(line, sizeof(line), "%s\n", pub);
		write_file("/var/lib/edge-keeper/state.pub", line, 0644);
	}
	write_file("/etc/edge-keeper/keeper.conf",
	    "server=https://127.0.0.1:1\npin=" PIN_A "\nnode_id=node-7\n",
	    0644);
	write_file("/etc/passwd-copy", "root:x:0:0\n", 0600);
	if (symlink(P("/etc/passwd-copy"), P("/etc/link")) != 0)
		return 1;
	write_file("/bin/dpkg-query",
	    "#!/bin/sh\necho \"stand-in uid=$(/usr/bin/id -u) $2\"\n", 0755);
	exec_set_path(P("/bin"));
	/* A socket that is neither BIRD's nor edge-dp's. */
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", P("/other.sock"));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 4) != 0)
		return 1;
	util_strlcpy(conf.root, root, sizeof(conf.root));
	util_strlcpy(conf.node_id, "node-7", sizeof(conf.node_id));
	util_strlcpy(conf.user, "nobody", sizeof(conf.user));
	conf.trial_s = 120;

	child_failed = instance(first);
	/* The child's lines are numbered from 1; go on after them. */
	check_n = 14;
	RUN(privsep_unprivileged_part_passed);
	util_strlcpy(conf.write_allow, "/etc/app/,/etc/one.conf",
	    sizeof(conf.write_allow));
	child_failed = instance(second);
	check_n++; /* the child's one line */
	RUN(privsep_unprivileged_part_passed);
	conf.write_allow[0] = '\0';
	st_garbage = instance(garbage);
	RUN(privsep_unknown_message_ends_the_child);
	st_overrun = instance(overrun);
	RUN(privsep_overrun_ends_the_child);
	st_clean = instance(clean_exit);
	RUN(privsep_parent_exits_with_the_child);
	close(lfd);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return check_done();
}
