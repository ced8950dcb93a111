-- Every queue. Inputs: none. Outputs: name, paused, ordered by name.
SELECT name, paused FROM queues ORDER BY name
