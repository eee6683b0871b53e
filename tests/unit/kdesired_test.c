/* Unit tests of keeper/desired: the document is validated as a whole. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "keeper/desired.h"

static struct kdesired *
parse(const char *dp_version, const char *steps)
{
	char doc[2048], err[256];

	snprintf(doc, sizeof(doc),
	    "{\"schema\":1,\"node_id\":\"n-1\",\"interval_s\":5,"
	    "\"pop\":{\"name\":\"p\",\"region\":\"r\",\"bgp\":{}},"
	    "\"drain\":false,\"profile\":{\"version\":3,\"steps\":%s},"
	    "\"dataplane\":{\"version\":\"%s\"},\"keeper\":{\"version\":\"\"}}",
	    steps, dp_version);
	return kdesired_parse(doc, strlen(doc), err, sizeof(err));
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

int
main(void)
{
	RUN(valid_document_parses);
	RUN(version_that_would_be_a_path_refused);
	RUN(one_bad_step_refuses_the_whole_document);
	return check_done();
}
