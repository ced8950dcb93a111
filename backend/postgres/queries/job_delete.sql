-- job_delete: removes a job that is not running.
-- Inputs: $1 id. Output: command tag (rows affected 0 or 1).
DELETE FROM {{schema}}.jobs WHERE id = $1 AND state <> 'running'
