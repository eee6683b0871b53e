/*
 * Unit tests of keeper/release: the trusted comment binds a signature;
 * release_install() with its 1st, 2nd, ... write, fsync or rename failing,
 * and killed at each of them (tests/unit/faultio.h): an installed binary
 * always has its signature beside it or is not there, and the sequence
 * watermark never goes down.
 */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "check.h"
#include "common/afile.h"
#include "common/minisign.h"
#include "common/priv.h"
#include "common/relkey.h"
#include "common/util.h"
#include "faultio.h"
#include "keeper/release.h"
#include "keeper/release_keys.h"
#include "tmpdir.h"

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

#define ART_LEN (200 * 1024) /* several 64 KiB writes */

static struct keeper_conf conf;
static struct release_ctx ctx = { .cp = NULL, .conf = &conf };
static struct msig_sec sec;
static char dest[1024], sigf[1100], part[1100], seqf[1024];
static unsigned char art_new[ART_LEN], art_old[ART_LEN];
static char sig_new[MSIG_SIG_TEXT_MAX], sig_old[MSIG_SIG_TEXT_MAX];

/* The signature edge-cp would make for data as dataplane 2.0.0, seq. */
static int
sign(const unsigned char *data, size_t len, long long seq, char *out,
    size_t olen)
{
	unsigned char h[32];
	char hex[65], tc[256], err[256];

	crypto_hash_sha256(h, data, len);
	util_hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(tc, sizeof(tc),
	    "edgefleet component=dataplane version=2.0.0 size=%zu sha256=%s "
	    "seq=%lld",
	    len, hex, seq);
	return msig_sign(&sec, data, len, tc, out, olen, err, sizeof(err));
}

/* A memfd holding data, as release_fetch hands it over. */
static int
memfd_of(const unsigned char *data, size_t len)
{
	int fd = memfd_create("release_test", MFD_CLOEXEC);

	if (fd >= 0 && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int64_t
seq_on_disk(void)
{
	char *txt = NULL;
	int64_t v = -1;

	if (afile_read(seqf, 64, &txt, NULL) == 0) {
		txt[strcspn(txt, "\n")] = '\0';
		if (util_parse_i64(txt, 0, INT64_MAX, &v) != 0)
			v = -1;
	}
	free(txt);
	return v;
}

/* Equal to the file at path. */
static int
file_is(const char *path, const void *data, size_t len)
{
	char *txt = NULL;
	size_t n = 0;
	int rc;

	rc = afile_read(path, ART_LEN + 1, &txt, &n) == 0 && n == len &&
	    memcmp(txt, data, len) == 0;
	free(txt);
	return rc;
}

/*
 * A fresh root with the pinned key and watermark 4; with old, 2.0.0 is
 * installed already (other bytes, seq 3), as a repair would find it.
 */
static int
root_setup(int old)
{
	char pub[MSIG_PUB_TEXT_MAX], path[1024], dir[1024];
	struct msig_pub p;

	tmp_rmtree(conf.root);
	snprintf(dir, sizeof(dir), "%s/var/lib/edge-keeper/dataplane/2.0.0",
	    conf.root);
	if (mkdir(conf.root, 0755) != 0 ||
	    priv_direct_mkdirs(dir, strlen(conf.root), 0755) != 0)
		return -1;
	msig_sec_pub(&sec, &p);
	msig_pub_encode(&p, pub, sizeof(pub));
	snprintf(path, sizeof(path), "%s/var/lib/edge-keeper/release.pub",
	    conf.root);
	if (afile_write(path, pub, strlen(pub), 0644) != 0 ||
	    afile_write(seqf, "4\n", 2, 0600) != 0)
		return -1;
	if (old &&
	    (afile_write(dest, art_old, ART_LEN, 0755) != 0 ||
		afile_write(sigf, sig_old, strlen(sig_old), 0644) != 0))
		return -1;
	return 0;
}

static int
install_new(void *arg)
{
	char err[256];
	int fd = memfd_of(art_new, ART_LEN), rc;

	(void)arg;
	rc = release_install(&ctx, "dataplane", "2.0.0", dest, true, sig_new,
	    fd, err, sizeof(err));
	close(fd);
	return rc == 0 ? 0 : 1;
}

/*
 * The invariant after any fault: the binary is not there, or it is the
 * old or the new one with its own signature beside it (which the check
 * before every start admits); the watermark is 4 or 5, never less.
 */
static int
install_state_ok(int old)
{
	struct stat st;
	char err[256];
	int64_t seq = seq_on_disk();

	if (seq != 4 && seq != 5)
		return 0;
	if (stat(dest, &st) != 0)
		return 1;
	if (file_is(dest, art_new, ART_LEN))
		return file_is(sigf, sig_new, strlen(sig_new)) &&
		    release_verify(&ctx, "dataplane", "2.0.0", dest, true, err,
			sizeof(err)) == 0;
	return old && file_is(dest, art_old, ART_LEN) &&
	    file_is(sigf, sig_old, strlen(sig_old)) &&
	    release_verify(
		&ctx, "dataplane", "2.0.0", dest, true, err, sizeof(err)) == 0;
}

static void
names_setup(void)
{
	snprintf(conf.root, sizeof(conf.root), "%s/root", tmpdir);
	snprintf(dest, sizeof(dest),
	    "%s/var/lib/edge-keeper/dataplane/2.0.0/edge-dp", conf.root);
	snprintf(sigf, sizeof(sigf), "%s.minisig", dest);
	snprintf(part, sizeof(part), "%s.part", dest);
	snprintf(seqf, sizeof(seqf), "%s/var/lib/edge-keeper/dataplane.seq",
	    conf.root);
}

TEST(install_admits_and_installs)
{
	struct stat st;

	CHECK(root_setup(0) == 0);
	CHECK(install_new(NULL) == 0);
	CHECK(file_is(dest, art_new, ART_LEN));
	CHECK(stat(dest, &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK(file_is(sigf, sig_new, strlen(sig_new)));
	CHECK(seq_on_disk() == 5);
	CHECK(stat(part, &st) != 0);
}

/* Fail the 1st, 2nd, ... call, with and without a binary there before. */
TEST(failed_install_leaves_a_signed_binary_or_none)
{
	struct stat st;
	int old, n, rc, calls;

	for (old = 0; old <= 1; old++) {
		for (n = 1; n < FAULTIO_MAX; n++) {
			CHECK(root_setup(old) == 0);
			faultio_fail(n);
			rc = install_new(NULL);
			calls = atomic_load(&faultio_calls);
			faultio_off();
			CHECK(install_state_ok(old));
			CHECK(rc == 0 || stat(part, &st) != 0);
			if (rc == 0) {
				CHECK(calls < n);
				break;
			}
		}
		CHECK(n > 5 && n < FAULTIO_MAX);
		CHECK(file_is(dest, art_new, ART_LEN) && seq_on_disk() == 5);
	}
}

/*
 * Killed at each call: the same, and the next install (a leftover .part
 * and temporary files on disk) installs the release.
 */
TEST(killed_install_leaves_a_signed_binary_or_none)
{
	int old, n, rc;

	for (old = 0; old <= 1; old++) {
		for (n = 1; n < FAULTIO_MAX; n++) {
			CHECK(root_setup(old) == 0);
			rc = faultio_run(n, install_new, NULL);
			CHECK(rc == 0 || rc == FAULTIO_CRASHED);
			CHECK(install_state_ok(old));
			if (rc == 0)
				break;
			CHECK(install_new(NULL) == 0);
			CHECK(file_is(dest, art_new, ART_LEN) &&
			    seq_on_disk() == 5);
		}
		CHECK(n > 5 && n < FAULTIO_MAX);
	}
}

/* An install of an older sequence (a rollback) keeps the watermark. */
TEST(watermark_never_goes_down)
{
	char err[256];
	int fd, n, rc;

	for (n = 1; n < FAULTIO_MAX; n++) {
		CHECK(root_setup(0) == 0);
		CHECK(afile_write(seqf, "9\n", 2, 0600) == 0);
		fd = memfd_of(art_new, ART_LEN);
		faultio_fail(n);
		rc = release_install(&ctx, "dataplane", "2.0.0", dest, true,
		    sig_new, fd, err, sizeof(err));
		faultio_off();
		close(fd);
		CHECK(seq_on_disk() == 9);
		if (rc == 0)
			break;
	}
	CHECK(n < FAULTIO_MAX);
	/* Without the rollback said, refused; nothing installed. */
	CHECK(root_setup(0) == 0);
	CHECK(afile_write(seqf, "9\n", 2, 0600) == 0);
	fd = memfd_of(art_new, ART_LEN);
	CHECK(release_install(&ctx, "dataplane", "2.0.0", dest, false, sig_new,
		  fd, err, sizeof(err)) != 0);
	close(fd);
	CHECK(access(dest, F_OK) != 0 && seq_on_disk() == 9);
}

/* Install art_new signed with seq over watermark 4; the error in err. */
static int
install_seq(long long seq, char *err, size_t errlen)
{
	char sig[MSIG_SIG_TEXT_MAX];
	int fd, rc;

	if (sign(art_new, ART_LEN, seq, sig, sizeof(sig)) != 0)
		return -2;
	fd = memfd_of(art_new, ART_LEN);
	rc = release_install(
	    &ctx, "dataplane", "2.0.0", dest, false, sig, fd, err, errlen);
	close(fd);
	return rc;
}

/*
 * A stolen key's signature far ahead is refused and moves nothing; the
 * bound itself is admitted.
 */
TEST(sequence_jump_is_bounded)
{
	char err[256];

	CHECK(root_setup(0) == 0);
	CHECK(install_seq(4LL + RELEASE_SEQ_JUMP_MAX + 1, err, sizeof(err)) ==
	    -1);
	CHECK(
	    strstr(err, "more than 10000 above the newest admitted 4") != NULL);
	CHECK(install_seq(INT64_MAX, err, sizeof(err)) == -1);
	CHECK(access(dest, F_OK) != 0 && seq_on_disk() == 4);
	CHECK(install_seq(4LL + RELEASE_SEQ_JUMP_MAX, err, sizeof(err)) == 0);
	CHECK(seq_on_disk() == 4 + RELEASE_SEQ_JUMP_MAX);
	/* Nothing admitted yet: nothing to measure a jump from. */
	CHECK(root_setup(0) == 0);
	CHECK(unlink(seqf) == 0);
	CHECK(install_seq(50000, err, sizeof(err)) == 0);
	CHECK(seq_on_disk() == 50000);
}

/* Sign art_new as dataplane 2.0.0 seq with key k instead of sec. */
static int
sign_with(const struct msig_sec *k, long long seq, char *out, size_t olen)
{
	struct msig_sec keep = sec;
	int rc;

	sec = *k;
	rc = sign(art_new, ART_LEN, seq, out, olen);
	sec = keep;
	return rc;
}

static int
install_sig(const char *sig, char *err, size_t errlen)
{
	int fd = memfd_of(art_new, ART_LEN), rc;

	rc = release_install(
	    &ctx, "dataplane", "2.0.0", dest, true, sig, fd, err, errlen);
	close(fd);
	return rc;
}

static int
file_has(const char *rel, const char *needle)
{
	char path[1100], *txt = NULL;
	int rc;

	snprintf(
	    path, sizeof(path), "%s/var/lib/edge-keeper/%s", conf.root, rel);
	rc = afile_read(path, 1 << 16, &txt, NULL) == 0 &&
	    strstr(txt, needle) != NULL;
	free(txt);
	return rc;
}

/*
 * k1 (pinned) -> k2 with dataplane cut-off 5: what k1 signed up to 5 still
 * verifies, above it is refused, k2 signs; a replayed or foreign
 * statement moves nothing; the pin never goes back to a retired key.
 */
TEST(rotation_keeps_the_old_key_to_its_cutoff)
{
	struct msig_sec k2s, k3s;
	struct msig_pub k2p, k3p, k1p;
	char pub[MSIG_PUB_TEXT_MAX], st[MSIG_SIG_TEXT_MAX], err[256];
	char back[MSIG_PUB_TEXT_MAX], bst[MSIG_SIG_TEXT_MAX],
	    sig[MSIG_SIG_TEXT_MAX];
	char k2pub[MSIG_PUB_TEXT_MAX];
	const int64_t cut[RELKEY_NCOMP] = { 5, 0 };
	bool inst;

	CHECK(msig_keygen(&k2p, &k2s) == 0 && msig_keygen(&k3p, &k3s) == 0);
	msig_sec_pub(&sec, &k1p);
	CHECK(root_setup(0) == 0);
	CHECK(install_new(NULL) == 0); /* k1, seq 5 */
	CHECK(relkey_make(&sec, &k2p, cut, pub, sizeof(pub), st, sizeof(st),
		  err, sizeof(err)) == 0);
	CHECK(release_key_rotate(&ctx, pub, st, &inst, err, sizeof(err)) == 0);
	CHECK(inst);
	CHECK(msig_pub_encode(&k2p, k2pub, sizeof(k2pub)) == 0);
	CHECK(file_has("release.pub", k2pub));
	CHECK(file_has("release.retired", "dataplane_seq=5 keeper_seq=0\n"));
	/* Installed before, signed by k1 at 5: still starts. */
	CHECK(release_verify(&ctx, "dataplane", "2.0.0", dest, true, err,
		  sizeof(err)) == 0);
	/* The same statement again: by a key no longer pinned, skipped. */
	CHECK(release_key_rotate(&ctx, pub, st, &inst, err, sizeof(err)) == 0);
	CHECK(!inst && file_has("release.pub", k2pub));
	/* k1 above its cut-off: refused, the reason said; k2 admitted. */
	CHECK(sign_with(&sec, 6, sig, sizeof(sig)) == 0);
	CHECK(install_sig(sig, err, sizeof(err)) == -1);
	CHECK(strstr(err, "retired release key") != NULL &&
	    strstr(err, "only up to sequence 5; this one is 6") != NULL);
	CHECK(seq_on_disk() == 5);
	CHECK(sign_with(&k2s, 6, sig, sizeof(sig)) == 0);
	CHECK(install_sig(sig, err, sizeof(err)) == 0 && seq_on_disk() == 6);
	/* A key nobody pinned or retired: refused by its key id. */
	CHECK(sign_with(&k3s, 7, sig, sizeof(sig)) == 0);
	CHECK(install_sig(sig, err, sizeof(err)) == -1);
	CHECK(strstr(err, "signed by another key") != NULL);
	/* k2 -> k1 again: the pin never goes back to a retired key. */
	CHECK(relkey_make(&k2s, &k1p, cut, back, sizeof(back), bst, sizeof(bst),
		  err, sizeof(err)) == 0);
	CHECK(
	    release_key_rotate(&ctx, back, bst, &inst, err, sizeof(err)) == -1);
	CHECK(!inst && file_has("release.pub", k2pub));
	/* k2 -> k3: a chain; k1 and k2 both retired, each with its cut-off. */
	CHECK(relkey_make(&k2s, &k3p, (const int64_t[]){ 6, 0 }, back,
		  sizeof(back), bst, sizeof(bst), err, sizeof(err)) == 0);
	CHECK(
	    release_key_rotate(&ctx, back, bst, &inst, err, sizeof(err)) == 0 &&
	    inst);
	CHECK(release_verify(&ctx, "dataplane", "2.0.0", dest, true, err,
		  sizeof(err)) == 0);
	CHECK(sign_with(&k2s, 7, sig, sizeof(sig)) == 0);
	CHECK(install_sig(sig, err, sizeof(err)) == -1);
	CHECK(sign_with(&k3s, 7, sig, sizeof(sig)) == 0);
	CHECK(install_sig(sig, err, sizeof(err)) == 0 && seq_on_disk() == 7);
	sodium_memzero(&k2s, sizeof(k2s));
	sodium_memzero(&k3s, sizeof(k3s));
}

/*
 * A crash between the retired list and release.pub: the old key is both
 * pinned and retired; its cut-off already holds, and the statement
 * verified again finishes the rotation without a second line.
 */
TEST(rotation_cut_short_is_finished)
{
	struct msig_sec k2s;
	struct msig_pub k2p, k1p;
	struct relkey_retired r;
	char pub[MSIG_PUB_TEXT_MAX], st[MSIG_SIG_TEXT_MAX], err[256];
	char line[RELKEY_LINE_MAX] = "", path[1100], sig[MSIG_SIG_TEXT_MAX];
	char *txt = NULL;
	const int64_t cut[RELKEY_NCOMP] = { 4, 0 };
	bool inst;
	size_t len;

	CHECK(msig_keygen(&k2p, &k2s) == 0);
	msig_sec_pub(&sec, &k1p);
	CHECK(root_setup(0) == 0);
	memset(&r, 0, sizeof(r));
	r.key = k1p;
	r.cutoff[0] = 4;
	CHECK(relkey_retired_append(line, sizeof(line), &r) == 0);
	snprintf(path, sizeof(path), "%s/var/lib/edge-keeper/release.retired",
	    conf.root);
	CHECK(afile_write(path, line, strlen(line), 0644) == 0);
	CHECK(sign_with(&sec, 5, sig, sizeof(sig)) == 0);
	CHECK(install_sig(sig, err, sizeof(err)) == -1);
	CHECK(strstr(err, "retired release key") != NULL);
	CHECK(relkey_make(&sec, &k2p, cut, pub, sizeof(pub), st, sizeof(st),
		  err, sizeof(err)) == 0);
	CHECK(release_key_rotate(&ctx, pub, st, &inst, err, sizeof(err)) == 0);
	CHECK(inst);
	CHECK(afile_read(path, 4096, &txt, &len) == 0);
	CHECK(len == strlen(line) && memcmp(txt, line, len) == 0);
	free(txt);
	sodium_memzero(&k2s, sizeof(k2s));
}

/*
 * A revocation list the pinned key signed: the release it names is not
 * installed and no longer starts; an older list does not replace it; one
 * by another key is refused.
 */
TEST(revoked_release_refused)
{
	static const char *const ents[] = { "dataplane seq=5" };
	static const char *const none[] = { "keeper seq=1" };
	char text[RELKEY_REVOKED_TEXT_MAX], sig[MSIG_SIG_TEXT_MAX], err[256];
	struct msig_sec other;
	struct msig_pub op;
	bool inst;

	CHECK(msig_keygen(&op, &other) == 0);
	CHECK(root_setup(0) == 0);
	CHECK(install_new(NULL) == 0); /* seq 5 */
	CHECK(relkey_revoked_text(
		  2, ents, 1, text, sizeof(text), err, sizeof(err)) == 0);
	CHECK(
	    msig_sign(&other, text, strlen(text), "edgefleet-revoked serial=2",
		sig, sizeof(sig), err, sizeof(err)) == 0);
	CHECK(release_revoked_install(
		  &ctx, text, sig, &inst, err, sizeof(err)) == -1);
	CHECK(release_verify(&ctx, "dataplane", "2.0.0", dest, true, err,
		  sizeof(err)) == 0);
	CHECK(msig_sign(&sec, text, strlen(text), "edgefleet-revoked serial=2",
		  sig, sizeof(sig), err, sizeof(err)) == 0);
	CHECK(release_revoked_install(
		  &ctx, text, sig, &inst, err, sizeof(err)) == 0 &&
	    inst);
	CHECK(release_verify(&ctx, "dataplane", "2.0.0", dest, true, err,
		  sizeof(err)) == -1);
	CHECK(strstr(err, "is revoked (revocation list 2)") != NULL);
	CHECK(install_sig(sig_new, err, sizeof(err)) == -1);
	CHECK(file_has("release.revoked", "dataplane seq=5\n"));
	/* An older list, validly signed, does not lift the revocation. */
	CHECK(relkey_revoked_text(
		  1, none, 1, text, sizeof(text), err, sizeof(err)) == 0);
	CHECK(msig_sign(&sec, text, strlen(text), "edgefleet-revoked serial=1",
		  sig, sizeof(sig), err, sizeof(err)) == 0);
	CHECK(release_revoked_install(
		  &ctx, text, sig, &inst, err, sizeof(err)) == 0 &&
	    !inst);
	CHECK(file_has("release.revoked", "dataplane seq=5\n"));
	sodium_memzero(&other, sizeof(other));
}

int
main(void)
{
	struct msig_pub pub;

	if (sodium_init() < 0)
		return 1;
	tmp_setup("release_test");
	names_setup();
	randombytes_buf(art_new, sizeof(art_new));
	randombytes_buf(art_old, sizeof(art_old));
	if (msig_keygen(&pub, &sec) != 0 ||
	    sign(art_new, ART_LEN, 5, sig_new, sizeof(sig_new)) != 0 ||
	    sign(art_old, ART_LEN, 3, sig_old, sizeof(sig_old)) != 0)
		return 1;
	RUN(matching_comment_accepted);
	RUN(other_component_version_size_hash_refused);
	RUN(install_admits_and_installs);
	RUN(failed_install_leaves_a_signed_binary_or_none);
	RUN(killed_install_leaves_a_signed_binary_or_none);
	RUN(watermark_never_goes_down);
	RUN(sequence_jump_is_bounded);
	RUN(rotation_keeps_the_old_key_to_its_cutoff);
	RUN(rotation_cut_short_is_finished);
	RUN(revoked_release_refused);
	tmp_rmtree(conf.root);
	tmp_cleanup();
	return check_done();
}
