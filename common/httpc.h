/*
 * httpc: the HTTPS client every edgefleet program uses to talk to edge-cp
 * (the operator CLI, the keeper, the test and benchmark tools).  A thin
 * wrapper over one libcurl easy handle, so one httpc keeps one kept-alive
 * connection.
 *
 * Trust: edge-cp's certificate is pinned (curl's --pinnedpubkey,
 * "sha256//<base64>").  With a pin the certificate chain is not checked
 * against a CA, only the key: that is what the bootstrap line promises.
 * Without a pin the system CA store and the host name are checked.
 *
 * Ownership: httpc_new() returns an object the caller frees with
 * httpc_free().  httpc_request() fills a caller-owned httpc_resp whose
 * body the caller releases with httpc_resp_clear().  Not thread-safe: one
 * httpc per thread.
 */
#ifndef EF_HTTPC_H
#define EF_HTTPC_H

#include <stddef.h>

#define HTTPC_MAX_BODY (64u << 20)

struct httpc;

struct httpc_resp {
	long status;
	char *body; /* NUL-terminated, may be empty */
	size_t len;
	char etag[96];         /* ETag header, empty when absent */
	long retry_after;      /* Retry-After seconds, -1 when absent */
	long long server_time; /* X-Edge-Server-Time, -1 when absent */
	/* X-Edge-State-Signature and -Key (common/statesig.h); "" absent */
	char state_sig[128];
	char state_key[64];
};

struct httpc_opts {
	const char *base_url;    /* "https://host:port", no slash */
	const char *pin;         /* "sha256//...", or NULL */
	long timeout_ms;         /* whole request; 0 = 30 s */
	long connect_timeout_ms; /* 0 = 10 s */
	size_t max_body;         /* 0 = HTTPC_MAX_BODY */
};

struct httpc *httpc_new(
    const struct httpc_opts *opts, char *err, size_t errlen);
void httpc_free(struct httpc *h);

/*
 * Send one request.  path starts with "/".  headers is a NULL-terminated
 * list of "Name: value" strings (may be NULL).  Returns 0 when an HTTP
 * response arrived (any status), -1 on a transport error (message in
 * err: connection refused, pin mismatch, timeout, body over max_body).
 */
int httpc_request(struct httpc *h, const char *method, const char *path,
    const char *const *headers, const void *body, size_t len,
    struct httpc_resp *out, char *err, size_t errlen);
void httpc_resp_clear(struct httpc_resp *r);

/*
 * A streamed download: a 2xx body goes piece by piece to fn instead of
 * into memory (any other status's body is kept in out->body as usual, so
 * an error answer can still be read).  fn returns 0 to go on, -1 to stop
 * the transfer (its own message in err is kept).  The transfer also stops
 * above max bytes, when it is slower than low_speed_bps for low_speed_s
 * seconds (a stalled server), and after timeout_ms in all.  stop, when
 * set, is asked about once a second and whenever bytes arrive, from the
 * calling thread: -1 (its message in err) ends the transfer at once, so
 * a long download need not hold up its program's shutdown.
 */
struct httpc_stream {
	int (*fn)(
	    void *arg, const void *buf, size_t len, char *err, size_t errlen);
	void *arg;
	int (*stop)(void *arg, char *err, size_t errlen);
	size_t max;
	long low_speed_bps;
	long low_speed_s;
	long timeout_ms;
};

/* As httpc_request() without a body, streaming as described above. */
int httpc_request_stream(struct httpc *h, const char *method, const char *path,
    const char *const *headers, const struct httpc_stream *st,
    struct httpc_resp *out, char *err, size_t errlen);

/* Process-wide libcurl set-up; call once from main before threads. */
int httpc_global_init(void);
void httpc_global_cleanup(void);

#endif
