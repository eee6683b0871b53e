/*
 * relkey: release key rotation.  A new release key is announced under
 * the old one, and a node keeps the keys it retired with how far each
 * may still sign.
 *
 * A rotation statement is a minisign signature made with the OLD key over
 * the NEW key's public key file text (exactly the bytes edge-cp serves as
 * the new release.pub), with the trusted comment
 *
 *	edgefleet-release-key next=<KEYID> dataplane_seq=<N> keeper_seq=<N>
 *
 * KEYID is the new key's id as minisign prints it, and must be the id in
 * the public key text; the two numbers are the cut-offs: after the
 * rotation a release signed by the old key is admitted only when its
 * sequence is at most the cut-off of its component.  A key rotated
 * because it leaked thus signs nothing new, while the releases it signed
 * before stay valid.  The statement checks with the stock tool:
 *
 *	minisign -V -p OLD.pub -m NEW.pub -x NEW.pub.rotation
 *
 * The comment's prefix differs from a release signature's ("edgefleet "),
 * so neither can be taken for the other.  Chains work: old -> new is one
 * statement, new -> newer the next, each signed by the key before it.
 *
 * The retired keys on a node (/var/lib/edge-keeper/release.retired) are
 * one line each:
 *
 *	<base64 of the public key> dataplane_seq=<N> keeper_seq=<N>
 *
 * Pure and thread-safe; allocates nothing.  Functions return 0 or -1 with
 * one line in err.
 */
#ifndef EF_RELKEY_H
#define EF_RELKEY_H

#include <stddef.h>
#include <stdint.h>

#include "common/minisign.h"

/* Components with a sequence: index 0 "dataplane", 1 "keeper". */
#define RELKEY_NCOMP 2
/*
 * Most rotations a chain (edge-cp) or a node's retired list holds.  A
 * key rotated every week for a year fits; it bounds what a node reads.
 */
#define RELKEY_CHAIN_MAX 64
/* Longest public key text accepted in a rotation. */
#define RELKEY_PUB_TEXT_MAX 512
/* One retired line, and a whole retired list. */
#define RELKEY_LINE_MAX 128
#define RELKEY_RETIRED_MAX (RELKEY_CHAIN_MAX * RELKEY_LINE_MAX)
/*
 * How far above the newest admitted sequence a release may be: a node
 * refuses more (keeper/release.h), and edge-cp refuses an offline
 * signature further than this ahead of its own numbering.
 */
#define RELKEY_SEQ_JUMP_MAX 10000
/*
 * A revocation list: releases nodes refuse to install or start, signed
 * by the release key (minisign, over the whole text), with the trusted
 * comment "edgefleet-revoked serial=N".  The text:
 *
 *	edgefleet-revoked serial=<N>
 *	<component> seq=<N>		one line per revoked release,
 *	<component> version=<V>		by sequence or by version
 *
 * The serial is the same in the text and the comment and only grows: a
 * node never takes a list older than the one it has, so an old list
 * cannot be replayed to lift a revocation.  Check with the stock tool:
 *	minisign -V -p release.pub -m LIST -x LIST.minisig
 */
#define RELKEY_REVOKED_MAX 128
#define RELKEY_REVOKED_TEXT_MAX 16384

struct relkey_revoked {
	int64_t serial;
	size_t n;
	struct {
		int comp;         /* relkey_component() */
		int64_t seq;      /* 0 when by version */
		char version[72]; /* "" when by sequence */
	} e[RELKEY_REVOKED_MAX];
};

/* relkey_verify(): the statement is by a key other than the one given. */
#define RELKEY_OTHER_SIGNER 1

struct relkey_rotation {
	struct msig_pub next; /* the key announced */
	int64_t cutoff[RELKEY_NCOMP];
};

struct relkey_retired {
	struct msig_pub key;
	int64_t cutoff[RELKEY_NCOMP];
};

/*
 * The trusted comment of a release signature, as edge-cp signs it and
 * keeper/release.h checks it:
 *	edgefleet component=C version=V size=N sha256=HEX seq=N
 * -1 when out is too small.
 */
int relkey_release_comment(char *out, size_t len, const char *component,
    const char *version, uint64_t size, const char *sha256, int64_t seq);

/* 0 for "dataplane", 1 for "keeper", -1 for anything else. */
int relkey_component(const char *name);

/*
 * Announce next under old: the public key text of next (pub_text,
 * MSIG_PUB_TEXT_MAX bytes suffice) and the statement signed by old (stmt,
 * MSIG_SIG_TEXT_MAX bytes suffice).  Cut-offs are 0 or more.
 */
int relkey_make(const struct msig_sec *old, const struct msig_pub *next,
    const int64_t cutoff[RELKEY_NCOMP], char *pub_text, size_t publen,
    char *stmt, size_t stmtlen, char *err, size_t errlen);

/*
 * Check a statement over pub_text against signer.  0 with *out filled;
 * RELKEY_OTHER_SIGNER when the statement names another key id (a walk of
 * a chain skips it; nothing was verified); -1 when it is malformed, does
 * not verify, its comment is not a rotation's, its key id is not the one
 * in pub_text, or it announces the signer itself.
 */
int relkey_verify(const struct msig_pub *signer, const char *pub_text,
    const char *stmt, struct relkey_rotation *out, char *err, size_t errlen);

/*
 * Parse a retired list (text[0..len), at most RELKEY_RETIRED_MAX bytes)
 * into out[0..max); *n gets the count.  Strict: every line in the form
 * above, ending in "\n", no key twice.
 */
int relkey_retired_parse(const char *text, size_t len,
    struct relkey_retired *out, size_t max, size_t *n, char *err,
    size_t errlen);

/*
 * Write r as one line (with its "\n") at the end of the text in buf (a
 * string of bufsize bytes).  -1 when it does not fit; buf is unchanged.
 */
int relkey_retired_append(
    char *buf, size_t bufsize, const struct relkey_retired *r);

/*
 * Parse a revocation list text (strict, canonical, as above).  0, or -1
 * with err and *out emptied.
 */
int relkey_revoked_parse(const char *text, size_t len,
    struct relkey_revoked *out, char *err, size_t errlen);

/*
 * Verify a list's signature (sig) under key and parse the list; the
 * comment's serial must be the text's.  0, or -1 with err.
 */
int relkey_revoked_verify(const struct msig_pub *key, const char *text,
    const char *sig, struct relkey_revoked *out, char *err, size_t errlen);

/*
 * The list text for serial and entries ("dataplane seq=5", ...), into
 * text (RELKEY_REVOKED_TEXT_MAX), checked by relkey_revoked_parse().
 */
int relkey_revoked_text(int64_t serial, const char *const *entries, size_t n,
    char *text, size_t len, char *err, size_t errlen);

/* Is this release on the list? */
int relkey_revoked_has(const struct relkey_revoked *r, const char *component,
    const char *version, int64_t seq);

/* The entry for keyid in list[0..n), or NULL. */
const struct relkey_retired *relkey_retired_find(
    const struct relkey_retired *list, size_t n,
    const unsigned char keyid[MSIG_KEYIDBYTES]);

#endif
