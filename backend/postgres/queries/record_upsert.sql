-- record_upsert: writes a record unconditionally, bumping its version.
-- Inputs: $1 namespace, $2 key, $3 value (JSON text), $4 now.
-- Output: (version, updated_at).
INSERT INTO {{schema}}.records (namespace, key, value, version, updated_at)
VALUES ($1, $2, $3::json, 1, $4)
ON CONFLICT (namespace, key) DO UPDATE
SET value = EXCLUDED.value, version = {{schema}}.records.version + 1, updated_at = EXCLUDED.updated_at
RETURNING version, updated_at
