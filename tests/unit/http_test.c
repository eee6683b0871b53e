/*
 * Unit tests of dataplane/http: request heads, the smuggling shapes, the
 * limits, the chunked decoder across splits, dates and reason phrases.
 *
 * http.c belongs to edge-dp, and the unit-test rule in the Makefile links
 * the cp, keeper, steps and common archives but no dataplane objects yet.
 * So this one test includes the module's source and is a single
 * translation unit; once the Makefile grows a libdp.a this include
 * becomes #include "dataplane/http.h".
 */
#include "dataplane/http.c"

#include <stdlib.h>

#include "check.h"

/* A string literal with its length, so tests can hold NUL bytes. */
#define S(lit) (lit), (sizeof(lit) - 1)

static struct http_request hr;

static enum http_parse_rc
parse_n(const char *s, size_t n, int *status)
{
	*status = 0;
	return http_parse_request(s, n, &hr, status);
}

/* The status of a request that must fail, or 0 when it does not fail. */
static int
error_of(const char *s, size_t n)
{
	int st;

	if (parse_n(s, n, &st) != HTTP_PARSE_ERROR)
		return 0;
	return st;
}

static bool
span_is(const char *p, size_t n, const char *want)
{
	return p != NULL && strlen(want) == n && memcmp(p, want, n) == 0;
}

static bool
field_is(const char *name, const char *want)
{
	const struct http_field *f = http_field_get(&hr, name);

	return f != NULL && span_is(f->value, f->value_len, want);
}

TEST(get_simple)
{
	static const char r[] = "GET /index.html HTTP/1.1\r\n"
				"Host: example.com\r\n"
				"User-Agent: t/1\r\n\r\n";
	int st;

	CHECK(parse_n(S(r), &st) == HTTP_PARSE_OK);
	CHECK(hr.method == HTTP_GET);
	CHECK(span_is(hr.target, hr.target_len, "/index.html"));
	CHECK(span_is(hr.path, hr.path_len, "/index.html"));
	CHECK(hr.minor == 1);
	CHECK(hr.nfields == 2);
	CHECK(hr.head_len == sizeof(r) - 1);
	CHECK(hr.content_length == -1);
	CHECK(!hr.chunked);
	CHECK(hr.keep_alive);
	CHECK(!hr.expect_continue);
	CHECK(field_is("host", "example.com"));
	CHECK(field_is("USER-AGENT", "t/1"));
	CHECK(http_field_get(&hr, "user-agen") == NULL);
	CHECK(http_field_get(&hr, "user-agent2") == NULL);
}

TEST(head_with_query)
{
	static const char r[] = "HEAD /a/b;p=1?x=1&y=%2F/?z HTTP/1.1\r\n"
				"Host: h:8080\r\n\r\n";
	int st;

	CHECK(parse_n(S(r), &st) == HTTP_PARSE_OK);
	CHECK(hr.method == HTTP_HEAD);
	CHECK(span_is(hr.target, hr.target_len, "/a/b;p=1?x=1&y=%2F/?z"));
	CHECK(span_is(hr.path, hr.path_len, "/a/b;p=1"));
}

TEST(methods)
{
	static const struct {
		const char *line;
		enum http_method m;
	} t[] = {
		{ "GET / HTTP/1.0\r\n\r\n", HTTP_GET },
		{ "HEAD / HTTP/1.0\r\n\r\n", HTTP_HEAD },
		{ "POST / HTTP/1.0\r\n\r\n", HTTP_POST },
		{ "PUT / HTTP/1.0\r\n\r\n", HTTP_PUT },
		{ "DELETE / HTTP/1.0\r\n\r\n", HTTP_DELETE },
		{ "OPTIONS / HTTP/1.0\r\n\r\n", HTTP_OPTIONS },
		{ "PATCH / HTTP/1.0\r\n\r\n", HTTP_OTHER },
		{ "get / HTTP/1.0\r\n\r\n", HTTP_OTHER }, /* case-sensitive */
		{ "GETS / HTTP/1.0\r\n\r\n", HTTP_OTHER },
		{ "M-SEARCH / HTTP/1.0\r\n\r\n", HTTP_OTHER },
	};
	size_t i;
	int st;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK(parse_n(t[i].line, strlen(t[i].line), &st) ==
		    HTTP_PARSE_OK);
		CHECK(hr.method == t[i].m);
		CHECK(hr.minor == 0);
	}
}

TEST(options_star)
{
	int st;

	CHECK(parse_n(S("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), &st) ==
	    HTTP_PARSE_OK);
	CHECK(span_is(hr.target, hr.target_len, "*"));
	CHECK(span_is(hr.path, hr.path_len, "*"));
	CHECK(error_of(S("GET * HTTP/1.1\r\nHost: h\r\n\r\n")) == 400);
	CHECK(error_of(S("OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n")) == 400);
	CHECK(error_of(S("OPTIONS ** HTTP/1.1\r\nHost: h\r\n\r\n")) == 400);
}

TEST(pipelined)
{
	static const char r[] = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
				"POST /two HTTP/1.1\r\nHost: a\r\n"
				"Content-Length: 5\r\n\r\nhello"
				"HEAD /three HTTP/1.1\r\nHost: a\r\n"
				"Connection: close\r\n\r\n";
	size_t off = 0, n = sizeof(r) - 1;
	int st;

	CHECK(parse_n(r + off, n - off, &st) == HTTP_PARSE_OK);
	CHECK(hr.method == HTTP_GET);
	CHECK(span_is(hr.path, hr.path_len, "/one"));
	CHECK(hr.keep_alive);
	off += hr.head_len;

	CHECK(parse_n(r + off, n - off, &st) == HTTP_PARSE_OK);
	CHECK(hr.method == HTTP_POST);
	CHECK(span_is(hr.path, hr.path_len, "/two"));
	CHECK(hr.content_length == 5);
	CHECK(memcmp(r + off + hr.head_len, "hello", 5) == 0);
	off += hr.head_len + 5;

	CHECK(parse_n(r + off, n - off, &st) == HTTP_PARSE_OK);
	CHECK(hr.method == HTTP_HEAD);
	CHECK(span_is(hr.path, hr.path_len, "/three"));
	CHECK(!hr.keep_alive);
	off += hr.head_len;
	CHECK(off == n);
	CHECK(parse_n(r + off, n - off, &st) == HTTP_PARSE_INCOMPLETE);
}

TEST(leading_empty_lines)
{
	static const char r[] = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
	int st;

	CHECK(parse_n(S(r), &st) == HTTP_PARSE_OK);
	CHECK(hr.head_len == sizeof(r) - 1);
	CHECK(span_is(hr.target, hr.target_len, "/"));
	CHECK(error_of(S("\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")) == 400);
	CHECK(error_of(S("\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n")) == 400);
}

TEST(field_values_trimmed)
{
	int st;

	CHECK(parse_n(S("GET / HTTP/1.1\r\nHost: a\r\n"
			"X-A: \t v  a \t \r\n"
			"X-Empty:\r\n"
			"X-Blank:   \r\n"
			"X-Obs: caf\xc3\xa9\r\n\r\n"),
		  &st) == HTTP_PARSE_OK);
	CHECK(field_is("x-a", "v  a"));
	CHECK(field_is("x-empty", ""));
	CHECK(field_is("x-blank", ""));
	CHECK(field_is("x-obs", "caf\xc3\xa9"));
	CHECK(hr.nfields == 5);
}

TEST(keep_alive_rules)
{
	int st;

	CHECK(parse_n(S("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), &st) == 0);
	CHECK(hr.keep_alive);
	CHECK(parse_n(S("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
			"\r\n"),
		  &st) == 0);
	CHECK(!hr.keep_alive);
	CHECK(parse_n(S("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive,"
			" CLOSE\r\n\r\n"),
		  &st) == 0);
	CHECK(!hr.keep_alive);
	CHECK(parse_n(S("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed, "
			"x-close\r\n\r\n"),
		  &st) == 0);
	CHECK(hr.keep_alive);
	CHECK(parse_n(S("GET / HTTP/1.0\r\n\r\n"), &st) == 0);
	CHECK(!hr.keep_alive);
	CHECK(parse_n(S("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
		  &st) == 0);
	CHECK(hr.keep_alive);
	CHECK(parse_n(S("GET / HTTP/1.0\r\nConnection: foo,,  Keep-Alive \r\n"
			"\r\n"),
		  &st) == 0);
	CHECK(hr.keep_alive);
	CHECK(parse_n(S("GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
			"Connection: close\r\n\r\n"),
		  &st) == 0);
	CHECK(!hr.keep_alive);
}

TEST(expect_continue)
{
	int st;

	CHECK(parse_n(S("PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
			"Expect: 100-Continue\r\n\r\n"),
		  &st) == 0);
	CHECK(hr.expect_continue);
	CHECK(parse_n(S("PUT /f HTTP/1.0\r\nContent-Length: 3\r\n"
			"Expect: 100-continue\r\n\r\n"),
		  &st) == 0);
	CHECK(!hr.expect_continue);
	CHECK(parse_n(S("PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
			"Expect: 200-ok\r\n\r\n"),
		  &st) == 0);
	CHECK(!hr.expect_continue);
}

TEST(content_length_values)
{
	static const struct {
		const char *h; /* the Content-Length field lines */
		int64_t cl;    /* >= 0: accepted with this value */
		int status;    /* otherwise this error */
	} t[] = {
		{ "Content-Length: 5\r\n", 5, 0 },
		{ "Content-Length: 0\r\n", 0, 0 },
		{ "Content-Length: 5, 5\r\n", 5, 0 },
		{ "Content-Length: 5,5 ,  5\r\n", 5, 0 },
		{ "Content-Length: 5,05\r\n", 5, 0 },
		{ "Content-Length: 5\r\ncontent-length: 5\r\n", 5, 0 },
		{ "Content-Length: 1048576\r\n", 1048576, 0 },
		{ "Content-Length: 0001048576\r\n", 1048576, 0 },
		{ "Content-Length: 1048577\r\n", -1, 413 },
		{ "Content-Length: 99999999999999999999999999\r\n", -1, 413 },
		{ "Content-Length: 5, 6\r\n", -1, 400 },
		{ "Content-Length: 5\r\nContent-Length: 6\r\n", -1, 400 },
		{ "Content-Length: 7, 99999999\r\n", -1, 400 },
		{ "Content-Length: +5\r\n", -1, 400 },
		{ "Content-Length: -1\r\n", -1, 400 },
		{ "Content-Length: 5 5\r\n", -1, 400 },
		{ "Content-Length: 0x10\r\n", -1, 400 },
		{ "Content-Length: 1e3\r\n", -1, 400 },
		{ "Content-Length:\r\n", -1, 400 },
		{ "Content-Length: 5,\r\n", -1, 400 },
		{ ",Content-Length: 5\r\n", -1, 400 },
		{ "Content-Length: ,5\r\n", -1, 400 },
		{ "Content-Length: 5\r\nContent-Length:\r\n", -1, 400 },
	};
	char buf[256];
	size_t i;
	int n, st;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = snprintf(buf, sizeof(buf),
		    "POST / HTTP/1.1\r\nHost: a\r\n%s\r\n", t[i].h);
		CHECK(n > 0 && (size_t)n < sizeof(buf));
		if (t[i].cl >= 0) {
			CHECK(parse_n(buf, (size_t)n, &st) == HTTP_PARSE_OK);
			CHECK(hr.content_length == t[i].cl);
		} else
			CHECK(error_of(buf, (size_t)n) == t[i].status);
	}
}

/* One request for every status the parser can answer. */
TEST(each_error_status)
{
	char *big;
	size_t n;

	CHECK(error_of(S("G@T / HTTP/1.1\r\nHost: a\r\n\r\n")) == 400);
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
			 "Content-Length: 2000000\r\n\r\n")) == 413);
	CHECK(error_of(S("GET / HTTP/1.1\r\nHost: a\r\n"
			 "Transfer-Encoding: gzip\r\n\r\n")) == 501);
	CHECK(error_of(S("GET / HTTP/2.0\r\nHost: a\r\n\r\n")) == 505);
	CHECK(error_of(S("GET / HTTP/1.2\r\nHost: a\r\n\r\n")) == 505);
	CHECK(error_of(S("GET / HTTP/0.9\r\n\r\n")) == 505);
	CHECK(error_of(S("GET / HTTP/3.1\r\n\r\n")) == 505);

	/* 414: a target one byte over the limit. */
	n = HTTP_MAX_TARGET + 64;
	big = malloc(n);
	CHECK(big != NULL);
	memset(big, 'a', n);
	memcpy(big, "GET /", 5);
	CHECK(error_of(big, n) == 414);
	free(big);

	/* 431: a header block over HTTP_MAX_HEAD. */
	n = HTTP_MAX_HEAD + 10;
	big = malloc(n);
	CHECK(big != NULL);
	memset(big, 'x', n);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	CHECK(error_of(big, n) == 431);
	free(big);
}

/* Every way a head can be malformed that we know of: all 400. */
TEST(malformed_400)
{
	static const struct {
		const char *s;
		size_t n;
	} t[] = {
		{ S("GET / HTTP/1.1\nHost: a\r\n\r\n") },      /* bare LF */
		{ S("GET / HTTP/1.1\r\nHost: a\n\r\n") },      /* bare LF */
		{ S("GET / HTTP/1.1\r\nHost: a\r\n\n") },      /* bare LF */
		{ S("GET / HTTP/1.1\rHost: a\r\n\r\n") },      /* bare CR */
		{ S("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n") }, /* bare CR */
		{ S("GET / HTTP/1.1\r\nHost: a\r\n\rX") },     /* bare CR */
		{ S("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n") },
		{ S("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n") },
		{ S("GET / HTTP/1.1\r\n Host: a\r\n\r\n") }, /* before 1st */
		{ S("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n") },
		{ S("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01\r\n\r\n") },
		{ S("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f\r\n\r\n") },
		{ S("GET / HTTP/1.1\r\nHost: a\r\nX-A: \x1b[0m\r\n\r\n") },
		{ S("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n") },
		{ S("GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n") },
		{ S("GET / HTTP/1.1\r\nHost: a\r\nX-A\t: b\r\n\r\n") },
		{ S("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n") },
		{ S("GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n") },
		{ S("GET / HTTP/1.1\r\nHost: a\r\nX\x80: b\r\n\r\n") },
		{ S("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n") },
		{ S("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n") },
		{ S("GET a HTTP/1.1\r\nHost: a\r\n\r\n") },
		{ S("GET / http/1.1\r\nHost: a\r\n\r\n") },
		{ S("GET / HTTP/1.10\r\nHost: a\r\n\r\n") },
		{ S("GET / HTTP/11\r\nHost: a\r\n\r\n") },
		{ S("GET / HTTP/1.1 \r\nHost: a\r\n\r\n") },
		{ S("GET / HTTP/1.x\r\nHost: a\r\n\r\n") },
		{ S("GET / HTTP/x.1\r\nHost: a\r\n\r\n") },
		{ S("GET / HTTP/1,1\r\nHost: a\r\n\r\n") },
		{ S("GET / HTTPS/1.1\r\nHost: a\r\n\r\n") },
		{ S("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") },
		{ S("GET /  HTTP/1.1\r\nHost: a\r\n\r\n") },
		{ S("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n") },
		{ S("GET /\tHTTP/1.1\r\nHost: a\r\n\r\n") },
		{ S(" GET / HTTP/1.1\r\nHost: a\r\n\r\n") },
		{ S("GET /\r\n\r\n") }, /* HTTP/0.9 */
		{ S("GET / \r\n\r\n") },
		{ S("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n") },
		{ S("GET /a<b HTTP/1.1\r\nHost: a\r\n\r\n") },
		{ S("GET /a\\b HTTP/1.1\r\nHost: a\r\n\r\n") },
		{ S("GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n") },
		{ S("GET /a%4 HTTP/1.1\r\nHost: a\r\n\r\n") },
		{ S("GET /a% HTTP/1.1\r\nHost: a\r\n\r\n") },
		{ S("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n") },
		{ S("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n") },
		{ S("GET / HTTP/1.1\r\n\r\n") }, /* no Host */
		{ S("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n") },
		{ S("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n") },
		{ S("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n") },
		{ S("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n") },
		{ S("GET / HTTP/1.1\r\nHost: a b\r\n\r\n") },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (error_of(t[i].s, t[i].n) != 400) {
			snprintf(check_msg, sizeof(check_msg),
			    "case %zu not 400: %.60s", i, t[i].s);
			check_cur_failed = 1;
			return;
		}
	}
}

/* Request smuggling: every ambiguous framing is refused. */
TEST(smuggling)
{
	int st;

	/* Both framings, in either order. */
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n")) == 400);
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
			 "Transfer-Encoding: chunked\r\n"
			 "Content-Length: 5\r\n\r\n")) == 400);
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
			 "Transfer-Encoding: gzip\r\n\r\n")) == 400);
	/* Two different lengths. */
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
			 "Content-Length: 50\r\n\r\n")) == 400);
	/* Codings lists, parameters, repeats, quotes. */
	CHECK(
	    error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
		       "Transfer-Encoding: chunked, identity\r\n\r\n")) == 400);
	CHECK(
	    error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
		       "Transfer-Encoding: identity, chunked\r\n\r\n")) == 400);
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
			 "Transfer-Encoding: chunked,\r\n\r\n")) == 400);
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
			 "Transfer-Encoding: chunked;q=1\r\n\r\n")) == 400);
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
			 "Transfer-Encoding: \"chunked\"\r\n\r\n")) == 400);
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
			 "Transfer-Encoding: chunked\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n")) == 400);
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
			 "Transfer-Encoding:\r\n\r\n")) == 400);
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
			 "Transfer-Encoding: ch unked\r\n\r\n")) == 400);
	/* Odd spacing: blanks around the value are OWS, and fine... */
	CHECK(parse_n(S("POST / HTTP/1.1\r\nHost: a\r\n"
			"Transfer-Encoding: \t chunked \t\r\n\r\n"),
		  &st) == HTTP_PARSE_OK);
	CHECK(hr.chunked && hr.content_length == -1);
	CHECK(parse_n(S("POST / HTTP/1.1\r\nHost: a\r\n"
			"transfer-encoding: ChUnKeD\r\n\r\n"),
		  &st) == HTTP_PARSE_OK);
	CHECK(hr.chunked);
	/* ...anything else around the name or the value is not. */
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
			 "Transfer-Encoding : chunked\r\n\r\n")) == 400);
	CHECK(error_of(S("POST / HTTP/1.1\r\n"
			 " Transfer-Encoding: chunked\r\nHost: a\r\n\r\n")) ==
	    400);
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
			 "Transfer-Encoding:\x0b"
			 "chunked\r\n\r\n")) == 400);
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
			 "Transfer-Encoding: chunked\x0c\r\n\r\n")) == 400);
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
			 "Transfer-Encoding: chunked\r\r\n\r\n")) == 400);
	/* obs-fold hiding the coding or a second length. */
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
			 "Transfer-Encoding:\r\n chunked\r\n\r\n")) == 400);
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\nX: y\r\n"
			 " Transfer-Encoding: chunked\r\n\r\n")) == 400);
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
			 "\tContent-Length: 6\r\n\r\n")) == 400);
	/* HTTP/1.0 has no chunked framing (RFC 9112 6.1). */
	CHECK(error_of(S("POST / HTTP/1.0\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n")) == 400);
	/* A coding we do not implement is 501, not a guess. */
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
			 "Transfer-Encoding: xchunked\r\n\r\n")) == 501);
	CHECK(error_of(S("POST / HTTP/1.1\r\nHost: a\r\n"
			 "Transfer-Encoding: identity\r\n\r\n")) == 501);
}

TEST(header_count_limit)
{
	char buf[4096];
	size_t n;
	int i, st;

	/* Host plus 63 others: exactly HTTP_MAX_HEADERS, accepted. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i < HTTP_MAX_HEADERS; i++)
		n += (size_t)snprintf(
		    buf + n, sizeof(buf) - n, "X-%d: v\r\n", i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
	CHECK(n < sizeof(buf));
	CHECK(parse_n(buf, n, &st) == HTTP_PARSE_OK);
	CHECK(hr.nfields == HTTP_MAX_HEADERS);

	/* One more: 431, whether or not the head is complete yet. */
	n -= 2;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-last: v\r\n\r\n");
	CHECK(n < sizeof(buf));
	CHECK(error_of(buf, n) == 431);
	CHECK(error_of(buf, n - 12) == 431);
}

TEST(target_length_limit)
{
	size_t n = HTTP_MAX_TARGET + 64, tl;
	char *b = malloc(n);
	int st;

	CHECK(b != NULL);
	for (tl = HTTP_MAX_TARGET - 1; tl <= HTTP_MAX_TARGET + 1; tl++) {
		memcpy(b, "GET ", 4);
		memset(b + 4, 'a', tl);
		b[4] = '/';
		memcpy(b + 4 + tl, " HTTP/1.1\r\nHost: a\r\n\r\n", 22);
		if (tl <= HTTP_MAX_TARGET) {
			if (parse_n(b, 4 + tl + 22, &st) != HTTP_PARSE_OK)
				break;
			if (hr.target_len != tl)
				break;
		} else if (error_of(b, 4 + tl + 22) != 414)
			break;
	}
	free(b);
	CHECK(tl == HTTP_MAX_TARGET + 2);
}

TEST(head_size_limit)
{
	size_t n = HTTP_MAX_HEAD + 100, fill;
	char *b = malloc(n);
	int st;

	CHECK(b != NULL);
	/* A head of exactly HTTP_MAX_HEAD bytes is accepted. */
	memcpy(b, "GET / HTTP/1.1\r\nHost: a\r\nX: ", 28);
	fill = HTTP_MAX_HEAD - 28 - 4;
	memset(b + 28, 'v', fill);
	memcpy(b + 28 + fill, "\r\n\r\n", 4);
	CHECK(parse_n(b, HTTP_MAX_HEAD, &st) == HTTP_PARSE_OK);
	CHECK(hr.head_len == HTTP_MAX_HEAD);
	/* One more byte of value is 431, and so is any longer buffer. */
	memset(b + 28, 'v', fill + 1);
	memcpy(b + 28 + fill + 1, "\r\n\r\n", 4);
	CHECK(error_of(b, HTTP_MAX_HEAD + 1) == 431);
	CHECK(error_of(b, HTTP_MAX_HEAD) == 431);
	CHECK(parse_n(b, HTTP_MAX_HEAD - 1, &st) == HTTP_PARSE_INCOMPLETE);
	/* Many empty lines before the request-line count too. */
	for (fill = 0; fill + 1 < n; fill += 2)
		memcpy(b + fill, "\r\n", 2);
	CHECK(error_of(b, n) == 431);
	free(b);
}

/* Every proper prefix of a valid request is INCOMPLETE, never an error. */
TEST(incomplete_prefixes)
{
	static const char *const good[] = {
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"\r\nOPTIONS * HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
		"HEAD /a/b%2Fc?x=%41&y HTTP/1.0\r\n\r\n",
		"POST /upload HTTP/1.1\r\nHost: example.com\r\n"
		"Content-Length: 12, 12\r\nExpect: 100-continue\r\n"
		"Connection: keep-alive\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n",
		"PUT /x HTTP/1.1\r\nHost: h\r\n"
		"Transfer-Encoding: chunked\r\n\r\n",
	};
	size_t i, k, n;
	int st;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		n = strlen(good[i]);
		for (k = 0; k < n; k++) {
			if (parse_n(good[i], k, &st) != HTTP_PARSE_INCOMPLETE) {
				snprintf(check_msg, sizeof(check_msg),
				    "request %zu, prefix %zu not INCOMPLETE", i,
				    k);
				check_cur_failed = 1;
				return;
			}
		}
		CHECK(parse_n(good[i], n, &st) == HTTP_PARSE_OK);
		CHECK(hr.head_len == n);
	}
}

/* --- chunked bodies ---------------------------------------------------- */

static const char chunked_msg[] = "5\r\nhello\r\n"
				  "6;name=value;q=\"a b\"\r\n world\r\n"
				  "00a \t; ext\r\n, and more\r\n"
				  "1\r\n!\r\n"
				  "0;last\r\n"
				  "Trailer-One: x\r\n"
				  "Trailer-Two:\r\n"
				  "\r\n"
				  "GET /next";
#define CHUNKED_BODY "hello world, and more!"
#define CHUNKED_END (sizeof(chunked_msg) - 1 - 9)

/*
 * Feed msg[0..n) in pieces whose sizes come from cuts (0 ends the list,
 * the rest is fed at the end), the way a reader would: decoded bytes are
 * appended to out, consumed input dropped.  Returns the decoder's last
 * result and stores the total input consumed.
 */
static int
feed_split(const char *msg, size_t n, const size_t *cuts, char *out,
    size_t *out_len, size_t *used, int *status)
{
	struct http_chunked c = { 0 };
	char piece[512];
	size_t off = 0, step, consumed, got;
	int rc = 0;

	*out_len = 0;
	while (off < n) {
		step = *cuts != 0 ? *cuts++ : n - off;
		if (step > n - off)
			step = n - off;
		if (step > sizeof(piece))
			step = sizeof(piece);
		memcpy(piece, msg + off, step);
		rc =
		    http_chunked_feed(&c, piece, step, &consumed, &got, status);
		if (got > consumed)
			return -99;
		memcpy(out + *out_len, piece, got);
		*out_len += got;
		off += consumed;
		if (rc != 0)
			break;
		if (consumed != step)
			return -98; /* 0 must use all of the input */
	}
	*used = off;
	return rc;
}

TEST(chunked_whole)
{
	char buf[sizeof(chunked_msg)];
	size_t consumed, out, consumed2, out2;
	struct http_chunked c = { 0 };
	int st = 0;

	memcpy(buf, chunked_msg, sizeof(buf));
	CHECK(http_chunked_feed(
		  &c, buf, sizeof(buf) - 1, &consumed, &out, &st) == 1);
	CHECK(consumed == CHUNKED_END);
	CHECK(out == strlen(CHUNKED_BODY));
	CHECK(memcmp(buf, CHUNKED_BODY, out) == 0);
	CHECK(memcmp(buf + consumed, "GET /next", 9) == 0);
	CHECK(c.total == strlen(CHUNKED_BODY));
	/* Done is sticky and consumes nothing more. */
	CHECK(http_chunked_feed(
		  &c, buf + consumed, 9, &consumed2, &out2, &st) == 1);
	CHECK(consumed2 == 0 && out2 == 0);
}

TEST(chunked_byte_by_byte)
{
	size_t cuts[sizeof(chunked_msg) + 1];
	char out[sizeof(chunked_msg)];
	size_t i, out_len, used;
	int st = 0;

	for (i = 0; i < sizeof(chunked_msg); i++)
		cuts[i] = 1;
	cuts[sizeof(chunked_msg)] = 0;
	CHECK(feed_split(S(chunked_msg), cuts, out, &out_len, &used, &st) == 1);
	CHECK(used == CHUNKED_END);
	CHECK(out_len == strlen(CHUNKED_BODY));
	CHECK(memcmp(out, CHUNKED_BODY, out_len) == 0);
}

static uint32_t rng_state = 2463534242u;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

TEST(chunked_random_splits)
{
	size_t cuts[sizeof(chunked_msg) + 1];
	char out[sizeof(chunked_msg)];
	size_t i, k, out_len, used;
	int round, st = 0;

	for (round = 0; round < 2000; round++) {
		for (k = 0, i = 0; i < sizeof(chunked_msg); i++) {
			cuts[k] = 1 + rng() % 12;
			k++;
		}
		cuts[k] = 0;
		CHECK(feed_split(S(chunked_msg), cuts, out, &out_len, &used,
			  &st) == 1);
		CHECK(used == CHUNKED_END);
		CHECK(out_len == strlen(CHUNKED_BODY));
		CHECK(memcmp(out, CHUNKED_BODY, out_len) == 0);
	}
}

/* The status of a chunked body that must fail, fed whole and bytewise. */
static int
chunked_error(const char *msg, size_t n)
{
	size_t cuts[1] = { 0 }, out_len, used, k;
	size_t *bytewise;
	char *out = malloc(n + 1);
	int st1 = 0, st2 = 0, rc1, rc2;

	bytewise = malloc((n + 1) * sizeof(*bytewise));
	if (out == NULL || bytewise == NULL) {
		free(out);
		free(bytewise);
		return -1;
	}
	for (k = 0; k < n; k++)
		bytewise[k] = 1;
	bytewise[n] = 0;
	rc1 = feed_split(msg, n, cuts, out, &out_len, &used, &st1);
	rc2 = feed_split(msg, n, bytewise, out, &out_len, &used, &st2);
	free(out);
	free(bytewise);
	if (rc1 != -1 || rc2 != -1 || st1 != st2)
		return 0;
	return st1;
}

TEST(chunked_malformed)
{
	static const struct {
		const char *s;
		size_t n;
	} t[] = {
		{ S("\r\n") },                    /* no size */
		{ S("x\r\n") },                   /* not hex */
		{ S("-5\r\n") },                  /* sign */
		{ S("+5\r\n") },                  /* sign */
		{ S("0x5\r\n") },                 /* C prefix */
		{ S(" 5\r\n") },                  /* leading blank */
		{ S("5 \r\nhello\r\n") },         /* blank, no extension */
		{ S("5 x\r\nhello\r\n") },        /* junk after blank */
		{ S("5x\r\nhello\r\n") },         /* junk after size */
		{ S("5\nhello\r\n") },            /* bare LF */
		{ S("5\rhello\r\n") },            /* bare CR */
		{ S("5;a\x01\r\nhello\r\n") },    /* control in extension */
		{ S("5;a\nhello\r\n") },          /* LF in extension */
		{ S("5\r\nhelloX\r\n") },         /* data longer than size */
		{ S("5\r\nhello\n0\r\n\r\n") },   /* bare LF after data */
		{ S("5\r\nhello\r\r0\r\n\r\n") }, /* CR CR after data */
		{ S("0\r\n\n") },                 /* bare LF at the end */
		{ S("0\r\n\rX") },                /* bare CR at the end */
		{ S("0\r\nX: y\r\n z\r\n\r\n") }, /* obs-fold in trailer */
		{ S("0\r\n X: y\r\n\r\n") },      /* blank-led trailer */
		{ S("0\r\n: y\r\n\r\n") },        /* empty trailer name */
		{ S("0\r\nX : y\r\n\r\n") },      /* blank before colon */
		{ S("0\r\nXy\r\n\r\n") },         /* no colon */
		{ S("0\r\nX: \0\r\n\r\n") },      /* NUL in trailer */
		{ S("0\r\nX: y\n\r\n") },         /* bare LF in trailer */
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (chunked_error(t[i].s, t[i].n) != 400) {
			snprintf(check_msg, sizeof(check_msg),
			    "case %zu not 400", i);
			check_cur_failed = 1;
			return;
		}
	}
}

TEST(chunked_sizes)
{
	struct http_chunked c = { 0 };
	char buf[64];
	size_t consumed, out;
	int st = 0;

	/* Exactly HTTP_MAX_BODY announced is fine, one more byte is not. */
	memcpy(buf, "100000\r\n", 8);
	CHECK(http_chunked_feed(&c, buf, 8, &consumed, &out, &st) == 0);
	CHECK(consumed == 8 && out == 0);
	CHECK(chunked_error(S("100001\r\n")) == 413);
	CHECK(chunked_error(S("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\r\n")) == 413);
	CHECK(chunked_error(S("10000000000000001\r\n")) == 413);
	/* The limit is on the sum of the chunks. */
	CHECK(chunked_error(S("80000\r\n")) == 0); /* just incomplete */
	{
		size_t n = 0x80000 + 64, k;
		char *m = malloc(2 * n);

		CHECK(m != NULL);
		k = 0;
		memcpy(m + k, "80000\r\n", 7);
		k += 7;
		memset(m + k, 'a', 0x80000);
		k += 0x80000;
		memcpy(m + k, "\r\n80001\r\n", 9);
		k += 9;
		st = chunked_error(m, k);
		free(m);
		CHECK(st == 413);
	}
	/* Leading zeros are fine up to the line limit. */
	{
		char *m = malloc(HTTP_MAX_CHUNK_LINE + 32);
		size_t zeros = HTTP_MAX_CHUNK_LINE - 3, got, used;
		size_t cuts[1] = { 0 };
		int rc, st2 = 0;

		CHECK(m != NULL);
		memset(m, '0', zeros);
		memcpy(m + zeros, "1\r\nZ\r\n0\r\n\r\n", 11);
		rc = feed_split(m, zeros + 11, cuts, buf, &got, &used, &st2);
		CHECK(rc == 1 && got == 1 && buf[0] == 'Z');
		memset(m, '0', zeros + 2);
		memcpy(m + zeros + 2, "1\r\nZ\r\n0\r\n\r\n", 11);
		st = chunked_error(m, zeros + 13);
		free(m);
		CHECK(st == 400);
	}
}

TEST(chunked_bounded_framing)
{
	static const char tr[] = "X-Trailer: vvvvvvvvvvvvvvvvvvvvvvvv\r\n";
	size_t n = 2 * HTTP_MAX_HEAD + 4096, k = 0, len;
	char *m = malloc(n + 64);
	char ext[101];
	int st;

	CHECK(m != NULL);
	/* 1-byte chunks with 100-byte extensions: too much non-data. */
	memset(ext, 'e', sizeof(ext) - 1);
	ext[sizeof(ext) - 1] = '\0';
	while (k < n) {
		len = (size_t)snprintf(m + k, n + 64 - k, "1;%s\r\nZ\r\n", ext);
		k += len;
	}
	st = chunked_error(m, k);
	CHECK(st == 400);

	/* Trailers over HTTP_MAX_HEAD. */
	k = 0;
	memcpy(m, "0\r\n", 3);
	k = 3;
	while (k < HTTP_MAX_HEAD + 100) {
		memcpy(m + k, tr, sizeof(tr) - 1);
		k += sizeof(tr) - 1;
	}
	memcpy(m + k, "\r\n", 2);
	k += 2;
	st = chunked_error(m, k);
	free(m);
	CHECK(st == 400);
}

TEST(chunked_sticky_error)
{
	struct http_chunked c = { 0 };
	char buf[] = "zz\r\n5\r\nhello\r\n";
	size_t consumed, out;
	int st = 0;

	CHECK(http_chunked_feed(
		  &c, buf, sizeof(buf) - 1, &consumed, &out, &st) == -1);
	CHECK(st == 400 && consumed == 1 && out == 0);
	st = 0;
	CHECK(http_chunked_feed(&c, buf + 4, 10, &consumed, &out, &st) == -1);
	CHECK(st == 400 && consumed == 0);
}

/* --- dates and reasons --------------------------------------------------- */

TEST(date_format)
{
	char buf[64];

	http_date(0, buf, sizeof(buf));
	CHECK_STR(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
	http_date(1136214245, buf, sizeof(buf));
	CHECK_STR(buf, "Mon, 02 Jan 2006 15:04:05 GMT");
	http_date(951782400, buf, sizeof(buf)); /* a leap day */
	CHECK_STR(buf, "Tue, 29 Feb 2000 00:00:00 GMT");
	http_date(-5, buf, sizeof(buf));
	CHECK_STR(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
	http_date(INT64_MAX, buf, sizeof(buf));
	CHECK_STR(buf, "Fri, 31 Dec 9999 23:59:59 GMT");
	http_date(0, buf, 30);
	CHECK(strlen(buf) == 29);
	http_date(0, buf, 4);
	CHECK_STR(buf, "Thu");
	buf[0] = 'x';
	http_date(0, buf, 0); /* writes nothing at all */
	CHECK(buf[0] == 'x');
}

TEST(reasons)
{
	static const struct {
		int code;
		const char *reason;
	} t[] = {
		{ 200, "OK" },
		{ 204, "No Content" },
		{ 206, "Partial Content" },
		{ 304, "Not Modified" },
		{ 400, "Bad Request" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 408, "Request Timeout" },
		{ 411, "Length Required" },
		{ 413, "Content Too Large" },
		{ 414, "URI Too Long" },
		{ 416, "Range Not Satisfiable" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },
		{ 503, "Service Unavailable" },
		{ 505, "HTTP Version Not Supported" },
		{ 299, "" },
		{ -1, "" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK_STR(http_reason(t[i].code), t[i].reason);
}

int
main(void)
{
	RUN(get_simple);
	RUN(head_with_query);
	RUN(methods);
	RUN(options_star);
	RUN(pipelined);
	RUN(leading_empty_lines);
	RUN(field_values_trimmed);
	RUN(keep_alive_rules);
	RUN(expect_continue);
	RUN(content_length_values);
	RUN(each_error_status);
	RUN(malformed_400);
	RUN(smuggling);
	RUN(header_count_limit);
	RUN(target_length_limit);
	RUN(head_size_limit);
	RUN(incomplete_prefixes);
	RUN(chunked_whole);
	RUN(chunked_byte_by_byte);
	RUN(chunked_random_splits);
	RUN(chunked_malformed);
	RUN(chunked_sizes);
	RUN(chunked_bounded_framing);
	RUN(chunked_sticky_error);
	RUN(date_format);
	RUN(reasons);
	return check_done();
}
