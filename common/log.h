/*
 * log: one logging API for every edgefleet program.
 *
 * Each call writes exactly one line to stderr with a single write(2), so
 * lines from different threads never interleave:
 *
 *	ts=2026-11-24T13:45:01.123Z level=info prog=edge-cp msg="..." k=v ...
 *
 * The format string is the rest of the line and should itself be
 * key=value fields (log_info("event=enrolled node=%s", id)).  Callers never
 * pass tokens, keys, tags or signatures; log_quote() helps with free text.
 *
 * Safe from any thread.  log_init() is called once, before threads start.
 */
#ifndef EF_LOG_H
#define EF_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN };

void log_init(const char *prog, enum log_level min);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Appends err="strerror(errno)". */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up only: log and exit(1).  fatal() appends errno like log_warn(). */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Copy s into buf as a double-quoted log value: quotes, backslashes and
 * control characters are escaped, the result is truncated to fit.  Returns
 * buf, so it can be used inline as a %s argument.
 */
const char *log_quote(char *buf, size_t len, const char *s);

#endif
