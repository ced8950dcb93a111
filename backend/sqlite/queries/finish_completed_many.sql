-- Outcome completed for many jobs in one statement, each fenced like
-- finish_completed.sql (state running, same id and lease token). The claim
-- put the job's rowid in front of its lease token, so each row is found by
-- rowid without a lookup in the id index. The caller expands the ROWS
-- marker below into a VALUES list of n rows (?, ?, ?, ?) and pads it with
-- NULL rows, which match nothing; one prepared statement serves each padded
-- size. Parameters are anonymous on purpose: sqlite3_bind_parameter_name,
-- which the driver calls for every parameter, walks the list of numbered
-- ones, so numbering them made binding quadratic (30 µs a job at 1024 rows).
-- Inputs, in order: now (unix ns); per row: rowid, id, lease token, result
-- (JSON or NULL). Outputs: rows affected (fewer than the real rows = a lease
-- lost).
-- OR FAIL: a multi-row UPDATE inside a transaction otherwise makes SQLite
-- copy every page it touches to a statement journal, to undo the statement
-- alone if a later row fails (~2 CPU µs a job here). No constraint can fail
-- on these columns, and on any error JobFinish rolls the whole transaction
-- back anyway, so keeping the earlier rows of a failed statement is moot.
UPDATE OR FAIL jobs
SET state = 'completed', result = o.column4, finished_at = ?,
    lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, cancel_requested = 0
FROM (VALUES /*ROWS*/) AS o
WHERE jobs.rowid = o.column1 AND jobs.id = o.column2 AND jobs.lease_token = o.column3
  AND jobs.state = 'running'
