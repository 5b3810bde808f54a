-- Times are epoch milliseconds (UTC); booleans are 0/1.
CREATE TABLE companies (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL,
    signing_key_pem TEXT    NOT NULL,
    public_key_pem  TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    api_key    TEXT    NOT NULL UNIQUE,
    shared_key TEXT    NOT NULL,
    read_only  INTEGER NOT NULL DEFAULT 0,
    revoked    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE management_keys (
    id          INTEGER PRIMARY KEY,
    company_id  INTEGER NOT NULL REFERENCES companies(id),
    prefix      TEXT    NOT NULL UNIQUE,
    secret_hash BLOB    NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

CREATE TABLE products (
    id                   INTEGER PRIMARY KEY,
    company_id           INTEGER NOT NULL REFERENCES companies(id),
    name                 TEXT    NOT NULL,
    short_code           TEXT    NOT NULL,
    authorization_method TEXT    NOT NULL CHECK (authorization_method IN ('license-key', 'user')),
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    UNIQUE (company_id, short_code)
);

CREATE TABLE orders (
    id             INTEGER PRIMARY KEY,
    company_id     INTEGER NOT NULL REFERENCES companies(id),
    store_id       TEXT    NOT NULL,
    customer_email TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    UNIQUE (company_id, store_id)
);

CREATE TABLE licenses (
    id                          INTEGER PRIMARY KEY,
    company_id                  INTEGER NOT NULL REFERENCES companies(id),
    product_id                  INTEGER NOT NULL REFERENCES products(id),
    order_id                    INTEGER NOT NULL REFERENCES orders(id),
    license_key                 TEXT,
    license_type                TEXT    NOT NULL,
    enabled                     INTEGER NOT NULL,
    active                      INTEGER NOT NULL,
    is_trial                    INTEGER NOT NULL,
    max_activations             INTEGER NOT NULL CHECK (max_activations >= 0),
    allow_unlimited_activations INTEGER NOT NULL,
    times_activated             INTEGER NOT NULL CHECK (times_activated >= 0),
    transfer_count              INTEGER NOT NULL,
    validity_period             INTEGER,
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL
);
CREATE UNIQUE INDEX licenses_company_key ON licenses (company_id, license_key) WHERE license_key IS NOT NULL;
CREATE INDEX licenses_product ON licenses (product_id);

CREATE TABLE license_users (
    id            INTEGER PRIMARY KEY,
    company_id    INTEGER NOT NULL REFERENCES companies(id),
    license_id    INTEGER NOT NULL REFERENCES licenses(id),
    email         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (license_id, email)
);
CREATE INDEX license_users_email ON license_users (company_id, email);

CREATE TABLE devices (
    id               INTEGER PRIMARY KEY,
    company_id       INTEGER NOT NULL REFERENCES companies(id),
    license_id       INTEGER NOT NULL REFERENCES licenses(id),
    license_user_id  INTEGER REFERENCES license_users(id),
    hardware_id      TEXT    NOT NULL,
    active           INTEGER NOT NULL,
    blacklisted      INTEGER NOT NULL,
    os_ver           TEXT    NOT NULL DEFAULT '',
    hostname         TEXT    NOT NULL DEFAULT '',
    ip               TEXT    NOT NULL DEFAULT '',
    external_ip      TEXT    NOT NULL DEFAULT '',
    mac_address      TEXT    NOT NULL DEFAULT '',
    app_ver          TEXT    NOT NULL DEFAULT '',
    sdk_ver          TEXT    NOT NULL DEFAULT '',
    is_vm            INTEGER NOT NULL DEFAULT 0,
    vm_info          TEXT    NOT NULL DEFAULT '',
    time_activated   INTEGER,
    time_deactivated INTEGER,
    last_check       INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (license_id, hardware_id)
);
CREATE INDEX devices_company ON devices (company_id, id);

CREATE TABLE device_variables (
    id         INTEGER PRIMARY KEY,
    device_id  INTEGER NOT NULL REFERENCES devices(id),
    name       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (device_id, name)
);
