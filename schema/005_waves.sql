-- Wave rollouts.  A rollout's plan is computed once, at creation, and
-- kept here: every node of the fleet then, with its wave, or skipped
-- (wave -1) when it was not healthy.  The engine moves a planned node by
-- writing its node_targets row and marking it moved; nothing else about
-- a rollout's progress is kept outside these rows and the rollout's own
-- (wave, wave_started_at, gate_since), so a restart resumes it exactly.
CREATE TABLE rollout_nodes (
	rollout_id	INTEGER NOT NULL REFERENCES rollouts(id),
	node_id		TEXT NOT NULL,
	pop		TEXT NOT NULL,
	wave		INTEGER NOT NULL,
	state		TEXT NOT NULL
			CHECK (state IN ('planned', 'moved', 'skipped')),
	moved_at	INTEGER,
	PRIMARY KEY (rollout_id, node_id)
) STRICT;
CREATE INDEX rollout_nodes_wave ON rollout_nodes(rollout_id, wave);

ALTER TABLE rollouts ADD COLUMN wave INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN waves INTEGER NOT NULL DEFAULT 1;
ALTER TABLE rollouts ADD COLUMN wave_names TEXT NOT NULL DEFAULT '["all"]';
ALTER TABLE rollouts ADD COLUMN wave_started_at INTEGER NOT NULL DEFAULT 0;
-- When the current wave's gate first held (the bake clock); NULL: not.
ALTER TABLE rollouts ADD COLUMN gate_since INTEGER;

-- A rollout waiting for an operator's promote between waves is active.
DROP INDEX rollouts_one_active;
CREATE UNIQUE INDEX rollouts_one_active ON rollouts(component)
	WHERE state IN ('running', 'paused', 'halted', 'approval');

-- Rollouts active before this migration were all_at_once: their moved
-- nodes are the ones with targets.
INSERT INTO rollout_nodes(rollout_id, node_id, pop, wave, state, moved_at)
	SELECT t.rollout_id, t.node_id, n.pop, 0, 'moved', r.created_at
	FROM node_targets t JOIN nodes n ON n.id = t.node_id
	JOIN rollouts r ON r.id = t.rollout_id
	WHERE r.state IN ('running', 'paused', 'halted');
UPDATE rollouts SET wave_started_at = created_at;
