/* Unit tests of cp/store: a real SQLite file in a temporary directory. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "common/log.h"
#include "common/util.h"
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
	CHECK(store_enrolltoken_add(st, h, "p", 1, now + 60, "t") == STORE_OK);
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
	CHECK(store_enrolltoken_add(st, h, "p", 5, now - 1, "t") == STORE_OK);
	CHECK(store_enroll(st, h, now, &a, pop, sizeof(pop)) == STORE_NOTFOUND);
	CHECK(store_enroll(st, other, now, &a, pop, sizeof(pop)) ==
	    STORE_NOTFOUND);
	CHECK(store_enrolltoken_add(st, other, "nope", 1, now + 60, "t") ==
	    STORE_INVALID);
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
	CHECK(store_enrolltoken_add(st, h, "p", 2, now + 60, "t") == STORE_OK);
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
	CHECK(store_enrolltoken_add(st, h, "p", 5, now + 60, "t") == STORE_OK);
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
	CHECK(store_enrolltoken_add(st, h, "p", 1, now + 60, "t") == STORE_OK);
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
	CHECK(store_event_list(st, 0, 100, &ev) == STORE_OK);
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
	CHECK(store_enrolltoken_add(st, h, "p", 1, now + 60, "t") == STORE_OK);
	CHECK(store_enroll(st, h, now, &a, pop, sizeof(pop)) == STORE_OK);
	CHECK(store_profile_put(st, "{\"steps\":[]}", "op", &v1) == STORE_OK);
	CHECK(store_profile_put(st, "{\"steps\":[]}", "op", &v2) == STORE_OK);
	CHECK(v1 == 1 && v2 == 2);
	CHECK(store_rollout_create(st, "profile", "9", "all_at_once", "{}",
		  "op", &id) == STORE_INVALID);
	CHECK(store_rollout_create(st, "dataplane", "1.0", "all_at_once", "{}",
		  "op", &id) == STORE_INVALID);
	CHECK(store_rollout_create(st, "profile", "1", "all_at_once", "{}",
		  "op", &id) == STORE_OK);
	CHECK(store_rollout_create(st, "profile", "2", "all_at_once", "{}",
		  "op", &id2) == STORE_CONFLICT);
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
	CHECK(store_rollout_create(st, "profile", "2", "all_at_once", "{}",
		  "op", &id2) == STORE_OK);
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
	CHECK(store_event_list(st, 0, 100, &ev) == STORE_OK);
	nev = json_array_size(ev);
	json_decref(ev);
	store_fault_fail_nth(1);
	CHECK(store_pop_add(st, "b", "r", "{}", "t") == STORE_ERR);
	CHECK(store_pop_list(st, &pops) == STORE_OK);
	CHECK(json_array_size(pops) == 1);
	json_decref(pops);
	CHECK(store_event_list(st, 0, 100, &ev) == STORE_OK);
	CHECK(json_array_size(ev) == nev);
	json_decref(ev);
	/* The fault fires once; the next write goes through. */
	CHECK(store_pop_add(st, "b", "r", "{}", "t") == STORE_OK);
	store_fault_fail_nth(2);
	CHECK(store_pop_add(st, "c", "r", "{}", "t") == STORE_OK);
	CHECK(store_pop_update(st, "c", "x", NULL, "t") == STORE_ERR);
	store_fault_fail_nth(0);
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
	RUN(store_rollout_lifecycle);
	RUN(store_failed_write_changes_nothing);
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
