/*
 * http: edge-dp's HTTP/1.1 request parser, the one protocol parser the
 * project writes itself, because edge-dp must own its raw sockets.
 *
 * Strict and bounded.  It parses the request line and the header block of
 * one request at the start of a buffer, without copying: every pointer in
 * struct http_request points into the caller's buffer and lives as long as
 * it does.  It never allocates, never reads past len, and runs in time
 * linear in len.
 *
 * Result of http_parse_request():
 *	HTTP_PARSE_OK		a complete head; req->head_len bytes used
 *	HTTP_PARSE_INCOMPLETE	need more bytes (and fewer than the limits)
 *	HTTP_PARSE_ERROR	*status says what to answer before closing:
 *		400 malformed (bad tokens, bare LF or CR, obs-fold, NUL or
 *		    control bytes, a header without a colon, whitespace before
 *		    the colon, Content-Length not a plain decimal or repeated
 *		    with different values, both Content-Length and
 *		    Transfer-Encoding, Transfer-Encoding not exactly
 *		    "chunked", HTTP/1.1 without Host)
 *		413 Content-Length above HTTP_MAX_BODY
 *		414 request-target longer than HTTP_MAX_TARGET
 *		431 header block over HTTP_MAX_HEAD or more than
 *		    HTTP_MAX_HEADERS fields
 *		501 a Transfer-Encoding other than chunked
 *		505 a version other than HTTP/1.0 or HTTP/1.1
 *
 * How the overlapping cases above are told apart (RFC 9112 where it
 * decides, the stricter reading where it leaves a choice):
 *   - Transfer-Encoding: exactly "chunked" (any case, blanks around it
 *     trimmed) is accepted; a single other token ("gzip", "identity") is
 *     501; anything else is 400: a list ("chunked, identity", "gzip,
 *     chunked"), parameters, a repeated Transfer-Encoding field, or
 *     Transfer-Encoding in an HTTP/1.0 request (RFC 9112 6.1: faulty
 *     framing).  Both Content-Length and Transfer-Encoding is 400 whatever
 *     the coding.
 *   - Content-Length: 1*DIGIT, or a comma list whose elements are all the
 *     same number ("5, 5", "5,05"); empty elements are 400.  Malformed
 *     beats too large: "7, 9999999" is 400, not 413.
 *   - Host: more than one, or a value with characters no host[:port] has,
 *     is 400 in any version; none is 400 in HTTP/1.1.
 *   - request-target: origin-form with only RFC 3986 characters and
 *     well-formed %XX escapes, or exactly "*" with OPTIONS; absolute-form
 *     and authority-form are 400.
 *   - Empty lines (CRLF) before the request-line are skipped (RFC 9112
 *     2.2) and counted in head_len and in HTTP_MAX_HEAD.
 *   - A line starting with a blank after the request-line is 400 (obs-fold,
 *     or whitespace before the first field).
 *   - The first error in the bytes wins; the checks that need the whole
 *     head (Content-Length, Transfer-Encoding, Host) run once it is there.
 *     A prefix of a valid request is always INCOMPLETE, and INCOMPLETE is
 *     only returned while len < HTTP_MAX_HEAD.
 *   - expect_continue is set for "Expect: 100-continue" in HTTP/1.1 only
 *     (RFC 9110 10.1.1: ignored in HTTP/1.0); other expectations are
 *     ignored.
 *
 * Request bodies: Content-Length bodies are read by the caller;
 * chunked bodies go through http_chunked_feed(), which decodes in place
 * across any number of reads, with the same limits.
 *
 * Pure functions, no global state: safe from every worker thread.
 */
#ifndef EF_HTTP_H
#define EF_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEAD 16384 /* request line + headers + CRLFs */
#define HTTP_MAX_TARGET 4096
#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_BODY (1u << 20)
#define HTTP_MAX_CHUNK_LINE 4096 /* chunk-size line with its extensions */

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_PUT,
	HTTP_DELETE,
	HTTP_OPTIONS,
	HTTP_OTHER, /* a valid token we do not serve: 405 */
};

struct http_field {
	const char *name;
	size_t name_len;
	const char *value; /* leading and trailing blanks trimmed */
	size_t value_len;
};

struct http_request {
	enum http_method method;
	const char *target; /* raw request-target, origin-form */
	size_t target_len;
	const char *path; /* target up to '?' (not decoded) */
	size_t path_len;
	int minor; /* HTTP/1.<minor>: 0 or 1 */
	struct http_field fields[HTTP_MAX_HEADERS];
	size_t nfields;
	size_t head_len;        /* bytes of request line + header block */
	int64_t content_length; /* -1: none */
	bool chunked;
	bool keep_alive; /* HTTP/1.1 unless "close"; 1.0 only with keep-alive */
	bool expect_continue;
};

enum http_parse_rc {
	HTTP_PARSE_OK = 0,
	HTTP_PARSE_INCOMPLETE = 1,
	HTTP_PARSE_ERROR = -1,
};

enum http_parse_rc http_parse_request(
    const char *buf, size_t len, struct http_request *req, int *status);

/* The value of a field by case-insensitive name, or NULL. */
const struct http_field *http_field_get(
    const struct http_request *req, const char *name);

/*
 * Chunked request bodies, decoded in place.  Zero the whole struct before
 * the first call (struct http_chunked c = { 0 }); every field is private
 * to the decoder except that total may be read as the body bytes
 * announced so far.
 */
struct http_chunked {
	int state; /* private */
	uint64_t remaining;
	uint64_t total;
	size_t line_len;
	/*
	 * Framing bytes (chunk-size lines, extensions, CRLFs) not yet paid
	 * for by data: each chunk pays 16 + 2 * its size.  Above
	 * HTTP_MAX_HEAD the body is refused (400), so a sender cannot make us
	 * parse an unbounded amount of extension per byte of body (Go's
	 * net/http chunked reader does the same).
	 */
	uint64_t excess;
};

/*
 * Feed buf[0..len): decoded body bytes are moved to the front of buf and
 * their count stored in *out_len; *consumed says how much input was used.
 * Returns 1 when the body (and its trailers) is complete, 0 when more is
 * needed, -1 on malformed input or a body over HTTP_MAX_BODY (*status 400
 * or 413).
 *
 * With 0 all of the input was used (*consumed == len): partial lines are
 * kept in the state, never in the caller's buffer, so the caller may drop
 * the fed bytes.  With 1, buf[*consumed..len) is the start of the next
 * request.  *out_len <= *consumed always, so the decoded bytes never
 * overlap the unused input.  After 1 or -1 further calls return the same
 * without consuming anything.  400 also covers a chunk-size line over
 * HTTP_MAX_CHUNK_LINE, too much framing (see excess above) and a trailer
 * section over HTTP_MAX_HEAD.  Splitting the input differently never
 * changes the result.
 */
int http_chunked_feed(struct http_chunked *c, char *buf, size_t len,
    size_t *consumed, size_t *out_len, int *status);

/*
 * "Mon, 02 Jan 2006 15:04:05 GMT" (IMF-fixdate) into buf (>= 30).  t is
 * clamped to years 1970..9999 so the result always has this shape; a
 * shorter buf gets a truncated, NUL-terminated string.
 */
void http_date(int64_t t, char *buf, size_t len);
/*
 * The reason phrase of a status code ("OK", "Not Found", ...): a static
 * string; "" (a valid, empty reason-phrase) for a code it does not know.
 */
const char *http_reason(int status);

#endif
