-- Migration 1: the jobs, queues and records tables and their indexes.
-- {{schema}} is replaced by the quoted schema name before execution.

-- state_bit maps a job state to one bit so that a job's unique states can be
-- stored as a bitmask and tested in the unique index's predicate (an index
-- predicate may only call IMMUTABLE functions).
CREATE FUNCTION {{schema}}.state_bit(state text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE state
    WHEN 'scheduled' THEN 1 WHEN 'queued' THEN 2 WHEN 'running' THEN 4
    WHEN 'retrying' THEN 8 WHEN 'completed' THEN 16 WHEN 'failed' THEN 32
    WHEN 'cancelled' THEN 64 ELSE 0 END
$$;

CREATE TABLE {{schema}}.jobs (
  id               text COLLATE "C" PRIMARY KEY,  -- UUIDv7 text: byte order = enqueue order
  kind             text NOT NULL,
  queue            text COLLATE "C" NOT NULL,
  args             json NOT NULL,                  -- json, not jsonb: bytes round-trip exactly
  priority         integer NOT NULL DEFAULT 0,
  state            text NOT NULL CHECK (state IN ('scheduled','queued','running','retrying','completed','failed','cancelled')),
  attempt          integer NOT NULL DEFAULT 0,
  max_attempts     integer NOT NULL,
  timeout_ns       bigint NOT NULL,
  run_at           timestamptz NOT NULL,
  unique_key       text COLLATE "C",
  unique_states    text[],                         -- as given (NULL = default), for round trips
  unique_mask      integer NOT NULL DEFAULT 15,    -- bits of the states that hold unique_key
  tags             jsonb,
  meta             json,
  result           json,
  errors           jsonb,                          -- array of AttemptError objects
  progress         json,
  enqueued_at      timestamptz NOT NULL,
  started_at       timestamptz,
  finished_at      timestamptz,
  lease_owner      text,
  lease_token      text,
  lease_expires_at timestamptz,
  cancel_requested boolean NOT NULL DEFAULT false
);

-- Claim: only claimable states are indexed, in claim order, so a claim reads
-- O(batch) index entries however many finished rows the table holds.
CREATE INDEX jobs_claim ON {{schema}}.jobs (queue, priority DESC, run_at, id)
  WHERE state IN ('queued', 'scheduled', 'retrying');

-- Promote: due scheduled/retrying jobs.
CREATE INDEX jobs_due ON {{schema}}.jobs (run_at)
  WHERE state IN ('scheduled', 'retrying');

-- Rescue: running jobs by lease expiry.
CREATE INDEX jobs_lease ON {{schema}}.jobs (lease_expires_at)
  WHERE state = 'running';

-- Prune: finished jobs by state and age.
CREATE INDEX jobs_finished ON {{schema}}.jobs (state, finished_at)
  WHERE state IN ('completed', 'failed', 'cancelled');

-- Unique keys are enforced by this index, not by read-then-write: a job holds
-- its key only while its state is one of its unique states.
CREATE UNIQUE INDEX jobs_unique_key ON {{schema}}.jobs (unique_key)
  WHERE unique_key IS NOT NULL AND (unique_mask & {{schema}}.state_bit(state)) <> 0;

-- Queues that were paused (or resumed); queues with jobs exist implicitly.
CREATE TABLE {{schema}}.queues (
  name       text COLLATE "C" PRIMARY KEY,
  paused     boolean NOT NULL DEFAULT false
);

-- Generic versioned records (schedules, webhook subscriptions).
CREATE TABLE {{schema}}.records (
  namespace  text COLLATE "C" NOT NULL,
  key        text COLLATE "C" NOT NULL,
  value      json NOT NULL,
  version    bigint NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (namespace, key)
);
