package conveyor

import (
	"time"

	"conveyor/internal/worker"
)

// Control-flow errors (DESIGN.md §3.8). Handlers return them, possibly
// wrapped; the runtime finds them with errors.As.
type (
	// RetryAfterError is returned by RetryAfter.
	RetryAfterError = worker.RetryAfterError
	// SnoozeError is returned by Snooze.
	SnoozeError = worker.SnoozeError
	// CancelError is returned by Cancel.
	CancelError = worker.CancelError
	// NoRetryError is returned by NoRetry.
	NoRetryError = worker.NoRetryError
	// PanicError is the error of an attempt whose handler panicked; its
	// Stack is recorded in the job's AttemptError.
	PanicError = worker.PanicError
)

// ErrTimeout is wrapped by the error recorded for an attempt that ran past
// its timeout.
var ErrTimeout = worker.ErrTimeout

// RetryAfter fails the attempt and retries the job after d instead of the
// retry policy's backoff. The attempt counts: with none left the job fails.
func RetryAfter(d time.Duration) error { return &RetryAfterError{Delay: d} }

// Snooze puts the job back to run again after d without counting the
// attempt (d <= 0: back in the queue at once).
func Snooze(d time.Duration) error { return &SnoozeError{Delay: d} }

// Cancel ends the job cancelled, a final state: never retried. err, when not
// nil, is recorded as the attempt's error.
func Cancel(err error) error { return &CancelError{Err: err} }

// NoRetry ends the job failed at once, whatever attempts are left, recording
// err.
func NoRetry(err error) error { return &NoRetryError{Err: err} }
