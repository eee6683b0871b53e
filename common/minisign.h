/*
 * minisign: Ed25519 release signatures in minisign's formats, so that a
 * release signed by edge-cp verifies with the stock `minisign -V` and a
 * release signed with `minisign -S` verifies here.  All cryptography is
 * libsodium's; this module only lays out bytes.
 *
 * Formats (all binary blobs are standard base64 with padding, each on one
 * line; "Ed" marks an Ed25519 key, the key id is 8 random bytes):
 *
 *   public key file	untrusted comment: <free text>
 *			base64("Ed" || keyid[8] || pk[32])		42 bytes
 *
 *   secret key file	untrusted comment: <free text>
 *			base64("Ed" || kdf_alg[2] || "B2" || salt[32] ||
 *			    opslimit[8] || memlimit[8] ||
 *			    keyid[8] || sk[64] || chk[32])	158 bytes
 *			kdf_alg is "Sc" (scrypt, password-encrypted, which
 *			we refuse) or two zero bytes (unencrypted, the only
 *			form we read and write).  chk = BLAKE2b-256("Ed" ||
 *			keyid || sk).
 *
 *   signature file	untrusted comment: <free text>
 *			base64(alg[2] || keyid[8] || sig[64])		74 bytes
 *			trusted comment: <text>
 *			base64(global_sig[64])
 *			alg "ED": sig = Ed25519(BLAKE2b-512(data)), what we
 *			make; alg "Ed": sig = Ed25519(data), legacy, only
 *			verified.  global_sig = Ed25519(sig || text), which
 *			is what makes the trusted comment trusted.
 *
 * Key ids are shown the way minisign shows them: the 8 bytes read as a
 * little-endian integer and printed as 16 upper-case hex digits, so the
 * id in our files matches `minisign -V` output byte-reversed from a plain
 * hex dump (see msig_keyid_hex()).
 *
 * Everything here is thread-safe, keeps no state and allocates nothing,
 * except msig_verify_file() on a legacy "Ed" signature (below).  Every
 * function returns 0 or -1; on -1 the caller's err buffer (which may be
 * NULL when errlen is 0) holds one line of text and output buffers hold
 * nothing usable: text outputs are emptied, struct outputs are zeroed.
 * No function ever puts secret material in err.
 *
 * Secrets: struct msig_sec and a secret key file's text belong to the
 * caller, who wipes them (sodium_memzero) when done.  Every copy made here
 * is wiped before returning, on success and failure alike.
 */
#ifndef EF_MINISIGN_H
#define EF_MINISIGN_H

#include <stddef.h>

#define MSIG_KEYIDBYTES 8
#define MSIG_PKBYTES 32 /* crypto_sign_PUBLICKEYBYTES */
#define MSIG_SKBYTES 64 /* crypto_sign_SECRETKEYBYTES */
#define MSIG_KEYIDHEX (MSIG_KEYIDBYTES * 2 + 1)

/* Largest signature text accepted by msig_verify*(), NUL excluded. */
#define MSIG_SIG_MAX 4096
/*
 * Longest trusted comment, NUL excluded, both when signing and when
 * verifying.  A signature text of at most MSIG_SIG_TEXT_MAX bytes (NUL
 * included) holds any comment up to this length.
 */
#define MSIG_TRUSTED_MAX 1024
#define MSIG_SIG_TEXT_MAX 1536
/* Buffer sizes that always suffice for the key file texts. */
#define MSIG_PUB_TEXT_MAX 128
#define MSIG_SEC_TEXT_MAX 320
/*
 * msig_verify_file() on a legacy "Ed" signature must read the whole file,
 * so it refuses larger files; prehashed "ED" signatures have no limit.
 */
#define MSIG_LEGACY_FILE_MAX (64u * 1024 * 1024)

struct msig_pub {
	unsigned char keyid[MSIG_KEYIDBYTES];
	unsigned char pk[MSIG_PKBYTES];
};

struct msig_sec {
	unsigned char keyid[MSIG_KEYIDBYTES];
	unsigned char sk[MSIG_SKBYTES]; /* seed || public key */
};

/*
 * Make a key pair with a random key id.  On failure (libsodium did not
 * initialise) both structs are zeroed.
 */
int msig_keygen(struct msig_pub *pub, struct msig_sec *sec);

/* The public half of a secret key (what `minisign -R` does). */
void msig_sec_pub(const struct msig_sec *sec, struct msig_pub *pub);

/*
 * Write keyid as minisign prints it (see above: upper-case hex without
 * leading zeros) into buf, which needs MSIG_KEYIDHEX bytes.  Returns -1 when it is smaller.
 */
int msig_keyid_hex(
    const unsigned char keyid[MSIG_KEYIDBYTES], char *buf, size_t len);

/*
 * Write the public key file text,
 *	"untrusted comment: edgefleet release key <KEYID>\n<base64>\n",
 * into buf (MSIG_PUB_TEXT_MAX bytes always suffice).  Returns -1 when buf
 * is too small.
 */
int msig_pub_encode(const struct msig_pub *pub, char *buf, size_t len);

/*
 * Parse a public key: either the two-line file (any untrusted comment) or
 * the bare base64 line, each optionally ending in one "\n" or "\r\n".
 * Strict: anything else before or after, a wrong decoded length or an
 * algorithm other than "Ed" is an error.
 */
int msig_pub_decode(
    const char *text, struct msig_pub *out, char *err, size_t errlen);

/*
 * Write an unencrypted secret key file text (kdf_alg zero, salt and limits
 * zero, correct checksum) into buf (MSIG_SEC_TEXT_MAX bytes suffice).  The
 * real minisign signs with it without asking for a password:
 *	minisign -S -s FILE -m DATA </dev/null
 * buf holds a secret afterwards: the caller wipes it.  On failure buf is
 * wiped.
 */
int msig_sec_encode(const struct msig_sec *sec, char *buf, size_t len);

/*
 * Parse a secret key file text (two lines, or the bare base64 line, as for
 * msig_pub_decode()).  Refuses password-encrypted keys (kdf "Sc") with an
 * error saying so and how to remove the password, and refuses a key whose
 * checksum is wrong or whose public half does not match its seed.
 *
 * One deliberate leniency: minisign 0.11 `-G -W` writes unencrypted keys
 * whose checksum is 32 zero bytes.  Such a key is accepted, because the
 * seed-to-public-key check above still catches a corrupted key.
 */
int msig_sec_decode(
    const char *text, struct msig_sec *out, char *err, size_t errlen);

/*
 * Sign data (prehashed, alg "ED") and write the four-line signature file
 * text into out (MSIG_SIG_TEXT_MAX bytes suffice).  trusted_comment is at
 * most MSIG_TRUSTED_MAX bytes with no control characters other than tab
 * (in particular no CR or LF); it may be empty.
 */
int msig_sign(const struct msig_sec *sec, const void *data, size_t len,
    const char *trusted_comment, char *out, size_t outlen, char *err,
    size_t errlen);

/*
 * As msig_sign(), for the file at path, hashed as it is read (any size,
 * constant memory).  Errors include the path and strerror.
 */
int msig_sign_file(const struct msig_sec *sec, const char *path,
    const char *trusted_comment, char *out, size_t outlen, char *err,
    size_t errlen);

/*
 * Verify sig_text (a whole signature file, at most MSIG_SIG_MAX bytes)
 * over data with pub.  Checks, in this order: the text's shape (exactly
 * four lines, the last "\n" optional, "\r\n" accepted, both comment
 * prefixes, exact decoded lengths, alg "ED" or "Ed"), the key id ("signed
 * by another key"), the signature over the data, then the global
 * signature over the trusted comment.  On success the trusted comment is
 * copied to trusted_out (which may be NULL when trusted_len is 0); -1 when
 * it does not fit.  Callers must only act on the trusted comment after a
 * 0 return; on -1 trusted_out is emptied.
 */
int msig_verify(const struct msig_pub *pub, const void *data, size_t len,
    const char *sig_text, char *trusted_out, size_t trusted_len, char *err,
    size_t errlen);

/*
 * The key id a signature text names, after the same checks of its shape
 * as msig_verify() makes; nothing is verified.  For choosing which of
 * several keys to verify with.  On -1 keyid is zeroed.
 */
int msig_sig_keyid(const char *sig_text, unsigned char keyid[MSIG_KEYIDBYTES],
    char *err, size_t errlen);

/*
 * As msig_verify(), for the file at path.  "ED" signatures are checked
 * while streaming the file; a legacy "Ed" signature needs the whole file
 * in memory (freed before returning) and is refused above
 * MSIG_LEGACY_FILE_MAX bytes.
 */
int msig_verify_file(const struct msig_pub *pub, const char *path,
    const char *sig_text, char *trusted_out, size_t trusted_len, char *err,
    size_t errlen);

#endif
