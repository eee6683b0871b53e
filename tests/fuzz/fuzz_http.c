/*
 * fuzz_http: libFuzzer target for edge-dp's HTTP/1.1 request parser and
 * chunked decoder (dataplane/http.c), the one parser in the project that
 * reads bytes straight from the network.
 *
 * Every input is copied into a buffer of exactly its size, so ASan reports
 * any read past len.  Beyond "no crash" it checks what http.h promises and
 * calls abort() when a promise is broken:
 *   - OK: the head lies inside the buffer and HTTP_MAX_HEAD, every pointer
 *     points into it, the flags agree with each other, and parsing just
 *     the head gives the same result while one byte less is INCOMPLETE;
 *   - INCOMPLETE: only below HTTP_MAX_HEAD, and a prefix is INCOMPLETE too;
 *   - ERROR: the status is one of those documented;
 *   - pipelined requests (Content-Length or chunked bodies) are walked the
 *     way a connection would;
 *   - the whole input fed to http_chunked_feed at once, in two pieces and
 *     byte by byte gives the same result, body and length used.
 *
 * Built with clang -fsanitize=fuzzer by tests/fuzz/run.sh, and replayed
 * without libFuzzer by tests/fuzz/replay.c (tests/integration/fuzz_replay).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                          \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_http: %s:%d: invariant: %s\n",   \
			    __FILE__, __LINE__, #cond);                        \
			abort();                                               \
		}                                                              \
	} while (0)

/* Chunked bodies are only walked this deep into a pipeline. */
#define MAX_PIPELINE 64

static bool
inside(const char *p, size_t n, const char *buf, size_t len)
{
	return p != NULL && p >= buf && n <= len &&
	    p - buf <= (ptrdiff_t)(len - n);
}

static bool
status_documented(int st)
{
	switch (st) {
	case 400:
	case 413:
	case 414:
	case 431:
	case 501:
	case 505:
		return true;
	default:
		return false;
	}
}

static bool
same_request(const struct http_request *a, const struct http_request *b)
{
	size_t i;

	if (a->method != b->method || a->target != b->target ||
	    a->target_len != b->target_len || a->path != b->path ||
	    a->path_len != b->path_len || a->minor != b->minor ||
	    a->nfields != b->nfields || a->head_len != b->head_len ||
	    a->content_length != b->content_length ||
	    a->chunked != b->chunked || a->keep_alive != b->keep_alive ||
	    a->expect_continue != b->expect_continue)
		return false;
	for (i = 0; i < a->nfields; i++)
		if (a->fields[i].name != b->fields[i].name ||
		    a->fields[i].name_len != b->fields[i].name_len ||
		    a->fields[i].value != b->fields[i].value ||
		    a->fields[i].value_len != b->fields[i].value_len)
			return false;
	return true;
}

static void
check_ok(const char *buf, size_t len, const struct http_request *req)
{
	static struct http_request again;
	const struct http_field *f;
	size_t i, k;
	int st = 0;

	REQUIRE(req->head_len > 0 && req->head_len <= len);
	REQUIRE(req->head_len <= HTTP_MAX_HEAD);
	REQUIRE(req->method >= HTTP_GET && req->method <= HTTP_OTHER);
	REQUIRE(inside(req->target, req->target_len, buf, req->head_len));
	REQUIRE(req->target_len > 0 && req->target_len <= HTTP_MAX_TARGET);
	REQUIRE(req->target[0] == '/' ||
	    (req->target_len == 1 && req->target[0] == '*' &&
		req->method == HTTP_OPTIONS));
	REQUIRE(req->path == req->target && req->path_len <= req->target_len);
	REQUIRE(memchr(req->path, '?', req->path_len) == NULL);
	REQUIRE(req->minor == 0 || req->minor == 1);
	REQUIRE(req->nfields <= HTTP_MAX_HEADERS);
	REQUIRE(req->content_length >= -1 &&
	    req->content_length <= (int64_t)HTTP_MAX_BODY);
	REQUIRE(!(req->chunked && req->content_length >= 0));
	REQUIRE(!req->chunked || req->minor == 1);
	REQUIRE(!req->expect_continue || req->minor == 1);
	REQUIRE(
	    buf[req->head_len - 1] == '\n' && buf[req->head_len - 2] == '\r');
	for (i = 0; i < req->nfields; i++) {
		f = &req->fields[i];
		REQUIRE(f->name_len > 0);
		REQUIRE(inside(f->name, f->name_len, buf, req->head_len));
		REQUIRE(inside(f->value, f->value_len, buf, req->head_len));
		REQUIRE(f->value > f->name);
		for (k = 0; k < f->value_len; k++)
			REQUIRE(f->value[k] != '\r' && f->value[k] != '\n' &&
			    f->value[k] != '\0');
		if (f->value_len > 0)
			REQUIRE(f->value[0] != ' ' && f->value[0] != '\t' &&
			    f->value[f->value_len - 1] != ' ' &&
			    f->value[f->value_len - 1] != '\t');
	}
	if (req->nfields > 0) {
		char name[64];
		size_t n = req->fields[0].name_len;

		if (n < sizeof(name)) {
			memcpy(name, req->fields[0].name, n);
			name[n] = '\0';
			REQUIRE(http_field_get(req, name) == &req->fields[0]);
		}
	}
	if (req->minor == 1)
		REQUIRE(http_field_get(req, "host") != NULL);

	/* The head alone decides: the same answer without what follows... */
	REQUIRE(http_parse_request(buf, req->head_len, &again, &st) ==
	    HTTP_PARSE_OK);
	REQUIRE(same_request(req, &again));
	/* ...and one byte short of it is a prefix of a valid request. */
	REQUIRE(http_parse_request(buf, req->head_len - 1, &again, &st) ==
	    HTTP_PARSE_INCOMPLETE);
}

static enum http_parse_rc
parse_checked(const char *buf, size_t len, struct http_request *req)
{
	static struct http_request half;
	enum http_parse_rc rc;
	int st = 0, st2 = 0;

	rc = http_parse_request(buf, len, req, &st);
	switch (rc) {
	case HTTP_PARSE_OK:
		check_ok(buf, len, req);
		break;
	case HTTP_PARSE_INCOMPLETE:
		REQUIRE(len < HTTP_MAX_HEAD);
		REQUIRE(http_parse_request(buf, len / 2, &half, &st2) ==
		    HTTP_PARSE_INCOMPLETE);
		break;
	case HTTP_PARSE_ERROR:
		REQUIRE(status_documented(st));
		REQUIRE(http_reason(st)[0] != '\0');
		break;
	default:
		REQUIRE(!"unknown result");
	}
	return rc;
}

struct fed {
	int rc, status;
	size_t used;    /* input consumed in all */
	size_t out_len; /* decoded body bytes, in out */
};

/*
 * Feed data[0..size) to a fresh decoder: first a piece of first bytes,
 * then pieces of step bytes, each in an exactly-sized buffer as a reader
 * would hand them over.  out gets the decoded body (at most size bytes).
 */
static void
chunked_pieces(const uint8_t *data, size_t size, size_t first, size_t step,
    uint8_t *out, struct fed *r)
{
	struct http_chunked c;
	size_t off = 0, n, consumed, got;
	char *piece;

	memset(&c, 0, sizeof(c));
	memset(r, 0, sizeof(*r));
	n = first;
	for (;;) {
		if (n > size - off)
			n = size - off;
		piece = malloc(n);
		if (n > 0) {
			REQUIRE(piece != NULL);
			memcpy(piece, data + off, n);
		}
		consumed = got = (size_t)-1;
		r->rc = http_chunked_feed(
		    &c, piece, n, &consumed, &got, &r->status);
		REQUIRE(r->rc >= -1 && r->rc <= 1);
		REQUIRE(consumed <= n && got <= consumed);
		if (got > 0)
			memcpy(out + r->out_len, piece, got);
		free(piece);
		r->out_len += got;
		off += consumed;
		REQUIRE(r->out_len <= HTTP_MAX_BODY);
		REQUIRE(c.total <= HTTP_MAX_BODY);
		if (r->rc == -1)
			REQUIRE(r->status == 400 || r->status == 413);
		if (r->rc != 0)
			break;
		REQUIRE(consumed == n); /* 0: all the input was used */
		if (off == size)
			break;
		n = step;
	}
	r->used = off;
}

static void
chunked_splits(const uint8_t *data, size_t size)
{
	struct fed whole, two, bytes;
	uint8_t *out1, *out2;
	size_t cut;

	out1 = malloc(size + 1);
	out2 = malloc(size + 1);
	REQUIRE(out1 != NULL && out2 != NULL);

	chunked_pieces(data, size, size, size, out1, &whole);

	cut = size > 0 ? (size_t)data[0] * 131 % (size + 1) : 0;
	chunked_pieces(data, size, cut, size, out2, &two);
	REQUIRE(two.rc == whole.rc && two.used == whole.used);
	REQUIRE(two.rc != -1 || two.status == whole.status);
	REQUIRE(two.out_len == whole.out_len);
	REQUIRE(memcmp(out1, out2, whole.out_len) == 0);

	/* Byte by byte costs a malloc a byte: only for small inputs. */
	if (size <= 4096) {
		chunked_pieces(data, size, 1, 1, out2, &bytes);
		REQUIRE(bytes.rc == whole.rc && bytes.used == whole.used);
		REQUIRE(bytes.rc != -1 || bytes.status == whole.status);
		REQUIRE(bytes.out_len == whole.out_len);
		REQUIRE(memcmp(out1, out2, whole.out_len) == 0);
	}
	free(out1);
	free(out2);
}

/* Walk the requests one connection would see in these bytes. */
static void
pipeline(const char *buf, size_t size)
{
	static struct http_request req;
	struct fed body;
	size_t off = 0, rest;
	uint8_t *out;
	int n;

	for (n = 0; n < MAX_PIPELINE && off < size; n++) {
		if (parse_checked(buf + off, size - off, &req) != HTTP_PARSE_OK)
			return;
		off += req.head_len;
		rest = size - off;
		if (req.content_length > 0) {
			if ((uint64_t)req.content_length >= rest)
				return;
			off += (size_t)req.content_length;
		} else if (req.chunked) {
			out = malloc(rest + 1);
			REQUIRE(out != NULL);
			chunked_pieces((const uint8_t *)buf + off, rest, rest,
			    rest, out, &body);
			free(out);
			if (body.rc != 1)
				return;
			off += body.used;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size);

	if (size > 0) {
		REQUIRE(buf != NULL);
		memcpy(buf, data, size);
	}
	pipeline(buf, size);
	free(buf);

	chunked_splits(data, size);
	return 0;
}
