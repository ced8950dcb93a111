// Package backendtest is the conformance suite of the conveyor Backend port:
// the contract of backend/port.go's doc comments, stated as tests that every
// backend (memory, sqlite, postgres, redis, nats) must pass.
//
// A backend author calls Run from a _test.go file of the backend's package
// with a Factory that returns a fresh, migrated and isolated backend (its own
// temp file, schema, key prefix or stream prefix) and registers its cleanup:
//
//	func TestConformance(t *testing.T) {
//		backendtest.Run(t, func(t *testing.T) backend.Backend {
//			b, err := mybackend.New(t.Context(), mybackend.Config{Prefix: uniquePrefix(t)})
//			if err != nil {
//				backendtest.ServiceUnavailable(t, "MyStore", err)
//			}
//			t.Cleanup(func() { _ = b.Close() })
//			return b
//		})
//	}
//
// Run calls the factory once per test, and the tests run in parallel
// (t.Parallel), so the factory must be safe to call concurrently. Select one
// area or check with -run, e.g. go test -run 'TestConformance/Claim/Order'.
//
// The suite never reads the wall clock for backend logic: every call gets a
// Now derived from a fixed base time (2030-01-01 UTC) plus offsets, so the
// tests are deterministic and never sleep. Times are compared with 1 ms of
// tolerance (backends may store milliseconds), JSON with JSONEq (backends may
// re-encode it). Only capability-gated checks are skipped: TxEnqueue (the
// backend's Backend value must then also implement TxBeginner) and Wake.
//
// Areas and their files: Lifecycle (lifecycle.go), Enqueue (enqueue.go),
// Claim (claim.go), Finish (finish.go), Lease (lease.go), Rescue (rescue.go),
// Cancel (cancel.go), Retry (retry.go), Delete and Prune (prune.go), List
// (list.go), Queue (queue.go), Record (record.go), Tx (tx.go), Wake
// (wake.go).
//
// Where port.go leaves room, the suite reads its doc comments literally:
//   - an outcome or lease for an unknown job, a job that is not running or a
//     wrong token is listed in LeaseLost / Lost and changes nothing;
//   - LeaseExtend with nil Progress keeps the stored progress;
//   - the AttemptError JobRescue records mentions "lease" and "expired", with
//     the rescued attempt's number and At = Now;
//   - JobList pages hold 100 jobs by default and at most 1000; NextCursor is
//     empty on a page that is not full;
//   - RecordPut with IfVersion > 0 on an absent record is ErrConflict;
//   - QueueList lists a queue created by QueuePause even with no jobs;
//   - JobPrune's FinishedBefore is exclusive.
//
// The client-level end-to-end suite, RunClient, lives in client*.go.
package backendtest
