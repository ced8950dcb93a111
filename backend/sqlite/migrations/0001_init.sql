-- Migration 1: the initial schema.
--
-- Times are INTEGER unix nanoseconds (UTC), NULL when unset: integer
-- comparisons are what the claim, rescue and prune queries filter and sort on,
-- and they cost nothing to encode. JSON values (args, meta, result, progress,
-- tags, unique_states, errors) are TEXT holding the JSON the caller gave, so
-- reading a job never re-encodes them and json_each/json_insert work on them.

-- jobs: one row per job. A rowid table (not WITHOUT ROWID) because rows carry
-- args of arbitrary size; the claim and maintenance queries select rowids.
CREATE TABLE jobs (
    id               TEXT    NOT NULL PRIMARY KEY,   -- UUIDv7, sortable by enqueue time
    kind             TEXT    NOT NULL,
    queue            TEXT    NOT NULL,
    args             TEXT    NOT NULL,               -- JSON
    priority         INTEGER NOT NULL DEFAULT 0,     -- higher runs first
    state            TEXT    NOT NULL,               -- backend.JobState
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    timeout          INTEGER NOT NULL,               -- nanoseconds
    run_at           INTEGER NOT NULL,
    unique_key       TEXT,                           -- NULL when none
    unique_states    TEXT,                           -- JSON array of states; NULL = the defaults
    tags             TEXT,                           -- JSON array of strings; NULL when none
    meta             TEXT,                           -- JSON
    result           TEXT,                           -- JSON
    errors           TEXT,                           -- JSON array of AttemptError, oldest first
    progress         TEXT,                           -- JSON
    enqueued_at      INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    lease_owner      TEXT,
    lease_token      TEXT,
    lease_expires_at INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);

-- Claim: walk one queue's claimable jobs in claim order. Partial, so finished
-- and running jobs (the bulk of a busy table) are not in it; state is a
-- trailing column so the "queued, or due" filter is answered from the index.
CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id, state)
    WHERE (state = 'queued' OR state = 'scheduled' OR state = 'retrying');

-- Promote: scheduled and retrying jobs by due time.
CREATE INDEX jobs_due ON jobs (run_at)
    WHERE (state = 'scheduled' OR state = 'retrying');

-- Rescue: running jobs by lease expiry. queue is a trailing column so that
-- QueueList counts running jobs per queue from this index alone.
CREATE INDEX jobs_lease ON jobs (lease_expires_at, queue)
    WHERE state = 'running';

-- Prune: finished jobs by state and finish time; queue trails for QueueList.
-- Every final state sets finished_at and every other state clears it.
CREATE INDEX jobs_finished ON jobs (state, finished_at, queue)
    WHERE finished_at IS NOT NULL;

-- Unique keys: the holder lookup at enqueue.
CREATE INDEX jobs_unique ON jobs (unique_key)
    WHERE unique_key IS NOT NULL;

-- No index on state or (queue, state): every state change would pay for it
-- on the claim/finish hot path. QueueList counts from the partial indexes
-- above (each covering what it counts); JobList filters while walking the
-- primary key newest first.

-- queues: a queue exists once a job was enqueued to it or it was paused.
CREATE TABLE queues (
    name   TEXT    NOT NULL PRIMARY KEY,
    paused INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- records: the generic versioned key-value store (schedules, webhooks).
CREATE TABLE records (
    namespace  TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,   -- JSON
    version    INTEGER NOT NULL,   -- 1 on create, +1 per put
    updated_at INTEGER NOT NULL,   -- unix nanoseconds
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
