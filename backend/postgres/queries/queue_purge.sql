-- queue_purge: deletes every job of a queue that is not running.
-- Inputs: $1 queue. Output: command tag (rows deleted).
DELETE FROM {{schema}}.jobs WHERE queue = $1 AND state <> 'running'
