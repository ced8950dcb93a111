-- queue_pause: sets a queue's paused flag, creating its row if needed.
-- Inputs: $1 queue, $2 paused. Output: none.
INSERT INTO {{schema}}.queues (name, paused) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET paused = EXCLUDED.paused
