/*
 * Unit tests of cp/deadline: a connection is cut (its peer reads the end
 * of the stream) exactly when due, once; a disarmed one never; a route's
 * budget counts from when the connection became ready.  Socket pairs
 * stand in for client connections; the clock is the test's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "cp/deadline.h"

static int sv[2] = { -1, -1 };

static struct deadline_conn *
conn(uint64_t now, uint64_t budget)
{
	struct sockaddr_in s4;

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.7", &s4.sin_addr);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return NULL;
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	return deadline_open(sv[0], (const struct sockaddr *)&s4, now, budget);
}

static void
conn_done(struct deadline_conn *c)
{
	deadline_close(c);
	close(sv[0]);
	close(sv[1]);
	sv[0] = sv[1] = -1;
}

/* 1: the peer reads the end of the stream (cut); 0: still open. */
static int
peer_cut(void)
{
	char b;

	if (read(sv[1], &b, 1) == 0)
		return 1;
	return errno == EAGAIN ? 0 : -1;
}

TEST(cut_when_due_once)
{
	struct deadline_conn *c = conn(1000, 500);

	CHECK(c != NULL);
	CHECK(deadline_count() == 1);
	CHECK(deadline_sweep(1499) == 0);
	CHECK(peer_cut() == 0);
	CHECK(deadline_sweep(1500) == 1);
	CHECK(peer_cut() == 1);
	/* Cut once: not counted again while it closes. */
	CHECK(deadline_sweep(9000) == 0);
	conn_done(c);
	CHECK(deadline_count() == 0);
}

TEST(disarmed_not_cut)
{
	struct deadline_conn *c = conn(0, 100);

	CHECK(c != NULL);
	deadline_disarm(c);
	CHECK(deadline_sweep(100) == 0);
	CHECK(deadline_sweep(100000000) == 0);
	CHECK(peer_cut() == 0);
	/* Armed again for the next request: from then. */
	deadline_arm(c, 200000000, 100);
	CHECK(deadline_sweep(200000099) == 0);
	CHECK(deadline_sweep(200000100) == 1);
	CHECK(peer_cut() == 1);
	conn_done(c);
}

TEST(route_budget_from_ready)
{
	struct deadline_conn *c = conn(0, 100);

	CHECK(c != NULL);
	/* The headers came at 50; the budget still counts from 0. */
	deadline_route(c, "release_upload", 1000);
	CHECK(deadline_sweep(999) == 0);
	CHECK(deadline_sweep(1000) == 1);
	CHECK(peer_cut() == 1);
	conn_done(c);
}

TEST(several)
{
	struct deadline_conn *a, *b;
	int sa[2], sb[2];

	CHECK((a = conn(0, 100)) != NULL);
	memcpy(sa, sv, sizeof(sa));
	CHECK((b = conn(0, 200)) != NULL);
	memcpy(sb, sv, sizeof(sb));
	CHECK(deadline_count() == 2);
	CHECK(deadline_sweep(150) == 1);
	CHECK(deadline_sweep(250) == 1);
	deadline_close(a);
	deadline_close(b);
	close(sa[0]);
	close(sa[1]);
	close(sb[0]);
	close(sb[1]);
	CHECK(deadline_count() == 0);
}

TEST(null_is_a_no_op)
{
	deadline_arm(NULL, 0, 1);
	deadline_route(NULL, "x", 1);
	deadline_disarm(NULL);
	deadline_close(NULL);
	CHECK(deadline_sweep(1) == 0);
}

TEST(sweeper_thread)
{
	CHECK(deadline_start() == 0);
	CHECK(deadline_start() == 0);
	deadline_stop();
	deadline_stop();
}

int
main(void)
{
	RUN(cut_when_due_once);
	RUN(disarmed_not_cut);
	RUN(route_budget_from_ready);
	RUN(several);
	RUN(null_is_a_no_op);
	RUN(sweeper_thread);
	return check_done();
}
