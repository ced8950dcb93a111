-- job_get: one job by id.
-- Inputs: $1 id. Output: zero or one row of the job columns.
SELECT {{job_columns}} FROM {{schema}}.jobs j WHERE j.id = $1
