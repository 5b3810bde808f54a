-- The signature memo moves into the device's own row, one digest and signature column
-- pair per kind of answer (licensing.Slot…). In its own table it was a third B-tree
-- descent for every check of a fleet larger than the signature cache (the device read
-- fetches the memo with it): at 1,000,000 devices, on pages no cache holds, it cost a
-- third of the check's statement. In the device row it comes with the page the read
-- fetches anyway. Large fleets: this rewrites every device row once (about a minute
-- for 1,000,000 devices).
ALTER TABLE devices ADD COLUMN memo_license_digest BLOB;
ALTER TABLE devices ADD COLUMN memo_license_sig TEXT;
ALTER TABLE devices ADD COLUMN memo_check_digest BLOB;
ALTER TABLE devices ADD COLUMN memo_check_sig TEXT;
ALTER TABLE devices ADD COLUMN memo_track_digest BLOB;
ALTER TABLE devices ADD COLUMN memo_track_sig TEXT;
ALTER TABLE devices ADD COLUMN memo_variables_digest BLOB;
ALTER TABLE devices ADD COLUMN memo_variables_sig TEXT;
UPDATE devices SET memo_license_digest = s.digest, memo_license_sig = s.signature
    FROM device_signatures s WHERE s.device_id = devices.id AND s.slot = 1;
UPDATE devices SET memo_check_digest = s.digest, memo_check_sig = s.signature
    FROM device_signatures s WHERE s.device_id = devices.id AND s.slot = 2;
UPDATE devices SET memo_track_digest = s.digest, memo_track_sig = s.signature
    FROM device_signatures s WHERE s.device_id = devices.id AND s.slot = 3;
UPDATE devices SET memo_variables_digest = s.digest, memo_variables_sig = s.signature
    FROM device_signatures s WHERE s.device_id = devices.id AND s.slot = 4;
DROP TABLE device_signatures;
