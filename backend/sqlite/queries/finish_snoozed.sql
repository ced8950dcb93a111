-- Outcome snoozed (also the shutdown hand-back): not an attempt, so the
-- counter goes back by one; the job waits until ?3 (queued if already due).
-- Fenced by the lease token; a cancel requested during this run stays
-- requested, for the next. Inputs: ?1 id, ?2 lease token, ?3 run_at (unix
-- ns), ?4 now (unix ns). Outputs: the job's queue, or no row when the lease is lost.
UPDATE jobs
SET state = CASE WHEN ?3 <= ?4 THEN 'queued' ELSE 'scheduled' END,
    run_at = ?3,
    attempt = max(attempt - 1, 0),
    lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
WHERE id = ?1 AND state = 'running' AND lease_token = ?2
RETURNING queue
