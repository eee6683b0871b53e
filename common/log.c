#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "edgefleet";
static enum log_level log_min = LOG_INFO;

void
log_init(const char *prog, enum log_level min)
{
	const char *env = getenv("EF_LOG_DEBUG");

	log_prog = prog;
	log_min = min;
	if (env != NULL && env[0] == '1')
		log_min = LOG_DEBUG;
}

static void __attribute__((format(printf, 3, 0)))
log_emit(const char *level, int errnum, const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	r = snprintf(line, sizeof(line),
	    "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s prog=%s ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, level, log_prog);
	n = r > 0 ? (size_t)r : 0;
	if (n < sizeof(line)) {
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		n += r > 0 ? (size_t)r : 0;
	}
	if (errnum != 0 && n < sizeof(line)) {
		r = snprintf(line + n, sizeof(line) - n, " err=\"%s\"",
		    strerror(errnum));
		n += r > 0 ? (size_t)r : 0;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line; a short write to stderr is not worth a loop. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

#define LOG_BODY(level, errnum)                                                \
	do {                                                                   \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_emit(level, errnum, fmt, ap);                              \
		va_end(ap);                                                    \
	} while (0)

void
log_info(const char *fmt, ...)
{
	if (log_min <= LOG_INFO)
		LOG_BODY("info", 0);
}

void
log_warn(const char *fmt, ...)
{
	int e = errno;

	LOG_BODY("warn", e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY("warn", 0);
}

void
log_debug(const char *fmt, ...)
{
	if (log_min <= LOG_DEBUG)
		LOG_BODY("debug", 0);
}

void
fatal(const char *fmt, ...)
{
	int e = errno;

	LOG_BODY("fatal", e);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY("fatal", 0);
	exit(1);
}

const char *
log_quote(char *buf, size_t len, const char *s)
{
	size_t o = 0;

	if (len < 3) {
		if (len > 0)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (; s != NULL && *s != '\0' && o + 3 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f)
			buf[o++] = '?';
		else
			buf[o++] = (char)c;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
