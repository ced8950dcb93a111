-- Hands back running jobs whose lease expired before ?1: cancelled when a
-- cancel was requested while they ran, else queued and due now when attempts
-- are left, failed otherwise; the attempt stays counted and an
-- error saying the lease expired (and whose it was) is appended. SET
-- expressions read the row as it was, so lease_owner is still the old owner.
-- Inputs: ?1 now (unix ns), ?2 now (RFC 3339 text, for the error's "at"),
-- ?3 limit (-1 = none). Outputs: id, kind, queue, state of each rescued job.
UPDATE jobs
SET state = CASE WHEN cancel_requested THEN 'cancelled'
                 WHEN attempt >= max_attempts THEN 'failed' ELSE 'queued' END,
    run_at = CASE WHEN cancel_requested OR attempt >= max_attempts THEN run_at ELSE ?1 END,
    finished_at = CASE WHEN cancel_requested OR attempt >= max_attempts THEN ?1 ELSE NULL END,
    errors = json_insert(coalesce(errors, '[]'), '$[#]',
                         json_object('attempt', attempt, 'at', ?2, 'message',
                                     'lease expired: worker "' || coalesce(lease_owner, '') ||
                                     '" neither finished nor extended it')),
    lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, cancel_requested = 0
WHERE rowid IN (
    SELECT rowid FROM jobs INDEXED BY jobs_lease
    WHERE state = 'running' AND lease_expires_at < ?1
    ORDER BY lease_expires_at
    LIMIT ?3
)
RETURNING id, kind, queue, state
