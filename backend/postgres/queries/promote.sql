-- promote: moves scheduled and retrying jobs due at $1 to queued (claim takes
-- due jobs anyway; this keeps states honest and wakes idle workers).
-- Inputs: $1 now, $2 limit (NULL = no limit), $3 NOTIFY channel ('' = none).
-- Output: one row: (number promoted, number of notifications).
WITH due AS (
  SELECT id
  FROM {{schema}}.jobs
  WHERE state IN ('scheduled', 'retrying') AND run_at <= $1
  ORDER BY run_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
),
upd AS (
  UPDATE {{schema}}.jobs j
  SET state = 'queued'
  FROM due
  -- No state re-test: the rows are locked and re-checked by the FOR UPDATE
  -- above, and one here could make the planner scan all due jobs per row.
  WHERE j.id = due.id
  RETURNING j.queue
),
notified AS (
  SELECT pg_notify($3, q.queue)
  FROM (SELECT DISTINCT queue FROM upd) q
  WHERE $3 <> ''
)
SELECT count(*), (SELECT count(*) FROM notified) FROM upd
