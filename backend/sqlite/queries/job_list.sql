-- Jobs newest first. The Go code appends "WHERE <filters> ORDER BY id DESC
-- LIMIT ?" built from JobListParams, every value bound as a parameter.
-- Outputs: the job columns.
SELECT /*JOB_COLUMNS*/ FROM jobs
