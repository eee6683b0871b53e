/*
 * Unit tests of cp/generation: the restore guard's file, its verdicts,
 * and the start-up check and bumps against a real SQLite database in a
 * temporary directory, with the file missing, unreadable, garbage, ahead
 * of and behind the database, and its write failing.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/afile.h"
#include "common/log.h"
#include "common/util.h"
#include "cp/generation.h"
#include "cp/store.h"
#include "faultio.h"
#include "tmpdir.h"

static struct store *st;
static char gfile[128];

/* A new database and no generation file. */
static void
fresh(void)
{
	char path[128], err[256];

	store_close(st);
	snprintf(path, sizeof(path), "%s/edge-cp.db", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/edge-cp.db-wal", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/edge-cp.db-shm", tmpdir);
	unlink(path);
	snprintf(gfile, sizeof(gfile), "%s/%s", tmpdir, GEN_FILE);
	unlink(gfile);
	rmdir(gfile);
	snprintf(path, sizeof(path), "%s/edge-cp.db", tmpdir);
	st = store_open(path, err, sizeof(err));
}

static void
put_file(const char *txt)
{
	afile_write(gfile, txt, strlen(txt), 0600);
}

static int64_t
db_gen(void)
{
	int64_t g = -1;

	store_generation(st, &g);
	return g;
}

static int64_t
file_gen(void)
{
	struct gen_state f;
	char err[256];

	return gen_file_read(gfile, &f, err, sizeof(err)) == GEN_FILE_OK
	    ? f.generation
	    : -1;
}

/* How many events of this action the log holds. */
static size_t
events(const char *action)
{
	struct event_filter f = { NULL, NULL, action };
	json_t *arr = NULL;
	size_t n;

	if (store_event_list(st, &f, 0, 1000, &arr) != STORE_OK)
		return (size_t)-1;
	n = json_array_size(arr);
	json_decref(arr);
	return n;
}

static int
start(bool accept, char *msg, size_t len)
{
	msg[0] = '\0';
	return gen_start(st, tmpdir, accept, msg, len);
}

TEST(gen_judge_table)
{
	CHECK(gen_judge(false, 0, GEN_FILE_MISSING, 0) == GEN_FRESH);
	CHECK(gen_judge(true, 4, GEN_FILE_MISSING, 0) == GEN_FILE_LOST);
	CHECK(gen_judge(true, 4, GEN_FILE_OK, 4) == GEN_CURRENT);
	CHECK(gen_judge(true, 5, GEN_FILE_OK, 4) == GEN_DB_AHEAD);
	CHECK(gen_judge(true, 3, GEN_FILE_OK, 4) == GEN_RESTORED);
	CHECK(gen_judge(false, 0, GEN_FILE_OK, 4) == GEN_RESTORED);
	CHECK(gen_judge(true, 4, GEN_FILE_GARBAGE, 0) == GEN_FILE_BAD);
	CHECK(gen_judge(false, 0, GEN_FILE_GARBAGE, 0) == GEN_FILE_BAD);
	CHECK(gen_judge(true, 4, GEN_FILE_UNREADABLE, 0) == GEN_UNREADABLE);
}

TEST(gen_file_parse_and_refuse)
{
	static const char *const bad[] = {
		"",                                  /* empty */
		"generation 3",                      /* no newline */
		"generation\n",                      /* no number */
		"generation 0\n",                    /* below 1 */
		"generation -2\n",                   /* negative */
		"generation 3x\n",                   /* trailing bytes */
		"generation 3\ngeneration 4\n",      /* twice */
		"generation 3\nprofile -1\n",        /* negative mark */
		"generation 3\nflavour 1\n",         /* unknown key */
		"dataplane 3\n",                     /* no generation */
		"generation 3\n\n",                  /* empty line */
		"generation  3\n",                   /* two spaces */
		"generation 99999999999999999999\n", /* out of range */
		NULL,
	};
	struct gen_state f;
	char err[256];
	size_t i;

	fresh();
	CHECK(st != NULL);
	CHECK(gen_file_read(gfile, &f, err, sizeof(err)) == GEN_FILE_MISSING);
	put_file("generation 7\ndataplane 3\nkeeper 2\nprofile 9\nevents 11\n");
	CHECK(gen_file_read(gfile, &f, err, sizeof(err)) == GEN_FILE_OK);
	CHECK(f.generation == 7 && f.marks.dataplane == 3 &&
	    f.marks.keeper == 2 && f.marks.profile == 9 &&
	    f.marks.events == 11);
	put_file("profile 4\ngeneration 2\n");
	CHECK(gen_file_read(gfile, &f, err, sizeof(err)) == GEN_FILE_OK);
	CHECK(f.generation == 2 && f.marks.profile == 4 &&
	    f.marks.dataplane == 0);
	for (i = 0; bad[i] != NULL; i++) {
		put_file(bad[i]);
		err[0] = '\0';
		if (gen_file_read(gfile, &f, err, sizeof(err)) !=
		    GEN_FILE_GARBAGE)
			CHECK(!"garbage accepted");
		CHECK(strstr(err, gfile) != NULL);
	}
	/* A NUL inside is not text. */
	afile_write(gfile, "generation 3\n\0\n", 15, 0600);
	CHECK(gen_file_read(gfile, &f, err, sizeof(err)) == GEN_FILE_GARBAGE);
	/* Larger than a generation file can be. */
	{
		char big[GEN_FILE_MAX + 64];

		memset(big, '1', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\n';
		afile_write(gfile, big, sizeof(big), 0600);
		CHECK(gen_file_read(gfile, &f, err, sizeof(err)) ==
		    GEN_FILE_GARBAGE);
	}
	/* A directory where the file should be cannot be read. */
	unlink(gfile);
	CHECK(mkdir(gfile, 0700) == 0);
	CHECK(
	    gen_file_read(gfile, &f, err, sizeof(err)) == GEN_FILE_UNREADABLE);
	rmdir(gfile);
}

/* First start: both made; every start after bumps both. */
TEST(gen_fresh_then_current)
{
	char msg[1200];
	struct stat sb;

	fresh();
	CHECK(st != NULL);
	CHECK(db_gen() == 0);
	CHECK(start(false, msg, sizeof(msg)) == 0);
	CHECK(db_gen() == 1 && file_gen() == 1);
	CHECK(stat(gfile, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	CHECK(start(false, msg, sizeof(msg)) == 0);
	CHECK(db_gen() == 2 && file_gen() == 2);
	CHECK(events("store.restored") == 0);
}

/* Bumps only after writes, and the file follows the database. */
TEST(gen_tick_after_writes_only)
{
	char msg[1200];
	int64_t v;

	fresh();
	CHECK(start(false, msg, sizeof(msg)) == 0);
	CHECK(gen_tick(st, false) == 0);
	CHECK(db_gen() == 1 && file_gen() == 1);
	CHECK(store_profile_put(st, "{\"steps\":[]}", "t", &v) == STORE_OK);
	CHECK(gen_tick(st, false) == 0);
	CHECK(db_gen() == 2 && file_gen() == 2);
	CHECK(gen_current() == 2);
	CHECK(gen_tick(st, false) == 0);
	CHECK(db_gen() == 2 && file_gen() == 2);
	CHECK(gen_tick(st, true) == 0);
	CHECK(db_gen() == 3 && file_gen() == 3);
}

/*
 * An older database (the file ahead): refused, nothing written; accepted
 * with the flag, and then safe: floors, tokens, freeze, event.
 */
TEST(gen_restored_refused_then_accepted)
{
	unsigned char h[32];
	char msg[1200], v[64];
	int64_t seq, ver, id;
	uint64_t commits;
	json_t *list = NULL;

	fresh();
	CHECK(start(false, msg, sizeof(msg)) == 0);
	CHECK(store_pop_add(st, "p", "r", "{}", "t") == STORE_OK);
	memset(h, 7, sizeof(h));
	CHECK(store_enrolltoken_add(
		  st, h, "p", 1, util_now() + 3600, "t", &id) == STORE_OK);
	/* What the live edge-cp had reached after this copy was taken. */
	put_file("generation 40\ndataplane 12\nkeeper 5\nprofile 30\n"
		 "events 500\n");
	commits = store_commits(st);
	CHECK(start(false, msg, sizeof(msg)) == GEN_REFUSED);
	CHECK(strstr(msg, "generation 1 ") != NULL);
	CHECK(strstr(msg, "says 40") != NULL);
	CHECK(strstr(msg, "--accept-restore") != NULL);
	CHECK(store_commits(st) == commits);
	CHECK(db_gen() == 1 && file_gen() == 40);
	CHECK(events("store.restored") == 0);

	CHECK(start(true, msg, sizeof(msg)) == 0);
	CHECK(events("store.restored") == 1);
	CHECK(db_gen() == 41 && file_gen() == 41);
	/* No event id is given twice: the new ones follow the file's. */
	CHECK(store_last_event(st) > 500);
	/* Above what the file says was handed out. */
	CHECK(store_release_next_seq(st, "dataplane", &seq) == STORE_OK);
	CHECK(seq == 13);
	CHECK(store_release_next_seq(st, "keeper", &seq) == STORE_OK);
	CHECK(seq == 6);
	CHECK(store_profile_put(st, "{\"steps\":[]}", "t", &ver) == STORE_OK);
	CHECK(ver == 31);
	/* The token of the copy may have been spent since: revoked. */
	CHECK(store_enrolltoken_list(st, util_now(), true, &list) == STORE_OK);
	CHECK_STR(json_string_value(
		      json_object_get(json_array_get(list, 0), "state")),
	    "revoked");
	json_decref(list);
	CHECK(store_meta_get(st, "freeze", v, sizeof(v)) == STORE_OK);
	CHECK(v[0] != '\0');
	/* Accepted once: the next start is an ordinary one. */
	CHECK(start(false, msg, sizeof(msg)) == 0);
	CHECK(events("store.restored") == 1);
}

/* A crash (here: a failed write) between the database and the file. */
TEST(gen_db_ahead_of_file)
{
	char msg[1200];
	int64_t v;

	fresh();
	CHECK(start(false, msg, sizeof(msg)) == 0);
	CHECK(store_profile_put(st, "{\"steps\":[]}", "t", &v) == STORE_OK);
	faultio_fail(1);
	CHECK(gen_tick(st, false) == -1);
	faultio_off();
	CHECK(db_gen() == 2 && file_gen() == 1);
	/* The next tick tries again. */
	CHECK(gen_tick(st, false) == 0);
	CHECK(db_gen() == 3 && file_gen() == 3);
	/* A file behind the database is moved forward at start. */
	put_file("generation 2\n");
	CHECK(start(false, msg, sizeof(msg)) == 0);
	CHECK(db_gen() == 4 && file_gen() == 4);
	CHECK(events("store.restored") == 0);
}

/* The file gone while the database has a generation. */
TEST(gen_file_missing)
{
	char msg[1200];

	fresh();
	CHECK(start(false, msg, sizeof(msg)) == 0);
	CHECK(start(false, msg, sizeof(msg)) == 0);
	unlink(gfile);
	CHECK(start(false, msg, sizeof(msg)) == GEN_REFUSED);
	CHECK(strstr(msg, "generation 2 ") != NULL);
	CHECK(strstr(msg, "missing") != NULL);
	CHECK(access(gfile, F_OK) != 0);
	CHECK(start(true, msg, sizeof(msg)) == 0);
	CHECK(events("store.restored") == 1);
	CHECK(db_gen() == 3 && file_gen() == 3);
}

/* Garbage: refused until accepted, then rewritten. */
TEST(gen_file_garbage)
{
	char msg[1200];

	fresh();
	CHECK(start(false, msg, sizeof(msg)) == 0);
	put_file("generation twelve\n");
	CHECK(start(false, msg, sizeof(msg)) == GEN_REFUSED);
	CHECK(strstr(msg, "unreadable content") != NULL);
	CHECK(db_gen() == 1);
	CHECK(start(true, msg, sizeof(msg)) == 0);
	CHECK(db_gen() == 2 && file_gen() == 2);
}

/* Unreadable: never started on, flag or not, and nothing written. */
TEST(gen_file_unreadable)
{
	char msg[1200];
	uint64_t commits;

	fresh();
	CHECK(start(false, msg, sizeof(msg)) == 0);
	unlink(gfile);
	CHECK(mkdir(gfile, 0700) == 0);
	commits = store_commits(st);
	CHECK(start(false, msg, sizeof(msg)) == -1);
	CHECK(strstr(msg, gfile) != NULL);
	CHECK(start(true, msg, sizeof(msg)) == -1);
	CHECK(store_commits(st) == commits);
	CHECK(db_gen() == 1);
	rmdir(gfile);
}

/* A database without a generation beside a file: restored (or new). */
TEST(gen_db_without_generation)
{
	char msg[1200];

	fresh();
	put_file("generation 5\n");
	CHECK(start(false, msg, sizeof(msg)) == GEN_REFUSED);
	CHECK(strstr(msg, "generation none") != NULL);
	CHECK(start(true, msg, sizeof(msg)) == 0);
	CHECK(db_gen() == 6 && file_gen() == 6);
}

/* Nodes' admitted marks raise the floors, once, with no write else. */
TEST(gen_nodes_raise_floors)
{
	struct store_marks m = { 0, 0, 0, 0 };
	char msg[1200];
	uint64_t commits;
	int64_t seq;

	fresh();
	CHECK(start(false, msg, sizeof(msg)) == 0);
	commits = store_commits(st);
	gen_note_admitted(st, "n-1", &m);
	CHECK(store_commits(st) == commits);
	m.dataplane = 8;
	gen_note_admitted(st, "n-1", &m);
	CHECK(store_commits(st) == commits + 1);
	CHECK(events("store.floor_raised") == 1);
	CHECK(store_release_next_seq(st, "dataplane", &seq) == STORE_OK);
	CHECK(seq == 9);
	/* Known now: the next node saying the same costs nothing. */
	gen_note_admitted(st, "n-2", &m);
	CHECK(store_commits(st) == commits + 1);
	/* The floor is recorded in the next bump's file too. */
	CHECK(gen_tick(st, false) == 0);
	{
		struct gen_state f;
		char err[256];

		CHECK(
		    gen_file_read(gfile, &f, err, sizeof(err)) == GEN_FILE_OK);
		CHECK(f.marks.dataplane == 8);
	}
}

/*
 * DATA_DIR/revoked: what was removed after the copy is removed again when
 * the restore is accepted; lines it cannot read are skipped.
 */
TEST(gen_revoked_replayed)
{
	struct store_new_node nn;
	struct store_apitoken t;
	unsigned char eh[32], pk[32], th[32], other[32];
	char msg[1200], pop[40], path[160], junk[200];
	json_t *node = NULL;
	int fd;

	fresh();
	snprintf(path, sizeof(path), "%s/%s", tmpdir, GEN_REVOKED_FILE);
	unlink(path);
	CHECK(start(false, msg, sizeof(msg)) == 0);
	CHECK(store_pop_add(st, "p", "r", "{}", "t") == STORE_OK);
	memset(eh, 1, sizeof(eh));
	memset(pk, 2, sizeof(pk));
	memset(th, 3, sizeof(th));
	memset(other, 4, sizeof(other));
	CHECK(store_enrolltoken_add(
		  st, eh, "p", 1, util_now() + 60, "t", NULL) == STORE_OK);
	memset(&nn, 0, sizeof(nn));
	nn.id = "n-1";
	nn.hostname = "h";
	nn.facts = "{}";
	memcpy(nn.public_key, pk, 32);
	CHECK(store_enroll(st, eh, util_now(), &nn, pop, sizeof(pop)) ==
	    STORE_OK);
	CHECK(
	    store_apitoken_add(st, "ops", "operator", th, 0, "t") == STORE_OK);
	/* What the live edge-cp did after this copy of its database. */
	CHECK(gen_revoked_add("node", pk) == 0);
	CHECK(gen_revoked_add("api_token", th) == 0);
	CHECK(gen_revoked_add("api_token", other) == 0); /* unknown here */
	CHECK(gen_revoked_add("pop", pk) == -1);
	fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	snprintf(junk, sizeof(junk), "node nothex\nflavour %064d\nnode 0a", 0);
	CHECK(write(fd, junk, strlen(junk)) == (ssize_t)strlen(junk));
	close(fd);
	put_file("generation 9\n");
	CHECK(start(true, msg, sizeof(msg)) == 0);
	CHECK(store_node_get(st, "n-1", &node) == STORE_NOTFOUND);
	CHECK(store_apitoken_find(st, th, &t) == STORE_OK);
	CHECK(t.revoked_at != 0);
	CHECK(events("node.remove") == 1);
	CHECK(events("api_token.revoke") == 1);
	/* A revoked token's hash is not in force: nothing to look up. */
	CHECK(store_apitoken_hash(st, "ops", th) == STORE_NOTFOUND);
	/* Unreadable (a directory): the restore is not accepted. */
	put_file("generation 20\n");
	unlink(path);
	CHECK(mkdir(path, 0700) == 0);
	CHECK(start(true, msg, sizeof(msg)) == -1);
	CHECK(strstr(msg, path) != NULL);
	CHECK(events("store.restored") == 1);
	rmdir(path);
}

int
main(void)
{
	log_init("generation_test", LOG_WARN);
	tmp_setup("generation_test");
	RUN(gen_judge_table);
	RUN(gen_file_parse_and_refuse);
	RUN(gen_fresh_then_current);
	RUN(gen_tick_after_writes_only);
	RUN(gen_restored_refused_then_accepted);
	RUN(gen_db_ahead_of_file);
	RUN(gen_file_missing);
	RUN(gen_file_garbage);
	RUN(gen_file_unreadable);
	RUN(gen_db_without_generation);
	RUN(gen_nodes_raise_floors);
	RUN(gen_revoked_replayed);
	store_close(st);
	tmp_cleanup();
	return check_done();
}
