-- Outcome completed, fenced by the lease token. Inputs: ?1 id, ?2 lease
-- token, ?3 result (JSON or NULL), ?4 now (unix ns). Outputs: rows affected
-- (0 = lease lost).
UPDATE jobs
SET state = 'completed', result = ?3, finished_at = ?4,
    lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, cancel_requested = 0
WHERE id = ?1 AND state = 'running' AND lease_token = ?2
