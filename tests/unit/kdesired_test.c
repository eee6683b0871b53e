/*
 * Unit tests of keeper/desired: the document is validated as a whole; the
 * saved document and its ETag never disagree, whichever write fails or
 * wherever the keeper is killed (tests/unit/faultio.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "faultio.h"
#include "keeper/desired.h"
#include "tmpdir.h"

/* A document whose "dataplane" member is dp (a JSON object). */
static struct kdesired *
parse_dp(const char *dp, const char *steps)
{
	char doc[2048], err[256];

	snprintf(doc, sizeof(doc),
	    "{\"schema\":1,\"node_id\":\"n-1\",\"interval_s\":5,"
	    "\"pop\":{\"name\":\"p\",\"region\":\"r\",\"bgp\":{}},"
	    "\"drain\":false,\"profile\":{\"version\":3,\"steps\":%s},"
	    "\"dataplane\":%s,\"keeper\":{\"version\":\"\"}}",
	    steps, dp);
	return kdesired_parse(doc, strlen(doc), err, sizeof(err));
}

static struct kdesired *
parse(const char *dp_version, const char *steps)
{
	char dp[256];

	snprintf(dp, sizeof(dp), "{\"version\":\"%s\"}", dp_version);
	return parse_dp(dp, steps);
}

TEST(valid_document_parses)
{
	struct kdesired *d = parse("1.2.3",
	    "[{\"name\":\"f\",\"kind\":\"file\","
	    "\"params\":{\"path\":\"/x\","
	    "\"content\":\"y\"}}]");

	CHECK(d != NULL);
	CHECK(d->profile_version == 3 && d->nsteps == 1);
	CHECK_STR(d->dataplane_version, "1.2.3");
	kdesired_free(d);
}

TEST(version_that_would_be_a_path_refused)
{
	CHECK(parse("../../etc", "[]") == NULL);
	CHECK(parse("1/2", "[]") == NULL);
	/* No version targeted is fine. */
	{
		struct kdesired *d = parse("", "[]");

		CHECK(d != NULL);
		kdesired_free(d);
	}
}

TEST(one_bad_step_refuses_the_whole_document)
{
	CHECK(parse("1.0",
		  "[{\"name\":\"f\",\"kind\":\"file\",\"params\":{"
		  "\"path\":\"/x\",\"content\":\"y\"}},{\"name\":"
		  "\"s\",\"kind\":\"sysctl\",\"params\":{}}]") == NULL);
	CHECK(parse("1.0", "[{\"name\":\"f\",\"kind\":\"teleport\"}]") == NULL);
}

TEST(rollback_only_when_said)
{
	struct kdesired *d;

	CHECK((d = parse("1.0", "[]")) != NULL);
	CHECK(!d->dataplane_rollback);
	kdesired_free(d);
	d = parse_dp("{\"version\":\"1.0\",\"rollback\":true}", "[]");
	CHECK(d != NULL && d->dataplane_rollback && !d->keeper_rollback);
	kdesired_free(d);
	d = parse_dp("{\"version\":\"1.0\",\"rollback\":false}", "[]");
	CHECK(d != NULL && !d->dataplane_rollback);
	kdesired_free(d);
	/* Not a boolean, or a member nobody knows: the document is refused. */
	CHECK(parse_dp("{\"version\":\"1.0\",\"rollback\":1}", "[]") == NULL);
	CHECK(parse_dp("{\"version\":\"1.0\",\"rollbak\":true}", "[]") == NULL);
}

/* A profile section: its rollback flag as the releases' (T38). */
TEST(profile_rollback_only_when_said)
{
	static const char *const bad[] = {
		"{\"version\":2,\"steps\":[],\"rollback\":1}",
		"{\"version\":2,\"steps\":[],\"rollbak\":true}",
		NULL,
	};
	char doc[1024], err[256];
	struct kdesired *d;
	size_t i;

	CHECK((d = parse("", "[]")) != NULL);
	CHECK(!d->profile_rollback);
	kdesired_free(d);
	snprintf(doc, sizeof(doc),
	    "{\"schema\":1,\"node_id\":\"n-1\",\"interval_s\":5,"
	    "\"pop\":{\"name\":\"p\",\"region\":\"r\",\"bgp\":{}},"
	    "\"drain\":false,\"profile\":{\"version\":2,\"steps\":[],"
	    "\"rollback\":true},\"dataplane\":{\"version\":\"\"},"
	    "\"keeper\":{\"version\":\"\"}}");
	d = kdesired_parse(doc, strlen(doc), err, sizeof(err));
	CHECK(d != NULL && d->profile_rollback && d->profile_version == 2);
	CHECK(!d->dataplane_rollback && !d->keeper_rollback);
	kdesired_free(d);
	for (i = 0; bad[i] != NULL; i++) {
		snprintf(doc, sizeof(doc),
		    "{\"schema\":1,\"node_id\":\"n-1\",\"interval_s\":5,"
		    "\"pop\":{\"name\":\"p\",\"region\":\"r\","
		    "\"bgp\":{}},\"drain\":false,\"profile\":%s,"
		    "\"dataplane\":{\"version\":\"\"},"
		    "\"keeper\":{\"version\":\"\"}}",
		    bad[i]);
		CHECK(
		    kdesired_parse(doc, strlen(doc), err, sizeof(err)) == NULL);
		CHECK(strstr(err, "rollba") != NULL);
	}
}

/* A document naming release key id kid. */
static struct kdesired *
parse_key(const char *kid)
{
	char doc[1024], err[256];

	snprintf(doc, sizeof(doc),
	    "{\"schema\":1,\"node_id\":\"n-1\",\"interval_s\":5,"
	    "\"pop\":{\"name\":\"p\",\"region\":\"r\",\"bgp\":{}},"
	    "\"drain\":false,\"profile\":{\"version\":3,\"steps\":[]},"
	    "\"dataplane\":{\"version\":\"\"},\"keeper\":{\"version\":\"\"},"
	    "\"release_key\":\"%s\"}",
	    kid);
	return kdesired_parse(doc, strlen(doc), err, sizeof(err));
}

/* The release key id as minisign prints it, or the document is refused. */
TEST(release_key_id_parsed)
{
	struct kdesired *d;

	CHECK((d = parse_key("5B1E0C12A4F9D3E7")) != NULL);
	CHECK_STR(d->release_key, "5B1E0C12A4F9D3E7");
	kdesired_free(d);
	CHECK((d = parse_key("")) != NULL);
	CHECK_STR(d->release_key, "");
	kdesired_free(d);
	CHECK((d = parse("1.0", "[]")) != NULL && d->release_key[0] == '\0');
	kdesired_free(d);
	CHECK(parse_key("5b1e0c12a4f9d3e7") == NULL);
	CHECK(parse_key("5B1E0C12A4F9D3E70") == NULL);
	CHECK(parse_key("../../x") == NULL);
}

/* A valid document of profile version pv. */
static const char *
doc_of(int pv)
{
	static char doc[512];

	snprintf(doc, sizeof(doc),
	    "{\"schema\":1,\"node_id\":\"n-1\",\"interval_s\":5,"
	    "\"pop\":{\"name\":\"p\",\"region\":\"r\"},"
	    "\"drain\":false,\"profile\":{\"version\":%d,\"steps\":[]},"
	    "\"dataplane\":{\"version\":\"\"},\"keeper\":{\"version\":\"\"}}",
	    pv);
	return doc;
}

static char doc_path[256], etag_path[256];

static int
save_v4(void *arg)
{
	const char *doc = doc_of(4);

	(void)arg;
	return kdesired_save(doc_path, etag_path, doc, strlen(doc), "\"e4\"") ==
		0
	    ? 0
	    : 1;
}

/*
 * What is on disk is the old document (3) or the new one (4), each with
 * its own ETag or none, never one beside the other's: *pv and etag get it.
 */
static int
saved_pair_ok(int64_t *pv, char *etag, size_t len)
{
	struct kdesired *d;
	char err[256];

	if ((d = kdesired_load(
		 doc_path, etag_path, etag, len, err, sizeof(err))) == NULL)
		return 0;
	*pv = d->profile_version;
	kdesired_free(d);
	if (*pv == 3)
		return strcmp(etag, "\"e3\"") == 0 || etag[0] == '\0';
	if (*pv == 4)
		return strcmp(etag, "\"e4\"") == 0 || etag[0] == '\0';
	return 0;
}

static void
save_v3(void)
{
	const char *doc = doc_of(3);

	tmp_path(doc_path, sizeof(doc_path), "desired.json");
	tmp_path(etag_path, sizeof(etag_path), "desired.etag");
	faultio_off();
	kdesired_save(doc_path, etag_path, doc, strlen(doc), "\"e3\"");
}

TEST(saved_document_and_etag_round_trip)
{
	char etag[96], err[256];
	struct kdesired *d;
	int64_t pv;

	save_v3();
	CHECK(saved_pair_ok(&pv, etag, sizeof(etag)) && pv == 3);
	CHECK_STR(etag, "\"e3\"");
	CHECK(save_v4(NULL) == 0);
	CHECK(saved_pair_ok(&pv, etag, sizeof(etag)) && pv == 4);
	CHECK_STR(etag, "\"e4\"");
	/* An ETag file of before (the bare ETag) names no document. */
	CHECK(afile_write(etag_path, "\"e4\"", 4, 0600) == 0);
	CHECK((d = kdesired_load(doc_path, etag_path, etag, sizeof(etag), err,
		   sizeof(err))) != NULL);
	kdesired_free(d);
	CHECK_STR(etag, "");
	/* Nothing saved: ENOENT, so the keeper says nothing about it. */
	unlink(doc_path);
	errno = 0;
	CHECK(kdesired_load(doc_path, etag_path, etag, sizeof(etag), err,
		  sizeof(err)) == NULL &&
	    errno == ENOENT);
}

/*
 * The 1st, 2nd, ... write, fsync or rename of a save fails: the document
 * and the ETag on disk still belong together.  Before they were bound,
 * a failed document write beside a good ETag write left the old document
 * with the new ETag, which edge-cp answers with 304 for ever.
 */
TEST(failed_save_never_pairs_a_document_with_another_etag)
{
	char etag[96];
	int64_t pv;
	int n, rc, calls;

	for (n = 1; n < FAULTIO_MAX; n++) {
		save_v3();
		faultio_fail(n);
		rc = save_v4(NULL);
		calls = atomic_load(&faultio_calls);
		faultio_off();
		CHECK(saved_pair_ok(&pv, etag, sizeof(etag)));
		if (rc == 0) {
			CHECK(calls < n && pv == 4);
			CHECK_STR(etag, "\"e4\"");
			break;
		}
	}
	CHECK(n > 2 && n < FAULTIO_MAX);
}

/* The same when the keeper is killed at each of those calls. */
TEST(killed_save_never_pairs_a_document_with_another_etag)
{
	char etag[96];
	int64_t pv;
	int n, rc;

	for (n = 1; n < FAULTIO_MAX; n++) {
		save_v3();
		rc = faultio_run(n, save_v4, NULL);
		CHECK(rc == 0 || rc == FAULTIO_CRASHED);
		CHECK(saved_pair_ok(&pv, etag, sizeof(etag)));
		if (rc == 0) {
			CHECK(pv == 4);
			CHECK_STR(etag, "\"e4\"");
			break;
		}
	}
	CHECK(n > 2 && n < FAULTIO_MAX);
}

int
main(void)
{
	tmp_setup("kdesired_test");
	RUN(valid_document_parses);
	RUN(version_that_would_be_a_path_refused);
	RUN(one_bad_step_refuses_the_whole_document);
	RUN(rollback_only_when_said);
	RUN(profile_rollback_only_when_said);
	RUN(release_key_id_parsed);
	RUN(saved_document_and_etag_round_trip);
	RUN(failed_save_never_pairs_a_document_with_another_etag);
	RUN(killed_save_never_pairs_a_document_with_another_etag);
	tmp_cleanup();
	return check_done();
}
