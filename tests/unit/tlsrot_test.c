/*
 * tlsrot_test: TLS key rotation's files and what the desired state
 * announces (cp/tlsrot.h), on a scratch data directory: nothing before a
 * rotation, [current, next] once one is staged, [current] after the
 * switch; the staged key is 0600; a staged certificate that cannot be
 * read stops edge-cp's start rather than announce a pin it did not
 * compute; the commands' usage errors change nothing.
 */
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/log.h"
#include "cp/tls.h"
#include "cp/tlsrot.h"
#include "tests/unit/check.h"
#include "tests/unit/tmpdir.h"

static char dir[64];

/* tlsrot_main on writable copies of args, its output to /dev/null. */
static int
run(int argc, const char *const *args)
{
	char bufs[8][128], *argv[9];
	int i, rc, saved, nul;

	for (i = 0; i < argc && i < 8; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "%s", args[i]);
		argv[i] = bufs[i];
	}
	argv[i] = NULL;
	/* The commands print what they did; keep the TAP output clean. */
	fflush(stdout);
	if ((saved = dup(1)) < 0 || (nul = open("/dev/null", O_WRONLY)) < 0)
		return -1;
	dup2(nul, 1);
	close(nul);
	rc = tlsrot_main(i, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	return rc;
}

static int
cmd(const char *verb)
{
	const char *args[] = { "tls", verb, "--data-dir", dir };

	return run(4, args);
}

static int
pin_of(const char *name, char pin[TLS_PIN_MAX])
{
	char path[128], *pem = NULL, err[256];
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (afile_read(path, TLS_FILE_MAX, &pem, &len) != 0)
		return -1;
	rc = tls_pin_from_cert(pem, len, pin, TLS_PIN_MAX, err, sizeof(err));
	free(pem);
	return rc;
}

/* The announced pins joined by ",", or "-" when none are. */
static void
announced(char *out, size_t len)
{
	json_t *a = tlsrot_pins(), *p;
	size_t i, n = 0;

	if (a == NULL) {
		snprintf(out, len, "-");
		return;
	}
	out[0] = '\0';
	json_array_foreach(a, i, p) n += (size_t)snprintf(
	    out + n, len - n, "%s%s", i ? "," : "", json_string_value(p));
	json_decref(a);
}

static char cur[TLS_PIN_MAX], next[TLS_PIN_MAX];

TEST(tlsrot_nothing_announced_before_a_rotation)
{
	const char *names[] = { "localhost", NULL };
	char path[128], path2[128], err[256], got[256];

	snprintf(path, sizeof(path), "%s/tls.key", dir);
	snprintf(path2, sizeof(path2), "%s/tls.crt", dir);
	CHECK(tls_selfsigned_create(
		  path, path2, names, NULL, err, sizeof(err)) == 0);
	CHECK(pin_of("tls.crt", cur) == 0);
	CHECK(tlsrot_load(dir, cur, err, sizeof(err)) == 0);
	announced(got, sizeof(got));
	CHECK_STR(got, "-");
	CHECK(cmd("switch") == 1);
}

TEST(tlsrot_rotate_stages_and_announces_both)
{
	char err[256], got[256], want[256], path[128];
	struct stat st;

	CHECK(cmd("rotate") == 0);
	CHECK(pin_of("tls.next.crt", next) == 0);
	CHECK(strcmp(next, cur) != 0);
	snprintf(path, sizeof(path), "%s/tls.next.key", dir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(cmd("rotate") == 1); /* one staged at a time */
	CHECK(tlsrot_load(dir, cur, err, sizeof(err)) == 0);
	announced(got, sizeof(got));
	snprintf(want, sizeof(want), "%s,%s", cur, next);
	CHECK_STR(got, want);
}

TEST(tlsrot_switch_announces_the_new_one_alone)
{
	char err[256], got[256], pin[TLS_PIN_MAX], old[TLS_PIN_MAX];
	char path[128];

	CHECK(cmd("switch") == 0);
	CHECK(pin_of("tls.crt", pin) == 0);
	CHECK_STR(pin, next);
	CHECK(pin_of("tls.old.crt", old) == 0);
	CHECK_STR(old, cur);
	snprintf(path, sizeof(path), "%s/tls.next.key", dir);
	CHECK(access(path, F_OK) != 0);
	CHECK(tlsrot_load(dir, pin, err, sizeof(err)) == 0);
	announced(got, sizeof(got));
	CHECK_STR(got, next);
	CHECK(cmd("switch") == 1); /* nothing staged */
	CHECK(cmd("status") == 0);
}

TEST(tlsrot_unreadable_staged_certificate_stops_the_start)
{
	char path[128], err[256] = "";

	snprintf(path, sizeof(path), "%s/tls.next.crt", dir);
	CHECK(afile_write(path, "not a certificate\n", 18, 0644) == 0);
	CHECK(tlsrot_load(dir, next, err, sizeof(err)) == -1);
	CHECK(err[0] != '\0');
	CHECK(unlink(path) == 0);
}

TEST(tlsrot_usage_errors_change_nothing)
{
	const char *bad1[] = { "tls" };
	const char *bad2[] = { "tls", "switch", "--ip", "192.0.2.1",
		"--data-dir", dir };
	const char *bad3[] = { "tls", "explode", "--data-dir", dir };
	char pin[TLS_PIN_MAX];

	CHECK(run(1, bad1) == 2);
	CHECK(run(6, bad2) == 2);
	CHECK(run(4, bad3) == 2);
	CHECK(pin_of("tls.crt", pin) == 0);
	CHECK_STR(pin, next);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	log_init("tlsrot_test", LOG_WARN);
	tmp_setup("tlsrot_test");
	snprintf(dir, sizeof(dir), "%s", tmpdir);
	RUN(tlsrot_nothing_announced_before_a_rotation);
	RUN(tlsrot_rotate_stages_and_announces_both);
	RUN(tlsrot_switch_announces_the_new_one_alone);
	RUN(tlsrot_unreadable_staged_certificate_stops_the_start);
	RUN(tlsrot_usage_errors_change_nothing);
	tmp_cleanup();
	return check_done();
}
