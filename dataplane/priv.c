#include "dataplane/priv.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"

int
priv_user_lookup(
    const char *name, struct priv_user *u, char *err, size_t errlen)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc;

	memset(u, 0, sizeof(*u));
	if (name[0] == '\0' || strlen(name) >= sizeof(u->name)) {
		snprintf(err, errlen, "--user: a name of 1 to %zu bytes",
		    sizeof(u->name) - 1);
		return -1;
	}
	rc = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (rc != 0 || res == NULL) {
		snprintf(err, errlen, "--user: no user %.63s%s%s", name,
		    rc != 0 ? ": " : "", rc != 0 ? strerror(rc) : "");
		return -1;
	}
	if (pw.pw_uid == 0 || pw.pw_gid == 0) {
		snprintf(err, errlen,
		    "--user: %.63s has uid or gid 0; name an unprivileged "
		    "user",
		    name);
		return -1;
	}
	util_strlcpy(u->name, name, sizeof(u->name));
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;
	return 0;
}

int
priv_fs_become(const struct priv_user *u)
{
	/*
	 * Root's supplementary groups go first (for good: edge-dp has no
	 * use for them as root either), or a directory writable by one of
	 * them would pass a check that the user alone would fail.
	 */
	if (setgroups(0, NULL) != 0)
		return -1;
	setfsgid(u->gid);
	if ((gid_t)setfsgid((gid_t)-1) != u->gid) {
		priv_fs_restore();
		errno = EPERM;
		return -1;
	}
	setfsuid(u->uid);
	if ((uid_t)setfsuid((uid_t)-1) != u->uid) {
		priv_fs_restore();
		errno = EPERM;
		return -1;
	}
	return 0;
}

void
priv_fs_restore(void)
{
	setfsuid(0);
	setfsgid(0);
}

/* Any capability in any set of this thread (ambient is within these). */
static bool
caps_left(void)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	size_t i;

	memset(&hdr, 0, sizeof(hdr));
	memset(d, 0, sizeof(d));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &hdr, d) != 0)
		return true;
	for (i = 0; i < ARRAY_LEN(d); i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return true;
	return false;
}

int
priv_drop(const struct priv_user *u, char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (setgroups(0, NULL) != 0) {
		snprintf(err, errlen, "setgroups: %s", strerror(errno));
		return -1;
	}
	if (setresgid(u->gid, u->gid, u->gid) != 0) {
		snprintf(err, errlen, "setresgid: %s", strerror(errno));
		return -1;
	}
	if (setresuid(u->uid, u->uid, u->uid) != 0) {
		snprintf(err, errlen, "setresuid: %s", strerror(errno));
		return -1;
	}
	/* No exec is ever made, but if one were, it could not gain. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	/* Checked, not assumed. */
	if (getresuid(&ru, &eu, &su) != 0 || ru != u->uid || eu != u->uid ||
	    su != u->uid || getresgid(&rg, &eg, &sg) != 0 || rg != u->gid ||
	    eg != u->gid || sg != u->gid ||
	    (uid_t)setfsuid((uid_t)-1) != u->uid ||
	    (gid_t)setfsgid((gid_t)-1) != u->gid || getgroups(0, NULL) != 0) {
		snprintf(err, errlen, "ids not all %u/%u after the drop",
		    (unsigned)u->uid, (unsigned)u->gid);
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1 ||
	    setegid(0) != -1) {
		snprintf(err, errlen, "root could be regained after the drop");
		return -1;
	}
	if (caps_left()) {
		snprintf(err, errlen, "capabilities left after the drop");
		return -1;
	}
	return 0;
}
