-- Deletes a record with compare-and-set. Inputs: ?1 namespace, ?2 key,
-- ?3 expected version (-1 = any). Outputs: rows affected (0 = missing or
-- conflict; the caller tells which).
DELETE FROM records WHERE namespace = ?1 AND key = ?2 AND (?3 = -1 OR version = ?3)
