-- The signature memo moves into the device's own row, one digest and signature column
-- pair per kind of answer (licensing.Slot…), as on SQLite: the device read that fetches
-- it needs no join, and the write-behind flush updates device rows in id order, as the
-- last-check flush does. Large fleets: this rewrites every device row once.
ALTER TABLE devices
    ADD COLUMN memo_license_digest BYTEA,
    ADD COLUMN memo_license_sig TEXT,
    ADD COLUMN memo_check_digest BYTEA,
    ADD COLUMN memo_check_sig TEXT,
    ADD COLUMN memo_track_digest BYTEA,
    ADD COLUMN memo_track_sig TEXT,
    ADD COLUMN memo_variables_digest BYTEA,
    ADD COLUMN memo_variables_sig TEXT;
UPDATE devices d SET memo_license_digest = s.digest, memo_license_sig = s.signature
    FROM device_signatures s WHERE s.device_id = d.id AND s.slot = 1;
UPDATE devices d SET memo_check_digest = s.digest, memo_check_sig = s.signature
    FROM device_signatures s WHERE s.device_id = d.id AND s.slot = 2;
UPDATE devices d SET memo_track_digest = s.digest, memo_track_sig = s.signature
    FROM device_signatures s WHERE s.device_id = d.id AND s.slot = 3;
UPDATE devices d SET memo_variables_digest = s.digest, memo_variables_sig = s.signature
    FROM device_signatures s WHERE s.device_id = d.id AND s.slot = 4;
DROP TABLE device_signatures;
