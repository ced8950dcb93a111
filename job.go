package conveyor

import "conveyor/backend"

// JobRecord is a job as stored: state, attempts, result, errors and lease.
// It is what Client.Get and Client.List return.
type JobRecord = backend.Job

// JobState is where a job is in its life.
type JobState = backend.JobState

// AttemptError records one failed attempt of a job.
type AttemptError = backend.AttemptError

// QueueInfo describes one queue: paused or not, and its job count per state.
type QueueInfo = backend.QueueInfo

// The job states (DESIGN.md §2).
const (
	StateScheduled = backend.StateScheduled
	StateQueued    = backend.StateQueued
	StateRunning   = backend.StateRunning
	StateRetrying  = backend.StateRetrying
	StateCompleted = backend.StateCompleted
	StateFailed    = backend.StateFailed
	StateCancelled = backend.StateCancelled
)

// Errors a Client returns, testable with errors.Is. They are the backend's
// sentinels, so the same check works whatever the backend.
var (
	// ErrNotFound: no job (or queue) with that identity.
	ErrNotFound = backend.ErrNotFound
	// ErrWrongState: the operation does not apply to the job in its state.
	ErrWrongState = backend.ErrWrongState
	// ErrUnsupportedTx: EnqueueTx was given a transaction the backend cannot use.
	ErrUnsupportedTx = backend.ErrUnsupportedTx
)
