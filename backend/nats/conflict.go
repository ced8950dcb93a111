package nats

import (
	"context"
	"errors"
	"fmt"

	"conveyor/backend"

	"github.com/nats-io/nats.go/jetstream"
)

// resolveConflict handles an insert whose record create met an existing
// key. A stored record makes the insert a duplicate of it, and the ready
// message that re-announces it if queued is returned to be published with
// the batch's others. A delete marker (JobDelete, or an enqueue undone by
// undoUnannounced) makes it a new job: the record is created again.
func (b *Backend) resolveConflict(ctx context.Context, j *backend.Job, rec []byte) (backend.EnqueueOutcome, []write, error) {
	for range maxRounds {
		e := b.getJob(ctx, j.ID)
		if e.err != nil {
			return backend.EnqueueOutcome{}, nil, e.err
		}
		if e.job != nil {
			return backend.EnqueueOutcome{ID: j.ID, Duplicate: true, State: e.job.State}, b.healReady(e), nil
		}
		out, err := b.recreate(ctx, j, rec)
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return out, nil, err
		}
		// Recreated meanwhile by a concurrent retry: a duplicate of it.
	}
	return backend.EnqueueOutcome{}, nil, fmt.Errorf("nats: enqueue job %s: %w (record kept changing)", j.ID, errCASConflict)
}

// healReady is the ready message that re-announces e's job when it is
// queued (none otherwise). It heals a job whose first enqueue stopped
// between its record and its message; a spare one is harmless, a claim
// drops a message whose record it cannot move.
func (b *Backend) healReady(e entry) []write {
	if e.job == nil || e.job.State != backend.StateQueued {
		return nil
	}
	return []write{{subject: b.names.readySubject(e.job.Queue, e.job.Priority), data: readyPayload(e.job.RunAt, e.job.ID, e.gen), expect: expectNone}}
}

// recreate stores j's record (encoded as rec) over its key's delete
// marker: KV Create writes conditional on the marker's revision, where
// store's "must not exist" write conflicts with the marker. It then
// announces a queued job; if that fails the record is deleted again, as
// undoUnannounced does. ErrKeyExists means a record appeared meanwhile.
func (b *Backend) recreate(ctx context.Context, j *backend.Job, rec []byte) (backend.EnqueueOutcome, error) {
	rev, err := b.jobs.Create(ctx, j.ID, rec)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return backend.EnqueueOutcome{}, err
	}
	if err != nil {
		return backend.EnqueueOutcome{}, b.wrap("recreate job "+j.ID, err)
	}
	if j.State == backend.StateQueued {
		if err := firstErr(b.writeAll(ctx, []write{b.carriedReady(j, rev, rec)})); err != nil {
			b.writeAll(ctx, []write{{subject: kvSubject(b.names.jobsBucket(), j.ID), del: true, expect: rev}})
			return backend.EnqueueOutcome{}, fmt.Errorf("nats: enqueue: %w", err)
		}
	}
	return backend.EnqueueOutcome{ID: j.ID, State: j.State}, nil
}
