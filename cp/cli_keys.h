/*
 * cli_keys: the CLI's offline commands, which read a secret release key
 * from a file and connect to nothing, so they can run on a machine that
 * never talks to edge-cp (docs/operator-guide.md, "Offline signing"):
 *
 *	edge-cp release-key rotate --key OLD.key --out PREFIX
 *	    --dataplane-seq N --keeper-seq N
 *		a new key pair (PREFIX.key, 0600, never overwritten;
 *		PREFIX.pub) and the rotation statement PREFIX.rotation,
 *		signed by OLD.key (common/relkey.h)
 *	edge-cp release sign --key FILE --component C --version V --seq N
 *	    [--out SIG] BINARY
 *		the release signature edge-cp would have made (trusted
 *		comment: component, version, size, sha256, seq), written to
 *		SIG (default BINARY.minisig)
 *
 *	edge-cp revocation sign --key FILE --serial N --out LIST ENTRY...
 *		a revocation list (ENTRY: "dataplane seq=5", "keeper
 *		version=1.2.0") in LIST and its signature in LIST.minisig
 *
 * Each returns the CLI's exit status (0, 1 on an error it printed).  The
 * secret key text and the decoded key are wiped before returning.
 */
#ifndef EF_CP_CLI_KEYS_H
#define EF_CP_CLI_KEYS_H

#include <stddef.h>
#include <stdint.h>

int cli_keys_rotate(const char *keyfile, const char *prefix, int64_t dp_seq,
    int64_t keeper_seq);
int cli_keys_sign(const char *keyfile, const char *component,
    const char *version, int64_t seq, const char *binary, const char *out);

int cli_keys_revoke(const char *keyfile, int64_t serial,
    const char *const *entries, size_t n, const char *out);

#endif
