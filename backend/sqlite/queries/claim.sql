-- Claims up to ?3 jobs of queue ?1 in claim order and leases them, in one
-- statement. Claimable: queued, or scheduled/retrying and due (run_at <= now).
-- A paused queue yields nothing. The subquery walks the partial index
-- jobs_claim in (priority DESC, run_at, id) order, so no sort is needed.
-- Each row gets a fresh random lease token.
-- Inputs: ?1 queue, ?2 now (unix ns), ?3 limit, ?4 owner, ?5 lease expiry (unix ns).
-- Outputs: the claimed jobs (the job columns), in no particular order.
UPDATE jobs
SET state = 'running',
    attempt = attempt + 1,
    started_at = ?2,
    lease_owner = ?4,
    lease_token = lower(hex(randomblob(16))),
    lease_expires_at = ?5,
    cancel_requested = 0
WHERE rowid IN (
    SELECT rowid FROM jobs INDEXED BY jobs_claim
    WHERE queue = ?1
      AND state IN ('queued', 'scheduled', 'retrying')
      AND (state = 'queued' OR run_at <= ?2)
      AND NOT EXISTS (SELECT 1 FROM queues WHERE name = ?1 AND paused <> 0)
    ORDER BY priority DESC, run_at, id
    LIMIT ?3
)
RETURNING /*JOB_COLUMNS*/
