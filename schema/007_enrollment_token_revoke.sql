-- Enrollment tokens can be listed and revoked (threat T6).
--
--   revoked_at	NULL: in force (until it expires or is used up).  From
--		that second on, enrollment refuses the token exactly as it
--		refuses an unknown one.
--   revoked_by	the admin who revoked it.
--
-- A revoked token keeps its row: the list can say who revoked it and
-- when, and since no row is ever deleted, no later token gets its id.
ALTER TABLE enrollment_tokens ADD COLUMN revoked_at INTEGER;
ALTER TABLE enrollment_tokens ADD COLUMN revoked_by TEXT;
