/* Unit tests of keeper/desired: the document is validated as a whole. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "keeper/desired.h"

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

int
main(void)
{
	RUN(valid_document_parses);
	RUN(version_that_would_be_a_path_refused);
	RUN(one_bad_step_refuses_the_whole_document);
	RUN(rollback_only_when_said);
	return check_done();
}
