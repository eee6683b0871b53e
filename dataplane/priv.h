/*
 * priv: edge-dp giving up root for good (--user NAME; threat T46).
 *
 * Started as root (by the keeper), edge-dp does the two things that need
 * it and then becomes NAME before a worker accepts a connection or reads
 * a byte of a request:
 *
 *	root: bind the listeners, or receive them in a takeover and add
 *	      members to their SO_REUSEPORT groups (a member must be made by
 *	      the uid that made the group's first, root, and low ports need
 *	      root anyway); bind the control socket (as NAME's filesystem
 *	      ids: see priv_fs_become())
 *	  │
 *	  ▼ priv_drop()
 *	NAME: setgroups(0), setresgid(g, g, g), setresuid(u, u, u),
 *	      PR_SET_NO_NEW_PRIVS; then checked: every id is u or g, no
 *	      capability is left, and setuid(0), seteuid(0) and setgid(0)
 *	      fail.  Any doubt is fatal: the process exits rather than serve
 *	      with privileges it should not have.
 *
 * Nothing after that needs root: the successor-facing side of a takeover
 * passes descriptors it holds, listen() on a bound socket and renaming
 * the control socket into place need none (the rename needs NAME to be
 * able to write the control socket's directory, which is why that is a
 * condition of --user), and logs go to the descriptors edge-dp was
 * started with.
 *
 * Every function here runs on the main thread before any other thread
 * exists (setfsuid() and the checks are per thread; glibc's setresuid()
 * would change every thread, but there is no other yet).
 */
#ifndef EF_PRIV_H
#define EF_PRIV_H

#include <stddef.h>
#include <sys/types.h>

struct priv_user {
	char name[64];
	uid_t uid;
	gid_t gid; /* the user's primary group; no supplementary ones */
};

/*
 * Look NAME up in the user database.  0, or -1 with err filled: unknown,
 * root (uid 0, or gid 0: nothing would be given up), or a name too long.
 */
int priv_user_lookup(
    const char *name, struct priv_user *u, char *err, size_t errlen);

/*
 * Act on the filesystem as u (setfsuid/setfsgid) while staying root
 * otherwise, until priv_fs_restore(): a file made meanwhile belongs to u,
 * and permission checks are u's, so nothing is done with root's rights in
 * a directory u may write.  0, or -1 (errno) with nothing changed.
 */
int priv_fs_become(const struct priv_user *u);
void priv_fs_restore(void);

/*
 * Become u for good, as drawn above.  0, or -1 with err filled; on -1 the
 * process may be half-way and must exit.
 */
int priv_drop(const struct priv_user *u, char *err, size_t errlen);

#endif
