/*
 * birdctl: a client of BIRD 2's control socket (the protocol birdc
 * speaks), used by the keeper's bird_config step to reload BIRD and by
 * its status report to read the BGP sessions.
 *
 * The protocol (BIRD's doc/reply_codes): on connect BIRD sends
 * "0001 BIRD x.y.z ready."; a command is one line ending in "\n"; the
 * reply is lines "CCCC-text" (more follows), " text" (continuation of
 * the previous code) and ends with a line "CCCC text" (space after the
 * code).  0xxx success, 1xxx table rows, 2xxx table headings, 8xxx
 * run-time errors, 9xxx parse errors; "+" lines are spontaneous and
 * ignored.
 *
 * Contract:
 * - birdctl_cmd() connects to the Unix socket at path, reads the
 *   greeting, sends cmd, and collects the reply until its final line or
 *   timeout_ms passes in total (then -1, "timed out").  *code is the
 *   final line's code; the reply's text lines (without codes, joined by
 *   "\n") go to out (size outlen, always terminated, cut when full).
 *   Returns 0 when a complete reply was read (whatever its code), -1 with
 *   a message in err when BIRD could not be reached or spoke nonsense.
 *   Replies longer than 1 MiB are cut off with an error.  cmd must be one
 *   line (no "\n" or "\r"): -1 otherwise.
 * - birdctl_configure(): "configure" (or `configure "file"` when file is
 *   not NULL).  Success is a final code 0003 (reconfigured), 0004 (in
 *   progress) or 0005 (queued): returns 0.  Anything else returns -1
 *   with BIRD's own message in err, e.g. "8002 ... : No such file".
 * - birdctl_protocols() runs "show protocols" and fills up to max rows
 *   (name, proto, table, state, since, info) from its 1002 table rows;
 *   *n says how many (rows beyond max are dropped: ask for enough).
 *   0 or -1 with err.
 * - No global state; each call its own connection; safe from any thread.
 */
#ifndef EF_COMMON_BIRDCTL_H
#define EF_COMMON_BIRDCTL_H

#include <stddef.h>

#define BIRDCTL_TIMEOUT_MS 5000

struct birdctl_proto {
	char name[64];
	char proto[16]; /* "BGP", "Direct", "Device", ... */
	char table[32];
	char state[16]; /* "up", "start", "down", ... */
	char since[32]; /* as BIRD prints it ("18:43:53.144" or a date) */
	char info[64];  /* "Established", "Active", "Connect", ... */
};

int birdctl_cmd(const char *path, const char *cmd, int timeout_ms, int *code,
    char *out, size_t outlen, char *err, size_t errlen);
int birdctl_configure(
    const char *path, const char *file, char *err, size_t errlen);
int birdctl_protocols(const char *path, struct birdctl_proto *rows, size_t max,
    size_t *n, char *err, size_t errlen);

#endif
