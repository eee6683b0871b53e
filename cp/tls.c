#include "cp/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <limits.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/afile.h"
#include "common/util.h"

#define TLS_CN "edge-cp"
#define TLS_SERIAL_BYTES 16
#define TLS_VALID_YEARS 10
#define TLS_BACKDATE 3600 /* seconds: tolerate slow clocks */
#define TLS_DNS_MAX 253

/* gnutls_datum_t has no const flavour; gnutls only reads data here. */
static gnutls_datum_t
tls_datum(const void *p, size_t len)
{
	gnutls_datum_t d;

	d.data = (unsigned char *)(uintptr_t)p;
	d.size = (unsigned int)len;
	return d;
}

static int
tls_dns_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > TLS_DNS_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '.' ||
			c == '*'))
			return 0;
	}
	return 1;
}

/* now + years, calendar-wise (leap days included). */
static time_t
tls_add_years(time_t now, int years)
{
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL)
		return (time_t)-1;
	tm.tm_year += years;
	return timegm(&tm);
}

/* Add every SAN; validates them all, so it runs before anything else. */
static int
tls_set_sans(gnutls_x509_crt_t crt, const char *const *dns_names,
    const char *const *ip_addrs, char *err, size_t errlen)
{
	unsigned char ip[16];
	size_t i, iplen;
	int rc;

	for (i = 0; dns_names != NULL && dns_names[i] != NULL; i++) {
		if (!tls_dns_ok(dns_names[i])) {
			snprintf(err, errlen,
			    "invalid DNS name in "
			    "subjectAltName");
			return -1;
		}
		rc = gnutls_x509_crt_set_subject_alt_name(crt,
		    GNUTLS_SAN_DNSNAME, dns_names[i],
		    (unsigned int)strlen(dns_names[i]), GNUTLS_FSAN_APPEND);
		if (rc < 0) {
			snprintf(err, errlen, "subjectAltName %s: %s",
			    dns_names[i], gnutls_strerror(rc));
			return -1;
		}
	}
	for (i = 0; ip_addrs != NULL && ip_addrs[i] != NULL; i++) {
		/* SAN iPAddress holds the 4 or 16 raw bytes. */
		if (inet_pton(AF_INET, ip_addrs[i], ip) == 1)
			iplen = 4;
		else if (inet_pton(AF_INET6, ip_addrs[i], ip) == 1)
			iplen = 16;
		else {
			snprintf(err, errlen, "not an IP address: \"%.64s\"",
			    ip_addrs[i]);
			return -1;
		}
		rc = gnutls_x509_crt_set_subject_alt_name(crt,
		    GNUTLS_SAN_IPADDRESS, ip, (unsigned int)iplen,
		    GNUTLS_FSAN_APPEND);
		if (rc < 0) {
			snprintf(err, errlen, "subjectAltName %s: %s",
			    ip_addrs[i], gnutls_strerror(rc));
			return -1;
		}
	}
	return 0;
}

int
tls_selfsigned_create(const char *key_path, const char *crt_path,
    const char *const *dns_names, const char *const *ip_addrs, char *err,
    size_t errlen)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t kpem = { NULL, 0 }, cpem = { NULL, 0 };
	unsigned char serial[TLS_SERIAL_BYTES], keyid[64];
	size_t keyidlen = sizeof(keyid);
	time_t now = (time_t)util_now(), until;
	const char *what;
	int rc, ret = -1;

	if ((rc = gnutls_x509_crt_init(&crt)) < 0) {
		what = "certificate init";
		goto gnutls_err;
	}
	/* First, so a bad name or address fails before any key work. */
	if (tls_set_sans(crt, dns_names, ip_addrs, err, errlen) != 0)
		goto out;
	if ((rc = gnutls_x509_privkey_init(&key)) < 0 ||
	    (rc = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
		 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0) {
		what = "ECDSA P-256 key generation";
		goto gnutls_err;
	}
	/*
	 * RFC 5280 wants a positive serial of at most 20 bytes: clear the
	 * sign bit, and set the next one so the DER integer keeps all 16
	 * bytes (no leading zero octet to strip).
	 */
	if ((rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0) {
		what = "random serial";
		goto gnutls_err;
	}
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40);
	until = tls_add_years(now, TLS_VALID_YEARS);
	if (until == (time_t)-1) {
		snprintf(err, errlen, "cannot compute the expiry date");
		goto out;
	}
	what = "certificate fields";
	if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) <
		0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(crt,
		 GNUTLS_OID_X520_COMMON_NAME, 0, TLS_CN,
		 (unsigned int)strlen(TLS_CN))) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(
		 crt, now - TLS_BACKDATE)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(crt, until)) < 0 ||
	    (rc = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(
		 crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_purpose_oid(
		 crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (rc = gnutls_x509_privkey_get_key_id(
		 key, GNUTLS_KEYID_USE_SHA1, keyid, &keyidlen)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(crt, keyid, keyidlen)) < 0)
		goto gnutls_err;
	if ((rc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) <
	    0) {
		what = "self-signing";
		goto gnutls_err;
	}
	if ((rc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM,
		 NULL, GNUTLS_PKCS_PLAIN, &kpem)) < 0 ||
	    (rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cpem)) <
		0) {
		what = "PEM export";
		goto gnutls_err;
	}
	if (afile_write(key_path, kpem.data, kpem.size, 0600) != 0) {
		snprintf(err, errlen, "%s: %s", key_path, strerror(errno));
		goto out;
	}
	if (afile_write(crt_path, cpem.data, cpem.size, 0644) != 0) {
		snprintf(err, errlen, "%s: %s", crt_path, strerror(errno));
		goto out;
	}
	ret = 0;
	goto out;
gnutls_err:
	snprintf(err, errlen, "%s: %s", what, gnutls_strerror(rc));
out:
	if (kpem.data != NULL) {
		sodium_memzero(kpem.data, kpem.size);
		gnutls_free(kpem.data);
	}
	gnutls_free(cpem.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	/* Wipes the key material (gnutls zeroizes bignums on release). */
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return ret;
}

int
tls_pin_from_cert(const char *pem, size_t len, char *pin, size_t pinlen,
    char *err, size_t errlen)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t in, spki = { NULL, 0 };
	unsigned char hash[32];
	char b64[64];
	const char *what;
	int rc, ret = -1;

	if (pinlen > 0)
		pin[0] = '\0';
	if (len == 0 || len > TLS_FILE_MAX) {
		snprintf(err, errlen, "certificate: %s",
		    len == 0 ? "empty" : "too large");
		return -1;
	}
	in = tls_datum(pem, len);
	if ((rc = gnutls_x509_crt_init(&crt)) < 0 ||
	    (rc = gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_PEM)) < 0) {
		what = "certificate";
		goto gnutls_err;
	}
	/* The DER SubjectPublicKeyInfo is what curl hashes. */
	if ((rc = gnutls_pubkey_init(&pub)) < 0 ||
	    (rc = gnutls_pubkey_import_x509(pub, crt, 0)) < 0 ||
	    (rc = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki)) < 0) {
		what = "certificate public key";
		goto gnutls_err;
	}
	if ((rc = gnutls_hash_fast(
		 GNUTLS_DIG_SHA256, spki.data, spki.size, hash)) < 0) {
		what = "SHA-256";
		goto gnutls_err;
	}
	if (util_b64(b64, sizeof(b64), hash, sizeof(hash)) != 0 ||
	    (size_t)snprintf(pin, pinlen, "sha256//%s", b64) >= pinlen) {
		snprintf(err, errlen, "pin buffer too small");
		if (pinlen > 0)
			pin[0] = '\0';
		goto out;
	}
	ret = 0;
	goto out;
gnutls_err:
	snprintf(err, errlen, "%s: %s", what, gnutls_strerror(rc));
out:
	gnutls_free(spki.data);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return ret;
}

static int
tls_read(const char *path, char **out, char *err, size_t errlen)
{
	if (afile_read(path, TLS_FILE_MAX, out, NULL) == 0)
		return 0;
	if (errno == EFBIG)
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    TLS_FILE_MAX);
	else
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return -1;
}

int
tls_load(const char *key_path, const char *crt_path, char **key_pem,
    char **crt_pem, char *err, size_t errlen)
{
	*key_pem = NULL;
	*crt_pem = NULL;
	if (tls_read(key_path, key_pem, err, errlen) != 0)
		return -1;
	if (tls_read(crt_path, crt_pem, err, errlen) != 0) {
		sodium_memzero(*key_pem, strlen(*key_pem));
		free(*key_pem);
		*key_pem = NULL;
		return -1;
	}
	return 0;
}
