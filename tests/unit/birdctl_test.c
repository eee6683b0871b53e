/*
 * Unit tests of common/birdctl, in two halves.
 *
 * Against a fake server (a Unix listener in a thread that sends canned
 * bytes): the line grammar, garbage, bounds, timeouts, the commands sent
 * and the parsing of "show protocols" rows in both time formats.
 *
 * Against a real BIRD, started here as a child in a network namespace of
 * its own (unshare(CLONE_NEWNET) first thing in main), so its device and
 * BGP protocols see only an empty namespace and nothing on the host is
 * touched: status, protocols, a good and a bad reconfiguration.  Where no
 * namespace can be made (not root) or BIRD is not installed, those tests
 * are reported as skipped.  The child is killed by its pid, and with
 * PR_SET_PDEATHSIG also when this program dies first.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "common/afile.h"
#include "common/birdctl.h"
#include "tmpdir.h"

#define BIRD "/usr/sbin/bird"
#define FAKE_WAIT_MS 5000 /* the fake server never waits longer */

static void
msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A test that cannot run here, in the form tests/run.sh counts. */
static void
skip(const char *name, const char *why)
{
	printf("ok %d - %s # SKIP %s\n", ++check_n, name, why);
	fflush(stdout);
}

/*
 * The fake server: accepts one connection, sends greeting, reads one
 * line (the command, kept in got), sends reply, with flood keeps sending
 * table rows, and then (unless hangup) waits for the client to hang up.
 * Every wait is bounded, so a broken client cannot hang the test.
 */
struct fake {
	const char *greeting; /* NULL: send nothing at all */
	const char *reply;    /* NULL: answer nothing */
	size_t reply_len;     /* 0: strlen(reply) */
	bool flood, hangup;
	char got[256];
	int lfd;
	pthread_t tid;
};

static char fake_sock[256];

static bool
fake_ready(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, FAKE_WAIT_MS) > 0;
}

static void
fake_send(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	char row[128], c;
	size_t n = 0;
	int fd;

	if (!fake_ready(f->lfd) || (fd = accept(f->lfd, NULL, NULL)) < 0)
		return NULL;
	if (f->greeting == NULL)
		goto drain;
	fake_send(fd, f->greeting, strlen(f->greeting));
	while (fake_ready(fd) && read(fd, &c, 1) == 1 && c != '\n')
		if (n < sizeof(f->got) - 1)
			f->got[n++] = c;
	f->got[n] = '\0';
	if (f->reply != NULL)
		fake_send(fd, f->reply,
		    f->reply_len > 0 ? f->reply_len : strlen(f->reply));
	if (f->flood) {
		memset(row, 'x', sizeof(row));
		memcpy(row, "1000-", 5);
		row[sizeof(row) - 1] = '\n';
		while (send(fd, row, sizeof(row), MSG_NOSIGNAL) > 0)
			;
	}
	if (f->hangup)
		goto out;
drain:
	while (fake_ready(fd) && read(fd, &c, 1) == 1)
		;
out:
	close(fd);
	return NULL;
}

static int
fake_start(struct fake *f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	f->got[0] = '\0';
	unlink(fake_sock);
	if (strlen(fake_sock) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, fake_sock, strlen(fake_sock) + 1);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0)
		return -1;
	if (bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(f->lfd, 1) != 0 ||
	    pthread_create(&f->tid, NULL, fake_main, f) != 0) {
		close(f->lfd);
		return -1;
	}
	return 0;
}

static void
fake_stop(struct fake *f)
{
	pthread_join(f->tid, NULL);
	close(f->lfd);
}

/* Run cmd against a fake that says greeting and reply. */
static int
fake_cmd(struct fake *f, const char *cmd, int timeout_ms, int *code, char *out,
    size_t outlen, char *err, size_t errlen)
{
	int rc;

	if (fake_start(f) != 0)
		return -2;
	rc = birdctl_cmd(
	    fake_sock, cmd, timeout_ms, code, out, outlen, err, errlen);
	fake_stop(f);
	return rc;
}

#define GREETING "0001 BIRD 2.0.12 ready.\n"

TEST(cmd_must_be_one_line)
{
	char out[64], err[256];
	int code;

	CHECK(birdctl_cmd(fake_sock, "show status\n", 300, &code, out,
		  sizeof(out), err, sizeof(err)) == -1);
	CHECK(strstr(err, "one non-empty line") != NULL);
	CHECK(code == -1 && out[0] == '\0');
	CHECK(birdctl_cmd(fake_sock, "show\rstatus", 300, &code, out,
		  sizeof(out), err, sizeof(err)) == -1);
	CHECK(strstr(err, "one non-empty line") != NULL);
	CHECK(birdctl_cmd(fake_sock, "", 300, &code, out, sizeof(out), err,
		  sizeof(err)) == -1);
	CHECK(strstr(err, "one non-empty line") != NULL);
}

TEST(missing_socket_fails_at_once)
{
	char out[64], err[256], path[256];
	int code;

	tmp_path(path, sizeof(path), "nothing-here.ctl");
	CHECK(birdctl_cmd(path, "show status", 5000, &code, out, sizeof(out),
		  err, sizeof(err)) == -1);
	CHECK(code == -1);
	CHECK(strstr(err, "No such file") != NULL);
	CHECK(strstr(err, path) != NULL);
}

TEST(configure_refuses_odd_file_names)
{
	char err[256];

	CHECK(birdctl_configure(
		  fake_sock, "/etc/bird\".conf", err, sizeof(err)) == -1);
	CHECK(strstr(err, "quote") != NULL);
	CHECK(birdctl_configure(
		  fake_sock, "/etc/bird\\.conf", err, sizeof(err)) == -1);
	CHECK(strstr(err, "quote") != NULL);
	CHECK(birdctl_configure(fake_sock, "/etc/bird.conf\nshow status", err,
		  sizeof(err)) == -1);
	CHECK(strstr(err, "quote") != NULL);
	CHECK(birdctl_configure(fake_sock, "", err, sizeof(err)) == -1);
}

TEST(reply_lines_joined)
{
	struct fake f = { .greeting = GREETING,
		.reply = "+0042 spontaneous, ignored\n"
			 "1000-BIRD 2.0.12\n"
			 "1011-Router ID is 192.0.2.1\n"
			 " Hostname is test\n"
			 " \n"
			 "0013 Daemon is up and running\n" };
	char out[256], err[256];
	int code;

	CHECK(fake_cmd(&f, "show status", 2000, &code, out, sizeof(out), err,
		  sizeof(err)) == 0);
	CHECK_STR(f.got, "show status");
	CHECK(code == 13);
	CHECK_STR(out,
	    "BIRD 2.0.12\nRouter ID is 192.0.2.1\nHostname is test\n\n"
	    "Daemon is up and running");
}

TEST(out_is_cut_and_terminated)
{
	struct fake f = { .greeting = GREETING,
		.reply = "1000-abcdef\n0000 \n" };
	char out[6] = "zzzzz", err[256];
	int code;

	CHECK(fake_cmd(&f, "show status", 2000, &code, out, sizeof(out), err,
		  sizeof(err)) == 0);
	CHECK(code == 0);
	CHECK_STR(out, "abcde");
	/* No room at all is fine too. */
	CHECK(fake_cmd(&f, "show status", 2000, &code, NULL, 0, err,
		  sizeof(err)) == 0);
	CHECK(code == 0);
}

TEST(garbage_is_an_error)
{
	struct fake f = { .greeting = GREETING,
		.reply = "1000-fine\nhello world\n0000 \n" };
	char out[64], err[256];
	int code;

	CHECK(fake_cmd(&f, "show status", 2000, &code, out, sizeof(out), err,
		  sizeof(err)) == -1);
	CHECK(code == -1);
	CHECK_STR(err, "not a BIRD reply line: \"hello world\"");
}

TEST(garbage_variants)
{
	static const char *const bad[] = {
		" continuation first\n0000 \n",
		"100-three digits\n0000 \n",
		"1000\n0000 \n",
		"10a0 letter\n",
		"1000:colon\n",
		"\n",
	};
	struct fake f = { .greeting = GREETING };
	char out[64], err[256];
	size_t i;
	int code;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f.reply = bad[i];
		CHECK(fake_cmd(&f, "x", 2000, &code, out, sizeof(out), err,
			  sizeof(err)) == -1);
		CHECK(strstr(err, "not a BIRD reply line") != NULL);
	}
	/* A NUL byte in a line, shown as '?'. */
	f.reply = "1000-a\0b\n0000 \n";
	f.reply_len = 15;
	CHECK(fake_cmd(&f, "x", 2000, &code, out, sizeof(out), err,
		  sizeof(err)) == -1);
	CHECK_STR(err, "not a BIRD reply line: \"1000-a?b\"");
}

TEST(greeting_must_be_0001)
{
	struct fake f = { .greeting = "0016 Access restricted\n" };
	char out[64], err[256];
	int code;

	CHECK(fake_cmd(&f, "show status", 2000, &code, out, sizeof(out), err,
		  sizeof(err)) == -1);
	CHECK(strstr(err, "greeting 0016") != NULL);
	f.greeting = "hello\n";
	CHECK(fake_cmd(&f, "show status", 2000, &code, out, sizeof(out), err,
		  sizeof(err)) == -1);
	CHECK(strstr(err, "not a BIRD reply line") != NULL);
}

TEST(silence_times_out)
{
	struct fake f = { .greeting = GREETING };
	char out[64], err[256];
	int code;

	/* Greeting, then no answer. */
	CHECK(fake_cmd(&f, "show status", 300, &code, out, sizeof(out), err,
		  sizeof(err)) == -1);
	CHECK_STR(err, "timed out");
	/* Not even a greeting. */
	f.greeting = NULL;
	CHECK(fake_cmd(&f, "show status", 300, &code, out, sizeof(out), err,
		  sizeof(err)) == -1);
	CHECK_STR(err, "timed out");
	/* Half a reply. */
	f.greeting = GREETING;
	f.reply = "1000-BIRD 2.0.12\n0013 Daemon is";
	CHECK(fake_cmd(&f, "show status", 300, &code, out, sizeof(out), err,
		  sizeof(err)) == -1);
	CHECK_STR(err, "timed out");
}

TEST(hangup_is_an_error)
{
	struct fake f = { .greeting = GREETING,
		.reply = "1000-BIRD 2.0.12\n",
		.hangup = true };
	char out[64], err[256];
	int code;

	CHECK(fake_cmd(&f, "show status", 2000, &code, out, sizeof(out), err,
		  sizeof(err)) == -1);
	CHECK_STR(err, "connection closed before the end of the reply");
}

TEST(long_line_is_an_error)
{
	static char reply[8192];
	struct fake f = { .greeting = GREETING, .reply = reply };
	char out[64], err[256];
	int code;

	memset(reply, 'x', sizeof(reply) - 2);
	memcpy(reply, "1000-", 5);
	reply[sizeof(reply) - 2] = '\n';
	CHECK(fake_cmd(&f, "show status", 2000, &code, out, sizeof(out), err,
		  sizeof(err)) == -1);
	CHECK_STR(err, "reply line longer than 4096 bytes");
}

TEST(endless_reply_is_an_error)
{
	struct fake f = { .greeting = GREETING, .flood = true };
	char out[64], err[256];
	int code;

	CHECK(fake_cmd(&f, "show route all", 5000, &code, out, sizeof(out), err,
		  sizeof(err)) == -1);
	CHECK_STR(err, "reply longer than 1048576 bytes");
	CHECK(strncmp(out, "xxxxxxxx", 8) == 0);
}

TEST(configure_sends_quoted_file)
{
	struct fake f = { .greeting = GREETING,
		.reply = "0002-Reading configuration from /x/y.conf\n"
			 "0003 Reconfigured\n" };
	char err[256];

	CHECK(fake_start(&f) == 0);
	CHECK(birdctl_configure(fake_sock, "/x/y.conf", err, sizeof(err)) == 0);
	fake_stop(&f);
	CHECK_STR(f.got, "configure \"/x/y.conf\"");

	f.reply = "0002-Reading configuration from bird.conf\n"
		  "0005 Reconfiguration already in progress, queueing\n";
	CHECK(fake_start(&f) == 0);
	CHECK(birdctl_configure(fake_sock, NULL, err, sizeof(err)) == 0);
	fake_stop(&f);
	CHECK_STR(f.got, "configure");
}

TEST(configure_error_is_birds_message)
{
	struct fake f = { .greeting = GREETING,
		.reply = "0002-Reading configuration from /x/y.conf\n"
			 "8002 /x/y.conf:3:1 syntax error\n" };
	char err[256];

	CHECK(fake_start(&f) == 0);
	CHECK(
	    birdctl_configure(fake_sock, "/x/y.conf", err, sizeof(err)) == -1);
	fake_stop(&f);
	CHECK_STR(err, "8002 /x/y.conf:3:1 syntax error");

	/* Success codes are 0003 to 0005 only. */
	f.reply = "0006 Reconfiguration ignored, shutting down\n";
	CHECK(fake_start(&f) == 0);
	CHECK(birdctl_configure(fake_sock, NULL, err, sizeof(err)) == -1);
	fake_stop(&f);
	CHECK_STR(err, "0006 Reconfiguration ignored, shutting down");
}

/*
 * Rows in BIRD's "%-10s %-10s %-10s %-6s %-12s  %s", with times as
 * "iso long" prints them, a date alone (the default for sessions older
 * than a day), and an info with spaces.
 */
#define LONGNAME                                                               \
	"a_protocol_name_that_is_much_longer_than_the_sixty_four_bytes_"       \
	"we_keep"

TEST(protocols_time_formats)
{
	struct fake f = { .greeting = GREETING,
		.reply = "2002-Name       Proto      Table      State  Since"
			 "         Info\n"
			 "1002-ef_device  Device     ---        up     "
			 "2026-11-24 18:43:53  \n"
			 " ef_peer    BGP        ---        start  2026-11-23"
			 "    Active        Socket: Connection refused\n"
			 " ef_s       Static     master4    up     "
			 "18:43:53.144  \n"
			 " " LONGNAME " Kernel master6 down 2026-11-24 "
			 "18:43:53.144 2026-11-24\n"
			 "0000 \n" };
	struct birdctl_proto rows[8];
	char err[256];
	size_t n;

	CHECK(fake_start(&f) == 0);
	CHECK(birdctl_protocols(fake_sock, rows, 8, &n, err, sizeof(err)) == 0);
	fake_stop(&f);
	CHECK_STR(f.got, "show protocols");
	CHECK(n == 4);
	CHECK_STR(rows[0].name, "ef_device");
	CHECK_STR(rows[0].proto, "Device");
	CHECK_STR(rows[0].table, "---");
	CHECK_STR(rows[0].state, "up");
	CHECK_STR(rows[0].since, "2026-11-24 18:43:53");
	CHECK_STR(rows[0].info, "");
	CHECK_STR(rows[1].since, "2026-11-23");
	CHECK_STR(rows[1].info, "Active        Socket: Connection refused");
	CHECK_STR(rows[2].table, "master4");
	CHECK_STR(rows[2].since, "18:43:53.144");
	CHECK_STR(rows[2].info, "");
	CHECK(strlen(rows[3].name) == sizeof(rows[3].name) - 1);
	CHECK(strncmp(rows[3].name, LONGNAME, sizeof(rows[3].name) - 1) == 0);
	CHECK_STR(rows[3].since, "2026-11-24 18:43:53.144");
	CHECK_STR(rows[3].info, "2026-11-24");

	/* Rows beyond max are dropped. */
	CHECK(fake_start(&f) == 0);
	CHECK(birdctl_protocols(fake_sock, rows, 2, &n, err, sizeof(err)) == 0);
	fake_stop(&f);
	CHECK(n == 2);
	CHECK_STR(rows[1].name, "ef_peer");
}

TEST(protocols_bad_row)
{
	struct fake f = { .greeting = GREETING,
		.reply = "1002-ef_device  Device     ---        up\n0000 \n" };
	struct birdctl_proto rows[4];
	char err[256];
	size_t n = 99;

	CHECK(fake_start(&f) == 0);
	CHECK(
	    birdctl_protocols(fake_sock, rows, 4, &n, err, sizeof(err)) == -1);
	fake_stop(&f);
	CHECK(n == 0);
	CHECK(strstr(err, "bad show protocols row") != NULL);

	f.reply = "9001 syntax error, unexpected CF_SYM_UNDEFINED\n";
	CHECK(fake_start(&f) == 0);
	CHECK(
	    birdctl_protocols(fake_sock, rows, 4, &n, err, sizeof(err)) == -1);
	fake_stop(&f);
	CHECK_STR(err, "9001 syntax error, unexpected CF_SYM_UNDEFINED");
}

/* The real BIRD, in this process's own network namespace. */
static pid_t bird_pid = -1;
static char bird_sock[256], bird_conf[256], bird_log[256], bird_pidf[256];
static char bad_conf[256];

#define CONF_BASE                                                              \
	"router id 192.0.2.1;\n"                                               \
	"protocol device ef_device {}\n"                                       \
	"protocol static ef_s { ipv4; route 192.0.2.0/24 blackhole; }\n"       \
	"protocol bgp ef_peer { local as 65001; neighbor 198.51.100.1 as "     \
	"65000; ipv4 { import none; export none; }; }\n"
#define CONF_MORE                                                              \
	"router id 192.0.2.1;\n"                                               \
	"timeformat protocol iso long;\n"                                      \
	"protocol device ef_device {}\n"                                       \
	"protocol static ef_s { ipv4; route 192.0.2.0/24 blackhole;\n"         \
	"\troute 203.0.113.0/24 blackhole; }\n"                                \
	"protocol bgp ef_peer { local as 65001; neighbor 198.51.100.1 as "     \
	"65000; ipv4 { import none; export none; }; }\n"
#define CONF_BAD                                                               \
	"router id 192.0.2.1;\n"                                               \
	"protocol device ef_device {}\n"                                       \
	"protocol static ef_s { ipv4; route 192.0.2.0/24 blackhole }\n"

static int
put(const char *path, const char *s)
{
	return afile_write(path, s, strlen(s), 0644);
}

static void
bird_exec(void)
{
	int fd;

	/* Die with the test even when it crashes before bird_stop(). */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() == 1)
		_exit(126);
	fd = open(bird_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
	    dup2(fd, STDERR_FILENO) < 0)
		_exit(126);
	execl(BIRD, "bird", "-f", "-c", bird_conf, "-s", bird_sock, "-P",
	    bird_pidf, (char *)NULL);
	_exit(127);
}

/*
 * Start BIRD and await its answer to "show status" (the socket exists
 * before BIRD listens on it), for at most 5 s.
 */
static int
bird_start(void)
{
	char out[512], err[256];
	int i, code, ws;

	tmp_path(bird_sock, sizeof(bird_sock), "bird.ctl");
	tmp_path(bird_conf, sizeof(bird_conf), "bird.conf");
	tmp_path(bird_log, sizeof(bird_log), "bird.log");
	tmp_path(bird_pidf, sizeof(bird_pidf), "bird.pid");
	tmp_path(bad_conf, sizeof(bad_conf), "bad.conf");
	if (put(bird_conf, CONF_BASE) != 0)
		return -1;
	fflush(stdout);
	if ((bird_pid = fork()) < 0)
		return -1;
	if (bird_pid == 0)
		bird_exec();
	for (i = 0; i < 500; i++) {
		if (waitpid(bird_pid, &ws, WNOHANG) == bird_pid) {
			bird_pid = -1;
			return -1;
		}
		if (birdctl_cmd(bird_sock, "show status", 1000, &code, out,
			sizeof(out), err, sizeof(err)) == 0 &&
		    code == 13)
			return 0;
		msleep(10);
	}
	return -1;
}

static void
bird_stop(void)
{
	int i, ws;

	if (bird_pid <= 0)
		return;
	kill(bird_pid, SIGTERM);
	for (i = 0; i < 500; i++) {
		if (waitpid(bird_pid, &ws, WNOHANG) != 0)
			break;
		msleep(10);
	}
	if (i == 500) {
		kill(bird_pid, SIGKILL);
		waitpid(bird_pid, &ws, 0);
	}
	bird_pid = -1;
}

/* BIRD's own words on why it did not start, before tmp_cleanup(). */
static void
show_log(void)
{
	char line[256];
	FILE *fp;

	if ((fp = fopen(bird_log, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL)
		printf("# %s", line);
	fclose(fp);
}

static const struct birdctl_proto *
find(const struct birdctl_proto *rows, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(rows[i].name, name) == 0)
			return &rows[i];
	return NULL;
}

TEST(bird_show_status)
{
	char out[1024], err[256];
	int code;

	CHECK(birdctl_cmd(bird_sock, "show status", 2000, &code, out,
		  sizeof(out), err, sizeof(err)) == 0);
	CHECK(code == 13);
	CHECK(strstr(out, "Router ID is 192.0.2.1") != NULL);
	CHECK(strstr(out, "Daemon is up and running") != NULL);
}

TEST(bird_protocols)
{
	struct birdctl_proto rows[16];
	const struct birdctl_proto *p;
	char err[256];
	size_t n;

	CHECK(
	    birdctl_protocols(bird_sock, rows, 16, &n, err, sizeof(err)) == 0);
	CHECK(n == 3);
	CHECK((p = find(rows, n, "ef_device")) != NULL);
	CHECK_STR(p->proto, "Device");
	CHECK_STR(p->state, "up");
	CHECK(p->since[0] != '\0');
	CHECK((p = find(rows, n, "ef_s")) != NULL);
	CHECK_STR(p->proto, "Static");
	CHECK_STR(p->table, "master4");
	CHECK((p = find(rows, n, "ef_peer")) != NULL);
	CHECK_STR(p->proto, "BGP");
	CHECK(p->info[0] != '\0');
}

TEST(bird_configure)
{
	struct birdctl_proto rows[16];
	const struct birdctl_proto *p;
	char out[1024], err[256];
	size_t n;
	int code;

	CHECK(put(bird_conf, CONF_MORE) == 0);
	CHECK(birdctl_configure(bird_sock, NULL, err, sizeof(err)) == 0);
	CHECK(birdctl_cmd(bird_sock, "show route 203.0.113.0/24", 2000, &code,
		  out, sizeof(out), err, sizeof(err)) == 0);
	CHECK(code == 0);
	CHECK(strstr(out, "203.0.113.0/24") != NULL);
	CHECK(strstr(out, "ef_s") != NULL);
	/* "timeformat protocol iso long": Since is a date and a time now. */
	CHECK(
	    birdctl_protocols(bird_sock, rows, 16, &n, err, sizeof(err)) == 0);
	CHECK((p = find(rows, n, "ef_device")) != NULL);
	CHECK(strlen(p->since) == 19 && p->since[10] == ' ');
	CHECK_STR(p->info, "");
	CHECK((p = find(rows, n, "ef_peer")) != NULL);
	CHECK(p->info[0] != '\0' && strchr("0123456789", p->info[0]) == NULL);
	/* The same file named explicitly. */
	CHECK(birdctl_configure(bird_sock, bird_conf, err, sizeof(err)) == 0);
}

TEST(bird_configure_syntax_error)
{
	struct birdctl_proto rows[16];
	char err[512];
	size_t n;

	CHECK(put(bad_conf, CONF_BAD) == 0);
	CHECK(birdctl_configure(bird_sock, bad_conf, err, sizeof(err)) == -1);
	CHECK(strncmp(err, "8002 ", 5) == 0);
	CHECK(strstr(err, "bad.conf:3:") != NULL);
	CHECK(strstr(err, "syntax error") != NULL);
	CHECK(strchr(err, '\n') == NULL);
	/* BIRD keeps its configuration and answers. */
	CHECK(
	    birdctl_protocols(bird_sock, rows, 16, &n, err, sizeof(err)) == 0);
	CHECK(find(rows, n, "ef_peer") != NULL);
}

TEST(bird_configure_missing_file)
{
	char path[256], err[512];

	tmp_path(path, sizeof(path), "missing.conf");
	CHECK(birdctl_configure(bird_sock, path, err, sizeof(err)) == -1);
	CHECK(strncmp(err, "8002 ", 5) == 0);
	CHECK(strstr(err, "No such file") != NULL);
}

#define RUN_BIRD(name)                                                         \
	do {                                                                   \
		if (bird_pid > 0)                                              \
			RUN(name);                                             \
		else                                                           \
			skip(#name, why);                                      \
	} while (0)

int
main(void)
{
	const char *why = NULL;
	int rc;

	/* Before any thread or child, so all of them share it. */
	if (unshare(CLONE_NEWNET) != 0)
		why = "cannot create a network namespace";
	else if (access(BIRD, X_OK) != 0)
		why = BIRD " is not installed";
	tmp_setup("birdctl_test");
	tmp_path(fake_sock, sizeof(fake_sock), "fake.ctl");

	RUN(cmd_must_be_one_line);
	RUN(missing_socket_fails_at_once);
	RUN(configure_refuses_odd_file_names);
	RUN(reply_lines_joined);
	RUN(out_is_cut_and_terminated);
	RUN(garbage_is_an_error);
	RUN(garbage_variants);
	RUN(greeting_must_be_0001);
	RUN(silence_times_out);
	RUN(hangup_is_an_error);
	RUN(long_line_is_an_error);
	RUN(endless_reply_is_an_error);
	RUN(configure_sends_quoted_file);
	RUN(configure_error_is_birds_message);
	RUN(protocols_time_formats);
	RUN(protocols_bad_row);

	if (why == NULL && bird_start() != 0) {
		printf("not ok %d - bird_start\n", ++check_n);
		check_failed++;
		show_log();
		why = "BIRD did not start";
	}
	RUN_BIRD(bird_show_status);
	RUN_BIRD(bird_protocols);
	RUN_BIRD(bird_configure);
	RUN_BIRD(bird_configure_syntax_error);
	RUN_BIRD(bird_configure_missing_file);
	bird_stop();
	rc = check_done();
	tmp_cleanup();
	return rc;
}
