#include "cp/tlsrot.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/log.h"
#include "common/util.h"
#include "cp/tls.h"

#define TLSROT_DIR_DEFAULT "/var/lib/edge-cp"

static struct {
	bool announce;
	char pins[2][TLS_PIN_MAX];
	size_t npins;
} rot;

/* DIR/name into out; -1 when it does not fit. */
static int
tlsrot_path(char *out, size_t len, const char *dir, const char *name)
{
	return (size_t)snprintf(out, len, "%s/%s", dir, name) >= len ? -1 : 0;
}

/*
 * The pin of the certificate DIR/name: 0, 1 when there is no such file,
 * -1 with err when it cannot be read or parsed.
 */
static int
tlsrot_pin(const char *dir, const char *name, char pin[TLS_PIN_MAX], char *err,
    size_t errlen)
{
	char path[1024], *pem = NULL;
	size_t len;
	int rc;

	pin[0] = '\0';
	if (tlsrot_path(path, sizeof(path), dir, name) != 0) {
		snprintf(err, errlen, "data directory path too long");
		return -1;
	}
	if (afile_read(path, TLS_FILE_MAX, &pem, &len) != 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%.900s: %s", path, strerror(errno));
		return -1;
	}
	rc = tls_pin_from_cert(pem, len, pin, TLS_PIN_MAX, err, errlen);
	free(pem);
	return rc;
}

int
tlsrot_load(const char *dir, const char *current, char *err, size_t errlen)
{
	char next[TLS_PIN_MAX], old[TLS_PIN_MAX];
	int rn, ro;

	memset(&rot, 0, sizeof(rot));
	if ((rn = tlsrot_pin(dir, "tls.next.crt", next, err, errlen)) < 0 ||
	    (ro = tlsrot_pin(dir, "tls.old.crt", old, err, errlen)) < 0)
		return -1;
	if (rn != 0 && ro != 0)
		return 0;
	rot.announce = true;
	util_strlcpy(rot.pins[rot.npins++], current, TLS_PIN_MAX);
	if (rn == 0 && strcmp(next, current) != 0)
		util_strlcpy(rot.pins[rot.npins++], next, TLS_PIN_MAX);
	log_info("event=tls_pins_announced current=%s next=%s", current,
	    rot.npins > 1 ? rot.pins[1] : "none");
	return 0;
}

json_t *
tlsrot_pins(void)
{
	json_t *a;
	size_t i;

	if (!rot.announce || (a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < rot.npins; i++)
		json_array_append_new(a, json_string(rot.pins[i]));
	return a;
}

/* ---- the commands ---- */

static int
tlsrot_rotate(const char *dir, const char *dns, const char *ip)
{
	const char *names[3] = { "localhost", NULL, NULL };
	const char *ips[4] = { "127.0.0.1", "::1", NULL, NULL };
	char kp[1024], cpth[1024], err[256], host[256], pin[TLS_PIN_MAX];
	size_t n = 1;

	if (tlsrot_pin(dir, "tls.next.crt", pin, err, sizeof(err)) == 0) {
		fprintf(stderr,
		    "edge-cp: a next key is already staged (%s); "
		    "`edge-cp tls switch` to it first\n",
		    pin);
		return 1;
	}
	if (dns != NULL)
		names[n++] = dns;
	else if (gethostname(host, sizeof(host)) == 0 &&
	    strcmp(host, "localhost") != 0) {
		host[sizeof(host) - 1] = '\0';
		names[n++] = host;
	}
	ips[2] = ip;
	if (tlsrot_path(kp, sizeof(kp), dir, "tls.next.key") != 0 ||
	    tlsrot_path(cpth, sizeof(cpth), dir, "tls.next.crt") != 0 ||
	    tls_selfsigned_create(kp, cpth, names, ips, err, sizeof(err)) !=
		0 ||
	    tlsrot_pin(dir, "tls.next.crt", pin, err, sizeof(err)) != 0) {
		fprintf(stderr, "edge-cp: tls rotate: %s\n", err);
		return 1;
	}
	printf("next key staged: %s\n"
	       "restart edge-cp to announce it to the nodes; once every node "
	       "has checked in since, `edge-cp tls switch` and restart\n",
	    pin);
	return 0;
}

/* Copy DIR/from to DIR/to with mode (afile: whole or not at all). */
static int
tlsrot_copy(const char *dir, const char *from, const char *to, mode_t mode,
    char *err, size_t errlen)
{
	char src[1024], dst[1024], *buf = NULL;
	size_t len;
	int rc;

	if (tlsrot_path(src, sizeof(src), dir, from) != 0 ||
	    tlsrot_path(dst, sizeof(dst), dir, to) != 0 ||
	    afile_read(src, TLS_FILE_MAX, &buf, &len) != 0) {
		snprintf(err, errlen, "%s: %s", from, strerror(errno));
		return -1;
	}
	rc = afile_write(dst, buf, len, mode);
	if (rc != 0)
		snprintf(err, errlen, "%s: %s", to, strerror(errno));
	sodium_memzero(buf, len);
	free(buf);
	return rc;
}

static int
tlsrot_rename(
    const char *dir, const char *from, const char *to, char *err, size_t n)
{
	char src[1024], dst[1024];

	if (tlsrot_path(src, sizeof(src), dir, from) != 0 ||
	    tlsrot_path(dst, sizeof(dst), dir, to) != 0 ||
	    afile_rename(src, dst) != 0) {
		snprintf(err, n, "%s -> %s: %s", from, to, strerror(errno));
		return -1;
	}
	return 0;
}

static int
tlsrot_switch(const char *dir)
{
	char kp[1024], err[256], pin[TLS_PIN_MAX];
	bool have_key;

	if (tlsrot_path(kp, sizeof(kp), dir, "tls.next.key") != 0)
		return 1;
	have_key = access(kp, F_OK) == 0;
	switch (tlsrot_pin(dir, "tls.next.crt", pin, err, sizeof(err))) {
	case 0:
		break;
	case 1:
		fprintf(stderr,
		    "edge-cp: no next key staged%s; `edge-cp tls rotate` "
		    "first\n",
		    have_key ? " (tls.next.key without its certificate)" : "");
		return 1;
	default:
		fprintf(stderr, "edge-cp: tls switch: %s\n", err);
		return 1;
	}
	/*
	 * tls.next.crt without tls.next.key: an earlier switch renamed the
	 * key and stopped, which it did only after copying the current pair
	 * to tls.old.*, so tls.old.crt is tls.crt.  Anything else is not a
	 * half-done switch, and a certificate renamed over tls.crt would not
	 * match tls.key.
	 */
	if (!have_key) {
		char cur[TLS_PIN_MAX], old[TLS_PIN_MAX];

		if (tlsrot_pin(dir, "tls.crt", cur, err, sizeof(err)) != 0 ||
		    tlsrot_pin(dir, "tls.old.crt", old, err, sizeof(err)) !=
			0 ||
		    strcmp(cur, old) != 0) {
			fprintf(stderr,
			    "edge-cp: tls.next.crt without tls.next.key, and "
			    "not from an interrupted switch; `edge-cp tls "
			    "rotate` again after removing tls.next.crt\n");
			return 1;
		}
	}
	if (have_key &&
	    (tlsrot_copy(
		 dir, "tls.key", "tls.old.key", 0600, err, sizeof(err)) != 0 ||
		tlsrot_copy(dir, "tls.crt", "tls.old.crt", 0644, err,
		    sizeof(err)) != 0 ||
		tlsrot_rename(
		    dir, "tls.next.key", "tls.key", err, sizeof(err)) != 0)) {
		fprintf(stderr, "edge-cp: tls switch: %s\n", err);
		return 1;
	}
	if (tlsrot_rename(dir, "tls.next.crt", "tls.crt", err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "edge-cp: tls switch: %s\n", err);
		return 1;
	}
	printf("switched to %s\nrestart edge-cp to serve it; nodes drop the "
	       "old pin at their next check-in\n",
	    pin);
	return 0;
}

static int
tlsrot_status(const char *dir)
{
	static const struct {
		const char *label, *file, *note;
	} rows[] = {
		{ "current", "tls.crt", "" },
		{ "next", "tls.next.crt",
		    " (announced from edge-cp's next start)" },
		{ "old", "tls.old.crt", " (retired, not announced)" },
	};
	char pin[TLS_PIN_MAX], err[256];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		rc = tlsrot_pin(dir, rows[i].file, pin, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "edge-cp: %s\n", err);
			return 1;
		}
		printf("%-8s %s%s\n", rows[i].label, rc == 0 ? pin : "none",
		    rc == 0 ? rows[i].note : "");
	}
	return 0;
}

int
tlsrot_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "dns", required_argument, NULL, 'n' },
		{ "ip", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = TLSROT_DIR_DEFAULT, *dns = NULL, *ip = NULL, *verb;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'n':
			dns = optarg;
			break;
		case 'i':
			ip = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc)
		goto usage;
	verb = argv[optind];
	if (strcmp(verb, "rotate") == 0)
		return tlsrot_rotate(dir, dns, ip);
	if ((dns != NULL || ip != NULL))
		goto usage;
	if (strcmp(verb, "switch") == 0)
		return tlsrot_switch(dir);
	if (strcmp(verb, "status") == 0)
		return tlsrot_status(dir);
usage:
	fprintf(stderr,
	    "usage: edge-cp tls rotate [--data-dir DIR] [--dns NAME] [--ip "
	    "ADDR]\n"
	    "       edge-cp tls switch|status [--data-dir DIR]\n");
	return 2;
}
