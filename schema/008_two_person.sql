-- The two-person rule (threat T17, edge-cp serve --two-person).
--
-- With the rule on, an uploaded release is not a release yet: its file is
-- kept unsigned beside the releases (artifacts/<component>/.pending-<V>)
-- and its row is here, until an admin token other than the uploader's
-- (and not related to it, see store_apitoken_related) approves it.  Only
-- then is it signed, given its seq and moved into releases.  So an upload
-- that nobody approved has no signature, no seq and no releases row:
-- nothing serves it, no rollout can name it.
CREATE TABLE release_uploads (
	component	TEXT NOT NULL CHECK (component IN ('dataplane', 'keeper')),
	version		TEXT NOT NULL,
	sha256		TEXT NOT NULL,
	size		INTEGER NOT NULL,
	created_at	INTEGER NOT NULL,
	created_by	TEXT NOT NULL,
	PRIMARY KEY (component, version)
) STRICT;

-- Who approved a release; NULL: added without the rule (signed at upload).
ALTER TABLE releases ADD COLUMN approved_by TEXT;
ALTER TABLE releases ADD COLUMN approved_at INTEGER;
