#include "common/afile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/priv.h"

struct afile_ops afile_ops = { write, fsync, rename, symlink };

static int
afile_sync_dir(const char *path)
{
	char buf[4096];
	int fd, rc;

	if (strlen(path) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, strlen(path) + 1);
	fd = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = afile_ops.fsync(fd);
	close(fd);
	return rc;
}

int
afile_write(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[4096];
	const char *p = data;
	int fd, e;

	if (priv_client_fd() >= 0)
		return priv_remote_write(path, data, len, mode);

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
		(long)getpid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -1;
	/* open() honours the umask; the caller's mode is the contract. */
	if (fchmod(fd, mode) != 0)
		goto err;
	while (len > 0) {
		ssize_t n = afile_ops.write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto err;
		}
		p += n;
		len -= (size_t)n;
	}
	if (afile_ops.fsync(fd) != 0)
		goto err;
	if (close(fd) != 0) {
		fd = -1;
		goto err;
	}
	fd = -1;
	if (afile_ops.rename(tmp, path) != 0)
		goto err;
	return afile_sync_dir(path);
err:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}

int
afile_rename(const char *from, const char *to)
{
	if (afile_ops.rename(from, to) != 0)
		return -1;
	return afile_sync_dir(to);
}

int
afile_read(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t off = 0;
	int fd, e;

	if (priv_client_fd() >= 0)
		return priv_remote_read(path, max, out, len);
	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		goto err;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto err;
	}
	if ((size_t)st.st_size > max) {
		errno = EFBIG;
		goto err;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		goto err;
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto err;
		if (n == 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	close(fd);
	*out = buf;
	if (len != NULL)
		*len = off;
	return 0;
err:
	e = errno;
	free(buf);
	close(fd);
	errno = e;
	return -1;
}

/* The pid of an afile_write() temporary file's name, or 0. */
static pid_t
afile_tmp_pid(const char *name)
{
	const char *t = NULL, *p = name;
	long v = 0;

	/* The last ".tmp.", after at least one byte of NAME. */
	while ((p = strstr(p + 1, ".tmp.")) != NULL)
		t = p;
	if (t == NULL)
		return 0;
	for (t += 5; *t >= '0' && *t <= '9' && v < 1000000000L; t++)
		v = v * 10 + (*t - '0');
	return *t == '\0' ? (pid_t)v : 0;
}

int
afile_sweep(const char *dir)
{
	struct dirent *e;
	DIR *d;
	pid_t pid;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)
			continue;
		if ((pid = afile_tmp_pid(e->d_name)) == 0 || pid == getpid())
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}
