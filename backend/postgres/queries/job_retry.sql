-- job_retry: makes a final job queued again (max_attempts raised to
-- attempt+1 when exhausted), or a scheduled/retrying job due now.
-- Inputs: $1 id, $2 now. Output: the job after the change (the job columns),
--   or no row when the job is missing, queued or running.
UPDATE {{schema}}.jobs j
SET state = 'queued',
    run_at = $2,
    max_attempts = GREATEST(j.max_attempts, CASE WHEN j.state IN ('completed', 'failed', 'cancelled') THEN j.attempt + 1 ELSE j.max_attempts END),
    finished_at = NULL,
    cancel_requested = false
WHERE j.id = $1 AND j.state IN ('completed', 'failed', 'cancelled', 'scheduled', 'retrying')
RETURNING {{job_columns}}
