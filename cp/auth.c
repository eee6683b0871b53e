#include "cp/auth.h"

#include <sodium.h>
#include <stdatomic.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "cp/store.h"

int
auth_token_new(const char *prefix, char *buf, size_t len)
{
	unsigned char raw[32];
	char enc[64];
	int rc;

	randombytes_buf(raw, sizeof(raw));
	rc = util_b64url(enc, sizeof(enc), raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	if (rc != 0 || strlen(prefix) + 1 + strlen(enc) + 1 > len) {
		sodium_memzero(enc, sizeof(enc));
		return -1;
	}
	memcpy(buf, prefix, strlen(prefix));
	buf[strlen(prefix)] = '_';
	memcpy(buf + strlen(prefix) + 1, enc, strlen(enc) + 1);
	sodium_memzero(enc, sizeof(enc));
	return 0;
}

int
auth_token_hash(const char *token, unsigned char hash[32])
{
	size_t n = strlen(token), i;

	/* "efX_" + 43 base64url characters, nothing else. */
	if (n != 47 || strncmp(token, "ef", 2) != 0 || token[3] != '_')
		return -1;
	for (i = 4; i < n; i++) {
		char c = token[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_'))
			return -1;
	}
	crypto_generichash(hash, 32, (const unsigned char *)token, n,
	    cp.hash_key, sizeof(cp.hash_key));
	return 0;
}

enum role
auth_role_parse(const char *s)
{
	if (s == NULL)
		return ROLE_NONE;
	if (strcmp(s, "viewer") == 0)
		return ROLE_VIEWER;
	if (strcmp(s, "operator") == 0)
		return ROLE_OPERATOR;
	if (strcmp(s, "admin") == 0)
		return ROLE_ADMIN;
	return ROLE_NONE;
}

const char *
auth_role_name(enum role r)
{
	switch (r) {
	case ROLE_VIEWER:
		return "viewer";
	case ROLE_OPERATOR:
		return "operator";
	case ROLE_ADMIN:
		return "admin";
	default:
		return "none";
	}
}

/* When recording a token's use last failed. */
static atomic_llong auth_touch_failed;

enum role
auth_hash_role(
    const unsigned char hash[32], int64_t now, char *name, size_t namelen)
{
	struct store_apitoken t;
	enum role r;

	name[0] = '\0';
	if (store_apitoken_find(cp.store, hash, &t) != STORE_OK ||
	    t.revoked_at != 0)
		return ROLE_NONE;
	if (t.expires_at != 0 && now >= t.expires_at) {
		/* For the operator's log; the caller hears no more than 401. */
		log_info("event=api_token_expired name=%s expires_at=%lld",
		    t.name, (long long)t.expires_at);
		return ROLE_NONE;
	}
	if ((r = auth_role_parse(t.role)) == ROLE_NONE)
		return ROLE_NONE;
	/*
	 * A failed write (disk full) costs the record, not the request, and
	 * is not tried again for a while: reads go on without a write each.
	 */
	if (now - t.last_used >= AUTH_USED_RESOLUTION_S &&
	    now - atomic_load(&auth_touch_failed) >= AUTH_USED_RESOLUTION_S &&
	    store_apitoken_touch(cp.store, hash, now) != STORE_OK)
		atomic_store(&auth_touch_failed, now);
	util_strlcpy(name, t.name, namelen);
	return r;
}

enum role
auth_bearer(const char *header, char *name, size_t namelen)
{
	unsigned char hash[32];
	enum role r;

	name[0] = '\0';
	if (header == NULL || strncmp(header, "Bearer ", 7) != 0)
		return ROLE_NONE;
	if (strncmp(header + 7, "efa_", 4) != 0 ||
	    auth_token_hash(header + 7, hash) != 0)
		return ROLE_NONE;
	r = auth_hash_role(hash, util_now(), name, namelen);
	sodium_memzero(hash, sizeof(hash));
	return r;
}
