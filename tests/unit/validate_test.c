/* Unit tests of common/json strict parsing and cp/validate. */
#include <string.h>

#include "check.h"
#include "common/util.h"
#include "common/bgpconf.h"
#include "common/json.h"
#include "cp/validate.h"

static json_t *
parse(const char *s)
{
	char err[256];
	json_t *v = NULL;

	json_parse_strict(
	    s, strlen(s), 1 << 20, JSON_DEFAULT_DEPTH, &v, err, sizeof(err));
	return v;
}

static int
bgp_ok(const char *s)
{
	char err[256];
	json_t *in = parse(s), *out = NULL;
	int rc;

	if (in == NULL)
		return -2;
	rc = bgpconf_validate(in, &out, err, sizeof(err));
	json_decref(in);
	json_decref(out);
	return rc;
}

static int
profile_ok(const char *s)
{
	char err[256];
	json_t *in = parse(s), *out = NULL;
	int rc;

	if (in == NULL)
		return -2;
	rc = validate_profile(in, &out, err, sizeof(err));
	json_decref(in);
	json_decref(out);
	return rc;
}

static int
status_ok(const char *s)
{
	char err[256];
	json_t *in = parse(s), *out = NULL;
	int rc;

	if (in == NULL)
		return -2;
	rc = validate_status(in, &out, err, sizeof(err));
	json_decref(in);
	json_decref(out);
	return rc;
}

TEST(json_strict_rejects_hostile_documents)
{
	char err[256], deep[200];
	json_t *v;
	int i;

	CHECK(json_parse_strict("{\"a\":1,\"a\":2}", 13, 1000, 32, &v, err,
		  sizeof(err)) == -1 &&
	    v == NULL);
	CHECK(json_parse_strict(
		  "{\"a\":\"x\"}\0", 10, 1000, 32, &v, err, sizeof(err)) == -1);
	CHECK(
	    json_parse_strict("[1]", 3, 1000, 32, &v, err, sizeof(err)) == -1);
	CHECK(json_parse_strict("{\"a\":\"\\u0000\"}", 14, 1000, 32, &v, err,
		  sizeof(err)) == -1);
	CHECK(json_parse_strict(
		  "{\"a\":\"\xff\"}", 9, 1000, 32, &v, err, sizeof(err)) == -1);
	CHECK(json_parse_strict("{\"a\":1}", 7, 5, 32, &v, err, sizeof(err)) ==
	    -1);
	CHECK(json_parse_strict("", 0, 5, 32, &v, err, sizeof(err)) == -1);
	for (i = 0; i < 40; i++)
		deep[i] = '[';
	deep[0] = '{';
	memcpy(deep + 1, "\"a\":", 4);
	deep[40] = '\0';
	CHECK(
	    json_parse_strict(deep, 40, 1000, 32, &v, err, sizeof(err)) == -1);
	CHECK(strstr(err, "nesting") != NULL);
	/* Brackets inside strings do not count as nesting. */
	CHECK(json_parse_strict("{\"a\":\"[[[[[[[[[[[[\"}", 20, 1000, 4, &v,
		  err, sizeof(err)) == 0);
	json_decref(v);
}

TEST(jfield_types_and_ranges)
{
	char err[256];
	json_t *o = parse("{\"s\":\"x\",\"i\":5,\"b\":true}");
	static const char *const only[] = { "s", "i", NULL };
	const char *s = NULL;
	int64_t i = 0;
	bool b = false;

	CHECK(o != NULL);
	CHECK(jfield_str(o, "s", true, 10, &s, err, sizeof(err)) == 0);
	CHECK_STR(s, "x");
	CHECK(jfield_int(o, "i", true, 0, 4, &i, err, sizeof(err)) == -1);
	CHECK(jfield_int(o, "s", true, 0, 4, &i, err, sizeof(err)) == -1);
	CHECK(jfield_int(o, "missing", true, 0, 4, &i, err, sizeof(err)) == -1);
	CHECK(jfield_int(o, "missing", false, 0, 4, &i, err, sizeof(err)) == 0);
	CHECK(jfield_bool(o, "b", true, &b, err, sizeof(err)) == 0 && b);
	CHECK(jfield_only(o, only, err, sizeof(err)) == -1);
	CHECK(strstr(err, "b: unknown field") != NULL);
	json_decref(o);
}

TEST(bgp_accepts_good_and_fills_defaults)
{
	char err[256];
	json_t *in = parse(
		   "{\"asn\":64512,\"neighbors\":[{\"address\":"
		   "\"2001:db8::1\",\"asn\":64500,\"bfd\":true}],\"anycast\":[{"
		   "\"prefix\":\"2001:db8:0:0::10/128\",\"large_communities\":"
		   "[\"64512:1:2\"]}]}"),
	       *out = NULL;

	CHECK(in != NULL);
	CHECK(bgpconf_validate(in, &out, err, sizeof(err)) == 0);
	CHECK(json_integer_value(json_object_get(out, "hold_time")) == 90);
	CHECK_STR(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(out, "anycast"), 0), "prefix")),
	    "2001:db8::10/128");
	CHECK_STR(
	    json_string_value(json_array_get(
		json_object_get(json_object_get(out, "drain"), "communities"),
		0)),
	    "65535:0");
	CHECK(json_integer_value(json_object_get(
		  json_object_get(out, "drain"), "drain_s")) == 30);
	json_decref(in);
	json_decref(out);
	CHECK(bgp_ok("{}") == 0);
}

TEST(bgp_rejects_bad)
{
	CHECK(bgp_ok("{\"anycast\":[{\"prefix\":\"198.51.100.0/24\"}]}") == -1);
	CHECK(bgp_ok("{\"anycast\":[{\"prefix\":\"198.51.100.1\"}]}") == -1);
	CHECK(bgp_ok("{\"anycast\":[{\"prefix\":\"2001:db8::1/64\"}]}") == -1);
	CHECK(bgp_ok("{\"anycast\":[{\"prefix\":\"198.51.100.1/32\"},"
		     "{\"prefix\":\"198.51.100.1/32\"}]}") == -1);
	CHECK(bgp_ok("{\"anycast\":[{\"prefix\":\"198.51.100.1/32\","
		     "\"communities\":[\"65536:1\"]}]}") == -1);
	CHECK(bgp_ok("{\"anycast\":[{\"prefix\":\"198.51.100.1/32\","
		     "\"communities\":[\"1:2:3\"]}]}") == -1);
	CHECK(bgp_ok("{\"anycast\":[{\"prefix\":\"198.51.100.1/32\","
		     "\"large_communities\":[\"1:2\"]}]}") == -1);
	CHECK(bgp_ok("{\"neighbors\":[{\"address\":\"192.0.2.1\","
		     "\"asn\":1}]}") == -1); /* no local asn */
	CHECK(bgp_ok("{\"asn\":1,\"neighbors\":[{\"address\":\"nope\","
		     "\"asn\":1}]}") == -1);
	CHECK(bgp_ok("{\"asn\":0}") == -1);
	CHECK(bgp_ok("{\"asn\":4294967296}") == -1);
	CHECK(bgp_ok("{\"hold_time\":2}") == -1);
	CHECK(bgp_ok("{\"unknown\":1}") == -1);
	CHECK(bgp_ok("{\"asn\":1,\"neighbors\":[{\"address\":\"192.0.2.1\","
		     "\"asn\":2,\"password\":\"a\\\"b\"}]}") == -1);
	CHECK(bgp_ok("{\"drain\":{\"prepend\":99}}") == -1);
}

TEST(bgp_withdraw_all_detected)
{
	json_t *a = parse("{\"anycast\":[{\"prefix\":\"198.51.100.1/32\"}]}");
	json_t *b = parse("{\"anycast\":[]}");

	CHECK(bgpconf_withdraws_all(a, b));
	CHECK(!bgpconf_withdraws_all(b, a));
	CHECK(!bgpconf_withdraws_all(a, a));
	json_decref(a);
	json_decref(b);
}

TEST(profile_rules)
{
	CHECK(profile_ok("{\"steps\":[]}") == 0);
	CHECK(profile_ok(
		  "{\"steps\":[{\"name\":\"a\",\"kind\":\"sysctl\","
		  "\"params\":{\"key\":\"net.ipv4.ip_forward\","
		  "\"value\":\"1\"}},"
		  "{\"name\":\"b\",\"kind\":\"file\",\"after\":[\"a\"],"
		  "\"params\":{\"path\":\"/x\",\"content\":\"\"}}]}") == 0);
	/* The kind's own parser runs: a missing field is refused. */
	CHECK(profile_ok(
		  "{\"steps\":[{\"name\":\"a\",\"kind\":\"sysctl\"}]}") == -1);
	CHECK(profile_ok("{}") == -1);
	CHECK(profile_ok("{\"steps\":[{\"name\":\"a\",\"kind\":\"nope\"}]}") ==
	    -1);
	CHECK(profile_ok("{\"steps\":[{\"name\":\"a\",\"kind\":\"file\"},"
			 "{\"name\":\"a\",\"kind\":\"file\"}]}") == -1);
	CHECK(profile_ok(
		  "{\"steps\":[{\"name\":\"a\",\"kind\":\"file\","
		  "\"after\":[\"b\"]},{\"name\":\"b\",\"kind\":\"file\"}]}") ==
	    -1);
	CHECK(profile_ok("{\"steps\":[{\"name\":\"a\",\"kind\":\"file\","
			 "\"after\":[\"a\"]}]}") == -1);
	CHECK(profile_ok(
		  "{\"steps\":[{\"name\":\"A B\",\"kind\":\"file\"}]}") == -1);
	CHECK(profile_ok("{\"steps\":[{\"name\":\"a\",\"kind\":\"file\","
			 "\"params\":[]}]}") == -1);
}

TEST(status_rules)
{
	CHECK(status_ok("{}") == 0);
	CHECK(status_ok("{\"versions\":{\"profile\":\"3\"},\"steps\":[{"
			"\"name\":\"a\",\"state\":\"error\",\"reason\":\"x\"}],"
			"\"dataplane\":{\"healthy\":false},\"announced\":"
			"[\"198.51.100.1/32\"],\"drained\":false}") == 0);
	CHECK(status_ok("{\"steps\":[{\"name\":\"a\",\"state\":\"weird\"}]}") ==
	    -1);
	CHECK(status_ok("{\"versions\":{\"profile\":3}}") == -1);
	CHECK(status_ok("{\"versions\":{\"other\":\"3\"}}") == -1);
	CHECK(status_ok("{\"dataplane\":{}}") == -1);
	CHECK(status_ok("{\"extra\":1}") == -1);
	CHECK(status_ok("{\"announced\":[1]}") == -1);
}

TEST(names_versions_hostnames)
{
	CHECK(util_version_ok("1.2.3-rc1+b5"));
	CHECK(!util_version_ok(""));
	CHECK(!util_version_ok("-1"));
	CHECK(!util_version_ok("1/2"));
	CHECK(!util_version_ok("a\"b"));
	CHECK(validate_hostname("edge-01.fra1.example.net"));
	CHECK(!validate_hostname("a b"));
	CHECK(!validate_hostname("a\nb"));
}

int
main(void)
{
	RUN(json_strict_rejects_hostile_documents);
	RUN(jfield_types_and_ranges);
	RUN(bgp_accepts_good_and_fills_defaults);
	RUN(bgp_rejects_bad);
	RUN(bgp_withdraw_all_detected);
	RUN(profile_rules);
	RUN(status_rules);
	RUN(names_versions_hostnames);
	return check_done();
}
