-- Stores one job. A job whose id already exists is left alone (a producer
-- retrying the same enqueue), which the caller sees as 0 rows affected.
-- Inputs: ?1 id, ?2 kind, ?3 queue, ?4 args, ?5 priority, ?6 state,
-- ?7 max_attempts, ?8 timeout (ns), ?9 run_at (unix ns), ?10 unique_key,
-- ?11 unique_states (JSON), ?12 tags (JSON), ?13 meta (JSON), ?14 enqueued_at.
-- Outputs: none (rows affected).
INSERT INTO jobs (id, kind, queue, args, priority, state, attempt, max_attempts, timeout, run_at,
                  unique_key, unique_states, tags, meta, enqueued_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
ON CONFLICT (id) DO NOTHING
