-- enqueue: stores a batch of jobs in one statement; unique keys are enforced
-- by the jobs_unique_key index (ON CONFLICT DO NOTHING), so two concurrent
-- enqueuers with one key store one job, and duplicates inside the batch
-- resolve to the first (rows are inserted in input order).
-- A job that would not itself hold its key in its initial state is not in the
-- index, so it is checked against current holders explicitly (NOT EXISTS).
-- Inputs: $1 ids, $2 kinds, $3 queues, $4 args (JSON text), $5 priorities,
--   $6 max_attempts, $7 timeouts (ns), $8 run_at, $9 unique keys ('' = none),
--   $10 unique states (comma-separated, '' = default), $11 unique masks,
--   $12 tags (JSON array text, '' = none), $13 meta (JSON text, '' = none),
--   $14 enqueue times (the Now of each job's call: calls from concurrent
--   goroutines share one statement), $15 NOTIFY channel ('' = send no notification), $16 initial
--   states (scheduled when run_at is after now, else queued; decided by the
--   caller at nanosecond precision), $17 the distinct queue names (a queue
--   exists once a job was enqueued to it, even after its jobs are gone).
-- Output: one row (id, state, n) per stored job; jobs not stored are absent;
--   n is the number of notifications sent (one per queue with queued jobs).
WITH input AS (
  SELECT *
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::bigint[],
              $8::timestamptz[], $9::text[], $10::text[], $11::int[], $12::text[], $13::text[], $16::text[],
              $14::timestamptz[])
       WITH ORDINALITY AS i(id, kind, queue, args, priority, max_attempts, timeout_ns, run_at,
                            unique_key, unique_states, unique_mask, tags, meta, state, enqueued_at, ord)
),
ins AS (
  INSERT INTO {{schema}}.jobs (id, kind, queue, args, priority, state, max_attempts, timeout_ns, run_at,
                               unique_key, unique_states, unique_mask, tags, meta, enqueued_at)
  SELECT i.id, i.kind, i.queue, i.args::json, i.priority,
         i.state,
         i.max_attempts, i.timeout_ns, i.run_at, NULLIF(i.unique_key, ''),
         string_to_array(NULLIF(i.unique_states, ''), ','), i.unique_mask,
         NULLIF(i.tags, '')::jsonb, NULLIF(i.meta, '')::json, i.enqueued_at
  FROM input i
  WHERE i.unique_key = ''
     OR (i.unique_mask & {{schema}}.state_bit(i.state)) <> 0
     OR NOT EXISTS (SELECT 1 FROM {{schema}}.jobs h
                    WHERE h.unique_key = i.unique_key AND (h.unique_mask & {{schema}}.state_bit(h.state)) <> 0)
  ORDER BY i.ord
  ON CONFLICT DO NOTHING
  RETURNING id, state, queue
),
registered AS (
  INSERT INTO {{schema}}.queues (name)
  SELECT unnest($17::text[])
  ON CONFLICT (name) DO NOTHING
),
notified AS (
  SELECT pg_notify($15, q.queue)
  FROM (SELECT DISTINCT queue FROM ins WHERE state = 'queued') q
  WHERE $15 <> ''
)
SELECT id, state, (SELECT count(*) FROM notified) FROM ins
