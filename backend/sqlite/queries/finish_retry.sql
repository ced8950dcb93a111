-- Outcome retry: retrying, due at ?3, error appended; fenced by the lease
-- token. A job whose cancel was requested during this run ends cancelled
-- at ?5 instead: never retrying (DESIGN §2). Inputs: ?1 id, ?2 lease token,
-- ?3 run_at (unix ns), ?4 error (JSON object or NULL), ?5 now (unix ns).
-- Outputs: whether it ended cancelled, or no row when the lease is lost.
UPDATE jobs
SET state = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'retrying' END,
    run_at = CASE WHEN cancel_requested THEN run_at ELSE ?3 END,
    finished_at = CASE WHEN cancel_requested THEN ?5 ELSE finished_at END,
    errors = CASE WHEN ?4 IS NULL THEN errors ELSE json_insert(coalesce(errors, '[]'), '$[#]', json(?4)) END,
    lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, cancel_requested = 0
WHERE id = ?1 AND state = 'running' AND lease_token = ?2
RETURNING state = 'cancelled'
