/* Unit tests of cp/store: a real SQLite file in a temporary directory. */
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "common/log.h"
#include "common/util.h"
#include "cp/embedded.h"
#include "cp/store.h"

static char dir[64];
static struct store *st;

static void
fresh(void)
{
	char path[128], err[256];

	store_close(st);
	snprintf(path, sizeof(path), "%s/t.db", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/t.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/t.db", dir);
	st = store_open(path, err, sizeof(err));
}

static void
hash_of(unsigned char h[32], int n)
{
	memset(h, 0, 32);
	h[0] = (unsigned char)n;
}

TEST(store_migrates_to_latest)
{
	fresh();
	CHECK(st != NULL);
	CHECK(store_schema_version(st) >= 1);
}

TEST(store_pop_add_get_conflict)
{
	json_t *p;

	fresh();
	CHECK(store_pop_add(st, "fra1", "eu", "{\"asn\":1}", "t") == STORE_OK);
	CHECK(store_pop_add(st, "fra1", "eu", "{}", "t") == STORE_CONFLICT);
	CHECK(store_pop_get(st, "fra1", &p) == STORE_OK);
	CHECK_STR(json_string_value(json_object_get(p, "region")), "eu");
	CHECK(json_integer_value(
		  json_object_get(json_object_get(p, "bgp"), "asn")) == 1);
	json_decref(p);
	CHECK(store_pop_get(st, "nope", &p) == STORE_NOTFOUND);
	CHECK(store_pop_update(st, "nope", "x", NULL, "t") == STORE_NOTFOUND);
}

static struct store_new_node
node(const char *id)
{
	struct store_new_node n;

	memset(&n, 0, sizeof(n));
	n.id = id;
	n.hostname = "h";
	n.facts = "{}";
	/* Keys are unique per node; derive one from the id. */
	memcpy(n.public_key, id, strlen(id) < 32 ? strlen(id) : 32);
	return n;
}

TEST(store_enroll_token_single_use)
{
	unsigned char h[32];
	struct store_new_node a = node("n-a"), b = node("n-b");
	char pop[40];
	int64_t now = util_now();

	fresh();
	hash_of(h, 1);
	CHECK(store_pop_add(st, "p", "r", "{}", "t") == STORE_OK);
	CHECK(store_enrolltoken_add(st, h, "p", 1, now + 60, "t", NULL) ==
	    STORE_OK);
	CHECK(store_enroll(st, h, now, &a, pop, sizeof(pop)) == STORE_OK);
	CHECK_STR(pop, "p");
	CHECK(store_enroll(st, h, now, &b, pop, sizeof(pop)) == STORE_NOTFOUND);
}

TEST(store_enroll_token_expired_and_unknown)
{
	unsigned char h[32], other[32];
	struct store_new_node a = node("n-a");
	char pop[40];
	int64_t now = util_now();

	fresh();
	hash_of(h, 2);
	hash_of(other, 3);
	CHECK(store_pop_add(st, "p", "r", "{}", "t") == STORE_OK);
	CHECK(store_enrolltoken_add(st, h, "p", 5, now - 1, "t", NULL) ==
	    STORE_OK);
	CHECK(store_enroll(st, h, now, &a, pop, sizeof(pop)) == STORE_NOTFOUND);
	CHECK(store_enroll(st, other, now, &a, pop, sizeof(pop)) ==
	    STORE_NOTFOUND);
	CHECK(store_enrolltoken_add(
		  st, other, "nope", 1, now + 60, "t", NULL) == STORE_INVALID);
}

TEST(store_enroll_failure_spends_nothing)
{
	unsigned char h[32];
	struct store_new_node a = node("n-a"), dup = node("n-a");
	char pop[40];
	int64_t now = util_now();
	json_t *nodes;

	fresh();
	hash_of(h, 4);
	CHECK(store_pop_add(st, "p", "r", "{}", "t") == STORE_OK);
	CHECK(store_enrolltoken_add(st, h, "p", 2, now + 60, "t", NULL) ==
	    STORE_OK);
	CHECK(store_enroll(st, h, now, &a, pop, sizeof(pop)) == STORE_OK);
	/* Same id: the insert fails, the use taken in that txn comes back. */
	CHECK(
	    store_enroll(st, h, now, &dup, pop, sizeof(pop)) == STORE_CONFLICT);
	a = node("n-c");
	CHECK(store_enroll(st, h, now, &a, pop, sizeof(pop)) == STORE_OK);
	CHECK(store_node_list(st, &nodes) == STORE_OK);
	CHECK(json_array_size(nodes) == 2);
	json_decref(nodes);
}

static int
count_node(const struct store_node_row *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

TEST(store_enroll_one_node_per_key)
{
	unsigned char h[32];
	struct store_new_node a = node("n-a"), b = node("n-b");
	char pop[40];
	int64_t now = util_now();

	fresh();
	hash_of(h, 7);
	memcpy(b.public_key, a.public_key, 32);
	CHECK(store_pop_add(st, "p", "r", "{}", "t") == STORE_OK);
	CHECK(store_enrolltoken_add(st, h, "p", 5, now + 60, "t", NULL) ==
	    STORE_OK);
	CHECK(store_enroll(st, h, now, &a, pop, sizeof(pop)) == STORE_OK);
	CHECK(store_enroll(st, h, now, &b, pop, sizeof(pop)) == STORE_CONFLICT);
}

TEST(store_status_and_activation)
{
	unsigned char h[32], sh[32];
	struct store_new_node a = node("n-a");
	char pop[40];
	json_t *n, *ev;
	int count = 0;
	int64_t now = util_now();

	fresh();
	hash_of(h, 5);
	hash_of(sh, 9);
	CHECK(store_pop_add(st, "p", "r", "{}", "t") == STORE_OK);
	CHECK(store_enrolltoken_add(st, h, "p", 1, now + 60, "t", NULL) ==
	    STORE_OK);
	CHECK(store_enroll(st, h, now, &a, pop, sizeof(pop)) == STORE_OK);
	CHECK(store_node_status(st, "n-a", "{\"drained\":false}", sh, now) ==
	    STORE_OK);
	CHECK(store_node_get(st, "n-a", &n) == STORE_OK);
	CHECK_STR(json_string_value(json_object_get(n, "state")), "active");
	CHECK(json_is_false(
	    json_object_get(json_object_get(n, "status"), "drained")));
	json_decref(n);
	CHECK(store_node_each(st, count_node, &count) == STORE_OK);
	CHECK(count == 1);
	CHECK(store_event_list(st, NULL, 0, 100, &ev) == STORE_OK);
	/* pop.create, enrollment_token.create, node.enroll, node.activate */
	CHECK(json_array_size(ev) == 4);
	CHECK_STR(
	    json_string_value(json_object_get(json_array_get(ev, 3), "action")),
	    "node.activate");
	CHECK_STR(
	    json_string_value(json_object_get(json_array_get(ev, 3), "actor")),
	    "n-a");
	json_decref(ev);
	CHECK(store_node_delete(st, "n-a", "op") == STORE_OK);
	CHECK(store_node_delete(st, "n-a", "op") == STORE_NOTFOUND);
}

/* Text that would be SQL if it were pasted into a statement is data. */
TEST(store_hostile_text_is_data)
{
	static const char evil[] = "x'); DROP TABLE nodes; -- \" % _ ;";
	unsigned char h[32];
	struct store_new_node a = node("n-q");
	char pop[40], facts[128], status[128];
	json_t *n, *ev, *p;
	int64_t now = util_now();

	fresh();
	CHECK(store_pop_add(st, "p", evil, "{}", evil) == STORE_OK);
	CHECK(store_pop_get(st, "p", &p) == STORE_OK);
	CHECK_STR(json_string_value(json_object_get(p, "region")), evil);
	json_decref(p);
	snprintf(facts, sizeof(facts), "{\"os\":\"%s\"}",
	    "x'); DROP TABLE pops; --");
	a.facts = facts;
	a.hostname = "h'; --";
	hash_of(h, 7);
	CHECK(store_enrolltoken_add(st, h, "p", 1, now + 60, "t", NULL) ==
	    STORE_OK);
	CHECK(store_enroll(st, h, now, &a, pop, sizeof(pop)) == STORE_OK);
	snprintf(status, sizeof(status),
	    "{\"steps\":[{\"name\":\"s\",\"reason\":\"%s\"}]}",
	    "'; DELETE FROM events; --");
	hash_of(h, 8);
	CHECK(store_node_status(st, "n-q", status, h, now) == STORE_OK);
	CHECK(store_node_get(st, "n-q", &n) == STORE_OK);
	CHECK_STR(json_string_value(json_object_get(n, "hostname")), "h'; --");
	CHECK_STR(json_string_value(
		      json_object_get(json_object_get(n, "facts"), "os")),
	    "x'); DROP TABLE pops; --");
	CHECK_STR(
	    json_string_value(json_object_get(
		json_array_get(
		    json_object_get(json_object_get(n, "status"), "steps"), 0),
		"reason")),
	    "'; DELETE FROM events; --");
	json_decref(n);
	CHECK(store_event_add(st, evil, "x.y", evil, "{}") == STORE_OK);
	CHECK(store_event_list(st, NULL, 0, 100, &ev) == STORE_OK);
	/* pop.create (by evil), token, enroll, activate, the one added */
	CHECK(json_array_size(ev) == 5);
	CHECK_STR(
	    json_string_value(json_object_get(json_array_get(ev, 0), "actor")),
	    evil);
	CHECK_STR(
	    json_string_value(json_object_get(json_array_get(ev, 4), "object")),
	    evil);
	json_decref(ev);
}

/* Concurrent status writers: every acknowledged report is stored. */
#define GC_THREADS 8
#define GC_WRITES 60

struct gc_arg {
	int t;
	int bad;
};

static void *
gc_writer(void *p)
{
	struct gc_arg *a = p;
	char id[16], status[64];
	unsigned char h[32];
	int i;

	snprintf(id, sizeof(id), "n-%d", a->t);
	for (i = 0; i < GC_WRITES; i++) {
		snprintf(status, sizeof(status), "{\"seq\":%d}", i);
		hash_of(h, i);
		if (store_node_status(st, id, status, h, util_now()) !=
		    STORE_OK)
			a->bad++;
	}
	/* A node that is not there fails alone, whatever it is batched with. */
	if (store_node_status(st, "n-gone", "{}", h, util_now()) !=
	    STORE_NOTFOUND)
		a->bad++;
	return NULL;
}

TEST(store_status_group_commit)
{
	pthread_t th[GC_THREADS];
	struct gc_arg arg[GC_THREADS];
	unsigned char h[32];
	char pop[40], id[GC_THREADS][16];
	int64_t now = util_now();
	json_t *n;
	int t;

	fresh();
	CHECK(store_pop_add(st, "p", "r", "{}", "t") == STORE_OK);
	for (t = 0; t < GC_THREADS; t++) {
		struct store_new_node nn;

		snprintf(id[t], sizeof(id[t]), "n-%d", t);
		nn = node(id[t]);
		hash_of(h, 100 + t);
		CHECK(store_enrolltoken_add(
			  st, h, "p", 1, now + 60, "t", NULL) == STORE_OK);
		CHECK(store_enroll(st, h, now, &nn, pop, sizeof(pop)) ==
		    STORE_OK);
	}
	for (t = 0; t < GC_THREADS; t++) {
		arg[t].t = t;
		arg[t].bad = 0;
		CHECK(pthread_create(&th[t], NULL, gc_writer, &arg[t]) == 0);
	}
	for (t = 0; t < GC_THREADS; t++) {
		pthread_join(th[t], NULL);
		CHECK(arg[t].bad == 0);
	}
	for (t = 0; t < GC_THREADS; t++) {
		CHECK(store_node_get(st, id[t], &n) == STORE_OK);
		CHECK(
		    json_integer_value(json_object_get(
			json_object_get(n, "status"), "seq")) == GC_WRITES - 1);
		CHECK_STR(
		    json_string_value(json_object_get(n, "state")), "active");
		json_decref(n);
	}
}

/*
 * A one-node all_at_once rollout of n-a with its move done, as the
 * engine's first tick would.
 */
static int
rollout_now(const char *comp, const char *ver, bool rollback,
    const char *params, int64_t *id)
{
	struct store_plan_row row = { "n-a", "p", 0 };
	struct store_rollout_new ro = { comp, ver, "all_at_once", rollback,
		params, "[\"all\"]", 1, &row, 1, NULL };
	json_t *ids;
	int rc = store_rollout_create(st, &ro, "op", id);

	if (rc == STORE_OK) {
		ids = json_pack("[s]", "n-a");
		rc = store_rollout_move(st, *id, ids, 1, "cp");
		json_decref(ids);
	}
	return rc;
}

TEST(store_rollout_lifecycle)
{
	unsigned char h[32];
	struct store_new_node a = node("n-a");
	char pop[40];
	int64_t now = util_now(), v1, v2, id, id2;
	json_t *in, *ro;

	fresh();
	hash_of(h, 6);
	CHECK(store_pop_add(st, "p", "r", "{}", "t") == STORE_OK);
	CHECK(store_enrolltoken_add(st, h, "p", 1, now + 60, "t", NULL) ==
	    STORE_OK);
	CHECK(store_enroll(st, h, now, &a, pop, sizeof(pop)) == STORE_OK);
	CHECK(store_profile_put(st, "{\"steps\":[]}", "op", &v1) == STORE_OK);
	CHECK(store_profile_put(st, "{\"steps\":[]}", "op", &v2) == STORE_OK);
	CHECK(v1 == 1 && v2 == 2);
	CHECK(rollout_now("profile", "9", false, "{}", &id) == STORE_INVALID);
	CHECK(
	    rollout_now("dataplane", "1.0", false, "{}", &id) == STORE_INVALID);
	CHECK(rollout_now("profile", "1", false, "{}", &id) == STORE_OK);
	CHECK(rollout_now("profile", "2", false, "{}", &id2) == STORE_CONFLICT);
	CHECK(store_desired_inputs(st, "n-a", &in) == STORE_OK);
	CHECK_STR(json_string_value(json_object_get(
		      json_object_get(in, "targets"), "profile")),
	    "1");
	json_decref(in);
	CHECK(store_rollout_finish(st, id, "completed", "done", "cp") ==
	    STORE_OK);
	CHECK(store_rollout_finish(st, id, "aborted", "x", "op") ==
	    STORE_CONFLICT);
	/* A second rollout that is aborted leaves the baseline in force. */
	CHECK(rollout_now("profile", "2", false, "{}", &id2) == STORE_OK);
	CHECK(store_rollout_finish(st, id2, "aborted", "no", "op") == STORE_OK);
	CHECK(store_desired_inputs(st, "n-a", &in) == STORE_OK);
	CHECK_STR(json_string_value(json_object_get(
		      json_object_get(in, "targets"), "profile")),
	    "1");
	json_decref(in);
	CHECK(store_rollout_get(st, id2, &ro) == STORE_OK);
	CHECK_STR(json_string_value(json_object_get(ro, "state")), "aborted");
	CHECK_STR(json_string_value(json_object_get(ro, "previous")), "1");
	json_decref(ro);
}

TEST(store_failed_write_changes_nothing)
{
	json_t *pops, *ev;
	size_t nev;

	fresh();
	CHECK(store_pop_add(st, "a", "r", "{}", "t") == STORE_OK);
	CHECK(store_event_list(st, NULL, 0, 100, &ev) == STORE_OK);
	nev = json_array_size(ev);
	json_decref(ev);
	store_fault_fail_nth(1);
	CHECK(store_pop_add(st, "b", "r", "{}", "t") == STORE_ERR);
	CHECK(store_pop_list(st, &pops) == STORE_OK);
	CHECK(json_array_size(pops) == 1);
	json_decref(pops);
	CHECK(store_event_list(st, NULL, 0, 100, &ev) == STORE_OK);
	CHECK(json_array_size(ev) == nev);
	json_decref(ev);
	/* The fault fires once; the next write goes through. */
	CHECK(store_pop_add(st, "b", "r", "{}", "t") == STORE_OK);
	store_fault_fail_nth(2);
	CHECK(store_pop_add(st, "c", "r", "{}", "t") == STORE_OK);
	CHECK(store_pop_update(st, "c", "x", NULL, "t") == STORE_ERR);
	store_fault_fail_nth(0);
}

static struct store_release
release(const char *component, const char *version, int64_t seq)
{
	struct store_release r = { component, version,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8"
		"55",
		42, seq };

	return r;
}

TEST(store_release_add_list_seq)
{
	struct store_release a, b;
	json_t *list, *row, *ev;
	int64_t seq;

	fresh();
	CHECK(store_schema_version(st) >= 2);
	CHECK(store_release_next_seq(st, "dataplane", &seq) == STORE_OK);
	CHECK(seq == 1);
	a = release("dataplane", "1.0", seq);
	CHECK(store_release_add(st, &a, "admin") == STORE_OK);
	CHECK(store_release_exists(st, "dataplane", "1.0") == STORE_OK);
	CHECK(store_release_exists(st, "keeper", "1.0") == STORE_NOTFOUND);
	/* Per component: the keeper starts at 1, the dataplane goes on. */
	CHECK(store_release_next_seq(st, "keeper", &seq) == STORE_OK);
	CHECK(seq == 1);
	b = release("keeper", "1.0", seq);
	CHECK(store_release_add(st, &b, "admin") == STORE_OK);
	CHECK(store_release_next_seq(st, "dataplane", &seq) == STORE_OK);
	CHECK(seq == 2);
	b = release("dataplane", "1.1", seq);
	CHECK(store_release_add(st, &b, "admin") == STORE_OK);
	CHECK(store_release_next_seq(st, "dataplane", &seq) == STORE_OK);
	CHECK(seq == 3);
	CHECK(store_release_list(st, &list) == STORE_OK);
	CHECK(json_array_size(list) == 3);
	row = json_array_get(list, 1);
	CHECK_STR(
	    json_string_value(json_object_get(row, "component")), "dataplane");
	CHECK_STR(json_string_value(json_object_get(row, "version")), "1.1");
	CHECK(json_integer_value(json_object_get(row, "seq")) == 2);
	CHECK(json_integer_value(json_object_get(row, "size")) == 42);
	CHECK_STR(
	    json_string_value(json_object_get(row, "created_by")), "admin");
	json_decref(list);
	/* The add is audited with its actor, in the same transaction. */
	CHECK(store_event_list(st, NULL, 0, 100, &ev) == STORE_OK);
	row = json_array_get(ev, json_array_size(ev) - 1);
	CHECK_STR(
	    json_string_value(json_object_get(row, "action")), "release.add");
	CHECK_STR(
	    json_string_value(json_object_get(row, "object")), "dataplane/1.1");
	CHECK_STR(json_string_value(json_object_get(row, "actor")), "admin");
	CHECK(json_integer_value(
		  json_object_get(json_object_get(row, "detail"), "seq")) == 2);
	json_decref(ev);
}

/* The dataplane target store_desired_inputs gives node n-a. */
static json_t *
dp_target(void)
{
	json_t *in = NULL, *t;

	if (store_desired_inputs(st, "n-a", &in) != STORE_OK)
		return NULL;
	t = json_incref(
	    json_object_get(json_object_get(in, "targets"), "dataplane"));
	json_decref(in);
	return t;
}

TEST(store_rollback_is_said_explicitly)
{
	unsigned char h[32];
	struct store_new_node a = node("n-a");
	struct store_release r;
	char pop[40];
	int64_t now = util_now(), id;
	json_t *t;
	int i;

	fresh();
	hash_of(h, 7);
	CHECK(store_pop_add(st, "p", "r", "{}", "t") == STORE_OK);
	CHECK(store_enrolltoken_add(st, h, "p", 1, now + 60, "t", NULL) ==
	    STORE_OK);
	CHECK(store_enroll(st, h, now, &a, pop, sizeof(pop)) == STORE_OK);
	for (i = 1; i <= 3; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d.0", i);
		r = release("dataplane", v, i);
		r.version = v;
		CHECK(store_release_add(st, &r, "admin") == STORE_OK);
	}
	/* No baseline yet: a node is told an empty version, no rollback. */
	CHECK((t = dp_target()) != NULL);
	CHECK_STR(json_string_value(json_object_get(t, "version")), "");
	CHECK(json_is_false(json_object_get(t, "rollback")));
	json_decref(t);
	CHECK(rollout_now("dataplane", "2.0", false, "{}", &id) == STORE_OK);
	CHECK((t = dp_target()) != NULL);
	CHECK_STR(json_string_value(json_object_get(t, "version")), "2.0");
	CHECK(json_is_false(json_object_get(t, "rollback")));
	json_decref(t);
	CHECK(store_rollout_finish(st, id, "completed", "", "cp") == STORE_OK);
	/* Older than the baseline: refused unless said, forward is fine. */
	CHECK(rollout_now("dataplane", "1.0", false, "{}", &id) ==
	    STORE_ROLLBACK);
	CHECK(rollout_now("dataplane", "3.0", false, "{}", &id) == STORE_OK);
	/* Aborted: back to the baseline, which now says rollback. */
	CHECK(store_rollout_finish(st, id, "aborted", "", "op") == STORE_OK);
	CHECK((t = dp_target()) != NULL);
	CHECK_STR(json_string_value(json_object_get(t, "version")), "2.0");
	CHECK(json_is_true(json_object_get(t, "rollback")));
	json_decref(t);
	/* Said explicitly: the targets carry it, and so does the baseline. */
	CHECK(rollout_now("dataplane", "1.0", true, "{\"rollback\":true}",
		  &id) == STORE_OK);
	CHECK((t = dp_target()) != NULL);
	CHECK_STR(json_string_value(json_object_get(t, "version")), "1.0");
	CHECK(json_is_true(json_object_get(t, "rollback")));
	json_decref(t);
	CHECK(store_rollout_finish(st, id, "completed", "", "cp") == STORE_OK);
	CHECK((t = dp_target()) != NULL);
	CHECK(json_is_true(json_object_get(t, "rollback")));
	json_decref(t);
	/* A forward rollout that completes clears it. */
	CHECK(rollout_now("dataplane", "3.0", false, "{}", &id) == STORE_OK);
	CHECK(store_rollout_finish(st, id, "completed", "", "cp") == STORE_OK);
	CHECK((t = dp_target()) != NULL);
	CHECK_STR(json_string_value(json_object_get(t, "version")), "3.0");
	CHECK(json_is_false(json_object_get(t, "rollback")));
	json_decref(t);
}

TEST(store_release_immutable_and_unique_seq)
{
	struct store_release a = release("dataplane", "1.0", 1);
	struct store_release b;
	json_t *list, *ev;
	size_t nev;

	fresh();
	CHECK(store_release_add(st, &a, "admin") == STORE_OK);
	CHECK(store_event_list(st, NULL, 0, 100, &ev) == STORE_OK);
	nev = json_array_size(ev);
	json_decref(ev);
	/* The same version again, even with another seq: refused. */
	b = release("dataplane", "1.0", 2);
	CHECK(store_release_add(st, &b, "admin") == STORE_CONFLICT);
	/* Two racing uploads that took the same seq: the later loses. */
	b = release("dataplane", "2.0", 1);
	CHECK(store_release_add(st, &b, "admin") == STORE_CONFLICT);
	/* A failed write adds nothing either. */
	b = release("dataplane", "3.0", 2);
	store_fault_fail_nth(1);
	CHECK(store_release_add(st, &b, "admin") == STORE_ERR);
	CHECK(store_release_list(st, &list) == STORE_OK);
	CHECK(json_array_size(list) == 1);
	json_decref(list);
	CHECK(store_event_list(st, NULL, 0, 100, &ev) == STORE_OK);
	CHECK(json_array_size(ev) == nev);
	json_decref(ev);
	CHECK(store_release_add(st, &b, "admin") == STORE_OK);
}

/*
 * A database made before 002_releases.sql with releases in it: the
 * migration numbers them per component in creation order.
 */
TEST(store_release_migration_numbers_old_rows)
{
	const struct embedded_file *f;
	char path[128], err[256];
	sqlite3 *db = NULL;
	json_t *list;
	int64_t seq;
	int rc;

	store_close(st);
	st = NULL;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	unlink(path);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	for (f = embedded_files; f->name != NULL; f++)
		if (strcmp(f->name, "schema/001_init.sql") == 0)
			break;
	CHECK(f->name != NULL);
	rc = sqlite3_exec(db, (const char *)f->data, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db,
		    "PRAGMA user_version=1;"
		    "INSERT INTO releases VALUES "
		    "('keeper','b','x',1,20,'t'),"
		    "('keeper','a','x',1,10,'t'),"
		    "('dataplane','z','x',1,5,'t'),"
		    "('keeper','c','x',1,20,'t');",
		    NULL, NULL, NULL);
	sqlite3_close(db);
	CHECK(rc == SQLITE_OK);
	st = store_open(path, err, sizeof(err));
	CHECK(st != NULL);
	CHECK(store_release_list(st, &list) == STORE_OK);
	CHECK(json_array_size(list) == 4);
	/* Ordered by component, seq: dataplane z; keeper a, b, c. */
	CHECK_STR(json_string_value(
		      json_object_get(json_array_get(list, 1), "version")),
	    "a");
	CHECK(json_integer_value(
		  json_object_get(json_array_get(list, 0), "seq")) == 1);
	CHECK(json_integer_value(
		  json_object_get(json_array_get(list, 3), "seq")) == 3);
	CHECK_STR(json_string_value(
		      json_object_get(json_array_get(list, 3), "version")),
	    "c");
	json_decref(list);
	CHECK(store_release_next_seq(st, "keeper", &seq) == STORE_OK);
	CHECK(seq == 4);
}

/* The actions of every event so far, joined with spaces. */
static void
event_actions(char *buf, size_t len)
{
	json_t *ev, *e;
	size_t i, off = 0;

	buf[0] = '\0';
	if (store_event_list(st, NULL, 0, 1000, &ev) != STORE_OK)
		return;
	json_array_foreach(ev, i, e)
	{
		int n = snprintf(buf + off, len - off, "%s%s", off ? " " : "",
		    json_string_value(json_object_get(e, "action")));

		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	json_decref(ev);
}

TEST(store_apitoken_expiry_list_revoke)
{
	unsigned char a[32], b[32], c[32];
	struct store_apitoken t;
	int64_t now = util_now();
	char actions[512];
	json_t *list, *e;
	size_t i;

	fresh();
	hash_of(a, 1);
	hash_of(b, 2);
	hash_of(c, 3);
	CHECK(store_apitoken_add(st, "root", "admin", a, 0, "t") == STORE_OK);
	CHECK(store_apitoken_add(st, "ci", "operator", b, now + 60, "root") ==
	    STORE_OK);
	CHECK(store_apitoken_add(st, "old", "viewer", c, now - 1, "root") ==
	    STORE_OK);
	CHECK(store_apitoken_find(st, b, &t) == STORE_OK);
	CHECK_STR(t.name, "ci");
	CHECK_STR(t.role, "operator");
	CHECK(
	    t.expires_at == now + 60 && t.revoked_at == 0 && t.last_used == 0);
	CHECK(store_apitoken_find(st, a, &t) == STORE_OK);
	CHECK(t.expires_at == 0);
	/* Listed by name with their state; never a hash or a secret. */
	CHECK(store_apitoken_list(st, now, &list) == STORE_OK);
	CHECK(json_array_size(list) == 3);
	json_array_foreach(list, i, e)
	{
		CHECK(json_object_get(e, "hash") == NULL);
		CHECK(json_object_get(e, "token") == NULL);
		CHECK(json_is_null(json_object_get(e, "last_used")));
	}
	CHECK_STR(
	    json_string_value(json_object_get(json_array_get(list, 0), "name")),
	    "ci");
	CHECK_STR(json_string_value(
		      json_object_get(json_array_get(list, 0), "state")),
	    "active");
	CHECK_STR(json_string_value(
		      json_object_get(json_array_get(list, 1), "state")),
	    "expired");
	CHECK(json_is_null(
	    json_object_get(json_array_get(list, 2), "expires_at")));
	json_decref(list);
	/* A name in force is taken. */
	hash_of(c, 4);
	CHECK(store_apitoken_add(st, "ci", "viewer", c, 0, "root") ==
	    STORE_CONFLICT);
	/* Revoked: found as revoked, no longer listed, its name free. */
	CHECK(store_apitoken_revoke(st, "ci", now, "root") == STORE_OK);
	CHECK(store_apitoken_find(st, b, &t) == STORE_OK);
	CHECK(t.revoked_at == now);
	CHECK(store_apitoken_revoke(st, "ci", now, "root") == STORE_NOTFOUND);
	CHECK(store_apitoken_list(st, now, &list) == STORE_OK);
	CHECK(json_array_size(list) == 2);
	json_decref(list);
	CHECK(store_apitoken_add(st, "ci", "viewer", c, 0, "root") == STORE_OK);
	/* ...but its hash never gets in again. */
	CHECK(store_apitoken_add(st, "ci2", "viewer", b, 0, "root") ==
	    STORE_CONFLICT);
	CHECK(
	    store_apitoken_revoke(st, "nobody", now, "root") == STORE_NOTFOUND);
	event_actions(actions, sizeof(actions));
	CHECK_STR(actions,
	    "api_token.create api_token.create api_token.create "
	    "api_token.revoke api_token.create");
}

TEST(store_apitoken_last_admin_stays)
{
	unsigned char a[32], b[32];
	struct store_apitoken t;
	int64_t now = util_now();
	char actions[512];

	fresh();
	hash_of(a, 1);
	hash_of(b, 2);
	CHECK(store_apitoken_add(st, "root", "admin", a, 0, "t") == STORE_OK);
	/* An expired admin token does not count as another admin. */
	CHECK(store_apitoken_add(st, "gone", "admin", b, now - 1, "t") ==
	    STORE_OK);
	CHECK(store_apitoken_revoke(st, "root", now, "root") == STORE_CONFLICT);
	CHECK(store_apitoken_find(st, a, &t) == STORE_OK);
	CHECK(t.revoked_at == 0);
	event_actions(actions, sizeof(actions));
	CHECK_STR(actions, "api_token.create api_token.create");
	/* The expired one itself may go, and with another, root too. */
	CHECK(store_apitoken_revoke(st, "gone", now, "root") == STORE_OK);
	hash_of(b, 3);
	CHECK(
	    store_apitoken_add(st, "root2", "admin", b, 0, "root") == STORE_OK);
	CHECK(store_apitoken_revoke(st, "root", now, "root2") == STORE_OK);
	CHECK(
	    store_apitoken_revoke(st, "root2", now, "root2") == STORE_CONFLICT);
}

TEST(store_apitoken_touch_records_use)
{
	unsigned char a[32];
	struct store_apitoken t;
	json_t *list;

	fresh();
	hash_of(a, 1);
	CHECK(store_apitoken_add(st, "root", "admin", a, 0, "t") == STORE_OK);
	CHECK(store_apitoken_touch(st, a, 1000) == STORE_OK);
	CHECK(store_apitoken_touch(st, a, 900) == STORE_OK);
	CHECK(store_apitoken_find(st, a, &t) == STORE_OK);
	CHECK(t.last_used == 1000);
	CHECK(store_apitoken_list(st, 1000, &list) == STORE_OK);
	CHECK(json_integer_value(json_object_get(
		  json_array_get(list, 0), "last_used")) == 1000);
	json_decref(list);
}

/*
 * A database at schema 5 with tokens in it: 006 upgrades it in place, the
 * tokens keep working (no expiry, not revoked) and can be revoked.
 */
/*
 * Reopen st on a fresh database made by the migrations named below
 * `before` ("schema/006": 001 to 005) and then sql (which sets
 * user_version): an old edge-cp's database for a migration test.
 */
static int
old_db(const char *before, const char *sql)
{
	const struct embedded_file *f;
	char path[128], err[256];
	sqlite3 *db = NULL;
	int rc = SQLITE_OK;

	store_close(st);
	st = NULL;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	for (f = embedded_files; f->name != NULL && rc == SQLITE_OK; f++)
		if (strncmp(f->name, "schema/00", 9) == 0 &&
		    strcmp(f->name, before) < 0)
			rc = sqlite3_exec(
			    db, (const char *)f->data, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	if (rc != SQLITE_OK)
		return -1;
	st = store_open(path, err, sizeof(err));
	return st != NULL ? 0 : -1;
}

TEST(store_apitoken_migration_keeps_tokens)
{
	unsigned char a[32], b[32];
	struct store_apitoken t;
	json_t *list;

	CHECK(old_db("schema/006",
		  "PRAGMA user_version=5;"
		  "INSERT INTO api_tokens VALUES "
		  "('admin','admin',zeroblob(32),10,'edge-cp'),"
		  "('ci','operator',x'01"
		  "00000000000000000000000000000000000000000000000000000000"
		  "000000',20,'admin');") == 0);
	CHECK(store_schema_version(st) >= 6);
	memset(a, 0, sizeof(a));
	hash_of(b, 1);
	CHECK(store_apitoken_find(st, a, &t) == STORE_OK);
	CHECK_STR(t.name, "admin");
	CHECK_STR(t.role, "admin");
	CHECK(t.expires_at == 0 && t.revoked_at == 0 && t.last_used == 0);
	CHECK(store_apitoken_find(st, b, &t) == STORE_OK);
	CHECK_STR(t.name, "ci");
	CHECK(store_apitoken_list(st, util_now(), &list) == STORE_OK);
	CHECK(json_array_size(list) == 2);
	CHECK(json_integer_value(json_object_get(
		  json_array_get(list, 0), "created_at")) == 10);
	CHECK_STR(json_string_value(
		      json_object_get(json_array_get(list, 1), "created_by")),
	    "admin");
	json_decref(list);
	CHECK(store_apitoken_revoke(st, "ci", util_now(), "admin") == STORE_OK);
	CHECK(store_apitoken_find(st, b, &t) == STORE_OK);
	CHECK(t.revoked_at != 0);
}

TEST(store_event_batch_in_order_with_times)
{
	static const char *const objs[] = { "n-a", "n-b", "n-a" };
	static const char *const dets[] = { "{\"i\":1}", "{\"i\":2}",
		"{\"i\":3}" };
	static const int64_t ts[] = { 100, 101, 101 };
	json_t *ev;
	size_t i;

	fresh();
	CHECK(store_event_batch(
		  st, "edge-cp", "node.health", objs, dets, ts, 3) == STORE_OK);
	CHECK(store_event_list(st, NULL, 0, 10, &ev) == STORE_OK);
	CHECK(json_array_size(ev) == 3);
	for (i = 0; i < 3; i++) {
		json_t *e = json_array_get(ev, i);

		CHECK_STR(
		    json_string_value(json_object_get(e, "object")), objs[i]);
		CHECK(json_integer_value(json_object_get(e, "ts")) == ts[i]);
		CHECK(json_integer_value(
			  json_object_get(json_object_get(e, "detail"), "i")) ==
		    (json_int_t)i + 1);
	}
	json_decref(ev);
}

/* Add n events of action "t" at time ts (and ids growing). */
static int
add_events(int64_t ts, size_t n)
{
	const char **objs = calloc(n, sizeof(*objs));
	const char **dets = calloc(n, sizeof(*dets));
	int64_t *tss = calloc(n, sizeof(*tss));
	size_t i;
	int rc = STORE_ERR;

	if (objs != NULL && dets != NULL && tss != NULL) {
		for (i = 0; i < n; i++) {
			objs[i] = "o";
			dets[i] = "{}";
			tss[i] = ts;
		}
		rc = store_event_batch(st, "edge-cp", "t", objs, dets, tss, n);
	}
	free(objs);
	free(dets);
	free(tss);
	return rc;
}

/* The id of the first event listed after `after`, 0 when none. */
static int64_t
first_id_after(int64_t after)
{
	json_t *ev;
	int64_t id = 0;

	if (store_event_list(st, NULL, after, 1, &ev) != STORE_OK)
		return -1;
	if (json_array_size(ev) == 1)
		id = json_integer_value(
		    json_object_get(json_array_get(ev, 0), "id"));
	json_decref(ev);
	return id;
}

/*
 * Retention: old events go oldest first, in batches of at most max rows
 * each; new ones stay; ids keep growing after the deletes.
 */
TEST(store_event_expire_in_batches)
{
	int64_t now = 1000000, deleted = -1, oldest = 0, last;
	json_t *ev;

	fresh();
	CHECK(add_events(now - 500, 4500) == STORE_OK);
	CHECK(add_events(now - 10, 7) == STORE_OK);
	CHECK(store_last_event(st) == 4507);
	CHECK(store_event_oldest(st, &oldest) == STORE_OK && oldest == 1);
	/* Older than now - 100: 4500 of them, 2000 at a time. */
	CHECK(
	    store_event_expire(st, now - 100, now, 2000, &deleted) == STORE_OK);
	CHECK(deleted == 2000);
	CHECK(store_event_oldest(st, &oldest) == STORE_OK && oldest == 2001);
	CHECK(first_id_after(0) == 2001);
	CHECK(
	    store_event_expire(st, now - 100, now, 2000, &deleted) == STORE_OK);
	CHECK(deleted == 2000);
	CHECK(
	    store_event_expire(st, now - 100, now, 2000, &deleted) == STORE_OK);
	CHECK(deleted == 500);
	CHECK(
	    store_event_expire(st, now - 100, now, 2000, &deleted) == STORE_OK);
	CHECK(deleted == 0);
	/* The new ones are all there, in order. */
	CHECK(store_event_oldest(st, &oldest) == STORE_OK && oldest == 4501);
	CHECK(store_event_list(st, NULL, 0, 100, &ev) == STORE_OK);
	CHECK(json_array_size(ev) == 7);
	CHECK(json_integer_value(
		  json_object_get(json_array_get(ev, 6), "id")) == 4507);
	json_decref(ev);
	/* A reader at id 10 gets what is kept, from 4501 on. */
	CHECK(first_id_after(10) == 4501);
	/* The next event's id is past every one ever given. */
	last = store_last_event(st);
	CHECK(store_event_add(st, "t", "t.next", "o", NULL) == STORE_OK);
	CHECK(store_last_event(st) == last + 1);
	CHECK(first_id_after(4507) == 4508);
}

/*
 * What is kept is always every event after some id: a young event holds
 * back the old ones after it (ts and id orders differ by a second or two,
 * node.health events carry the time they happened), except one stamped
 * far in the future by a wrong clock, which goes with its neighbours.
 */
TEST(store_event_expire_keeps_a_suffix)
{
	int64_t now = 1000000, deleted = -1, oldest = 0;

	fresh();
	CHECK(add_events(now - 500, 2) == STORE_OK);       /* 1-2 */
	CHECK(add_events(now + 3 * 86400, 1) == STORE_OK); /* 3 */
	CHECK(add_events(now - 500, 2) == STORE_OK);       /* 4-5 */
	CHECK(add_events(now - 50, 1) == STORE_OK);        /* 6 */
	CHECK(add_events(now - 500, 3) == STORE_OK);       /* 7-9 */
	CHECK(
	    store_event_expire(st, now - 100, now, 1000, &deleted) == STORE_OK);
	CHECK(deleted == 5);
	CHECK(store_event_oldest(st, &oldest) == STORE_OK && oldest == 6);
	CHECK(
	    store_event_expire(st, now - 100, now, 1000, &deleted) == STORE_OK);
	CHECK(deleted == 0);
	/* Once 6 is old too, 6-9 go. */
	CHECK(
	    store_event_expire(st, now - 10, now, 1000, &deleted) == STORE_OK);
	CHECK(deleted == 4);
	/* max 0: nothing. */
	CHECK(store_event_expire(st, now, now, 0, &deleted) == STORE_OK);
	CHECK(deleted == 0);
}

/*
 * Every event removed: the oldest "kept" is the next id, and the newest
 * id ever given survives a restart, so ids never go back.
 */
TEST(store_event_expire_all_ids_stay)
{
	char path[128], err[256];
	int64_t now = 1000000, deleted = -1, oldest = 0;

	fresh();
	CHECK(add_events(now - 500, 30) == STORE_OK);
	CHECK(store_event_expire(st, now, now, 2000, &deleted) == STORE_OK);
	CHECK(deleted == 30);
	CHECK(first_id_after(0) == 0);
	CHECK(store_event_oldest(st, &oldest) == STORE_OK && oldest == 31);
	CHECK(store_last_event(st) == 30);
	store_close(st);
	snprintf(path, sizeof(path), "%s/t.db", dir);
	st = store_open(path, err, sizeof(err));
	CHECK(st != NULL);
	CHECK(store_last_event(st) == 30);
	CHECK(store_event_oldest(st, &oldest) == STORE_OK && oldest == 31);
	CHECK(store_event_add(st, "t", "t.next", "o", NULL) == STORE_OK);
	CHECK(store_last_event(st) == 31);
	CHECK(first_id_after(0) == 31);
	CHECK(store_event_oldest(st, &oldest) == STORE_OK && oldest == 31);
}

/* The row of the event with this action, as a new reference (or NULL). */
static json_t *
event_of(const char *action)
{
	json_t *ev, *e, *found = NULL;
	size_t i;

	if (store_event_list(st, NULL, 0, 1000, &ev) != STORE_OK)
		return NULL;
	json_array_foreach(ev, i,
	    e) if (strcmp(json_string_value(json_object_get(e, "action")),
		       action) == 0) found = e;
	json_incref(found);
	json_decref(ev);
	return found;
}

static const char *
row_str(json_t *list, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(list, i), key));
}

/*
 * Enrollment tokens (T6): listed without a hash, the ones that can
 * enroll by default, every one with all; a revoked token is refused like
 * an unknown one while another still enrolls; revoking twice or an
 * unknown id is STORE_NOTFOUND and changes nothing.
 */
TEST(store_enrolltoken_list_revoke)
{
	unsigned char live[32], old[32], spent[32], gone[32];
	struct store_new_node a = node("n-a"), b = node("n-b");
	int64_t now = util_now(), id_live, id_old, id_spent, id_gone;
	char pop[40], actions[512];
	json_t *list, *e;
	size_t i;

	fresh();
	hash_of(live, 1);
	hash_of(old, 2);
	hash_of(spent, 3);
	hash_of(gone, 4);
	CHECK(store_pop_add(st, "p", "r", "{}", "t") == STORE_OK);
	CHECK(store_enrolltoken_add(
		  st, live, "p", 2, now + 60, "ops", &id_live) == STORE_OK);
	CHECK(store_enrolltoken_add(st, old, "p", 1, now - 1, "ops", &id_old) ==
	    STORE_OK);
	CHECK(store_enrolltoken_add(
		  st, spent, "p", 1, now + 60, "ops", &id_spent) == STORE_OK);
	CHECK(store_enrolltoken_add(
		  st, gone, "p", 5, now + 60, "ops", &id_gone) == STORE_OK);
	CHECK(id_live > 0 && id_old == id_live + 1 && id_spent == id_old + 1 &&
	    id_gone == id_spent + 1);
	CHECK(store_enroll(st, spent, now, &a, pop, sizeof(pop)) == STORE_OK);
	CHECK(store_enrolltoken_revoke(st, id_gone, now, "root") == STORE_OK);
	/* The revoked token enrolls nothing; the other one still does. */
	CHECK(store_enroll(st, gone, now, &b, pop, sizeof(pop)) ==
	    STORE_NOTFOUND);
	CHECK(store_enroll(st, live, now, &b, pop, sizeof(pop)) == STORE_OK);
	/* By default: only what can still enroll. */
	CHECK(store_enrolltoken_list(st, now, false, &list) == STORE_OK);
	CHECK(json_array_size(list) == 1);
	CHECK(json_integer_value(
		  json_object_get(json_array_get(list, 0), "id")) == id_live);
	CHECK_STR(row_str(list, 0, "state"), "active");
	CHECK(json_integer_value(
		  json_object_get(json_array_get(list, 0), "uses_left")) == 1);
	CHECK_STR(row_str(list, 0, "created_by"), "ops");
	json_decref(list);
	/* all: every one, by id, with its state; never a hash. */
	CHECK(store_enrolltoken_list(st, now, true, &list) == STORE_OK);
	CHECK(json_array_size(list) == 4);
	CHECK_STR(row_str(list, 0, "state"), "active");
	CHECK_STR(row_str(list, 1, "state"), "expired");
	CHECK_STR(row_str(list, 2, "state"), "used_up");
	CHECK_STR(row_str(list, 3, "state"), "revoked");
	CHECK_STR(row_str(list, 3, "revoked_by"), "root");
	CHECK(json_integer_value(json_object_get(
		  json_array_get(list, 3), "revoked_at")) == now);
	json_array_foreach(list, i, e)
	{
		CHECK(json_object_get(e, "hash") == NULL);
		CHECK(json_object_get(e, "token") == NULL);
		CHECK_STR(json_string_value(json_object_get(e, "pop")), "p");
	}
	json_decref(list);
	/* Twice, or an id that never was: not found, no event. */
	CHECK(store_enrolltoken_revoke(st, id_gone, now, "root") ==
	    STORE_NOTFOUND);
	CHECK(store_enrolltoken_revoke(st, 999, now, "root") == STORE_NOTFOUND);
	/* Spent and expired tokens may be revoked (nothing left to use). */
	CHECK(store_enrolltoken_revoke(st, id_old, now, "root") == STORE_OK);
	event_actions(actions, sizeof(actions));
	CHECK_STR(actions,
	    "pop.create enrollment_token.create enrollment_token.create "
	    "enrollment_token.create enrollment_token.create node.enroll "
	    "enrollment_token.revoke node.enroll enrollment_token.revoke");
	/* The events name the token: its id, and which token enrolled. */
	CHECK((e = event_of("enrollment_token.revoke")) != NULL);
	CHECK_STR(json_string_value(json_object_get(e, "object")), "p");
	CHECK_STR(json_string_value(json_object_get(e, "actor")), "root");
	CHECK(json_integer_value(json_object_get(
		  json_object_get(e, "detail"), "id")) == id_old);
	json_decref(e);
	CHECK((e = event_of("node.enroll")) != NULL);
	CHECK(json_integer_value(json_object_get(json_object_get(e, "detail"),
		  "enrollment_token")) == id_live);
	json_decref(e);
	CHECK((e = event_of("enrollment_token.create")) != NULL);
	CHECK(json_integer_value(json_object_get(
		  json_object_get(e, "detail"), "id")) == id_gone);
	json_decref(e);
}

/*
 * A database at schema 6 with an unspent enrollment token: 007 upgrades
 * it in place; the token is listed, enrolls, and can be revoked.
 */
TEST(store_enrolltoken_migration_keeps_tokens)
{
	char pop[40], sql[512];
	unsigned char h[32], h2[32];
	struct store_new_node a = node("n-a"), b = node("n-b");
	json_t *list;
	int64_t now = util_now();

	/* Token 1 (hash 01 00...), three uses, valid for an hour. */
	snprintf(sql, sizeof(sql),
	    "PRAGMA user_version=6;"
	    "INSERT INTO pops VALUES ('p','r','{}',1,1);"
	    "INSERT INTO enrollment_tokens VALUES (1,x'01"
	    "00000000000000000000000000000000000000000000000000000000"
	    "000000','p',3,3,%lld,10,'ops');",
	    (long long)now + 3600);
	CHECK(old_db("schema/007", sql) == 0);
	CHECK(store_schema_version(st) >= 7);
	CHECK(store_enrolltoken_list(st, now, false, &list) == STORE_OK);
	CHECK(json_array_size(list) == 1);
	CHECK_STR(row_str(list, 0, "state"), "active");
	CHECK_STR(row_str(list, 0, "created_by"), "ops");
	CHECK(json_is_null(
	    json_object_get(json_array_get(list, 0), "revoked_at")));
	json_decref(list);
	hash_of(h, 1);
	CHECK(store_enroll(st, h, now, &a, pop, sizeof(pop)) == STORE_OK);
	CHECK(store_enrolltoken_revoke(st, 1, now, "root") == STORE_OK);
	CHECK(store_enroll(st, h, now, &b, pop, sizeof(pop)) == STORE_NOTFOUND);
	/* A new token gets the next id, never a revoked one's. */
	hash_of(h2, 2);
	CHECK(store_enrolltoken_add(st, h2, "p", 1, now + 60, "ops", NULL) ==
	    STORE_OK);
	CHECK(store_enrolltoken_list(st, now, true, &list) == STORE_OK);
	CHECK(json_array_size(list) == 2);
	CHECK(json_integer_value(
		  json_object_get(json_array_get(list, 1), "id")) == 2);
	json_decref(list);
}

/* The newest event: its action and actor, for the checks below. */
static int
last_event(const char *action, const char *actor)
{
	json_t *ev = NULL, *row;
	int ok;

	if (store_event_tail(st, NULL, 1, &ev) != STORE_OK)
		return 0;
	row = json_array_get(ev, 0);
	ok = row != NULL &&
	    strcmp(json_string_value(json_object_get(row, "action")), action) ==
		0 &&
	    strcmp(json_string_value(json_object_get(row, "actor")), actor) ==
		0;
	json_decref(ev);
	return ok;
}

/*
 * The two-person rule's notion of one person: a token, what it made
 * (through any number of tokens), what made it, and what its maker made;
 * but the tokens the first admin token (made by edge-cp) made are two.
 */
TEST(store_apitoken_related_follows_makers)
{
	unsigned char h[32];
	bool rel = false;
	int i;
	static const char *const made[][2] = { { "admin", "edge-cp" },
		{ "a1", "admin" }, { "a2", "admin" }, { "a3", "a1" },
		{ "a4", "a3" }, { "a5", "a1" } };

	fresh();
	for (i = 0; i < 6; i++) {
		hash_of(h, 10 + i);
		CHECK(store_apitoken_add(st, made[i][0], "admin", h, 0,
			  made[i][1]) == STORE_OK);
	}
	CHECK(store_apitoken_related(st, "a1", "a1", &rel) == STORE_OK && rel);
	CHECK(store_apitoken_related(st, "a1", "a2", &rel) == STORE_OK && !rel);
	CHECK(store_apitoken_related(st, "a2", "a1", &rel) == STORE_OK && !rel);
	/* Made by a1, directly or not; and a1's own maker. */
	CHECK(store_apitoken_related(st, "a1", "a3", &rel) == STORE_OK && rel);
	CHECK(store_apitoken_related(st, "a4", "a1", &rel) == STORE_OK && rel);
	CHECK(
	    store_apitoken_related(st, "admin", "a4", &rel) == STORE_OK && rel);
	CHECK(store_apitoken_related(st, "a2", "a4", &rel) == STORE_OK && !rel);
	/* Made by one token: its holder's two tokens are one person. */
	CHECK(store_apitoken_related(st, "a3", "a5", &rel) == STORE_OK && rel);
	CHECK(store_apitoken_related(st, "a5", "a4", &rel) == STORE_OK && rel);
	CHECK(store_apitoken_related(st, "a5", "a2", &rel) == STORE_OK && !rel);
	/* An unknown name is only itself. */
	CHECK(store_apitoken_related(st, "ghost", "a1", &rel) == STORE_OK &&
	    !rel);
	/* A revoked maker still counts, and a reused name ends in no loop. */
	CHECK(store_apitoken_revoke(st, "a3", util_now(), "admin") == STORE_OK);
	CHECK(store_apitoken_related(st, "a1", "a4", &rel) == STORE_OK && rel);
	hash_of(h, 30);
	CHECK(store_apitoken_add(st, "a3", "admin", h, 0, "a4") == STORE_OK);
	CHECK(store_apitoken_related(st, "a2", "a3", &rel) == STORE_OK && !rel);
	CHECK(store_apitoken_related(st, "a4", "a3", &rel) == STORE_OK && rel);
}

/* An upload waits, is approved into a release or dropped; all audited. */
TEST(store_release_pending_approve_drop)
{
	struct store_release p = release("dataplane", "2.0", 0), bad;
	json_t *list, *up;

	fresh();
	CHECK(store_schema_version(st) >= 8);
	CHECK(store_release_pending_add(st, &p, "a1") == STORE_OK);
	CHECK(last_event("release.upload", "a1"));
	CHECK(store_release_pending_add(st, &p, "a2") == STORE_CONFLICT);
	/* Pending is not a release: no rollout, no download can name it. */
	CHECK(store_release_exists(st, "dataplane", "2.0") == STORE_NOTFOUND);
	CHECK(
	    store_release_pending_get(st, "dataplane", "2.0", &up) == STORE_OK);
	CHECK_STR(json_string_value(json_object_get(up, "created_by")), "a1");
	json_decref(up);
	CHECK(store_release_list(st, &list) == STORE_OK);
	CHECK(json_array_size(list) == 1);
	CHECK_STR(row_str(list, 0, "state"), "pending");
	CHECK(json_is_null(json_object_get(json_array_get(list, 0), "seq")));
	json_decref(list);
	/* What is approved must be what was uploaded. */
	bad = p;
	bad.sha256 = "00";
	bad.seq = 1;
	CHECK(store_release_approve(st, &bad, "a2") == STORE_INVALID);
	CHECK(
	    store_release_pending_get(st, "dataplane", "2.0", &up) == STORE_OK);
	json_decref(up);
	p.seq = 1;
	CHECK(store_release_approve(st, &p, "a2") == STORE_OK);
	CHECK(last_event("release.approve", "a2"));
	CHECK(store_release_exists(st, "dataplane", "2.0") == STORE_OK);
	CHECK(store_release_pending_get(st, "dataplane", "2.0", &up) ==
	    STORE_NOTFOUND);
	CHECK(store_release_approve(st, &p, "a2") == STORE_NOTFOUND);
	CHECK(store_release_list(st, &list) == STORE_OK);
	CHECK(json_array_size(list) == 1);
	CHECK_STR(row_str(list, 0, "state"), "released");
	CHECK_STR(row_str(list, 0, "created_by"), "a1");
	CHECK_STR(row_str(list, 0, "approved_by"), "a2");
	json_decref(list);
	/* A release's version cannot be uploaded again, even pending. */
	CHECK(store_release_pending_add(st, &p, "a1") == STORE_CONFLICT);
	p = release("dataplane", "3.0", 0);
	CHECK(store_release_pending_add(st, &p, "a1") == STORE_OK);
	CHECK(store_release_pending_drop(st, "dataplane", "3.0", "a2") ==
	    STORE_OK);
	CHECK(last_event("release.discard", "a2"));
	CHECK(store_release_pending_drop(st, "dataplane", "3.0", "a2") ==
	    STORE_NOTFOUND);
}

/* A rollout can be created waiting for a promote, nothing moved. */
TEST(store_rollout_created_waiting)
{
	struct store_plan_row plan[1] = { { "n-a", "p", 0 } };
	struct store_rollout_new ro;
	json_t *r = NULL;
	int64_t id = 0, v = 0;

	fresh();
	CHECK(store_profile_put(st, "{\"steps\":[]}", "op", &v) == STORE_OK);
	memset(&ro, 0, sizeof(ro));
	ro.component = "profile";
	ro.version = "1";
	ro.strategy = "all_at_once";
	ro.state = "approval";
	ro.params = "{}";
	ro.wave_names = "[\"all\"]";
	ro.nwaves = 1;
	ro.plan = plan;
	ro.nplan = 1;
	CHECK(store_rollout_create(st, &ro, "op", &id) == STORE_OK);
	CHECK(store_rollout_get(st, id, &r) == STORE_OK);
	CHECK_STR(json_string_value(json_object_get(r, "state")), "approval");
	CHECK(json_integer_value(json_object_get(r, "wave")) == 0);
	json_decref(r);
	/* Waiting is active: one per component. */
	ro.state = NULL;
	CHECK(store_rollout_create(st, &ro, "op", &id) == STORE_CONFLICT);
}

/*
 * A database at schema 7 with a release: 008 keeps it as a release
 * (signed at upload, approved by nobody) and adds the uploads table.
 */
TEST(store_two_person_migration_keeps_releases)
{
	struct store_release p = release("dataplane", "2.0", 0);
	json_t *list;

	CHECK(old_db("schema/008",
		  "PRAGMA user_version=7;"
		  "INSERT INTO releases(component, version, sha256, size, "
		  "created_at, created_by, seq) VALUES "
		  "('dataplane','1.0','x',1,5,'ci',1);") == 0);
	CHECK(store_schema_version(st) >= 8);
	CHECK(store_release_exists(st, "dataplane", "1.0") == STORE_OK);
	CHECK(store_release_pending_add(st, &p, "a1") == STORE_OK);
	CHECK(store_release_list(st, &list) == STORE_OK);
	CHECK(json_array_size(list) == 2);
	CHECK_STR(row_str(list, 0, "version"), "1.0");
	CHECK_STR(row_str(list, 0, "state"), "released");
	CHECK(json_is_null(
	    json_object_get(json_array_get(list, 0), "approved_by")));
	CHECK_STR(row_str(list, 1, "state"), "pending");
	json_decref(list);
}

int
main(void)
{
	char tmpl[] = "/tmp/ef-store-XXXXXX";

	log_init("store_test", LOG_WARN);
	if (mkdtemp(tmpl) == NULL)
		return 1;
	util_strlcpy(dir, tmpl, sizeof(dir));
	RUN(store_migrates_to_latest);
	RUN(store_pop_add_get_conflict);
	RUN(store_enroll_token_single_use);
	RUN(store_enroll_token_expired_and_unknown);
	RUN(store_enroll_failure_spends_nothing);
	RUN(store_enroll_one_node_per_key);
	RUN(store_status_and_activation);
	RUN(store_status_group_commit);
	RUN(store_hostile_text_is_data);
	RUN(store_rollout_lifecycle);
	RUN(store_failed_write_changes_nothing);
	RUN(store_release_add_list_seq);
	RUN(store_release_immutable_and_unique_seq);
	RUN(store_rollback_is_said_explicitly);
	RUN(store_release_migration_numbers_old_rows);
	RUN(store_apitoken_expiry_list_revoke);
	RUN(store_apitoken_last_admin_stays);
	RUN(store_apitoken_touch_records_use);
	RUN(store_apitoken_migration_keeps_tokens);
	RUN(store_event_batch_in_order_with_times);
	RUN(store_event_expire_in_batches);
	RUN(store_event_expire_keeps_a_suffix);
	RUN(store_event_expire_all_ids_stay);
	RUN(store_enrolltoken_list_revoke);
	RUN(store_enrolltoken_migration_keeps_tokens);
	RUN(store_apitoken_related_follows_makers);
	RUN(store_release_pending_approve_drop);
	RUN(store_rollout_created_waiting);
	RUN(store_two_person_migration_keeps_releases);
	store_close(st);
	{
		static const char *const files[] = { "t.db", "t.db-wal",
			"t.db-shm" };
		char path[128];
		size_t i;

		for (i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
			unlink(path);
		}
		rmdir(dir);
	}
	return check_done();
}
