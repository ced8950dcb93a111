// Package memory is the in-memory reference backend of conveyor: every job,
// queue and record lives in process memory behind one mutex, and is lost when
// the process exits. It is what unit tests and demos use, and the yardstick
// the other backends are measured against by the conformance suite in
// backend/backendtest.
//
// Open it with the URL "memory:" (each Open returns a new, empty store) or
// with New.
//
// Capabilities: Wake (QueueWatch over channels); no transactional enqueue;
// NeedsPromoter is false because JobClaim itself moves due scheduled and
// retrying jobs of the queue it claims from into the ready heap, so nothing
// has to run JobPromote (it still works, and also wakes watchers); NeedsPruner
// is true because finished jobs stay until JobPrune removes them.
//
// Layout: each queue has a ready heap of queued jobs ordered by (priority
// desc, run_at asc, id asc) and a waiting heap of scheduled and retrying jobs
// ordered by run_at. A claim of k jobs costs O(k log n) plus the promotion of
// jobs that became due; a finish of k jobs costs O(k) (O(k log n) for retries
// and snoozes, which go back into a heap). Records handed to callers are deep
// copies, so callers cannot corrupt the store.
package memory
