/*
 * priv: the keeper's privilege separation, the unprivileged side and the
 * wire between the two (OpenBSD bgpd style: one socketpair, fixed message
 * types, every size checked).  The privileged side is keeper/privsep.c.
 *
 *	edge-keeper run (root)
 *	  │ load keeper.conf, selfup_launch, socketpair, fork
 *	  ├─ parent "priv" (root): holds node.key and the release trust
 *	  │    anchors; reads one request at a time from the socket, checks
 *	  │    it against its policy, does it, answers; exits when the child
 *	  │    does (re-execs instead when a self-update began)
 *	  └─ child "net" (user from keeper.conf, default edge-keeper):
 *	       talks to edge-cp (libcurl, TLS), parses and validates JSON,
 *	       runs the reconcile loop, the anycast gate's probes and the
 *	       metrics listener; every effect on the host goes through a
 *	       request below
 *
 * The host primitives of common/ (afile_write, afile_read, exec_run,
 * nladdr_add, nladdr_del) and the ones declared here send a request when
 * priv_client_fd() is set (in the child) and act directly otherwise (the
 * parent itself, `edge-keeper check`, edge-cp, unit tests), so the code of
 * a Step is the same either way.
 *
 * Wire format: a request or answer is a header {uint32 type, uint32 len}
 * then len bytes of fields, at most PRIV_MSG_MAX; a field is a uint32, an
 * int64, or a byte string (uint32 length, then the bytes; a string must
 * hold no NUL and fit its field's bound).  A request may carry one file
 * descriptor (SCM_RIGHTS on its first byte), as may an answer.  An answer
 * begins with int32 rc (0 or -1), int32 errno and a string err, then the
 * operation's results.  A channel carries one request at a time.
 *
 * What the parent refuses (answer -1, EPERM, logged as
 * event=priv_refused): a path that is not absolute, has a ".." component
 * or names one of the trust anchors (node.key, release.pub, state.pub,
 * the *.seq watermarks, the installed release directories, keeper.conf);
 * a desired-state document whose signature does not verify against
 * state.pub, where the pins it announces would go to keeper.conf
 * (keeper/trust.h); a program
 * not on the exec allow list, or an environment entry not on its list; a
 * connect to a socket whose peer is not BIRD or an installed edge-dp; a
 * signal to a process it did not start; a dataplane start of a binary
 * that does not verify against the pinned release key.  A message that
 * breaks the wire format (a bad header, a field past the end, too big) is
 * a protocol error: the parent kills the child and exits 1.
 */
#ifndef EF_COMMON_PRIV_H
#define EF_COMMON_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/exec.h"
#include "common/nladdr.h"

#define PRIV_MSG_MAX (2u << 20) /* a file step's content is at most 1 MiB */
#define PRIV_PATH_MAX 1024
#define PRIV_ARGV_MAX 64
#define PRIV_SIGN_MAX 4096

enum priv_type {
	PRIV_ANSWER = 1,
	PRIV_READ,            /* path, max -> bytes */
	PRIV_WRITE,           /* path, mode, bytes (afile_write) */
	PRIV_STAT,            /* path -> mode, uid, gid, size (lstat) */
	PRIV_MKDIRS,          /* path, mode, root length */
	PRIV_UNLINK,          /* path */
	PRIV_RENAME,          /* from, to */
	PRIV_OWNMODE,         /* path, uid, gid, mode (no symlink followed) */
	PRIV_SYSCTL,          /* path under /proc/sys, value */
	PRIV_EXEC,            /* argv, env, timeout -> status, timed_out, out */
	PRIV_ADDR,            /* add, ifindex, nladdr */
	PRIV_CONNECT,         /* unix socket path -> fd */
	PRIV_SIGN,            /* message -> Ed25519 signature by node.key */
	PRIV_RELEASE_INSTALL, /* component, version, dest, rollback, sig; fd */
	PRIV_RELEASE_VERIFY,  /* component, version, path, rollback */
	PRIV_DP_START,        /* binary, args -> pid, ready fd */
	PRIV_DP_SIGNAL,       /* pid, signal */
	PRIV_SELF_BEGIN,      /* version */
	PRIV_SELF_COMMIT,     /* - */
	PRIV_SELF_FAILED,     /* version -> failed */
	PRIV_PROFILE_MARK,    /* version: raise profile.seq, never lower */
	PRIV_RELEASE_KEY,     /* public key text, statement -> installed */
	PRIV_RELEASE_REVOKED, /* list text, signature -> installed */
	PRIV_STATE_TRUST,     /* doc, sig, offered key, write -> pins */
	PRIV_TYPE_MAX,
};

/* ---- the message, both sides ---- */

struct priv_msg {
	uint32_t type;
	unsigned char *buf; /* fields; malloc'd, grows up to PRIV_MSG_MAX */
	size_t len, cap;
	size_t pos; /* where the next get reads */
	bool bad;   /* a put did not fit or a get ran past the end */
	int fd;     /* the descriptor it carries, -1 for none */
};

void priv_msg_init(struct priv_msg *m, uint32_t type);
void priv_msg_clear(struct priv_msg *m); /* frees; closes fd */
void priv_put_u32(struct priv_msg *m, uint32_t v);
void priv_put_i64(struct priv_msg *m, int64_t v);
void priv_put_bytes(struct priv_msg *m, const void *p, size_t len);
void priv_put_str(struct priv_msg *m, const char *s);
uint32_t priv_get_u32(struct priv_msg *m);
int64_t priv_get_i64(struct priv_msg *m);
/* A pointer into the message and its length; NULL (bad) past max. */
const void *priv_get_bytes(struct priv_msg *m, size_t max, size_t *len);
/* Copy a string of at most len-1 bytes, no NUL inside, into out. */
void priv_get_str(struct priv_msg *m, char *out, size_t len);

/* Send m (and m->fd, which stays open); 0 or -1 with errno. */
int priv_send(int sock, const struct priv_msg *m);
/*
 * Receive one message into m (initialised here; m->fd gets a descriptor
 * that came with it).  0; 1 at end of file; -1 with errno (EPROTO for a
 * message that breaks the format).
 */
int priv_recv(int sock, struct priv_msg *m);

/* ---- the child's side ---- */

/*
 * Two channels, each a socket of its own and a thread serving it in the
 * parent: the reconcile loop's requests can take minutes (apt-get), and
 * the anycast gate's must not wait behind them.
 */
enum { PRIV_CHAN_MAIN, PRIV_CHAN_GATE, PRIV_CHANS };

/* The socket of a channel to the parent; -1 (the default): act directly. */
void priv_client_set(int chan, int sock);
/* The calling thread uses chan from now on (PRIV_CHAN_MAIN otherwise). */
void priv_client_thread(int chan);
/* The calling thread's socket, -1 when there is no parent. */
int priv_client_fd(void);

/*
 * Send req and wait for the answer (*ans, the caller clears it).  Returns
 * the answer's rc with errno and err set from it, after which the
 * operation's results can be read from ans; -1 with EIO when the parent
 * is gone (the child exits then: nothing it can do works).
 */
int priv_call(
    struct priv_msg *req, struct priv_msg *ans, char *err, size_t errlen);

/*
 * Host primitives besides those in afile, exec and nladdr.  Each acts
 * directly without a parent.  0, or -1 with errno.
 */
struct priv_stat {
	mode_t mode; /* type and permission bits, as lstat says */
	uid_t uid;
	gid_t gid;
	int64_t size;
};

int priv_lstat(const char *path, struct priv_stat *st);
/* mkdir -p of path; the first rootlen bytes are not ours to create. */
int priv_mkdirs(const char *path, size_t rootlen, mode_t mode);
int priv_unlink(const char *path);
int priv_rename(const char *from, const char *to);
/*
 * Owner first, then mode (chown clears setuid and setgid) of the regular
 * file or directory at path, without following a symlink; (uid_t)-1 / (gid_t)-1 leave one as
 * it is, and mode (mode_t)-1 the mode.
 */
int priv_ownmode(const char *path, uid_t uid, gid_t gid, mode_t mode);
/* Write a sysctl: one write(2) of value to path (under /proc/sys). */
int priv_sysctl_write(const char *path, const char *value, size_t len);
/* A connected stream socket to the Unix socket at path, or -1. */
int priv_connect_unix(const char *path);
/*
 * Start a dataplane detached (a double fork, its own session, reparented
 * to init): argv[0] is the installed binary, "--ready-fd N" is appended
 * for a pipe whose read end comes back in *readyfd, and stdout and stderr
 * go to log.  *pid is the process itself.  0, or -1 with err.
 */
int priv_spawn(const char *const *argv, const char *log, pid_t *pid,
    int *readyfd, char *err, size_t errlen);
/* Signal a process priv_spawn started (through a pidfd where there is). */
int priv_signal(pid_t pid, int sig);
/* Sign msg with the node's key: sk, or the parent's when there is one. */
int priv_sign(const void *msg, size_t len, const unsigned char *sk,
    unsigned char sig[64]);

/* The remote halves of afile, exec and nladdr (for those modules). */
int priv_remote_read(const char *path, size_t max, char **out, size_t *len);
int priv_remote_write(
    const char *path, const void *data, size_t len, mode_t mode);
int priv_remote_exec(const char *const *argv, const char *const *env_extra,
    int timeout_ms, struct exec_result *res);
int priv_remote_addr(bool add, unsigned ifindex, const struct nladdr *a,
    char *err, size_t errlen);

/* Direct forms of the hooked primitives, for the parent. */
int priv_direct_mkdirs(const char *path, size_t rootlen, mode_t mode);
int priv_direct_spawn(const char *const *argv, const char *log, pid_t *pid,
    int *readyfd, char *err, size_t errlen);

#endif
