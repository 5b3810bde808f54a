-- Last-check stamps move out of the device row into a narrow table of their own. The
-- write-behind flush writes one stamp per device checked in its second; in the device
-- row (about 1 KiB with the signature memo, four rows a page) each stamp dirtied a page
-- of its own, every page written to the WAL and again at the checkpoint. Here a page
-- holds a few hundred stamps. The License API never answers a device's last check, so
-- its hot read does not join this table; the management reads do. No foreign key, as
-- device_signatures had none: devices are never deleted, and the flush should not read
-- device rows. Large fleets: dropping the column rewrites every device row once.
CREATE TABLE device_checks (
    device_id  INTEGER PRIMARY KEY,
    last_check INTEGER NOT NULL
);
INSERT INTO device_checks (device_id, last_check) SELECT id, last_check FROM devices WHERE last_check IS NOT NULL;
ALTER TABLE devices DROP COLUMN last_check;
