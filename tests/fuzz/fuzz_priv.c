/*
 * fuzz_priv: the keeper's privilege-separation wire (common/priv.h), as
 * the privileged part reads it from the unprivileged part: priv_recv over
 * a real socket pair, then the field readers the privileged part uses.
 *
 * Invariants, against the contract: a message is accepted only when its
 * header names a known type and a length within PRIV_MSG_MAX that the
 * bytes after it cover, and then holds exactly those bytes; the readers
 * never read past the end (pos <= len), a string never holds a NUL, and
 * once a reader failed (bad) every later one fails too.
 */
#include <sys/socket.h>
#include <unistd.h>

#include "common/priv.h"
#include "tests/fuzz/fuzz.h"

/* A socket pair's buffer holds this much without a reader. */
#define MAX_INPUT 65536

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct priv_msg m;
	uint32_t hdr[2] = { 0, 0 };
	char s[PRIV_PATH_MAX + 1];
	int sv[2], rc, i;

	if (size > MAX_INPUT)
		size = MAX_INPUT;
	FUZZ_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	FUZZ_REQUIRE(size == 0 || write(sv[0], data, size) == (ssize_t)size);
	close(sv[0]);
	rc = priv_recv(sv[1], &m);
	close(sv[1]);
	if (size >= sizeof(hdr))
		memcpy(hdr, data, sizeof(hdr));
	if (rc != 0) {
		FUZZ_REQUIRE(m.buf == NULL && m.fd < 0);
		return 0;
	}
	FUZZ_REQUIRE(size >= sizeof(hdr));
	FUZZ_REQUIRE(hdr[0] > 0 && hdr[0] < PRIV_TYPE_MAX);
	FUZZ_REQUIRE(hdr[1] <= PRIV_MSG_MAX && hdr[1] <= size - sizeof(hdr));
	FUZZ_REQUIRE(m.type == hdr[0] && m.len == hdr[1] && m.fd < 0);
	FUZZ_REQUIRE(
	    m.len == 0 || memcmp(m.buf, data + sizeof(hdr), m.len) == 0);
	/* Strings, integers, in the order the bytes suggest. */
	for (i = 0; i < 64 && !m.bad; i++) {
		switch (m.len > m.pos ? m.buf[m.pos] % 3 : 0) {
		case 0:
			priv_get_str(&m, s, sizeof(s));
			FUZZ_REQUIRE(m.bad || strlen(s) < sizeof(s));
			break;
		case 1:
			(void)priv_get_u32(&m);
			break;
		default:
			(void)priv_get_i64(&m);
		}
		FUZZ_REQUIRE(m.pos <= m.len);
	}
	if (m.bad) {
		size_t n;

		FUZZ_REQUIRE(priv_get_u32(&m) == 0 && m.bad);
		FUZZ_REQUIRE(priv_get_bytes(&m, 10, &n) == NULL && n == 0);
	}
	priv_msg_clear(&m);
	return 0;
}
