package nats

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"conveyor/backend"

	"github.com/nats-io/nats.go/jetstream"
)

// scan calls fn with every live key of a bucket (a KV watch that delivers
// the latest value of each key, then stops).
func (b *Backend) scan(ctx context.Context, kv jetstream.KeyValue, fn func(key string, rev uint64, value []byte) error, opts ...jetstream.WatchOpt) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := kv.WatchAll(ctx, append([]jetstream.WatchOpt{jetstream.IgnoreDeletes()}, opts...)...)
	if err != nil {
		return b.wrap("scan "+kv.Bucket(), err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return b.wrap("scan "+kv.Bucket(), errors.New("watch ended early"))
			}
			if e == nil {
				return nil // every current value was delivered
			}
			if err := fn(e.Key(), e.Revision(), e.Value()); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// scanJobs decodes every stored job. O(jobs stored): used by list, queue
// counts, purge and prune, never by enqueue, claim or finish.
func (b *Backend) scanJobs(ctx context.Context, fn func(rev uint64, j *backend.Job) error) error {
	return b.scan(ctx, b.jobs, func(key string, rev uint64, v []byte) error {
		var sj storedJob
		if err := decodeJob(v, &sj); err != nil {
			return fmt.Errorf("nats: decode job %s: %w", key, err)
		}
		return fn(rev, &sj.Job)
	})
}

// stateFilter is the text every record in state st holds: this backend
// writes records with encoding/json, which emits the state field as
// "state":"<st>" with no spaces. A record without it is not in st; one with
// it (the text may also occur in args or meta) still has to be decoded.
func stateFilter(st backend.JobState) []byte {
	return []byte(`"state":"` + string(st) + `"`)
}

// revJob is a job with the revision it was read at.
type revJob struct {
	rev uint64
	job *backend.Job
}

// deleteJobs deletes jobs, each conditional on its revision (a job changed
// since it was read is kept), and cleans their index entries. It returns
// how many were deleted.
func (b *Backend) deleteJobs(ctx context.Context, victims []revJob) (int, error) {
	ws := make([]write, len(victims))
	for i, v := range victims {
		ws[i] = write{subject: kvSubject(b.names.jobsBucket(), v.job.ID), del: true, expect: v.rev}
	}
	rs := b.writeAll(ctx, ws)
	if err := firstErr(rs); err != nil {
		return 0, err
	}
	n := 0
	var gone []*backend.Job
	var idx []write
	for i, r := range rs {
		if r.err != nil {
			continue
		}
		n++
		j := victims[i].job
		gone = append(gone, j)
		if j.State == backend.StateScheduled || j.State == backend.StateRetrying {
			idx = append(idx, write{subject: kvSubject(b.names.schedBucket(), schedKey(j.RunAt, j.ID)), del: true, expect: expectNone})
		}
	}
	if len(idx) > 0 {
		b.writeAll(ctx, idx)
	}
	b.releaseUnique(ctx, gone)
	return n, nil
}

// JobGet returns one job.
func (b *Backend) JobGet(ctx context.Context, p *backend.JobGetParams) (*backend.Job, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	e := b.getJob(ctx, p.ID)
	if e.err != nil {
		return nil, e.err
	}
	if e.job == nil {
		return nil, fmt.Errorf("job %s: %w", p.ID, backend.ErrNotFound)
	}
	return e.job, nil
}

// JobList scans the jobs bucket (O(jobs stored) per page: NATS KV has no
// secondary index), keeps the matches and returns them newest first. The
// cursor is the last ID of the page: IDs are UUIDv7 and grow with enqueue
// time, so jobs inserted later sort before it and never shift later pages.
func (b *Backend) JobList(ctx context.Context, p *backend.JobListParams) (*backend.JobListResult, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	limit := p.PageSize()
	var match []*backend.Job
	err := b.scanJobs(ctx, func(_ uint64, j *backend.Job) error {
		if matches(j, p) {
			match = append(match, j)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(match, func(x, y *backend.Job) int { return cmp.Compare(y.ID, x.ID) })
	res := &backend.JobListResult{}
	if len(match) > limit {
		match = match[:limit]
		res.NextCursor = match[limit-1].ID
	}
	res.Jobs = match
	return res, nil
}

func matches(j *backend.Job, p *backend.JobListParams) bool {
	switch {
	case p.Cursor != "" && j.ID >= p.Cursor,
		p.Queue != "" && j.Queue != p.Queue,
		p.Kind != "" && j.Kind != p.Kind,
		len(p.States) > 0 && !slices.Contains(p.States, j.State),
		p.Tag != "" && !slices.Contains(j.Tags, p.Tag),
		!p.EnqueuedAfter.IsZero() && j.EnqueuedAt.Before(p.EnqueuedAfter),
		!p.EnqueuedBefore.IsZero() && !j.EnqueuedAt.Before(p.EnqueuedBefore):
		return false
	}
	return true
}

// one runs a single-job transition and maps its outcome to the port's errors.
func (b *Backend) one(ctx context.Context, op, id string, apply func(j *backend.Job) error) (*backend.Job, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	s := &step{id: id, apply: apply}
	if err := b.transition(ctx, []*step{s}); err != nil {
		return nil, err
	}
	switch {
	case errors.Is(s.err, errMissing):
		return nil, fmt.Errorf("%s job %s: %w", op, id, backend.ErrNotFound)
	case s.err != nil:
		return nil, fmt.Errorf("%s job %s: %w", op, id, s.err)
	}
	return s.job, nil
}

// JobCancel cancels a waiting job at once, or flags a running one.
func (b *Backend) JobCancel(ctx context.Context, p *backend.JobCancelParams) (*backend.Job, error) {
	return b.one(ctx, "cancel", p.ID, func(j *backend.Job) error {
		switch j.State {
		case backend.StateScheduled, backend.StateQueued, backend.StateRetrying:
			j.State = backend.StateCancelled
			j.FinishedAt = p.Now
		case backend.StateRunning:
			j.CancelRequested = true
		default:
			return fmt.Errorf("state %s: %w", j.State, backend.ErrWrongState)
		}
		return nil
	})
}

// JobRetry makes a final job queued again, or a waiting one due now.
func (b *Backend) JobRetry(ctx context.Context, p *backend.JobRetryParams) (*backend.Job, error) {
	return b.one(ctx, "retry", p.ID, func(j *backend.Job) error {
		switch j.State {
		case backend.StateCompleted, backend.StateFailed, backend.StateCancelled:
			if j.Attempt >= j.MaxAttempts {
				j.MaxAttempts = j.Attempt + 1
			}
			j.FinishedAt = time.Time{}
			j.CancelRequested = false
		case backend.StateScheduled, backend.StateRetrying:
		default:
			return fmt.Errorf("state %s: %w", j.State, backend.ErrWrongState)
		}
		j.RunAt = p.Now
		j.State = backend.StateQueued
		return nil
	})
}

// JobDelete removes a job that is not running.
func (b *Backend) JobDelete(ctx context.Context, p *backend.JobDeleteParams) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	for range maxRounds {
		e := b.getJob(ctx, p.ID)
		if e.err != nil {
			return e.err
		}
		if e.job == nil {
			return fmt.Errorf("delete job %s: %w", p.ID, backend.ErrNotFound)
		}
		if e.job.State == backend.StateRunning {
			return fmt.Errorf("delete job %s: it is running: %w", p.ID, backend.ErrWrongState)
		}
		n, err := b.deleteJobs(ctx, []revJob{{e.rev, e.job}})
		if err != nil {
			return err
		}
		if n == 1 {
			return nil
		}
	}
	return fmt.Errorf("nats: delete job %s: %w (record kept changing)", p.ID, errCASConflict)
}

// JobPrune deletes up to Limit jobs in a final State finished before
// FinishedBefore. It scans the jobs bucket; the pruner runs rarely.
// Deleted keys leave KV delete markers until the bucket is compacted.
func (b *Backend) JobPrune(ctx context.Context, p *backend.JobPruneParams) (*backend.JobPruneResult, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	res := &backend.JobPruneResult{}
	if !p.State.Final() {
		return res, nil
	}
	var victims []revJob
	// The pruner runs this for each final state when a worker starts and
	// every minute, beside the worker's claims: the scan reads the stream
	// in order (scanStream), and records that cannot be in the state are
	// neither kept nor decoded (stateFilter).
	want := stateFilter(p.State)
	keep := func(v []byte) bool { return bytes.Contains(v, want) }
	err := b.scanStream(ctx, b.names.jobsBucket(), keep, func(key string, rev uint64, v []byte) error {
		var sj storedJob
		if err := decodeJob(v, &sj); err != nil {
			return fmt.Errorf("nats: decode job %s: %w", key, err)
		}
		if j := &sj.Job; j.State == p.State && j.FinishedAt.Before(p.FinishedBefore) {
			victims = append(victims, revJob{rev, j})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Oldest first, so a Limit prunes the longest-finished.
	slices.SortFunc(victims, func(x, y revJob) int { return x.job.FinishedAt.Compare(y.job.FinishedAt) })
	if p.Limit > 0 && len(victims) > p.Limit {
		victims = victims[:p.Limit]
	}
	res.Deleted, err = b.deleteJobs(ctx, victims)
	return res, err
}
