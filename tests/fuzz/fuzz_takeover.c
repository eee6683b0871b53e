/*
 * fuzz_takeover: the line reader of edge-dp's control socket
 * (dataplane/takeover.c: takeover_recv), through which every control
 * message ("status", "TAKEOVER <proto> <pid> <version>", and the
 * handover's "L", "l", "READY", "C", "DONE") arrives, and the parser of
 * the "C" records (takeover_conn_parse).  The input is what the peer
 * writes, over a real socket pair, read line after line until the reader
 * refuses.
 *
 * Invariants, against a model of the contract (takeover.h): each line
 * returned is exactly the next bytes up to a newline, without it, and
 * fits the buffer with its NUL; the reader consumes no byte past that
 * newline; it refuses exactly when no newline is left or the next line
 * does not fit; no descriptor is ever reported when none was sent.  A
 * record the parser accepts, in either protocol, is within its limits
 * and is exactly what takeover_conn_format() writes for what was parsed:
 * the parser takes one spelling of each record, no other.
 */
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/takeover.h"
#include "tests/fuzz/fuzz.h"

/* A socket pair's buffer holds this much without a reader. */
#define MAX_INPUT 65536

static void
check_record(const char *line)
{
	struct takeover_conn tc;
	char again[TAKEOVER_LINE_MAX];
	int proto;

	for (proto = 1; proto <= TAKEOVER_PROTO; proto++) {
		if (takeover_conn_parse(line, proto, &tc) != 0)
			continue;
		FUZZ_REQUIRE(tc.len <= TAKEOVER_CONN_MAX);
		FUZZ_REQUIRE(
		    tc.age_ms >= 0 && tc.age_ms <= TAKEOVER_AGE_MAX_MS);
		FUZZ_REQUIRE(takeover_conn_format(
				 again, sizeof(again), proto, &tc) == 0);
		FUZZ_REQUIRE(strcmp(again, line) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[TAKEOVER_LINE_MAX];
	const uint8_t *nl;
	size_t off = 0, nfds, len;
	int sv[2], fd, rc;

	if (size > MAX_INPUT)
		size = MAX_INPUT;
	FUZZ_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	FUZZ_REQUIRE(size == 0 || write(sv[0], data, size) == (ssize_t)size);
	close(sv[0]);
	for (;;) {
		nfds = 99;
		rc = takeover_recv(sv[1], line, sizeof(line), &fd, 1, &nfds);
		nl = off < size ? memchr(data + off, '\n', size - off) : NULL;
		len = nl != NULL ? (size_t)(nl - (data + off)) : 0;
		if (rc != 0) {
			FUZZ_REQUIRE(nfds == 0);
			FUZZ_REQUIRE(nl == NULL || len >= sizeof(line));
			break;
		}
		FUZZ_REQUIRE(nfds == 0);
		FUZZ_REQUIRE(nl != NULL && len < sizeof(line));
		FUZZ_REQUIRE(memcmp(line, data + off, len) == 0);
		FUZZ_REQUIRE(line[len] == '\0');
		check_record(line);
		off += len + 1;
	}
	close(sv[1]);
	return 0;
}
