-- The state of one job. Inputs: ?1 id. Outputs: state, or no row.
SELECT state FROM jobs WHERE id = ?1
