package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"conveyor/backend"
)

// copyMinJobs is the batch size from which an enqueue without unique keys
// uses COPY: PostgreSQL then writes rows page by page (one WAL record per
// page, not per row, and no speculative insertion), at the price of one more
// round trip for the column types.
const copyMinJobs = 64

// copyColumns are the columns COPY fills; the others take their defaults.
var copyColumns = []string{"id", "kind", "queue", "args", "priority", "state", "max_attempts", "timeout_ns", "run_at",
	"unique_states", "unique_mask", "tags", "meta", "enqueued_at"}

// copyable reports whether a batch can take the COPY path: large enough and
// without unique keys (COPY cannot skip conflicts; the unique index would
// abort it).
func copyable(p *enqueueBatch) bool {
	if len(p.Jobs) < copyMinJobs {
		return false
	}
	for _, j := range p.Jobs {
		if j.UniqueKey != "" {
			return false
		}
	}
	return true
}

// copyJobs stores a batch with COPY, autocommitted. ok is false when a job
// ID already exists (a retried enqueue): nothing was stored and the caller
// takes the statement path, which reports those jobs as duplicates.
func (b *Backend) copyJobs(ctx context.Context, p *enqueueBatch) (res *backend.JobEnqueueResult, ok bool, err error) {
	if err := b.registerQueues(ctx, p.Jobs); err != nil {
		return nil, false, err
	}
	res = &backend.JobEnqueueResult{Jobs: make([]backend.EnqueueOutcome, len(p.Jobs))}
	rows := make([][]any, len(p.Jobs))
	for i, j := range p.Jobs {
		state := backend.StateQueued
		if j.RunAt.After(p.Nows[i]) {
			state = backend.StateScheduled
		}
		res.Jobs[i] = backend.EnqueueOutcome{ID: j.ID, State: state}
		var uniqueStates []string
		for _, s := range j.UniqueStates {
			uniqueStates = append(uniqueStates, string(s))
		}
		var tags, meta any
		if len(j.Tags) > 0 {
			t, err := json.Marshal(j.Tags)
			if err != nil {
				return nil, false, fmt.Errorf("postgres: enqueue: encode tags: %w", err)
			}
			tags = string(t)
		}
		if len(j.Meta) > 0 {
			meta = string(j.Meta)
		}
		rows[i] = []any{j.ID, j.Kind, j.Queue, string(j.Args), int32(j.Priority), string(state), int32(j.MaxAttempts),
			int64(j.Timeout), j.RunAt, uniqueStates, uniqueMask(j.UniqueStates), tags, meta, p.Nows[i]}
	}
	_, err = b.pool.CopyFrom(ctx, pgx.Identifier{b.cfg.Schema, "jobs"}, copyColumns, pgx.CopyFromRows(rows))
	if isUniqueViolation(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("postgres: enqueue (copy): %w", err)
	}
	return res, true, nil
}

// registerQueues records the batch's queues not yet known to be registered.
func (b *Backend) registerQueues(ctx context.Context, jobs []*backend.JobInsert) error {
	var queues []string
	for _, j := range jobs {
		if _, known := b.knownQueues.Load(j.Queue); !known && !containsString(queues, j.Queue) {
			queues = append(queues, j.Queue)
		}
	}
	if len(queues) == 0 {
		return nil
	}
	if _, err := b.pool.Exec(ctx, b.q.queueRegister, queues); err != nil {
		return fmt.Errorf("postgres: register queues %s: %w", strings.Join(queues, ", "), err)
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
