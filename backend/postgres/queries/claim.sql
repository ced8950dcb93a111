-- claim: takes up to $2 claimable jobs of queue $1 in one statement. The inner
-- SELECT walks the jobs_claim partial index in claim order and locks with
-- SKIP LOCKED, so concurrent claimers never wait on or share a row; the row
-- is re-checked after locking (READ COMMITTED), so a job another claimer
-- just took is dropped. A paused queue yields nothing.
-- The claim commits asynchronously (synchronous_commit off for this
-- statement's transaction only): its commit does not wait for a WAL flush,
-- which was a second fsync between enqueue and handler start. Visibility is
-- immediate; only a server crash within ~3 x wal_writer_delay can undo a
-- claim, and the job is then queued again and runs again, which
-- at-least-once execution allows (the same as a lost lease). Enqueue and
-- finish stay synchronous.
-- Inputs: $1 queue, $2 limit, $3 owner, $4 now, $5 lease expiry.
-- Output: the claimed jobs (the job columns), in no particular order.
UPDATE {{schema}}.jobs j
SET state = 'running',
    attempt = j.attempt + 1,
    started_at = $4,
    lease_owner = $3,
    lease_token = gen_random_uuid()::text,
    lease_expires_at = $5
FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit,
(
  SELECT id
  FROM {{schema}}.jobs
  WHERE queue = $1
    AND state IN ('queued', 'scheduled', 'retrying')
    AND (state = 'queued' OR run_at <= $4)
    AND NOT EXISTS (SELECT 1 FROM {{schema}}.queues WHERE name = $1 AND paused)
  ORDER BY priority DESC, run_at, id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
) c
WHERE j.id = c.id
RETURNING {{job_columns}}
