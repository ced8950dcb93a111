-- queue_register: records queues (a queue exists once a job was enqueued to
-- it); used before a COPY, which cannot do it itself.
-- Inputs: $1 queue names. Output: none.
INSERT INTO {{schema}}.queues (name)
SELECT unnest($1::text[])
ON CONFLICT (name) DO NOTHING
