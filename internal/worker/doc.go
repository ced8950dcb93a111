// Package worker is conveyor's worker runtime behind the public conveyor.Worker:
// per-queue fetch loops that claim up to their free slots in one call, a
// bounded pool of goroutines running handlers, a completer that reports
// outcomes in batches, a heartbeat that extends every running lease in one
// call, and the graceful shutdown of DESIGN.md §3.10.
//
// It also defines the types handlers are written against (Handler,
// Middleware, RetryPolicy, the control-flow errors and the job context) so
// that the root package can alias them without an import cycle: the root
// imports this package, never the reverse.
package worker
