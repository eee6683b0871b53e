/*
 * exec: run an external command the safe way, for every place a program
 * of ours needs one (apt-get, dpkg-query, systemctl, bird, birdc).
 *
 * An argument vector, never a shell; stdin from /dev/null; stdout and
 * stderr captured together up to EXEC_OUT_MAX bytes (the rest is read and
 * dropped so the child never blocks); a timeout after which the child's
 * whole process group gets SIGKILL; extra environment entries appended to
 * a minimal environment (PATH, LANG=C).
 *
 * argv[0] is looked up in the search path set by exec_set_path() (default
 * "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), so tests
 * can put recording stand-ins for commands that would change the host
 * first in the path.
 *
 * Thread-safe except exec_set_path(), which is called once at start.
 */
#ifndef EF_EXEC_H
#define EF_EXEC_H

#include <stdbool.h>
#include <stddef.h>

#define EXEC_OUT_MAX 4096

struct exec_result {
	int status; /* exit status; -1 if killed by a signal or not run */
	bool timed_out;
	char out[EXEC_OUT_MAX]; /* NUL-terminated */
	size_t out_len;
};

void exec_set_path(const char *path);
/*
 * Run argv (NULL-terminated) with env_extra ("NAME=value", NULL-terminated,
 * may be NULL) for at most timeout_ms.  Returns 0 when the command ran to
 * an exit (whatever its status), -1 when it could not be started or timed
 * out (res->out says why).
 */
int exec_run(const char *const *argv, const char *const *env_extra,
    int timeout_ms, struct exec_result *res);

#endif
