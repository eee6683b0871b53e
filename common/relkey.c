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

/* One entry line, written canonically; -1 when it does not fit. */
static int
relkey_revoked_line(
    const struct relkey_revoked *r, size_t i, char *out, size_t len)
{
	int n;

	if (r->e[i].seq > 0)
		n = snprintf(out, len, "%s seq=%lld\n",
		    relkey_names[r->e[i].comp], (long long)r->e[i].seq);
	else
		n = snprintf(out, len, "%s version=%s\n",
		    relkey_names[r->e[i].comp], r->e[i].version);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int
relkey_revoked_parse(const char *text, size_t len, struct relkey_revoked *out,
    char *err, size_t errlen)
{
	const char *p = text, *end = text + len, *nl, *q;
	char line[128];
	size_t k;
	int n;

	memset(out, 0, sizeof(*out));
	if (len > RELKEY_REVOKED_TEXT_MAX || memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "revocation list: too long or not text");
		return -1;
	}
	for (n = 0; p < end; n++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    (k = (size_t)(nl - p)) == 0 || k >= sizeof(line))
			goto bad;
		memcpy(line, p, k);
		line[k] = '\0';
		p = nl + 1;
		q = line;
		if (n == 0) {
			if (strncmp(q, "edgefleet-revoked ", 18) != 0)
				goto bad;
			q += 18;
			if (relkey_num(&q, "serial", &out->serial) != 0 ||
			    *q != '\0' || out->serial < 1)
				goto bad;
			continue;
		}
		if (out->n == RELKEY_REVOKED_MAX) {
			snprintf(err, errlen,
			    "revocation list: more than %d "
			    "entries",
			    RELKEY_REVOKED_MAX);
			goto fail;
		}
		k = strcspn(q, " ");
		if (line[k] != ' ')
			goto bad;
		line[k] = '\0';
		if ((out->e[out->n].comp = relkey_component(line)) < 0)
			goto bad;
		q = line + k + 1;
		if (strncmp(q, "version=", 8) == 0) {
			if (!util_version_ok(q + 8) ||
			    strlen(q + 8) >= sizeof(out->e[0].version))
				goto bad;
			util_strlcpy(out->e[out->n].version, q + 8,
			    sizeof(out->e[0].version));
		} else if (relkey_num(&q, "seq", &out->e[out->n].seq) != 0 ||
		    *q != '\0' || out->e[out->n].seq < 1)
			goto bad;
		out->n++;
	}
	if (n == 0)
		goto bad;
	/* Canonical: each entry written back is its line. */
	{
		char again[RELKEY_REVOKED_TEXT_MAX + 1];
		size_t used;
		size_t i;
		int w;

		w = snprintf(again, sizeof(again),
		    "edgefleet-revoked "
		    "serial=%lld\n",
		    (long long)out->serial);
		used = (size_t)w;
		for (i = 0; i < out->n; i++) {
			if ((w = relkey_revoked_line(out, i, again + used,
				 sizeof(again) - used)) < 0)
				goto bad;
			used += (size_t)w;
		}
		if (used != len || memcmp(again, text, len) != 0)
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "revocation list line %d: malformed", n + 1);
fail:
	memset(out, 0, sizeof(*out));
	return -1;
}

int
relkey_revoked_verify(const struct msig_pub *key, const char *text,
    const char *sig, struct relkey_revoked *out, char *err, size_t errlen)
{
	char tc[MSIG_TRUSTED_MAX + 1], want[64];

	memset(out, 0, sizeof(*out));
	if (msig_verify(key, text, strlen(text), sig, tc, sizeof(tc), err,
		errlen) != 0 ||
	    relkey_revoked_parse(text, strlen(text), out, err, errlen) != 0)
		return -1;
	snprintf(want, sizeof(want), "edgefleet-revoked serial=%lld",
	    (long long)out->serial);
	if (strcmp(tc, want) != 0) {
		snprintf(
		    err, errlen, "the signature's comment is not \"%s\"", want);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

int
relkey_revoked_text(int64_t serial, const char *const *entries, size_t n,
    char *text, size_t len, char *err, size_t errlen)
{
	struct relkey_revoked chk;
	size_t used, i;
	int w;

	w = snprintf(
	    text, len, "edgefleet-revoked serial=%lld\n", (long long)serial);
	if (w < 0 || (size_t)w >= len)
		goto small;
	used = (size_t)w;
	for (i = 0; i < n; i++) {
		w = snprintf(text + used, len - used, "%s\n", entries[i]);
		if (w < 0 || (size_t)w >= len - used)
			goto small;
		used += (size_t)w;
	}
	return relkey_revoked_parse(text, used, &chk, err, errlen);
small:
	snprintf(err, errlen, "revocation list too long");
	return -1;
}

int
relkey_revoked_has(const struct relkey_revoked *r, const char *component,
    const char *version, int64_t seq)
{
	int c = relkey_component(component);
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->e[i].comp == c &&
		    (r->e[i].seq > 0 ? r->e[i].seq == seq
				     : strcmp(r->e[i].version, version) == 0))
			return 1;
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
