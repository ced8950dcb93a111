-- Extends one lease, storing progress when given; fenced by the lease token.
-- Inputs: ?1 id, ?2 lease token, ?3 new expiry (unix ns), ?4 progress (JSON
-- or NULL = keep). Outputs: cancel_requested, or no row when the lease is lost.
UPDATE jobs
SET lease_expires_at = ?3, progress = coalesce(?4, progress)
WHERE id = ?1 AND state = 'running' AND lease_token = ?2
RETURNING cancel_requested
