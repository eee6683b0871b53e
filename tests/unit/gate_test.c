/*
 * Unit tests of keeper/gate's record of the addresses it put on an
 * interface (state_file, anycast.addrs), with its writes failing or the
 * keeper killed at each of them (tests/unit/faultio.h).  A real gate
 * thread on `lo` of a network namespace of the test's own, probing a
 * tiny HTTP server that always answers 200.
 *
 * The invariant: an address the gate put on lo is in the file, or is
 * about to be (a failed write is tried again every tick), so a keeper
 * restarted with that prefix gone from its configuration removes it.
 * Where no network namespace can be made (not root) the tests are
 * reported as skipped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "common/nladdr.h"
#include "faultio.h"
#include "keeper/gate.h"
#include "tmpdir.h"

#define SKIP(name, why)                                                        \
	do {                                                                   \
		check_n++;                                                     \
		printf("ok %d - %s # SKIP %s\n", check_n, #name, why);         \
		fflush(stdout);                                                \
	} while (0)

#define X "203.0.113.10/32"
#define Y "203.0.113.11/32"

static char state[256];
static int port;
static unsigned lo;

/* The probe's server: 200 to every connection, on its own thread. */
static void *
serve(void *arg)
{
	static const char ok[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	int ls = *(int *)arg, c;
	char buf[1024];

	for (;;) {
		if ((c = accept(ls, NULL, NULL)) < 0)
			continue;
		if (read(c, buf, sizeof(buf)) > 0 &&
		    write(c, ok, sizeof(ok) - 1) < 0)
			buf[0] = '\0';
		close(c);
	}
	return NULL;
}

static int
netns_setup(char *why, size_t len)
{
	static int ls;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	struct ifreq ifr;
	pthread_t t;
	int fd;

	if (unshare(CLONE_NEWNET) != 0) {
		snprintf(why, len, "unshare: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    ioctl(fd, SIOCGIFFLAGS, &ifr) != 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr)) != 0) {
		snprintf(why, len, "lo up: %s", strerror(errno));
		return -1;
	}
	close(fd);
	lo = if_nametoindex("lo");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(ls, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(ls, 64) != 0 ||
	    getsockname(ls, (struct sockaddr *)&sin, &sl) != 0 ||
	    pthread_create(&t, NULL, serve, &ls) != 0) {
		snprintf(why, len, "probe server: %s", strerror(errno));
		return -1;
	}
	port = ntohs(sin.sin_port);
	return 0;
}

static void
config(struct gate_config *c, const char *a, const char *b)
{
	memset(c, 0, sizeof(*c));
	nladdr_parse(a, &c->prefixes[c->nprefixes++]);
	if (b != NULL)
		nladdr_parse(b, &c->prefixes[c->nprefixes++]);
	memcpy(c->ifname, "lo", 3);
	snprintf(c->probe, sizeof(c->probe), "http://127.0.0.1:%d/", port);
	c->interval_ms = 10;
	c->timeout_ms = 500;
	c->rise = 1;
	c->fall = 3;
	c->drain_s = 1;
}

/* Is a (text) on lo? */
static bool
on_lo(const char *text)
{
	struct nladdr have[64], a;
	char err[256];
	size_t n = 0, i;

	nladdr_parse(text, &a);
	if (nladdr_list(lo, have, 64, &n, err, sizeof(err)) != 0)
		return false;
	for (i = 0; i < n; i++)
		if (nladdr_equal(&have[i], &a))
			return true;
	return false;
}

/* Is a (text) a line of the state file? */
static bool
recorded(const char *text)
{
	char *txt = NULL, line[64];
	bool rc;

	if (afile_read(state, 65536, &txt, NULL) != 0)
		return false;
	snprintf(line, sizeof(line), "%s\n", text);
	rc = strncmp(txt, line, strlen(line)) == 0 || strstr(txt, line) != NULL;
	free(txt);
	return rc;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Poll cond for at most 5 s. */
static bool
await_(bool (*cond)(void))
{
	int i;

	for (i = 0; i < 500; i++) {
		if (cond())
			return true;
		sleep_ms(10);
	}
	return false;
}

static bool
both_on(void)
{
	return on_lo(X) && on_lo(Y);
}

static bool
only_y(void)
{
	return !on_lo(X) && on_lo(Y);
}

static bool
both_recorded(void)
{
	return recorded(X) && recorded(Y);
}

/* A gate with c until cond holds (bounded); true when it did. */
static bool
gate_until(const struct gate_config *c, bool (*cond)(void))
{
	char err[256];
	struct gate *g;
	bool rc;

	if ((g = gate_start(state, NULL, NULL, err, sizeof(err))) == NULL ||
	    gate_configure(g, c, err, sizeof(err)) != 0)
		return false;
	rc = await_(cond);
	gate_stop(g);
	return rc;
}

static int
announce_both(void *arg)
{
	struct gate_config c;

	(void)arg;
	config(&c, X, Y);
	return gate_until(&c, both_on) ? 0 : 1;
}

/* Nothing on lo of ours, nothing recorded. */
static void
clean(void)
{
	struct nladdr a;
	char err[256];

	nladdr_parse(X, &a);
	nladdr_del(lo, &a, err, sizeof(err));
	nladdr_parse(Y, &a);
	nladdr_del(lo, &a, err, sizeof(err));
	unlink(state);
}

/* Every address of ours on lo is recorded (the invariant). */
static bool
lo_recorded(void)
{
	return (!on_lo(X) || recorded(X)) && (!on_lo(Y) || recorded(Y));
}

TEST(gate_records_what_it_adds)
{
	clean();
	CHECK(announce_both(NULL) == 0);
	CHECK(both_recorded());
}

/*
 * Killed at each write, fsync or rename of the record: what is on lo is
 * recorded, and a keeper restarted with X gone from its configuration
 * takes X away.  Before, the address went on first and the record after,
 * so a kill in between left X announced for good.
 */
TEST(killed_gate_leaves_nothing_unrecorded)
{
	struct gate_config c;
	int n, rc;

	config(&c, Y, NULL);
	for (n = 1; n < FAULTIO_MAX; n++) {
		clean();
		rc = faultio_run(n, announce_both, NULL);
		CHECK(rc == 0 || rc == FAULTIO_CRASHED);
		CHECK(lo_recorded());
		CHECK(gate_until(&c, only_y));
		if (rc == 0)
			break;
	}
	CHECK(n > 4 && n < FAULTIO_MAX);
}

/*
 * A failing write does not keep the gate from announcing (a disk error
 * must not withdraw a healthy node), and the record catches up once
 * writes work again.
 */
TEST(failed_record_is_written_again)
{
	struct gate_config c2, c1;
	char err[256];
	struct gate *g;
	int n;

	config(&c2, X, Y);
	config(&c1, Y, NULL);
	for (n = 1; n <= 8; n++) {
		clean();
		CHECK((g = gate_start(state, NULL, NULL, err, sizeof(err))) !=
		    NULL);
		faultio_fail(n);
		CHECK(gate_configure(g, &c2, err, sizeof(err)) == 0);
		CHECK(await_(both_on));
		faultio_off();
		CHECK(await_(both_recorded));
		gate_stop(g);
		CHECK(gate_until(&c1, only_y));
	}
}

int
main(void)
{
	char why[256];

	tmp_setup("gate_test");
	tmp_path(state, sizeof(state), "anycast.addrs");
	if (netns_setup(why, sizeof(why)) != 0) {
		SKIP(gate_records_what_it_adds, why);
		SKIP(killed_gate_leaves_nothing_unrecorded, why);
		SKIP(failed_record_is_written_again, why);
	} else {
		RUN(gate_records_what_it_adds);
		RUN(killed_gate_leaves_nothing_unrecorded);
		RUN(failed_record_is_written_again);
	}
	clean();
	tmp_cleanup();
	return check_done();
}
