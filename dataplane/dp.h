/*
 * dp: edge-dp's process-wide pieces: options, listeners, workers.
 *
 * Threads: one worker per core (pinned), each with its own epoll, its own
 * SO_REUSEPORT listener per address and its own connections; nothing on
 * the request path is shared or locked.  The main thread runs the control
 * socket (status, takeover) and talks to workers only through each
 * worker's inbox: a mutex-protected queue plus an eventfd that wakes the
 * worker's epoll (new connections handed over, "stop accepting", "hand
 * over your idle connections").
 *
 * A connection's life in a worker, with the bound each state is under
 * (threat T32, slow clients; worker.c sweep() applies them once a second):
 *
 *	accepted ─▶ READING (head) ──head parsed──▶ WRITING ──sent──┐
 *	               ▲    head bound from accept      send bound  │
 *	               │                                            ▼
 *	               │ first byte           (BODY: discard) ◀── keep-alive
 *	               │                       head bound           │
 *	            READING (idle) ◀────────────────────────────────┘
 *	               idle bound
 *	any error, "close", a bound passed ──▶ closed (the send bound: reset)
 *	at a request boundary while handing over ──▶ sent to the successor,
 *	with its bound and how long that has run (takeover.h)
 *
 * The head bound (--head-timeout) runs from the accept for a new
 * connection's first request and from the first byte for a later one,
 * and is not moved by bytes arriving: a client trickling a head a byte at
 * a time is closed when it passes, however short its pauses.  The body of
 * a GET, which edge-dp reads only to drop it, gets the same bound from
 * when it starts.  The idle bound (--idle-timeout) runs from the end of a
 * response while no byte of the next request has come.  The send bound
 * (--send-timeout) runs from the last write that made progress: a client
 * that takes none of its response for that long is reset, which gives
 * back the kernel's send buffer at once (a plain close would leave it to
 * an orphan socket probing a closed window).  A client reading slowly
 * but steadily is never cut off by it.
 *
 * Connections per process (--max-conns): one counter, dp.nconns, taken
 * before each accept and given back when a connection closes or is handed
 * over.  At the limit a worker takes its listeners out of its epoll and
 * accepts nothing: new clients wait in the kernel's accept queue (the
 * handshake is done, their request waits in the socket) until a
 * connection closes, and are then served.  The other choice, accepting
 * and closing the newest, was not taken: it costs a worker an accept and
 * a close per attempt, in the loop that serves the established clients,
 * exactly when an attacker makes attempts cheap; and it turns a client
 * that would have waited into one that failed.  A queue past its backlog
 * makes the kernel drop SYNs, and the client retries.  A paused worker
 * looks again after every batch of events and at least once a second, so
 * a slot freed by another worker is taken up within a second.
 * Connections handed over in a takeover are always taken, even past the
 * limit (dropping them would break the upgrade's promise); the process
 * then accepts nothing new until it is below the limit again.
 *
 * The health listener (--health-listen ADDR:PORT, e.g. 127.0.0.1:8081):
 * where the keeper's anycast gate probes /healthz.  A probe sent to a
 * serving address waits in the accept queue with every other new client
 * once the process is at --max-conns, times out, and the gate withdraws
 * the node's routes: a flood of connections to the whole fleet would
 * withdraw the whole fleet.  A health listener is not paused at
 * --max-conns and its connections take no slot; they have a bound of
 * their own, DP_HEALTH_CONNS at once (one more is closed at accept), and
 * they are answered /healthz and /version only (no files: 404).  So a probe there
 * says what it should: the workers run and answer.  Bind it to loopback
 * or a node-local address; it is handed over in a takeover like any
 * listener, and a successor with the same --health-listen keeps it one.
 */
#ifndef EF_DP_H
#define EF_DP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DP_MAX_LISTEN 16
#define DP_MAX_WORKERS 256

/*
 * Defaults of the limits above; each has an option, and --help says the
 * same in short.
 *
 * Head, 10 s: an honest client sends its request head in one segment,
 * right after connecting; 10 s leaves room for a lossy mobile link to
 * retransmit it a few times (TCP's first retransmission waits 1 s, then
 * 2, 4), and makes a client that trickles its head pay a new connection
 * every 10 s.
 *
 * Idle, 60 s: long enough for a browser's next request of the same visit
 * to reuse the connection; short enough that an idle connection holds
 * its descriptor and its ~22 KiB of buffers (struct conn) for a minute at
 * most.  Clients are ready for a server to close an idle connection: it
 * is how HTTP/1.1 keep-alive ends.
 *
 * Send, 30 s without progress: a client whose window stays closed that
 * long is not reading; a stalled link that recovers does so well within
 * it (TCP itself retransmits at 1, 2, 4, 8, 16 s).  Progress resets it,
 * so slow readers of large files are not cut off; a reader must take
 * about a third of a socket buffer per 30 s to keep its response going
 * (epoll reports room only then).
 *
 * Connections, 16384 per process: at ~22 KiB of edge-dp buffers each
 * (and up to two descriptors: the socket, a file being sent) that is
 * ~350 MiB and 32768 descriptors at the limit, which a small node can
 * hold; it is lowered at start to what RLIMIT_NOFILE allows, so running
 * out of descriptors (an accept that fails, a file that cannot be
 * opened) does not come first.  Busy nodes raise it.
 */
#define DP_HEAD_TIMEOUT_S 10
#define DP_IDLE_TIMEOUT_S 60
#define DP_SEND_TIMEOUT_S 30
#define DP_MAX_CONNS 16384
#define DP_TIMEOUT_MAX_S 3600
#define DP_MAX_CONNS_MAX 4194304
#define DP_HEALTH_CONNS 64 /* at once, on the health listeners */

struct dp_listener {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[64]; /* "ADDR:PORT" as given */
	bool health;   /* --health-listen */
};

struct dp_handoff {
	int fd;
	char *buf; /* bytes already read; owned */
	size_t len;
	bool idle;      /* under the idle bound, else the head bound */
	int64_t age_ms; /* how long that bound has run */
	struct dp_handoff *next;
};

struct dp_worker {
	int index;
	pthread_t thread;
	int epfd;
	int evfd;      /* inbox doorbell */
	int *lfds;     /* listener fds this worker accepts on */
	char **ltext;  /* and the address each is bound to */
	bool *lhealth; /* and whether it is a health listener */
	size_t nlfds;
	struct item *litems; /* their epoll items, for the process's life */
	pthread_mutex_t mu;  /* guards the inbox */
	struct dp_handoff *inbox;
	atomic_bool start_accepting; /* main asks: listeners into the epoll */
	atomic_bool stop_accepting;
	atomic_bool stopped;  /* the worker has taken its listeners off */
	atomic_bool handover; /* send idle connections to the successor */
	atomic_bool quit;
	atomic_ullong requests;
	atomic_uint conns;
	atomic_uint pending; /* handed to us, still in the inbox */
	/* Limits hit (T32), for status; written by the worker only. */
	atomic_ullong head_timeouts, idle_timeouts, send_timeouts;
	atomic_ullong limit_pauses;  /* stopped accepting at --max-conns */
	atomic_ullong accept_errors; /* accept failed for want of resources */
	atomic_bool paused;          /* not accepting for one of those */
};

struct dp {
	struct dp_listener listen[DP_MAX_LISTEN];
	size_t nlisten;
	const char *control;
	const char *root; /* static files; NULL: none */
	int rootfd;
	unsigned nworkers;
	int drain_timeout_s;
	int64_t head_ms, idle_ms, send_ms; /* the bounds above */
	unsigned max_conns;
	atomic_uint nconns;  /* connections held, against max_conns */
	atomic_uint nhealth; /* on health listeners, against DP_HEALTH_CONNS */
	bool takeover;
	atomic_bool draining; /* /healthz answers 503 */
	struct dp_worker *workers;
	/* Handed-over connections waiting to be sent (old process). */
	pthread_mutex_t out_mu;
	pthread_cond_t out_cv;
	struct dp_handoff *outbox;
	atomic_uint handing; /* workers still holding connections */
};

extern struct dp dp;

/* main.c: past the drain timeout, every response closes its connection. */
bool dp_closing(void);

/*
 * worker.c.  worker_start() starts the thread; with accept false its
 * listeners stay out of its epoll until worker_accept().  A successor
 * starts that way and accepts only once its READY is out (takeover.h): a
 * connection it took before then would die with it if it never got there.
 */
int worker_start(struct dp_worker *w, bool accept, char *err, size_t errlen);
void worker_accept(struct dp_worker *w);
/*
 * Queue a handed-over connection (fd, its pending bytes, the bound it is
 * under and that bound's age) for w; takes ownership of fd and buf.  It
 * counts against --max-conns from now on, whatever the count.
 */
void worker_give(struct dp_worker *w, int fd, char *buf, size_t len, bool idle,
    int64_t age_ms);
void worker_wake(struct dp_worker *w);

#endif
