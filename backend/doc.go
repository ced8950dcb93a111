// Package backend is the port between conveyor and its storage: small role
// interfaces (jobs, leases, queues, records, wake-ups, transactional enqueue),
// the params and result structs they take and return, the capabilities a
// backend declares, and the sentinel errors every backend maps its native
// errors to.
//
// Every I/O method has the shape Method(ctx, *XxxParams) (*XxxResult, error)
// and a noun-first name, so methods sort by entity. Methods are semantic, never
// SQL-shaped: each one must be implementable on PostgreSQL, SQLite, Redis, NATS
// JetStream and in memory. They are batch-first: enqueue, claim, finish and
// lease extension take many jobs in one call, because one round trip per batch
// is where throughput comes from.
//
// Time is never read by a backend: every method that needs "now" receives it
// in its params (Now), so callers inject a clock and tests control time.
//
// The conformance suite in backend/backendtest states the contract as tests;
// every backend passes all of it, skipping only what its Capabilities say is
// absent.
package backend
