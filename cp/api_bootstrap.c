/*
 * The bootstrap endpoints: the script an operator pipes into sh on a new
 * node, and the edge-keeper binary it fetches (the one edge-cp was built
 * with, or --keeper-binary).  The script holds no secret; the token comes
 * from the node's environment.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/log.h"
#include "common/util.h"
#include "cp/api.h"
#include "cp/embedded.h"

#define KEEPER_BIN_MAX (64u << 20)
#define KEEPER_PACKAGED "/usr/lib/edgefleet/edge-keeper"

static char *keeper_bin;
static size_t keeper_len;
static char keeper_sha[65];

const struct embedded_file *
embedded_find(const char *name)
{
	const struct embedded_file *f;

	for (f = embedded_files; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

int
bootstrap_load_keeper(const char *path)
{
	unsigned char h[32];
	char self[1024], guess[1100];
	ssize_t n;

	if (path == NULL) {
		/*
		 * Beside our own binary (build/bin/, or /usr/bin/ where both
		 * packages are installed), else where the edgefleet-cp
		 * package puts it.
		 */
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return -1;
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		snprintf(guess, sizeof(guess), "%s/edge-keeper", self);
		path = access(guess, R_OK) == 0 ? guess : KEEPER_PACKAGED;
	}
	if (afile_read(path, KEEPER_BIN_MAX, &keeper_bin, &keeper_len) != 0) {
		log_warn("event=keeper_binary_missing path=%s", path);
		return -1;
	}
	crypto_hash_sha256(h, (const unsigned char *)keeper_bin, keeper_len);
	util_hex(keeper_sha, sizeof(keeper_sha), h, sizeof(h));
	log_info("event=keeper_binary path=%s bytes=%zu sha256=%s", path,
	    keeper_len, keeper_sha);
	return 0;
}

/* Append src to the growing buffer, replacing each @KEY@ it knows. */
static char *
bootstrap_render(const char *tmpl, const char *const *vars, size_t *outlen)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	const char *p = tmpl;

	if (f == NULL)
		return NULL;
	while (*p != '\0') {
		const char *at = strchr(p, '@');
		size_t i;
		bool done = false;

		if (at == NULL) {
			fputs(p, f);
			break;
		}
		fwrite(p, 1, (size_t)(at - p), f);
		for (i = 0; vars[i] != NULL; i += 2)
			if (strncmp(at, vars[i], strlen(vars[i])) == 0) {
				fputs(vars[i + 1], f);
				p = at + strlen(vars[i]);
				done = true;
				break;
			}
		if (!done) {
			fputc('@', f);
			p = at + 1;
		}
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*outlen = size;
	return buf;
}

int
api_bootstrap_script(struct req *r)
{
	const struct embedded_file *t =
	    embedded_find("packaging/bootstrap.sh.in");
	const struct embedded_file *u =
	    embedded_find("packaging/systemd/edge-keeper.service");
	char base[256], *txt, unit[8192];
	size_t len;

	if (t == NULL || keeper_bin == NULL)
		return reply_error(r, 503, "unavailable",
		    "this edge-cp has "
		    "no edge-keeper binary to hand out (--keeper-binary)");
	if (api_base_url(r, base, sizeof(base)) != 0)
		return reply_error(r, 400, "invalid_field",
		    "Host header "
		    "missing or odd; start edge-cp with --public-url");
	util_strlcpy(unit, u ? (const char *)u->data : "", sizeof(unit));
	/* The unit ends the here-document; no trailing newline. */
	len = strlen(unit);
	while (len > 0 && unit[len - 1] == '\n')
		unit[--len] = '\0';
	{
		const char *vars[] = { "@SERVER@", base, "@PIN@", cp.pin,
			"@KEEPER_SHA256@", keeper_sha, "@KEEPER_UNIT@", unit,
			NULL };

		if ((txt = bootstrap_render(
			 (const char *)t->data, vars, &len)) == NULL)
			return reply_error(r, 500, "internal", "out of memory");
	}
	reply_data(r, 200, "text/x-shellscript; charset=utf-8", txt, len);
	free(txt);
	return 0;
}

int
api_bootstrap_keeper(struct req *r)
{
	if (keeper_bin == NULL)
		return reply_error(r, 503, "unavailable",
		    "this edge-cp has "
		    "no edge-keeper binary to hand out (--keeper-binary)");
	return reply_data(
	    r, 200, "application/octet-stream", keeper_bin, keeper_len);
}
