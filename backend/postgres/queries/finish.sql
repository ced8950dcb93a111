-- finish: records many outcomes in one statement, each fenced by its lease
-- token: a row changes only if it is running under that token.
-- Inputs: $1 ids, $2 lease tokens, $3 outcomes (completed, retry, failed,
--   cancelled, snoozed), $4 results (JSON text, '' = none), $5 errors
--   (AttemptError JSON text, '' = none), $6 run_at (retry, snoozed), $7 now,
--   $8 new states (decided by the caller at nanosecond precision: a snooze
--   until RunAt <= Now is queued, later is scheduled).
-- A job whose cancel was requested during this run and whose outcome is
-- retry or snoozed ends cancelled instead: never retrying (DESIGN §2).
-- Output: (id, token, whether a retry or snooze ended cancelled) of the
-- outcomes applied; the others lost their lease.
UPDATE {{schema}}.jobs j
SET state = CASE WHEN j.cancel_requested AND o.outcome IN ('retry', 'snoozed') THEN 'cancelled' ELSE o.state END,
    attempt = CASE WHEN o.outcome = 'snoozed' AND NOT j.cancel_requested THEN j.attempt - 1 ELSE j.attempt END,
    result = CASE WHEN o.outcome = 'completed' THEN NULLIF(o.result, '')::json ELSE j.result END,
    errors = CASE WHEN o.err = '' THEN j.errors
                  ELSE COALESCE(j.errors, '[]'::jsonb) || jsonb_build_array(o.err::jsonb) END,
    run_at = CASE WHEN o.outcome IN ('retry', 'snoozed') AND NOT j.cancel_requested THEN o.run_at ELSE j.run_at END,
    finished_at = CASE WHEN o.outcome IN ('completed', 'failed', 'cancelled') OR j.cancel_requested THEN $7::timestamptz ELSE NULL END,
    cancel_requested = false,
    lease_owner = NULL,
    lease_token = NULL,
    lease_expires_at = NULL
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $8::text[])
     AS o(id, token, outcome, result, err, run_at, state)
-- No "j.state = 'running'" here although that is the fence's meaning: a job
-- has a lease token exactly while it is running (claim sets it; finish and
-- rescue clear it), and with a state test the planner may scan every running
-- job through jobs_lease for every input row (O(running x batch)) instead of
-- one primary-key lookup per input row.
WHERE j.id = o.id AND j.lease_token = o.token
RETURNING j.id, o.token, j.state = 'cancelled' AND o.outcome IN ('retry', 'snoozed')
