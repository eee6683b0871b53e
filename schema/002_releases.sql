-- Release uploads.  Every release gets a sequence number, strictly
-- increasing per component in the order releases are added, which is
-- signed into its trusted comment ("... seq=N"): a node can tell a newer
-- signature from an older one without trusting anything unsigned.
--
-- Rows that predate this migration (there was no upload API before it)
-- are numbered in the order they were created.
ALTER TABLE releases ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;

UPDATE releases SET seq = (
	SELECT count(*) FROM releases AS r
	WHERE r.component = releases.component
	AND (r.created_at < releases.created_at
	     OR (r.created_at = releases.created_at
	         AND r.version <= releases.version)));

CREATE UNIQUE INDEX releases_seq ON releases(component, seq);
