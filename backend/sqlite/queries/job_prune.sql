-- Deletes up to ?3 jobs in final state ?1 that finished before ?2.
-- Inputs: ?1 state, ?2 finished-before (unix ns), ?3 limit (-1 = none).
-- Outputs: rows affected.
DELETE FROM jobs
WHERE rowid IN (
    SELECT rowid FROM jobs INDEXED BY jobs_finished
    WHERE state = ?1 AND finished_at IS NOT NULL AND finished_at < ?2
      AND state IN ('completed', 'failed', 'cancelled')
    LIMIT ?3
)
