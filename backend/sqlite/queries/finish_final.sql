-- Outcomes failed and cancelled: final state ?3, error appended when given;
-- fenced by the lease token. Inputs: ?1 id, ?2 lease token, ?3 state
-- ('failed' or 'cancelled'), ?4 error (JSON object or NULL), ?5 now (unix ns).
-- Outputs: rows affected (0 = lease lost).
UPDATE jobs
SET state = ?3, finished_at = ?5,
    errors = CASE WHEN ?4 IS NULL THEN errors ELSE json_insert(coalesce(errors, '[]'), '$[#]', json(?4)) END,
    lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, cancel_requested = 0
WHERE id = ?1 AND state = 'running' AND lease_token = ?2
