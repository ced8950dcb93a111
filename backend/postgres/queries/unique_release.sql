-- unique_release: run after a transition failed with a unique violation. A
-- job whose unique states leave out some non-final state (e.g. held only
-- while queued) may be on its way into a holding state while another job
-- holds its key; the automatic transitions (claim, finish, rescue, promote)
-- must not fail for the whole batch because of it. Such jobs give up their
-- claim on the key (unique_mask 0): the other job already holds it. Reads the
-- table without an index, which is fine on this rare path.
-- Inputs: none. Output: command tag (rows changed).
UPDATE {{schema}}.jobs j
SET unique_mask = 0
WHERE j.unique_key IS NOT NULL
  AND j.unique_mask <> 0
  AND (j.unique_mask & {{schema}}.state_bit(j.state)) = 0
  AND EXISTS (SELECT 1 FROM {{schema}}.jobs h
              WHERE h.unique_key = j.unique_key AND h.id <> j.id
                AND (h.unique_mask & {{schema}}.state_bit(h.state)) <> 0)
