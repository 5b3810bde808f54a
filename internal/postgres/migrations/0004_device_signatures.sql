-- The last signature of each kind of answer per device (its license_signature, its
-- check_license body, …), kept so that a device's unchanged heartbeat is not signed
-- again after a restart or once the in-memory cache has let it go. Written behind;
-- bounded by devices × kinds. No foreign key: devices are never deleted, and the
-- write-behind flush should take no lock on device rows.
CREATE TABLE device_signatures (
    device_id BIGINT NOT NULL,
    slot      INTEGER NOT NULL,
    digest    BYTEA   NOT NULL,
    signature TEXT    NOT NULL,
    PRIMARY KEY (device_id, slot)
);
