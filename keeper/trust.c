/*
 * trust: the signed desired state and the TLS pins it announces (the
 * contract and the reasoning in trust.h).
 */
#include "keeper/trust.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/afile.h"
#include "common/json.h"
#include "common/log.h"
#include "common/priv.h"
#include "common/statesig.h"
#include "common/util.h"

#define TRUST_CONF "/etc/edge-keeper/keeper.conf"
#define TRUST_CONF_MAX (64u << 10)
#define TRUST_PIN_LEN (8 + 44) /* "sha256//" + base64 of 32 bytes */

/* state.pub: 0, 1 when there is none, -1 with err. */
static int
trust_load_pub(const struct keeper_conf *c,
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], char *err, size_t errlen)
{
	char path[KEEPER_PATH_MAX], *txt = NULL;
	size_t len;
	int rc;

	keeper_path(c, TRUST_STATE_PUB, path, sizeof(path));
	if (afile_read(path, STATESIG_PUB_TEXT_MAX, &txt, &len) != 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = statesig_pub_decode(txt, len, pk, err, errlen);
	free(txt);
	return rc;
}

int
trust_save_key(
    const struct keeper_conf *c, const char *text, char *err, size_t errlen)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	char path[KEEPER_PATH_MAX], line[STATESIG_PUB_TEXT_MAX + 1];
	size_t n;

	if (statesig_pub_decode(text, strlen(text), pk, err, errlen) != 0 ||
	    statesig_pub_encode(pk, line, sizeof(line) - 1) != 0)
		return -1;
	n = strlen(line);
	line[n++] = '\n'; /* fits: the encoder was given a byte less */
	keeper_path(c, TRUST_STATE_PUB, path, sizeof(path));
	if (afile_write(path, line, n, 0644) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* "sha256//" and the base64 of 32 bytes, nothing else. */
static bool
trust_pin_ok(const char *pin)
{
	unsigned char h[32];

	return strlen(pin) == TRUST_PIN_LEN &&
	    strncmp(pin, "sha256//", 8) == 0 &&
	    util_unb64(h, sizeof(h), pin + 8) == (int)sizeof(h);
}

/*
 * The pins a verified document announces, joined by ";" into out; ""
 * when it announces none.  -1 with err when "tls_pins" is there but not
 * 1..TRUST_PINS_MAX well-formed pins.
 */
static int
trust_doc_pins(const char *body, size_t len, char *out, size_t outlen,
    char *err, size_t errlen)
{
	json_t *doc = NULL, *pins = NULL, *p;
	const char *s;
	size_t i, n = 0;
	int ret = -1;

	out[0] = '\0';
	if (json_parse_strict(body, len, TRUST_DOC_MAX, JSON_DEFAULT_DEPTH,
		&doc, err, errlen) != 0 ||
	    jfield_arr(doc, "tls_pins", false, TRUST_PINS_MAX, &pins, err,
		errlen) != 0)
		goto out;
	if (pins != NULL && json_array_size(pins) == 0) {
		snprintf(err, errlen, "tls_pins: empty");
		goto out;
	}
	json_array_foreach(pins, i, p)
	{
		if ((s = json_string_value(p)) == NULL || !trust_pin_ok(s)) {
			snprintf(err, errlen, "tls_pins[%zu]: not a pin", i);
			goto out;
		}
		/* Two pins and their ";" fit CP_PIN_MAX (the caller's). */
		n += (size_t)snprintf(
		    out + n, outlen - n, "%s%s", i > 0 ? ";" : "", s);
		if (n >= outlen) {
			snprintf(err, errlen, "tls_pins: too long");
			goto out;
		}
	}
	ret = 0;
out:
	json_decref(doc);
	return ret;
}

/*
 * keeper.conf with its pin= line replaced by pins, the rest as it is
 * (comments, the operator's settings).  have gets the pin= it had.
 */
static int
trust_conf_pins(const struct keeper_conf *c, const char *pins, bool write,
    char *have, size_t havelen, char *err, size_t errlen)
{
	char path[KEEPER_PATH_MAX], *txt = NULL, *out = NULL, *line, *nl;
	size_t len, n = 0, cap;
	bool found = false;
	int ret = -1;

	keeper_path(c, TRUST_CONF, path, sizeof(path));
	if (afile_read(path, TRUST_CONF_MAX, &txt, &len) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	cap = len + strlen(pins) + 8;
	if ((out = malloc(cap)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (line = txt; line < txt + len; line = nl + 1) {
		size_t ll;

		if ((nl = memchr(line, '\n', len - (size_t)(line - txt))) ==
		    NULL)
			nl = txt + len;
		ll = (size_t)(nl - line);
		if (!found && ll >= 4 && strncmp(line, "pin=", 4) == 0) {
			found = true;
			/* A longer one differs from any pins: cut is fine. */
			memcpy(have, line + 4,
			    ll - 4 < havelen ? ll - 4 : havelen - 1);
			have[ll - 4 < havelen ? ll - 4 : havelen - 1] = '\0';
			n += (size_t)snprintf(
			    out + n, cap - n, "pin=%s\n", pins);
			continue;
		}
		memcpy(out + n, line, ll);
		n += ll;
		out[n++] = '\n';
	}
	if (!found) {
		snprintf(err, errlen, "%s: no pin= line", path);
		goto out;
	}
	if (!write || strcmp(have, pins) == 0) {
		ret = 0;
		goto out;
	}
	if (afile_write(path, out, n, 0644) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(out);
	free(txt);
	return ret;
}

int
trust_accept_direct(const struct keeper_conf *c, const char *body, size_t len,
    const char *sig, const char *offered, bool write, char *pins,
    size_t pinslen, char *err, size_t errlen)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	char why[200], announced[CP_PIN_MAX], have[CP_PIN_MAX];
	bool learn = false;
	int rc;

	pins[0] = '\0';
	if ((rc = trust_load_pub(c, pk, err, errlen)) < 0)
		return -1;
	if (rc == 1) {
		/* Learned once, from an answer it verifies (trust.h). */
		if (offered == NULL || offered[0] == '\0' ||
		    statesig_pub_decode(
			offered, strlen(offered), pk, why, sizeof(why)) != 0) {
			snprintf(err, errlen,
			    "no state key pinned and none offered");
			return -1;
		}
		learn = true;
	}
	if (statesig_verify(pk, c->node_id, body, len, sig, why, sizeof(why)) !=
	    0) {
		snprintf(err, errlen, "signature: %s", why);
		return -1;
	}
	if (trust_doc_pins(
		body, len, announced, sizeof(announced), err, errlen) != 0)
		return -1;
	if (learn && write) {
		if (trust_save_key(c, offered, err, errlen) != 0)
			return -1;
		log_info("event=state_key_learned key=%s", offered);
	}
	if (announced[0] == '\0')
		return 0;
	if (trust_conf_pins(
		c, announced, write, have, sizeof(have), err, errlen) != 0)
		return -1;
	if (write && strcmp(have, announced) != 0)
		log_info("event=tls_pins_updated old=\"%s\" new=\"%s\"", have,
		    announced);
	util_strlcpy(pins, announced, pinslen);
	return 0;
}

int
trust_accept(const struct keeper_conf *c, const char *body, size_t len,
    const char *sig, const char *offered, bool write, char *pins,
    size_t pinslen, char *err, size_t errlen)
{
	struct priv_msg req, ans;
	int rc;

	/* Bounded before it goes anywhere (it would not fit a message). */
	if (len > TRUST_DOC_MAX) {
		snprintf(err, errlen, "document is larger than %u bytes",
		    TRUST_DOC_MAX);
		return -1;
	}
	if (priv_client_fd() < 0)
		return trust_accept_direct(c, body, len, sig, offered, write,
		    pins, pinslen, err, errlen);
	priv_msg_init(&req, PRIV_STATE_TRUST);
	priv_put_bytes(&req, body, len);
	priv_put_str(&req, sig != NULL ? sig : "");
	priv_put_str(&req, offered != NULL ? offered : "");
	priv_put_u32(&req, write);
	rc = priv_call(&req, &ans, err, errlen);
	if (rc == 0) {
		priv_get_str(&ans, pins, pinslen);
		if (ans.bad) {
			snprintf(err, errlen, "malformed answer");
			rc = -1;
		}
	}
	priv_msg_clear(&req);
	priv_msg_clear(&ans);
	return rc;
}

bool
trust_saved_ok(const struct keeper_conf *c, const char *body, size_t len)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	char path[KEEPER_PATH_MAX], err[200], *sig = NULL;
	size_t n;
	bool ok;

	keeper_path(c, TRUST_DESIRED_SIG, path, sizeof(path));
	if (trust_load_pub(c, pk, err, sizeof(err)) != 0 ||
	    afile_read(path, STATESIG_HDR_MAX, &sig, &n) != 0)
		return false;
	sig[strcspn(sig, "\n")] = '\0';
	ok = statesig_verify(
		 pk, c->node_id, body, len, sig, err, sizeof(err)) == 0;
	free(sig);
	return ok;
}

int
trust_save_sig(const struct keeper_conf *c, const char *sig)
{
	char path[KEEPER_PATH_MAX];

	keeper_path(c, TRUST_DESIRED_SIG, path, sizeof(path));
	return afile_write(path, sig, strlen(sig), 0600);
}

int
trust_repin(struct cpclient *cp, const char *pins, long timeout_ms, char *err,
    size_t errlen)
{
	struct httpc *old = cp->h;
	char was[CP_PIN_MAX];

	util_strlcpy(was, cp->id.pin, sizeof(was));
	if (util_strlcpy(cp->id.pin, pins, sizeof(cp->id.pin)) >=
	    sizeof(cp->id.pin)) {
		util_strlcpy(cp->id.pin, was, sizeof(cp->id.pin));
		snprintf(err, errlen, "pins too long");
		return -1;
	}
	/* The old connection stays in use until the new one is made. */
	if (cpclient_open(cp, timeout_ms, err, errlen) != 0) {
		util_strlcpy(cp->id.pin, was, sizeof(cp->id.pin));
		cp->h = old;
		return -1;
	}
	httpc_free(old);
	return 0;
}
