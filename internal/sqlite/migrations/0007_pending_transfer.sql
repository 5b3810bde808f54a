-- A device whose deactivation left a transfer pending (1): the next activation taking a
-- seat on another device of its license clears it and counts a transfer (transfer_count),
-- one of its own clears it and counts none. A constant default: SQLite adds the column to
-- the schema only, no row is rewritten.
ALTER TABLE devices ADD COLUMN transfer_pending INTEGER NOT NULL DEFAULT 0;
