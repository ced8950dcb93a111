-- Pauses a queue, creating it if needed. Inputs: ?1 name. Outputs: none.
INSERT INTO queues (name, paused) VALUES (?1, 1)
ON CONFLICT (name) DO UPDATE SET paused = 1
