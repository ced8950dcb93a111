-- record_delete: deletes a record, at version $3 unless $3 is -1 (any).
-- Inputs: $1 namespace, $2 key, $3 expected version or -1.
-- Output: command tag (rows deleted).
DELETE FROM {{schema}}.records WHERE namespace = $1 AND key = $2 AND ($3 = -1 OR version = $3)
