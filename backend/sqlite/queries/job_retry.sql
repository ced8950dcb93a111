-- Makes a failed, cancelled or completed job queued again, or a scheduled or
-- retrying job due now. An exhausted job gets one more attempt; a former
-- result is dropped (the job has not succeeded again yet).
-- Inputs: ?1 id, ?2 now (unix ns). Outputs: the job after the change
-- (the job columns), or no row when it is missing, queued or running.
UPDATE jobs
SET state = 'queued',
    run_at = ?2,
    max_attempts = CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END,
    finished_at = NULL,
    result = NULL,
    cancel_requested = 0
WHERE id = ?1 AND state IN ('failed', 'cancelled', 'completed', 'scheduled', 'retrying')
RETURNING /*JOB_COLUMNS*/
