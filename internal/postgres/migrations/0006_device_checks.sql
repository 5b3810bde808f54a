-- Last-check stamps move out of the device row into a narrow table of their own, as on
-- SQLite: each stamp the write-behind flush wrote was a new version of a wide device
-- row (about 1 KiB with the signature memo); here it is a few bytes, updated in place
-- where the page has room (fillfactor). The License API never answers a device's last
-- check, so its hot read does not join this table; the management reads do. No foreign
-- key: devices are never deleted, and the flush should take no lock on device rows.
CREATE TABLE device_checks (
    device_id  BIGINT PRIMARY KEY,
    last_check BIGINT NOT NULL
) WITH (fillfactor = 80);
INSERT INTO device_checks (device_id, last_check) SELECT id, last_check FROM devices WHERE last_check IS NOT NULL;
ALTER TABLE devices DROP COLUMN last_check;
