-- Outcome retry: retrying, due at ?3, error appended; fenced by the lease
-- token; a cancel requested during this run stays requested, for the next.
-- Inputs: ?1 id, ?2 lease token, ?3 run_at (unix ns), ?4 error (JSON
-- object or NULL). Outputs: rows affected (0 = lease lost).
UPDATE jobs
SET state = 'retrying', run_at = ?3,
    errors = CASE WHEN ?4 IS NULL THEN errors ELSE json_insert(coalesce(errors, '[]'), '$[#]', json(?4)) END,
    lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
WHERE id = ?1 AND state = 'running' AND lease_token = ?2
