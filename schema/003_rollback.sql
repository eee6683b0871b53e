-- Going back to an older release is something an operator says, never
-- something that happens by accident: a node refuses a release whose
-- signed sequence is older than the newest it has admitted unless its
-- desired state carries "rollback": true for that target.  The flag
-- comes from a rollout created with "rollback": true (for the targets it
-- moves, and for the baseline once it completes) and from aborting a
-- rollout (the baseline it falls back to).
ALTER TABLE baseline ADD COLUMN rollback INTEGER NOT NULL DEFAULT 0;
ALTER TABLE node_targets ADD COLUMN rollback INTEGER NOT NULL DEFAULT 0;
