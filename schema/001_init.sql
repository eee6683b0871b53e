-- edge-cp's fleet state.  Times are Unix seconds (UTC).  JSON columns hold
-- documents that were validated before they were written.

CREATE TABLE meta (
	key	TEXT PRIMARY KEY,
	value	TEXT NOT NULL
) STRICT;

CREATE TABLE pops (
	name		TEXT PRIMARY KEY,
	region		TEXT NOT NULL,
	bgp		TEXT NOT NULL DEFAULT '{}',
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
) STRICT;

-- Operator API tokens, stored only as keyed hashes (BLAKE2b, key in
-- DATA_DIR/hash.key), so a copy of the database holds no usable token.
CREATE TABLE api_tokens (
	name		TEXT PRIMARY KEY,
	role		TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
	hash		BLOB NOT NULL UNIQUE,
	created_at	INTEGER NOT NULL,
	created_by	TEXT NOT NULL
) STRICT;

CREATE TABLE enrollment_tokens (
	id		INTEGER PRIMARY KEY,
	hash		BLOB NOT NULL UNIQUE,
	pop		TEXT NOT NULL REFERENCES pops(name),
	uses		INTEGER NOT NULL,
	uses_left	INTEGER NOT NULL CHECK (uses_left >= 0),
	expires_at	INTEGER NOT NULL,
	created_at	INTEGER NOT NULL,
	created_by	TEXT NOT NULL
) STRICT;

CREATE TABLE nodes (
	id		TEXT PRIMARY KEY,
	pop		TEXT NOT NULL REFERENCES pops(name),
	hostname	TEXT NOT NULL,
	public_key	BLOB NOT NULL,
	facts		TEXT NOT NULL DEFAULT '{}',
	state		TEXT NOT NULL DEFAULT 'enrolled'
			CHECK (state IN ('enrolled', 'active')),
	drain		INTEGER NOT NULL DEFAULT 0,
	enrolled_at	INTEGER NOT NULL,
	last_seen	INTEGER NOT NULL DEFAULT 0,
	status		TEXT,
	status_hash	BLOB,
	status_at	INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX nodes_pop ON nodes(pop);
-- One node per key: a replayed enrollment cannot make a second node.
CREATE UNIQUE INDEX nodes_public_key ON nodes(public_key);

-- Each PUT /v1/profile is a new immutable version.
CREATE TABLE profiles (
	version		INTEGER PRIMARY KEY,
	doc		TEXT NOT NULL,
	created_at	INTEGER NOT NULL,
	created_by	TEXT NOT NULL
) STRICT;

-- Releases of the dataplane and the keeper (uploaded with their signature).
CREATE TABLE releases (
	component	TEXT NOT NULL CHECK (component IN ('dataplane', 'keeper')),
	version		TEXT NOT NULL,
	sha256		TEXT NOT NULL,
	size		INTEGER NOT NULL,
	created_at	INTEGER NOT NULL,
	created_by	TEXT NOT NULL,
	PRIMARY KEY (component, version)
) STRICT;

-- The version every node runs unless a rollout targets it otherwise.
CREATE TABLE baseline (
	component	TEXT PRIMARY KEY,
	version		TEXT NOT NULL
) STRICT;

-- Per-node targets that differ from the baseline, owned by a rollout.
CREATE TABLE node_targets (
	node_id		TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
	component	TEXT NOT NULL,
	version		TEXT NOT NULL,
	rollout_id	INTEGER NOT NULL REFERENCES rollouts(id),
	PRIMARY KEY (node_id, component)
) STRICT;
CREATE INDEX node_targets_rollout ON node_targets(rollout_id);

CREATE TABLE rollouts (
	id		INTEGER PRIMARY KEY,
	component	TEXT NOT NULL
			CHECK (component IN ('dataplane', 'keeper', 'profile')),
	version		TEXT NOT NULL,
	previous	TEXT NOT NULL,
	strategy	TEXT NOT NULL,
	state		TEXT NOT NULL,
	params		TEXT NOT NULL DEFAULT '{}',
	reason		TEXT NOT NULL DEFAULT '',
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL,
	created_by	TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX rollouts_one_active ON rollouts(component)
	WHERE state IN ('running', 'paused', 'halted');

-- The audit and event log.  AUTOINCREMENT keeps ids strictly increasing
-- even after the newest rows are deleted, so ?after=ID never misses one.
CREATE TABLE events (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	ts		INTEGER NOT NULL,
	actor		TEXT NOT NULL,
	action		TEXT NOT NULL,
	object		TEXT NOT NULL,
	detail		TEXT NOT NULL DEFAULT '{}'
);
