-- enqueue_lookup: finds who blocked the jobs an enqueue did not store.
-- Inputs: $1 unique keys, $2 job ids.
-- Output: rows (unique_key, id, state): the current holder of each key
--   (unique_key set), and each job that already has one of the ids
--   (unique_key '').
SELECT unique_key, id, state
FROM {{schema}}.jobs
WHERE unique_key = ANY($1::text[]) AND (unique_mask & {{schema}}.state_bit(state)) <> 0
UNION ALL
SELECT '', id, state
FROM {{schema}}.jobs
WHERE id = ANY($2::text[])
