-- job_list: one page of jobs, newest first (id descending); the cursor is the
-- last id of the previous page, so pages stay stable under inserts.
-- Inputs: $1 states (NULL = any), $2 queue ('' = any), $3 kind ('' = any),
--   $4 tag ('' = any), $5 enqueued at or after (NULL = any), $6 enqueued
--   before (NULL = any), $7 cursor ('' = first page), $8 limit.
-- Output: up to $8 rows of the job columns.
SELECT {{job_columns}}
FROM {{schema}}.jobs j
WHERE ($1::text[] IS NULL OR j.state = ANY($1::text[]))
  AND ($2::text = '' OR j.queue = $2::text)
  AND ($3::text = '' OR j.kind = $3::text)
  AND ($4::text = '' OR j.tags @> jsonb_build_array($4::text))
  AND ($5::timestamptz IS NULL OR j.enqueued_at >= $5::timestamptz)
  AND ($6::timestamptz IS NULL OR j.enqueued_at < $6::timestamptz)
  AND ($7::text = '' OR j.id < $7::text)
ORDER BY j.id DESC
LIMIT $8
