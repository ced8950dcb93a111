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
//     finish and lease extension are fenced by the lease token.
//   - Unique keys are enforced by a partial unique index over jobs whose state
//     is one of their unique states, with ON CONFLICT DO NOTHING, never by
//     read-then-write.
//   - Wake-ups: the enqueue statement itself calls pg_notify for each queue
//     that received queued jobs, so the notification is sent only if the
//     transaction commits; a dedicated listener connection, re-established
//     after a drop, fans them out to QueueWatch channels.
//   - Transactional enqueue: JobEnqueueTx accepts a pgx.Tx or a *sql.Tx
//     opened through github.com/jackc/pgx/v5/stdlib; JobCompleteTx completes
//     a job inside the caller's transaction.
//
// Durability: an enqueue is acknowledged after PostgreSQL committed it, so it
// survives a crash as the server's synchronous_commit setting promises (on by
// default: flushed to the WAL).
package postgres
