#include "common/relkey.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

#define RELKEY_PREFIX "edgefleet-release-key "

static const char *const relkey_names[RELKEY_NCOMP] = { "dataplane", "keeper" };

int
relkey_release_comment(char *out, size_t len, const char *component,
    const char *version, uint64_t size, const char *sha256, int64_t seq)
{
	int n = snprintf(out, len,
	    "edgefleet component=%s version=%s size=%llu sha256=%s seq=%lld",
	    component, version, (unsigned long long)size, sha256,
	    (long long)seq);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
relkey_component(const char *name)
{
	int i;

	for (i = 0; i < RELKEY_NCOMP; i++)
		if (strcmp(name, relkey_names[i]) == 0)
			return i;
	return -1;
}

/* The trusted comment announcing next with these cut-offs. */
static int
relkey_comment(const struct msig_pub *next, const int64_t cutoff[RELKEY_NCOMP],
    char *out, size_t len)
{
	char id[MSIG_KEYIDHEX];
	int n;

	if (msig_keyid_hex(next->keyid, id, sizeof(id)) != 0)
		return -1;
	n = snprintf(out, len,
	    RELKEY_PREFIX "next=%s dataplane_seq=%lld "
			  "keeper_seq=%lld",
	    id, (long long)cutoff[0], (long long)cutoff[1]);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The base64 line of a public key, without its comment and "\n". */
static int
relkey_pub_b64(const struct msig_pub *pub, char *out, size_t len)
{
	char text[MSIG_PUB_TEXT_MAX];
	const char *nl;
	size_t n;

	if (msig_pub_encode(pub, text, sizeof(text)) != 0 ||
	    (nl = strchr(text, '\n')) == NULL)
		return -1;
	n = strcspn(nl + 1, "\n");
	if (n >= len)
		return -1;
	memcpy(out, nl + 1, n);
	out[n] = '\0';
	return 0;
}

int
relkey_make(const struct msig_sec *old, const struct msig_pub *next,
    const int64_t cutoff[RELKEY_NCOMP], char *pub_text, size_t publen,
    char *stmt, size_t stmtlen, char *err, size_t errlen)
{
	char tc[MSIG_TRUSTED_MAX];

	if (cutoff[0] < 0 || cutoff[1] < 0) {
		snprintf(err, errlen, "a cut-off sequence is 0 or more");
		return -1;
	}
	if (msig_pub_encode(next, pub_text, publen) != 0 ||
	    relkey_comment(next, cutoff, tc, sizeof(tc)) != 0) {
		snprintf(err, errlen, "output buffer too small");
		return -1;
	}
	return msig_sign(
	    old, pub_text, strlen(pub_text), tc, stmt, stmtlen, err, errlen);
}

/*
 * " name=<number>" at *p, the number 0..INT64_MAX in canonical form (the
 * caller compares the whole comment with the one it would write).
 */
static int
relkey_num(const char **p, const char *name, int64_t *out)
{
	char num[24];
	size_t n, k = strlen(name);

	if (strncmp(*p, name, k) != 0 || (*p)[k] != '=')
		return -1;
	*p += k + 1;
	n = strcspn(*p, " ");
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, *p, n);
	num[n] = '\0';
	*p += n;
	if (**p == ' ')
		(*p)++;
	return util_parse_i64(num, 0, INT64_MAX, out);
}

int
relkey_verify(const struct msig_pub *signer, const char *pub_text,
    const char *stmt, struct relkey_rotation *out, char *err, size_t errlen)
{
	unsigned char keyid[MSIG_KEYIDBYTES];
	char tc[MSIG_TRUSTED_MAX + 1], want[MSIG_TRUSTED_MAX];
	const char *p;

	memset(out, 0, sizeof(*out));
	if (msig_sig_keyid(stmt, keyid, err, errlen) != 0)
		return -1;
	if (memcmp(keyid, signer->keyid, sizeof(keyid)) != 0)
		return RELKEY_OTHER_SIGNER;
	if (strnlen(pub_text, RELKEY_PUB_TEXT_MAX + 1) > RELKEY_PUB_TEXT_MAX) {
		snprintf(err, errlen, "public key text longer than %d bytes",
		    RELKEY_PUB_TEXT_MAX);
		return -1;
	}
	if (msig_verify(signer, pub_text, strlen(pub_text), stmt, tc,
		sizeof(tc), err, errlen) != 0)
		return -1;
	if (msig_pub_decode(pub_text, &out->next, err, errlen) != 0)
		goto fail;
	p = tc;
	if (strncmp(p, RELKEY_PREFIX "next=", strlen(RELKEY_PREFIX) + 5) != 0)
		goto notours;
	p += strlen(RELKEY_PREFIX) + 5;
	p += strcspn(p, " ");
	if (*p == ' ')
		p++;
	if (relkey_num(&p, "dataplane_seq", &out->cutoff[0]) != 0 ||
	    relkey_num(&p, "keeper_seq", &out->cutoff[1]) != 0 ||
	    relkey_comment(&out->next, out->cutoff, want, sizeof(want)) != 0)
		goto notours;
	/* Also the key id: the comment names the key the text holds. */
	if (strcmp(tc, want) != 0) {
		snprintf(err, errlen,
		    "rotation statement does not name the key it signs, or is "
		    "not in canonical form");
		goto fail;
	}
	if (memcmp(out->next.keyid, signer->keyid, MSIG_KEYIDBYTES) == 0 ||
	    sodium_memcmp(out->next.pk, signer->pk, MSIG_PKBYTES) == 0) {
		snprintf(
		    err, errlen, "rotation statement announces its signer");
		goto fail;
	}
	return 0;
notours:
	snprintf(err, errlen, "not a release key rotation statement");
fail:
	memset(out, 0, sizeof(*out));
	return -1;
}

int
relkey_retired_parse(const char *text, size_t len, struct relkey_retired *out,
    size_t max, size_t *n, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	char line[RELKEY_LINE_MAX], b64[80], again[RELKEY_LINE_MAX];
	struct relkey_retired r;
	size_t k;

	*n = 0;
	if (len > RELKEY_RETIRED_MAX) {
		snprintf(err, errlen, "retired key list longer than %d bytes",
		    RELKEY_RETIRED_MAX);
		return -1;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *q;

		k = (size_t)((nl != NULL ? nl : end) - p);
		if (nl == NULL || k == 0 || k >= sizeof(line) ||
		    memchr(p, '\0', k) != NULL) {
			snprintf(err, errlen,
			    "retired key list line %zu: "
			    "malformed",
			    *n + 1);
			return -1;
		}
		memcpy(line, p, k);
		line[k] = '\0';
		p = nl + 1;
		memset(&r, 0, sizeof(r));
		k = strcspn(line, " ");
		q = line + k;
		if (k == 0 || k >= sizeof(b64) || *q++ != ' ')
			goto bad;
		memcpy(b64, line, k);
		b64[k] = '\0';
		if (msig_pub_decode(b64, &r.key, err, errlen) != 0 ||
		    relkey_num(&q, "dataplane_seq", &r.cutoff[0]) != 0 ||
		    relkey_num(&q, "keeper_seq", &r.cutoff[1]) != 0)
			goto bad;
		/* Canonical: written back, the line is the same. */
		again[0] = '\0';
		if (relkey_retired_append(again, sizeof(again), &r) != 0 ||
		    strncmp(again, line, strlen(line)) != 0 ||
		    strlen(again) != strlen(line) + 1)
			goto bad;
		if (relkey_retired_find(out, *n, r.key.keyid) != NULL) {
			snprintf(err, errlen,
			    "retired key list line %zu: the "
			    "key is there twice",
			    *n + 1);
			return -1;
		}
		if (*n == max) {
			snprintf(
			    err, errlen, "more than %zu retired keys", max);
			return -1;
		}
		out[(*n)++] = r;
	}
	return 0;
bad:
	snprintf(err, errlen, "retired key list line %zu: malformed", *n + 1);
	return -1;
}

int
relkey_retired_append(char *buf, size_t bufsize, const struct relkey_retired *r)
{
	char b64[80];
	size_t used = strnlen(buf, bufsize);
	int n;

	if (used >= bufsize || relkey_pub_b64(&r->key, b64, sizeof(b64)) != 0)
		return -1;
	n = snprintf(buf + used, bufsize - used,
	    "%s dataplane_seq=%lld keeper_seq=%lld\n", b64,
	    (long long)r->cutoff[0], (long long)r->cutoff[1]);
	if (n < 0 || (size_t)n >= bufsize - used) {
		buf[used] = '\0';
		return -1;
	}
	return 0;
}

const struct relkey_retired *
relkey_retired_find(const struct relkey_retired *list, size_t n,
    const unsigned char keyid[MSIG_KEYIDBYTES])
{
	size_t i;

	for (i = 0; i < n; i++)
		if (memcmp(list[i].key.keyid, keyid, MSIG_KEYIDBYTES) == 0)
			return &list[i];
	return NULL;
}
