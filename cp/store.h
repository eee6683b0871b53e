/*
 * store: edge-cp's fleet state in SQLite.  Every SQL statement of edge-cp
 * lives in store.c, so another backend (PostgreSQL for multi-instance HA)
 * means another implementation of this header, nothing else.
 *
 * Durability: WAL, synchronous=FULL.  A function that returns STORE_OK
 * after a write has committed it to disk; callers acknowledge a request
 * only after that, so kill -9 loses no acknowledged write.
 *
 * Concurrency: one writer connection behind a mutex, every write in
 * BEGIN IMMEDIATE ... COMMIT; a small pool of reader connections, so
 * reads never wait for the writer (WAL).  Every function may be called
 * from any thread.
 *
 * Audit: every function that changes operator-visible state takes the
 * actor (token name or node id) and records its event in the same
 * transaction, so the change and its audit line commit or fail together.
 *
 * Results: functions that return documents fill a json_t the caller owns
 * (json_decref).  On failure nothing is returned and nothing is written.
 */
#ifndef EF_STORE_H
#define EF_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_rc {
	STORE_OK = 0,
	STORE_ERR = -1, /* I/O or SQLite error (logged) */
	STORE_NOTFOUND = -2,
	STORE_CONFLICT = -3, /* unique constraint, state conflict */
	STORE_FULL = -4,     /* disk full: retry later */
	STORE_INVALID = -5,  /* a referenced object does not exist */
	STORE_ROLLBACK = -6, /* older than the baseline, not said to be ok */
};

struct store;

/*
 * Fault injection for tests: make the Nth write transaction from now fail
 * as an I/O error would (1 = the next one); 0 disables.
 */
void store_fault_fail_nth(int n);

/*
 * Open (creating if needed) the database at path and apply the embedded
 * migrations schema/NNN_*.sql newer than PRAGMA user_version, all in one
 * transaction.  Returns NULL with a message in err on failure.
 */
struct store *store_open(const char *path, char *err, size_t errlen);
/* Checkpoints the WAL and closes every connection.  NULL is a no-op. */
void store_close(struct store *s);
int store_schema_version(struct store *s);

/* meta: small key/value settings (freeze flag, instance id). */
int store_meta_get(struct store *s, const char *key, char *val, size_t len);
/* Set (NULL: delete) key, recorded as the event action on object key. */
int store_meta_set(struct store *s, const char *key, const char *val,
    const char *action, const char *actor);

/*
 * The restore guard (cp/generation.h has the design).  The generation
 * is a counter in meta ("generation") that edge-cp bumps at every start
 * and after writes; DATA_DIR/generation holds a copy outside the
 * database.  Marks are the highest numbers handed out or seen admitted:
 * a release's seq per component, a profile's version.  Each is the
 * higher of what the tables hold and a floor kept in meta
 * ("floor.dataplane", "floor.keeper", "floor.profile"), so a database
 * restored from an old copy, once told about newer numbers, never hands
 * out one below them: store_release_next_seq and store_profile_put
 * count from the marks.
 */
struct store_marks {
	int64_t dataplane; /* release seq */
	int64_t keeper;    /* release seq */
	int64_t profile;   /* profile version */
	int64_t events;    /* the newest event id (no floor: see below) */
};

/* *gen gets the database's generation; STORE_NOTFOUND (and 0): none. */
int store_generation(struct store *s, int64_t *gen);
/*
 * One write transaction, no event: generation becomes one more than the
 * higher of its value and at_least; *gen gets it and *m the marks it
 * goes with.
 */
int store_generation_bump(
    struct store *s, int64_t at_least, int64_t *gen, struct store_marks *m);
int store_marks(struct store *s, struct store_marks *m);
/*
 * Raise the floors to m where m is above the marks ("store.floor_raised"
 * event per kind raised, with actor: the node that reported having
 * admitted it, or edge-cp).  Nothing is written when nothing is higher;
 * *raised (NULL: not wanted) says whether anything was.
 */
int store_marks_raise(struct store *s, const struct store_marks *m,
    const char *actor, bool *raised);
/*
 * `edge-cp serve --accept-restore` on a database older than the
 * generation file (or without one), in one transaction:
 *  - the floors raised to marks (NULL: no file to say), and the event
 *    ids moved past its events mark, so no event id is ever given twice
 *    (events ?after=ID readers see the new ones);
 *  - the nodes whose public keys are in nodes removed again, and the API
 *    tokens whose hashes are in tokens revoked again (DATA_DIR/revoked:
 *    removed and revoked after the copy was taken), each with its
 *    "node.remove" or "api_token.revoke" event;
 *  - every enrollment token still able to enroll a node revoked (it may
 *    have been spent or revoked after the copy was taken);
 *  - the freeze set (rollouts of the copy wait for an operator);
 *  - the "store.restored" event with both generations (file_gen -1: no
 *    readable file) and the counts, which the out fields get too.
 */
struct store_restore {
	int64_t db_gen, file_gen, now;
	const struct store_marks *marks;
	const unsigned char (*nodes)[32]; /* public keys */
	size_t nnodes;
	const unsigned char (*tokens)[32]; /* keyed hashes */
	size_t ntokens;
	/* out */
	int64_t enrolltokens_revoked, nodes_removed, apitokens_revoked;
};
int store_restore_accept(struct store *s, struct store_restore *r);
/* Write transactions committed since store_open (any thread). */
uint64_t store_commits(struct store *s);

/*
 * API tokens.  hash is the keyed BLAKE2b-256 of the token.  A token is in
 * force until it expires (expires_at, 0: never) or is revoked; a revoked
 * token keeps its row, so its hash never gets in again, and its name is
 * free for a new token.
 */
struct store_apitoken {
	char name[64];
	char role[16];
	int64_t expires_at; /* 0: never */
	int64_t last_used;  /* 0: never */
	int64_t revoked_at; /* 0: not revoked */
};

/*
 * Add a token ("api_token.create" event).  STORE_CONFLICT when a token in
 * force has the name, or any token (revoked too) the hash.
 */
int store_apitoken_add(struct store *s, const char *name, const char *role,
    const unsigned char hash[32], int64_t expires_at, const char *actor);
/*
 * Find a token by hash, revoked and expired ones too: judging them is the
 * caller's (cp/auth.c).  STORE_NOTFOUND when none.
 */
int store_apitoken_find(
    struct store *s, const unsigned char hash[32], struct store_apitoken *t);
/* The hash of the token in force named name; STORE_NOTFOUND when none. */
int store_apitoken_hash(
    struct store *s, const char *name, unsigned char hash[32]);
/* Record a use at now (no event; a no-op for a revoked token). */
int store_apitoken_touch(
    struct store *s, const unsigned char hash[32], int64_t now);
/*
 * The tokens in force and expired ones, by name: name, role, created_at,
 * created_by, expires_at (null: never), last_used (null: never) and
 * state ("active" or "expired" at now).  Never a hash.
 */
int store_apitoken_list(struct store *s, int64_t now, json_t **out);
/*
 * Revoke the token in force named name ("api_token.revoke" event), at
 * once for every request after.  STORE_NOTFOUND when there is none;
 * STORE_CONFLICT when it is the last admin token that works (expired ones
 * do not), so the API cannot lock itself out: make another first.
 */
int store_apitoken_revoke(
    struct store *s, const char *name, int64_t now, const char *actor);

/*
 * The two-person rule (T17): are tokens a and b the same person as far
 * as edge-cp can tell?  *related is true when a and b are the same name,
 * when one made the other, directly or through tokens made in between,
 * or when both were made (so) by one token that edge-cp did not make
 * itself: an admin token can make admin tokens, and every token it makes
 * is its holder's.  The first admin token (made by "edge-cp") is the
 * root that makes one token per person: tokens it made are not related
 * through it.  created_by is followed up to 32 steps, over revoked
 * tokens too, a reused name counting as every token that had it.
 */
int store_apitoken_related(
    struct store *s, const char *a, const char *b, bool *related);

/* POPs.  bgp is a validated JSON document (text). */
int store_pop_add(struct store *s, const char *name, const char *region,
    const char *bgp, const char *actor);
/* region or bgp NULL: unchanged. */
int store_pop_update(struct store *s, const char *name, const char *region,
    const char *bgp, const char *actor);
int store_pop_get(struct store *s, const char *name, json_t **out);
int store_pop_list(struct store *s, json_t **out);

/*
 * Enrollment tokens.  Add one ("enrollment_token.create" event, its id in
 * the detail) and fill *id (NULL: not wanted).  STORE_INVALID when the POP
 * does not exist.
 */
int store_enrolltoken_add(struct store *s, const unsigned char hash[32],
    const char *pop, int64_t uses, int64_t expires_at, const char *actor,
    int64_t *id);
/*
 * The newest STORE_ENROLLTOKEN_LIST tokens, oldest first: by default only
 * those that can still enroll a node at now, with all every one.  Each
 * has id, pop, uses, uses_left, state ("revoked", else "expired", else
 * "used_up", else "active"), created_at,
 * created_by, expires_at, revoked_at and revoked_by (null unless
 * revoked).  Never a hash.
 */
#define STORE_ENROLLTOKEN_LIST 1000
int store_enrolltoken_list(
    struct store *s, int64_t now, bool all, json_t **out);
/*
 * Revoke a token ("enrollment_token.revoke" event, object its POP): from
 * this commit on store_enroll refuses it as it refuses an unknown one.
 * Expired and used-up tokens may be revoked too.  STORE_NOTFOUND when
 * there is no such token or it is revoked already.
 */
int store_enrolltoken_revoke(
    struct store *s, int64_t id, int64_t now, const char *actor);

struct store_new_node {
	const char *id;
	const char *hostname;
	unsigned char public_key[32];
	const char *facts; /* JSON text */
};

/*
 * Consume one use of the enrollment token with this hash and create the
 * node, atomically: of any number of concurrent calls with a single-use
 * token exactly one succeeds.  Fills pop (the token's POP).  The
 * "node.enroll" event names the token ("enrollment_token": its id), so
 * the nodes a leaked token enrolled can be found.
 * STORE_NOTFOUND: no such token, expired, used up or revoked.
 * STORE_CONFLICT: the node id is taken (the caller picks another).
 */
int store_enroll(struct store *s, const unsigned char token_hash[32],
    int64_t now, const struct store_new_node *n, char *pop, size_t poplen);

/* Nodes. */
struct store_node_row {
	char id[40];
	char pop[40];
	unsigned char public_key[32];
	bool active;
	bool drain;
	int64_t last_seen;
	unsigned char status_hash[32];
	bool has_status;
	const char *status; /* JSON text or NULL; valid in callback */
};

/* Calls fn for every node (start-up load of the in-memory table). */
int store_node_each(struct store *s,
    int (*fn)(const struct store_node_row *, void *), void *arg);
/* Rows as stored: id, pop, hostname, state, drain, facts, status, ... */
int store_node_list(struct store *s, json_t **out);
int store_node_get(struct store *s, const char *id, json_t **out);
int store_node_set_drain(
    struct store *s, const char *id, bool drain, const char *actor);
/* NULL: the router id from the node's facts again. */
int store_node_set_router_id(
    struct store *s, const char *id, const char *router_id, const char *actor);
int store_node_delete(struct store *s, const char *id, const char *actor);
/*
 * Write a changed status report (and move enrolled -> active).  Called
 * only when the report's content hash changed.  Reports from concurrent
 * callers are group-committed: one transaction and one fsync for all that
 * are waiting; each returns once the commit holding it is durable.
 */
int store_node_status(struct store *s, const char *id, const char *status,
    const unsigned char hash[32], int64_t now);

struct store_seen {
	const char *id;
	int64_t last_seen;
};
/* Flush a batch of in-memory last_seen values in one transaction. */
int store_node_flush_seen(
    struct store *s, const struct store_seen *v, size_t n);

/*
 * Profiles: each put is a new version, one more than the profile mark
 * (the highest so far, or the floor when that is higher).
 */
int store_profile_put(
    struct store *s, const char *doc, const char *actor, int64_t *version);
/* version 0: the newest.  STORE_NOTFOUND when there is none. */
int store_profile_get(struct store *s, int64_t version, json_t **out);

/*
 * What a node's desired state is made of:
 *   {"pop":{name,region,bgp}, "drain":bool,
 *    "targets":{"profile":V,"profile_rollback":B,"dataplane":T,
 *               "keeper":T},
 *    "profile": {steps...} or null}
 * Target versions are "" when none was ever set; T is {version,
 * rollback}; B says the profile target carries the rollback flag.
 */
int store_desired_inputs(struct store *s, const char *node_id, json_t **out);

/*
 * Releases of the dataplane and the keeper, immutable once added.  The
 * files (binary and signature) live outside the database; a row is added
 * only after both are in place, so every row has its files.
 */
struct store_release {
	const char *component; /* "dataplane" or "keeper" */
	const char *version;
	const char *sha256; /* hex */
	int64_t size;
	int64_t seq;
};

/*
 * STORE_OK when the version exists, STORE_NOTFOUND when not.  Component
 * "profile" looks up profile versions.
 */
int store_release_exists(
    struct store *s, const char *component, const char *version);
/*
 * The seq the next release of component gets: one more than its mark
 * (the highest so far, or the floor when that is higher; 1 for the
 * first).  Callers serialise next_seq .. add per
 * component (the upload handler holds one lock over both); should two
 * calls race anyway, the later add fails with STORE_CONFLICT rather than
 * store a duplicate seq.
 */
int store_release_next_seq(
    struct store *s, const char *component, int64_t *seq);
/*
 * Add a release with its "release.add" event (object "component/version").
 * STORE_CONFLICT when the component already has this version or this seq.
 */
int store_release_add(
    struct store *s, const struct store_release *rel, const char *actor);
/*
 * Every release: component, version, seq, sha256, size, created_at/by,
 * approved_at/by (null when it was signed at upload), state "released";
 * then every upload waiting for approval, with state "pending" and seq,
 * approved_at and approved_by null.
 */
int store_release_list(struct store *s, json_t **out);

/*
 * Uploads under the two-person rule (schema/008).  An upload waits in
 * release_uploads, unsigned, until a second admin approves it; approving
 * moves it into releases in one transaction.
 *
 * pending_add: record the upload ("release.upload" event).
 * STORE_CONFLICT when the component has this version as a release or as
 * an upload already.
 */
int store_release_pending_add(
    struct store *s, const struct store_release *rel, const char *actor);
/*
 * The upload waiting as component/version: {component, version, sha256,
 * size, created_at, created_by}.  STORE_NOTFOUND when there is none.
 */
int store_release_pending_get(
    struct store *s, const char *component, const char *version, json_t **out);
/*
 * Approve it: the pending row goes, the release row (rel, with its seq;
 * created_by the uploader, approved_by actor) comes, with a
 * "release.approve" event, all in one transaction.  STORE_NOTFOUND when
 * the upload is not pending any more; STORE_CONFLICT as store_release_add.
 * Whether actor may approve is the caller's to decide first.
 */
int store_release_approve(
    struct store *s, const struct store_release *rel, const char *actor);
/*
 * Drop a pending upload ("release.discard" event).  STORE_NOTFOUND when
 * there is none.
 */
int store_release_pending_drop(struct store *s, const char *component,
    const char *version, const char *actor);

/*
 * Rollouts (the engine is cp/rollout.h).  store_rollout_create stores a
 * rollout and its plan (one row per node: its wave, or -1 skipped);
 * nothing moves until store_rollout_move writes planned nodes' targets.
 * STORE_CONFLICT: another rollout of this component is active.
 * STORE_INVALID: no such version of the component.
 * STORE_ROLLBACK: the release's sequence (a profile: its version) is
 * older than the baseline's and rollback is false.  With rollback true the nodes' targets (and the
 * baseline, on completion) carry the flag that lets nodes go back.
 * Aborting a rollout sets the flag on the baseline it falls back to.
 */
struct store_plan_row {
	const char *node_id, *pop;
	int wave;
};
struct store_rollout_new {
	const char *component, *version, *strategy;
	bool rollback;
	const char *params;     /* canonical JSON */
	const char *wave_names; /* JSON array of strings */
	int nwaves;
	const struct store_plan_row *plan;
	size_t nplan;
	/* NULL: "running"; "approval": nothing moves until a promote. */
	const char *state;
};
/* Every node with its POP and region: [{id, pop, region}]. */
int store_rollout_candidates(struct store *s, json_t **out);
int store_rollout_create(struct store *s, const struct store_rollout_new *ro,
    const char *actor, int64_t *id);
int store_rollout_get(struct store *s, int64_t id, json_t **out);
/* The plan: [{node_id, pop, wave, state, moved_at}] by wave and node. */
int store_rollout_plan(struct store *s, int64_t id, json_t **out);
/* Move planned nodes (ids, a JSON array) of a running rollout. */
int store_rollout_move(struct store *s, int64_t id, const json_t *ids,
    int64_t wave, const char *actor);
/* The bake clock of the current wave: since > 0 sets it, 0 clears it. */
int store_rollout_gate(struct store *s, int64_t id, int64_t since);
/*
 * Wave `wave` passed (evidence: JSON for the event): the next wave starts,
 * in state `to` ("running", or "approval" to wait for promote).
 * STORE_CONFLICT when the rollout is not running at that wave.
 */
int store_rollout_advance(struct store *s, int64_t id, int64_t wave,
    const char *to, const char *evidence, const char *actor);
int store_rollout_list(struct store *s, bool active_only, json_t **out);
/*
 * Finish a rollout: "completed" makes its version the baseline (nodes it
 * skipped stay on the previous one); "aborted" and "rolled_back" put
 * every node it moved back on the previous version.  All clear its
 * per-node targets.  STORE_CONFLICT when the rollout is not active.
 * set_state moves between active states (from NULL: any active one);
 * into "running" it restarts the wave's deadline and bake clocks.
 */
int store_rollout_finish(struct store *s, int64_t id, const char *state,
    const char *reason, const char *actor);
int store_rollout_set_state(struct store *s, int64_t id, const char *from,
    const char *to, const char *reason, const char *actor);

/*
 * Events: the audit log.  A filter's NULL fields match everything: node,
 * an event about that node (its object is the node id); pop, about that
 * POP or one of its nodes; kind, an action that is kind or starts with
 * kind and a dot ("rollout" matches "rollout.move").
 */
struct event_filter {
	const char *node;
	const char *pop;
	const char *kind;
};

int store_event_add(struct store *s, const char *actor, const char *action,
    const char *object, const char *detail);
/*
 * n events of one action in one transaction, in order: objects[i],
 * details[i], and the time each happened, ts[i] (ts NULL: now).
 */
int store_event_batch(struct store *s, const char *actor, const char *action,
    const char *const *objects, const char *const *details, const int64_t *ts,
    size_t n);
/* Events after id `after` that match f (NULL: all), oldest first. */
int store_event_list(struct store *s, const struct event_filter *f,
    int64_t after, int64_t limit, json_t **out);
/* The newest `limit` events that match f, oldest first. */
int store_event_tail(
    struct store *s, const struct event_filter *f, int64_t limit, json_t **out);
/*
 * The id of the newest event ever committed, also when retention has
 * removed it since; 0 when there was none.
 */
int64_t store_last_event(struct store *s);
/*
 * Retention.  Delete the oldest events, in id order, at most max of them,
 * up to the first one that happened at or after `before`: what is kept is
 * always every event after some id, never a log with holes, so "the
 * oldest kept id" says exactly what is gone.  An event stamped more than
 * STORE_EVENT_SKEW_S after now was stamped by a clock that was wrong; it
 * does not hold the ones after it back and goes with its neighbours.
 * One short write transaction whatever the table's size (it reads at most
 * max rows); *deleted gets the count.
 */
#define STORE_EVENT_SKEW_S 86400
int store_event_expire(struct store *s, int64_t before, int64_t now,
    int64_t max, int64_t *deleted);
/*
 * The id of the oldest event kept, or, when none is, the id the next one
 * will get: the events before it are gone (retention), and a reader whose
 * cursor is below it - 1 missed some.
 */
int store_event_oldest(struct store *s, int64_t *id);
/*
 * fn runs after every commit that added an event, on the committing
 * thread, outside the store's locks (the live feed's wake-up).
 */
void store_on_event(struct store *s, void (*fn)(void));

#endif
