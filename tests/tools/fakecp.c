/*
 * fakecp: a stand-in for edge-cp that answers a node badly, for the
 * keeper's tests of hostile answers (docs/threat-model.md T5).
 *
 *	fakecp ADDR PORT KEY CERT DIR [STATEKEY NODE]
 *
 * Serves HTTPS on ADDR:PORT with KEY and CERT, edge-cp's own key and
 * certificate: a keeper pins edge-cp's key, so it takes this server for
 * its edge-cp, which is what a compromised edge-cp, or whoever holds its
 * TLS key, could be.  A handshake (POST /v1/node/session) gets a session
 * with a made-up id and a fresh X25519 key; no request's tag is checked,
 * since a request need not be understood to be answered badly.  Any other
 * POST gets 200 {}.  A GET of PATH (its query left out) is answered from
 * DIR, looked up in this order:
 *
 *	DIR/PATH.huge	  holding N: Content-Length N, then N bytes
 *	DIR/PATH.endless  a chunked body that never ends
 *	DIR/PATH.trickle  holding N: Content-Length N, then one byte every
 *			  100 ms
 *	DIR/PATH	  its content
 *	otherwise	  404
 *
 * With STATEKEY (edge-cp's state.key) and NODE (a node id), a desired
 * state (GET /v1/node/desired) answered from DIR/PATH is signed as
 * edge-cp signs it (common/statesig.h): what a holder of both keys sends.
 * Without them it goes unsigned, as from a holder of the TLS key alone,
 * and so it does when DIR/PATH.unsigned exists; DIR/PATH.badkey signs it
 * with a key of its own (and offers that key), DIR/PATH.othernode signs
 * it with STATEKEY for another node.
 *
 * The files are looked up at each request, so a test changes the answers
 * as it goes.  One connection at a time, closed after its answer.  One
 * line per request on stdout, saying how the answer ended:
 *
 *	GET /v1/node/desired huge: 4456448 of 5242880 bytes, the client went away
 *
 * Bounded: a request head of 16 KiB, a request body of 1 MiB, 30 s to
 * read a request, 30 s for a send to block, an answer of at most 1 GiB,
 * a trickle of at most 120 s.  Exit 2 on a usage error, 1 when it cannot
 * listen; otherwise it runs until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/statesig.h"
#include "common/util.h"

#define FAKE_HEAD_MAX (16u << 10)
#define FAKE_BODY_MAX (1u << 20)
#define FAKE_IO_S 30
#define FAKE_ANSWER_MAX (1ull << 30)
#define FAKE_TRICKLE_S 120
#define FAKE_PIECE 16384

static const char *fake_dir;
static const char *fake_node; /* NULL: nothing is signed */
static unsigned char fake_state_sk[crypto_sign_SECRETKEYBYTES];

static int
fake_send(gnutls_session_t s, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = gnutls_record_send(s, p, len);
		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read into buf until it holds a whole request head; its length, or -1. */
static ssize_t
fake_read_head(gnutls_session_t s, char *buf, size_t len, size_t *have)
{
	char *end;
	ssize_t n;

	*have = 0;
	for (;;) {
		buf[*have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			return end + 4 - buf;
		if (*have + 1 >= len)
			return -1;
		n = gnutls_record_recv(s, buf + *have, len - 1 - *have);
		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			return -1;
		*have += (size_t)n;
	}
}

/* The Content-Length of a request head, 0 when it has none, -1 when bad. */
static int64_t
fake_content_length(const char *head)
{
	const char *p = head;
	char num[24];
	int64_t v;
	size_t n;

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, "Content-Length:", 15) != 0)
			continue;
		p += 15;
		p += strspn(p, " \t");
		n = strcspn(p, "\r\n");
		if (n >= sizeof(num))
			return -1;
		memcpy(num, p, n);
		num[n] = '\0';
		if (util_parse_i64(num, 0, FAKE_BODY_MAX, &v) != 0)
			return -1;
		return v;
	}
	return 0;
}

/* The number a mode file holds, or -1. */
static int64_t
fake_number(const char *path)
{
	char buf[32];
	int64_t v;
	FILE *f;
	size_t n;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (util_parse_i64(buf, 0, (int64_t)FAKE_ANSWER_MAX, &v) != 0)
		return -1;
	return v;
}

/* An answer; extra is more header lines, each ending in CRLF, or "". */
static int
fake_answer_hdrs(gnutls_session_t s, int status, const char *type,
    const char *extra, const char *body, size_t len)
{
	char head[768];
	int n;

	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "%sConnection: close\r\n\r\n",
	    status, status == 404 ? "Not Found" : "OK", type, len, extra);
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    fake_send(s, head, (size_t)n) != 0)
		return -1;
	return fake_send(s, body, len);
}

static int
fake_answer(gnutls_session_t s, int status, const char *type, const char *body,
    size_t len)
{
	return fake_answer_hdrs(s, status, type, "", body, len);
}

/*
 * The signature headers for a desired state at path (see the top); ""
 * when it goes unsigned.  How it was signed, for the log, in how.
 */
static void
fake_sign(const char *path, const char *body, size_t len, char *out,
    size_t outlen, const char **how)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	char file[1024], sig[STATESIG_HDR_MAX], pub[STATESIG_PUB_TEXT_MAX];
	const char *node = fake_node;

	out[0] = '\0';
	*how = "";
	if (strncmp(path, "/v1/node/desired", 16) != 0)
		return;
	*how = ", unsigned";
	snprintf(file, sizeof(file), "%s%s.unsigned", fake_dir, path);
	if (fake_node == NULL || access(file, F_OK) == 0)
		return;
	memcpy(sk, fake_state_sk, sizeof(sk));
	*how = ", signed";
	snprintf(file, sizeof(file), "%s%s.badkey", fake_dir, path);
	if (access(file, F_OK) == 0) {
		crypto_sign_keypair(pk, sk);
		*how = ", signed with another key";
	}
	snprintf(file, sizeof(file), "%s%s.othernode", fake_dir, path);
	if (access(file, F_OK) == 0) {
		node = "n-000000000000";
		*how = ", signed for another node";
	}
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	if (statesig_sign(sk, node, body, len, sig, sizeof(sig)) == 0 &&
	    statesig_pub_encode(pk, pub, sizeof(pub)) == 0)
		snprintf(out, outlen, "%s: %s\r\n%s: %s\r\n", STATESIG_HEADER,
		    sig, STATESIG_KEY_HEADER, pub);
	sodium_memzero(sk, sizeof(sk));
}

static void
fake_session(gnutls_session_t s)
{
	unsigned char pk[crypto_kx_PUBLICKEYBYTES],
	    sk[crypto_kx_SECRETKEYBYTES];
	unsigned char sid[16];
	char sidhex[33], pk64[64], body[256];
	int n;

	crypto_kx_keypair(pk, sk);
	randombytes_buf(sid, sizeof(sid));
	util_hex(sidhex, sizeof(sidhex), sid, sizeof(sid));
	util_b64(pk64, sizeof(pk64), pk, sizeof(pk));
	n = snprintf(body, sizeof(body),
	    "{\"session_id\":\"%s\",\"kx_public_key\":\"%s\","
	    "\"expires_at\":%lld}",
	    sidhex, pk64, (long long)util_now() + 3600);
	sodium_memzero(sk, sizeof(sk));
	fake_answer(s, 201, "application/json", body, (size_t)n);
	printf("POST /v1/node/session: a session\n");
}

/* Content-Length n, then n bytes: 'x' all at once, or one per 100 ms. */
static void
fake_huge(gnutls_session_t s, const char *path, uint64_t n, bool trickle)
{
	char head[256], piece[FAKE_PIECE];
	uint64_t sent = 0;
	time_t end = time(NULL) + FAKE_TRICKLE_S;
	size_t k;
	int len;

	memset(piece, 'x', sizeof(piece));
	len = snprintf(head, sizeof(head),
	    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Length: %llu\r\nConnection: close\r\n\r\n",
	    (unsigned long long)n);
	if (fake_send(s, head, (size_t)len) != 0)
		goto out;
	while (sent < n) {
		k = n - sent < sizeof(piece) ? (size_t)(n - sent)
					     : sizeof(piece);
		if (trickle) {
			struct timespec ts = { 0, 100000000 };

			if (time(NULL) >= end)
				break;
			nanosleep(&ts, NULL);
			k = 1;
		}
		if (fake_send(s, piece, k) != 0)
			break;
		sent += k;
	}
out:
	printf("GET %s %s: %llu of %llu bytes%s\n", path,
	    trickle ? "trickle" : "huge", (unsigned long long)sent,
	    (unsigned long long)n, sent < n ? ", the client went away" : "");
}

static void
fake_endless(gnutls_session_t s, const char *path)
{
	static const char head[] =
	    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
	char piece[FAKE_PIECE + 16];
	uint64_t sent = 0;
	int hl;

	hl = snprintf(piece, sizeof(piece), "%x\r\n", FAKE_PIECE);
	memset(piece + hl, 'x', FAKE_PIECE);
	memcpy(piece + hl + FAKE_PIECE, "\r\n", 2);
	if (fake_send(s, head, sizeof(head) - 1) == 0)
		while (sent < FAKE_ANSWER_MAX &&
		    fake_send(s, piece, (size_t)hl + FAKE_PIECE + 2) == 0)
			sent += FAKE_PIECE;
	printf("GET %s endless: %llu bytes%s\n", path, (unsigned long long)sent,
	    sent < FAKE_ANSWER_MAX ? ", the client went away" : "");
}

static void
fake_get(gnutls_session_t s, const char *path)
{
	char file[1024];
	struct stat st;
	int64_t n;
	char *body;
	FILE *f;

	snprintf(file, sizeof(file), "%s%s.huge", fake_dir, path);
	if ((n = fake_number(file)) >= 0) {
		fake_huge(s, path, (uint64_t)n, false);
		return;
	}
	snprintf(file, sizeof(file), "%s%s.endless", fake_dir, path);
	if (access(file, F_OK) == 0) {
		fake_endless(s, path);
		return;
	}
	snprintf(file, sizeof(file), "%s%s.trickle", fake_dir, path);
	if ((n = fake_number(file)) >= 0) {
		fake_huge(s, path, (uint64_t)n, true);
		return;
	}
	snprintf(file, sizeof(file), "%s%s", fake_dir, path);
	if (stat(file, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > FAKE_BODY_MAX ||
	    (f = fopen(file, "r")) == NULL) {
		static const char nf[] = "{\"error\":{\"code\":\"not_found\"}}";

		fake_answer(s, 404, "application/json", nf, sizeof(nf) - 1);
		printf("GET %s: 404\n", path);
		return;
	}
	if ((body = malloc((size_t)st.st_size + 1)) != NULL &&
	    fread(body, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
		char hdrs[512];
		const char *how;

		fake_sign(path, body, (size_t)st.st_size, hdrs, sizeof(hdrs),
		    &how);
		fake_answer_hdrs(s, 200, "application/octet-stream", hdrs, body,
		    (size_t)st.st_size);
		printf("GET %s: %lld bytes%s\n", path, (long long)st.st_size,
		    how);
	}
	free(body);
	fclose(f);
}

/* A path made only of what a test's file names need, no "..". */
static bool
fake_path_ok(const char *p)
{
	return p[0] == '/' && strstr(p, "..") == NULL &&
	    strspn(p,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789/._-") == strlen(p);
}

static void
fake_conn(gnutls_certificate_credentials_t cred, int fd)
{
	char *buf = NULL, method[8], path[512];
	gnutls_session_t s;
	size_t have, left;
	ssize_t hl, n;
	int64_t cl;
	int rc;

	if (gnutls_init(&s, GNUTLS_SERVER) != 0)
		return;
	gnutls_set_default_priority(s);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, FAKE_IO_S * 1000);
	do
		rc = gnutls_handshake(s);
	while (rc == GNUTLS_E_INTERRUPTED);
	if (rc != 0 || (buf = malloc(FAKE_HEAD_MAX)) == NULL)
		goto out;
	if ((hl = fake_read_head(s, buf, FAKE_HEAD_MAX, &have)) < 0 ||
	    sscanf(buf, "%7s %511s", method, path) != 2 ||
	    (cl = fake_content_length(buf)) < 0)
		goto out;
	/* The request's body, read and dropped. */
	left = (size_t)cl;
	left -= have - (size_t)hl < left ? have - (size_t)hl : left;
	while (left > 0 && left <= FAKE_BODY_MAX) {
		n = gnutls_record_recv(
		    s, buf, left < FAKE_HEAD_MAX ? left : FAKE_HEAD_MAX);
		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			goto out;
		left -= (size_t)n < left ? (size_t)n : left;
	}
	path[strcspn(path, "?")] = '\0';
	if (strcmp(method, "POST") == 0 &&
	    strcmp(path, "/v1/node/session") == 0)
		fake_session(s);
	else if (strcmp(method, "POST") == 0) {
		fake_answer(s, 200, "application/json", "{}", 2);
		printf("POST %s: 200\n", path);
	} else if (strcmp(method, "GET") == 0 && fake_path_ok(path))
		fake_get(s, path);
	else {
		fake_answer(s, 404, "application/json", "{}", 2);
		printf("%s %s: 404\n", method, path);
	}
	fflush(stdout);
	gnutls_bye(s, GNUTLS_SHUT_WR);
out:
	free(buf);
	gnutls_deinit(s);
}

/* edge-cp's state.key: an Ed25519 seed in hex (cp/statekey.h). */
static int
fake_state_key(const char *file)
{
	unsigned char seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];
	char hex[2 * crypto_sign_SEEDBYTES + 2] = "";
	FILE *f = fopen(file, "r");
	int ok;

	if (f == NULL)
		return -1;
	ok = fgets(hex, sizeof(hex), f) != NULL;
	fclose(f);
	hex[strcspn(hex, "\n")] = '\0';
	if (!ok || util_unhex(seed, sizeof(seed), hex) != (int)sizeof(seed))
		return -1;
	crypto_sign_seed_keypair(pk, fake_state_sk, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(hex, sizeof(hex));
	return 0;
}

int
main(int argc, char **argv)
{
	gnutls_certificate_credentials_t cred;
	struct timeval tv = { FAKE_IO_S, 0 };
	struct sockaddr_in sa;
	int64_t port;
	int lfd, fd, one = 1;

	if ((argc != 6 && argc != 8) ||
	    util_parse_i64(argv[2], 1, 65535, &port) != 0) {
		fprintf(stderr,
		    "usage: fakecp ADDR PORT KEY CERT DIR [STATEKEY NODE]\n");
		return 2;
	}
	fake_dir = argv[5];
	if (argc == 8 && fake_state_key(argv[6]) != 0) {
		fprintf(stderr, "fakecp: %s: not a state key\n", argv[6]);
		return 2;
	}
	fake_node = argc == 8 ? argv[7] : NULL;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "fakecp: %s: not an IPv4 address\n", argv[1]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0 || gnutls_global_init() != 0 ||
	    gnutls_certificate_allocate_credentials(&cred) != 0 ||
	    gnutls_certificate_set_x509_key_file(
		cred, argv[4], argv[3], GNUTLS_X509_FMT_PEM) != 0) {
		fprintf(stderr, "fakecp: cannot load %s and %s\n", argv[3],
		    argv[4]);
		return 1;
	}
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 16) != 0) {
		fprintf(stderr, "fakecp: %s:%lld: %s\n", argv[1],
		    (long long)port, strerror(errno));
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(
			    stderr, "fakecp: accept: %s\n", strerror(errno));
			return 1;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		fake_conn(cred, fd);
		close(fd);
	}
}
