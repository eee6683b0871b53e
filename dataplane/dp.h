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
 * A connection's life in a worker:
 *
 *	READING ──head parsed──▶ (BODY: discard) ──▶ WRITING ──sent──┐
 *	   ▲                                                        │
 *	   └──────────── keep-alive, next pipelined request ◀───────┘
 *	any error, "close", idle or header timeout ──▶ closed
 *	at a request boundary while handing over ──▶ sent to the successor
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
#define DP_IDLE_TIMEOUT_S 60
#define DP_HEAD_TIMEOUT_S 10

struct dp_listener {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[64]; /* "ADDR:PORT" as given */
};

struct dp_handoff {
	int fd;
	char *buf; /* bytes already read; owned */
	size_t len;
	struct dp_handoff *next;
};

struct dp_worker {
	int index;
	pthread_t thread;
	int epfd;
	int evfd;     /* inbox doorbell */
	int *lfds;    /* listener fds this worker accepts on */
	char **ltext; /* and the address each is bound to */
	size_t nlfds;
	struct item *litems; /* their epoll items, for the process's life */
	pthread_mutex_t mu;  /* guards the inbox */
	struct dp_handoff *inbox;
	atomic_bool stop_accepting;
	atomic_bool stopped;  /* the worker has taken its listeners off */
	atomic_bool handover; /* send idle connections to the successor */
	atomic_bool quit;
	atomic_ullong requests;
	atomic_uint conns;
	atomic_uint pending; /* handed to us, still in the inbox */
};

struct dp {
	struct dp_listener listen[DP_MAX_LISTEN];
	size_t nlisten;
	const char *control;
	const char *root; /* static files; NULL: none */
	int rootfd;
	unsigned nworkers;
	int drain_timeout_s;
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

/* worker.c */
int worker_start(struct dp_worker *w, char *err, size_t errlen);
/* Queue a connection (fd and its pending bytes) for w; takes ownership. */
void worker_give(struct dp_worker *w, int fd, char *buf, size_t len);
void worker_wake(struct dp_worker *w);

#endif
