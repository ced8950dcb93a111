-- Unique-key holder lookup, run in the enqueue transaction before the insert.
-- Inputs: ?1 unique key. Outputs: every job with that key (id, state,
-- unique_states); the caller decides in Go which of them holds the key,
-- because each job names its own holding states.
SELECT id, state, unique_states FROM jobs WHERE unique_key = ?1
