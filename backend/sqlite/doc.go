// Package sqlite is conveyor's embedded default backend: one SQLite file,
// pure Go (modernc.org/sqlite, no cgo), selected by the URL "sqlite:PATH"
// (e.g. "sqlite:conveyor.db", "sqlite:/var/lib/conveyor/jobs.db").
//
// # Connections
//
// Every write goes through one connection (a *sql.DB limited to one open
// connection, returned by DB), so each call is one transaction and writers
// in the process never contend for SQLite's lock. Transactions start with
// BEGIN IMMEDIATE, so a writer in another process waits up to
// Config.BusyTimeout for the lock instead of failing. Reads (JobGet,
// JobList, QueueList, RecordGet, RecordList, Ping) use a separate pool of
// query_only connections, which WAL lets run while the writer commits.
//
// # Durability
//
// The file is in WAL mode. With the default synchronous=NORMAL a commit
// appends to the WAL without fsync and the WAL is fsynced when it is
// checkpointed into the database file. So an acknowledged enqueue (JobEnqueue
// returned) survives a crash or SIGKILL of the process — the committed frames
// are in the operating system's page cache and are replayed from the WAL on
// the next open — but an OS crash or power loss can roll back the
// transactions committed since the last fsync of the WAL; the file stays
// consistent (never corrupt) either way. Config.Synchronous = SyncFull (URL
// parameter synchronous=full) fsyncs the WAL on every commit, one fsync per
// batch, and then an acknowledged enqueue survives power loss too.
//
// # Schema and migrations
//
// Migrations are embedded (migrations/NNNN_name.sql), applied in order in one
// IMMEDIATE transaction and recorded in the schema_version table; New runs
// them unless Config.SkipMigrate. Times are INTEGER unix nanoseconds; JSON
// values (args, meta, result, progress, tags, errors) are TEXT stored as
// given. A partial index over claimable jobs (queue, priority DESC, run_at,
// id) serves claims; partial indexes serve lease expiry, due jobs and
// pruning. The backend needs no foreign keys. Each SQL statement lives in
// queries/*.sql with a comment stating its inputs and outputs.
//
// # Claims and batches
//
// A claim is one UPDATE … WHERE rowid IN (SELECT … ORDER BY priority DESC,
// run_at, id LIMIT ?) RETURNING … statement (SQLite ≥ 3.35; the bundled
// SQLite is 3.53). Claims take due scheduled and retrying jobs directly, so
// no promoter is needed. A lease token is the job's rowid, a dot and 64
// random bits. Finish and lease-extension batches run in one transaction
// each, every outcome fenced by state running and the lease token: the
// batch's completions in one UPDATE OR FAIL … FROM (VALUES …) per up to 1024
// jobs that finds rows by the rowid in their token, every other outcome (and
// every outcome of a batch in which a completion's lease turns out lost, to
// report exactly which) in one prepared statement execution per job.
//
// # Performance
//
// The writer is the ceiling: every claim and finish runs on one connection,
// so throughput is one core's worth of SQLite work per job. A claim rewrites
// the row, deletes its jobs_claim entry and adds a jobs_lease entry; a finish
// rewrites the row, moves it from jobs_lease to jobs_finished. The schema
// keeps that work minimal: no index on state alone, partial indexes whose
// predicates are plain comparisons (an IN list in a partial index's WHERE
// makes SQLite build a temporary table on every statement execution). The
// rest is the driver: every column read back costs ~0.25 CPU µs a job (so
// the claim returns only what it did not set, the mostly-NULL columns packed
// in one), every bound parameter a C string, and numbered parameters make
// binding quadratic (the bulk finish uses anonymous ones). BenchmarkBareSQLite
// measures the storage's own ceiling (a minimal integer-keyed table) beside
// BenchmarkClaimFinish; go test -bench . ./backend/sqlite/ runs both, the
// port-level batches and a 100k-job worker burn-down (jobs/s and CPU µs per
// job; the CPU figure is the steadier one on a shared machine).
//
// # Transactional enqueue
//
// JobEnqueueTx accepts a *sql.Tx begun on DB() — the backend's own writer —
// and nothing else (other types and transactions of another *sql.DB get
// backend.ErrUnsupportedTx). Applications may keep their own tables in the
// same file and write them in that transaction, so a row and its job commit
// or roll back together. While such a transaction is open it holds the
// single writer connection: every other write of the backend (claims,
// finishes, enqueues) waits for it, so keep it short, and never call a
// non-transactional method of the backend from inside it in the same
// goroutine (that call would wait for the connection the transaction holds).
// Read through the transaction, not through DB(), for the same reason.
//
// # Wake-ups
//
// QueueWatch signals are in-process: after a commit that makes jobs of a
// queue claimable (enqueue, retry, promotion, rescue, a due snooze, resume),
// every watcher of that queue among the Backends open on the same file in
// this process is signalled. Jobs written by another process are noticed by
// the data_version poller within ForeignWakeInterval (foreign.go), and by the
// worker's fallback poll when that poller is off.
package sqlite
