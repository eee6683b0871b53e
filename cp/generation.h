/*
 * generation: tells the database edge-cp last ran on from an old copy of
 * it put back (threat T38, an old backup restored).
 *
 * A counter, the generation, lives in two places: in the database (meta
 * "generation") and in DATA_DIR/generation, a file outside it beside
 * hash.key.  A bump writes the database first, then the file (afile:
 * write, fsync, rename; 0600), so the file is never ahead of the database
 * it was written for; a crash between the two leaves the database one
 * ahead, which the next start accepts and repairs.  A copy of the database
 * carries the generation it had when it was taken; once edge-cp has
 * bumped after that, the file is ahead of the copy for good.
 *
 * When: at every start (after the check below), then whenever a write
 * transaction committed since the last bump, at most every
 * GEN_BUMP_EVERY_S (gen_tick from the ticker), and once more at a clean
 * stop.  edge-cp has no backup command of its own (backups are SQLite's
 * online backup, docs/operator-guide.md), so the bump cannot ride on
 * one; this schedule makes any copy taken while edge-cp runs detectable
 * as soon as anything was written after it: within GEN_BUMP_EVERY_S, or
 * at once at a clean stop.  What a kill -9 within those seconds of the
 * last write leaves unbumped is the one window (T38, Limits).  A copy
 * after which nothing was written differs from the live database in
 * nothing, and is let through.
 *
 * The file also records the marks (cp/store.h, struct store_marks) as
 * they were at the bump, so a restore accepted with --accept-restore
 * hands out release sequences and profile versions above them at once,
 * before any node has reported what it admitted, and event ids above
 * every one given before.
 *
 * At start (gen_start), D is the database's generation, F the file's:
 *
 *	file          database     verdict        start
 *	missing       none         GEN_FRESH      yes: first start, or the
 *	                                          first after an upgrade
 *	F             D == F       GEN_CURRENT    yes
 *	F             D > F        GEN_DB_AHEAD   yes, warned: a crash
 *	                                          between the two writes
 *	F             D < F, none  GEN_RESTORED   only with --accept-restore
 *	missing       D            GEN_FILE_LOST  only with --accept-restore
 *	                                          (a restore onto a new
 *	                                          machine looks like this)
 *	not a number  any          GEN_FILE_BAD   only with --accept-restore
 *	unreadable    any          GEN_UNREADABLE never: fix the file first
 *
 * Accepting a restore (cp/store.h store_restore_accept): the floors go up
 * to the file's marks, nodes removed and API tokens revoked since the
 * copy (DATA_DIR/revoked, below) are removed and revoked again,
 * enrollment tokens still in force are revoked, the freeze is set,
 * "store.restored" is recorded with both numbers; then the bump moves
 * both past the file's generation.
 *
 * DATA_DIR/revoked, beside it: what a copy of the database cannot know
 * was taken away after it.  One line per removed node ("node <hex of its
 * Ed25519 public key>") and per revoked API token ("api_token <hex of
 * its keyed hash>"), appended and fsynced once the removal or revocation
 * has committed (gen_revoked_add).  It only grows, some 75 bytes a line;
 * a last line cut by a crash is ignored, as is any line that is not one
 * of the two (logged).  A kill between the commit and the append loses
 * that line: the one window.
 *
 * Called from serve's start-up thread (gen_start), its ticker (gen_tick)
 * and its stop; not thread-safe otherwise.
 */
#ifndef EF_GENERATION_H
#define EF_GENERATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp/store.h"

#define GEN_FILE "generation"
#define GEN_REVOKED_FILE "revoked"
#define GEN_BUMP_EVERY_S 10
#define GEN_FILE_MAX 512
#define GEN_REVOKED_MAX (16u << 20) /* some 200,000 revocations */

/* What the file holds. */
struct gen_state {
	int64_t generation;
	struct store_marks marks;
};

enum gen_file_rc {
	GEN_FILE_OK = 0,
	GEN_FILE_MISSING = -1,
	GEN_FILE_UNREADABLE = -2, /* err says why */
	GEN_FILE_GARBAGE = -3,    /* err says where */
};

/*
 * Read the file at path: "generation G\n" then optional lines
 * "dataplane N", "keeper N", "profile N", "events N" (numbers >= 0,
 * G >= 1), each key at most once, in any order, nothing else.
 */
int gen_file_read(
    const char *path, struct gen_state *st, char *err, size_t errlen);
/* Write it (afile_write, 0600).  0, or -1 with errno. */
int gen_file_write(const char *path, const struct gen_state *st);

enum gen_verdict {
	GEN_FRESH,
	GEN_CURRENT,
	GEN_DB_AHEAD,
	GEN_RESTORED,
	GEN_FILE_LOST,
	GEN_FILE_BAD,
	GEN_UNREADABLE,
};

/* The table above; pure.  db_has false: the database has no generation. */
enum gen_verdict gen_judge(
    bool db_has, int64_t db_gen, int file_rc, int64_t file_gen);
const char *gen_verdict_name(enum gen_verdict v);

#define GEN_REFUSED 3 /* gen_start's refusal; also serve's exit status */

/*
 * The start-up check and first bump for the database s and DATA_DIR dir.
 * 0: go on (a bump that fails is logged and retried by gen_tick; the
 * disk may be full, T37, and that is no reason not to serve).
 * GEN_REFUSED: do not start; msg holds the operator's message, naming
 * both numbers and --accept-restore.  -1: do not start (the file cannot
 * be read, the database failed); msg says why.  accept_restore on a
 * database that needs nothing accepted is logged and ignored.
 */
int gen_start(struct store *s, const char *dir, bool accept_restore, char *msg,
    size_t msglen);
/*
 * Bump when a write committed since the last bump (force: anyway).
 * 0, or -1 (logged; the next call tries again).
 */
int gen_tick(struct store *s, bool force);
/* The generation of the last bump (0 before the first). */
int64_t gen_current(void);

/*
 * Record a removal that has committed: kind "node" (key: its public key)
 * or "api_token" (key: its keyed hash).  Any thread, after gen_start.
 * 0, or -1 (logged: the removal stands, but a restore of an older copy
 * would not know of it).
 */
int gen_revoked_add(const char *kind, const unsigned char key[32]);

/*
 * A node reported its marks (status "admitted"): where one is above
 * every number edge-cp knows of -- its database was restored from an old
 * copy -- the floor goes up to it (store_marks_raise, actor the node).
 * No SQL when nothing is above the marks kept in memory.  Any thread.
 */
void gen_note_admitted(
    struct store *s, const char *node_id, const struct store_marks *m);

#endif
