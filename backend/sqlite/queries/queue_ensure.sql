-- Makes a queue exist (a job was enqueued to it). Inputs: ?1 name. Outputs: none.
INSERT INTO queues (name) VALUES (?1) ON CONFLICT (name) DO NOTHING
