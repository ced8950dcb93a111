-- Moves due scheduled and retrying jobs to queued. Claim already takes due
-- jobs, so this only tidies states (and wakes workers).
-- Inputs: ?1 now (unix ns), ?2 limit (-1 = none). Outputs: queue of each promoted job.
UPDATE jobs
SET state = 'queued'
WHERE rowid IN (
    SELECT rowid FROM jobs INDEXED BY jobs_due
    WHERE (state = 'scheduled' OR state = 'retrying') AND run_at <= ?1
    ORDER BY run_at
    LIMIT ?2
)
RETURNING queue
