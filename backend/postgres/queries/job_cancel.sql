-- job_cancel: cancels a job that is not final: at once when it is not
-- running; a running job gets cancel_requested (its next lease extension
-- reports it).
-- Inputs: $1 id, $2 now. Output: the job after the change (the job columns),
--   or no row when the job is missing or final.
UPDATE {{schema}}.jobs j
SET state = CASE WHEN j.state = 'running' THEN 'running' ELSE 'cancelled' END,
    cancel_requested = (j.state = 'running'),
    finished_at = CASE WHEN j.state = 'running' THEN j.finished_at ELSE $2::timestamptz END
WHERE j.id = $1 AND j.state IN ('scheduled', 'queued', 'running', 'retrying')
RETURNING {{job_columns}}
