-- Job counts per queue and state, and the oldest queued run_at, from three
-- covering scans of the partial indexes that exist for claims, rescues and
-- pruning (no index is maintained for counting alone):
-- waiting jobs (jobs_claim), running jobs (jobs_lease), finished jobs
-- (jobs_finished). Inputs: none. Outputs: queue, state, count, min(run_at)
-- (meaningful for the queued group; NULL elsewhere).
SELECT queue, state, count(*), min(run_at) FROM jobs INDEXED BY jobs_claim
WHERE (state = 'queued' OR state = 'scheduled' OR state = 'retrying')
GROUP BY queue, state
UNION ALL
SELECT queue, 'running', count(*), NULL FROM jobs INDEXED BY jobs_lease
WHERE state = 'running'
GROUP BY queue
UNION ALL
SELECT queue, state, count(*), NULL FROM jobs INDEXED BY jobs_finished
WHERE finished_at IS NOT NULL
GROUP BY queue, state
