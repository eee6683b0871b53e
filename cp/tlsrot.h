/*
 * tlsrot: rotating edge-cp's TLS key without cutting nodes off.
 *
 * Nodes pin the TLS public key (curl's pinned public key), not a CA, so a
 * new key is only reachable by nodes that were told its pin first.  They
 * are told in the signed desired state ("tls_pins", common/statesig.h),
 * and the keeper stores what it is told in keeper.conf (keeper/trust.h):
 *
 *	  steady: tls.key/crt              doc: no tls_pins (never rotated)
 *	     │ edge-cp tls rotate          (writes tls.next.key/crt)
 *	     ▼ restart edge-cp
 *	  staged: tls.key + tls.next.key   doc: tls_pins [current, next]
 *	     │ every node checked in since (node list: last seen)
 *	     │ edge-cp tls switch          (tls.key/crt -> tls.old.key/crt,
 *	     ▼ restart edge-cp              tls.next.key/crt -> tls.key/crt)
 *	  switched: tls.key (new)          doc: tls_pins [new]; a node drops
 *	                                   the old pin at its next check-in
 *
 * Once a rotation has been staged or done (tls.next.crt or tls.old.crt
 * is there), every document carries tls_pins; before, none does, so a
 * fleet whose keepers predate tls_pins keeps working until its operator
 * first rotates (keepers first, then rotate: docs/operator-guide.md).
 *
 * The files are edge-cp's data directory's; the commands work on it
 * directly, with edge-cp running or not: what edge-cp serves and
 * announces changes when it restarts.  `switch` is safe to run again
 * after a crash: it copies the current pair to tls.old.* before it
 * renames the staged pair over it, key first, then certificate, and a
 * second run finishes a rename it finds half done.
 */
#ifndef EF_CP_TLSROT_H
#define EF_CP_TLSROT_H

#include <jansson.h>
#include <stddef.h>

/*
 * At start-up, once the TLS pair is loaded and its pin (current) known:
 * read what the data directory says about a rotation.  0, or -1 with err
 * (a staged certificate that cannot be read: edge-cp must not announce a
 * pin it did not compute).  Before any thread starts.
 */
int tlsrot_load(const char *dir, const char *current, char *err, size_t errlen);

/*
 * The pins every desired-state document announces: a new JSON array of
 * "sha256//..." strings the caller owns, or NULL when none is announced.
 * Thread-safe after tlsrot_load().
 */
json_t *tlsrot_pins(void);

/* `edge-cp tls rotate|switch|status [--data-dir DIR]`; an exit status. */
int tlsrot_main(int argc, char **argv);

#endif
