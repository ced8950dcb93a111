-- record_list: every record of a namespace, ordered by key.
-- Inputs: $1 namespace. Output: rows (namespace, key, value, version, updated_at).
SELECT namespace, key, value, version, updated_at FROM {{schema}}.records WHERE namespace = $1 ORDER BY key
