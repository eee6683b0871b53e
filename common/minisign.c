#include "common/minisign.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/util.h"

#define MSIG_ALG "Ed"        /* Ed25519 over the data itself */
#define MSIG_ALG_HASHED "ED" /* Ed25519 over BLAKE2b-512(data) */
#define MSIG_KDF_SCRYPT "Sc"
#define MSIG_CHK_ALG "B2"
#define MSIG_UNTRUSTED "untrusted comment: "
#define MSIG_TRUSTED "trusted comment: "

#define MSIG_SIGBYTES 64  /* crypto_sign_BYTES */
#define MSIG_HASHBYTES 64 /* crypto_generichash_BYTES_MAX */
#define MSIG_CHKBYTES 32  /* crypto_generichash_BYTES */
#define MSIG_SALTBYTES 32

/*
 * The binary layouts are described by offsets rather than structs, so no
 * compiler padding question ever arises.
 */
#define MSIG_PUB_LEN (2 + MSIG_KEYIDBYTES + MSIG_PKBYTES)

#define MSIG_SEC_SIGALG 0
#define MSIG_SEC_KDFALG 2
#define MSIG_SEC_CHKALG 4
#define MSIG_SEC_SALT 6
#define MSIG_SEC_OPSLIMIT (MSIG_SEC_SALT + MSIG_SALTBYTES)
#define MSIG_SEC_MEMLIMIT (MSIG_SEC_OPSLIMIT + 8)
#define MSIG_SEC_KEYID (MSIG_SEC_MEMLIMIT + 8)
#define MSIG_SEC_SK (MSIG_SEC_KEYID + MSIG_KEYIDBYTES)
#define MSIG_SEC_CHK (MSIG_SEC_SK + MSIG_SKBYTES)
#define MSIG_SEC_LEN (MSIG_SEC_CHK + MSIG_CHKBYTES)

#define MSIG_SIGBLOB_LEN (2 + MSIG_KEYIDBYTES + MSIG_SIGBYTES)

/* Longest base64 line we decode (the secret key's 158 bytes: 212). */
#define MSIG_B64_MAX 256
/* Longest key file text we parse; minisign's own comment limit is 1 KiB. */
#define MSIG_KEY_TEXT_MAX 4096

struct msig_line {
	const char *p;
	size_t len;
};

/* A signature text, parsed; tc points into the caller's text. */
struct msig_sig {
	int hashed;
	unsigned char keyid[MSIG_KEYIDBYTES];
	unsigned char sig[MSIG_SIGBYTES];
	unsigned char gsig[MSIG_SIGBYTES];
	const char *tc;
	size_t tclen;
};

static int
msig_init(char *err, size_t errlen)
{
	/* Idempotent and thread-safe; picks the fastest implementations. */
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return -1;
	}
	return 0;
}

/*
 * Split text[0..textlen) into at most max lines.  A line ends at "\n", a
 * "\r" just before it is dropped (minisign strips both), and the last line
 * may lack its "\n".  Returns the number of lines, or -1 when there are
 * more than max.
 */
static int
msig_lines(const char *text, size_t textlen, struct msig_line *lines, int max)
{
	const char *p = text, *end = text + textlen;
	int n = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl != NULL ? nl : end) - p);

		if (n == max)
			return -1;
		if (nl != NULL && len > 0 && p[len - 1] == '\r')
			len--;
		lines[n].p = p;
		lines[n].len = len;
		n++;
		p = nl != NULL ? nl + 1 : end;
	}
	return n;
}

static int
msig_has_prefix(const struct msig_line *l, const char *prefix)
{
	size_t n = strlen(prefix);

	return l->len >= n && memcmp(l->p, prefix, n) == 0;
}

/*
 * Decode one base64 line into exactly want bytes.  The NUL-terminated copy
 * may be a secret key's text, so it is wiped.
 */
static int
msig_unb64_line(const struct msig_line *l, unsigned char *out, size_t want)
{
	char tmp[MSIG_B64_MAX];
	int n;

	if (l->len >= sizeof(tmp))
		return -1;
	memcpy(tmp, l->p, l->len);
	tmp[l->len] = '\0';
	n = util_unb64(out, want, tmp);
	sodium_memzero(tmp, sizeof(tmp));
	return n >= 0 && (size_t)n == want ? 0 : -1;
}

/*
 * Trusted comments end up in logs and terminals, and a CR or LF would let
 * one forge a line of the signature file: allow tab as the only control
 * character (minisign's default comment uses tabs).
 */
static int
msig_comment_ok(const char *s, size_t len, char *err, size_t errlen)
{
	size_t i;

	if (len > MSIG_TRUSTED_MAX) {
		snprintf(err, errlen, "trusted comment longer than %d bytes",
		    MSIG_TRUSTED_MAX);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n' || c == '\r') {
			snprintf(err, errlen,
			    "trusted comment contains a line break");
			return -1;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			snprintf(err, errlen,
			    "trusted comment contains a control character");
			return -1;
		}
	}
	return 0;
}

/* BLAKE2b-256(sig_alg || keyid || sk), minisign's secret key checksum. */
static void
msig_checksum(unsigned char out[MSIG_CHKBYTES], const unsigned char *keyid,
    const unsigned char *sk)
{
	crypto_generichash_state hs;

	crypto_generichash_init(&hs, NULL, 0, MSIG_CHKBYTES);
	crypto_generichash_update(&hs, (const unsigned char *)MSIG_ALG, 2);
	crypto_generichash_update(&hs, keyid, MSIG_KEYIDBYTES);
	crypto_generichash_update(&hs, sk, MSIG_SKBYTES);
	crypto_generichash_final(&hs, out, MSIG_CHKBYTES);
	sodium_memzero(&hs, sizeof(hs));
}

int
msig_keyid_hex(
    const unsigned char keyid[MSIG_KEYIDBYTES], char *buf, size_t len)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i;

	if (len < MSIG_KEYIDHEX) {
		if (len > 0)
			buf[0] = '\0';
		return -1;
	}
	/*
	 * minisign prints le64_load(keyid) with %" PRIX64 ": no zero padding,
	 * so one key id in sixteen prints with 15 digits or fewer.
	 */
	for (i = 0; i < MSIG_KEYIDBYTES; i++) {
		unsigned char b = keyid[MSIG_KEYIDBYTES - 1 - i];

		buf[2 * i] = digits[b >> 4];
		buf[2 * i + 1] = digits[b & 0xf];
	}
	buf[2 * MSIG_KEYIDBYTES] = '\0';
	for (i = 0; buf[i] == '0' && buf[i + 1] != '\0'; i++)
		;
	memmove(buf, buf + i, 2 * MSIG_KEYIDBYTES + 1 - i);
	return 0;
}

int
msig_keygen(struct msig_pub *pub, struct msig_sec *sec)
{
	if (sodium_init() < 0)
		goto err;
	randombytes_buf(sec->keyid, sizeof(sec->keyid));
	if (crypto_sign_keypair(pub->pk, sec->sk) != 0)
		goto err;
	memcpy(pub->keyid, sec->keyid, sizeof(pub->keyid));
	return 0;
err:
	sodium_memzero(sec, sizeof(*sec));
	memset(pub, 0, sizeof(*pub));
	return -1;
}

void
msig_sec_pub(const struct msig_sec *sec, struct msig_pub *pub)
{
	memcpy(pub->keyid, sec->keyid, sizeof(pub->keyid));
	crypto_sign_ed25519_sk_to_pk(pub->pk, sec->sk);
}

/*
 * Find the base64 line of a key file text: the two-line file or the bare
 * line.  what names the key in messages.
 */
static int
msig_key_line(const char *text, const char *what, struct msig_line *b64,
    char *err, size_t errlen)
{
	struct msig_line l[2];
	size_t tlen;
	int n;

	tlen = strnlen(text, MSIG_KEY_TEXT_MAX + 1);
	if (tlen > MSIG_KEY_TEXT_MAX) {
		snprintf(err, errlen, "%s: text longer than %d bytes", what,
		    MSIG_KEY_TEXT_MAX);
		return -1;
	}
	n = msig_lines(text, tlen, l, 2);
	if (n < 0) {
		snprintf(
		    err, errlen, "%s: unexpected text after the key", what);
		return -1;
	}
	if (n == 0) {
		snprintf(err, errlen, "%s: empty", what);
		return -1;
	}
	if (n == 2) {
		if (!msig_has_prefix(&l[0], MSIG_UNTRUSTED)) {
			snprintf(err, errlen,
			    "%s: first line must start "
			    "with \"" MSIG_UNTRUSTED "\"",
			    what);
			return -1;
		}
		*b64 = l[1];
		return 0;
	}
	if (msig_has_prefix(&l[0], MSIG_UNTRUSTED)) {
		snprintf(err, errlen, "%s: the key line is missing", what);
		return -1;
	}
	*b64 = l[0];
	return 0;
}

int
msig_pub_encode(const struct msig_pub *pub, char *buf, size_t len)
{
	unsigned char blob[MSIG_PUB_LEN];
	char b64[MSIG_B64_MAX], id[MSIG_KEYIDHEX];
	int n;

	memcpy(blob, MSIG_ALG, 2);
	memcpy(blob + 2, pub->keyid, MSIG_KEYIDBYTES);
	memcpy(blob + 2 + MSIG_KEYIDBYTES, pub->pk, MSIG_PKBYTES);
	if (util_b64(b64, sizeof(b64), blob, sizeof(blob)) != 0 ||
	    msig_keyid_hex(pub->keyid, id, sizeof(id)) != 0)
		goto err;
	n = snprintf(
	    buf, len, MSIG_UNTRUSTED "edgefleet release key %s\n%s\n", id, b64);
	if (n < 0 || (size_t)n >= len)
		goto err;
	return 0;
err:
	if (len > 0)
		buf[0] = '\0';
	return -1;
}

int
msig_pub_decode(
    const char *text, struct msig_pub *out, char *err, size_t errlen)
{
	unsigned char blob[MSIG_PUB_LEN];
	struct msig_line l;

	memset(out, 0, sizeof(*out));
	if (msig_key_line(text, "public key", &l, err, errlen) != 0)
		return -1;
	if (msig_unb64_line(&l, blob, sizeof(blob)) != 0) {
		snprintf(err, errlen, "public key: not base64 of %d bytes",
		    MSIG_PUB_LEN);
		return -1;
	}
	if (memcmp(blob, MSIG_ALG, 2) != 0) {
		snprintf(err, errlen,
		    "public key: unsupported algorithm "
		    "(want Ed25519, \"" MSIG_ALG "\")");
		return -1;
	}
	if (msig_init(err, errlen) != 0)
		return -1;
	/* Catches a corrupted key now rather than as "bad signature". */
	if (crypto_core_ed25519_is_valid_point(blob + 2 + MSIG_KEYIDBYTES) !=
	    1) {
		snprintf(err, errlen, "public key: not a valid Ed25519 key");
		return -1;
	}
	memcpy(out->keyid, blob + 2, MSIG_KEYIDBYTES);
	memcpy(out->pk, blob + 2 + MSIG_KEYIDBYTES, MSIG_PKBYTES);
	return 0;
}

int
msig_sec_encode(const struct msig_sec *sec, char *buf, size_t len)
{
	unsigned char blob[MSIG_SEC_LEN];
	char b64[MSIG_B64_MAX], id[MSIG_KEYIDHEX];
	int n, rc = -1;

	/*
	 * kdf_alg, salt, opslimit and memlimit stay zero: that is how
	 * minisign -W writes an unencrypted key, and what it reads without
	 * asking for a password.
	 */
	memset(blob, 0, sizeof(blob));
	memcpy(blob + MSIG_SEC_SIGALG, MSIG_ALG, 2);
	memcpy(blob + MSIG_SEC_CHKALG, MSIG_CHK_ALG, 2);
	memcpy(blob + MSIG_SEC_KEYID, sec->keyid, MSIG_KEYIDBYTES);
	memcpy(blob + MSIG_SEC_SK, sec->sk, MSIG_SKBYTES);
	msig_checksum(blob + MSIG_SEC_CHK, sec->keyid, sec->sk);
	if (util_b64(b64, sizeof(b64), blob, sizeof(blob)) != 0 ||
	    msig_keyid_hex(sec->keyid, id, sizeof(id)) != 0)
		goto out;
	n = snprintf(buf, len,
	    MSIG_UNTRUSTED
	    "edgefleet release secret key %s (unencrypted)\n%s\n",
	    id, b64);
	if (n < 0 || (size_t)n >= len)
		goto out;
	rc = 0;
out:
	if (rc != 0 && len > 0)
		sodium_memzero(buf, len);
	sodium_memzero(blob, sizeof(blob));
	sodium_memzero(b64, sizeof(b64));
	return rc;
}

int
msig_sec_decode(
    const char *text, struct msig_sec *out, char *err, size_t errlen)
{
	unsigned char blob[MSIG_SEC_LEN], chk[MSIG_CHKBYTES];
	unsigned char pk[MSIG_PKBYTES], sk[MSIG_SKBYTES];
	const unsigned char *kdf;
	struct msig_line l;
	int rc = -1;

	sodium_memzero(out, sizeof(*out));
	memset(blob, 0, sizeof(blob));
	memset(sk, 0, sizeof(sk));
	memset(chk, 0, sizeof(chk));
	if (msig_init(err, errlen) != 0)
		goto out;
	if (msig_key_line(text, "secret key", &l, err, errlen) != 0)
		goto out;
	if (msig_unb64_line(&l, blob, sizeof(blob)) != 0) {
		snprintf(err, errlen, "secret key: not base64 of %d bytes",
		    MSIG_SEC_LEN);
		goto out;
	}
	if (memcmp(blob + MSIG_SEC_SIGALG, MSIG_ALG, 2) != 0) {
		snprintf(err, errlen,
		    "secret key: unsupported algorithm "
		    "(want Ed25519, \"" MSIG_ALG "\")");
		goto out;
	}
	if (memcmp(blob + MSIG_SEC_CHKALG, MSIG_CHK_ALG, 2) != 0) {
		snprintf(err, errlen,
		    "secret key: unsupported checksum "
		    "algorithm (want \"" MSIG_CHK_ALG "\")");
		goto out;
	}
	kdf = blob + MSIG_SEC_KDFALG;
	if (memcmp(kdf, MSIG_KDF_SCRYPT, 2) == 0) {
		snprintf(err, errlen,
		    "secret key is encrypted with a "
		    "password; edgefleet needs an unencrypted key (remove the "
		    "password with: minisign -C -W -s FILE)");
		goto out;
	}
	if (kdf[0] != 0 || kdf[1] != 0) {
		snprintf(err, errlen,
		    "secret key: unsupported key derivation "
		    "function");
		goto out;
	}
	/* All-zero: minisign 0.11 -G -W writes no checksum (see header). */
	msig_checksum(chk, blob + MSIG_SEC_KEYID, blob + MSIG_SEC_SK);
	if (sodium_memcmp(chk, blob + MSIG_SEC_CHK, MSIG_CHKBYTES) != 0 &&
	    !sodium_is_zero(blob + MSIG_SEC_CHK, MSIG_CHKBYTES)) {
		snprintf(err, errlen,
		    "secret key: checksum mismatch "
		    "(corrupted key)");
		goto out;
	}
	/* An Ed25519 secret key is seed || public key: they must agree. */
	if (crypto_sign_seed_keypair(pk, sk, blob + MSIG_SEC_SK) != 0 ||
	    sodium_memcmp(sk, blob + MSIG_SEC_SK, MSIG_SKBYTES) != 0) {
		snprintf(err, errlen,
		    "secret key: public half does not match "
		    "the seed (corrupted key)");
		goto out;
	}
	memcpy(out->keyid, blob + MSIG_SEC_KEYID, MSIG_KEYIDBYTES);
	memcpy(out->sk, blob + MSIG_SEC_SK, MSIG_SKBYTES);
	rc = 0;
out:
	sodium_memzero(blob, sizeof(blob));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(chk, sizeof(chk));
	return rc;
}

/* Sign a BLAKE2b-512 prehash and format the signature file text. */
static int
msig_sign_hash(const struct msig_sec *sec,
    const unsigned char hash[MSIG_HASHBYTES], const char *tc, char *out,
    size_t outlen, char *err, size_t errlen)
{
	unsigned char blob[MSIG_SIGBLOB_LEN], gsig[MSIG_SIGBYTES];
	unsigned char msg[MSIG_SIGBYTES + MSIG_TRUSTED_MAX];
	unsigned char *sig = blob + 2 + MSIG_KEYIDBYTES;
	char b64sig[MSIG_B64_MAX], b64g[MSIG_B64_MAX], id[MSIG_KEYIDHEX];
	size_t tclen = strlen(tc);
	int n;

	memcpy(blob, MSIG_ALG_HASHED, 2);
	memcpy(blob + 2, sec->keyid, MSIG_KEYIDBYTES);
	/* The global signature binds the trusted comment to this one. */
	memcpy(msg + MSIG_SIGBYTES, tc, tclen);
	if (crypto_sign_detached(sig, NULL, hash, MSIG_HASHBYTES, sec->sk) != 0)
		goto fail;
	memcpy(msg, sig, MSIG_SIGBYTES);
	if (crypto_sign_detached(
		gsig, NULL, msg, MSIG_SIGBYTES + tclen, sec->sk) != 0)
		goto fail;
	if (util_b64(b64sig, sizeof(b64sig), blob, sizeof(blob)) != 0 ||
	    util_b64(b64g, sizeof(b64g), gsig, sizeof(gsig)) != 0 ||
	    msig_keyid_hex(sec->keyid, id, sizeof(id)) != 0)
		goto fail;
	n = snprintf(out, outlen,
	    MSIG_UNTRUSTED
	    "signature from edgefleet release key %s\n%s\n" MSIG_TRUSTED
	    "%s\n%s\n",
	    id, b64sig, tc, b64g);
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen,
		    "signature buffer too small (%zu bytes, "
		    "need %d)",
		    outlen, n + 1);
		goto empty;
	}
	return 0;
fail:
	snprintf(err, errlen, "signing failed");
empty:
	if (outlen > 0)
		out[0] = '\0';
	return -1;
}

/* Checks shared by both signing entry points. */
static int
msig_sign_begin(
    const char *tc, char *out, size_t outlen, char *err, size_t errlen)
{
	if (outlen > 0)
		out[0] = '\0';
	if (msig_init(err, errlen) != 0)
		return -1;
	if (tc == NULL) {
		snprintf(err, errlen, "trusted comment missing");
		return -1;
	}
	return msig_comment_ok(
	    tc, strnlen(tc, MSIG_TRUSTED_MAX + 1), err, errlen);
}

int
msig_sign(const struct msig_sec *sec, const void *data, size_t len,
    const char *trusted_comment, char *out, size_t outlen, char *err,
    size_t errlen)
{
	unsigned char hash[MSIG_HASHBYTES];

	if (msig_sign_begin(trusted_comment, out, outlen, err, errlen) != 0)
		return -1;
	crypto_generichash(hash, sizeof(hash), data, len, NULL, 0);
	return msig_sign_hash(
	    sec, hash, trusted_comment, out, outlen, err, errlen);
}

/* BLAKE2b-512 of a file, read in constant memory. */
static int
msig_hash_file(const char *path, unsigned char hash[MSIG_HASHBYTES], char *err,
    size_t errlen)
{
	crypto_generichash_state hs;
	unsigned char buf[16384];
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	crypto_generichash_init(&hs, NULL, 0, MSIG_HASHBYTES);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		crypto_generichash_update(&hs, buf, (size_t)n);
	}
	close(fd);
	crypto_generichash_final(&hs, hash, MSIG_HASHBYTES);
	return 0;
}

int
msig_sign_file(const struct msig_sec *sec, const char *path,
    const char *trusted_comment, char *out, size_t outlen, char *err,
    size_t errlen)
{
	unsigned char hash[MSIG_HASHBYTES];

	if (msig_sign_begin(trusted_comment, out, outlen, err, errlen) != 0)
		return -1;
	if (msig_hash_file(path, hash, err, errlen) != 0)
		return -1;
	return msig_sign_hash(
	    sec, hash, trusted_comment, out, outlen, err, errlen);
}

/* Parse a signature text strictly.  Nothing cryptographic yet. */
static int
msig_sig_parse(const char *text, struct msig_sig *s, char *err, size_t errlen)
{
	unsigned char blob[MSIG_SIGBLOB_LEN];
	struct msig_line l[4];
	size_t tlen, plen = strlen(MSIG_TRUSTED);

	if (msig_init(err, errlen) != 0)
		return -1;
	tlen = strnlen(text, MSIG_SIG_MAX + 1);
	if (tlen > MSIG_SIG_MAX) {
		snprintf(err, errlen, "signature longer than %d bytes",
		    MSIG_SIG_MAX);
		return -1;
	}
	if (msig_lines(text, tlen, l, 4) != 4) {
		snprintf(err, errlen, "signature must have exactly 4 lines");
		return -1;
	}
	if (!msig_has_prefix(&l[0], MSIG_UNTRUSTED)) {
		snprintf(err, errlen,
		    "signature line 1 must start with \"" MSIG_UNTRUSTED "\"");
		return -1;
	}
	if (msig_unb64_line(&l[1], blob, sizeof(blob)) != 0) {
		snprintf(err, errlen,
		    "signature line 2: not base64 of %d "
		    "bytes",
		    MSIG_SIGBLOB_LEN);
		return -1;
	}
	if (memcmp(blob, MSIG_ALG_HASHED, 2) == 0)
		s->hashed = 1;
	else if (memcmp(blob, MSIG_ALG, 2) == 0)
		s->hashed = 0;
	else {
		snprintf(err, errlen, "signature: unsupported algorithm");
		return -1;
	}
	memcpy(s->keyid, blob + 2, MSIG_KEYIDBYTES);
	memcpy(s->sig, blob + 2 + MSIG_KEYIDBYTES, MSIG_SIGBYTES);
	if (!msig_has_prefix(&l[2], MSIG_TRUSTED)) {
		snprintf(err, errlen,
		    "signature line 3 must start with \"" MSIG_TRUSTED "\"");
		return -1;
	}
	s->tc = l[2].p + plen;
	s->tclen = l[2].len - plen;
	if (msig_comment_ok(s->tc, s->tclen, err, errlen) != 0)
		return -1;
	if (msig_unb64_line(&l[3], s->gsig, sizeof(s->gsig)) != 0) {
		snprintf(err, errlen,
		    "signature line 4: not base64 of %d "
		    "bytes",
		    MSIG_SIGBYTES);
		return -1;
	}
	return 0;
}

int
msig_sig_keyid(const char *sig_text, unsigned char keyid[MSIG_KEYIDBYTES],
    char *err, size_t errlen)
{
	struct msig_sig s;

	memset(keyid, 0, MSIG_KEYIDBYTES);
	if (msig_sig_parse(sig_text, &s, err, errlen) != 0)
		return -1;
	memcpy(keyid, s.keyid, MSIG_KEYIDBYTES);
	return 0;
}

/*
 * Parse a signature text strictly and check that it was made by pub's key.
 * Nothing cryptographic yet: that needs the data.
 */
static int
msig_verify_begin(const struct msig_pub *pub, const char *text,
    struct msig_sig *s, char *trusted_out, size_t trusted_len, char *err,
    size_t errlen)
{
	char sid[MSIG_KEYIDHEX], pid[MSIG_KEYIDHEX];

	if (trusted_out != NULL && trusted_len > 0)
		trusted_out[0] = '\0';
	if (msig_sig_parse(text, s, err, errlen) != 0)
		return -1;
	if (memcmp(s->keyid, pub->keyid, MSIG_KEYIDBYTES) != 0) {
		msig_keyid_hex(s->keyid, sid, sizeof(sid));
		msig_keyid_hex(pub->keyid, pid, sizeof(pid));
		snprintf(err, errlen,
		    "signed by another key (signature key "
		    "id %s, public key id %s)",
		    sid, pid);
		return -1;
	}
	return 0;
}

/* msg is the data itself (legacy "Ed") or its BLAKE2b-512 hash ("ED"). */
static int
msig_verify_end(const struct msig_pub *pub, const struct msig_sig *s,
    const unsigned char *msg, size_t msglen, char *trusted_out,
    size_t trusted_len, char *err, size_t errlen)
{
	unsigned char buf[MSIG_SIGBYTES + MSIG_TRUSTED_MAX];

	if (crypto_sign_verify_detached(s->sig, msg, msglen, pub->pk) != 0) {
		snprintf(err, errlen, "signature does not match the data");
		return -1;
	}
	memcpy(buf, s->sig, MSIG_SIGBYTES);
	memcpy(buf + MSIG_SIGBYTES, s->tc, s->tclen);
	if (crypto_sign_verify_detached(
		s->gsig, buf, MSIG_SIGBYTES + s->tclen, pub->pk) != 0) {
		snprintf(err, errlen,
		    "trusted comment signature is invalid "
		    "(comment altered?)");
		return -1;
	}
	if (trusted_out == NULL)
		return 0;
	if (s->tclen >= trusted_len) {
		snprintf(err, errlen,
		    "trusted comment does not fit (%zu "
		    "bytes)",
		    s->tclen);
		return -1;
	}
	memcpy(trusted_out, s->tc, s->tclen);
	trusted_out[s->tclen] = '\0';
	return 0;
}

int
msig_verify(const struct msig_pub *pub, const void *data, size_t len,
    const char *sig_text, char *trusted_out, size_t trusted_len, char *err,
    size_t errlen)
{
	unsigned char hash[MSIG_HASHBYTES];
	struct msig_sig s;

	if (msig_verify_begin(
		pub, sig_text, &s, trusted_out, trusted_len, err, errlen) != 0)
		return -1;
	if (!s.hashed)
		return msig_verify_end(
		    pub, &s, data, len, trusted_out, trusted_len, err, errlen);
	crypto_generichash(hash, sizeof(hash), data, len, NULL, 0);
	return msig_verify_end(
	    pub, &s, hash, sizeof(hash), trusted_out, trusted_len, err, errlen);
}

int
msig_verify_file(const struct msig_pub *pub, const char *path,
    const char *sig_text, char *trusted_out, size_t trusted_len, char *err,
    size_t errlen)
{
	unsigned char hash[MSIG_HASHBYTES];
	struct msig_sig s;
	char *data;
	size_t len;
	int rc;

	if (msig_verify_begin(
		pub, sig_text, &s, trusted_out, trusted_len, err, errlen) != 0)
		return -1;
	if (s.hashed) {
		if (msig_hash_file(path, hash, err, errlen) != 0)
			return -1;
		return msig_verify_end(pub, &s, hash, sizeof(hash), trusted_out,
		    trusted_len, err, errlen);
	}
	if (afile_read(path, MSIG_LEGACY_FILE_MAX, &data, &len) != 0) {
		if (errno == EFBIG)
			snprintf(err, errlen,
			    "%s: larger than %u bytes, too "
			    "big for a legacy (non-prehashed) signature",
			    path, MSIG_LEGACY_FILE_MAX);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = msig_verify_end(pub, &s, (const unsigned char *)data, len,
	    trusted_out, trusted_len, err, errlen);
	free(data);
	return rc;
}
