-- notify: sends one wake-up notification per queue, outside any enqueue
-- transaction (see notifier in wake.go for why).
-- Inputs: $1 channel, $2 payloads (queue names prefixed with the sender's
--   instance ID, see parsePayload). Output: one row per notification.
SELECT pg_notify($1, q) FROM unnest($2::text[]) AS q
