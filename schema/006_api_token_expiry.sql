-- API tokens can expire and be revoked (threat T17), and say when they
-- were last used.
--
--   expires_at	NULL: never.  A token is refused from that second on.
--   last_used	when a request last authenticated with it, at a minute's
--		resolution (0: never), so using a token costs at most one
--		write a minute.
--   revoked_at	NULL: in force.  A revoked token keeps its row, so its
--		hash can never be let in again (not even by edge-cp's
--		start-up, which adds DATA_DIR/admin.token's token when it
--		has no row), and its name is free for a new token.
--
-- The table is made again (SQLite cannot drop a column's UNIQUE):
-- names are unique among tokens in force only.
CREATE TABLE api_tokens_new (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL,
	role		TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
	hash		BLOB NOT NULL UNIQUE,
	created_at	INTEGER NOT NULL,
	created_by	TEXT NOT NULL,
	expires_at	INTEGER,
	last_used	INTEGER NOT NULL DEFAULT 0,
	revoked_at	INTEGER,
	revoked_by	TEXT
) STRICT;

INSERT INTO api_tokens_new(name, role, hash, created_at, created_by)
	SELECT name, role, hash, created_at, created_by FROM api_tokens
	ORDER BY created_at, name;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE UNIQUE INDEX api_tokens_name ON api_tokens(name)
	WHERE revoked_at IS NULL;
