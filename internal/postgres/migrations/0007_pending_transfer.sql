-- A license remembers the device whose deactivation was its last, so that the next
-- activation taking a seat on another device counts a transfer (transfer_count). 0 is
-- none. A constant default is kept in the catalog (PostgreSQL 11+): no row is rewritten.
ALTER TABLE licenses ADD COLUMN pending_transfer_from BIGINT NOT NULL DEFAULT 0;
