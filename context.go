package conveyor

import (
	"context"
	"log/slog"

	"conveyor/internal/worker"
)

// JobFromContext returns the job a handler's context belongs to (id,
// attempt, enqueued and started times, ...), or nil outside a handler.
func JobFromContext(ctx context.Context) *JobRecord { return worker.JobFromContext(ctx) }

// LoggerFromContext returns the worker's logger with the job's id, kind,
// queue and attempt attached, or slog.Default() outside a handler.
func LoggerFromContext(ctx context.Context) *slog.Logger { return worker.LoggerFromContext(ctx) }

// SetProgress records the job's progress (any JSON-encodable value); it is
// stored with the next heartbeat. Outside a handler it returns an error.
func SetProgress(ctx context.Context, progress any) error { return worker.SetProgress(ctx, progress) }
