/*
 * relkey_test: release key rotation statements (common/relkey.h) made and
 * verified, every way one must be refused, chains, and the node's list of
 * retired keys.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/minisign.h"
#include "common/relkey.h"
#include "tests/unit/check.h"

static struct msig_pub p1, p2, p3;
static struct msig_sec s1, s2, s3;
static const int64_t cut[RELKEY_NCOMP] = { 7, 3 };

/* A statement by sec over pub_text with trusted comment tc. */
static int
raw(const struct msig_sec *sec, const char *pub_text, const char *tc, char *out,
    size_t len)
{
	char err[256];

	return msig_sign(
	    sec, pub_text, strlen(pub_text), tc, out, len, err, sizeof(err));
}

TEST(rotation_made_and_verified)
{
	char pub[MSIG_PUB_TEXT_MAX], st[MSIG_SIG_TEXT_MAX], err[256];
	char id[MSIG_KEYIDHEX], want[200];
	struct relkey_rotation rot;

	CHECK(relkey_make(&s1, &p2, cut, pub, sizeof(pub), st, sizeof(st), err,
		  sizeof(err)) == 0);
	CHECK(relkey_verify(&p1, pub, st, &rot, err, sizeof(err)) == 0);
	CHECK(memcmp(&rot.next, &p2, sizeof(p2)) == 0);
	CHECK(rot.cutoff[0] == 7 && rot.cutoff[1] == 3);
	msig_keyid_hex(p2.keyid, id, sizeof(id));
	snprintf(want, sizeof(want),
	    "trusted comment: edgefleet-release-key next=%s dataplane_seq=7 "
	    "keeper_seq=3\n",
	    id);
	CHECK(strstr(st, want) != NULL);
	CHECK(relkey_component("dataplane") == 0);
	CHECK(relkey_component("keeper") == 1);
	CHECK(relkey_component("profile") == -1);
}

TEST(other_signer_is_skipped_not_verified)
{
	char pub[MSIG_PUB_TEXT_MAX], st[MSIG_SIG_TEXT_MAX], err[256];
	struct relkey_rotation rot;

	CHECK(relkey_make(&s2, &p3, cut, pub, sizeof(pub), st, sizeof(st), err,
		  sizeof(err)) == 0);
	CHECK(relkey_verify(&p1, pub, st, &rot, err, sizeof(err)) ==
	    RELKEY_OTHER_SIGNER);
}

TEST(forged_statements_refused)
{
	char pub[MSIG_PUB_TEXT_MAX], pub3[MSIG_PUB_TEXT_MAX],
	    own[MSIG_PUB_TEXT_MAX];
	char st[MSIG_SIG_TEXT_MAX], bad[MSIG_SIG_TEXT_MAX], err[256];
	char id2[MSIG_KEYIDHEX], id3[MSIG_KEYIDHEX], tc[200], *p;
	struct relkey_rotation rot;

	CHECK(relkey_make(&s1, &p2, cut, pub, sizeof(pub), st, sizeof(st), err,
		  sizeof(err)) == 0);
	msig_keyid_hex(p2.keyid, id2, sizeof(id2));
	msig_keyid_hex(p3.keyid, id3, sizeof(id3));
	msig_pub_encode(&p3, pub3, sizeof(pub3));
	msig_pub_encode(&p1, own, sizeof(own));
	/* The statement over k2 does not announce k3. */
	CHECK(relkey_verify(&p1, pub3, st, &rot, err, sizeof(err)) == -1);
	CHECK(strstr(err, "does not match the data") != NULL);
	/* A cut-off raised in the text breaks the comment's signature. */
	memcpy(bad, st, sizeof(bad));
	CHECK((p = strstr(bad, "dataplane_seq=7")) != NULL);
	p[strlen("dataplane_seq=")] = '9';
	CHECK(relkey_verify(&p1, pub, bad, &rot, err, sizeof(err)) == -1);
	CHECK(strstr(err, "trusted comment") != NULL);
	/* Signed, but the comment names k3 over k2's text. */
	snprintf(tc, sizeof(tc),
	    "edgefleet-release-key next=%s dataplane_seq=7 keeper_seq=3", id3);
	CHECK(raw(&s1, pub, tc, bad, sizeof(bad)) == 0);
	CHECK(relkey_verify(&p1, pub, bad, &rot, err, sizeof(err)) == -1);
	CHECK(strstr(err, "does not name the key") != NULL);
	/* A release signature over the same bytes is not a rotation. */
	CHECK(raw(&s1, pub,
		  "edgefleet component=dataplane version=1 size=1 sha256=aa "
		  "seq=1",
		  bad, sizeof(bad)) == 0);
	CHECK(relkey_verify(&p1, pub, bad, &rot, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not a release key rotation") != NULL);
	/* Numbers in canonical form only, none negative, none missing. */
	snprintf(tc, sizeof(tc),
	    "edgefleet-release-key next=%s dataplane_seq=07 keeper_seq=3", id2);
	CHECK(raw(&s1, pub, tc, bad, sizeof(bad)) == 0);
	CHECK(relkey_verify(&p1, pub, bad, &rot, err, sizeof(err)) == -1);
	snprintf(tc, sizeof(tc),
	    "edgefleet-release-key next=%s dataplane_seq=-1 keeper_seq=3", id2);
	CHECK(raw(&s1, pub, tc, bad, sizeof(bad)) == 0);
	CHECK(relkey_verify(&p1, pub, bad, &rot, err, sizeof(err)) == -1);
	snprintf(tc, sizeof(tc),
	    "edgefleet-release-key next=%s dataplane_seq=7", id2);
	CHECK(raw(&s1, pub, tc, bad, sizeof(bad)) == 0);
	CHECK(relkey_verify(&p1, pub, bad, &rot, err, sizeof(err)) == -1);
	snprintf(tc, sizeof(tc),
	    "edgefleet-release-key next=%s dataplane_seq=7 keeper_seq=3 x=1",
	    id2);
	CHECK(raw(&s1, pub, tc, bad, sizeof(bad)) == 0);
	CHECK(relkey_verify(&p1, pub, bad, &rot, err, sizeof(err)) == -1);
	/* A key cannot announce itself. */
	CHECK(relkey_make(&s1, &p1, cut, own, sizeof(own), bad, sizeof(bad),
		  err, sizeof(err)) == 0);
	CHECK(relkey_verify(&p1, own, bad, &rot, err, sizeof(err)) == -1);
	CHECK(strstr(err, "announces its signer") != NULL);
	/* Garbage, and a negative cut-off at making. */
	CHECK(
	    relkey_verify(&p1, pub, "nonsense", &rot, err, sizeof(err)) == -1);
	CHECK(relkey_verify(&p1, "nonsense", st, &rot, err, sizeof(err)) == -1);
	{
		const int64_t neg[RELKEY_NCOMP] = { -1, 0 };

		CHECK(relkey_make(&s1, &p2, neg, pub, sizeof(pub), bad,
			  sizeof(bad), err, sizeof(err)) == -1);
	}
	/* On every refusal nothing is handed out. */
	CHECK(sodium_is_zero((unsigned char *)&rot, sizeof(rot)));
}

/* k1 -> k2 -> k3: each link verifies under the key before it only. */
TEST(chain_followed_link_by_link)
{
	char pa[MSIG_PUB_TEXT_MAX], sa[MSIG_SIG_TEXT_MAX];
	char pb[MSIG_PUB_TEXT_MAX], sb[MSIG_SIG_TEXT_MAX], err[256];
	struct relkey_rotation rot;
	struct msig_pub cur = p1;

	CHECK(relkey_make(&s1, &p2, cut, pa, sizeof(pa), sa, sizeof(sa), err,
		  sizeof(err)) == 0);
	CHECK(relkey_make(&s2, &p3, cut, pb, sizeof(pb), sb, sizeof(sb), err,
		  sizeof(err)) == 0);
	CHECK(relkey_verify(&cur, pb, sb, &rot, err, sizeof(err)) ==
	    RELKEY_OTHER_SIGNER);
	CHECK(relkey_verify(&cur, pa, sa, &rot, err, sizeof(err)) == 0);
	cur = rot.next;
	CHECK(relkey_verify(&cur, pa, sa, &rot, err, sizeof(err)) ==
	    RELKEY_OTHER_SIGNER);
	CHECK(relkey_verify(&cur, pb, sb, &rot, err, sizeof(err)) == 0);
	CHECK(memcmp(&rot.next, &p3, sizeof(p3)) == 0);
}

TEST(retired_list_round_trip)
{
	struct relkey_retired in[2], out[4];
	const struct relkey_retired *r;
	char text[RELKEY_RETIRED_MAX] = "", err[256];
	size_t n;

	memset(in, 0, sizeof(in));
	in[0].key = p1;
	in[0].cutoff[0] = 7;
	in[0].cutoff[1] = 0;
	in[1].key = p2;
	in[1].cutoff[0] = INT64_MAX;
	in[1].cutoff[1] = 12;
	CHECK(relkey_retired_append(text, sizeof(text), &in[0]) == 0);
	CHECK(relkey_retired_append(text, sizeof(text), &in[1]) == 0);
	CHECK(relkey_retired_parse(
		  text, strlen(text), out, 4, &n, err, sizeof(err)) == 0);
	CHECK(n == 2);
	CHECK(memcmp(out, in, sizeof(in)) == 0);
	CHECK((r = relkey_retired_find(out, n, p2.keyid)) != NULL);
	CHECK(r->cutoff[0] == INT64_MAX && r->cutoff[1] == 12);
	CHECK(relkey_retired_find(out, n, p3.keyid) == NULL);
	CHECK(relkey_retired_parse("", 0, out, 4, &n, err, sizeof(err)) == 0 &&
	    n == 0);
	/* Too small a buffer leaves it as it was. */
	{
		char small[40] = "x";

		CHECK(
		    relkey_retired_append(small, sizeof(small), &in[0]) == -1);
		CHECK_STR(small, "x");
	}
}

TEST(retired_list_malformed_refused)
{
	struct relkey_retired in, out[4];
	char line[RELKEY_LINE_MAX] = "", text[RELKEY_RETIRED_MAX], err[256];
	size_t n, len;

	memset(&in, 0, sizeof(in));
	in.key = p1;
	in.cutoff[0] = 7;
	CHECK(relkey_retired_append(line, sizeof(line), &in) == 0);
	len = strlen(line);
	/* Without its "\n"; twice; more than max. */
	CHECK(relkey_retired_parse(
		  line, len - 1, out, 4, &n, err, sizeof(err)) == -1);
	snprintf(text, sizeof(text), "%s%s", line, line);
	CHECK(relkey_retired_parse(
		  text, strlen(text), out, 4, &n, err, sizeof(err)) == -1);
	CHECK(strstr(err, "twice") != NULL);
	CHECK(relkey_retired_parse(line, len, out, 0, &n, err, sizeof(err)) ==
	    -1);
	/* Edited numbers, fields and keys. */
	snprintf(text, sizeof(text), "%.*s dataplane_seq=07 keeper_seq=0\n",
	    (int)strcspn(line, " "), line);
	CHECK(relkey_retired_parse(
		  text, strlen(text), out, 4, &n, err, sizeof(err)) == -1);
	snprintf(text, sizeof(text), "%.*s keeper_seq=0 dataplane_seq=7\n",
	    (int)strcspn(line, " "), line);
	CHECK(relkey_retired_parse(
		  text, strlen(text), out, 4, &n, err, sizeof(err)) == -1);
	snprintf(text, sizeof(text), "%.*s extra\n", (int)(len - 1), line);
	CHECK(relkey_retired_parse(
		  text, strlen(text), out, 4, &n, err, sizeof(err)) == -1);
	snprintf(text, sizeof(text), "AAAA dataplane_seq=7 keeper_seq=0\n");
	CHECK(relkey_retired_parse(
		  text, strlen(text), out, 4, &n, err, sizeof(err)) == -1);
	CHECK(
	    relkey_retired_parse("\n", 1, out, 4, &n, err, sizeof(err)) == -1);
	CHECK(relkey_retired_parse(line, RELKEY_RETIRED_MAX + 1, out, 4, &n,
		  err, sizeof(err)) == -1);
}

/* A signed revocation list: parsed strictly, matched by seq or version. */
TEST(revocation_list_signed_and_matched)
{
	static const char *const ents[] = { "dataplane seq=5",
		"keeper version=1.2.0" };
	static struct relkey_revoked r;
	char text[RELKEY_REVOKED_TEXT_MAX], sig[MSIG_SIG_TEXT_MAX], err[256];

	CHECK(relkey_revoked_text(
		  3, ents, 2, text, sizeof(text), err, sizeof(err)) == 0);
	CHECK_STR(text,
	    "edgefleet-revoked serial=3\ndataplane seq=5\nkeeper "
	    "version=1.2.0\n");
	CHECK(raw(&s1, text, "edgefleet-revoked serial=3", sig, sizeof(sig)) ==
	    0);
	CHECK(relkey_revoked_verify(&p1, text, sig, &r, err, sizeof(err)) == 0);
	CHECK(r.serial == 3 && r.n == 2);
	CHECK(relkey_revoked_has(&r, "dataplane", "9.9", 5));
	CHECK(!relkey_revoked_has(&r, "dataplane", "9.9", 6));
	CHECK(!relkey_revoked_has(&r, "keeper", "9.9", 5));
	CHECK(relkey_revoked_has(&r, "keeper", "1.2.0", 77));
	CHECK(!relkey_revoked_has(&r, "dataplane", "1.2.0", 77));
	/* Another key, another serial in the comment, an edited list. */
	CHECK(
	    relkey_revoked_verify(&p2, text, sig, &r, err, sizeof(err)) == -1);
	CHECK(raw(&s1, text, "edgefleet-revoked serial=4", sig, sizeof(sig)) ==
	    0);
	CHECK(
	    relkey_revoked_verify(&p1, text, sig, &r, err, sizeof(err)) == -1);
	CHECK(r.n == 0 && r.serial == 0);
	CHECK(raw(&s1, text, "edgefleet-revoked serial=3", sig, sizeof(sig)) ==
	    0);
	text[strlen(text) - 2] = '1';
	CHECK(
	    relkey_revoked_verify(&p1, text, sig, &r, err, sizeof(err)) == -1);
}

TEST(revocation_list_malformed_refused)
{
	static const char *const bad[] = {
		"",
		"edgefleet-revoked serial=0\n",
		"edgefleet-revoked serial=01\n",
		"edgefleet-revoked serial=1",
		"edgefleet-revoked serial=1\nprofile seq=1\n",
		"edgefleet-revoked serial=1\ndataplane seq=0\n",
		"edgefleet-revoked serial=1\ndataplane\n",
		"edgefleet-revoked serial=1\ndataplane seq=1 \n",
		"edgefleet-revoked serial=1\ndataplane version=../x\n",
		"edgefleet-revoked serial=1\n\n",
		"revoked serial=1\n",
		NULL,
	};
	static struct relkey_revoked r;
	char err[256];
	size_t i;

	for (i = 0; bad[i] != NULL; i++)
		CHECK(relkey_revoked_parse(
			  bad[i], strlen(bad[i]), &r, err, sizeof(err)) == -1);
	CHECK(relkey_revoked_parse("edgefleet-revoked serial=1\n", 27, &r, err,
		  sizeof(err)) == 0);
	CHECK(r.serial == 1 && r.n == 0);
}

int
main(void)
{
	if (sodium_init() < 0 || msig_keygen(&p1, &s1) != 0 ||
	    msig_keygen(&p2, &s2) != 0 || msig_keygen(&p3, &s3) != 0)
		return 1;
	RUN(rotation_made_and_verified);
	RUN(other_signer_is_skipped_not_verified);
	RUN(forged_statements_refused);
	RUN(chain_followed_link_by_link);
	RUN(retired_list_round_trip);
	RUN(retired_list_malformed_refused);
	RUN(revocation_list_signed_and_matched);
	RUN(revocation_list_malformed_refused);
	sodium_memzero(&s1, sizeof(s1));
	sodium_memzero(&s2, sizeof(s2));
	sodium_memzero(&s3, sizeof(s3));
	return check_done();
}
