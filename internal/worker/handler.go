package worker

import (
	"context"
	"encoding/json"
	"runtime/debug"
	"time"

	"conveyor/backend"
)

// Handler runs one attempt of a job and returns its JSON result.
type Handler interface {
	Work(ctx context.Context, job *backend.Job) (json.RawMessage, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, job *backend.Job) (json.RawMessage, error)

// Work calls f.
func (f HandlerFunc) Work(ctx context.Context, job *backend.Job) (json.RawMessage, error) {
	return f(ctx, job)
}

// Middleware wraps a Handler (logging, tracing, metrics, ...).
type Middleware func(next Handler) Handler

// Chain wraps h with mws so that mws[0] is the outermost.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// RetryPolicy says how long to wait before the next attempt of job after
// err ended the current one (job.Attempt is the attempt that failed).
type RetryPolicy interface {
	NextRetry(job *backend.Job, err error) time.Duration
}

// Kind is everything the runtime knows about one registered job kind.
type Kind struct {
	// Handler runs the job, middleware already applied.
	Handler Handler
	// Timeout bounds one attempt; 0 means the job's own timeout.
	Timeout time.Duration
	// MaxAttempts overrides the job's max_attempts when > 0.
	MaxAttempts int
	// RetryPolicy computes backoffs; nil means Config.RetryPolicy.
	RetryPolicy RetryPolicy
}

// maxStack bounds the stack excerpt recorded for a panic.
const maxStack = 8 << 10

// Execute runs h on job, turning a panic into a *PanicError carrying the
// stack so that the worker survives. It adds neither timeout nor job
// context: callers do (see NewJobContext).
func Execute(ctx context.Context, h Handler, job *backend.Job) (res json.RawMessage, err error) {
	defer func() {
		if r := recover(); r != nil {
			st := debug.Stack()
			if len(st) > maxStack {
				st = st[:maxStack]
			}
			res, err = nil, &PanicError{Value: r, Stack: string(st)}
		}
	}()
	return h.Work(ctx, job)
}
