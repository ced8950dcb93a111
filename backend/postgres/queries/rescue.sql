-- rescue: hands back running jobs whose lease expired before $1: cancelled
-- when a cancel was requested while they ran, else queued at $1 when attempts
-- are left, failed otherwise, with an attempt error. Rows are
-- locked with SKIP LOCKED and re-checked after locking, so a completion that
-- commits first wins (the job stays completed) and one that comes after is
-- fenced (its token is cleared here).
-- Inputs: $1 now, $2 limit (NULL = no limit), $3 error message, $4 NOTIFY channel ('' = none).
-- Output: (id, kind, queue, state) of each rescued job.
WITH expired AS (
  SELECT id
  FROM {{schema}}.jobs
  WHERE state = 'running' AND lease_expires_at < $1
  ORDER BY lease_expires_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
),
upd AS (
  UPDATE {{schema}}.jobs j
  SET state = CASE WHEN j.cancel_requested THEN 'cancelled'
                   WHEN j.attempt >= j.max_attempts THEN 'failed' ELSE 'queued' END,
      run_at = CASE WHEN j.cancel_requested OR j.attempt >= j.max_attempts THEN j.run_at ELSE $1::timestamptz END,
      finished_at = CASE WHEN j.cancel_requested OR j.attempt >= j.max_attempts THEN $1::timestamptz ELSE NULL END,
      cancel_requested = false,
      errors = COALESCE(j.errors, '[]'::jsonb)
               || jsonb_build_array(jsonb_build_object('attempt', j.attempt, 'at', $1::timestamptz, 'message', $3::text)),
      lease_owner = NULL,
      lease_token = NULL,
      lease_expires_at = NULL
  FROM expired e
  -- No state re-test: the rows are locked and re-checked by the FOR UPDATE
  -- above, and one here could make the planner scan all running jobs per row.
  WHERE j.id = e.id
  RETURNING j.id, j.kind, j.queue, j.state
),
notified AS (
  SELECT pg_notify($4, q.queue)
  FROM (SELECT DISTINCT queue FROM upd WHERE state = 'queued') q
  WHERE $4 <> ''
)
SELECT id, kind, queue, state, (SELECT count(*) FROM notified) FROM upd
