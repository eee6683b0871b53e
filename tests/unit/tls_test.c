/*
 * tls_test: the self-signed certificate's contents, file modes, and the
 * public key pin, cross-checked against openssl (run with posix_spawn,
 * never through a shell).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/util.h"
#include "cp/tls.h"
#include "tests/unit/check.h"
#include "tests/unit/tmpdir.h"

#define OPENSSL "/usr/bin/openssl"

extern char **environ;

static char errbuf[512];

/*
 * Run argv[0] with stdin on /dev/null and stdout to out_path (or
 * /dev/null).  Returns the exit status, or -1.
 */
static int
run(const char *const argv[], const char *out_path)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc, status;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1,
	    out_path != NULL ? out_path : "/dev/null",
	    O_WRONLY | O_CREAT | O_TRUNC, 0600);
	/* posix_spawn() does not write to argv; its type is historical. */
	rc = posix_spawn(
	    &pid, argv[0], &fa, NULL, (char *const *)(uintptr_t)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
have_openssl(void)
{
	if (access(OPENSSL, X_OK) == 0)
		return 1;
	fprintf(stderr,
	    "# %s not found: the openssl cross-checks fail "
	    "without it\n",
	    OPENSSL);
	return 0;
}

static mode_t
file_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

/* Create the usual pair in tmpdir. */
static int
make_pair(char *key_p, char *crt_p, size_t len)
{
	static const char *const dns[] = { "localhost", "cp.example.net",
		NULL };
	static const char *const ips[] = { "127.0.0.1", "::1", "2001:db8::7",
		NULL };

	tmp_path(key_p, len, "cp.key");
	tmp_path(crt_p, len, "cp.crt");
	if (tls_selfsigned_create(
		key_p, crt_p, dns, ips, errbuf, sizeof(errbuf)) != 0) {
		fprintf(stderr, "# %s\n", errbuf);
		return -1;
	}
	return 0;
}

TEST(create_writes_pem_with_modes)
{
	char key_p[256], crt_p[256], *key, *crt;
	mode_t old = umask(0); /* afile_write's modes must not need it */

	if (make_pair(key_p, crt_p, sizeof(key_p)) != 0) {
		umask(old);
		CHECK(!"tls_selfsigned_create");
	}
	umask(old);
	CHECK(file_mode(key_p) == 0600);
	CHECK(file_mode(crt_p) == 0644);
	CHECK(tls_load(key_p, crt_p, &key, &crt, errbuf, sizeof(errbuf)) == 0);
	CHECK(strncmp(key, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
	CHECK(strncmp(crt, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
	sodium_memzero(key, strlen(key));
	free(key);
	free(crt);
}

TEST(certificate_contents)
{
	char key_p[256], crt_p[256], *key, *crt;
	unsigned char buf[256], serial[32];
	size_t n, i, dns_seen = 0, ip_seen = 0;
	unsigned int usage, critical, bits;
	gnutls_x509_crt_t c = NULL;
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_datum_t d;
	time_t now = time(NULL), act, exp;
	int rc, ok;

	CHECK(make_pair(key_p, crt_p, sizeof(key_p)) == 0);
	CHECK(tls_load(key_p, crt_p, &key, &crt, errbuf, sizeof(errbuf)) == 0);

	/* The key belongs to the certificate: what edge-cp will load. */
	CHECK(gnutls_certificate_allocate_credentials(&cred) == 0);
	{
		gnutls_datum_t kd = { (unsigned char *)key,
			(unsigned int)strlen(key) };
		gnutls_datum_t cd = { (unsigned char *)crt,
			(unsigned int)strlen(crt) };

		rc = gnutls_certificate_set_x509_key_mem(
		    cred, &cd, &kd, GNUTLS_X509_FMT_PEM);
	}
	gnutls_certificate_free_credentials(cred);
	sodium_memzero(key, strlen(key));
	free(key);
	if (rc < 0) {
		free(crt);
		CHECK(!"key and certificate do not load together");
	}

	d.data = (unsigned char *)crt;
	d.size = (unsigned int)strlen(crt);
	rc = gnutls_x509_crt_init(&c);
	if (rc == 0)
		rc = gnutls_x509_crt_import(c, &d, GNUTLS_X509_FMT_PEM);
	free(crt);
	CHECK(rc == 0);

	ok = gnutls_x509_crt_get_version(c) == 3;
	n = sizeof(buf);
	ok = ok && gnutls_x509_crt_get_dn(c, (char *)buf, &n) == 0 &&
	    strcmp((char *)buf, "CN=edge-cp") == 0;
	n = sizeof(buf);
	ok = ok && gnutls_x509_crt_get_issuer_dn(c, (char *)buf, &n) == 0 &&
	    strcmp((char *)buf, "CN=edge-cp") == 0;
	n = sizeof(serial);
	ok = ok && gnutls_x509_crt_get_serial(c, serial, &n) == 0 && n == 16 &&
	    (serial[0] & 0x80) == 0;
	ok = ok &&
	    gnutls_x509_crt_get_signature_algorithm(c) ==
		GNUTLS_SIGN_ECDSA_SHA256;
	ok = ok &&
	    gnutls_x509_crt_get_pk_algorithm(c, &bits) == GNUTLS_PK_ECDSA &&
	    bits == 256;
	act = gnutls_x509_crt_get_activation_time(c);
	exp = gnutls_x509_crt_get_expiration_time(c);
	/* An hour ago, and ten calendar years (3652 or 3653 days) on. */
	ok = ok && act <= now - 3600 + 5 && act >= now - 3600 - 60;
	ok = ok && exp - now >= 3652L * 86400 - 60 &&
	    exp - now <= 3653L * 86400 + 60;
	ok = ok && gnutls_x509_crt_get_key_usage(c, &usage, &critical) >= 0 &&
	    usage == GNUTLS_KEY_DIGITAL_SIGNATURE;
	ok = ok && gnutls_x509_crt_get_ca_status(c, &critical) == 0;
	n = sizeof(buf);
	ok = ok &&
	    gnutls_x509_crt_get_key_purpose_oid(c, 0, buf, &n, &critical) ==
		0 &&
	    strcmp((char *)buf, GNUTLS_KP_TLS_WWW_SERVER) == 0;
	n = sizeof(buf);
	ok = ok &&
	    gnutls_x509_crt_get_key_purpose_oid(c, 1, buf, &n, &critical) ==
		GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE;
	for (i = 0; ok; i++) {
		n = sizeof(buf);
		rc = gnutls_x509_crt_get_subject_alt_name(
		    c, (unsigned int)i, buf, &n, &critical);
		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (rc == GNUTLS_SAN_DNSNAME)
			dns_seen++;
		else if (rc == GNUTLS_SAN_IPADDRESS && (n == 4 || n == 16))
			ip_seen++;
		else
			ok = 0;
	}
	ok = ok && gnutls_x509_crt_check_hostname(c, "localhost") &&
	    gnutls_x509_crt_check_hostname(c, "cp.example.net") &&
	    gnutls_x509_crt_check_ip(
		c, (const unsigned char *)"\x7f\0\0\x01", 4, 0) &&
	    !gnutls_x509_crt_check_hostname(c, "other.example.net");
	gnutls_x509_crt_deinit(c);
	CHECK(ok);
	CHECK(dns_seen == 2);
	CHECK(ip_seen == 3);
}

TEST(certificate_as_openssl_sees_it)
{
	char key_p[256], crt_p[256], txt_p[256], *txt;

	CHECK(have_openssl());
	CHECK(make_pair(key_p, crt_p, sizeof(key_p)) == 0);
	tmp_path(txt_p, sizeof(txt_p), "crt.txt");
	{
		const char *const argv[] = { OPENSSL, "x509", "-in", crt_p,
			"-noout", "-text", NULL };

		CHECK(run(argv, txt_p) == 0);
	}
	CHECK(afile_read(txt_p, 65536, &txt, NULL) == 0);
#define HAS(s) (strstr(txt, (s)) != NULL)
	if (!(HAS("Version: 3 (0x2)") && HAS("Subject: CN = edge-cp") &&
		HAS("Issuer: CN = edge-cp") &&
		HAS("Signature Algorithm: ecdsa-with-SHA256") &&
		HAS("NIST CURVE: P-256") && HAS("Digital Signature") &&
		HAS("TLS Web Server Authentication") && HAS("CA:FALSE") &&
		HAS("DNS:localhost") && HAS("DNS:cp.example.net") &&
		HAS("IP Address:127.0.0.1") &&
		HAS("IP Address:0:0:0:0:0:0:0:1") &&
		HAS("IP Address:2001:DB8:0:0:0:0:0:7"))) {
		fprintf(stderr, "%s", txt);
		free(txt);
		CHECK(!"openssl x509 -text lacks an expected field");
	}
#undef HAS
	free(txt);
}

TEST(pin_matches_openssl)
{
	char key_p[256], crt_p[256], pub_p[256], der_p[256], hash_p[256];
	char b64_p[256];
	char pin[TLS_PIN_MAX], want[TLS_PIN_MAX], *crt, *b64;
	size_t crtlen;

	CHECK(have_openssl());
	CHECK(make_pair(key_p, crt_p, sizeof(key_p)) == 0);
	CHECK(afile_read(crt_p, TLS_FILE_MAX, &crt, &crtlen) == 0);
	/* pem need not be NUL-terminated: pass the exact length. */
	if (tls_pin_from_cert(
		crt, crtlen, pin, sizeof(pin), errbuf, sizeof(errbuf)) != 0) {
		free(crt);
		CHECK(!"tls_pin_from_cert");
	}
	free(crt);
	CHECK(strncmp(pin, "sha256//", 8) == 0 && strlen(pin) == 8 + 44);

	/*
	 * curl's documented recipe, one stage at a time through files:
	 *	openssl x509 -in crt -pubkey -noout |
	 *	openssl pkey -pubin -outform der |
	 *	openssl dgst -sha256 -binary | base64
	 */
	tmp_path(pub_p, sizeof(pub_p), "pub.pem");
	tmp_path(der_p, sizeof(der_p), "pub.der");
	tmp_path(hash_p, sizeof(hash_p), "pub.sha256");
	tmp_path(b64_p, sizeof(b64_p), "pin.b64");
	{
		const char *const x509[] = { OPENSSL, "x509", "-in", crt_p,
			"-pubkey", "-noout", NULL };
		const char *const pkey[] = { OPENSSL, "pkey", "-pubin", "-in",
			pub_p, "-outform", "der", NULL };
		const char *const dgst[] = { OPENSSL, "dgst", "-sha256",
			"-binary", der_p, NULL };
		const char *const enc[] = { OPENSSL, "base64", "-A", "-in",
			hash_p, NULL };

		CHECK(run(x509, pub_p) == 0);
		CHECK(run(pkey, der_p) == 0);
		CHECK(run(dgst, hash_p) == 0);
		CHECK(run(enc, b64_p) == 0);
	}
	CHECK(afile_read(b64_p, 256, &b64, NULL) == 0);
	b64[strcspn(b64, "\r\n")] = '\0';
	snprintf(want, sizeof(want), "sha256//%s", b64);
	free(b64);
	CHECK_STR(pin, want);
}

TEST(pin_rejects_garbage)
{
	char key_p[256], crt_p[256], pin[TLS_PIN_MAX], *key, *crt;
	static const char junk[] = "-----BEGIN CERTIFICATE-----\n"
				   "AAAA\n-----END CERTIFICATE-----\n";

	util_strlcpy(pin, "junk", sizeof(pin));
	CHECK(tls_pin_from_cert(junk, strlen(junk), pin, sizeof(pin), errbuf,
		  sizeof(errbuf)) == -1);
	CHECK(pin[0] == '\0');
	CHECK(tls_pin_from_cert(
		  "", 0, pin, sizeof(pin), errbuf, sizeof(errbuf)) == -1);
	CHECK(tls_pin_from_cert(
		  "hello", 5, pin, sizeof(pin), errbuf, sizeof(errbuf)) == -1);

	CHECK(make_pair(key_p, crt_p, sizeof(key_p)) == 0);
	CHECK(tls_load(key_p, crt_p, &key, &crt, errbuf, sizeof(errbuf)) == 0);
	sodium_memzero(key, strlen(key));
	free(key);
	/* A key is not a certificate; a short buffer is refused. */
	{
		int a, b, c;

		a = tls_pin_from_cert(crt, strlen(crt) / 2, pin, sizeof(pin),
		    errbuf, sizeof(errbuf));
		b = tls_pin_from_cert(
		    crt, strlen(crt), pin, 20, errbuf, sizeof(errbuf));
		c = tls_pin_from_cert(
		    crt, strlen(crt), pin, sizeof(pin), errbuf, sizeof(errbuf));
		free(crt);
		CHECK(a == -1);
		CHECK(b == -1);
		CHECK(c == 0);
	}
}

/* The pin of the certificate at path, or -1. */
static int
pin_of(const char *path, char *pin, size_t len)
{
	char *crt;
	int rc;

	if (afile_read(path, TLS_FILE_MAX, &crt, NULL) != 0)
		return -1;
	rc = tls_pin_from_cert(
	    crt, strlen(crt), pin, len, errbuf, sizeof(errbuf));
	free(crt);
	return rc;
}

TEST(create_is_fresh_each_time)
{
	char key_p[256], crt_p[256];
	char pin1[TLS_PIN_MAX], pin2[TLS_PIN_MAX];

	CHECK(make_pair(key_p, crt_p, sizeof(key_p)) == 0);
	CHECK(pin_of(crt_p, pin1, sizeof(pin1)) == 0);
	CHECK(make_pair(key_p, crt_p, sizeof(key_p)) == 0);
	CHECK(pin_of(crt_p, pin2, sizeof(pin2)) == 0);
	CHECK(strcmp(pin1, pin2) != 0);
}

TEST(create_rejects_bad_names)
{
	char key_p[256], crt_p[256];
	static const char *const bad_ip[] = { "127.0.0.256", NULL };
	static const char *const bad_ip6[] = { "fe80::1%eth0", NULL };
	static const char *const bad_dns[] = { "bad name", NULL };
	static const char *const empty_dns[] = { "", NULL };

	tmp_path(key_p, sizeof(key_p), "bad.key");
	tmp_path(crt_p, sizeof(crt_p), "bad.crt");
	CHECK(tls_selfsigned_create(
		  key_p, crt_p, NULL, bad_ip, errbuf, sizeof(errbuf)) == -1);
	CHECK(strstr(errbuf, "not an IP address") != NULL);
	CHECK(tls_selfsigned_create(
		  key_p, crt_p, NULL, bad_ip6, errbuf, sizeof(errbuf)) == -1);
	CHECK(tls_selfsigned_create(
		  key_p, crt_p, bad_dns, NULL, errbuf, sizeof(errbuf)) == -1);
	CHECK(tls_selfsigned_create(
		  key_p, crt_p, empty_dns, NULL, errbuf, sizeof(errbuf)) == -1);
	/* Nothing was written. */
	CHECK(access(key_p, F_OK) != 0 && access(crt_p, F_OK) != 0);
	/* No SANs at all is allowed. */
	CHECK(tls_selfsigned_create(
		  key_p, crt_p, NULL, NULL, errbuf, sizeof(errbuf)) == 0);
	/* An unwritable path is reported with its name. */
	CHECK(tls_selfsigned_create("/nonexistent/dir/k", crt_p, NULL, NULL,
		  errbuf, sizeof(errbuf)) == -1);
	CHECK(strstr(errbuf, "/nonexistent/dir/k") != NULL);
}

TEST(load_errors)
{
	char key_p[256], crt_p[256], big_p[256], missing[256];
	char *key = (char *)1, *crt = (char *)1, *big;

	CHECK(make_pair(key_p, crt_p, sizeof(key_p)) == 0);
	tmp_path(missing, sizeof(missing), "missing");
	CHECK(
	    tls_load(key_p, missing, &key, &crt, errbuf, sizeof(errbuf)) == -1);
	CHECK(key == NULL && crt == NULL);
	CHECK(strstr(errbuf, "No such file") != NULL);
	CHECK(
	    tls_load(missing, crt_p, &key, &crt, errbuf, sizeof(errbuf)) == -1);
	CHECK(key == NULL && crt == NULL);

	tmp_path(big_p, sizeof(big_p), "big.pem");
	big = calloc(1, TLS_FILE_MAX + 1);
	CHECK(big != NULL);
	memset(big, 'A', TLS_FILE_MAX + 1);
	if (afile_write(big_p, big, TLS_FILE_MAX + 1, 0600) != 0) {
		free(big);
		CHECK(!"afile_write");
	}
	free(big);
	CHECK(tls_load(key_p, big_p, &key, &crt, errbuf, sizeof(errbuf)) == -1);
	CHECK(strstr(errbuf, "larger than") != NULL);
	CHECK(key == NULL && crt == NULL);
}

int
main(void)
{
	tmp_setup("tls_test");
	RUN(create_writes_pem_with_modes);
	RUN(certificate_contents);
	RUN(certificate_as_openssl_sees_it);
	RUN(pin_matches_openssl);
	RUN(pin_rejects_garbage);
	RUN(create_is_fresh_each_time);
	RUN(create_rejects_bad_names);
	RUN(load_errors);
	tmp_cleanup();
	return check_done();
}
