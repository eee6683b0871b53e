/*
 * auth: operator API tokens and enrollment tokens.
 *
 * A token is a prefix and 32 random bytes in URL-safe base64:
 *	efa_...  API tokens (viewer, operator, admin)
 *	efe_...  enrollment tokens
 * Only keyed hashes are stored: BLAKE2b-256 keyed with cp.hash_key, a
 * secret kept in DATA_DIR/hash.key and never in the database, so a copy of
 * the database alone can neither use a token nor test guesses.  Lookups go
 * by the keyed hash: whatever timing an index probe shows is about a value
 * the caller cannot compute without the key, so no byte-by-byte comparison
 * of the secret itself ever happens.
 *
 * Thread-safe once cp.hash_key is set.
 */
#ifndef EF_AUTH_H
#define EF_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "cp/server.h"

#define AUTH_TOKEN_LEN 48 /* prefix + 43 base64url chars + NUL fits */

/* Make a new token "<prefix>_<43 chars>" into buf (>= AUTH_TOKEN_LEN). */
int auth_token_new(const char *prefix, char *buf, size_t len);
/* Keyed hash of a token string; -1 when it is not a well-formed token. */
int auth_token_hash(const char *token, unsigned char hash[32]);
/*
 * A token's last use is recorded at this resolution: at most one write
 * a minute per token in use.
 */
#define AUTH_USED_RESOLUTION_S 60

/*
 * Check an "Authorization: Bearer ..." header value against the stored API
 * tokens.  Returns the role and fills name with the token's name; ROLE_NONE
 * (name "") when the header is missing or malformed, or the token is
 * unknown, revoked or expired, alike, so the answer does not tell whether
 * a token existed.  Reads the store on every call (no cache): a
 * revocation or an expiry holds from the next request on.
 */
enum role auth_bearer(const char *header, char *name, size_t namelen);
/*
 * The same check by the token's keyed hash at now, for a caller that
 * keeps the hash rather than the token (an open event stream).
 */
enum role auth_hash_role(
    const unsigned char hash[32], int64_t now, char *name, size_t namelen);
enum role auth_role_parse(const char *s);
const char *auth_role_name(enum role r);

#endif
