/*
 * generation: the restore guard (contract and state table in
 * generation.h).
 */
#include "cp/generation.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/log.h"
#include "common/util.h"

static struct {
	char path[600];
	char rpath[600];  /* DATA_DIR/revoked */
	uint64_t commits; /* store_commits after the last bump */
	bool bumped;
	int64_t generation;
} gen;

/* The marks edge-cp knows of, for gen_note_admitted (any thread). */
static atomic_llong gen_known[3];
static pthread_mutex_t gen_revoked_mu = PTHREAD_MUTEX_INITIALIZER;

/* What DATA_DIR/revoked lists, for store_restore_accept. */
struct gen_revoked {
	unsigned char (*nodes)[32], (*tokens)[32];
	size_t nnodes, ntokens;
};

static void
gen_revoked_free(struct gen_revoked *r)
{
	free(r->nodes);
	free(r->tokens);
	memset(r, 0, sizeof(*r));
}

/*
 * Read DATA_DIR/revoked: 0 (missing: nothing listed), or -1 with err
 * when it cannot be read whole.  A last line without its newline (cut by
 * a crash) and lines of neither kind are skipped, the latter logged.
 */
static int
gen_revoked_read(struct gen_revoked *r, char *err, size_t errlen)
{
	char *txt = NULL, *line, *next, *end;
	size_t len, n, skipped = 0;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (afile_read(gen.rpath, GEN_REVOKED_MAX, &txt, &len) != 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", gen.rpath, strerror(errno));
		return -1;
	}
	/* A line is at least 70 bytes: a bound for either list. */
	n = len / 70 + 1;
	if ((r->nodes = calloc(n, 32)) == NULL ||
	    (r->tokens = calloc(n, 32)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	end = txt + len;
	for (line = txt; line < end; line = next) {
		unsigned char key[32];
		char *sp, *nl = memchr(line, '\n', (size_t)(end - line));

		if (nl == NULL)
			break;
		*nl = '\0';
		next = nl + 1;
		if ((sp = strchr(line, ' ')) == NULL || strlen(sp + 1) != 64 ||
		    util_unhex(key, sizeof(key), sp + 1) != 32) {
			skipped++;
			continue;
		}
		*sp = '\0';
		if (strcmp(line, "node") == 0 && r->nnodes < n)
			memcpy(r->nodes[r->nnodes++], key, 32);
		else if (strcmp(line, "api_token") == 0 && r->ntokens < n)
			memcpy(r->tokens[r->ntokens++], key, 32);
		else
			skipped++;
	}
	if (skipped > 0)
		log_warnx("event=revoked_lines_skipped file=%s count=%zu",
		    gen.rpath, skipped);
	rc = 0;
out:
	free(txt);
	if (rc != 0)
		gen_revoked_free(r);
	return rc;
}

int
gen_revoked_add(const char *kind, const unsigned char key[32])
{
	char line[128], hex[65];
	int fd, n, rc = -1;

	if (gen.rpath[0] == '\0' ||
	    (strcmp(kind, "node") != 0 && strcmp(kind, "api_token") != 0))
		return -1;
	util_hex(hex, sizeof(hex), key, 32);
	n = snprintf(line, sizeof(line), "%s %s\n", kind, hex);
	pthread_mutex_lock(&gen_revoked_mu);
	fd = open(gen.rpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	/* One write: a crash leaves the line whole or cut, never mixed. */
	if (fd >= 0 && afile_ops.write(fd, line, (size_t)n) == n &&
	    afile_ops.fsync(fd) == 0)
		rc = 0;
	if (fd >= 0)
		close(fd);
	pthread_mutex_unlock(&gen_revoked_mu);
	if (rc != 0)
		log_warn("event=revoked_not_recorded file=%s kind=%s",
		    gen.rpath, kind);
	return rc;
}

int
gen_file_read(const char *path, struct gen_state *st, char *err, size_t errlen)
{
	static const char *const keys[] = { "generation", "dataplane", "keeper",
		"profile", "events", NULL };
	int64_t *dst[5];
	bool seen[5] = { false, false, false, false, false };
	char *txt = NULL, *line, *next;
	size_t len;
	int rc = GEN_FILE_GARBAGE, n = 0, k;

	memset(st, 0, sizeof(*st));
	dst[0] = &st->generation;
	dst[1] = &st->marks.dataplane;
	dst[2] = &st->marks.keeper;
	dst[3] = &st->marks.profile;
	dst[4] = &st->marks.events;
	if (afile_read(path, GEN_FILE_MAX, &txt, &len) != 0) {
		if (errno == ENOENT)
			return GEN_FILE_MISSING;
		/* Larger than edge-cp ever writes: not its file. */
		if (errno == EFBIG) {
			snprintf(err, errlen, "%s: larger than %d bytes", path,
			    GEN_FILE_MAX);
			return GEN_FILE_GARBAGE;
		}
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return GEN_FILE_UNREADABLE;
	}
	if (strlen(txt) != len || len == 0 || txt[len - 1] != '\n') {
		snprintf(err, errlen, "%s: not lines of text", path);
		goto out;
	}
	for (line = txt; *line != '\0'; line = next) {
		char *sp;

		/* Every line ends in one: the text does. */
		if ((next = strchr(line, '\n')) == NULL)
			goto out;
		*next++ = '\0';
		n++;
		if ((sp = strchr(line, ' ')) == NULL) {
			snprintf(
			    err, errlen, "%s:%d: not \"key number\"", path, n);
			goto out;
		}
		*sp = '\0';
		for (k = 0; keys[k] != NULL && strcmp(keys[k], line) != 0; k++)
			;
		if (keys[k] == NULL || seen[k] ||
		    util_parse_i64(
			sp + 1, k == 0 ? 1 : 0, INT64_MAX - 1, dst[k]) != 0) {
			snprintf(err, errlen, "%s:%d: %s", path, n,
			    keys[k] == NULL ? "unknown key"
				: seen[k]   ? "key given twice"
					    : "not a number in range");
			goto out;
		}
		seen[k] = true;
	}
	if (!seen[0]) {
		snprintf(err, errlen, "%s: no generation line", path);
		goto out;
	}
	rc = GEN_FILE_OK;
out:
	free(txt);
	return rc;
}

int
gen_file_write(const char *path, const struct gen_state *st)
{
	char buf[GEN_FILE_MAX];
	int n;

	n = snprintf(buf, sizeof(buf),
	    "generation %lld\ndataplane %lld\nkeeper %lld\nprofile %lld\n"
	    "events %lld\n",
	    (long long)st->generation, (long long)st->marks.dataplane,
	    (long long)st->marks.keeper, (long long)st->marks.profile,
	    (long long)st->marks.events);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		errno = EOVERFLOW;
		return -1;
	}
	return afile_write(path, buf, (size_t)n, 0600);
}

enum gen_verdict
gen_judge(bool db_has, int64_t db_gen, int file_rc, int64_t file_gen)
{
	switch (file_rc) {
	case GEN_FILE_MISSING:
		return db_has ? GEN_FILE_LOST : GEN_FRESH;
	case GEN_FILE_UNREADABLE:
		return GEN_UNREADABLE;
	case GEN_FILE_GARBAGE:
		return GEN_FILE_BAD;
	default:
		break;
	}
	if (!db_has || db_gen < file_gen)
		return GEN_RESTORED;
	return db_gen == file_gen ? GEN_CURRENT : GEN_DB_AHEAD;
}

const char *
gen_verdict_name(enum gen_verdict v)
{
	static const char *const names[] = { "fresh", "current", "db_ahead",
		"restored", "file_lost", "file_bad", "unreadable" };

	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

static void
gen_known_set(const struct store_marks *m)
{
	const int64_t v[3] = { m->dataplane, m->keeper, m->profile };
	int i;

	for (i = 0; i < 3; i++) {
		long long have = atomic_load(&gen_known[i]);

		while (v[i] > have &&
		    !atomic_compare_exchange_weak(&gen_known[i], &have, v[i]))
			;
	}
}

/* Database first, then the file (generation.h). */
static int
gen_bump(struct store *s, int64_t at_least)
{
	struct gen_state st;
	uint64_t before = store_commits(s);
	int rc;

	if ((rc = store_generation_bump(
		 s, at_least, &st.generation, &st.marks)) != STORE_OK) {
		log_warnx(
		    "event=generation_bump_failed where=database rc=%d", rc);
		return -1;
	}
	gen.generation = st.generation;
	gen_known_set(&st.marks);
	if (gen_file_write(gen.path, &st) != 0) {
		log_warn("event=generation_bump_failed where=file file=%s",
		    gen.path);
		return -1;
	}
	/*
	 * The bump is one commit; writes that raced it are counted again
	 * and make the next tick bump once more, which costs nothing.
	 */
	gen.commits = before + 1;
	gen.bumped = true;
	return 0;
}

int
gen_tick(struct store *s, bool force)
{
	if (!force && gen.bumped && store_commits(s) == gen.commits)
		return 0;
	return gen_bump(s, gen.generation);
}

int64_t
gen_current(void)
{
	return gen.generation;
}

/* --accept-restore on verdict v; f: the file, NULL when unreadable. */
static int
gen_accept(struct store *s, enum gen_verdict v, int64_t dbgen,
    const struct gen_state *f, char *msg, size_t msglen)
{
	struct store_restore r;
	struct gen_revoked rv;
	char err[700];
	int rc;

	if (gen_revoked_read(&rv, err, sizeof(err)) != 0) {
		snprintf(msg, msglen,
		    "accepting the restore: %s; the removals it lists "
		    "could not be made again",
		    err);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.db_gen = dbgen;
	r.file_gen = f != NULL ? f->generation : -1;
	r.now = util_now();
	r.marks = f != NULL ? &f->marks : NULL;
	r.nodes = (const unsigned char(*)[32])rv.nodes;
	r.nnodes = rv.nnodes;
	r.tokens = (const unsigned char(*)[32])rv.tokens;
	r.ntokens = rv.ntokens;
	rc = store_restore_accept(s, &r);
	gen_revoked_free(&rv);
	if (rc != STORE_OK) {
		snprintf(msg, msglen, "accepting the restore: database error");
		return -1;
	}
	log_warnx("event=restore_accepted verdict=%s db_generation=%lld "
		  "file_generation=%lld enrollment_tokens_revoked=%lld "
		  "nodes_removed=%lld api_tokens_revoked=%lld frozen=1",
	    gen_verdict_name(v), (long long)dbgen, (long long)r.file_gen,
	    (long long)r.enrolltokens_revoked, (long long)r.nodes_removed,
	    (long long)r.apitokens_revoked);
	return 0;
}

int
gen_start(struct store *s, const char *dir, bool accept_restore, char *msg,
    size_t msglen)
{
	struct gen_state f;
	struct store_marks m;
	enum gen_verdict v;
	int64_t dbgen = 0;
	char err[300] = "";
	int frc, rc;

	memset(&gen, 0, sizeof(gen));
	for (frc = 0; frc < 3; frc++)
		atomic_store(&gen_known[frc], 0);
	if ((size_t)snprintf(gen.path, sizeof(gen.path), "%s/%s", dir,
		GEN_FILE) >= sizeof(gen.path) ||
	    (size_t)snprintf(gen.rpath, sizeof(gen.rpath), "%s/%s", dir,
		GEN_REVOKED_FILE) >= sizeof(gen.rpath)) {
		snprintf(msg, msglen, "data dir path too long");
		return -1;
	}
	rc = store_generation(s, &dbgen);
	if (rc != STORE_OK && rc != STORE_NOTFOUND) {
		snprintf(msg, msglen, "generation: database error %d", rc);
		return -1;
	}
	frc = gen_file_read(gen.path, &f, err, sizeof(err));
	v = gen_judge(rc == STORE_OK, dbgen, frc, f.generation);
	switch (v) {
	case GEN_UNREADABLE:
		snprintf(msg, msglen,
		    "%s; edge-cp cannot tell whether its database was "
		    "restored from an old copy. Make the file readable to "
		    "edge-cp again (it is written by edge-cp, mode 0600)",
		    err);
		return -1;
	case GEN_RESTORED:
	case GEN_FILE_LOST:
	case GEN_FILE_BAD:
		if (!accept_restore) {
			char dbs[24] = "none", fs[32] = "missing";

			if (rc == STORE_OK)
				snprintf(
				    dbs, sizeof(dbs), "%lld", (long long)dbgen);
			if (frc == GEN_FILE_OK)
				snprintf(fs, sizeof(fs), "%lld",
				    (long long)f.generation);
			else if (frc == GEN_FILE_GARBAGE)
				snprintf(fs, sizeof(fs), "unreadable content");
			snprintf(msg, msglen,
			    "the database is at generation %s but %s says "
			    "%s%s%s: "
			    "this database was restored from an older copy, "
			    "or is not the one edge-cp last ran on. Starting "
			    "on it brings back what changed since the copy "
			    "was taken (removed nodes, spent or revoked "
			    "tokens, an older profile). If this restore is "
			    "what you want, start once with --accept-restore "
			    "(docs/operator-guide.md, \"Back up and restore\")",
			    dbs, gen.path, fs, err[0] ? ": " : "", err);
			return GEN_REFUSED;
		}
		if (gen_accept(s, v, dbgen, frc == GEN_FILE_OK ? &f : NULL, msg,
			msglen) != 0)
			return -1;
		break;
	case GEN_DB_AHEAD:
		log_warnx("event=generation_file_behind db_generation=%lld "
			  "file_generation=%lld msg=\"a stop between the two "
			  "writes of a bump; the file is moved forward\"",
		    (long long)dbgen, (long long)f.generation);
		break;
	case GEN_FRESH:
		log_info("event=generation_created file=%s", gen.path);
		break;
	case GEN_CURRENT:
		break;
	}
	if (accept_restore && v != GEN_RESTORED && v != GEN_FILE_LOST &&
	    v != GEN_FILE_BAD)
		log_warnx("event=accept_restore_unused verdict=%s msg=\"the "
			  "database is the one edge-cp last ran on; "
			  "--accept-restore changes nothing\"",
		    gen_verdict_name(v));
	/* The file's marks are floors, whatever else: a no-op normally. */
	if (frc == GEN_FILE_OK &&
	    store_marks_raise(s, &f.marks, "edge-cp", NULL) != STORE_OK)
		log_warnx("event=generation_marks_not_raised");
	if (store_marks(s, &m) == STORE_OK)
		gen_known_set(&m);
	gen.generation = dbgen;
	if (frc == GEN_FILE_OK && f.generation > gen.generation)
		gen.generation = f.generation;
	(void)gen_bump(s, gen.generation);
	return 0;
}

void
gen_note_admitted(
    struct store *s, const char *node_id, const struct store_marks *m)
{
	const int64_t v[3] = { m->dataplane, m->keeper, m->profile };
	bool above = false, raised = false;
	int i;

	for (i = 0; i < 3; i++)
		if (v[i] > atomic_load(&gen_known[i]))
			above = true;
	if (!above)
		return;
	if (store_marks_raise(s, m, node_id, &raised) != STORE_OK)
		return; /* logged; the node's next changed report tries again */
	if (raised)
		log_warnx("event=floor_raised node=%s dataplane=%lld "
			  "keeper=%lld profile=%lld",
		    node_id, (long long)m->dataplane, (long long)m->keeper,
		    (long long)m->profile);
	gen_known_set(m);
}
