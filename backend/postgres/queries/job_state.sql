-- job_state: the state of one job, to tell "missing" from "wrong state".
-- Inputs: $1 id. Output: zero or one row (state).
SELECT state FROM {{schema}}.jobs WHERE id = $1
