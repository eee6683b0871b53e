/*
 * Unit tests of the bird_config step's renderer: golden files for the
 * plain, drain, empty and IPv6 cases (tests/golden/bird/), each of which
 * the real `bird -p` must accept; changes of communities and of the
 * drain flag touch only `define` lines (what lets BIRD refeed instead of
 * resetting a session); refusals.
 *
 * EF_GOLDEN_UPDATE=1 rewrites the golden files from the renderer (then
 * read the diff before committing it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/afile.h"
#include "common/bgpconf.h"
#include "common/exec.h"
#include "common/json.h"
#include "steps/kinds.h"

#define GOLDEN "tests/golden/bird/"

static const char basic[] =
    "{\"asn\":65001,\"hold_time\":9,"
    "\"neighbors\":[{\"address\":\"198.51.100.1\",\"asn\":65000}],"
    "\"anycast\":[{\"prefix\":\"203.0.113.10/32\","
    "\"communities\":[\"65001:100\",\"65001:200\"],"
    "\"large_communities\":[\"65001:1:2\"]}]}";

static const char drain[] =
    "{\"asn\":65001,"
    "\"neighbors\":[{\"address\":\"198.51.100.1\",\"asn\":65000}],"
    "\"anycast\":[{\"prefix\":\"203.0.113.10/32\","
    "\"communities\":[\"65001:100\"]}],"
    "\"drain\":{\"communities\":[\"65535:0\",\"65001:666\"],"
    "\"prepend\":2,\"drain_s\":5}}";

static const char ipv6[] =
    "{\"asn\":4200000001,"
    "\"neighbors\":[{\"address\":\"2001:db8::1\",\"asn\":65000,"
    "\"name\":\"core-a\",\"bfd\":true,\"password\":\"s3cret\"},"
    "{\"address\":\"198.51.100.1\",\"asn\":65000}],"
    "\"anycast\":[{\"prefix\":\"2001:db8:ffff::10/128\","
    "\"large_communities\":[\"4200000001:7:8\"]},"
    "{\"prefix\":\"203.0.113.10/32\"}]}";

/* Validate as edge-cp and the keeper do, then render. */
static char *
render(const char *bgp_txt, const char *rid, bool dr, char *err, size_t len)
{
	json_t *in = NULL, *bgp = NULL;
	char *out = NULL;
	size_t n;

	if (json_parse_strict(bgp_txt, strlen(bgp_txt), 1 << 16,
		JSON_DEFAULT_DEPTH, &in, err, len) != 0 ||
	    bgpconf_validate(in, &bgp, err, len) != 0 ||
	    bird_render(bgp, rid, dr, "lo", &out, &n, err, len) != 0)
		out = NULL;
	json_decref(in);
	json_decref(bgp);
	return out;
}

/* The golden file's bytes equal got (or are rewritten on request). */
static bool
golden(const char *name, const char *got)
{
	char path[256], *want = NULL;
	size_t len;
	bool same;

	snprintf(path, sizeof(path), GOLDEN "%s", name);
	if (getenv("EF_GOLDEN_UPDATE") != NULL)
		return afile_write(path, got, strlen(got), 0644) == 0;
	if (afile_read(path, 1 << 20, &want, &len) != 0)
		return false;
	same = len == strlen(got) && memcmp(want, got, len) == 0;
	if (!same)
		printf("# %s differs; got:\n%s", path, got);
	free(want);
	return same;
}

/* The real BIRD parses it (bird -p). */
static bool
bird_accepts(const char *name)
{
	const char *argv[] = { "bird", "-p", "-c", NULL, NULL };
	struct exec_result *r = malloc(sizeof(*r));
	char path[256];
	bool ok;

	if (r == NULL)
		return false;
	snprintf(path, sizeof(path), GOLDEN "%s", name);
	argv[3] = path;
	ok = exec_run(argv, NULL, 10000, r) == 0 && r->status == 0;
	if (!ok)
		printf("# bird -p %s: %s\n", path, r->out);
	free(r);
	return ok;
}

static void
golden_case(const char *bgp, const char *rid, bool dr, const char *name)
{
	char err[256], *got = render(bgp, rid, dr, err, sizeof(err));
	bool same;

	CHECK(got != NULL);
	same = golden(name, got);
	free(got);
	CHECK(same);
	CHECK(bird_accepts(name));
}

TEST(bird_golden_basic)
{
	golden_case(basic, "198.51.100.11", false, "basic.conf");
}

TEST(bird_golden_drain)
{
	golden_case(drain, "198.51.100.11", true, "drain.conf");
}

TEST(bird_golden_empty)
{
	golden_case("{}", "", false, "empty.conf");
}

TEST(bird_golden_ipv6)
{
	golden_case(ipv6, "198.51.100.12", false, "ipv6.conf");
}

/* No POP section at all renders what an empty one does. */
TEST(bird_no_bgp_is_empty)
{
	char err[256], *a = NULL, *b = render("{}", "", false, err, 256);
	size_t n;

	CHECK(b != NULL);
	CHECK(
	    bird_render(NULL, "", false, "lo", &a, &n, err, sizeof(err)) == 0);
	CHECK_STR(a, b);
	free(a);
	free(b);
}

/* Lines of a that are not in b at the same place, outside `define`s. */
static int
non_define_diffs(const char *a, const char *b)
{
	int diffs = 0;

	while (*a != '\0' || *b != '\0') {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");

		if ((la != lb || memcmp(a, b, la) != 0) &&
		    (strncmp(a, "define ", 7) != 0 ||
			strncmp(b, "define ", 7) != 0))
			diffs++;
		a += la + (a[la] == '\n');
		b += lb + (b[lb] == '\n');
	}
	return diffs;
}

TEST(bird_communities_change_only_defines)
{
	char err[256], *a, *b, other[sizeof(basic)], *c;

	memcpy(other, basic, sizeof(basic));
	c = strstr(other, "65001:200");
	CHECK(c != NULL);
	memcpy(c, "65001:300", 9);
	a = render(basic, "198.51.100.11", false, err, sizeof(err));
	CHECK(a != NULL);
	b = render(other, "198.51.100.11", false, err, sizeof(err));
	CHECK(b != NULL);
	CHECK(strcmp(a, b) != 0);
	CHECK(non_define_diffs(a, b) == 0);
	free(a);
	free(b);
}

TEST(bird_drain_flag_changes_only_defines)
{
	char err[256], *a, *b;

	a = render(basic, "198.51.100.11", false, err, sizeof(err));
	b = render(basic, "198.51.100.11", true, err, sizeof(err));
	CHECK(a != NULL && b != NULL);
	CHECK(strcmp(a, b) != 0);
	CHECK(non_define_diffs(a, b) == 0);
	free(a);
	free(b);
}

/* Protocol names follow the neighbour, not its place in the list. */
TEST(bird_names_stable)
{
	const char *two = "{\"asn\":65001,\"neighbors\":["
			  "{\"address\":\"198.51.100.1\",\"asn\":65000},"
			  "{\"address\":\"198.51.100.2\",\"asn\":65000}]}";
	const char *swapped = "{\"asn\":65001,\"neighbors\":["
			      "{\"address\":\"198.51.100.2\",\"asn\":65000},"
			      "{\"address\":\"198.51.100.1\",\"asn\":65000}]}";
	char err[256], *a = render(two, "192.0.2.1", false, err, sizeof(err));
	char *b = render(swapped, "192.0.2.1", false, err, sizeof(err));

	CHECK(a != NULL && b != NULL);
	CHECK(strstr(a, "protocol bgp ef_peer_198_51_100_1 {") != NULL);
	CHECK(strstr(b, "protocol bgp ef_peer_198_51_100_1 {") != NULL);
	CHECK(strstr(b, "protocol bgp ef_peer_198_51_100_2 {") != NULL);
	free(a);
	free(b);
}

TEST(bird_render_refusals)
{
	char err[256], *out;

	out = render(basic, "", false, err, sizeof(err));
	CHECK(out == NULL);
	CHECK(strstr(err, "no router id") != NULL);
	out = render(basic, "203.0.113.10", false, err, sizeof(err));
	CHECK(out == NULL);
	CHECK(strstr(err, "anycast address") != NULL);
}

int
main(void)
{
	exec_set_path("/usr/sbin:/usr/bin:/sbin:/bin");
	RUN(bird_golden_basic);
	RUN(bird_golden_drain);
	RUN(bird_golden_empty);
	RUN(bird_golden_ipv6);
	RUN(bird_no_bgp_is_empty);
	RUN(bird_communities_change_only_defines);
	RUN(bird_drain_flag_changes_only_defines);
	RUN(bird_names_stable);
	RUN(bird_render_refusals);
	return check_done();
}
