package worker

import (
	"errors"
	"fmt"
	"time"
)

// RetryAfterError makes the attempt fail and the job retry after Delay,
// instead of after the retry policy's backoff. The attempt counts: with no
// attempts left the job fails.
type RetryAfterError struct {
	// Delay is how long to wait before the next attempt.
	Delay time.Duration
}

// Error implements error.
func (e *RetryAfterError) Error() string { return fmt.Sprintf("retry after %s", e.Delay) }

// SnoozeError puts the job back to wait Delay without counting the attempt.
type SnoozeError struct {
	// Delay is how long the job waits; 0 puts it back in the queue at once.
	Delay time.Duration
}

// Error implements error.
func (e *SnoozeError) Error() string { return fmt.Sprintf("snooze %s", e.Delay) }

// CancelError ends the job cancelled (final, never retried), recording Err.
type CancelError struct {
	// Err is the reason, recorded as the attempt's error when not nil.
	Err error
}

// Error implements error.
func (e *CancelError) Error() string {
	if e.Err == nil {
		return "job cancelled"
	}
	return "job cancelled: " + e.Err.Error()
}

// Unwrap returns the reason.
func (e *CancelError) Unwrap() error { return e.Err }

// NoRetryError ends the job failed at once (final), whatever attempts are left.
type NoRetryError struct {
	// Err is the failure, recorded as the attempt's error.
	Err error
}

// Error implements error.
func (e *NoRetryError) Error() string {
	if e.Err == nil {
		return "failed without retry"
	}
	return e.Err.Error()
}

// Unwrap returns the failure.
func (e *NoRetryError) Unwrap() error { return e.Err }

// ErrTimeout is wrapped by the error recorded when an attempt ran past its
// timeout.
var ErrTimeout = errors.New("job timed out")

// PanicError is the error an attempt ends with when its handler panicked.
type PanicError struct {
	// Value is what the handler panicked with.
	Value any
	// Stack is the goroutine's stack at the panic.
	Stack string
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Causes of a handler context's cancellation by the runtime, read with
// context.Cause.
var (
	// ErrLeaseLost: the heartbeat found the lease gone (the job was rescued
	// and may run elsewhere); the outcome is dropped.
	ErrLeaseLost = errors.New("conveyor: lease lost; the job may run elsewhere")
	// ErrCancelRequested: someone cancelled the running job; it ends cancelled.
	ErrCancelRequested = errors.New("conveyor: job cancel requested")
	// ErrShutdown: the worker is shutting down past its grace period; the job
	// is handed back to the queue.
	ErrShutdown = errors.New("conveyor: worker shutting down")
)
