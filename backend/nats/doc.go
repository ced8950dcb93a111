// Package nats is the conveyor backend on NATS JetStream (nats.go's
// jetstream package). Open it with a URL nats://host:port?prefix=NAME, or
// New with a Config. Every stream, bucket and subject name starts with the
// prefix (default CONVEYOR), so several applications share one server.
//
// # How jobs map onto JetStream
//
// Job records live in the KV bucket <P>_jobs (key: job ID, value: the
// backend.Job as JSON). EVERY change of a record is a compare-and-set: a
// publish to the bucket's subject with the Nats-Expected-Last-Subject-
// Sequence header set to the revision that was read (KV Update semantics),
// retried after a re-read when another writer got there first. This is the
// fence: JobFinish and LeaseExtend apply only if the record read still holds
// the caller's lease token, and the write applies only if the record did not
// change since, so a late or stale worker always loses. Fencing never rests
// on message acknowledgements (a late ack can land, nats-server #4786).
//
// Ready jobs: the work-queue stream <P>_ready carries one small message per
// job that became queued ("<run_at ms> <id>"), on subject
// <P>.ready.<queue hash>.<priority>, with one durable pull consumer per
// (queue, priority). A claim reads the queue's record (<P>_queues: paused
// flag, priorities in use) and pulls from the highest priority first: NATS
// has no priorities, so each priority level is its own subject. Within one
// priority it fetches a window of at least 64 messages, orders it by run_at
// then ID, moves each record queued -> running with a fresh lease token
// (compare-and-set), acknowledges the messages it used and hands the rest
// back. Order is therefore exact across priorities and within a window;
// beyond a window a priority level is served in the order jobs became
// ready. A message whose record is missing or not queued is stale (or
// early: see below); it is retried a few times over about 2 s and dropped.
//
// Scheduled and retrying jobs have no ready message: the KV bucket
// <P>_sched holds one key per waiting job, "<run_at ms>.<id>", so JobPromote
// finds due jobs from key names alone and moves them to queued (this backend
// needs the promoter: Capabilities.NeedsPromoter; NATS 2.9 has no delayed
// messages). Running jobs have a key in <P>_running, so JobRescue reads only
// running jobs' records, never every job. Unique keys: <P>_uniq maps the
// hash of a key to the ID of the job that took it, taken with KV Create
// (create-if-absent) or an Update conditional on the revision that named a
// job no longer holding it, so of N concurrent enqueuers exactly one wins.
// Records (schedules, webhooks) live in <P>_records; the KV revision is the
// compare-and-set handle and the port's version is kept in the value.
//
// Crash ordering: whatever a new state needs in order to be found (ready
// message, scheduled key, running key) is written BEFORE the record, and
// what the old state needed is removed after. A crash in between leaves a
// stale message or key, which claims and sweepers recognise and drop, never
// a record that nothing points at. This is why a ready message can arrive
// before its record write ("early") and is retried before being dropped.
//
// Batches pipeline: enqueue, claim, finish and lease extension issue their
// writes as async publishes and await the acknowledgements together, and
// reads as concurrent KV gets, so a batch of 1000 costs a few round trips,
// not 1000.
//
// # Costs
//
// JobList, QueueList (counts per state), QueuePurge and JobPrune scan the
// jobs bucket: O(jobs stored) per call, since KV has no secondary indexes.
// List pagination is still stable under inserts (the cursor is the last
// UUIDv7 ID of a page). Deleted keys leave KV delete markers.
//
// # Durability
//
// Streams and buckets use file storage with Config.Replicas replicas
// (default 1). An enqueue returns once JetStream acknowledged every write,
// i.e. stored it on a quorum of replicas. JetStream syncs to disk every 2
// minutes by default (sync_interval): acknowledged writes sit in the OS page
// cache until then, so they survive a crash of the nats-server process but
// not a power loss or kernel crash of a single-replica server. Use replicas
// >= 3 or sync_interval: always on the server for stronger guarantees.
//
// # Servers
//
// The backend works with NATS 2.9 and later: it uses no per-message TTLs,
// delayed messages, multi-filter consumers or batch gets. Claims pull with
// a hand-made request (no_wait plus a short expiry) because servers >= 2.10
// count new and returned messages asynchronously. The client reconnects
// forever after a server restart (MaxReconnects(-1)).
package nats
