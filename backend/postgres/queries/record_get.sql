-- record_get: one record.
-- Inputs: $1 namespace, $2 key. Output: zero or one row (namespace, key, value, version, updated_at).
SELECT namespace, key, value, version, updated_at FROM {{schema}}.records WHERE namespace = $1 AND key = $2
