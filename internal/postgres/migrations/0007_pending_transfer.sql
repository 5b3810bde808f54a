-- A device whose deactivation left a transfer pending: the next activation taking a seat
-- on another device of its license clears it and counts a transfer (transfer_count), one
-- of its own clears it and counts none. A constant default is kept in the catalog
-- (PostgreSQL 11+): no row is rewritten.
ALTER TABLE devices ADD COLUMN transfer_pending BOOLEAN NOT NULL DEFAULT FALSE;
