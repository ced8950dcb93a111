-- Job counts per queue and state (a scan of the covering index
-- jobs_queue_state), and the oldest queued run_at per queue.
-- Inputs: none. Outputs: queue, state, count, min(run_at) of that group.
SELECT queue, state, count(*), min(run_at) FROM jobs INDEXED BY jobs_queue_state
GROUP BY queue, state
