-- Outcome snoozed (also the shutdown hand-back): not an attempt, so the
-- counter goes back by one; the job waits until ?3 (queued if already due).
-- A job whose cancel was requested during this run ends cancelled at ?4
-- instead: never run again (DESIGN §2). Fenced by the lease token. Inputs:
-- ?1 id, ?2 lease token, ?3 run_at (unix ns), ?4 now (unix ns). Outputs:
-- the job's queue and whether it ended cancelled, or no row when the lease
-- is lost.
UPDATE jobs
SET state = CASE WHEN cancel_requested THEN 'cancelled' WHEN ?3 <= ?4 THEN 'queued' ELSE 'scheduled' END,
    run_at = CASE WHEN cancel_requested THEN run_at ELSE ?3 END,
    finished_at = CASE WHEN cancel_requested THEN ?4 ELSE finished_at END,
    attempt = CASE WHEN cancel_requested THEN attempt ELSE max(attempt - 1, 0) END,
    lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, cancel_requested = 0
WHERE id = ?1 AND state = 'running' AND lease_token = ?2
RETURNING queue, state = 'cancelled'
