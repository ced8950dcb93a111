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
// job that became queued ("<run_at ms> <id> <generation>"), on subject
// <P>.ready.<queue hash>.<priority>, with one durable pull consumer per
// (queue, priority). The message an enqueue publishes also carries the
// record it announces and its revision, on lines after the first (records
// up to 8 KiB; carry.go), so the claim of a freshly enqueued job is a
// compare-and-set write with no read; messages without them
// (transitions back to queued, purge, bigger records) are claimed with a
// read first. A carried record that is stale (the job was cancelled,
// deleted or claimed since) only costs the claim a failed compare-and-set
// and a re-read. A claim reads the queue's record (<P>_queues: paused
// flag, priorities in use) and pulls from the highest priority first: NATS
// has no priorities, so each priority level is its own subject. Within one
// priority it fetches as many messages as it needs, orders them by run_at
// then ID, moves each record queued -> running with a fresh lease token
// (compare-and-set) and acknowledges the messages it used. Order is
// therefore exact across priorities and within one claim's fetch; beyond
// that a priority level is served in the order its jobs became ready (which
// differs from run_at order only for jobs enqueued with a run_at in the
// past). Each record counts its transitions to queued (its ready
// generation, stored beside the job) and each ready message carries the
// generation it announces: a message whose record is not claimable and has
// reached that generation is stale and dropped at once, and so is one
// stored before its record's delete marker (the record was deleted for
// good); one whose record is missing otherwise, or behind, is early (see
// below) and retried over about 2 s before it is dropped.
//
// Scheduled and retrying jobs have no ready message: the KV bucket
// <P>_sched holds one key per waiting job, "<run_at ms>.<id>", so JobPromote
// finds due jobs from key names alone and moves them to queued (this backend
// needs the promoter: Capabilities.NeedsPromoter; NATS 2.9 has no delayed
// messages). Each claim batch writes one key in <P>_running listing the IDs
// it claimed (lease extensions write another), so JobRescue reads only the
// records of recently claimed jobs, never every job, and deletes a key
// once none of its jobs is running (a finish writes no index). Unique keys: <P>_uniq maps the
// hash of a key to the ID of the job that took it, taken with KV Create
// (create-if-absent) or an Update conditional on the revision that named a
// job no longer holding it, so of N concurrent enqueuers exactly one wins.
// Records (schedules, webhooks) live in <P>_records; the KV revision is the
// compare-and-set handle and the port's version is kept in the value.
//
// Crash ordering: whatever a new state needs in order to be found (ready
// message, scheduled key, running key) is published BEFORE the record, in
// the same pipelined round (publishes leave one connection in order), and
// what the old state needed is removed after the record write was
// acknowledged. A crash in between leaves a stale message or key, which
// claims and sweepers recognise and drop, never a record that nothing
// points at. This is also why a ready message can be fetched before its
// record write landed ("early") and is retried before being dropped. The
// one exception is an enqueue of a queued job: its ready message must
// carry the record's revision, so it is published in a second round, right
// after the records were acknowledged. If that round fails, the enqueue
// fails and deletes the records it created (compare-and-set on their
// revision); if the client dies between the two rounds, the enqueue was
// never acknowledged and its queued records wait without a message (listed
// as queued, never claimed) until an enqueue of the same ID (a producer's
// retry, reported as a duplicate) republishes it, or they are cancelled,
// deleted or purged. A claimer that dies between fetch and ack holds its
// messages until the consumer's AckWait (5 s) returns them; the server
// keeps its redelivery queue in memory, so messages handed back just
// before a server restart also come back after AckWait.
//
// Limits: a record must fit the server's max_payload (1 MiB by default),
// so job args near conveyor's 1 MiB limit need a larger max_payload.
//
// Batches pipeline: enqueue, claim, finish and lease extension issue their
// writes as async publishes and await the acknowledgements together, and
// reads as pipelined direct gets, so a batch of 1000 costs a few round
// trips, not 1000. The writes are core publishes whose acknowledgements
// come back on one wildcard subscription of the backend and are read
// without a JSON decoder (pubasync.go), and records are encoded and
// decoded without reflection (encode.go, decode.go, both byte-compatible
// with encoding/json, which stays their fallback): these were the largest
// client costs of a claim and a finish. Per job, an enqueue is 2 stream writes (record, then
// ready message); a claim 1 write (record; plus 1 direct get when the
// message carries no record) plus the ack and one running-index write per
// batch; a finish 1 write (record) and no read when the same process
// claimed the job (its record and revision are cached while it runs; a
// stale cache only costs a failed compare-and-set and a re-read).
//
// # Where the time goes
//
// Per job the server stores 2 messages at enqueue (record, ready message)
// and 2 records for a burn-down (claim, finish), each a write to a subject
// of its own with a revision condition, plus a fetch and an ack. Every one
// of these is already pipelined: a claim of 1000 is one pull (plus one
// last-sequence read when it comes back short), then one round of 1000
// record writes and one running-index write sent together and awaited
// together, then 1000 acks that are not awaited; a finish of 1000 is one
// round of 1000 writes. The client sends 3 messages per burn-down job
// (claim write, ack, finish write).
//
// What costs is the number of stored messages, not round trips or the
// revision condition. CPU per message measured on 2026-11-23 18:34-18:49
// UTC (go test -bench 'Raw|ClaimFinish|EnqueueBatch|GetJobs' with
// CONVEYOR_TEST_NATS_PID set, 20-40 x 1000 per figure, load average 3-10,
// so ranges): on nats-server 2.9 a stored write costs the server 13-17 us
// on one subject and 20-35 us on a subject per key, with or without the
// revision condition (a KV update without it: 21.5 us); a fetch+ack 6.5-
// 10.5 us; a pipelined direct get of a record 23-29 us, as much as a
// write. Conveyor per job: enqueue 33-39 us server and 30-31 us client,
// claim 37-50 us and finish 31-39 us server, claim+finish 51-57 us client
// (45 us with encodeJob). The embedded 2.15 server is cheaper: claim+finish
// 64-68 us client and server together. So a burn-down job costs about
// 120 us of CPU on 2.9 and 65 us on 2.15, which caps a 2-core machine near
// 16k and 30k jobs/s with nothing else running; issue 7's 50k jobs/s
// needs at most 40 us per job in all, about one stored write and one
// fetch+ack. One job at a time (BenchmarkOneByOne: enqueue 1, a claim
// that comes back with it, finish; the latency workload's path) costs 11
// client messages and, on this VM, about 1 ms of client CPU and 1.3 ms of
// 2.9 server CPU per job (19:12 UTC, load 8-9): there the system calls
// and goroutine wake-ups of each message dominate, not encoding.
//
// Batch leases (not built; the reasons, for whoever takes it up). The
// idea: a claim writes one lease record per batch instead of a
// compare-and-set per job, the job record changes only at enqueue and at
// its outcome, and rescue rewrites the records of an expired batch so a
// late finisher's compare-and-set fails. It saves the claim write (20-35
// us server on 2.9) only if the claim touches no per-job subject at all,
// because a per-job read costs as much as the write. Without a per-job
// read or write, two things break: (1) no double claim: duplicate ready
// messages for one job (an enqueue retried with the same ID republishes
// its message, QueuePurge republishes, and a message comes back after
// AckWait while a slow claim still holds it) would each be claimed, and
// nothing in the job's record tells the second claimer; acks cannot
// decide it (nats-server #4786); (2) a queued job cancelled or deleted
// after its ready message was published would still run, since the claim
// trusts the record the message carries. Both need a serialization point
// per batch rather than per job: for example all lease records of a
// (queue, priority) on one subject, each published with the expected last
// subject sequence, every claimer catching up on that subject (a local
// mirror of live (job, revision) claims, pruned once a revision is
// superseded) before its lease write, and JobCancel/JobDelete of a queued
// job writing a tombstone to the same subject. Every reader of a record
// (JobGet, JobList, QueueList counts, JobCancel, JobDelete, the enqueue's
// same-ID heal, unique-key holders, purge) would then have to merge the
// live leases, because a running job's record would say queued. The
// saving is at most one of the 4 stored messages per job (about 30% of
// the server's burn-down CPU on 2.9, less on 2.15), not the 2.5x the
// throughput target asks for.
//
// A cheaper next step (not built): a batch enqueue could announce up to
// about 64 jobs of one queue and priority in one ready message, keeping
// the per-job compare-and-set at claim (so fencing and exclusivity stay as
// they are). On 2.9 one 28.8 KB message costs the server 120 us (1.9 us
// per 450-byte entry) against 14 us for a 450-byte message of its own,
// and its fetch+ack (8.5 us) is shared by all its entries: about 12 us
// less per enqueued job (of 33-53) and 8 us less per burn-down job. A
// claim that uses part of such a message must republish the rest before
// acknowledging it (hence the small cap), early entries need a retry
// count in the payload since the message's delivery count no longer
// applies, and older versions would consume the first entry only, so it
// needs the stop-older-processes upgrade rule below.
//
// A worker's start runs the pruner at once, which scans every stored job
// 3 times (one per final state): 0.9 s on a bucket of 20k jobs, slowing the
// first claims 2-3 times. Its scan reads the stream in order (scanStream)
// because a KV watch's last-per-subject start held up the bucket's writers:
// the latency workload run after others on one prefix had a p99 of
// 0.9-1.3 s with the watch and 90-170 ms with the ordered read (load 4-7).
//
// # Costs
//
// JobList, QueueList (counts per state), QueuePurge and JobPrune scan the
// jobs bucket: O(jobs stored) per call, since KV has no secondary indexes.
// List pagination is still stable under inserts (the cursor is the last
// UUIDv7 ID of a page). Deleted keys leave KV delete markers.
// QueuePurge also purges the queue's ready subjects (messages published
// before its scan began) and republishes a message for each job of the
// queue still queued after it, so claims never wade through the messages of
// purged jobs, each of which would otherwise be retried as possibly early.
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
// a hand-made no_wait request. A pull that comes back short is confirmed
// against the stream, because servers >= 2.10 count new and returned
// messages asynchronously and may answer "no messages" right after a
// publish: the subject's last sequence (a direct get, synchronous with
// publish acknowledgements) must not lie beyond the highest sequence the
// pull delivered, or, for an empty pull, beyond the consumer's delivered
// sequence; otherwise the pull is repeated, on >= 2.10 with no_wait plus an
// expiry so it returns as soon as a message is there. So jobs enqueued
// before a claim are claimable by it however loaded the server is. A claim
// of the top priority makes its first pull and its read of the last
// sequence while it reads the queue record (prefetch.go): a small claim
// (the worker's, right after an enqueue woke it) waits for 2 round trips,
// that one and the records' compare-and-set; the acks are not awaited.
// Unused messages are handed back with a nak sent as a request, so the
// next pull sees them. The client reconnects forever after a server
// restart (MaxReconnects(-1)).
//
// # Compatibility
//
// Ready messages carry the job record (carry.go), and older versions of
// this backend drop such messages: upgrading requires stopping every older
// process on the prefix first. Job records are written by encodeJob, byte
// for byte as encoding/json writes them, so the stored format is the same
// as before it (no upgrade step for that change).
package nats
