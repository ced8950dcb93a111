-- Deletes a job that is not running. Inputs: ?1 id. Outputs: rows affected
-- (0 = missing or running; the caller tells which).
DELETE FROM jobs WHERE id = ?1 AND state <> 'running'
