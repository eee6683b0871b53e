/*
 * file {path, content, mode?, owner?, group?}: one file's bytes, mode and
 * ownership.
 *
 * Only the named path is managed: missing parent directories are created
 * (0755, owned by the keeper) but never changed afterwards, and nothing
 * else in the directory is touched.  A symbolic link or other non-regular
 * file at the path is replaced by a regular file (the link, not its
 * target); a directory there is an error.
 *
 * mode defaults to "0644"; owner and group, when absent, are not looked
 * at (a file the keeper creates belongs to the keeper, root).  Names are
 * resolved with getpwnam_r/getgrnam_r at check time, against the host's
 * user database even under --root, because the keeper does not read the
 * root's /etc/passwd; an unknown name is an error, not a change.
 *
 * The content is written through afile_write() (temporary file, fsync,
 * rename), which cannot set the owner of its temporary file, so the
 * owner is set after the rename.  The window: for a moment the new content
 * belongs to the keeper's user with the permission bits asked for, minus
 * setuid, setgid and sticky, which are only set once the owner is right
 * (chown would clear them, and a setuid file must never exist with the
 * wrong owner).  A reader that needs the file's final owner can briefly
 * be refused; nobody gains access that the final mode would not give
 * beyond the keeper's own group.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/priv.h"
#include "common/json.h"
#include "common/util.h"
#include "steps/kinds.h"

#define FILE_PATH_MAX 255
#define FILE_CONTENT_MAX (1u << 20)
#define FILE_NAME_MAX 32
#define FILE_PWBUF 16384

struct file_params {
	char path[FILE_PATH_MAX + 1];
	char *content;
	size_t len;
	mode_t mode;
	char owner[FILE_NAME_MAX + 1]; /* "" when not managed */
	char group[FILE_NAME_MAX + 1];
};

static bool
file_path_ok(const char *path)
{
	char buf[FILE_PATH_MAX + 1];
	const char *c;
	size_t n = strlen(path);

	if (n < 2 || n > FILE_PATH_MAX || path[n - 1] == '/')
		return false;
	for (c = path; *c != '\0'; c++)
		if ((*c > 0 && *c < 0x20) || *c == 0x7f)
			return false;
	/* Absolute and no ".." component: what step_path() accepts. */
	return step_path(NULL, path, buf, sizeof(buf)) == 0;
}

/* User and group names: [A-Za-z0-9_][A-Za-z0-9_.-]* with an optional '$'. */
static bool
file_name_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0' || s[0] == '-' || s[0] == '.')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')
			continue;
		if (c == '$' && s[i + 1] == '\0')
			continue;
		return false;
	}
	return i <= FILE_NAME_MAX;
}

/* "0644", "644", "04755": three to five octal digits, at most 07777. */
static int
file_mode_parse(const char *s, mode_t *out, char *err, size_t errlen)
{
	size_t i, n = strlen(s);
	unsigned long v = 0;

	if (n < 3 || n > 5) {
		snprintf(err, errlen,
		    "mode: must be an octal string like "
		    "\"0644\"");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '7') {
			snprintf(err, errlen,
			    "mode: must be an octal string "
			    "like \"0644\"");
			return -1;
		}
		v = v * 8 + (unsigned long)(s[i] - '0');
	}
	if (v > 07777) {
		snprintf(err, errlen, "mode: must be at most 07777");
		return -1;
	}
	*out = (mode_t)v;
	return 0;
}

static void
file_free(void *params)
{
	struct file_params *p = params;

	if (p == NULL)
		return;
	free(p->content);
	free(p);
}

static int
file_parse(const json_t *params, void **out, char *err, size_t errlen)
{
	static const char *const fields[] = { "path", "content", "mode",
		"owner", "group", NULL };
	const char *path = NULL, *content = NULL, *mode = "0644";
	const char *owner = NULL, *group = NULL;
	struct file_params *p = NULL;
	mode_t m;
	size_t len;

	*out = NULL;
	if (jfield_only(params, fields, err, errlen) != 0 ||
	    jfield_str(
		params, "path", true, FILE_PATH_MAX, &path, err, errlen) != 0 ||
	    jfield_str(params, "content", true, FILE_CONTENT_MAX, &content, err,
		errlen) != 0 ||
	    jfield_str(params, "mode", false, 8, &mode, err, errlen) != 0 ||
	    jfield_str(params, "owner", false, FILE_NAME_MAX, &owner, err,
		errlen) != 0 ||
	    jfield_str(params, "group", false, FILE_NAME_MAX, &group, err,
		errlen) != 0)
		return -1;
	if (!file_path_ok(path)) {
		snprintf(err, errlen,
		    "path: must be an absolute file path without \"..\" or "
		    "control characters, at most %d bytes",
		    FILE_PATH_MAX);
		return -1;
	}
	len = json_string_length(json_object_get(params, "content"));
	if (strlen(content) != len) {
		snprintf(err, errlen, "content: must not contain NUL bytes");
		return -1;
	}
	if (file_mode_parse(mode, &m, err, errlen) != 0)
		return -1;
	if (owner != NULL && !file_name_ok(owner)) {
		snprintf(err, errlen, "owner: not a valid user name");
		return -1;
	}
	if (group != NULL && !file_name_ok(group)) {
		snprintf(err, errlen, "group: not a valid group name");
		return -1;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->content = malloc(len + 1)) == NULL) {
		free(p);
		snprintf(err, errlen, "content: out of memory");
		return -1;
	}
	memcpy(p->content, content, len + 1);
	p->len = len;
	p->mode = m;
	util_strlcpy(p->path, path, sizeof(p->path));
	util_strlcpy(p->owner, owner != NULL ? owner : "", sizeof(p->owner));
	util_strlcpy(p->group, group != NULL ? group : "", sizeof(p->group));
	*out = p;
	return 0;
}

/*
 * Resolve owner and group; (uid_t)-1 / (gid_t)-1 when not managed.
 * Returns 0, or -1 with the reason in res.
 */
static int
file_ids(const struct file_params *p, uid_t *uid, gid_t *gid,
    struct step_result *res)
{
	char buf[FILE_PWBUF];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	int e;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (p->owner[0] != '\0') {
		e = getpwnam_r(p->owner, &pw, buf, sizeof(buf), &pwp);
		if (pwp == NULL) {
			step_set(res, STEP_ERROR, "owner: %s \"%s\"",
			    e != 0 ? strerror(e) : "no such user", p->owner);
			return -1;
		}
		*uid = pw.pw_uid;
	}
	if (p->group[0] != '\0') {
		e = getgrnam_r(p->group, &gr, buf, sizeof(buf), &grp);
		if (grp == NULL) {
			step_set(res, STEP_ERROR, "group: %s \"%s\"",
			    e != 0 ? strerror(e) : "no such group", p->group);
			return -1;
		}
		*gid = gr.gr_gid;
	}
	return 0;
}

/*
 * Whether the file at full holds exactly the content.  Returns 1 yes, 0
 * no, -1 on a read error (errno set).
 */
static int
file_same(
    const struct file_params *p, const char *full, const struct priv_stat *st)
{
	char *have = NULL;
	size_t len;
	int rc;

	if (!S_ISREG(st->mode) || (size_t)st->size != p->len)
		return 0;
	if (afile_read(full, FILE_CONTENT_MAX, &have, &len) != 0)
		return errno == EFBIG ? 0 : -1;
	rc = len == p->len && memcmp(have, p->content, len) == 0;
	free(have);
	return rc;
}

static void
file_check(
    const void *params, const struct step_env *env, struct step_result *res)
{
	const struct file_params *p = params;
	char full[4096];
	struct priv_stat st;
	uid_t uid;
	gid_t gid;
	int same;

	if (file_ids(p, &uid, &gid, res) != 0)
		return;
	if (step_path(env, p->path, full, sizeof(full)) != 0) {
		step_set(res, STEP_ERROR, "path: too long under the root");
		return;
	}
	if (priv_lstat(full, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			step_set(res, STEP_NEEDS_CHANGE, "%s does not exist",
			    p->path);
		else
			step_set(res, STEP_ERROR, "%s: %s", p->path,
			    strerror(errno));
		return;
	}
	if (S_ISDIR(st.mode)) {
		step_set(res, STEP_ERROR, "%s is a directory", p->path);
		return;
	}
	if (!S_ISREG(st.mode)) {
		step_set(res, STEP_NEEDS_CHANGE, "%s is not a regular file",
		    p->path);
		return;
	}
	if ((same = file_same(p, full, &st)) < 0) {
		step_set(res, STEP_ERROR, "%s: %s", p->path, strerror(errno));
		return;
	}
	if (!same)
		step_set(
		    res, STEP_NEEDS_CHANGE, "%s: content differs", p->path);
	else if ((st.mode & 07777) != p->mode)
		step_set(res, STEP_NEEDS_CHANGE, "%s: mode is %04o, want %04o",
		    p->path, (unsigned)(st.mode & 07777), (unsigned)p->mode);
	else if (uid != (uid_t)-1 && st.uid != uid)
		step_set(res, STEP_NEEDS_CHANGE,
		    "%s: owner is uid %u, want %s (uid %u)", p->path,
		    (unsigned)st.uid, p->owner, (unsigned)uid);
	else if (gid != (gid_t)-1 && st.gid != gid)
		step_set(res, STEP_NEEDS_CHANGE,
		    "%s: group is gid %u, want %s (gid %u)", p->path,
		    (unsigned)st.gid, p->group, (unsigned)gid);
	else
		step_set(res, STEP_IN_SYNC, "%s", p->path);
}

/* Owner first, then mode: chown clears setuid and setgid. */
static int
file_fix_attrs(const struct file_params *p, const char *full, uid_t uid,
    gid_t gid, struct step_result *res)
{
	if (priv_ownmode(full, uid, gid, p->mode) == 0)
		return 0;
	step_set(res, STEP_ERROR, "%s: cannot set owner or mode: %s", p->path,
	    strerror(errno));
	return -1;
}

static int
file_apply(
    const void *params, const struct step_env *env, struct step_result *res)
{
	const struct file_params *p = params;
	char full[4096], dir[FILE_PATH_MAX + 1];
	struct priv_stat st;
	char *slash;
	uid_t uid;
	gid_t gid;
	int same = 0;

	if (file_ids(p, &uid, &gid, res) != 0)
		return -1;
	if (step_path(env, p->path, full, sizeof(full)) != 0) {
		step_set(res, STEP_ERROR, "path: too long under the root");
		return -1;
	}
	util_strlcpy(dir, p->path, sizeof(dir));
	slash = strrchr(dir, '/');
	slash[slash == dir ? 1 : 0] = '\0';
	if (step_mkdirs(env, dir, 0755) != 0) {
		step_set(res, STEP_ERROR, "cannot create %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (priv_lstat(full, &st) == 0 &&
	    (same = file_same(p, full, &st)) < 0) {
		step_set(res, STEP_ERROR, "%s: %s", p->path, strerror(errno));
		return -1;
	}
	if (!same &&
	    afile_write(full, p->content, p->len, p->mode & 0777) != 0) {
		step_set(res, STEP_ERROR, "cannot write %s: %s", p->path,
		    strerror(errno));
		return -1;
	}
	if (file_fix_attrs(p, full, uid, gid, res) != 0)
		return -1;
	step_set(res, STEP_IN_SYNC, "%s", p->path);
	return 0;
}

const struct step_kind step_file = {
	.name = "file",
	.parse = file_parse,
	.free_params = file_free,
	.check = file_check,
	.apply = file_apply,
	.retry_s = 30,
};
