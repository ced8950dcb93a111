package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"conveyor/backend"
)

// JobValue is what a handler's context carries about its job: the record, a
// logger and the latest progress waiting for the next heartbeat.
type JobValue struct {
	job        *backend.Job
	baseLogger *slog.Logger
	logOnce    sync.Once
	logger     *slog.Logger
	// progress holds JSON set by SetProgress and not yet sent; the heartbeat
	// swaps it out.
	progress atomic.Pointer[json.RawMessage]
}

type jobKey struct{}

// jobCtx adds a JobValue to a context without a context.WithValue
// allocation: it lives inside the task it belongs to.
type jobCtx struct {
	context.Context
	v *JobValue
}

// Value returns the JobValue for the job key, and defers to the parent
// otherwise (including the cancelCtx lookups of the context package).
func (c *jobCtx) Value(k any) any {
	if _, ok := k.(jobKey); ok {
		return c.v
	}
	return c.Context.Value(k)
}

func (v *JobValue) init(job *backend.Job, logger *slog.Logger) {
	v.job = job
	v.baseLogger = logger
}

// NewJobContext returns parent carrying job and a logger derived from
// logger (nil: slog.Default()), as a handler sees it.
func NewJobContext(parent context.Context, job *backend.Job, logger *slog.Logger) context.Context {
	if logger == nil {
		logger = slog.Default()
	}
	v := &JobValue{}
	v.init(job, logger)
	return &jobCtx{Context: parent, v: v}
}

func valueFrom(ctx context.Context) *JobValue {
	v, _ := ctx.Value(jobKey{}).(*JobValue)
	return v
}

// JobFromContext returns the job a handler's context belongs to, or nil.
func JobFromContext(ctx context.Context) *backend.Job {
	if v := valueFrom(ctx); v != nil {
		return v.job
	}
	return nil
}

// LoggerFromContext returns a logger with the job's id, kind, queue and
// attempt, or slog.Default() outside a job. Built on first use: most
// handlers never log, and building it costs allocations.
func LoggerFromContext(ctx context.Context) *slog.Logger {
	v := valueFrom(ctx)
	if v == nil {
		return slog.Default()
	}
	v.logOnce.Do(func() {
		v.logger = v.baseLogger.With(jobAttrs(v.job)...)
	})
	return v.logger
}

func jobAttrs(j *backend.Job) []any {
	return []any{"job_id", j.ID, "kind", j.Kind, "queue", j.Queue, "attempt", j.Attempt}
}

// ErrNoJob is returned by SetProgress outside a job's context.
var ErrNoJob = errors.New("conveyor: context does not belong to a job")

// SetProgress records progress (encoded as JSON) to be stored with the
// job's next heartbeat.
func SetProgress(ctx context.Context, progress any) error {
	v := valueFrom(ctx)
	if v == nil {
		return ErrNoJob
	}
	var raw json.RawMessage
	switch p := progress.(type) {
	case json.RawMessage:
		raw = p
	default:
		b, err := json.Marshal(progress)
		if err != nil {
			return fmt.Errorf("encode progress: %w", err)
		}
		raw = b
	}
	if !backend.StorableJSON(raw) {
		// PostgreSQL refuses invalid UTF-8, and a refused value would fail
		// the whole heartbeat batch (every job of the worker losing its lease).
		return errors.New("conveyor: progress is not valid JSON in valid UTF-8")
	}
	v.progress.Store(&raw)
	return nil
}
