-- Every record of a namespace. Inputs: ?1 namespace. Outputs: key, value,
-- version, updated_at, ordered by key.
SELECT key, value, version, updated_at FROM records WHERE namespace = ?1 ORDER BY key
