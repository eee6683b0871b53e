/*
 * desired: the desired-state document as the keeper uses it, parsed and
 * validated as a whole before any step runs (schema/desired.schema.json).
 * A document with one bad step is refused whole and the last good one
 * stays in force: a node never runs half a profile.
 *
 * kdesired_parse() returns a new object the caller frees with
 * kdesired_free(), or NULL with a message in err.  Pure, thread-safe.
 */
#ifndef EF_KEEPER_DESIRED_H
#define EF_KEEPER_DESIRED_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "steps/steplist.h"

struct kdesired {
	char node_id[40];
	int64_t interval_s;
	int64_t profile_version;
	/* The profile may be below the highest one applied (T38). */
	bool profile_rollback;
	bool drain;
	char dataplane_version[65];
	char keeper_version[65];
	/* An older release than the newest admitted may be installed. */
	bool dataplane_rollback;
	bool keeper_rollback;
	struct step_inst *steps;
	size_t nsteps;
	json_t *pop; /* the POP section */
	json_t *bgp; /* its "bgp", validated again here; NULL when none */
	char router_id[16]; /* this node's BGP router id; "" when unknown */
	/* The release key id edge-cp signs with now; "" when it names none. */
	char release_key[17];
	/* The serial of edge-cp's revocation list; 0 when it has none. */
	int64_t revocations;
};

struct kdesired *kdesired_parse(
    const char *text, size_t len, char *err, size_t errlen);
void kdesired_free(struct kdesired *d);

/*
 * The last good document on disk, so that a keeper restarted while edge-cp
 * is away starts from it: doc_path (desired.json) holds the text as
 * edge-cp sent it, etag_path (desired.etag) "<SHA-256 of that text, hex>
 * <ETag>\n".  They are two files, so a crash or a failed write between
 * them leaves a new document beside the old ETag; an ETag counts only
 * beside the document its hash names.  Otherwise a keeper could ask with
 * the new ETag while holding the old document, be answered 304, and stay
 * on the old one.
 *
 * kdesired_save(): the document, then the ETag, each with afile_write.
 * 0, or -1 with errno; on disk is then the old pair, or the new document
 * whose ETag is not known.
 *
 * kdesired_load(): the saved document parsed and validated as a whole
 * (caller frees), its ETag in etag ("" when the ETag file is missing or
 * names another document: the next fetch is then unconditional).  NULL
 * with errno ENOENT when nothing is saved, or with err when the document
 * does not validate.
 */
int kdesired_save(const char *doc_path, const char *etag_path, const char *text,
    size_t len, const char *etag);
struct kdesired *kdesired_load(const char *doc_path, const char *etag_path,
    char *etag, size_t etaglen, char *err, size_t errlen);

#endif
