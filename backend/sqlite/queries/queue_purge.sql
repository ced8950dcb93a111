-- Deletes every job of a queue that is not running. Inputs: ?1 name.
-- Outputs: rows affected.
DELETE FROM jobs WHERE queue = ?1 AND state <> 'running'
