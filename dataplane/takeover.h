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
 *	"TAKEOVER 1 <pid> <version>\n" ─▶     (one at a time: a second
 *	                                      request meanwhile gets "BUSY\n")
 *	                              ◀──     "L <n>\n" then n listener
 *	                                      records "l <addr>\n", each with
 *	                                      its fd (batches of ≤ 253)
 *	start accepting on every listener, whatever its own worker count:
 *	closing any member of a SO_REUSEPORT group would drop its queue;
 *	tell the supervisor (--ready-fd), then
 *	"READY\n"                     ──▶
 *	                                      stop accepting (listeners
 *	                                      leave the epolls, stay open);
 *	                                      at each request boundary, hand
 *	                                      idle keep-alive connections over:
 *	                              ◀──     "C <nbytes>\n" + nbytes already
 *	                                      read, with the connection's fd
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
 * Until READY the old process has changed nothing: it keeps accepting, so
 * a new process that dies or hangs costs no connection.  After READY both
 * accept on the same sockets for a moment, which is harmless.
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
 * The new process's: CONNECTING ──listeners──▶ ACCEPTING ──READY sent──▶
 * RECEIVING (connections) ──DONE──▶ SERVING (owns the control path).  If
 * the old one is not there, --takeover fails and binds nothing: the keeper
 * decides what to do.
 */
#ifndef EF_TAKEOVER_H
#define EF_TAKEOVER_H

#include <stddef.h>

#define TAKEOVER_FDS_MAX 253
#define TAKEOVER_READY_TIMEOUT_S 10
#define TAKEOVER_LINE_MAX 512

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

#endif
