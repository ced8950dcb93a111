-- Claims up to ?3 jobs of queue ?1 in claim order and leases them, in one
-- statement. Claimable: queued, or scheduled/retrying and due (run_at <= now).
-- A paused queue yields nothing. The subquery walks the partial index
-- jobs_claim in (priority DESC, run_at, id) order, so no sort is needed.
-- Each row gets a fresh lease token: its rowid, a dot and 64 random bits
-- (the rowid lets finish_completed_many.sql find the row without the id index).
-- Inputs: ?1 queue, ?2 now (unix ns), ?3 limit, ?4 owner, ?5 lease expiry (unix ns).
-- Outputs: per claimed job, in no particular order: id, kind, args, priority,
-- attempt, max_attempts, timeout, run_at, enqueued_at, lease_token,
-- cancel_requested (read, not assumed false, so the job's record is
-- exact), extra.
-- The columns this statement sets to known values (queue, state, started_at,
-- lease_owner, lease_expires_at) or that are NULL for
-- claimable jobs (result, finished_at) are filled in by the caller: each
-- column read costs (~0.25 CPU µs a job through the driver). For the same
-- reason the six columns that are NULL for most jobs come packed in one,
-- extra: NULL when all six are, else "L1,L2,L3,L4,L5,L6;" followed by the
-- six values back to back, Ln being the byte length of unique_key,
-- unique_states, tags, meta, errors, progress (empty when NULL; these
-- columns are never the empty string). Packing measured ~1 µs a job faster.
UPDATE jobs
SET state = 'running',
    attempt = attempt + 1,
    started_at = ?2,
    lease_owner = ?4,
    lease_token = rowid || '.' || lower(hex(randomblob(8))),
    lease_expires_at = ?5
WHERE rowid IN (
    SELECT rowid FROM jobs INDEXED BY jobs_claim
    WHERE queue = ?1
      AND (state = 'queued' OR state = 'scheduled' OR state = 'retrying')
      AND (state = 'queued' OR run_at <= ?2)
      AND NOT EXISTS (SELECT 1 FROM queues WHERE name = ?1 AND paused <> 0)
    ORDER BY priority DESC, run_at, id
    LIMIT ?3
)
RETURNING id, kind, args, priority, attempt, max_attempts, timeout, run_at, enqueued_at, lease_token, cancel_requested,
          CASE WHEN coalesce(unique_key, unique_states, tags, meta, errors, progress) IS NOT NULL
               THEN concat(octet_length(unique_key), ',', octet_length(unique_states), ',',
                           octet_length(tags), ',', octet_length(meta), ',', octet_length(errors), ',',
                           octet_length(progress), ';',
                           unique_key, unique_states, tags, meta, errors, progress)
          END
