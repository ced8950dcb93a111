// Package postgres is the PostgreSQL backend of conveyor, built on pgx v5.
//
// Open it by URL ("postgres://user@host:5432/db?schema=NAME"; the schema
// query parameter, default "conveyor", is removed before the URL reaches
// pgx) or with New and a Config. Several applications can share one database
// by using different schemas. New and Open create the schema and apply the
// embedded, versioned migrations unless Config.SkipMigrate is set.
//
// How it maps the port onto SQL:
//   - JobClaim is one UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED LIMIT n)
//     over a partial index on the claimable states, so a claim reads O(batch)
//     index entries however many finished jobs the table holds.
//   - JobEnqueue, JobFinish and LeaseExtend take a whole batch in one
//     statement (arrays passed as parameters and expanded with unnest);
//     finish and lease extension are fenced by the lease token. Batches of
//     64 jobs or more without unique keys use COPY. Concurrent JobEnqueue
//     calls are combined into shared statements (group commit): each call
//     still returns only once its own jobs are committed.
//   - Unique keys are enforced by a partial unique index over jobs whose state
//     is one of their unique states, with ON CONFLICT DO NOTHING, never by
//     read-then-write; duplicates inside one batch resolve to the first.
//   - Wake-ups: LISTEN/NOTIFY on a channel per schema. An enqueue in a
//     caller's transaction calls pg_notify inside it (delivered only on
//     commit). Other enqueues wake this process's watchers directly and send
//     the NOTIFY right after their commit, coalesced, from a transaction of
//     its own: a notifying transaction holds a database-wide lock through its
//     commit's WAL flush, which would serialize concurrent enqueues. A
//     dedicated listener connection, re-established after a drop, fans the
//     notifications out to QueueWatch channels; workers still poll.
//   - Table growth: JobPrune deletes finished jobs in batches (LIMIT, SKIP
//     LOCKED) through a partial index on the final states; the claim, rescue
//     and promote indexes cover only the states they read, so finished rows
//     cost them nothing.
//   - Transactional enqueue: JobEnqueueTx accepts a pgx.Tx or a *sql.Tx
//     opened through github.com/jackc/pgx/v5/stdlib; JobCompleteTx completes
//     a job inside the caller's transaction.
//
// Durability: an enqueue is acknowledged after PostgreSQL committed it, so it
// survives a crash as the server's synchronous_commit setting promises (on by
// default: flushed to the WAL). Finishes are synchronous too. A claim
// commits with synchronous_commit off (for its own transaction only), so
// the WAL flush of an enqueue is the only one between enqueue and handler
// start: a server crash, or a failover to a replica, can undo a claim made
// in the last moments, and the job is then queued again and runs again
// (at-least-once, as after a lost lease).
package postgres
