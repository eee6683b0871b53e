/*
 * takeover: how a new edge-dp takes over from a running one without
 * dropping a connection (SPEC §7).
 *
 * The control socket (a Unix stream socket at --control PATH, mode 0600)
 * speaks newline-terminated text; file descriptors ride along with
 * SCM_RIGHTS, at most TAKEOVER_FDS_MAX per message.
 *
 *	new (--takeover)                      old
 *	──────────────────────────────────────────────────────────────────
 *	"TAKEOVER 2 <pid> <version>\n" ─▶     (one at a time: a second
 *	                                      request meanwhile gets "BUSY\n")
 *	                              ◀──     "L <n>\n" then n listener
 *	                                      records "l <addr>\n", each with
 *	                                      its fd (batches of ≤ 253)
 *	keep every listener, whatever its own worker count (closing any
 *	member of a SO_REUSEPORT group would drop its queue), accepting on
 *	none yet; tell the supervisor (--ready-fd), then
 *	"READY\n"                     ──▶
 *	only now accept on them all
 *	                                      stop accepting (listeners
 *	                                      leave the epolls, stay open);
 *	                                      at each request boundary, hand
 *	                                      idle keep-alive connections over:
 *	                              ◀──     "C <nbytes> <clock> <age_ms>\n"
 *	                                      + nbytes already read, with the
 *	                                      connection's fd
 *	                              ◀──     "DONE\n" when no connection is
 *	                                      left (or --drain-timeout passed:
 *	                                      the busy ones got
 *	                                      "Connection: close")
 *	rebind the control path               exit 0
 *
 * The old process's state machine:
 *
 *	SERVING ──TAKEOVER──▶ OFFERING ──READY──▶ HANDING_OVER ──▶ DONE/exit
 *	   ▲                     │
 *	   └── new one closed, ──┘
 *	       or no READY within TAKEOVER_READY_TIMEOUT_S: nothing changed
 *
 * Until READY the old process has changed nothing: it keeps accepting, and
 * the new one has accepted nothing (its workers run, its listeners are
 * out of their epolls), so a new process that dies or hangs before READY
 * costs no connection.  After READY both may accept on the same sockets
 * for a moment, which is harmless: a connection the old one takes then is
 * handed over like any other.
 *
 * The handover runs on its own thread in the old process, so its control
 * socket still answers "status" while connections drain; from READY on
 * the answer carries "draining": true and "successor": {"pid", "version"}
 * (how a supervisor tells "the new release is taking over" from "the old
 * one is still there").  SIGTERM during a handover waits for it to end.
 *
 * A new process whose exchange ends without DONE while the old one still
 * answers on the control path (the old one's bound passed just as READY
 * was sent) exits rather than serve beside it.  What it accepted in that
 * moment is lost: the window is the width of one message.
 *
 * Not covered: a successor that dies after READY.  The old process has
 * stopped accepting by then and exits once drained, so the node serves
 * nothing until its supervisor starts edge-dp again.
 *
 * Protocol versions.  The number after TAKEOVER is the version the
 * successor speaks; an old process answers in it.  Version 2 (this
 * release) adds to each connection record the bound it is under and how
 * long that has run (struct takeover_conn), so a connection keeps its
 * limits across an upgrade: a slow client is not given a fresh head bound
 * by every takeover, nor a silent new connection turned into an idle one
 * with the longer idle bound.  Version 1 records are "C <nbytes>".  A
 * release that knows only version 1 closes the connection on "TAKEOVER
 * 2" without a word (an unknown command), having changed nothing; the
 * successor then asks again in version 1, so an upgrade from such a
 * release works, with every handed-over connection's bound started
 * afresh, as that release did.  This release answers both.
 *
 * The new process's: CONNECTING ──listeners──▶ ACCEPTING ──READY sent──▶
 * RECEIVING (connections) ──DONE──▶ SERVING (owns the control path).  If
 * the old one is not there, --takeover fails and binds nothing: the keeper
 * decides what to do.
 */
#ifndef EF_TAKEOVER_H
#define EF_TAKEOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAKEOVER_FDS_MAX 253
#define TAKEOVER_READY_TIMEOUT_S 10
#define TAKEOVER_LINE_MAX 512
#define TAKEOVER_PROTO 2               /* spoken by this release */
#define TAKEOVER_CONN_MAX (1 << 20)    /* bytes with one connection */
#define TAKEOVER_AGE_MAX_MS 86400000LL /* a day: older is not a bound */

/*
 * A handed-over connection: the bytes already read (a partial head, or
 * nothing), and the bound it is under.  idle: between requests, under
 * the idle bound; otherwise under the head bound (a new connection that
 * has sent nothing yet, or a partial head).  age_ms: how long that bound
 * has run, so the successor counts on from there.
 */
struct takeover_conn {
	size_t len;
	bool idle;
	int64_t age_ms;
};

/*
 * Send a line with up to TAKEOVER_FDS_MAX descriptors.  0 or -1 (errno).
 */
int takeover_send(int sock, const char *line, const int *fds, size_t nfds);

/*
 * Read one line (without the newline) and the descriptors that came with
 * it (at most maxfds; more, or a truncated control message, is an error:
 * MSG_CTRUNC).  Descriptors are close-on-exec.  0, or -1 on EOF/error.
 * *nfds is set on success.  Lines are read one byte at a time so no byte
 * of a following message is consumed.
 */
int takeover_recv(int sock, char *line, size_t linelen, int *fds, size_t maxfds,
    size_t *nfds);

/*
 * The record line of a connection, without its newline: "C <len>" in
 * protocol 1, "C <len> <i|h> <age_ms>" in protocol 2.  0, or -1 when buf
 * is too short or a field out of range.
 */
int takeover_conn_format(
    char *buf, size_t buflen, int proto, const struct takeover_conn *tc);

/*
 * Parse a record line (without its newline) of the given protocol.
 * Exactly the shape above: single spaces, decimal numbers without signs
 * or leading blanks, len <= TAKEOVER_CONN_MAX, 0 <= age_ms <=
 * TAKEOVER_AGE_MAX_MS.  Protocol 1 says nothing of the bound: a record
 * with bytes is under the head bound, one without is idle, both from now
 * (age 0), which is what version 1 successors did.  0, or -1 (tc
 * unspecified).
 */
int takeover_conn_parse(const char *line, int proto, struct takeover_conn *tc);

#endif
