-- job_prune: deletes up to $3 jobs in final state $1 that finished before $2,
-- oldest first, through the jobs_finished partial index; rows locked by
-- someone else are skipped, so concurrent pruners never wait on each other.
-- Inputs: $1 state, $2 finished before, $3 limit (NULL = no limit).
-- Output: command tag (rows deleted).
DELETE FROM {{schema}}.jobs
WHERE id IN (
  SELECT id FROM {{schema}}.jobs
  WHERE state = $1 AND finished_at < $2
  ORDER BY finished_at
  LIMIT $3
  FOR UPDATE SKIP LOCKED
)
