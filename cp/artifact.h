/*
 * artifact: release files on disk, under DATA_DIR/artifacts/.
 *
 *	artifacts/<component>/<version>		  the binary, 0644
 *	artifacts/<component>/<version>.minisig	  its signature, 0644
 *	artifacts/<component>/.upload-XXXXXX	  an upload being received
 *	artifacts/<component>/.sig-XXXXXX	  a signature being written
 *	artifacts/<component>/.pending-<version>  an upload waiting for a
 *						  second admin (two-person
 *						  rule), unsigned
 *
 * Every name is built from strings that passed artifact_name_ok():
 * component is "dataplane" or "keeper"; version passes util_version_ok()
 * (so it holds no "/", is not "." or "..", and never starts with ".") and
 * does not end in ".minisig", which would make "V.minisig" both a binary
 * and the signature of V.  Temporary files start with "." and so never
 * collide with a release.
 *
 * An upload goes:
 *
 *	artifact_upload_new	   a temporary file, created 0644
 *	artifact_upload_write ...  appended, SHA-256 hashed on the way
 *	artifact_upload_finish	   fsync; the SHA-256 and the size
 *	artifact_upload_publish	   signed (minisign, prehashed); the
 *				   signature written, fsynced and renamed to
 *				   V.minisig; the binary renamed to V; the
 *				   directory fsynced
 *	(the caller adds the database row, or on failure calls
 *	 artifact_unpublish)
 *	artifact_upload_free	   the temporary file, if still there, removed
 *
 * Under the two-person rule (edge-cp serve --two-person) the finished
 * upload is parked instead of published:
 *
 *	artifact_upload_park	   renamed to .pending-<version>, the
 *				   directory fsynced; nothing is signed
 *	(the caller adds the release_uploads row, or on failure calls
 *	 artifact_pending_remove)
 *
 * and a second admin's approval publishes it:
 *
 *	artifact_pending_open	   the parked file opened and hashed again
 *	artifact_upload_publish	   signed; the binary is linked into place,
 *				   the parked file stays
 *	(the caller moves the row to releases, then calls
 *	 artifact_pending_remove; on failure artifact_unpublish)
 *
 * Signing waits for the approval so that an upload nobody approved has
 * no signature anywhere: a node would refuse it even if it got hold of
 * the file, and whoever holds only the TLS key or a copy of DATA_DIR's
 * artifacts cannot serve it as a release.
 *
 * Files without a row are never served: serving starts from the row.  A
 * crash between publish and the row leaves such files behind, and a crash
 * during an upload leaves a temporary file; artifact_sweep(), run at start
 * before the server listens, removes both, and parked files whose upload
 * has no row (approved or discarded, or parked just before a crash).
 *
 * Thread safety: uploads are independent of each other.  Publishing,
 * adding the row and unpublishing must be serialised per component by
 * the caller (cp/api_releases.c holds one lock over them), which is also
 * what keeps a publish from renaming over a release that has a row.
 * artifact_open() may run at any time: it opens a file that is renamed
 * into place whole and never changed after.
 *
 * Functions returning int return 0, or -1 with errno set and, where they
 * take one, a message in err.
 */
#ifndef EF_ARTIFACT_H
#define EF_ARTIFACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/minisign.h"

/* Largest release binary accepted. */
#define ARTIFACT_MAX_SIZE (64u << 20)
/*
 * How long an upload of one may take, by default: ARTIFACT_MAX_SIZE over
 * a link of 0.6 Mbit/s.  edge-cp's --upload-timeout and the time the CLI
 * gives `release add` both start from it.
 */
#define ARTIFACT_UPLOAD_TIMEOUT_S 900
#define ARTIFACT_SIG_SUFFIX ".minisig"
#define ARTIFACT_SHA256_HEX 65 /* 64 hex digits and the NUL */

struct artifact_upload;

/* True when component and version may name a release (see above). */
bool artifact_name_ok(const char *component, const char *version);

/*
 * Start an upload of component/version (names already checked): create
 * DATA_DIR/artifacts/<component>/ if needed and a temporary file in it.
 * Returns the upload, which the caller frees with artifact_upload_free(),
 * or NULL with errno and err set.
 */
struct artifact_upload *artifact_upload_new(const char *data_dir,
    const char *component, const char *version, char *err, size_t errlen);

/* Append len bytes.  -1 with errno (ENOSPC...) when they are not written. */
int artifact_upload_write(
    struct artifact_upload *u, const void *buf, size_t len);

/*
 * The whole body is in: fsync the file, check its size on disk and fill
 * the SHA-256 (lower-case hex) and the size.  Call once.
 */
int artifact_upload_finish(struct artifact_upload *u,
    char sha256[ARTIFACT_SHA256_HEX], uint64_t *size, char *err, size_t errlen);

/*
 * Sign the finished upload with sec under trusted_comment and put the
 * signature and the binary in place (the order above).  On success the
 * signature text is in sig (MSIG_SIG_TEXT_MAX bytes suffice) and the
 * temporary file is gone; on failure nothing of this release is left in
 * place (the temporary file stays until artifact_upload_free()).  With
 * sec NULL, sig already holds a signature made elsewhere, which the
 * caller verified (artifact_upload_verify()): it is put in place as it
 * is, and trusted_comment is not used.
 */
int artifact_upload_publish(struct artifact_upload *u,
    const struct msig_sec *sec, const char *trusted_comment, char *sig,
    size_t siglen, char *err, size_t errlen);

/*
 * Verify sig_text (made elsewhere) over the finished upload with pub; its
 * trusted comment goes to tc.  0, or -1 with err (msig_verify_file()).
 */
int artifact_upload_verify(struct artifact_upload *u,
    const struct msig_pub *pub, const char *sig_text, char *tc, size_t tclen,
    char *err, size_t errlen);

/*
 * Remove a published release's binary and signature (when adding its row
 * failed).  Failures are logged: what is left has no row, is never
 * served, and is swept at the next start.
 */
void artifact_unpublish(
    const char *data_dir, const char *component, const char *version);

/*
 * Two-person rule: rename the finished upload to .pending-<version> and
 * sync the directory.  Afterwards the upload holds no file.
 */
int artifact_upload_park(struct artifact_upload *u, char *err, size_t errlen);

/*
 * Open the parked upload of component/version to publish it, hashing it
 * again: sha256 and size are what is on disk now, for the caller to check
 * against the upload's row before anything is signed.  Publishing it
 * links the binary into place (a stale binary without a row is replaced)
 * and keeps the parked file; artifact_upload_free() never removes it.
 * NULL with errno (ENOENT: none) and err.
 */
struct artifact_upload *artifact_pending_open(const char *data_dir,
    const char *component, const char *version,
    char sha256[ARTIFACT_SHA256_HEX], uint64_t *size, char *err, size_t errlen);

/* Remove a parked upload.  Failures are logged; the sweep retries. */
void artifact_pending_remove(
    const char *data_dir, const char *component, const char *version);

/* Close the upload and remove its temporary file if any.  NULL: no-op. */
void artifact_upload_free(struct artifact_upload *u);

/*
 * Open the binary (sig false) or the signature of a release for reading.
 * Fills *fd (the caller closes it) and *size.  -1 with errno: ENOENT when
 * there is no such file, EINVAL for a name artifact_name_ok() refuses.
 */
int artifact_open(const char *data_dir, const char *component,
    const char *version, bool sig, int *fd, uint64_t *size);

/*
 * Start-up clean-up: remove temporary files, and the files of every
 * release for which known() returns 0 (no row: a publish that crashed
 * before its row).  known() returns 1 for a release with a row, 0 for
 * none, -1 when it cannot tell: the files are then kept.  For a parked
 * upload it is asked with pending true (is there a release_uploads row?).
 * Files that are not ours are left alone with a warning.  Returns the
 * number of files removed, or -1 when a directory cannot be read.
 */
int artifact_sweep(const char *data_dir,
    int (*known)(
	const char *component, const char *version, bool pending, void *arg),
    void *arg);

#endif
