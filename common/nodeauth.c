#include "common/nodeauth.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

/*
 * Read ",name=DIGITS" at p into num (up to the next comma) and return the
 * position of that comma; NULL when absent, too long, not all digits, or
 * spelled with a leading zero (one spelling per number: strtoll alone
 * would also read "-0" and " 1").
 */
static const char *
nodeauth_num(const char *p, const char *name, char *num, size_t len)
{
	size_t nl = strlen(name);
	const char *e;

	if (strncmp(p, name, nl) != 0)
		return NULL;
	p += nl;
	if ((e = strchr(p, ',')) == NULL || (size_t)(e - p) >= len)
		return NULL;
	memcpy(num, p, (size_t)(e - p));
	num[e - p] = '\0';
	if (strspn(num, "0123456789") != (size_t)(e - p) ||
	    (num[0] == '0' && num[1] != '\0'))
		return NULL;
	return e;
}

int
nodeauth_parse(const char *value, struct nodeauth_hdr *out)
{
	char tag[64];
	const char *p = value;
	char num[24];
	size_t n;

	if (strncmp(p, "EdgeNode sid=", 13) != 0)
		return -1;
	p += 13;
	for (n = 0; n < NODEAUTH_SIDHEX; n++) {
		char c = p[n];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		out->sid[n] = c;
	}
	out->sid[n] = '\0';
	p += n;
	if ((p = nodeauth_num(p, ",ctr=", num, sizeof(num))) == NULL ||
	    util_parse_u64(num, UINT64_MAX, &out->ctr) != 0)
		return -1;
	if ((p = nodeauth_num(p, ",ts=", num, sizeof(num))) == NULL ||
	    util_parse_i64(num, 0, INT64_MAX, &out->ts) != 0)
		return -1;
	if (strncmp(p, ",tag=", 5) != 0)
		return -1;
	p += 5;
	if (strlen(p) >= sizeof(tag))
		return -1;
	memcpy(tag, p, strlen(p) + 1);
	if (util_unb64url(out->tag, sizeof(out->tag), tag) != NODEAUTH_TAGBYTES)
		return -1;
	return 0;
}

int
nodeauth_format(char *buf, size_t len, const struct nodeauth_hdr *h)
{
	char tag[64];
	int n;

	if (util_b64url(tag, sizeof(tag), h->tag, sizeof(h->tag)) != 0)
		return -1;
	n = snprintf(buf, len, "EdgeNode sid=%s,ctr=%llu,ts=%lld,tag=%s",
	    h->sid, (unsigned long long)h->ctr, (long long)h->ts, tag);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

void
nodeauth_body_hash(const void *body, size_t len, unsigned char out[32])
{
	crypto_hash_sha256(out, body, len);
}

static int
nodeauth_req_msg(char *buf, size_t len, const char *method, const char *path,
    const char *node_id, uint64_t ctr, int64_t ts,
    const unsigned char body_hash[32])
{
	char hex[65];
	int n;

	if (strchr(method, '\n') || strchr(path, '\n') || strchr(node_id, '\n'))
		return -1;
	util_hex(hex, sizeof(hex), body_hash, 32);
	n = snprintf(buf, len, "edgefleet-req-v1\n%s\n%s\n%s\n%llu\n%lld\n%s",
	    method, path, node_id, (unsigned long long)ctr, (long long)ts, hex);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int
nodeauth_tag(const unsigned char key[NODEAUTH_KEYBYTES], const char *method,
    const char *path, const char *node_id, uint64_t ctr, int64_t ts,
    const unsigned char body_hash[32], unsigned char tag[NODEAUTH_TAGBYTES])
{
	char msg[1024];
	int n;

	n = nodeauth_req_msg(
	    msg, sizeof(msg), method, path, node_id, ctr, ts, body_hash);
	if (n < 0)
		return -1;
	crypto_auth(tag, (const unsigned char *)msg, (size_t)n, key);
	return 0;
}

int
nodeauth_check(const unsigned char key[NODEAUTH_KEYBYTES], const char *method,
    const char *path, const char *node_id, const struct nodeauth_hdr *h,
    const unsigned char body_hash[32])
{
	char msg[1024];
	int n;

	n = nodeauth_req_msg(
	    msg, sizeof(msg), method, path, node_id, h->ctr, h->ts, body_hash);
	if (n < 0)
		return -1;
	return crypto_auth_verify(
		   h->tag, (const unsigned char *)msg, (size_t)n, key) == 0
	    ? 0
	    : -1;
}

int
nodeauth_enroll_msg(char *buf, size_t len, const char *token,
    const char *public_key_b64, const char *hostname)
{
	int n;

	if (strchr(token, '\n') || strchr(public_key_b64, '\n') ||
	    strchr(hostname, '\n'))
		return -1;
	n = snprintf(buf, len, "edgefleet-enroll-v1\n%s\n%s\n%s", token,
	    public_key_b64, hostname);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int
nodeauth_session_msg(char *buf, size_t len, const char *node_id, int64_t ts,
    const char *kx_public_key_b64)
{
	int n;

	if (strchr(node_id, '\n') || strchr(kx_public_key_b64, '\n'))
		return -1;
	n = snprintf(buf, len, "edgefleet-session-v1\n%s\n%lld\n%s", node_id,
	    (long long)ts, kx_public_key_b64);
	return n < 0 || (size_t)n >= len ? -1 : n;
}
