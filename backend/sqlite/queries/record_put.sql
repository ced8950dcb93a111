-- Writes a record with compare-and-set, deciding in one statement.
-- Inputs: ?1 namespace, ?2 key, ?3 value (JSON), ?4 updated_at (unix ns),
-- ?5 expected version (0 = must not exist, -1 = any, n = must equal).
-- Outputs: the new version, or no row on a conflict.
INSERT INTO records (namespace, key, value, version, updated_at)
SELECT ?1, ?2, ?3, 1, ?4 WHERE ?5 IN (0, -1)
ON CONFLICT (namespace, key) DO UPDATE
SET value = excluded.value, version = version + 1, updated_at = excluded.updated_at
WHERE ?5 = -1 OR ?5 = version
RETURNING version
