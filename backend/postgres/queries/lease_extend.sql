-- lease_extend: pushes many leases to $4 in one statement, fenced by token,
-- storing progress when given.
-- Inputs: $1 ids, $2 lease tokens, $3 progress (JSON text, '' = keep), $4 new expiry.
-- Output: (id, token, cancel_requested) of every lease still held; absent
--   (id, token) pairs are lost.
UPDATE {{schema}}.jobs j
SET lease_expires_at = $4,
    progress = COALESCE(NULLIF(l.progress, '')::json, j.progress)
FROM unnest($1::text[], $2::text[], $3::text[]) AS l(id, token, progress)
-- No "j.state = 'running'" here although that is the fence's meaning: a job
-- has a lease token exactly while it is running (claim sets it; finish and
-- rescue clear it), and with a state test the planner may scan every running
-- job through jobs_lease for every input row (O(running x batch)) instead of
-- one primary-key lookup per input row.
WHERE j.id = l.id AND j.lease_token = l.token
RETURNING j.id, l.token, j.cancel_requested
