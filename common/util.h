/*
 * util: small helpers every program uses: clocks, bounded number parsing,
 * hex and base64 (through libsodium), and name validation.
 *
 * All functions are thread-safe and allocate nothing.
 */
#ifndef EF_UTIL_H
#define EF_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Wall clock in seconds and monotonic clock in nanoseconds. */
int64_t util_now(void);
uint64_t util_mono_ns(void);

/*
 * Parse a whole decimal string into [min, max].  Returns 0, or -1 when s is
 * empty, has trailing bytes, or is out of range.
 */
int util_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/*
 * A duration: a number with s, m, h, d or w after it, or bare in units of
 * unit_s; min <= the number and the whole at most max_s seconds.  0 with
 * *secs, or -1.
 */
int util_parse_duration(
    const char *s, int64_t unit_s, int64_t min, int64_t max_s, int64_t *secs);
/* A connected stream socket to the Unix socket at path; -1 with errno. */
int util_unix_connect(const char *path);
int util_parse_u64(const char *s, uint64_t max, uint64_t *out);

/*
 * Encoders write a NUL-terminated string and return 0, or -1 when out is
 * too small.  Decoders return the decoded length, or -1 on bad input or
 * when the result does not fit.  Base64 is the standard alphabet with
 * padding (minisign, pins); b64url is URL-safe without padding (tokens).
 */
int util_hex(char *out, size_t outlen, const void *bin, size_t len);
int util_unhex(void *out, size_t outlen, const char *hex);
int util_b64(char *out, size_t outlen, const void *bin, size_t len);
int util_unb64(void *out, size_t outlen, const char *s);
int util_b64url(char *out, size_t outlen, const void *bin, size_t len);
int util_unb64url(void *out, size_t outlen, const char *s);

/*
 * Release versions: [A-Za-z0-9][A-Za-z0-9._+-]{0,63}.  Checked by edge-cp
 * on upload and by the keeper before a version becomes a path.
 */
bool util_version_ok(const char *s);

/* Names of POPs, tokens and the like: [a-z0-9][a-z0-9-]{0,31}. */
bool util_name_ok(const char *s);

/* Copy src into dst (size len), always NUL-terminated.  Returns strlen. */
size_t util_strlcpy(char *dst, const char *src, size_t len);

struct sockaddr;

/*
 * An IPv4 or IPv6 socket address's address, without the port, as text in
 * buf (len >= 46 holds any); "?" for another family.  Returns buf.
 */
const char *util_addr_str(const struct sockaddr *sa, char *buf, size_t len);

#endif
