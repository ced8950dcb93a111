-- record_update: compare-and-set: writes a record only at version $5.
-- Inputs: $1 namespace, $2 key, $3 value (JSON text), $4 now, $5 expected version.
-- Output: (version, updated_at), or no row on a version mismatch or a missing record.
UPDATE {{schema}}.records
SET value = $3::json, version = version + 1, updated_at = $4
WHERE namespace = $1 AND key = $2 AND version = $5
RETURNING version, updated_at
