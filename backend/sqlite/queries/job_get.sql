-- One job. Inputs: ?1 id. Outputs: the job columns, or no row.
SELECT /*JOB_COLUMNS*/ FROM jobs WHERE id = ?1
