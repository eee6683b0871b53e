/* Unit tests of keeper/release: the trusted comment binds a signature. */
#include "check.h"
#include "keeper/release.h"

#define SHA "aa11"

static int
ok_comment(const char *c, int64_t *seq)
{
	char err[256];

	return release_check_comment(
	    c, "dataplane", "2.0.0", 100, SHA, seq, err, sizeof(err));
}

TEST(matching_comment_accepted)
{
	int64_t seq = 0;

	CHECK(ok_comment("edgefleet component=dataplane version=2.0.0 "
			 "size=100 sha256=aa11 seq=7",
		  &seq) == 0);
	CHECK(seq == 7);
}

TEST(other_component_version_size_hash_refused)
{
	int64_t seq;

	/* Another component's signature cannot be replayed. */
	CHECK(ok_comment("edgefleet component=keeper version=2.0.0 size=100 "
			 "sha256=aa11 seq=7",
		  &seq) == -1);
	CHECK(ok_comment("edgefleet component=dataplane version=1.0.0 "
			 "size=100 sha256=aa11 seq=7",
		  &seq) == -1);
	CHECK(ok_comment("edgefleet component=dataplane version=2.0.0 "
			 "size=101 sha256=aa11 seq=7",
		  &seq) == -1);
	CHECK(ok_comment("edgefleet component=dataplane version=2.0.0 "
			 "size=100 sha256=bb22 seq=7",
		  &seq) == -1);
	CHECK(ok_comment("edgefleet component=dataplane version=2.0.0 "
			 "size=100 sha256=aa11 seq=0",
		  &seq) == -1);
	CHECK(ok_comment("timestamp:1700000000 file:edge-dp", &seq) == -1);
	CHECK(ok_comment("", &seq) == -1);
	/* "version=2.0.0x" is not "2.0.0". */
	CHECK(ok_comment("edgefleet component=dataplane version=2.0.0x "
			 "size=100 sha256=aa11 seq=7",
		  &seq) == -1);
}

int
main(void)
{
	RUN(matching_comment_accepted);
	RUN(other_component_version_size_hash_refused);
	return check_done();
}
