// Package redis is the conveyor backend on Redis (go-redis v9): every state
// change is one Lua script run atomically on the server, batch-first, with
// pub/sub wake-ups.
//
// # Opening
//
// URL redis://[user:pass@]host:port/db?prefix=NAME (or rediss:// for TLS);
// prefix (default "conveyor") is prepended to every key, so several stores
// (and the tests) share one server. Library users call New with a Config,
// which can also take an existing client (Sentinel or Cluster).
//
// # Data layout
//
// Every key is built in keys.go. Per-queue keys carry the hash tag
// {PREFIX:QUEUE}, so every per-queue script touches one cluster slot:
//
//	{P:Q}:job:ID          hash: one job record (fields below)
//	{P:Q}:ready           zset of queued jobs: score -priority, member
//	                      RUNAT(17-digit µs)+ID, so ZRANGE 0 N yields the claim
//	                      order (priority desc, run_at asc, id asc) exactly;
//	                      a job not claimed since enqueue has NUL and its
//	                      claim body after the ID (see below)
//	{P:Q}:scheduled       zset: score run_at µs, member ID (and NUL and the
//	                      claim body, as in the ready set)
//	{P:Q}:retrying        zset: score run_at µs, member ID
//	{P:Q}:running         zset: score lease expiry µs, member
//	                      "RANDOM.N|ID" for the lease token "Q|RANDOM.N":
//	                      present exactly while the job runs under that
//	                      token, so finish fences a batch with one ZMSCORE
//	{P:Q}:done:STATE      zsets for completed, failed, cancelled: score
//	                      finished_at µs (for prune), member ID
//	{P:Q}:paused          "1" while the queue is paused
//	{P:Q}:unique:KEY      set of the IDs enqueued with unique key KEY
//	{P:Q}:ids             zset (all scores 0) of every job ID of the queue:
//	                      lexicographic order = time order (UUIDv7), the
//	                      JobList index
//	P:queues              set of queue names
//	P:records:NS          hash of the records of namespace NS
//	P:schema              layout version
//	P:wake:Q              pub/sub channel (not a key)
//
// Each job is in exactly one of its queue's state sets, so counts are ZCARDs.
// A job hash holds few, compact fields, because HSET/HMGET on a small hash
// cost grows with every field named, and every value is kept short where it
// can be: a hash whose values all fit the server's hash-max-listpack-value
// (64 bytes by default) is a listpack, about 40% smaller than the hashtable
// one long value forces (623 instead of 1064 bytes per queued bench job).
// Fields: d (kind, priority, timeout, unique key and states, tags,
// enqueued_at as compact JSON), g args and m meta (kept byte for byte; m
// only when set), p priority, ma max attempts, a attempt, s state, r run_at
// (ns), rs run_at (17-digit µs), uk/us unique key and states, res result, e
// errors (a JSON array), pg progress, ft finished_at (ns), lt lease token,
// L "STARTED|EXPIRY|OWNER" (the rest of the claim in one field), cr cancel
// requested ("1"; a final outcome sets it to "" in its one HSET rather than
// reading it). Lease fields are left in place when a job stops running
// (saving a write per finish) and ignored then. Records written before
// layout 3 framed the static JSON, args and meta together in d
// ("LEN:LEN:" then the three); they are still read, as are those of the
// first layout-1 builds (plain static JSON in d, the args in x, no g).
//
// A plain completion (no result, no error: the common outcome) writes no
// job hash at all: finish only moves the ID from the running set to the
// completed set. Such a hash keeps saying running, so "s is running and
// the completed set holds the ID" means completed, finished at the ID's
// score there (µs), with no lease and no cancel request; every reader
// applies that rule (job_get.lua for JobGet and JobList, enqueue's unique
// and replay checks, cancel, retry, delete), and the sets alone answer the
// rest (counts, rescue, prune, purge, lease extension). That saves the
// server one HSET per job, the largest single cost of a finish.
//
// The claim body: enqueue appends to a job's ready-set member (or, for a
// scheduled job, its scheduled-set member, which promotion carries over)
// a NUL byte (IDs may not contain one) and "RUN_NS|MAX_ATTEMPTS|LEN:LEN:"
// then the static JSON, args and meta (the frame of decodeStatic): all a
// claim returns that the caller does not know, for a job still as
// enqueued (attempt 0, no errors, result, progress or cancel request).
// claim.lua gets it with the ZRANGE that pops the batch, so a fresh job
// costs the claim no read of its hash (one HMGET per job hash from Lua was
// most of a claim's server cost). The body leaves the set with the member
// at the claim; every path that re-queues a job (retry, rescue, snooze)
// adds a plain member, and such a job (or one enqueued before layout 4,
// or whose static JSON, args and meta exceed bodyMax bytes) is claimed
// from its hash as before. The NUL keeps the claim order (it sorts before
// any ID byte). Cancel, delete and retry of a queued or scheduled job
// rebuild the member from the hash (lib_ready.lua: the plain form, then
// the body form, then a scan of the members with the job's score). The
// hash remains the record for every other reader. A body-carrying member
// costs a job a second copy of its args and meta until claimed, and no
// extra command or key: a per-queue body hash (tried first) made enqueue
// ~2.5 us of server CPU per job dearer, as much as it saved at claim.
//
// Cluster: job IDs do not name their queue, so operations by ID alone (get,
// cancel, retry, delete) need the queue first: each process caches ID ->
// queue for the jobs it enqueued, claimed or looked up (a job never changes
// queue); a miss asks every queue in one pipelined round trip (EXISTS on
// the job key), then the operation's script runs in the queue's slot. Lease
// tokens are "QUEUE|RANDOM.N", so finish and lease extension, which get
// only IDs and tokens, route without a lookup. JobList merges the per-queue
// ID indexes newest first. The only global keys, P:queues and the records,
// are never touched by a script together with queue keys; P:queues is
// re-added by each process at most every 5 s per queue, in the same round
// trip as an enqueue. Unique keys are enforced per queue (two jobs with one
// key in different queues are both stored), since a cross-slot check cannot
// be atomic on a cluster. A single node behaves the same.
//
// # Scripts
//
// Every script is in scripts/*.lua with a header stating its KEYS, ARGV and
// reply; they are loaded by Migrate and run by EVALSHA (reloaded on NOSCRIPT
// after a server restart). claim promotes due scheduled and retrying jobs and
// then pops up to N ready jobs into the running set with a fresh token and
// expiry, in one call. finish and lease_extend take a whole batch and fence
// each job by its token. job_get reads records with the plain-completion
// rule applied. enqueue stores a batch and checks unique keys
// atomically: a key is held by a job of its set whose current state is in
// that job's own unique states, so keys are released by state changes with
// no bookkeeping.
//
// Small enqueues from concurrent callers are group-committed with up to
// GOMAXPROCS/2 (at least 2) script calls in flight: a caller that finds a
// free slot sends its jobs at once (a lone enqueue waits for nothing);
// callers arriving while every slot is busy go together in the next call a
// slot frees (which first yields the processor once, so callers the last
// call just released can join), so many concurrent ones share round trips
// and script runs, and each caller still returns only once its own jobs
// are stored.
//
// # Layout versions
//
// P:schema holds the layout version (4). Version 1 named running jobs by
// ID in the running set, version 2 by "RANDOM.N|ID"; version 3 added the
// plain completion that writes no hash and the d/g/m split; version 4 the
// claim bodies in ready and scheduled members. Migrate upgrades a
// version-1, -2 or -3 prefix in place, since their data reads the same
// under version 4 (jobs without a claim body are claimed from their hash;
// a job claimed under version 1 and finished after the upgrade reports
// its lease lost and is handed back by JobRescue), and refuses a version
// it does not know; builds that know only version 2 refuse a version-3
// prefix, which they would misread, and builds that know only version 3
// refuse a version-4 one (they would take a member with a body for a job
// ID of that name, losing the job at claim and missing it at cancel,
// delete or retry). One exception: the very first layout-1 builds (a few
// hours of development, before the per-queue ID index) kept a global
// P:ids index; Migrate does not build per-queue indexes from it, so such
// jobs are missing from JobList and a replayed enqueue of one is not seen
// as a replay.
//
// Every older process on the prefix must be stopped before a version-4
// process starts. The older builds check the version only in their own
// Migrate: one still running keeps claiming and finishing after the
// upgrade, fails to decode version-3 records and damages their jobs, and
// its next Migrate could write its version back over "3". Migrate checks
// and sets the version in one script (scripts/migrate.lua), so two
// Migrates of this or later builds never interleave, but it cannot guard
// against a process that never runs it again.
//
// # Wake-ups
//
// Scripts that make jobs claimable publish on P:wake:Q; QueueWatch
// subscribes (confirmed before it returns), so an idle worker hears of a
// new job within a round trip. Signals sent while a subscriber is
// reconnecting are lost; workers keep a fallback poll.
//
// # Maintenance
//
// JobClaim promotes due jobs itself, so no due job waits for a promoter;
// Capabilities.NeedsPromoter is still true because the periodic JobPromote
// (every 200 ms by default in the worker) is what publishes a wake-up when a
// scheduled or retrying job falls due, so idle workers start it at once
// rather than at their next fallback poll; it also keeps state counts
// honest. Expired leases are handed back by JobRescue (run by the
// maintenance rescuer). There are no TTLs: finished jobs stay until JobPrune
// deletes them (Capabilities.NeedsPruner). Results, errors and progress are stored as the
// worker hands them over; the worker bounds their size.
//
// # Where the time goes
//
// A burn-down is bound by the server (measured 2026-11-23 on the 2-CPU
// machine of issue 6: Redis used 0.6-1.0 CPU s per 20k jobs drained, the
// worker process 0.3-0.4 s). Per-job redis.call from Lua is the cost, not
// the data. Measured at 18:37 UTC that day (load ~6; this VM then ran
// about twice as fast as in the earlier figures), per job of a 1000-job
// batch of small listpack hashes: one HMGET of 10 fields per job hash from
// Lua 3.5 us of server CPU (3 fields 1.8 us: each field converted costs),
// the same HMGETs pipelined by the client 3.9 us (no cheaper, and far
// dearer for the client), one HSET of 4 fields per job 1.1 us, while one
// HMGET or HSET over the batch's IDs on a per-queue hash costs 0.6 and
// 0.5 us per job, though creating a new entry in a per-queue hash costs
// enqueue ~2.5 us. Hence the claim body in the ready member (layout 4):
// BenchmarkClaimFinish went from ~12 to ~6 us of claim.lua server CPU per
// job in same-time A/B runs (18:49 UTC, load ~4.5; 10.9 to 7.5 us for
// claim+finish at 18:43), Go CPU 3.9 to 2.8 us, commands 2.01 to 1.01 per
// job, with batch enqueue unchanged. What is left per job on the server:
// the claim's HSET of the job hash (state, attempt, lease: ~1.0-1.6 us
// from Lua, and no cheaper with 3 fields than with 4, so moving it to a
// per-queue claims hash, whose new entries cost more than that, was not
// pursued), the sorted-set work (ZRANGE, ZREMRANGEBYRANK and ZADD at
// claim, ZMSCORE, ZREM and ZADD at finish) and argument and reply
// conversion.
//
// Single enqueues are bound by round trips (~19 us of server CPU each on
// the earlier machine; a PING cost 20-75 us of server CPU under the load
// of 18:52) plus the script work per job. enqueue.lua checks which IDs
// exist with one ZMSCORE on the ID index instead of an HGET per job (jobs
// stored before the per-queue index existed, in early layout-1 builds, are
// not seen by that check), and sends run_at once less: 16 concurrent
// single enqueues went from 2.8 to 2.0 commands per job; their server CPU
// per job (18-24 us, medians of 4 interleaved rounds at 19:03 UTC, load
// ~5) and batch enqueue's (~10 us) moved less than the noise of this VM,
// where one build's figure varies by a third between runs a minute apart.
//
// So single enqueues are cheap only when many share a call. Measured
// 19:20-19:40 UTC on 2026-11-23 (load 6-9), per call of enqueue.lua with
// 16 jobs: ~50 us of server CPU for the round trip and the call (~27 us of
// it converting ~200 arguments into Lua strings: about 0.14 us per
// argument, 12 per job), then ~9-10 us per job inside the script (HSET
// 2-4.5, the two ZADDs ~1.2, ZMSCORE ~0.5, the rest Lua); a lone job costs
// ~50 us, 16 per call ~12-14 us each. The client side is alike: a call
// costs the Go process about ten system calls (write, read and a retried
// read, epoll, the pool's health-check peek, and futex wake-ups of the
// callers it releases). Hence one enqueue call in flight on 2 CPUs (see
// coalesce.go), which with the drain's yield carries ~13 of 16 concurrent
// callers' jobs rather than ~5, a prepared EVALSHA (keys boxed once per
// queue) and a one-string reply. 16 concurrent single enqueues
// (BenchmarkEnqueueSingle, 3 interleaved rounds at 19:34 UTC, load 6-7)
// went from 2.0 to 1.4 commands per job, from 21-31 to 16-20 us of Go CPU
// and from 22-26 to 15-21 us of server CPU per job; the bench insert
// workload (40k jobs) went from ~1.0x to 1.33-1.61x asynq's jobs/s in
// interleaved rounds (19:36-19:43 UTC, load 7-9; 1.03-1.50x, median 1.1x,
// to 1.39-2.65x, median 1.7x, in 6 rounds at 19:52, load 5-8). What is left per job is the HSET
// of the job hash, the ID index and ready-set adds, the 12 arguments, and
// on the client the runtime's work of parking and waking each caller.
//
// Why single enqueues stay near asynq's rate on this machine (measured
// 2026-12-05, 2 CPUs, the server on the same machine): the Redis server is
// the busy side for both. BenchmarkEnqueueCall puts a call of k jobs at
// about 34 + 10.5k us of server CPU (1 job: 44.6 us, of which the script
// 21; 16 jobs: 12.7 us per job, the script 10.1). Inside the script, per
// job (INFO commandstats, variants with one part removed): the HSET
// creating the job hash ~3.5 us, the ID index's ZADD and ZMSCORE ~2.0,
// the ready-set ZADD ~1.5, turning 12 arguments into Lua strings ~1.1, the
// rest Lua. 16 callers with two calls in flight share ~6-8 jobs a call,
// ~15-18 us per job; asynq, one call per job, costs ~19 us (60k jobs,
// /proc CPU, flush included). So both top out near one server core,
// 45-50k jobs/s when idle, and the best split of 16 callers (two calls of
// 8, the server never idle) would reach ~60k, 1.25x. 1.5x would need the
// server near 10 us per job in all, below what the job hash, the two
// sorted-set entries and the replay check every job needs cost today.
//
// # Durability
//
// An acknowledged enqueue is as durable as the server's persistence, and no
// more: with appendonly yes and appendfsync always it survives a crash of the
// server or the machine (the fault test kills a private server with SIGKILL
// under this setting and finds every acknowledged job); with appendfsync
// everysec (the usual setting) a crash of the machine can lose about the
// last one to two seconds of acknowledged writes, while a kill of the server
// process alone normally loses nothing (the AOF is written to the kernel
// before replies are sent); with appendfsync no the operating system decides
// when data reaches the disk (typically within 30 s); with
// AOF off and RDB snapshots everything since the last snapshot is lost; with
// no persistence (as the shared test server here runs) everything is lost
// when the server stops. Replication to replicas is asynchronous: a failover
// can lose acknowledged writes regardless of the setting.
//
// # Reconnection
//
// go-redis redials by itself; a command that fails with a network error,
// or whose reply does not arrive in time, is sent again by go-redis
// (MaxRetries, default 3), so a script may run twice when only its reply
// was lost. What that means per operation:
//   - enqueue is idempotent: a replayed ID is not stored twice, but the
//     second run answers Duplicate, naming the caller's own new job;
//   - a replayed finish may report a lease as lost although its outcome
//     was applied;
//   - a replayed claim claims a second batch: the first one stays running
//     under a lease nobody holds until JobRescue hands it back, which
//     counts the attempt, so a job at its last attempt ends failed without
//     having run (as if its worker had died at once);
//   - a replayed cancel or retry may answer ErrWrongState after it
//     succeeded, and a replayed RecordPut or RecordDelete with IfVersion
//     ErrConflict after it was applied: read the record or job again.
package redis
