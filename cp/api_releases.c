/*
 * Releases: the upload (PUT /v1/releases/{component}/{version}), the list,
 * and the artifact downloads for nodes and viewers
 * (GET /v1/artifacts/{component}/{version}[.minisig]).
 *
 * An upload streams to a temporary file (cp/artifact.h) while its SHA-256
 * is computed; nothing of it is held in memory.  When the body is in, one
 * lock is taken over: the immutability check, the next seq, signing,
 * putting the files in place and adding the row.  So a release is
 * all-or-nothing: a failure at any step leaves neither files nor a row,
 * and two uploads can neither both take a version nor share a seq.  A
 * crash between the files and the row leaves files without a row, which
 * are never served and are swept at the next start (serve.c).
 *
 * The signing key is read from DATA_DIR/release.key for each upload and
 * wiped right after; it is never kept in memory between uploads.
 *
 * Offline signing: an upload may carry a signature made elsewhere (`edge-cp
 * release sign`, or minisign with the same trusted comment), base64 in
 * the Edgefleet-Signature header.  edge-cp then signs nothing: it checks
 * the signature against the current release key (cp/release_keys.h) and
 * the comment against what arrived, takes the sequence the signature
 * names (not below the next, at most RELKEY_SEQ_JUMP_MAX above it), and
 * stores the signature as it came.  Without release.key in the data
 * directory, every upload must carry one; the header check refuses one
 * that does not before its body is read.
 *
 * Under the two-person rule (cp.two_person) an upload without an offline
 * signature is parked unsigned (202, state "pending") and signed only
 * when a second admin approves it (POST .../approve): the seq is given
 * then too, so seqs follow the order in which releases became usable.
 * Why at approval: see cp/artifact.h.  An upload with an offline
 * signature is published at once, rule or not: that signature was made
 * with a key edge-cp does not hold, so the token alone did not make it.
 */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/log.h"
#include "common/minisign.h"
#include "common/relkey.h"
#include "common/util.h"
#include "cp/api.h"
#include "cp/artifact.h"
#include "cp/release_keys.h"
#include "cp/store.h"

#define RELEASE_SIG_HEADER "Edgefleet-Signature"

/* Uploads received at once; each may hold ARTIFACT_MAX_SIZE of disk. */
#define RELEASE_UPLOADS_MAX 4

static atomic_int release_uploads;
static pthread_mutex_t release_mu = PTHREAD_MUTEX_INITIALIZER;

int
api_releases_list(struct req *r)
{
	json_t *list;
	int rc;

	if ((rc = store_release_list(cp.store, &list)) != STORE_OK)
		return reply_store_error(r, rc, "releases");
	return reply_json(r, 200, json_pack("{s:o}", "releases", list));
}

static int
release_io_error(struct req *r, int err, const char *what)
{
	if (err == ENOSPC || err == EDQUOT) {
		reply_error(r, 503, "storage_full",
		    "no space left for the "
		    "release; retry later");
		reply_header(r, "Retry-After", "30");
		return 0;
	}
	return reply_error(r, 500, "internal", "cannot %s the release", what);
}

/*
 * A store step of component@version failed (errno says how, msg in
 * words): logged as event, answered as release_io_error() says.
 */
static int
release_step_failed(struct req *r, const char *event, const char *comp,
    const char *ver, const char *msg, const char *what)
{
	int e = errno;

	log_warnx("event=%s component=%s version=%s msg=\"%s\"", event, comp,
	    ver, msg);
	return release_io_error(r, e, what);
}

/* Is there a release.key to sign with online? */
static bool
release_key_present(void)
{
	char path[600];

	return (size_t)snprintf(path, sizeof(path), "%s/release.key",
		   cp.data_dir) < sizeof(path) &&
	    access(path, F_OK) == 0;
}

/*
 * 0 when no release and no pending upload has comp/ver; else the reply
 * (409, or the store's error) is made and -1.
 */
static int
release_taken(struct req *r, const char *comp, const char *ver)
{
	const char *why = NULL;
	json_t *up = NULL;
	int rc;

	rc = store_release_exists(cp.store, comp, ver);
	if (rc == STORE_OK)
		why = "exists; releases are immutable, upload a new version";
	else if (rc == STORE_NOTFOUND) {
		rc = store_release_pending_get(cp.store, comp, ver, &up);
		json_decref(up);
		if (rc == STORE_OK)
			why = "was uploaded and waits for a second admin's "
			      "approval; approve or discard it";
	}
	if (why != NULL) {
		reply_error(r, 409, "conflict", "%s %s %s", comp, ver, why);
		return -1;
	}
	if (rc != STORE_NOTFOUND) {
		reply_store_error(r, rc, "release");
		return -1;
	}
	return 0;
}

/* On the headers: refuse early what would be refused at the end. */
static int
release_begin(struct req *r)
{
	const char *comp = r->params[0], *ver = r->params[1];
	struct artifact_upload *u;
	char err[256];

	if (!artifact_name_ok(comp, ver)) {
		reply_error(r, 400, "invalid_field",
		    "component must be dataplane or keeper, version must "
		    "match [A-Za-z0-9][A-Za-z0-9._+-]{0,63} and not end in "
		    "%s",
		    ARTIFACT_SIG_SUFFIX);
		return -1;
	}
	if (req_header(r, RELEASE_SIG_HEADER) == NULL &&
	    !release_key_present()) {
		reply_error(r, 409, "signature_required",
		    "edge-cp holds no release.key: sign the release offline "
		    "(edge-cp release sign, seq from GET "
		    "/v1/releases/%s/next-seq) and upload it with its "
		    "signature (edge-cp release add --signature)",
		    comp);
		return -1;
	}
	if (release_taken(r, comp, ver) != 0)
		return -1;
	if (atomic_fetch_add(&release_uploads, 1) >= RELEASE_UPLOADS_MAX) {
		atomic_fetch_sub(&release_uploads, 1);
		reply_error(r, 503, "unavailable",
		    "%d uploads are in "
		    "progress; retry later",
		    RELEASE_UPLOADS_MAX);
		reply_header(r, "Retry-After", "10");
		return -1;
	}
	if ((u = artifact_upload_new(
		 cp.data_dir, comp, ver, err, sizeof(err))) == NULL) {
		atomic_fetch_sub(&release_uploads, 1);
		release_step_failed(
		    r, "release_upload_failed", comp, ver, err, "store");
		return -1;
	}
	r->stream = u;
	return 0;
}

static int
release_data(struct req *r, const char *buf, size_t len)
{
	if (artifact_upload_write(r->stream, buf, len) == 0)
		return 0;
	log_warn("event=release_upload_failed component=%s version=%s",
	    r->params[0], r->params[1]);
	release_io_error(r, errno, "store");
	return -1;
}

static void
release_end(struct req *r)
{
	artifact_upload_free(r->stream);
	r->stream = NULL;
	atomic_fetch_sub(&release_uploads, 1);
}

const struct body_stream api_release_upload = {
	release_begin,
	release_data,
	release_end,
};

/*
 * Read and decode DATA_DIR/release.key, and make sure it is the key whose
 * public half nodes pinned (release.pub): signing with any other would
 * make releases nobody accepts.  The caller wipes sec.
 */
static int
release_key_load(struct msig_sec *sec, char *err, size_t errlen)
{
	char path[600], *txt = NULL;
	struct msig_pub pub, cur;
	size_t len = 0;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/release.key",
		cp.data_dir) >= sizeof(path)) {
		snprintf(err, errlen, "data dir path too long");
		return -1;
	}
	if (afile_read(path, 4096, &txt, &len) != 0) {
		snprintf(err, errlen, "release.key: %s", strerror(errno));
		return -1;
	}
	rc = msig_sec_decode(txt, sec, err, errlen);
	sodium_memzero(txt, len);
	free(txt);
	if (rc != 0)
		return -1;
	msig_sec_pub(sec, &pub);
	release_keys_current(&cur, NULL, 0);
	if (sodium_memcmp(&pub, &cur, sizeof(pub)) != 0) {
		sodium_memzero(sec, sizeof(*sec));
		snprintf(err, errlen, "release.key does not match release.pub");
		return -1;
	}
	return 0;
}

/*
 * An offline signature from the header: into sig, verified over the
 * upload by the current release key, its comment exactly the one edge-cp
 * would sign but for the sequence, which goes to *seq.  0, or -1 after
 * the reply.
 */
static int
release_offline_sig(struct req *r, const char *hdr, const char *sha,
    uint64_t size, int64_t next, char *sig, size_t siglen, int64_t *seq)
{
	const char *comp = r->params[0], *ver = r->params[1], *p;
	char tc[MSIG_TRUSTED_MAX + 1], want[MSIG_TRUSTED_MAX], err[512];
	char id[MSIG_KEYIDHEX];
	struct msig_pub pub;
	int n;

	if ((n = util_unb64(sig, siglen - 1, hdr)) <= 0 ||
	    memchr(sig, '\0', (size_t)n) != NULL) {
		reply_error(r, 400, "invalid_signature",
		    RELEASE_SIG_HEADER ": not the base64 of a signature text "
				       "of at most %zu bytes",
		    siglen - 1);
		return -1;
	}
	sig[n] = '\0';
	release_keys_current(&pub, NULL, 0);
	msig_keyid_hex(pub.keyid, id, sizeof(id));
	if (artifact_upload_verify(
		r->stream, &pub, sig, tc, sizeof(tc), err, sizeof(err)) != 0) {
		reply_error(r, 400, "invalid_signature",
		    "%s (the current release key is %s)", err, id);
		return -1;
	}
	p = strstr(tc, " seq=");
	if (p == NULL || util_parse_i64(p + 5, 1, INT64_MAX, seq) != 0 ||
	    relkey_release_comment(
		want, sizeof(want), comp, ver, size, sha, *seq) != 0 ||
	    strcmp(tc, want) != 0) {
		relkey_release_comment(
		    want, sizeof(want), comp, ver, size, sha, next);
		reply_error(r, 400, "invalid_signature",
		    "the trusted comment must be \"%s\"", want);
		return -1;
	}
	if (*seq < next) {
		reply_error(r, 409, "conflict",
		    "sequence %lld is taken; sign again with seq %lld",
		    (long long)*seq, (long long)next);
		return -1;
	}
	if (*seq - next > RELKEY_SEQ_JUMP_MAX) {
		reply_error(r, 400, "invalid_signature",
		    "sequence %lld is more than %d above the next, %lld: "
		    "nodes would refuse it",
		    (long long)*seq, RELKEY_SEQ_JUMP_MAX, (long long)next);
		return -1;
	}
	return 0;
}

/*
 * Sign u online as rel (component, version, sha256, size, seq) and put it
 * in place; sig gets the signature.  0, or -1 with the reply made.  The
 * caller holds release_mu.
 */
static int
release_sign(struct req *r, struct artifact_upload *u,
    const struct store_release *rel, char *sig, size_t siglen)
{
	char comment[MSIG_TRUSTED_MAX], err[512];
	struct msig_sec sec;
	int rc;

	relkey_release_comment(comment, sizeof(comment), rel->component,
	    rel->version, (uint64_t)rel->size, rel->sha256, rel->seq);
	if (release_key_load(&sec, err, sizeof(err)) != 0) {
		log_warnx("event=release_sign_failed msg=\"%s\"", err);
		reply_error(r, 409, "signature_required",
		    "edge-cp cannot sign (%s): upload with a "
		    "signature made offline",
		    err);
		return -1;
	}
	rc = artifact_upload_publish(
	    u, &sec, comment, sig, siglen, err, sizeof(err));
	sodium_memzero(&sec, sizeof(sec));
	if (rc != 0) {
		release_step_failed(r, "release_publish_failed", rel->component,
		    rel->version, err, "sign or store");
		return -1;
	}
	return 0;
}

/* The reply to a signed release: what the signature covers, and it. */
static int
release_reply(struct req *r, unsigned status, const struct store_release *rel,
    const char *sig)
{
	return reply_json(r, status,
	    json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s}", "component",
		rel->component, "version", rel->version, "sha256", rel->sha256,
		"size", (json_int_t)rel->size, "seq", (json_int_t)rel->seq,
		"signature", sig, "state", "released"));
}

/*
 * Sign (or take the offline signature), put in place and record the
 * finished upload; all under release_mu (see the top of this file).
 * Makes the reply.
 */
static int
release_publish(struct req *r, const char *sha, uint64_t size)
{
	const char *comp = r->params[0], *ver = r->params[1];
	struct store_release rel = { comp, ver, sha, (int64_t)size, 0 };
	char sig[MSIG_SIG_TEXT_MAX], err[512];
	const char *hdr = req_header(r, RELEASE_SIG_HEADER);
	int64_t next;
	int rc;

	pthread_mutex_lock(&release_mu);
	if (release_taken(r, comp, ver) != 0)
		goto out;
	if ((rc = store_release_next_seq(cp.store, comp, &next)) != STORE_OK) {
		reply_store_error(r, rc, "release");
		goto out;
	}
	rel.seq = next;
	if (hdr != NULL) {
		if (release_offline_sig(r, hdr, sha, size, next, sig,
			sizeof(sig), &rel.seq) != 0)
			goto out;
		if (artifact_upload_publish(r->stream, NULL, NULL, sig,
			sizeof(sig), err, sizeof(err)) != 0) {
			release_step_failed(r, "release_publish_failed", comp,
			    ver, err, "store");
			goto out;
		}
	} else if (release_sign(r, r->stream, &rel, sig, sizeof(sig)) != 0)
		goto out;
	if ((rc = store_release_add(cp.store, &rel, r->actor)) != STORE_OK) {
		artifact_unpublish(cp.data_dir, comp, ver);
		reply_store_error(r, rc, "release");
		goto out;
	}
	log_info("event=release_added component=%s version=%s seq=%lld "
		 "size=%llu sha256=%s actor=%s signed=%s",
	    comp, ver, (long long)rel.seq, (unsigned long long)size, sha,
	    r->actor, hdr != NULL ? "offline" : "online");
	release_reply(r, 201, &rel, sig);
out:
	pthread_mutex_unlock(&release_mu);
	return 0;
}

/*
 * Two-person rule: park the finished upload unsigned and record it as
 * pending; under release_mu like a publish.  Makes the reply (202).
 */
static int
release_park(struct req *r, const char *sha, uint64_t size)
{
	const char *comp = r->params[0], *ver = r->params[1];
	struct store_release rel = { comp, ver, sha, (int64_t)size, 0 };
	char err[512];
	int rc;

	pthread_mutex_lock(&release_mu);
	if (release_taken(r, comp, ver) != 0)
		goto out;
	if (artifact_upload_park(r->stream, err, sizeof(err)) != 0) {
		release_step_failed(
		    r, "release_upload_failed", comp, ver, err, "store");
		goto out;
	}
	rc = store_release_pending_add(cp.store, &rel, r->actor);
	if (rc != STORE_OK) {
		artifact_pending_remove(cp.data_dir, comp, ver);
		if (rc == STORE_CONFLICT)
			reply_error(r, 409, "conflict",
			    "%s %s exists or waits for approval", comp, ver);
		else
			reply_store_error(r, rc, "release");
		goto out;
	}
	log_info("event=release_pending component=%s version=%s size=%llu "
		 "sha256=%s actor=%s",
	    comp, ver, (unsigned long long)size, sha, r->actor);
	reply_json(r, 202,
	    json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "component", comp, "version",
		ver, "sha256", sha, "size", (json_int_t)size, "state",
		"pending", "uploaded_by", r->actor));
out:
	pthread_mutex_unlock(&release_mu);
	return 0;
}

/* The pending upload a route names: 0 with *up, or -1, reply made. */
static int
release_pending_of(struct req *r, json_t **up)
{
	const char *comp = r->params[0], *ver = r->params[1];
	int rc;

	*up = NULL;
	if (!artifact_name_ok(comp, ver)) {
		reply_error(r, 404, "not_found", "no such upload");
		return -1;
	}
	rc = store_release_pending_get(cp.store, comp, ver, up);
	if (rc == STORE_NOTFOUND) {
		if (store_release_exists(cp.store, comp, ver) == STORE_OK)
			reply_error(r, 409, "conflict",
			    "%s %s is a release already (approved, or "
			    "uploaded without the two-person rule)",
			    comp, ver);
		else
			reply_error(r, 404, "not_found",
			    "no upload of %s %s waits for approval", comp, ver);
		return -1;
	}
	if (rc != STORE_OK) {
		reply_store_error(r, rc, "release");
		return -1;
	}
	return 0;
}

/*
 * POST /v1/releases/{c}/{v}/approve: a second admin approves a pending
 * upload, which is then signed and becomes a release.  The uploader, and
 * a token related to it, get 403 and the refusal is an event.
 */
int
api_releases_approve(struct req *r)
{
	const char *comp = r->params[0], *ver = r->params[1];
	char sha[ARTIFACT_SHA256_HEX], sig[MSIG_SIG_TEXT_MAX], err[512];
	char obj[264];
	const char *by, *want;
	struct store_release rel = { comp, ver, sha, 0, 0 };
	struct artifact_upload *u = NULL;
	json_t *up = NULL;
	uint64_t size;
	int rc;

	/*
	 * Under the lock uploads and discards take too: the row judged is
	 * the row approved (no discard and upload again in between).
	 */
	pthread_mutex_lock(&release_mu);
	if (release_pending_of(r, &up) != 0)
		goto out;
	by = json_string_value(json_object_get(up, "created_by"));
	snprintf(obj, sizeof(obj), "%s/%s", comp, ver);
	if (api_second_person(r, by ? by : "", "release.approve_refused", obj,
		"approve this upload") != 0)
		goto out;
	u = artifact_pending_open(
	    cp.data_dir, comp, ver, sha, &size, err, sizeof(err));
	want = json_string_value(json_object_get(up, "sha256"));
	if (u == NULL) {
		log_warnx("event=release_approve_failed component=%s "
			  "version=%s msg=\"%s\"",
		    comp, ver, err);
		reply_error(r, 500, "internal",
		    "the upload's file is missing; discard it and upload "
		    "again");
		goto out;
	}
	/* What was uploaded is what gets signed, or nothing is. */
	if (want == NULL || strcmp(want, sha) != 0 ||
	    (int64_t)size != json_integer_value(json_object_get(up, "size"))) {
		log_warnx("event=release_approve_failed component=%s "
			  "version=%s msg=\"the parked file changed\" "
			  "sha256=%s want=%s",
		    comp, ver, sha, want ? want : "-");
		reply_error(r, 500, "internal",
		    "the upload's file no longer matches what was uploaded; "
		    "discard it and upload again");
		goto out;
	}
	rel.size = (int64_t)size;
	if ((rc = store_release_next_seq(cp.store, comp, &rel.seq)) !=
	    STORE_OK) {
		reply_store_error(r, rc, "release");
		goto out;
	}
	if (release_sign(r, u, &rel, sig, sizeof(sig)) != 0)
		goto out;
	if ((rc = store_release_approve(cp.store, &rel, r->actor)) !=
	    STORE_OK) {
		artifact_unpublish(cp.data_dir, comp, ver);
		reply_store_error(r, rc, "release");
		goto out;
	}
	artifact_pending_remove(cp.data_dir, comp, ver);
	log_info("event=release_approved component=%s version=%s seq=%lld "
		 "uploaded_by=%s actor=%s",
	    comp, ver, (long long)rel.seq, by, r->actor);
	release_reply(r, 200, &rel, sig);
out:
	pthread_mutex_unlock(&release_mu);
	artifact_upload_free(u);
	json_decref(up);
	return 0;
}

/*
 * DELETE /v1/releases/{c}/{v}: drop an upload that waits for approval
 * (any admin, the uploader too: dropping takes nothing anywhere).
 * Releases themselves are immutable: 409.
 */
int
api_releases_discard(struct req *r)
{
	const char *comp = r->params[0], *ver = r->params[1];
	json_t *up;
	int rc;

	if (release_pending_of(r, &up) != 0)
		return 0;
	json_decref(up);
	pthread_mutex_lock(&release_mu);
	rc = store_release_pending_drop(cp.store, comp, ver, r->actor);
	if (rc == STORE_OK)
		artifact_pending_remove(cp.data_dir, comp, ver);
	pthread_mutex_unlock(&release_mu);
	if (rc == STORE_NOTFOUND)
		return reply_error(r, 404, "not_found",
		    "no upload of %s %s waits for approval", comp, ver);
	if (rc != STORE_OK)
		return reply_store_error(r, rc, "release");
	return reply_json(r, 200,
	    json_pack("{s:s,s:s,s:s}", "component", comp, "version", ver,
		"state", "discarded"));
}

int
api_releases_put(struct req *r)
{
	char sha[ARTIFACT_SHA256_HEX], err[512];
	uint64_t size;

	if (r->len == 0)
		return reply_error(r, 400, "invalid_field",
		    "the body must be "
		    "the release binary; it is empty");
	if (artifact_upload_finish(r->stream, sha, &size, err, sizeof(err)) !=
	    0) {
		return release_step_failed(r, "release_upload_failed",
		    r->params[0], r->params[1], err, "store");
	}
	/* An offline signature is a key edge-cp does not hold: see above. */
	return cp.two_person && req_header(r, RELEASE_SIG_HEADER) == NULL
	    ? release_park(r, sha, size)
	    : release_publish(r, sha, size);
}

int
api_releases_next_seq(struct req *r)
{
	int64_t next;
	int rc;

	if (relkey_component(r->params[0]) < 0)
		return reply_error(r, 404, "not_found",
		    "component must be dataplane or keeper");
	if ((rc = store_release_next_seq(cp.store, r->params[0], &next)) !=
	    STORE_OK)
		return reply_store_error(r, rc, "release");
	return reply_json(r, 200,
	    json_pack("{s:s,s:I}", "component", r->params[0], "next_seq",
		(json_int_t)next));
}

int
api_artifacts_get(struct req *r)
{
	const char *comp = r->params[0];
	char ver[sizeof(r->params[1])];
	size_t n, k = strlen(ARTIFACT_SIG_SUFFIX);
	uint64_t size;
	bool sig = false;
	int fd, rc;

	/* One route for both: the matcher has no "{}.minisig". */
	util_strlcpy(ver, r->params[1], sizeof(ver));
	n = strlen(ver);
	if (n > k && strcmp(ver + n - k, ARTIFACT_SIG_SUFFIX) == 0) {
		ver[n - k] = '\0';
		sig = true;
	}
	/* Only names an upload could have made reach the store or a path. */
	if (!artifact_name_ok(comp, ver))
		return reply_error(r, 404, "not_found", "no such release");
	rc = store_release_exists(cp.store, comp, ver);
	if (rc == STORE_NOTFOUND)
		return reply_error(r, 404, "not_found", "no such release");
	if (rc != STORE_OK)
		return reply_store_error(r, rc, "release");
	if (artifact_open(cp.data_dir, comp, ver, sig, &fd, &size) != 0) {
		/* A row always has its files; someone removed them. */
		log_warn("event=artifact_missing component=%s version=%s "
			 "sig=%d",
		    comp, ver, sig);
		return reply_error(
		    r, 500, "internal", "the release's file is missing");
	}
	return reply_fd(r, 200,
	    sig ? "text/plain; charset=utf-8" : "application/octet-stream", fd,
	    size);
}

static int
release_known(
    const char *component, const char *version, bool pending, void *arg)
{
	json_t *up = NULL;
	int rc;

	(void)arg;
	if (pending) {
		rc = store_release_pending_get(
		    cp.store, component, version, &up);
		json_decref(up);
	} else
		rc = store_release_exists(cp.store, component, version);
	return rc == STORE_OK ? 1 : rc == STORE_NOTFOUND ? 0 : -1;
}

int
api_releases_sweep(void)
{
	return artifact_sweep(cp.data_dir, release_known, NULL);
}
