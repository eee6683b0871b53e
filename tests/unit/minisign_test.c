/*
 * minisign_test: key and signature formats, every way a signature must be
 * refused, and interoperability with the real minisign binary (installed
 * by `make deps`), which is run with posix_spawn, never through a shell.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/minisign.h"
#include "common/util.h"
#include "tests/unit/check.h"
#include "tests/unit/tmpdir.h"

#define MINISIGN "/usr/bin/minisign"

extern char **environ;

/*
 * A password-encrypted key made by `minisign -G` (password "pw"); a
 * throwaway used only to check that such keys are refused.  Made once
 * rather than per run because minisign's scrypt parameters cost 1 GiB and
 * seconds.
 */
static const char encrypted_key[] =
    "untrusted comment: minisign encrypted secret key\n"
    "RWRTY0IyibrjlQo6FBXPL1NeHfJdjkvD2W4xlNl2bs5Kp2TnhbIAAAACAAAAAAAAAEAA"
    "AAAAwaCYKto93DajGRCRla9G592OsU3UBqn3rMn0l9MzQcrK22sxyyYmn17OV1ZsCT6a"
    "vXRa9KGRurKH1A/kSYLMduw/yGGGrFiqY539COy9EwUdU8PFH/fCo6Y9GXq0e1RBJx8m"
    "FukrrqI=\n";

static char errbuf[512];

static int
write_str(const char *path, const char *s)
{
	return afile_write(path, s, strlen(s), 0600);
}

/*
 * Run argv[0] with stdin and stdout on /dev/null (stderr is kept, so
 * minisign's complaints land in the test log).  Returns the exit status,
 * or -1 when it could not run or died on a signal.
 */
static int
run(const char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc, status;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
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
have_minisign(void)
{
	if (access(MINISIGN, X_OK) == 0)
		return 1;
	fprintf(stderr,
	    "# %s not found: `make deps` installs it (Debian "
	    "package minisign); the interop tests fail without it\n",
	    MINISIGN);
	return 0;
}

/* Decode the base64 line of a two-line key text into blob. */
static int
key_blob(const char *text, unsigned char *blob, size_t cap)
{
	const char *nl = strchr(text, '\n');
	char line[512];
	size_t n;

	if (nl == NULL)
		return -1;
	n = strcspn(nl + 1, "\n");
	if (n >= sizeof(line))
		return -1;
	memcpy(line, nl + 1, n);
	line[n] = '\0';
	return util_unb64(blob, cap, line);
}

/* The inverse: a two-line key text around blob. */
static void
blob_text(const unsigned char *blob, size_t n, char *out, size_t cap)
{
	char b64[300];

	util_b64(b64, sizeof(b64), blob, n);
	snprintf(out, cap, "untrusted comment: test\n%s\n", b64);
}

/* Replace the first occurrence of from in s (in place; same length). */
static int
patch(char *s, const char *from, const char *to)
{
	char *p = strstr(s, from);

	if (p == NULL || strlen(from) != strlen(to))
		return -1;
	memcpy(p, to, strlen(to));
	return 0;
}

static int
sign_str(const struct msig_sec *sec, const char *data, const char *tc,
    char *out, size_t len)
{
	return msig_sign(
	    sec, data, strlen(data), tc, out, len, errbuf, sizeof(errbuf));
}

static int
verify_str(const struct msig_pub *pub, const char *data, const char *sig,
    char *tc, size_t tclen)
{
	errbuf[0] = '\0';
	return msig_verify(
	    pub, data, strlen(data), sig, tc, tclen, errbuf, sizeof(errbuf));
}

TEST(keyid_hex_is_minisigns)
{
	/* Bytes as stored; minisign prints them as a little-endian u64. */
	const unsigned char id[8] = { 0x25, 0x4e, 0x55, 0x8e, 0xcf, 0x8e, 0xcd,
		0x9d };
	/* minisign's %PRIX64 has no zero padding. */
	const unsigned char small[8] = { 0x25, 0x4e, 0x55, 0x8e, 0xcf, 0x8e,
		0x0d, 0x00 };
	const unsigned char zero[8] = { 0 };
	char buf[MSIG_KEYIDHEX];

	CHECK(msig_keyid_hex(id, buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "9DCD8ECF8E554E25");
	CHECK(msig_keyid_hex(small, buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "D8ECF8E554E25");
	CHECK(msig_keyid_hex(zero, buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "0");
	CHECK(msig_keyid_hex(id, buf, sizeof(buf) - 1) == -1);
}

TEST(pub_roundtrip)
{
	struct msig_pub pub, got;
	struct msig_sec sec;
	char text[MSIG_PUB_TEXT_MAX], id[MSIG_KEYIDHEX], want[64];
	char *nl;

	CHECK(msig_keygen(&pub, &sec) == 0);
	CHECK(memcmp(pub.keyid, sec.keyid, 8) == 0);
	CHECK(msig_pub_encode(&pub, text, sizeof(text)) == 0);
	msig_keyid_hex(pub.keyid, id, sizeof(id));
	snprintf(want, sizeof(want),
	    "untrusted comment: edgefleet release key %s\n", id);
	CHECK(strncmp(text, want, strlen(want)) == 0);
	/* "RW" is base64 of "Ed" and the top of the key id's first byte. */
	CHECK(strncmp(text + strlen(want), "RW", 2) == 0);
	CHECK(text[strlen(text) - 1] == '\n');
	CHECK(msig_pub_decode(text, &got, errbuf, sizeof(errbuf)) == 0);
	CHECK(memcmp(&got, &pub, sizeof(pub)) == 0);

	/* The bare base64 line, with or without "\n" or "\r\n". */
	nl = strchr(text, '\n');
	CHECK(msig_pub_decode(nl + 1, &got, errbuf, sizeof(errbuf)) == 0);
	CHECK(memcmp(&got, &pub, sizeof(pub)) == 0);
	nl[1 + strcspn(nl + 1, "\n")] = '\0';
	CHECK(msig_pub_decode(nl + 1, &got, errbuf, sizeof(errbuf)) == 0);
	CHECK(memcmp(&got, &pub, sizeof(pub)) == 0);
	util_strlcpy(want, nl + 1, sizeof(want));
	snprintf(text, sizeof(text), "untrusted comment: x\r\n%s\r\n", want);
	CHECK(msig_pub_decode(text, &got, errbuf, sizeof(errbuf)) == 0);
	CHECK(memcmp(&got, &pub, sizeof(pub)) == 0);

	/* Too small a buffer fails cleanly. */
	CHECK(msig_pub_encode(&pub, text, 40) == -1);
	CHECK(text[0] == '\0');
	sodium_memzero(&sec, sizeof(sec));
}

TEST(pub_decode_is_strict)
{
	struct msig_pub pub, got;
	struct msig_sec sec;
	unsigned char blob[64];
	char text[MSIG_PUB_TEXT_MAX], bad[512], *nl;
	int n;

	CHECK(msig_keygen(&pub, &sec) == 0);
	sodium_memzero(&sec, sizeof(sec));
	CHECK(msig_pub_encode(&pub, text, sizeof(text)) == 0);
	n = key_blob(text, blob, sizeof(blob));
	CHECK(n == 42);

	/* Wrong algorithm. */
	blob[1] = 'X';
	blob_text(blob, 42, bad, sizeof(bad));
	CHECK(msig_pub_decode(bad, &got, errbuf, sizeof(errbuf)) == -1);
	CHECK(strstr(errbuf, "algorithm") != NULL);
	blob[1] = 'd';
	/* One byte short, one byte long. */
	blob_text(blob, 41, bad, sizeof(bad));
	CHECK(msig_pub_decode(bad, &got, errbuf, sizeof(errbuf)) == -1);
	blob[42] = 0;
	blob_text(blob, 43, bad, sizeof(bad));
	CHECK(msig_pub_decode(bad, &got, errbuf, sizeof(errbuf)) == -1);
	/* A point that is not on the curve (or of small order). */
	memset(blob + 10, 0, 32);
	blob_text(blob, 42, bad, sizeof(bad));
	CHECK(msig_pub_decode(bad, &got, errbuf, sizeof(errbuf)) == -1);

	/* Shapes: extra line, missing key line, no comment prefix, empty. */
	snprintf(bad, sizeof(bad), "%sextra\n", text);
	CHECK(msig_pub_decode(bad, &got, errbuf, sizeof(errbuf)) == -1);
	snprintf(bad, sizeof(bad), "%s\n", text);
	CHECK(msig_pub_decode(bad, &got, errbuf, sizeof(errbuf)) == -1);
	CHECK(msig_pub_decode("untrusted comment: only\n", &got, errbuf,
		  sizeof(errbuf)) == -1);
	CHECK(strstr(errbuf, "missing") != NULL);
	util_strlcpy(bad, text, sizeof(bad));
	CHECK(patch(bad, "untrusted", "Untrusted") == 0);
	CHECK(msig_pub_decode(bad, &got, errbuf, sizeof(errbuf)) == -1);
	CHECK(msig_pub_decode("", &got, errbuf, sizeof(errbuf)) == -1);
	CHECK(msig_pub_decode("\n", &got, errbuf, sizeof(errbuf)) == -1);
	/* Whitespace inside the base64 is not tolerated. */
	util_strlcpy(bad, text, sizeof(bad));
	CHECK((nl = strchr(bad, '\n')) != NULL);
	nl[5] = ' ';
	CHECK(msig_pub_decode(bad, &got, errbuf, sizeof(errbuf)) == -1);
	CHECK(sodium_is_zero((unsigned char *)&got, sizeof(got)));
}

TEST(sec_roundtrip)
{
	struct msig_pub pub, derived;
	struct msig_sec sec, got;
	char text[MSIG_SEC_TEXT_MAX], small[100];

	CHECK(msig_keygen(&pub, &sec) == 0);
	CHECK(msig_sec_encode(&sec, text, sizeof(text)) == 0);
	CHECK(strncmp(text, "untrusted comment: ", 19) == 0);
	CHECK(msig_sec_decode(text, &got, errbuf, sizeof(errbuf)) == 0);
	CHECK(memcmp(&got, &sec, sizeof(sec)) == 0);
	msig_sec_pub(&got, &derived);
	CHECK(memcmp(&derived, &pub, sizeof(pub)) == 0);
	/* A failed encode leaves nothing of the key behind. */
	memset(small, 'x', sizeof(small));
	CHECK(msig_sec_encode(&sec, small, sizeof(small)) == -1);
	CHECK(sodium_is_zero((unsigned char *)small, sizeof(small)));
	sodium_memzero(&sec, sizeof(sec));
	sodium_memzero(&got, sizeof(got));
	sodium_memzero(text, sizeof(text));
}

/* The checksum minisign stores: BLAKE2b-256("Ed" || keyid || sk). */
static void
fix_checksum(unsigned char *blob)
{
	crypto_generichash_state hs;

	crypto_generichash_init(&hs, NULL, 0, 32);
	crypto_generichash_update(&hs, blob, 2);
	crypto_generichash_update(&hs, blob + 54, 8 + 64);
	crypto_generichash_final(&hs, blob + 126, 32);
}

TEST(sec_decode_is_strict)
{
	struct msig_pub pub;
	struct msig_sec sec, got;
	unsigned char blob[200], orig[158];
	char text[MSIG_SEC_TEXT_MAX], bad[512];

	CHECK(msig_keygen(&pub, &sec) == 0);
	CHECK(msig_sec_encode(&sec, text, sizeof(text)) == 0);
	CHECK(key_blob(text, orig, sizeof(orig)) == 158);
	/* Layout: algs, then zero salt and limits, key id at 54. */
	CHECK(memcmp(orig, "Ed\0\0B2", 6) == 0);
	CHECK(sodium_is_zero(orig + 6, 48));
	CHECK(memcmp(orig + 54, sec.keyid, 8) == 0);
	CHECK(memcmp(orig + 62, sec.sk, 64) == 0);

	/* A corrupted checksum. */
	memcpy(blob, orig, 158);
	blob[130] ^= 1;
	blob_text(blob, 158, bad, sizeof(bad));
	CHECK(msig_sec_decode(bad, &got, errbuf, sizeof(errbuf)) == -1);
	CHECK(strstr(errbuf, "checksum") != NULL);
	CHECK(sodium_is_zero((unsigned char *)&got, sizeof(got)));

	/* A corrupted key byte. */
	memcpy(blob, orig, 158);
	blob[70] ^= 1;
	blob_text(blob, 158, bad, sizeof(bad));
	CHECK(msig_sec_decode(bad, &got, errbuf, sizeof(errbuf)) == -1);
	CHECK(strstr(errbuf, "checksum") != NULL);

	/* Corrupted, with a matching checksum: the seed check catches it. */
	fix_checksum(blob);
	blob_text(blob, 158, bad, sizeof(bad));
	CHECK(msig_sec_decode(bad, &got, errbuf, sizeof(errbuf)) == -1);
	CHECK(strstr(errbuf, "does not match") != NULL);

	/* minisign -G -W writes a zero checksum: accepted when sound. */
	memcpy(blob, orig, 158);
	memset(blob + 126, 0, 32);
	blob_text(blob, 158, bad, sizeof(bad));
	CHECK(msig_sec_decode(bad, &got, errbuf, sizeof(errbuf)) == 0);
	CHECK(memcmp(&got, &sec, sizeof(sec)) == 0);
	/* ... but a zero checksum does not excuse a corrupted key. */
	blob[70] ^= 1;
	blob_text(blob, 158, bad, sizeof(bad));
	CHECK(msig_sec_decode(bad, &got, errbuf, sizeof(errbuf)) == -1);

	/* Unknown algorithms, wrong length. */
	memcpy(blob, orig, 158);
	blob[4] = 'X';
	blob_text(blob, 158, bad, sizeof(bad));
	CHECK(msig_sec_decode(bad, &got, errbuf, sizeof(errbuf)) == -1);
	memcpy(blob, orig, 158);
	blob[2] = 'Z';
	blob_text(blob, 158, bad, sizeof(bad));
	CHECK(msig_sec_decode(bad, &got, errbuf, sizeof(errbuf)) == -1);
	memcpy(blob, orig, 158);
	blob_text(blob, 157, bad, sizeof(bad));
	CHECK(msig_sec_decode(bad, &got, errbuf, sizeof(errbuf)) == -1);

	/* Our own key with the scrypt marker: refused, not decrypted. */
	memcpy(blob, orig, 158);
	memcpy(blob + 2, "Sc", 2);
	blob_text(blob, 158, bad, sizeof(bad));
	CHECK(msig_sec_decode(bad, &got, errbuf, sizeof(errbuf)) == -1);
	CHECK(strstr(errbuf, "encrypted") != NULL);
	CHECK(sodium_is_zero((unsigned char *)&got, sizeof(got)));

	sodium_memzero(&sec, sizeof(sec));
	sodium_memzero(blob, sizeof(blob));
	sodium_memzero(orig, sizeof(orig));
	sodium_memzero(bad, sizeof(bad));
	sodium_memzero(text, sizeof(text));
}

TEST(sec_decode_refuses_encrypted_minisign_key)
{
	struct msig_sec got;

	CHECK(
	    msig_sec_decode(encrypted_key, &got, errbuf, sizeof(errbuf)) == -1);
	CHECK(strstr(errbuf, "encrypted with a password") != NULL);
	CHECK(strstr(errbuf, "minisign -C -W") != NULL);
	CHECK(sodium_is_zero((unsigned char *)&got, sizeof(got)));
}

TEST(sign_verify_roundtrip)
{
	struct msig_pub pub;
	struct msig_sec sec;
	char sig[MSIG_SIG_TEXT_MAX], tc[MSIG_TRUSTED_MAX + 1];
	const char *data = "edge-keeper 1.2.3 release tarball";

	CHECK(msig_keygen(&pub, &sec) == 0);
	CHECK(sign_str(&sec, data, "timestamp:1700000000\tfile:x.tar.gz", sig,
		  sizeof(sig)) == 0);
	CHECK(strncmp(sig,
		  "untrusted comment: signature from edgefleet "
		  "release key ",
		  55) == 0);
	/* "RU" is base64 of "E" and the top of "D": prehashed. */
	CHECK(strstr(sig, "\nRU") != NULL);
	CHECK(strstr(sig,
		  "\ntrusted comment: timestamp:1700000000\tfile:"
		  "x.tar.gz\n") != NULL);
	CHECK(verify_str(&pub, data, sig, tc, sizeof(tc)) == 0);
	CHECK_STR(tc, "timestamp:1700000000\tfile:x.tar.gz");
	/* The comment is optional to read back. */
	CHECK(verify_str(&pub, data, sig, NULL, 0) == 0);
	/* Too small a buffer for the comment is an error, not truncation. */
	CHECK(verify_str(&pub, data, sig, tc, 10) == -1);
	CHECK(tc[0] == '\0');

	/* Empty data and an empty trusted comment are fine. */
	CHECK(sign_str(&sec, "", "", sig, sizeof(sig)) == 0);
	CHECK(strstr(sig, "\ntrusted comment: \n") != NULL);
	CHECK(verify_str(&pub, "", sig, tc, sizeof(tc)) == 0);
	CHECK_STR(tc, "");
	sodium_memzero(&sec, sizeof(sec));
}

TEST(verify_refuses_tampering)
{
	struct msig_pub pub;
	struct msig_sec sec;
	char sig[MSIG_SIG_TEXT_MAX], bad[MSIG_SIG_TEXT_MAX], tc[64];

	CHECK(msig_keygen(&pub, &sec) == 0);
	CHECK(
	    sign_str(&sec, "payload", "version:1.0.0", sig, sizeof(sig)) == 0);
	sodium_memzero(&sec, sizeof(sec));

	/* Data. */
	util_strlcpy(tc, "junk", sizeof(tc));
	CHECK(verify_str(&pub, "payloaD", sig, tc, sizeof(tc)) == -1);
	CHECK(strstr(errbuf, "does not match the data") != NULL);
	CHECK(tc[0] == '\0');
	CHECK(verify_str(&pub, "payload ", sig, tc, sizeof(tc)) == -1);

	/* Trusted comment, same length and longer. */
	util_strlcpy(bad, sig, sizeof(bad));
	CHECK(patch(bad, "version:1.0.0", "version:9.0.0") == 0);
	CHECK(verify_str(&pub, "payload", bad, tc, sizeof(tc)) == -1);
	CHECK(strstr(errbuf, "trusted comment") != NULL);
	CHECK(tc[0] == '\0');

	/* The untrusted comment is not covered, by design. */
	util_strlcpy(bad, sig, sizeof(bad));
	CHECK(patch(bad, "signature from", "SIGNATURE FROM") == 0);
	CHECK(verify_str(&pub, "payload", bad, tc, sizeof(tc)) == 0);
	CHECK_STR(tc, "version:1.0.0");
}

TEST(verify_refuses_wrong_key)
{
	struct msig_pub pub, other;
	struct msig_sec sec, osec;
	char sig[MSIG_SIG_TEXT_MAX];

	CHECK(msig_keygen(&pub, &sec) == 0);
	CHECK(msig_keygen(&other, &osec) == 0);
	CHECK(sign_str(&sec, "payload", "c", sig, sizeof(sig)) == 0);

	/* Another key altogether: caught by the key id. */
	CHECK(verify_str(&other, "payload", sig, NULL, 0) == -1);
	CHECK(strstr(errbuf, "signed by another key") != NULL);

	/* Another key posing under the right key id: caught by Ed25519. */
	memcpy(other.keyid, pub.keyid, 8);
	CHECK(verify_str(&other, "payload", sig, NULL, 0) == -1);
	CHECK(strstr(errbuf, "does not match") != NULL);

	/* The right key with a different key id. */
	other = pub;
	other.keyid[0] ^= 1;
	CHECK(verify_str(&other, "payload", sig, NULL, 0) == -1);
	CHECK(strstr(errbuf, "signed by another key") != NULL);
	sodium_memzero(&sec, sizeof(sec));
	sodium_memzero(&osec, sizeof(osec));
}

TEST(verify_refuses_truncation)
{
	struct msig_pub pub;
	struct msig_sec sec;
	char sig[MSIG_SIG_TEXT_MAX], cut[MSIG_SIG_TEXT_MAX];
	size_t n, len;

	CHECK(msig_keygen(&pub, &sec) == 0);
	CHECK(sign_str(&sec, "payload", "c", sig, sizeof(sig)) == 0);
	sodium_memzero(&sec, sizeof(sec));
	len = strlen(sig);
	/* Every prefix fails, except the one missing only the final LF. */
	for (n = 0; n < len; n++) {
		memcpy(cut, sig, n);
		cut[n] = '\0';
		if (n == len - 1)
			CHECK(verify_str(&pub, "payload", cut, NULL, 0) == 0);
		else
			CHECK(verify_str(&pub, "payload", cut, NULL, 0) == -1);
	}
}

TEST(verify_refuses_garbage)
{
	struct msig_pub pub;
	struct msig_sec sec;
	unsigned char rnd[600];
	char sig[MSIG_SIG_TEXT_MAX], bad[8192], b64[1024];
	char *l2, *l4;
	size_t i;

	CHECK(msig_keygen(&pub, &sec) == 0);
	CHECK(sign_str(&sec, "payload", "c", sig, sizeof(sig)) == 0);
	sodium_memzero(&sec, sizeof(sec));

	CHECK(verify_str(&pub, "payload", "", NULL, 0) == -1);
	CHECK(verify_str(&pub, "payload", "\n\n\n\n", NULL, 0) == -1);
	for (i = 0; i < 50; i++) {
		randombytes_buf(rnd, sizeof(rnd));
		rnd[sizeof(rnd) - 1] = '\0';
		CHECK(verify_str(&pub, "payload", (char *)rnd, NULL, 0) == -1);
		util_b64(b64, sizeof(b64), rnd, 74);
		snprintf(bad, sizeof(bad),
		    "untrusted comment: x\n%s\n"
		    "trusted comment: c\n%.88s\n",
		    b64, strrchr(sig, '\n') - 88);
		CHECK(verify_str(&pub, "payload", bad, NULL, 0) == -1);
	}

	/* A fifth line, even an empty one. */
	snprintf(bad, sizeof(bad), "%s\n", sig);
	CHECK(verify_str(&pub, "payload", bad, NULL, 0) == -1);
	CHECK(strstr(errbuf, "exactly 4 lines") != NULL);
	snprintf(bad, sizeof(bad), "%sx\n", sig);
	CHECK(verify_str(&pub, "payload", bad, NULL, 0) == -1);

	/* Each line's prefix. */
	util_strlcpy(bad, sig, sizeof(bad));
	CHECK(patch(bad, "untrusted comment: ", "untrusted_comment: ") == 0);
	CHECK(verify_str(&pub, "payload", bad, NULL, 0) == -1);
	util_strlcpy(bad, sig, sizeof(bad));
	CHECK(patch(bad, "\ntrusted comment: ", "\ntrusted comment  ") == 0);
	CHECK(verify_str(&pub, "payload", bad, NULL, 0) == -1);

	/* The algorithm: "RU" starts "ED", "RV" would start "EP".."E_". */
	util_strlcpy(bad, sig, sizeof(bad));
	CHECK(patch(bad, "\nRU", "\nRV") == 0);
	CHECK(verify_str(&pub, "payload", bad, NULL, 0) == -1);

	/* Line 2 and line 4 one character short, and swapped. */
	util_strlcpy(bad, sig, sizeof(bad));
	l2 = strchr(bad, '\n') + 1;
	memmove(l2 + 3, l2 + 4, strlen(l2 + 4) + 1);
	CHECK(verify_str(&pub, "payload", bad, NULL, 0) == -1);
	util_strlcpy(bad, sig, sizeof(bad));
	l4 = bad + strlen(bad) - 89;
	memmove(l4 + 3, l4 + 4, strlen(l4 + 4) + 1);
	CHECK(verify_str(&pub, "payload", bad, NULL, 0) == -1);

	/* A trusted comment with a control character. */
	util_strlcpy(bad, sig, sizeof(bad));
	*(strstr(bad, "trusted comment: c") + 17) = '\x1b';
	CHECK(verify_str(&pub, "payload", bad, NULL, 0) == -1);
	CHECK(strstr(errbuf, "control") != NULL);

	/*
	 * Size: an untrusted comment may be long, but the whole text may
	 * not exceed 4 KiB.
	 */
	memset(b64, 'u', 1000);
	b64[1000] = '\0';
	snprintf(bad, sizeof(bad), "untrusted comment: %s%s%s%s", b64, b64, b64,
	    strchr(sig, '\n'));
	CHECK(strlen(bad) <= MSIG_SIG_MAX);
	CHECK(verify_str(&pub, "payload", bad, NULL, 0) == 0);
	snprintf(bad, sizeof(bad), "untrusted comment: %s%s%s%s%s", b64, b64,
	    b64, b64, strchr(sig, '\n'));
	CHECK(strlen(bad) > MSIG_SIG_MAX);
	CHECK(verify_str(&pub, "payload", bad, NULL, 0) == -1);
	CHECK(strstr(errbuf, "longer than") != NULL);
}

TEST(sign_checks_trusted_comment)
{
	struct msig_pub pub;
	struct msig_sec sec;
	char sig[MSIG_SIG_TEXT_MAX], tc[MSIG_TRUSTED_MAX + 1];
	char longc[MSIG_TRUSTED_MAX + 2];

	CHECK(msig_keygen(&pub, &sec) == 0);
	util_strlcpy(sig, "junk", sizeof(sig));
	CHECK(sign_str(&sec, "d", "a\nb", sig, sizeof(sig)) == -1);
	CHECK(strstr(errbuf, "line break") != NULL);
	CHECK(sig[0] == '\0');
	CHECK(sign_str(&sec, "d", "a\rb", sig, sizeof(sig)) == -1);
	CHECK(sign_str(&sec, "d",
		  "a\x01"
		  "b",
		  sig, sizeof(sig)) == -1);
	CHECK(sign_str(&sec, "d",
		  "a\x7f"
		  "b",
		  sig, sizeof(sig)) == -1);
	CHECK(msig_sign(&sec, "d", 1, NULL, sig, sizeof(sig), errbuf,
		  sizeof(errbuf)) == -1);

	/* UTF-8 passes through. */
	CHECK(sign_str(&sec, "d",
		  "gr\xc3\xbc\xc3\x9f"
		  "e",
		  sig, sizeof(sig)) == 0);
	CHECK(verify_str(&pub, "d", sig, tc, sizeof(tc)) == 0);
	CHECK_STR(tc,
	    "gr\xc3\xbc\xc3\x9f"
	    "e");

	/* The longest comment fits MSIG_SIG_TEXT_MAX; one more is refused. */
	memset(longc, 'c', sizeof(longc));
	longc[MSIG_TRUSTED_MAX] = '\0';
	CHECK(sign_str(&sec, "d", longc, sig, sizeof(sig)) == 0);
	CHECK(verify_str(&pub, "d", sig, tc, sizeof(tc)) == 0);
	CHECK(strlen(tc) == MSIG_TRUSTED_MAX);
	longc[MSIG_TRUSTED_MAX] = 'c';
	longc[MSIG_TRUSTED_MAX + 1] = '\0';
	CHECK(sign_str(&sec, "d", longc, sig, sizeof(sig)) == -1);
	CHECK(strstr(errbuf, "longer than") != NULL);

	/* Too small an output buffer. */
	CHECK(sign_str(&sec, "d", "c", sig, 200) == -1);
	CHECK(strstr(errbuf, "too small") != NULL);
	CHECK(sig[0] == '\0');
	sodium_memzero(&sec, sizeof(sec));
}

TEST(file_roundtrip)
{
	struct msig_pub pub;
	struct msig_sec sec;
	char sig[MSIG_SIG_TEXT_MAX], sig2[MSIG_SIG_TEXT_MAX], tc[64];
	char path[256], missing[256];
	unsigned char *data;
	size_t len = 3 * 1024 * 1024 + 17;

	CHECK(msig_keygen(&pub, &sec) == 0);
	data = malloc(len);
	CHECK(data != NULL);
	randombytes_buf(data, len);
	tmp_path(path, sizeof(path), "big.bin");
	if (afile_write(path, data, len, 0644) != 0) {
		free(data);
		CHECK(!"afile_write");
	}

	/* Streamed and in-memory signing agree, in both directions. */
	if (msig_sign_file(&sec, path, "f", sig, sizeof(sig), errbuf,
		sizeof(errbuf)) != 0 ||
	    msig_sign(&sec, data, len, "f", sig2, sizeof(sig2), errbuf,
		sizeof(errbuf)) != 0) {
		free(data);
		CHECK(!"sign");
	}
	/* Ed25519 is deterministic, so both texts are the same. */
	CHECK_STR(sig, sig2);
	CHECK(msig_verify(&pub, data, len, sig, tc, sizeof(tc), errbuf,
		  sizeof(errbuf)) == 0);
	data[len - 1] ^= 1;
	CHECK(msig_verify(&pub, data, len, sig, tc, sizeof(tc), errbuf,
		  sizeof(errbuf)) == -1);
	free(data);
	CHECK(msig_verify_file(&pub, path, sig, tc, sizeof(tc), errbuf,
		  sizeof(errbuf)) == 0);
	CHECK_STR(tc, "f");
	CHECK(afile_write(path, "changed", 7, 0644) == 0);
	CHECK(msig_verify_file(&pub, path, sig, tc, sizeof(tc), errbuf,
		  sizeof(errbuf)) == -1);

	tmp_path(missing, sizeof(missing), "missing");
	CHECK(msig_sign_file(&sec, missing, "f", sig, sizeof(sig), errbuf,
		  sizeof(errbuf)) == -1);
	CHECK(strstr(errbuf, "No such file") != NULL);
	CHECK(msig_verify_file(&pub, missing, sig2, tc, sizeof(tc), errbuf,
		  sizeof(errbuf)) == -1);
	CHECK(strstr(errbuf, "No such file") != NULL);
	sodium_memzero(&sec, sizeof(sec));
}

TEST(interop_minisign_verifies_ours)
{
	struct msig_pub pub;
	struct msig_sec sec;
	char sig[MSIG_SIG_TEXT_MAX], ptext[MSIG_PUB_TEXT_MAX];
	char data_p[256], sig_p[256], pub_p[256];

	CHECK(have_minisign());
	CHECK(msig_keygen(&pub, &sec) == 0);
	CHECK(msig_pub_encode(&pub, ptext, sizeof(ptext)) == 0);
	CHECK(
	    write_str(tmp_path(pub_p, sizeof(pub_p), "ours.pub"), ptext) == 0);
	CHECK(write_str(tmp_path(data_p, sizeof(data_p), "data"),
		  "release bytes\n") == 0);
	CHECK(msig_sign_file(&sec, data_p, "timestamp:1\tfile:data", sig,
		  sizeof(sig), errbuf, sizeof(errbuf)) == 0);
	CHECK(write_str(tmp_path(sig_p, sizeof(sig_p), "data.minisig"), sig) ==
	    0);
	sodium_memzero(&sec, sizeof(sec));
	{
		/* -H: minisign must see a prehashed signature. */
		const char *const argv[] = { MINISIGN, "-V", "-H", "-m", data_p,
			"-x", sig_p, "-p", pub_p, NULL };

		CHECK(run(argv) == 0);
		CHECK(write_str(data_p, "release bytes!\n") == 0);
		CHECK(run(argv) == 1);
	}
}

TEST(interop_we_verify_minisign)
{
	struct msig_pub pub;
	struct msig_sec sec;
	char stext[MSIG_SEC_TEXT_MAX], tc[MSIG_TRUSTED_MAX + 1];
	char data_p[256], sig_p[256], key_p[256];
	char *sig;

	CHECK(have_minisign());
	CHECK(msig_keygen(&pub, &sec) == 0);
	CHECK(msig_sec_encode(&sec, stext, sizeof(stext)) == 0);
	sodium_memzero(&sec, sizeof(sec));
	tmp_path(key_p, sizeof(key_p), "ours.key");
	CHECK(write_str(key_p, stext) == 0);
	sodium_memzero(stext, sizeof(stext));
	CHECK(write_str(tmp_path(data_p, sizeof(data_p), "data"),
		  "release bytes\n") == 0);
	tmp_path(sig_p, sizeof(sig_p), "data.minisig");
	{
		const char *const argv[] = { MINISIGN, "-S", "-s", key_p, "-m",
			data_p, "-x", sig_p, "-t", "edgefleet 1.0\tsigned",
			NULL };

		CHECK(run(argv) == 0);
	}
	CHECK(afile_read(sig_p, 8192, &sig, NULL) == 0);
	if (msig_verify_file(&pub, data_p, sig, tc, sizeof(tc), errbuf,
		sizeof(errbuf)) != 0) {
		fprintf(stderr, "# %s\n", errbuf);
		free(sig);
		CHECK(!"verify minisign signature");
	}
	free(sig);
	CHECK_STR(tc, "edgefleet 1.0\tsigned");

	/* Legacy (-l): the "Ed" signature over the data itself. */
	{
		const char *const argv[] = { MINISIGN, "-S", "-l", "-s", key_p,
			"-m", data_p, "-x", sig_p, "-t", "legacy", NULL };

		CHECK(run(argv) == 0);
	}
	CHECK(afile_read(sig_p, 8192, &sig, NULL) == 0);
	if (strstr(sig, "\nRW") == NULL ||
	    msig_verify_file(&pub, data_p, sig, tc, sizeof(tc), errbuf,
		sizeof(errbuf)) != 0 ||
	    msig_verify(&pub, "release bytes\n", 14, sig, tc, sizeof(tc),
		errbuf, sizeof(errbuf)) != 0 ||
	    msig_verify(&pub, "release bytes?", 14, sig, tc, sizeof(tc), errbuf,
		sizeof(errbuf)) != -1) {
		fprintf(stderr, "# %s\n", errbuf);
		free(sig);
		CHECK(!"verify legacy minisign signature");
	}
	free(sig);
	CHECK(msig_verify(&pub, "release bytes\n", 14, "", tc, sizeof(tc),
		  errbuf, sizeof(errbuf)) == -1);
}

TEST(interop_minisign_keys)
{
	struct msig_pub pub, derived;
	struct msig_sec sec;
	char data_p[256], sig_p[256], key_p[256], pub_p[256];
	char sig[MSIG_SIG_TEXT_MAX], *ktext, *ptext;

	CHECK(have_minisign());
	tmp_path(key_p, sizeof(key_p), "theirs.key");
	tmp_path(pub_p, sizeof(pub_p), "theirs.pub");
	{
		const char *const argv[] = { MINISIGN, "-G", "-W", "-p", pub_p,
			"-s", key_p, NULL };

		CHECK(run(argv) == 0);
	}
	CHECK(afile_read(key_p, 4096, &ktext, NULL) == 0);
	if (msig_sec_decode(ktext, &sec, errbuf, sizeof(errbuf)) != 0) {
		fprintf(stderr, "# %s\n", errbuf);
		sodium_memzero(ktext, strlen(ktext));
		free(ktext);
		CHECK(!"decode minisign -G -W key");
	}
	sodium_memzero(ktext, strlen(ktext));
	free(ktext);
	CHECK(afile_read(pub_p, 4096, &ptext, NULL) == 0);
	if (msig_pub_decode(ptext, &pub, errbuf, sizeof(errbuf)) != 0) {
		free(ptext);
		CHECK(!"decode minisign public key");
	}
	/* Their comment shows the key id the way we print it. */
	{
		char id[MSIG_KEYIDHEX];

		msig_keyid_hex(pub.keyid, id, sizeof(id));
		if (strstr(ptext, id) == NULL) {
			free(ptext);
			CHECK(!"key id printed differently from minisign");
		}
	}
	free(ptext);
	msig_sec_pub(&sec, &derived);
	CHECK(memcmp(&derived, &pub, sizeof(pub)) == 0);

	/* Sign with their key here; they verify with their public key. */
	CHECK(write_str(tmp_path(data_p, sizeof(data_p), "data"),
		  "release bytes\n") == 0);
	CHECK(msig_sign_file(&sec, data_p, "x", sig, sizeof(sig), errbuf,
		  sizeof(errbuf)) == 0);
	sodium_memzero(&sec, sizeof(sec));
	CHECK(write_str(tmp_path(sig_p, sizeof(sig_p), "data.minisig"), sig) ==
	    0);
	{
		const char *const argv[] = { MINISIGN, "-V", "-m", data_p, "-x",
			sig_p, "-p", pub_p, NULL };

		CHECK(run(argv) == 0);
	}
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	tmp_setup("minisign_test");
	RUN(keyid_hex_is_minisigns);
	RUN(pub_roundtrip);
	RUN(pub_decode_is_strict);
	RUN(sec_roundtrip);
	RUN(sec_decode_is_strict);
	RUN(sec_decode_refuses_encrypted_minisign_key);
	RUN(sign_verify_roundtrip);
	RUN(verify_refuses_tampering);
	RUN(verify_refuses_wrong_key);
	RUN(verify_refuses_truncation);
	RUN(verify_refuses_garbage);
	RUN(sign_checks_trusted_comment);
	RUN(file_roundtrip);
	RUN(interop_minisign_verifies_ours);
	RUN(interop_we_verify_minisign);
	RUN(interop_minisign_keys);
	tmp_cleanup();
	return check_done();
}
