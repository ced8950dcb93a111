-- Resumes a queue (no-op for an unknown one). Inputs: ?1 name. Outputs: none.
UPDATE queues SET paused = 0 WHERE name = ?1
