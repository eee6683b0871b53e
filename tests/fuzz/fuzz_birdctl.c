/*
 * fuzz_birdctl: what BIRD (or whatever listens on its control socket)
 * sends back, read by common/birdctl.c: the input is the whole byte
 * stream from the other end, greeting included, served on a real Unix
 * socket by a thread standing in for BIRD, to birdctl_protocols() (the
 * keeper's status report), birdctl_cmd() and birdctl_configure() (the
 * bird_config step).
 *
 * The stand-in writes the input, shuts its side for writing and reads
 * until the client hangs up, so no call ever waits for a timeout.
 *
 * Invariants: rows are at most as many as asked for, every field is
 * terminated within its buffer and the name, protocol, table and state
 * have no blanks; birdctl_cmd's text is terminated within its buffer and
 * its code is a reply code (0-9999) exactly when it succeeded; a failure
 * always says why.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/birdctl.h"
#include "tests/fuzz/fuzz.h"

#define MAX_ROWS 8

static char dir[64], path[108];
static int lfd = -1;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static const uint8_t *serve_data;
static size_t serve_len;
static unsigned long served;

static void
cleanup(void)
{
	if (path[0] != '\0')
		unlink(path);
	if (dir[0] != '\0')
		rmdir(dir);
}

static void *
bird(void *arg)
{
	char sink[512];
	const uint8_t *p;
	size_t left;
	ssize_t n;
	int fd;

	(void)arg;
	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			FUZZ_REQUIRE(errno == EINTR || errno == ECONNABORTED);
			continue;
		}
		pthread_mutex_lock(&mu);
		p = serve_data;
		left = serve_len;
		pthread_mutex_unlock(&mu);
		while (left > 0) {
			n = send(fd, p, left, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break; /* the client gave up: EPIPE */
			p += n;
			left -= (size_t)n;
		}
		shutdown(fd, SHUT_WR);
		while ((n = read(fd, sink, sizeof(sink))) != 0)
			if (n < 0 && errno != EINTR)
				break;
		close(fd);
		pthread_mutex_lock(&mu);
		served++;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un sun;
	pthread_t t;
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/fuzz_birdctl.XXXXXX",
	    tmp != NULL && strlen(tmp) < 32 ? tmp : "/tmp");
	FUZZ_REQUIRE(mkdtemp(dir) != NULL);
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/bird.ctl", dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FUZZ_REQUIRE(lfd >= 0);
	FUZZ_REQUIRE(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	FUZZ_REQUIRE(listen(lfd, 4) == 0);
	FUZZ_REQUIRE(pthread_create(&t, NULL, bird, NULL) == 0);
	pthread_detach(t);
	return 0;
}

/* Serve data to the next connection; returns the count to wait for. */
static unsigned long
serve(const uint8_t *data, size_t size)
{
	unsigned long want;

	pthread_mutex_lock(&mu);
	serve_data = data;
	serve_len = size;
	want = served + 1;
	pthread_mutex_unlock(&mu);
	return want;
}

/* Wait until the stand-in is done with this connection. */
static void
served_wait(unsigned long want)
{
	pthread_mutex_lock(&mu);
	while (served < want)
		pthread_cond_wait(&cv, &mu);
	serve_data = NULL;
	serve_len = 0;
	pthread_mutex_unlock(&mu);
}

static bool
field_ok(const char *f, size_t size, bool word)
{
	size_t n = strnlen(f, size);

	return n < size && (!word || (n > 0 && strchr(f, ' ') == NULL));
}

static void
check_protocols(const uint8_t *data, size_t size)
{
	struct birdctl_proto rows[MAX_ROWS];
	char err[256];
	size_t n = 99, i;
	unsigned long want = serve(data, size);
	int rc;

	err[0] = '\0';
	rc = birdctl_protocols(path, rows, MAX_ROWS, &n, err, sizeof(err));
	served_wait(want);
	if (rc != 0) {
		FUZZ_REQUIRE(err[0] != '\0');
		return;
	}
	FUZZ_REQUIRE(n <= MAX_ROWS);
	for (i = 0; i < n; i++) {
		FUZZ_REQUIRE(field_ok(rows[i].name, sizeof(rows[i].name), 1));
		FUZZ_REQUIRE(field_ok(rows[i].proto, sizeof(rows[i].proto), 1));
		FUZZ_REQUIRE(field_ok(rows[i].table, sizeof(rows[i].table), 1));
		FUZZ_REQUIRE(field_ok(rows[i].state, sizeof(rows[i].state), 1));
		FUZZ_REQUIRE(field_ok(rows[i].since, sizeof(rows[i].since), 0));
		FUZZ_REQUIRE(field_ok(rows[i].info, sizeof(rows[i].info), 0));
	}
}

static void
check_cmd(const uint8_t *data, size_t size)
{
	char out[256], err[256];
	unsigned long want = serve(data, size);
	int rc, code = -2;

	err[0] = '\0';
	out[0] = 'x';
	rc = birdctl_cmd(path, "show status", 5000, &code, out, sizeof(out),
	    err, sizeof(err));
	served_wait(want);
	FUZZ_REQUIRE(memchr(out, '\0', sizeof(out)) != NULL);
	if (rc != 0) {
		FUZZ_REQUIRE(code == -1 && err[0] != '\0');
		return;
	}
	FUZZ_REQUIRE(code >= 0 && code <= 9999);
}

static void
check_configure(const uint8_t *data, size_t size)
{
	char err[256];
	unsigned long want = serve(data, size);

	err[0] = '\0';
	if (birdctl_configure(path, NULL, err, sizeof(err)) != 0)
		FUZZ_REQUIRE(err[0] != '\0');
	served_wait(want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = fuzz_copy(data, size);

	check_protocols((const uint8_t *)copy, size);
	check_cmd((const uint8_t *)copy, size);
	check_configure((const uint8_t *)copy, size);
	free(copy);
	return 0;
}
