/*
 * Unit tests of the keeper's side of the signed desired state and the
 * TLS pins it announces (keeper/trust.h), run directly (the privileged
 * part runs the same function; privsep_test drives it over the wire):
 * the state key is learned once and never replaced, an unsigned or
 * wrongly signed document changes nothing, announced pins replace the
 * pin= line and nothing else, malformed pins are refused whole, and
 * `check` (write false) writes nothing.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "common/afile.h"
#include "common/statesig.h"
#include "keeper/keeper.h"
#include "keeper/trust.h"
#include "tmpdir.h"

#define PIN_A "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define PIN_B "sha256//BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA="
#define PIN_C "sha256//CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA="

static struct keeper_conf conf;
static unsigned char pk[crypto_sign_PUBLICKEYBYTES];
static unsigned char sk[crypto_sign_SECRETKEYBYTES];
static unsigned char pk2[crypto_sign_PUBLICKEYBYTES];
static unsigned char sk2[crypto_sign_SECRETKEYBYTES];
static char pub[STATESIG_PUB_TEXT_MAX], pub2[STATESIG_PUB_TEXT_MAX];

/* A fresh node: keeper.conf (pin=PIN_A and an operator's comment). */
static int
node_setup(bool with_key)
{
	char err[256], path[KEEPER_PATH_MAX];
	static const char extra[] = "# the operator's note\n";
	char *txt = NULL, *all;
	size_t len;
	int rc;

	tmp_rmtree(conf.root);
	snprintf(conf.pin, sizeof(conf.pin), "%s", PIN_A);
	if (keeper_dirs(&conf, err, sizeof(err)) != 0 ||
	    keeper_conf_save(&conf, err, sizeof(err)) != 0 ||
	    (with_key && trust_save_key(&conf, pub, err, sizeof(err)) != 0))
		return -1;
	keeper_path(&conf, "/etc/edge-keeper/keeper.conf", path, sizeof(path));
	if (afile_read(path, 1u << 16, &txt, &len) != 0 ||
	    (all = malloc(len + sizeof(extra))) == NULL) {
		free(txt);
		return -1;
	}
	memcpy(all, txt, len);
	memcpy(all + len, extra, sizeof(extra));
	rc = afile_write(path, all, strlen(all), 0644);
	free(all);
	free(txt);
	return rc;
}

static char *
conf_text(void)
{
	char path[KEEPER_PATH_MAX], *txt = NULL;
	size_t len;

	keeper_path(&conf, "/etc/edge-keeper/keeper.conf", path, sizeof(path));
	if (afile_read(path, 1u << 16, &txt, &len) != 0)
		return NULL;
	return txt;
}

static bool
have_state_pub(void)
{
	char path[KEEPER_PATH_MAX];
	struct stat st;

	keeper_path(&conf, TRUST_STATE_PUB, path, sizeof(path));
	return stat(path, &st) == 0;
}

/* trust_accept_direct of body signed with key for node. */
static int
accept_doc(const char *body, const unsigned char *key, const char *node,
    const char *offered, bool write, char *pins, char *err, size_t errlen)
{
	char sig[STATESIG_HDR_MAX] = "";

	if (key != NULL &&
	    statesig_sign(key, node, body, strlen(body), sig, sizeof(sig)) != 0)
		return -2;
	return trust_accept_direct(&conf, body, strlen(body), sig, offered,
	    write, pins, CP_PIN_MAX, err, errlen);
}

static const char doc_plain[] = "{\"schema\":1}";
static const char doc_pins[] =
    "{\"schema\":1,\"tls_pins\":[\"" PIN_A "\",\"" PIN_B "\"]}";

TEST(trust_learns_the_key_once)
{
	char pins[CP_PIN_MAX], err[512] = "", *before, *after;

	CHECK(node_setup(false) == 0);
	/* Nothing offered: nothing to check against. */
	CHECK(accept_doc(doc_plain, sk, conf.node_id, "", true, pins, err,
		  sizeof(err)) == -1);
	CHECK_STR(err, "no state key pinned and none offered");
	/* Offered, but the document was signed by another key. */
	CHECK(accept_doc(doc_plain, sk2, conf.node_id, pub, true, pins, err,
		  sizeof(err)) == -1);
	CHECK(!have_state_pub());
	CHECK(accept_doc(doc_plain, sk, conf.node_id, pub, true, pins, err,
		  sizeof(err)) == 0);
	CHECK(have_state_pub());
	CHECK_STR(pins, "");
	/* Once there, an offered key replaces nothing. */
	before = conf_text();
	CHECK(accept_doc(doc_pins, sk2, conf.node_id, pub2, true, pins, err,
		  sizeof(err)) == -1);
	CHECK(strstr(err, "signature: signed by another key") == err);
	after = conf_text();
	CHECK(before != NULL && after != NULL && strcmp(before, after) == 0);
	free(before);
	free(after);
	CHECK(accept_doc(doc_plain, sk, conf.node_id, pub2, true, pins, err,
		  sizeof(err)) == 0);
}

TEST(trust_unsigned_or_wrongly_signed_changes_nothing)
{
	char pins[CP_PIN_MAX], err[512] = "", *before, *after;

	CHECK(node_setup(true) == 0);
	before = conf_text();
	CHECK(accept_doc(doc_pins, NULL, conf.node_id, pub, true, pins, err,
		  sizeof(err)) == -1);
	CHECK_STR(err, "signature: no signature");
	CHECK(accept_doc(doc_pins, sk, "n-other", pub, true, pins, err,
		  sizeof(err)) == -1);
	CHECK_STR(err, "signature: the signature does not verify");
	CHECK(trust_accept_direct(&conf, doc_pins, strlen(doc_pins),
		  "ed25519ph 00 AA", pub, true, pins, sizeof(pins), err,
		  sizeof(err)) == -1);
	CHECK_STR(err, "signature: malformed signature header");
	after = conf_text();
	CHECK(before != NULL && after != NULL && strcmp(before, after) == 0);
	free(before);
	free(after);
}

TEST(trust_pins_replace_the_pin_line_only)
{
	char pins[CP_PIN_MAX], err[512] = "", *txt;
	static const char one[] = "{\"schema\":1,\"tls_pins\":[\"" PIN_C "\"]}";

	CHECK(node_setup(true) == 0);
	CHECK(accept_doc(doc_pins, sk, conf.node_id, "", true, pins, err,
		  sizeof(err)) == 0);
	CHECK_STR(pins, PIN_A ";" PIN_B);
	txt = conf_text();
	CHECK(txt != NULL);
	CHECK(strstr(txt, "\npin=" PIN_A ";" PIN_B "\n") != NULL);
	CHECK(strstr(txt, "\nnode_id=n-0123456789ab\n") != NULL);
	CHECK(strstr(txt, "\nmetrics=off\n") != NULL);
	CHECK(strstr(txt, "\n# the operator's note\n") != NULL);
	free(txt);
	/* keeper.conf still loads, with both pins. */
	{
		struct keeper_conf back;

		memset(&back, 0, sizeof(back));
		memcpy(back.root, conf.root, sizeof(back.root));
		CHECK(keeper_conf_load(&back, err, sizeof(err)) == 0);
		CHECK_STR(back.pin, PIN_A ";" PIN_B);
	}
	/* The old pin dropped: C alone. */
	CHECK(accept_doc(one, sk, conf.node_id, "", true, pins, err,
		  sizeof(err)) == 0);
	txt = conf_text();
	CHECK(txt != NULL && strstr(txt, "\npin=" PIN_C "\n") != NULL);
	free(txt);
}

TEST(trust_malformed_pins_refused_whole)
{
	static const char *const bad[] = {
		"{\"tls_pins\":[]}",
		"{\"tls_pins\":\"" PIN_A "\"}",
		"{\"tls_pins\":[\"" PIN_A "\",\"" PIN_B "\",\"" PIN_C "\"]}",
		"{\"tls_pins\":[\"sha1//"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]}",
		"{\"tls_pins\":[\"sha256//AAAA\"]}",
		"{\"tls_pins\":[\"" PIN_A ";" PIN_B "\"]}",
		"{\"tls_pins\":[\"" PIN_A "\n\"]}",
		"{\"tls_pins\":[1]}",
		"not json",
		NULL,
	};
	char pins[CP_PIN_MAX], err[512] = "", *before, *after;
	size_t i;

	CHECK(node_setup(true) == 0);
	before = conf_text();
	for (i = 0; bad[i] != NULL; i++)
		CHECK(accept_doc(bad[i], sk, conf.node_id, "", true, pins, err,
			  sizeof(err)) == -1);
	after = conf_text();
	CHECK(before != NULL && after != NULL && strcmp(before, after) == 0);
	free(before);
	free(after);
}

TEST(trust_check_writes_nothing)
{
	char pins[CP_PIN_MAX], err[512] = "", *before, *after;

	CHECK(node_setup(false) == 0);
	before = conf_text();
	CHECK(accept_doc(doc_pins, sk, conf.node_id, pub, false, pins, err,
		  sizeof(err)) == 0);
	CHECK(!have_state_pub());
	after = conf_text();
	CHECK(before != NULL && after != NULL && strcmp(before, after) == 0);
	free(before);
	free(after);
}

TEST(trust_saved_document_verified)
{
	char sig[STATESIG_HDR_MAX];

	CHECK(node_setup(true) == 0);
	CHECK(!trust_saved_ok(&conf, doc_plain, strlen(doc_plain)));
	CHECK(statesig_sign(sk, conf.node_id, doc_plain, strlen(doc_plain), sig,
		  sizeof(sig)) == 0);
	CHECK(trust_save_sig(&conf, sig) == 0);
	CHECK(trust_saved_ok(&conf, doc_plain, strlen(doc_plain)));
	CHECK(!trust_saved_ok(&conf, doc_pins, strlen(doc_pins)));
}

TEST(trust_oversized_document_refused)
{
	char pins[CP_PIN_MAX], err[512] = "", *big;
	int rc;

	CHECK(node_setup(true) == 0);
	CHECK((big = calloc(1, TRUST_DOC_MAX + 2)) != NULL);
	memset(big, ' ', TRUST_DOC_MAX + 1);
	rc = trust_accept(&conf, big, TRUST_DOC_MAX + 1, "", "", true, pins,
	    sizeof(pins), err, sizeof(err));
	free(big);
	CHECK(rc == -1);
	CHECK_STR(err, "document is larger than 1048576 bytes");
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	statesig_pub_encode(pk, pub, sizeof(pub));
	statesig_pub_encode(pk2, pub2, sizeof(pub2));
	tmp_setup("trust_test");
	snprintf(conf.root, sizeof(conf.root), "%s/root", tmpdir);
	snprintf(conf.server, sizeof(conf.server), "https://127.0.0.1:1");
	snprintf(conf.node_id, sizeof(conf.node_id), "n-0123456789ab");
	snprintf(conf.metrics, sizeof(conf.metrics), "off");
	conf.interval_s = 5;
	RUN(trust_learns_the_key_once);
	RUN(trust_unsigned_or_wrongly_signed_changes_nothing);
	RUN(trust_pins_replace_the_pin_line_only);
	RUN(trust_malformed_pins_refused_whole);
	RUN(trust_check_writes_nothing);
	RUN(trust_saved_document_verified);
	RUN(trust_oversized_document_refused);
	tmp_rmtree(conf.root);
	tmp_cleanup();
	return check_done();
}
