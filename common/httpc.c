#include "common/httpc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

struct httpc {
	CURL *curl;
	char base[512];
	size_t max_body;
	long timeout_ms;
	char errbuf[CURL_ERROR_SIZE];
};

struct httpc_sink {
	struct httpc_resp *resp;
	size_t cap;
	size_t max;
	int overflow;
	/* A streamed request only. */
	CURL *curl;
	const struct httpc_stream *st;
	size_t streamed;
	int stream_failed;
	char *err;
	size_t errlen;
};

int
httpc_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void
httpc_global_cleanup(void)
{
	curl_global_cleanup();
}

struct httpc *
httpc_new(const struct httpc_opts *o, char *err, size_t errlen)
{
	struct httpc *h;

	if (strlen(o->base_url) >= sizeof(h->base)) {
		snprintf(err, errlen, "server URL too long");
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(h);
		return NULL;
	}
	util_strlcpy(h->base, o->base_url, sizeof(h->base));
	h->max_body = o->max_body ? o->max_body : HTTPC_MAX_BODY;
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "https");
	h->timeout_ms = o->timeout_ms ? o->timeout_ms : 30000L;
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS,
	    o->connect_timeout_ms ? o->connect_timeout_ms : 10000L);
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(h->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "edgefleet");
	if (o->pin != NULL && o->pin[0] != '\0') {
		/* The pin is the trust anchor; there is no CA to check. */
		curl_easy_setopt(h->curl, CURLOPT_PINNEDPUBLICKEY, o->pin);
		curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 0L);
		/* Nor a CA bundle to parse on every new connection. */
		curl_easy_setopt(h->curl, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(h->curl, CURLOPT_CAPATH, NULL);
	}
	return h;
}

void
httpc_free(struct httpc *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	free(h);
}

/* libcurl's progress callback: a streamed transfer's stop hook. */
static int
httpc_xfer_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct httpc_sink *s = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (s->st->stop(s->st->arg, s->err, s->errlen) != 0) {
		s->stream_failed = 1;
		return 1;
	}
	return 0;
}

static size_t
httpc_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct httpc_sink *s = arg;
	struct httpc_resp *r = s->resp;
	size_t n = size * nmemb;
	long code = 0;

	if (s->st != NULL &&
	    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code) ==
		CURLE_OK &&
	    code >= 200 && code < 300) {
		if (s->streamed + n > s->st->max) {
			s->overflow = 2;
			return 0;
		}
		if (s->st->fn(s->st->arg, ptr, n, s->err, s->errlen) != 0) {
			s->stream_failed = 1;
			return 0;
		}
		s->streamed += n;
		return n;
	}
	if (r->len + n > s->max) {
		s->overflow = 1;
		return 0;
	}
	if (r->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *nb;

		while (cap < r->len + n + 1)
			cap *= 2;
		if ((nb = realloc(r->body, cap)) == NULL)
			return 0;
		r->body = nb;
		s->cap = cap;
	}
	memcpy(r->body + r->len, ptr, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/*
 * If the header line buf starts with name, copy its trimmed value into
 * val (NUL-terminated) and return 1; 0 when it is another header or the
 * value does not fit.
 */
static int
httpc_header_value(
    const char *buf, size_t n, const char *name, char *val, size_t len)
{
	size_t nl = strlen(name), vlen;
	const char *v;

	if (n <= nl || strncasecmp(buf, name, nl) != 0)
		return 0;
	v = buf + nl;
	while (*v == ' ' && v < buf + n)
		v++;
	vlen = n - (size_t)(v - buf);
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
		vlen--;
	if (vlen >= len)
		return 0;
	memcpy(val, v, vlen);
	val[vlen] = '\0';
	return 1;
}

static size_t
httpc_header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct httpc_sink *s = arg;
	size_t n = size * nitems;
	char num[24];
	int64_t v;

	if (httpc_header_value(
		buf, n, "ETag:", s->resp->etag, sizeof(s->resp->etag)) ||
	    httpc_header_value(buf, n, "X-Edge-State-Signature:",
		s->resp->state_sig, sizeof(s->resp->state_sig)) ||
	    httpc_header_value(buf, n, "X-Edge-State-Key:", s->resp->state_key,
		sizeof(s->resp->state_key)))
		return n;
	if (httpc_header_value(buf, n, "Retry-After:", num, sizeof(num)) &&
	    util_parse_i64(num, 0, 86400, &v) == 0)
		s->resp->retry_after = (long)v;
	else if (httpc_header_value(
		     buf, n, "X-Edge-Server-Time:", num, sizeof(num)) &&
	    util_parse_i64(num, 0, INT64_MAX, &v) == 0)
		s->resp->server_time = v;
	return n;
}

static int
httpc_perform(struct httpc *h, const char *method, const char *path,
    const char *const *headers, const void *body, size_t len,
    const struct httpc_stream *st, struct httpc_resp *out, char *err,
    size_t errlen)
{
	struct curl_slist *hl = NULL, *tmp;
	struct httpc_sink sink;
	char url[1024];
	CURLcode rc;
	int ret = -1;

	memset(&sink, 0, sizeof(sink));
	sink.resp = out;
	sink.max = h->max_body;
	sink.curl = h->curl;
	sink.st = st;
	sink.err = err;
	sink.errlen = errlen;
	memset(out, 0, sizeof(*out));
	out->retry_after = -1;
	out->server_time = -1;
	if ((size_t)snprintf(url, sizeof(url), "%s%s", h->base, path) >=
	    sizeof(url)) {
		snprintf(err, errlen, "URL too long");
		return -1;
	}
	for (; headers != NULL && *headers != NULL; headers++) {
		if ((tmp = curl_slist_append(hl, *headers)) == NULL)
			goto out;
		hl = tmp;
	}
	/* No "Expect: 100-continue" round trip for our small bodies. */
	if ((tmp = curl_slist_append(hl, "Expect:")) == NULL)
		goto out;
	hl = tmp;
	h->errbuf[0] = '\0';
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, httpc_write_cb);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, httpc_header_cb);
	curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, &sink);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, NULL);
	} else {
		curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(
		    h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST,
		    strcmp(method, "POST") == 0 ? NULL : method);
	}
	if (st != NULL) {
		curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, st->timeout_ms);
		curl_easy_setopt(
		    h->curl, CURLOPT_LOW_SPEED_LIMIT, st->low_speed_bps);
		curl_easy_setopt(
		    h->curl, CURLOPT_LOW_SPEED_TIME, st->low_speed_s);
		if (st->stop != NULL) {
			curl_easy_setopt(
			    h->curl, CURLOPT_XFERINFOFUNCTION, httpc_xfer_cb);
			curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, &sink);
			curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
		}
	}
	rc = curl_easy_perform(h->curl);
	if (st != NULL) {
		curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, h->timeout_ms);
		curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_LIMIT, 0L);
		curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_TIME, 0L);
		curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 1L);
		curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, NULL);
		curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, NULL);
	}
	if (rc != CURLE_OK) {
		/*
		 * overflow is 2 only when the write callback streamed, which
		 * it does only with st set; the analyzer cannot see into the
		 * callback and takes st for possibly NULL here.
		 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-null-dereference"
		if (sink.overflow)
			snprintf(err, errlen, "response larger than %zu bytes",
			    sink.overflow == 2 ? st->max : h->max_body);
		else if (!sink.stream_failed) /* else fn or stop said why */
			snprintf(err, errlen, "%s",
			    h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
#pragma GCC diagnostic pop
		httpc_resp_clear(out);
		goto out;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &out->status);
	if (out->body == NULL && (out->body = calloc(1, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ret = 0;
out:
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	return ret;
}

int
httpc_request(struct httpc *h, const char *method, const char *path,
    const char *const *headers, const void *body, size_t len,
    struct httpc_resp *out, char *err, size_t errlen)
{
	return httpc_perform(
	    h, method, path, headers, body, len, NULL, out, err, errlen);
}

int
httpc_request_stream(struct httpc *h, const char *method, const char *path,
    const char *const *headers, const struct httpc_stream *st,
    struct httpc_resp *out, char *err, size_t errlen)
{
	return httpc_perform(
	    h, method, path, headers, NULL, 0, st, out, err, errlen);
}

void
httpc_resp_clear(struct httpc_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}
