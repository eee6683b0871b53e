/*
 * replay: runs a libFuzzer target over stored corpora without libFuzzer,
 * so `make test` can replay them with gcc and the sanitizers (as SQLite's
 * fuzzcheck does).  Link it with one target's LLVMFuzzerTestOneInput
 * (tests/integration/fuzz_replay.sh does, for every target):
 *
 *	cc ... tests/fuzz/replay.c tests/fuzz/fuzz_http.c dataplane/http.c
 *	replay DIR...
 *
 * Every regular file in each DIR (sorted, dot files skipped) is one input.
 * Each runs in a child process, so an invariant's trap or a sanitizer
 * report fails that input, names it, and the replay goes on.  The child
 * first calls the target's LLVMFuzzerInitialize when it has one, as
 * libFuzzer does once per process; set-up that starts a thread must be
 * done there, since fork() copies only the calling thread.  The name is
 * printed before the input runs, so even a log cut short shows the culprit.
 * Output is TAP:
 *
 *	# corpus/http/get-simple
 *	ok 1 - corpus/http/get-simple
 *
 * Exit status 0 only when every input passed and every DIR had inputs.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as in libFuzzer: NULL when it has none. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define REPLAY_MAX_INPUT (1u << 22) /* far above any corpus file we keep */

static int n_tests, n_failed;
static int main_argc;
static char **main_argv;

static void
result(bool ok, const char *name, const char *why)
{
	n_tests++;
	if (!ok)
		n_failed++;
	printf("%sok %d - %s\n", ok ? "" : "not ", n_tests, name);
	if (!ok && why != NULL)
		printf("#   %s\n", why);
	fflush(stdout);
}

/* Read path whole into *data (caller frees); -1 with errno set. */
static int
read_file(const char *path, uint8_t **data, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n;
	int saved;

	*data = NULL;
	*size = 0;
	if (f == NULL)
		return -1;
	buf = malloc(REPLAY_MAX_INPUT + 1);
	if (buf == NULL)
		goto err;
	n = fread(buf, 1, REPLAY_MAX_INPUT + 1, f);
	if (ferror(f))
		goto err;
	if (n > REPLAY_MAX_INPUT) {
		errno = EFBIG;
		goto err;
	}
	fclose(f);
	*data = buf;
	*size = n;
	return 0;
err:
	saved = errno;
	free(buf);
	fclose(f);
	errno = saved;
	return -1;
}

/* One input in a child process: the verdict and, on failure, why. */
static void
run_one(const char *path, const char *name)
{
	char why[128];
	uint8_t *data;
	size_t size;
	pid_t pid;
	int status;

	printf("# %s\n", name);
	fflush(stdout);
	if (read_file(path, &data, &size) == -1) {
		snprintf(why, sizeof(why), "cannot read: %s", strerror(errno));
		result(false, name, why);
		return;
	}
	pid = fork();
	if (pid == -1) {
		snprintf(why, sizeof(why), "fork: %s", strerror(errno));
		free(data);
		result(false, name, why);
		return;
	}
	if (pid == 0) {
		/*
		 * exit(), not _exit(): LeakSanitizer checks at exit.  stdout
		 * was flushed before the fork, so nothing is written twice.
		 */
		if (LLVMFuzzerInitialize != NULL)
			LLVMFuzzerInitialize(&main_argc, &main_argv);
		LLVMFuzzerTestOneInput(data, size);
		free(data);
		exit(0);
	}
	free(data);
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			snprintf(
			    why, sizeof(why), "waitpid: %s", strerror(errno));
			result(false, name, why);
			return;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		result(true, name, NULL);
		return;
	}
	if (WIFSIGNALED(status))
		snprintf(
		    why, sizeof(why), "killed by signal %d", WTERMSIG(status));
	else
		snprintf(
		    why, sizeof(why), "exit status %d", WEXITSTATUS(status));
	result(false, name, why);
}

/* "tests/fuzz/corpus/http" is shown as "corpus/http". */
static const char *
short_dir(const char *dir)
{
	const char *p = strstr(dir, "corpus/");

	return p != NULL ? p : dir;
}

static void
run_dir(const char *dir)
{
	struct dirent **ents = NULL;
	struct stat sb;
	char path[4096], name[4096], why[128];
	const char *shown = short_dir(dir);
	size_t dlen = strlen(dir), slen = strlen(shown);
	int i, n, ran = 0;

	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	while (slen > 1 && shown[slen - 1] == '/')
		slen--;
	n = scandir(dir, &ents, NULL, alphasort);
	if (n == -1) {
		snprintf(why, sizeof(why), "cannot open: %s", strerror(errno));
		result(false, dir, why);
		return;
	}
	for (i = 0; i < n; i++) {
		const char *e = ents[i]->d_name;

		if (e[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%.*s/%s", (int)dlen, dir,
			e) >= (int)sizeof(path))
			continue;
		if (stat(path, &sb) == -1 || !S_ISREG(sb.st_mode))
			continue;
		snprintf(name, sizeof(name), "%.*s/%s", (int)slen, shown, e);
		run_one(path, name);
		ran++;
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (ran == 0)
		result(false, dir, "no inputs in this directory");
}

int
main(int argc, char **argv)
{
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR...\n", argv[0]);
		return 2;
	}
	main_argc = argc;
	main_argv = argv;
	for (i = 1; i < argc; i++)
		run_dir(argv[i]);
	printf("1..%d\n", n_tests);
	return n_failed == 0 ? 0 : 1;
}
