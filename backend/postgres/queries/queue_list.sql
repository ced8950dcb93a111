-- queue_list: every queue (with jobs, or with a queues row) with its job
-- count per state and the run_at of its oldest queued job.
-- Inputs: none. Output: rows (name, paused, state or NULL, count, oldest queued run_at or NULL).
WITH counts AS (
  SELECT queue, state, count(*) AS n,
         min(run_at) FILTER (WHERE state = 'queued') AS oldest
  FROM {{schema}}.jobs
  GROUP BY queue, state
)
SELECT COALESCE(c.queue, q.name), COALESCE(q.paused, false), c.state, COALESCE(c.n, 0), c.oldest
FROM counts c
FULL OUTER JOIN {{schema}}.queues q ON q.name = c.queue
ORDER BY 1
