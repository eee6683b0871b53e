-- A node's BGP router id is its own unique IPv4 address, never an
-- anycast one.  The keeper reports the one it found in its enrollment
-- facts ("router_id"); an operator can set another here (PATCH
-- /v1/nodes/{id}), which wins.  NULL: take the facts' one.
ALTER TABLE nodes ADD COLUMN router_id TEXT;
