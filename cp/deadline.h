/*
 * deadline: a bound on the total time a request may take to arrive,
 * headers and body (T31 in docs/threat-model.md).
 *
 * libmicrohttpd's timeout (--timeout) is one of inactivity: a client that
 * sends a byte just before each timeout keeps its connection, and the
 * descriptor and memory behind it, for ever.  Here every open connection
 * has a deadline by which the request it is receiving must be in; a
 * sweeper thread looks once a second and cuts every connection past its
 * deadline with shutdown(2), which libmicrohttpd sees as the client
 * going away: it ends the request and closes the connection as usual.
 * No 408 is sent: libmicrohttpd takes a reply only before a body is read
 * or after all of it, and a client this slow would not read one anyway.
 *
 * A connection, as cp/server.c drives it:
 *
 *	open ── deadline_open(): receiving, due at now + budget
 *	  │
 *	receiving ── past due (sweep) ──▶ cut: shutdown, logged, counted
 *	  │   headers in: deadline_route() names the route and may set
 *	  │   another budget (release uploads), still counted from when the
 *	  │   connection became ready
 *	  ▼
 *	body in, or a reply made on the headers ── deadline_disarm()
 *	  │   answering: no deadline.  A reply is not bounded here (an event
 *	  │   stream lives for hours, a download on a slow link takes long);
 *	  │   the idle timeout still holds for it.
 *	  ▼
 *	request completed ── deadline_arm(): receiving again, due at now +
 *	  │   budget (the next request on a kept-alive connection)
 *	  ▼
 *	closed ── deadline_close()
 *
 * libmicrohttpd says nothing when the first byte of a request arrives,
 * so a deadline runs from when the connection became ready for the
 * request: accepted, or its previous reply sent.  The budget a caller
 * gives should therefore be the idle timeout (the longest a client may
 * wait before it starts) plus the time the request itself may take.
 *
 * Thread-safety: the list of connections has one mutex, taken to open
 * and close one and by the sweep; deadline_arm, _route and _disarm are
 * atomic stores by the thread that runs the connection.  The sweep cuts
 * under the list mutex, and libmicrohttpd calls deadline_close (its
 * NOTIFY_CLOSED) before it closes the descriptor, so a sweep never shuts
 * down a descriptor number that was reused.  Every function takes a NULL
 * connection (one whose deadline_open ran out of memory) as a no-op.
 */
#ifndef EF_DEADLINE_H
#define EF_DEADLINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Cuts of one sweep logged one by one; the rest as a count. */
#define DEADLINE_LOG_MAX 8

struct deadline_conn;

/* The sweeper thread, once a second.  0, or -1 when it cannot start. */
int deadline_start(void);
/* Stop the sweeper (connections still open stay on the list). */
void deadline_stop(void);

/*
 * Track connection fd from the client at sa, receiving its first request,
 * due by now_ms + budget_ms.  Returns NULL when out of memory: the
 * connection is then not bounded, only subject to the idle timeout.
 */
struct deadline_conn *deadline_open(
    int fd, const struct sockaddr *sa, uint64_t now_ms, uint64_t budget_ms);
/* The connection is closing; frees c. */
void deadline_close(struct deadline_conn *c);
/* Ready for the next request at now_ms: due by now_ms + budget_ms. */
void deadline_arm(struct deadline_conn *c, uint64_t now_ms, uint64_t budget_ms);
/*
 * The request's headers are in: route (a static string, for the log) and
 * its budget, counted from when the connection became ready.
 */
void deadline_route(
    struct deadline_conn *c, const char *route, uint64_t budget_ms);
/* The request is in (or answered early): no deadline until armed again. */
void deadline_disarm(struct deadline_conn *c);

/*
 * Cut every connection past its deadline at now_ms that was not cut
 * already; log and count them.  Returns how many.  The sweeper calls it;
 * tests call it with their own clock.
 */
unsigned deadline_sweep(uint64_t now_ms);
/* Connections on the list. */
size_t deadline_count(void);

#endif
