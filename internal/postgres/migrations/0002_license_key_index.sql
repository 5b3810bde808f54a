-- A plain unique index instead of a partial one (NULL keys of user-based licenses never
-- collide in a unique index either way). With the partial index SQLite re-prepared the
-- license-by-key lookup on every call: a bound value compared to a column of a partial
-- index's WHERE expires the statement whenever it is bound.
DROP INDEX licenses_company_key;
CREATE UNIQUE INDEX licenses_company_key ON licenses (company_id, license_key);
