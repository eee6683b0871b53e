#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int64_t
util_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

uint64_t
util_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int
util_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
util_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

int
util_hex(char *out, size_t outlen, const void *bin, size_t len)
{
	if (outlen < len * 2 + 1)
		return -1;
	sodium_bin2hex(out, outlen, bin, len);
	return 0;
}

int
util_unhex(void *out, size_t outlen, const char *hex)
{
	size_t n;
	const char *end;

	if (sodium_hex2bin(out, outlen, hex, strlen(hex), NULL, &n, &end) !=
		0 ||
	    *end != '\0')
		return -1;
	return (int)n;
}

static int
util_b64_enc(char *out, size_t outlen, const void *bin, size_t len, int var)
{
	if (outlen < sodium_base64_encoded_len(len, var))
		return -1;
	sodium_bin2base64(out, outlen, bin, len, var);
	return 0;
}

static int
util_b64_dec(void *out, size_t outlen, const char *s, int var)
{
	size_t n, i;
	const char *end;

	/*
	 * libsodium 1.0.18 (Debian 12's) decodes every byte above 0x7f as
	 * the alphabet's last digit ('/' or '_'), which would give one value
	 * many spellings and let non-base64 text through: only ASCII may
	 * reach it.
	 */
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] > 0x7f)
			return -1;
	if (sodium_base642bin(out, outlen, s, strlen(s), NULL, &n, &end, var) !=
		0 ||
	    *end != '\0')
		return -1;
	return (int)n;
}

int
util_b64(char *out, size_t outlen, const void *bin, size_t len)
{
	return util_b64_enc(
	    out, outlen, bin, len, sodium_base64_VARIANT_ORIGINAL);
}

int
util_unb64(void *out, size_t outlen, const char *s)
{
	return util_b64_dec(out, outlen, s, sodium_base64_VARIANT_ORIGINAL);
}

int
util_b64url(char *out, size_t outlen, const void *bin, size_t len)
{
	return util_b64_enc(
	    out, outlen, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
util_unb64url(void *out, size_t outlen, const char *s)
{
	return util_b64_dec(
	    out, outlen, s, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool
util_name_ok(const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= 32)
			return false;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (c == '-' && i > 0)
			continue;
		return false;
	}
	return i > 0;
}

size_t
util_strlcpy(char *dst, const char *src, size_t len)
{
	size_t n = strlen(src);

	if (len > 0) {
		size_t c = n < len - 1 ? n : len - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

bool
util_version_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= 64)
			return false;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '+' || c == '-'))
			continue;
		return false;
	}
	return true;
}

const char *
util_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a = NULL;

	if (sa != NULL && sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa != NULL && sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (a == NULL ||
	    inet_ntop(sa->sa_family, a, buf, (socklen_t)len) == NULL)
		util_strlcpy(buf, "?", len);
	return buf;
}

int
util_parse_duration(
    const char *s, int64_t unit_s, int64_t min, int64_t max_s, int64_t *secs)
{
	static const struct {
		char unit;
		int64_t secs;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		{ 'w', 7 * 86400 } };
	char num[24];
	size_t n = strlen(s), i;
	int64_t mul = unit_s, v;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (s[n - 1] == units[i].unit) {
			mul = units[i].secs;
			num[n - 1] = '\0';
		}
	if (util_parse_i64(num, min, max_s / mul, &v) != 0)
		return -1;
	*secs = v * mul;
	return 0;
}

int
util_unix_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, e;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (util_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) >=
	    sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
