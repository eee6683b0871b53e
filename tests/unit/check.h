/*
 * check: the unit-test harness.  Each *_test.c defines its tests with
 * TEST(name) { ... }, lists them in main() with RUN(name), and ends with
 * return check_done().  Output is TAP-like, one line per test:
 *
 *	ok 3 - store_enroll_once
 *	not ok 4 - store_migrate  (store_test.c:88: n == 2)
 *
 * tests/run.sh counts these lines.  CHECK() records a failure and returns
 * from the test, so a test stops at its first failed check.
 */
#ifndef EF_CHECK_H
#define EF_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_n, check_failed, check_cur_failed;
static char check_msg[512];

#define TEST(name) static void name(void)

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			snprintf(check_msg, sizeof(check_msg), "%s:%d: %s",   \
			    __FILE__, __LINE__, #cond);                       \
			check_cur_failed = 1;                                 \
			return;                                               \
		}                                                             \
	} while (0)

#define CHECK_STR(a, b)                                                       \
	do {                                                                  \
		const char *check_a_ = (a), *check_b_ = (b);                  \
		if (check_a_ == NULL || check_b_ == NULL ||                   \
		    strcmp(check_a_, check_b_) != 0) {                        \
			snprintf(check_msg, sizeof(check_msg),                \
			    "%s:%d: \"%.200s\" != \"%.200s\"", __FILE__,      \
			    __LINE__, check_a_ ? check_a_ : "(null)",         \
			    check_b_ ? check_b_ : "(null)");                  \
			check_cur_failed = 1;                                 \
			return;                                               \
		}                                                             \
	} while (0)

#define RUN(name)                                                             \
	do {                                                                  \
		check_cur_failed = 0;                                         \
		check_msg[0] = '\0';                                          \
		name();                                                       \
		check_n++;                                                    \
		if (check_cur_failed) {                                       \
			check_failed++;                                       \
			printf("not ok %d - %s  (%s)\n", check_n, #name,      \
			    check_msg);                                       \
		} else                                                        \
			printf("ok %d - %s\n", check_n, #name);               \
		fflush(stdout);                                               \
	} while (0)

static inline int
check_done(void)
{
	printf("1..%d\n", check_n);
	return check_failed ? 1 : 0;
}

#endif
