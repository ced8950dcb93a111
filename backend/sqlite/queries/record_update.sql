-- Overwrites an existing record at the expected version.
-- Inputs: ?1 namespace, ?2 key, ?3 value (JSON), ?4 updated_at (unix ns),
-- ?5 expected version (>= 1). Outputs: the new version, or no row on a conflict.
UPDATE records SET value = ?3, version = version + 1, updated_at = ?4
WHERE namespace = ?1 AND key = ?2 AND version = ?5
RETURNING version
