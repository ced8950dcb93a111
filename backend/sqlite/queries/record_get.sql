-- One record. Inputs: ?1 namespace, ?2 key. Outputs: value, version,
-- updated_at, or no row.
SELECT value, version, updated_at FROM records WHERE namespace = ?1 AND key = ?2
