/*
 * http: edge-dp's HTTP/1.1 request heads (RFC 9112, RFC 9110) and chunked
 * request bodies.  The contract, and how ambiguous input is classified,
 * is in http.h.
 *
 * The head parser is one forward pass over at most HTTP_MAX_HEAD bytes:
 * every loop advances i, every look-ahead is checked against lim first,
 * and running out of bytes is never an error by itself (it is INCOMPLETE,
 * or 431 once the limit is reached).  The checks that need the whole head
 * run afterwards, over the recorded fields, each value scanned once.  So
 * the cost is linear in the head and nothing past len is ever read.
 *
 * The chunked decoder is a byte-at-a-time state machine (data bytes are
 * moved in runs), so where the caller's reads split the input cannot
 * change what it decides.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dataplane/http.h"

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alnum(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
hex_value(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
in_set(unsigned char c, const char *set, size_t n)
{
	return c != '\0' && memchr(set, c, n) != NULL;
}

/* RFC 9110 5.6.2: the characters of a token (methods, field names). */
static bool
is_tchar(unsigned char c)
{
	static const char set[] = "!#$%&'*+-.^_`|~";

	return is_alnum(c) || in_set(c, set, sizeof(set) - 1);
}

/*
 * RFC 3986 pchar without pct-encoded: unreserved, sub-delims, ":" and "@".
 * With "/" and "?" this is every byte origin-form allows besides "%".
 */
static bool
is_pchar(unsigned char c)
{
	static const char set[] = "-._~!$&'()*+,;=:@";

	return is_alnum(c) || in_set(c, set, sizeof(set) - 1);
}

/* uri-host [":" port]: reg-name (with %XX), IP-literal in brackets. */
static bool
is_hostchar(unsigned char c)
{
	static const char set[] = "-._~!$&'()*+,;=:[]%";

	return is_alnum(c) || in_set(c, set, sizeof(set) - 1);
}

/*
 * RFC 9110 5.5: field-vchar, SP and HTAB.  obs-text (0x80-0xff) is
 * allowed; NUL, the other controls and DEL are not.
 */
static bool
is_fieldchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool
is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static unsigned char
ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive comparison of a (p, n) with the string s. */
static bool
eq_nocase(const char *p, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\0' ||
		    ascii_lower((unsigned char)p[i]) !=
			ascii_lower((unsigned char)s[i]))
			return false;
	}
	return s[n] == '\0';
}

static bool
eq_exact(const char *p, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(p, s, n) == 0;
}

static enum http_method
method_of(const char *p, size_t n)
{
	static const struct {
		const char *name;
		enum http_method m;
	} tab[] = {
		{ "GET", HTTP_GET },
		{ "HEAD", HTTP_HEAD },
		{ "POST", HTTP_POST },
		{ "PUT", HTTP_PUT },
		{ "DELETE", HTTP_DELETE },
		{ "OPTIONS", HTTP_OPTIONS },
	};
	size_t i;

	/* Methods are case-sensitive (RFC 9110 9.1). */
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (eq_exact(p, n, tab[i].name))
			return tab[i].m;
	return HTTP_OTHER;
}

/*
 * One element of a comma-separated list (RFC 9110 5.6.1) starting at
 * *pos in v[0..n): sets *e and *elen to the element with its blanks
 * trimmed (possibly empty) and moves *pos past the next comma.  Returns
 * false when the list is exhausted.
 */
static bool
list_next(const char *v, size_t n, size_t *pos, const char **e, size_t *elen)
{
	size_t i = *pos, start, end;

	if (i > n)
		return false;
	while (i < n && is_blank((unsigned char)v[i]))
		i++;
	start = i;
	while (i < n && v[i] != ',')
		i++;
	end = i;
	while (end > start && is_blank((unsigned char)v[end - 1]))
		end--;
	*e = v + start;
	*elen = end - start;
	*pos = i + 1; /* past the comma, or n + 1 at the end */
	return true;
}

/*
 * Content-Length: every element of every occurrence must be 1*DIGIT and
 * all must be the same number.  Numbers are compared as their digits
 * without leading zeros, so any length compares exactly and nothing
 * overflows.  *num and *num_len hold the canonical digits found so far.
 */
static int
content_length_check(
    const struct http_field *f, const char **num, size_t *num_len)
{
	const char *e;
	size_t pos = 0, elen, k;

	while (list_next(f->value, f->value_len, &pos, &e, &elen)) {
		if (elen == 0)
			return -1;
		for (k = 0; k < elen; k++)
			if (!is_digit((unsigned char)e[k]))
				return -1;
		while (elen > 1 && e[0] == '0') {
			e++;
			elen--;
		}
		if (*num == NULL) {
			*num = e;
			*num_len = elen;
		} else if (elen != *num_len || memcmp(e, *num, elen) != 0)
			return -1;
	}
	return 0;
}

/* Connection: the "close" and "keep-alive" options, in any case. */
static void
connection_options(const struct http_field *f, bool *close, bool *keep)
{
	const char *e;
	size_t pos = 0, elen;

	while (list_next(f->value, f->value_len, &pos, &e, &elen)) {
		if (eq_nocase(e, elen, "close"))
			*close = true;
		else if (eq_nocase(e, elen, "keep-alive"))
			*keep = true;
	}
}

static bool
host_valid(const struct http_field *f)
{
	size_t i;

	for (i = 0; i < f->value_len; i++)
		if (!is_hostchar((unsigned char)f->value[i]))
			return false;
	return true;
}

static bool
is_token(const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!is_tchar((unsigned char)p[i]))
			return false;
	return true;
}

/*
 * The checks that need the whole head: message framing (Content-Length,
 * Transfer-Encoding), Host, and the connection options.  400s come before
 * 501 and 413 so that a smuggling attempt is always reported as malformed.
 */
static int
head_semantics(struct http_request *req, int *status)
{
	const struct http_field *te = NULL;
	const char *num = NULL;
	size_t num_len = 0, ncl = 0, nte = 0, nhost = 0, i, k;
	bool opt_close = false, opt_keep = false, bad = false;
	uint64_t cl;

	for (i = 0; i < req->nfields; i++) {
		const struct http_field *f = &req->fields[i];

		if (eq_nocase(f->name, f->name_len, "content-length")) {
			ncl++;
			if (content_length_check(f, &num, &num_len) == -1)
				bad = true;
		} else if (eq_nocase(
			       f->name, f->name_len, "transfer-encoding")) {
			nte++;
			te = f;
		} else if (eq_nocase(f->name, f->name_len, "host")) {
			nhost++;
			if (!host_valid(f))
				bad = true;
		} else if (eq_nocase(f->name, f->name_len, "connection"))
			connection_options(f, &opt_close, &opt_keep);
		else if (eq_nocase(f->name, f->name_len, "expect")) {
			if (req->minor == 1 &&
			    eq_nocase(f->value, f->value_len, "100-continue"))
				req->expect_continue = true;
		}
	}

	if (bad || nhost > 1 || (req->minor == 1 && nhost == 0))
		goto bad;
	if (ncl > 0 && nte > 0)
		goto bad;
	if (nte > 0) {
		if (nte > 1 || req->minor == 0)
			goto bad;
		if (!eq_nocase(te->value, te->value_len, "chunked")) {
			if (!is_token(te->value, te->value_len))
				goto bad;
			*status = 501;
			return -1;
		}
		req->chunked = true;
	}
	if (ncl > 0) {
		/* HTTP_MAX_BODY has 7 digits; more is too large anyway. */
		if (num_len > 7) {
			*status = 413;
			return -1;
		}
		cl = 0;
		for (k = 0; k < num_len; k++)
			cl = cl * 10 + (uint64_t)(num[k] - '0');
		if (cl > HTTP_MAX_BODY) {
			*status = 413;
			return -1;
		}
		req->content_length = (int64_t)cl;
	}
	if (req->minor == 1)
		req->keep_alive = !opt_close;
	else
		req->keep_alive = opt_keep && !opt_close;
	return 0;
bad:
	*status = 400;
	return -1;
}

enum http_parse_rc
http_parse_request(
    const char *buf, size_t len, struct http_request *req, int *status)
{
	static const char proto[] = "HTTP/";
	const unsigned char *p = (const unsigned char *)buf;
	size_t lim = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
	size_t i = 0, start, qmark, vend, k;
	struct http_field *f;
	unsigned char c;
	int major, st = 400;

	req->method = HTTP_OTHER;
	req->target = req->path = NULL;
	req->target_len = req->path_len = 0;
	req->minor = 0;
	req->nfields = 0;
	req->head_len = 0;
	req->content_length = -1;
	req->chunked = req->keep_alive = req->expect_continue = false;

	/* RFC 9112 2.2: skip empty lines before the request-line. */
	while (i < lim && p[i] == '\r') {
		if (i + 1 == lim)
			goto more;
		if (p[i + 1] != '\n')
			goto bad;
		i += 2;
	}

	/* method SP */
	start = i;
	while (i < lim && is_tchar(p[i]))
		i++;
	if (i == lim)
		goto more;
	if (i == start || p[i] != ' ')
		goto bad;
	req->method = method_of(buf + start, i - start);
	i++;

	/* request-target SP */
	start = i;
	qmark = 0;
	if (i == lim)
		goto more;
	if (p[i] == '*') {
		if (req->method != HTTP_OPTIONS)
			goto bad;
		i++;
	} else if (p[i] == '/') {
		while (i < lim && p[i] != ' ') {
			c = p[i];
			if (c == '%') {
				if (i + 1 < lim && hex_value(p[i + 1]) < 0)
					goto bad;
				if (i + 2 < lim && hex_value(p[i + 2]) < 0)
					goto bad;
				if (i + 2 >= lim)
					goto more;
				i += 3;
			} else if (c == '?') {
				if (qmark == 0)
					qmark = i;
				i++;
			} else if (c == '/' || is_pchar(c))
				i++;
			else
				goto bad;
			if (i - start > HTTP_MAX_TARGET) {
				st = 414;
				goto bad;
			}
		}
	} else
		goto bad; /* absolute-form, authority-form, garbage */
	if (i == lim)
		goto more;
	if (p[i] != ' ')
		goto bad;
	req->target = buf + start;
	req->target_len = i - start;
	req->path = req->target;
	req->path_len = qmark != 0 ? qmark - start : req->target_len;
	i++;

	/* HTTP-version CRLF: "HTTP/" DIGIT "." DIGIT, case-sensitive. */
	for (k = 0; k < sizeof(proto) - 1; k++, i++) {
		if (i == lim)
			goto more;
		if (p[i] != (unsigned char)proto[k])
			goto bad;
	}
	if (i == lim)
		goto more;
	if (!is_digit(p[i]))
		goto bad;
	major = p[i++] - '0';
	if (i == lim)
		goto more;
	if (p[i++] != '.')
		goto bad;
	if (i == lim)
		goto more;
	if (!is_digit(p[i]))
		goto bad;
	req->minor = p[i++] - '0';
	if (i == lim)
		goto more;
	if (p[i++] != '\r')
		goto bad;
	if (i == lim)
		goto more;
	if (p[i++] != '\n')
		goto bad;
	if (major != 1 || req->minor > 1) {
		st = 505;
		goto bad;
	}

	/* *( field-line CRLF ) CRLF */
	for (;;) {
		if (i == lim)
			goto more;
		c = p[i];
		if (c == '\r') {
			if (i + 1 == lim)
				goto more;
			if (p[i + 1] != '\n')
				goto bad;
			i += 2;
			break;
		}
		/* obs-fold, or whitespace before the first field: both 400. */
		if (is_blank(c))
			goto bad;
		if (req->nfields == HTTP_MAX_HEADERS) {
			st = 431;
			goto bad;
		}
		f = &req->fields[req->nfields];

		start = i;
		while (i < lim && is_tchar(p[i]))
			i++;
		if (i == lim)
			goto more;
		/* No name, blank before the colon, no colon at all. */
		if (i == start || p[i] != ':')
			goto bad;
		f->name = buf + start;
		f->name_len = i - start;
		i++;

		while (i < lim && is_blank(p[i]))
			i++;
		start = vend = i;
		while (i < lim && p[i] != '\r') {
			if (!is_fieldchar(p[i]))
				goto bad; /* NUL, controls, bare LF */
			if (!is_blank(p[i]))
				vend = i + 1;
			i++;
		}
		if (i + 1 >= lim)
			goto more;
		if (p[i + 1] != '\n')
			goto bad; /* bare CR */
		f->value = buf + start;
		f->value_len = vend - start;
		req->nfields++;
		i += 2;
	}
	req->head_len = i;

	if (head_semantics(req, status) == -1)
		return HTTP_PARSE_ERROR;
	return HTTP_PARSE_OK;

more:
	/* Out of bytes: fine below the limit, 431 once it is reached. */
	if (lim < HTTP_MAX_HEAD)
		return HTTP_PARSE_INCOMPLETE;
	st = 431;
bad:
	*status = st;
	return HTTP_PARSE_ERROR;
}

const struct http_field *
http_field_get(const struct http_request *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nfields; i++)
		if (eq_nocase(
			req->fields[i].name, req->fields[i].name_len, name))
			return &req->fields[i];
	return NULL;
}

/*
 * The chunked decoder (RFC 9112 7.1):
 *
 *	chunked-body = *chunk last-chunk trailer-section CRLF
 *	chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *	chunk-ext    = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
 *
 *   SIZE0 -hex-> SIZE -hex-> SIZE ... -CR-> SIZE_LF -LF-> DATA (size > 0)
 *          SIZE -blank-> BWS -";"-> EXT -CR-> SIZE_LF     TRAILER (size 0)
 *          SIZE -";"-> EXT
 *   DATA (size bytes) -> DATA_CR -> DATA_LF -> SIZE0
 *   TRAILER -CR-> END_LF -LF-> DONE
 *   TRAILER -tchar-> TR_NAME -":"-> TR_VALUE -CR-> TR_LF -LF-> TRAILER
 *
 * Extensions are skipped, not parsed: they may hold no CR, LF or other
 * control byte, so skipping to the CR cannot misread the framing.
 * remaining is the size being read in the SIZE states and what is left of
 * the chunk in DATA; line_len counts the chunk-size line (bounded by
 * HTTP_MAX_CHUNK_LINE) and then the trailer section (HTTP_MAX_HEAD).
 */
enum {
	CH_SIZE0 = 0, /* a zeroed struct starts here */
	CH_SIZE,
	CH_BWS,
	CH_EXT,
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TRAILER,
	CH_TR_NAME,
	CH_TR_VALUE,
	CH_TR_LF,
	CH_END_LF,
	CH_DONE,
	CH_BAD,    /* sticky: 400 */
	CH_TOOBIG, /* sticky: 413 */
};

/* One byte outside chunk-data: the next state, or CH_BAD / CH_TOOBIG. */
static int
chunk_byte(struct http_chunked *c, unsigned char ch)
{
	uint64_t credit;
	int d;

	switch (c->state) {
	case CH_SIZE0:
	case CH_SIZE:
	case CH_BWS:
	case CH_EXT:
	case CH_SIZE_LF:
		c->excess++;
		if (++c->line_len > HTTP_MAX_CHUNK_LINE)
			return CH_BAD;
		break;
	case CH_DATA_CR:
	case CH_DATA_LF:
		c->excess++;
		break;
	case CH_TRAILER:
	case CH_TR_NAME:
	case CH_TR_VALUE:
	case CH_TR_LF:
	case CH_END_LF:
		if (++c->line_len > HTTP_MAX_HEAD)
			return CH_BAD;
		break;
	default:
		break;
	}

	switch (c->state) {
	case CH_SIZE0:
	case CH_SIZE:
		if ((d = hex_value(ch)) >= 0) {
			/*
			 * remaining <= HTTP_MAX_BODY - total here, so this
			 * cannot overflow, and it stays bounded because any
			 * size past the limit stops the body at once.
			 */
			c->remaining = c->remaining * 16 + (uint64_t)d;
			if (c->remaining > HTTP_MAX_BODY - c->total)
				return CH_TOOBIG;
			return CH_SIZE;
		}
		if (c->state == CH_SIZE0)
			return CH_BAD;
		if (ch == ';')
			return CH_EXT;
		if (is_blank(ch))
			return CH_BWS;
		if (ch == '\r')
			return CH_SIZE_LF;
		return CH_BAD;
	case CH_BWS:
		if (is_blank(ch))
			return CH_BWS;
		return ch == ';' ? CH_EXT : CH_BAD;
	case CH_EXT:
		if (ch == '\r')
			return CH_SIZE_LF;
		return is_fieldchar(ch) ? CH_EXT : CH_BAD;
	case CH_SIZE_LF:
		if (ch != '\n')
			return CH_BAD;
		credit = 16 + 2 * c->remaining;
		c->excess = c->excess > credit ? c->excess - credit : 0;
		if (c->excess > HTTP_MAX_HEAD)
			return CH_BAD;
		c->line_len = 0;
		if (c->remaining == 0)
			return CH_TRAILER;
		c->total += c->remaining;
		return CH_DATA;
	case CH_DATA_CR:
		return ch == '\r' ? CH_DATA_LF : CH_BAD;
	case CH_DATA_LF:
		if (ch != '\n')
			return CH_BAD;
		c->line_len = 0;
		return CH_SIZE0;
	case CH_TRAILER:
		if (ch == '\r')
			return CH_END_LF;
		/* A blank here would be obs-fold; ":" an empty name. */
		return is_tchar(ch) ? CH_TR_NAME : CH_BAD;
	case CH_TR_NAME:
		if (ch == ':')
			return CH_TR_VALUE;
		return is_tchar(ch) ? CH_TR_NAME : CH_BAD;
	case CH_TR_VALUE:
		if (ch == '\r')
			return CH_TR_LF;
		return is_fieldchar(ch) ? CH_TR_VALUE : CH_BAD;
	case CH_TR_LF:
		return ch == '\n' ? CH_TRAILER : CH_BAD;
	case CH_END_LF:
		return ch == '\n' ? CH_DONE : CH_BAD;
	default:
		return CH_BAD;
	}
}

int
http_chunked_feed(struct http_chunked *c, char *buf, size_t len,
    size_t *consumed, size_t *out_len, int *status)
{
	size_t i = 0, o = 0, n;
	int rc;

	for (;;) {
		if (c->state == CH_DONE) {
			rc = 1;
			break;
		}
		if (c->state == CH_BAD || c->state == CH_TOOBIG) {
			*status = c->state == CH_BAD ? 400 : 413;
			rc = -1;
			break;
		}
		if (i == len) {
			rc = 0;
			break;
		}
		if (c->state == CH_DATA) {
			/* o <= i always: framing bytes are only ever dropped. */
			n = len - i;
			if (n > c->remaining)
				n = (size_t)c->remaining;
			if (o != i)
				memmove(buf + o, buf + i, n);
			o += n;
			i += n;
			c->remaining -= n;
			if (c->remaining == 0)
				c->state = CH_DATA_CR;
			continue;
		}
		c->state = chunk_byte(c, (unsigned char)buf[i]);
		i++;
	}
	*consumed = i;
	*out_len = o;
	return rc;
}

void
http_date(int64_t t, char *buf, size_t len)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	time_t tt;

	/* IMF-fixdate has a four-digit year: keep t inside 1970..9999. */
	if (t < 0)
		t = 0;
	if (t > INT64_C(253402300799)) /* 9999-12-31T23:59:59Z */
		t = INT64_C(253402300799);
	tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL) {
		tt = 0;
		gmtime_r(&tt, &tm);
	}
	if (len == 0)
		return;
	/* Month and day names are fixed English, never the locale's. */
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 416:
		return "Range Not Satisfiable";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "";
	}
}
