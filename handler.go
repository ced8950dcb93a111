package conveyor

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"conveyor/internal/worker"

	"github.com/google/uuid"
)

// Job is the typed job a handler registered with Register receives: the
// stored record plus its args decoded into T.
type Job[T any] struct {
	*JobRecord
	// Args are the job's args decoded into T (the record's raw JSON stays
	// reachable as JobRecord.Args).
	Args T
}

// Handler runs one attempt of a job and returns its JSON result. A returned
// error fails the attempt (retried per the RetryPolicy) unless it is one of
// the control-flow errors: RetryAfter, Snooze, Cancel, NoRetry.
type Handler = worker.Handler

// HandlerFunc adapts a function on raw JSON to Handler.
type HandlerFunc = worker.HandlerFunc

// Middleware wraps a Handler, like net/http middleware: logging, tracing,
// metrics and recovery are middleware.
type Middleware = worker.Middleware

// RetryPolicy says how long to wait before the next attempt of a job whose
// attempt (job.Attempt) ended with err.
type RetryPolicy = worker.RetryPolicy

// HandlerOptions are a kind's options. The zero value means: the job's own
// timeout and max_attempts, and DefaultRetryPolicy.
type HandlerOptions struct {
	// Timeout is the per-attempt timeout for this kind; 0 = the job's own timeout.
	Timeout time.Duration
	// MaxAttempts overrides the job's max_attempts; 0 = the job's own.
	MaxAttempts int
	// RetryPolicy computes backoffs; nil = DefaultRetryPolicy.
	RetryPolicy RetryPolicy
}

// Workers is the registry of job kinds and their handlers a Worker runs.
// Register every kind before building Workers from it; it is safe for
// concurrent use.
type Workers struct {
	mu         sync.RWMutex
	kinds      map[string]*kindEntry
	middleware []Middleware
}

type kindEntry struct {
	handler Handler
	opts    HandlerOptions
}

// NewWorkers returns an empty registry.
func NewWorkers() *Workers {
	return &Workers{kinds: map[string]*kindEntry{}}
}

// Handle registers h for kind. It fails on an invalid kind name, a nil
// handler or a kind registered already.
func (ws *Workers) Handle(kind string, h Handler, opts *HandlerOptions) error {
	if err := ValidateKind(kind); err != nil {
		return fmt.Errorf("register handler: %w", err)
	}
	if h == nil {
		return fmt.Errorf("register handler for %q: nil handler", kind)
	}
	var o HandlerOptions
	if opts != nil {
		o = *opts
	}
	if o.Timeout < 0 || o.MaxAttempts < 0 {
		return fmt.Errorf("register handler for %q: Timeout and MaxAttempts must not be negative", kind)
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if _, dup := ws.kinds[kind]; dup {
		return fmt.Errorf("register handler: kind %q is already registered", kind)
	}
	ws.kinds[kind] = &kindEntry{handler: h, opts: o}
	return nil
}

// Register registers a typed handler for kind: each job's args are decoded
// into T (a job whose args do not decode fails at once, without retries)
// and the R it returns is stored, JSON-encoded, as the job's result.
func Register[T any, R any](ws *Workers, kind string, fn func(ctx context.Context, job *Job[T]) (R, error), opts *HandlerOptions) error {
	if fn == nil {
		return fmt.Errorf("register handler for %q: nil function", kind)
	}
	h := HandlerFunc(func(ctx context.Context, rec *JobRecord) (json.RawMessage, error) {
		job := &Job[T]{JobRecord: rec}
		if err := json.Unmarshal(rec.Args, &job.Args); err != nil {
			return nil, NoRetry(fmt.Errorf("decode args of %s into %T: %w", rec.Kind, job.Args, err))
		}
		r, err := fn(ctx, job)
		if err != nil {
			return nil, err
		}
		out, err := json.Marshal(r)
		if err != nil {
			return nil, NoRetry(fmt.Errorf("encode result of %s (%T): %w", rec.Kind, r, err))
		}
		return out, nil
	})
	return ws.Handle(kind, h, opts)
}

// Use adds middleware applied to every kind of the registry, by every
// Worker built from it and by RunNow; the first added is the outermost.
// WorkerConfig.Middleware wraps outside these.
func (ws *Workers) Use(mw ...Middleware) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.middleware = append(ws.middleware, mw...)
}

// Kinds returns the registered kinds, sorted.
func (ws *Workers) Kinds() []string {
	ws.mu.RLock()
	defer ws.mu.RUnlock()
	out := make([]string, 0, len(ws.kinds))
	for k := range ws.kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Has reports whether kind is registered.
func (ws *Workers) Has(kind string) bool {
	ws.mu.RLock()
	defer ws.mu.RUnlock()
	_, ok := ws.kinds[kind]
	return ok
}

// runtimeKinds snapshots the registry for the runtime, with outer
// middleware (a Worker's) around the registry's own.
func (ws *Workers) runtimeKinds(outer []Middleware) map[string]*worker.Kind {
	ws.mu.RLock()
	defer ws.mu.RUnlock()
	mws := append(slices.Clone(outer), ws.middleware...)
	out := make(map[string]*worker.Kind, len(ws.kinds))
	for k, e := range ws.kinds {
		out[k] = &worker.Kind{
			Handler:     worker.Chain(e.handler, mws...),
			Timeout:     e.opts.Timeout,
			MaxAttempts: e.opts.MaxAttempts,
			RetryPolicy: e.opts.RetryPolicy,
		}
	}
	return out
}

// ErrUnknownKind is returned by RunNow for a kind that is not registered.
var ErrUnknownKind = fmt.Errorf("unknown job kind")

// RunNow runs a kind's handler once, in-process, without a backend (for
// `conveyor job run`), with the same decode, timeout, panic recovery and
// registry middleware as a worker; it returns the encoded result. args nil
// means {}. The handler sees a job with a fresh ID, attempt 1 of 1.
func (ws *Workers) RunNow(ctx context.Context, kind string, args json.RawMessage) (json.RawMessage, error) {
	kinds := ws.runtimeKinds(nil)
	k := kinds[kind]
	if k == nil {
		return nil, fmt.Errorf("run %q: %w (registered: %v)", kind, ErrUnknownKind, ws.Kinds())
	}
	if args == nil {
		args = json.RawMessage("{}")
	}
	if !json.Valid(args) {
		return nil, fmt.Errorf("run %q: %w: args are not valid JSON", kind, ErrInvalidJob)
	}
	timeout := k.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	now := time.Now()
	job := &JobRecord{
		ID:          uuid.Must(uuid.NewV7()).String(),
		Kind:        kind,
		Queue:       DefaultQueue,
		Args:        args,
		State:       StateRunning,
		Attempt:     1,
		MaxAttempts: 1,
		Timeout:     timeout,
		RunAt:       now,
		EnqueuedAt:  now,
		StartedAt:   now,
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := worker.Execute(worker.NewJobContext(ctx, job, nil), k.Handler, job)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("%w after %s: %w", worker.ErrTimeout, timeout, err)
		}
		return nil, fmt.Errorf("run %q: %w", kind, err)
	}
	return res, nil
}
