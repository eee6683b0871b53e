/*
 * fuzz.h: what the libFuzzer targets in tests/fuzz/ share.
 *
 * Each target is one fuzz_NAME.c defining LLVMFuzzerTestOneInput (and,
 * when it needs set-up, LLVMFuzzerInitialize, which libFuzzer calls once
 * and tests/fuzz/replay.c calls in each child before its input).  A
 * broken invariant prints where and what, then traps, so libFuzzer keeps
 * the input as a crash and the replay names it.
 */
#ifndef EF_FUZZ_H
#define EF_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_REQUIRE(cond)                                                     \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant: %s\n", __FILE__,    \
			    __LINE__, #cond);                                  \
			__builtin_trap();                                      \
		}                                                              \
	} while (0)

/*
 * The input as a C string in a buffer of exactly size + 1 bytes, so ASan
 * sees any read past its end.  An input with a NUL byte reads as the text
 * before it, as it would through any C-string interface.  Never NULL.
 */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	FUZZ_REQUIRE(s != NULL);
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* The input in a buffer of exactly its size (one byte when empty). */
static inline char *
fuzz_copy(const uint8_t *data, size_t size)
{
	char *s = malloc(size > 0 ? size : 1);

	FUZZ_REQUIRE(s != NULL);
	if (size > 0)
		memcpy(s, data, size);
	return s;
}

#endif
