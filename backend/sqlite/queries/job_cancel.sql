-- Cancels a job: scheduled, queued and retrying jobs become cancelled at
-- once; a running job gets cancel_requested, reported by its next lease
-- extension. Inputs: ?1 id, ?2 now (unix ns). Outputs: the job after the
-- change (the job columns), or no row when it is missing or final.
UPDATE jobs
SET state = CASE WHEN state = 'running' THEN state ELSE 'cancelled' END,
    finished_at = CASE WHEN state = 'running' THEN finished_at ELSE ?2 END,
    cancel_requested = CASE WHEN state = 'running' THEN 1 ELSE 0 END
WHERE id = ?1 AND state IN ('scheduled', 'queued', 'retrying', 'running')
RETURNING /*JOB_COLUMNS*/
