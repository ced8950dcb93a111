-- record_insert: creates a record that must not exist yet (version 1).
-- Inputs: $1 namespace, $2 key, $3 value (JSON text), $4 now.
-- Output: (version, updated_at), or no row when the record exists.
INSERT INTO {{schema}}.records (namespace, key, value, version, updated_at)
VALUES ($1, $2, $3::json, 1, $4)
ON CONFLICT (namespace, key) DO NOTHING
RETURNING version, updated_at
