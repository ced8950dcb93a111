package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"conveyor/backend"
)

// JobEnqueue stores jobs, one outcome per insert in order. Beyond the port's
// unique-key rule, an insert whose ID is already stored is reported as a
// duplicate of that job: a producer that retries an enqueue after a timeout
// gets one job, not an error.
func (b *Backend) JobEnqueue(ctx context.Context, p *backend.JobEnqueueParams) (*backend.JobEnqueueResult, error) {
	// Copy the inserts outside the lock: one entry slice and one byte arena
	// for the whole batch keep allocations per batch, not per job. The price:
	// a batch's memory is freed only once all its jobs are deleted, which is
	// fine for a store whose jobs are pruned in roughly enqueue order.
	entries := make([]entry, len(p.Jobs))
	size := 0
	for i, in := range p.Jobs {
		if in == nil || in.ID == "" || in.Queue == "" || in.Kind == "" {
			return nil, fmt.Errorf("memory: enqueue: job %d needs an ID, a kind and a queue", i)
		}
		size += len(in.Args) + len(in.Meta)
	}
	arena := make([]byte, 0, size)
	for i, in := range p.Jobs {
		e := &entries[i]
		e.ID = in.ID
		e.Kind = in.Kind
		e.Queue = in.Queue
		e.Args, arena = carve(arena, in.Args)
		e.Meta, arena = carve(arena, in.Meta)
		e.Priority = in.Priority
		e.MaxAttempts = in.MaxAttempts
		e.Timeout = in.Timeout
		e.RunAt = in.RunAt
		if e.RunAt.IsZero() {
			e.RunAt = p.Now
		}
		e.UniqueKey = in.UniqueKey
		e.UniqueStates = slices.Clone(in.UniqueStates)
		e.Tags = slices.Clone(in.Tags)
		e.EnqueuedAt = p.Now
		e.State = backend.StateQueued
		if e.RunAt.After(p.Now) {
			e.State = backend.StateScheduled
		}
		e.idKey = newIDKey(e.ID)
	}

	res := &backend.JobEnqueueResult{Jobs: make([]backend.EnqueueOutcome, len(entries))}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	var woken *queue // the last queue signalled, to signal once per batch and queue
	for i := range entries {
		e := &entries[i]
		if old := b.jobs.getKey(e.ID, e.idKey); old != nil {
			res.Jobs[i] = backend.EnqueueOutcome{ID: old.ID, Duplicate: true, State: old.State}
			continue
		}
		if e.UniqueKey != "" {
			if holder := b.uniqueHolder(e.UniqueKey); holder != nil {
				res.Jobs[i] = backend.EnqueueOutcome{ID: holder.ID, Duplicate: true, State: holder.State}
				continue
			}
			b.unique[e.UniqueKey] = append(b.unique[e.UniqueKey], e)
		}
		e.q = b.queueFor(e.Queue)
		e.q.counts[stateIndex(e.State)]++
		b.jobs.put(e)
		b.link(e)
		res.Jobs[i] = backend.EnqueueOutcome{ID: e.ID, State: e.State}
		if e.State == backend.StateQueued && woken != e.q {
			b.wake(e.Queue)
			woken = e.q
		}
	}
	return res, nil
}

// uniqueHolder returns the job holding key, or nil. Callers hold b.mu.
func (b *Backend) uniqueHolder(key string) *entry {
	for _, x := range b.unique[key] {
		if x.HoldsUniqueKey() {
			return x
		}
	}
	return nil
}

// JobClaim takes up to Limit jobs from the queue's ready heap, first moving
// the queue's due scheduled and retrying jobs into it.
func (b *Backend) JobClaim(ctx context.Context, p *backend.JobClaimParams) (*backend.JobClaimResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	q := b.queues[p.Queue]
	if q == nil || q.paused || p.Limit <= 0 {
		return &backend.JobClaimResult{}, nil
	}
	b.promoteQueue(q, p.Now, 0)
	n := min(p.Limit, q.ready.live())
	if n == 0 {
		return &backend.JobClaimResult{}, nil
	}
	claimed := make([]*entry, 0, n)
	tokens := b.newTokens(n)
	expires := p.Now.Add(p.LeaseDuration)
	for _, token := range tokens {
		e := q.ready.popLive()
		if e == nil {
			break
		}
		e.setState(backend.StateRunning)
		e.Attempt++
		e.StartedAt = p.Now
		e.LeaseOwner = p.Owner
		e.LeaseToken = token
		e.LeaseExpiresAt = expires
		b.running.add(e)
		claimed = append(claimed, e)
	}
	return &backend.JobClaimResult{Jobs: cloneJobs(claimed)}, nil
}

// errUnknownOutcome is returned for an outcome the port does not define.
var errUnknownOutcome = errors.New("memory: unknown outcome")

// JobFinish applies fenced outcomes. The whole batch is checked for unknown
// outcomes first, so a bad batch changes nothing.
func (b *Backend) JobFinish(ctx context.Context, p *backend.JobFinishParams) (*backend.JobFinishResult, error) {
	for _, o := range p.Jobs {
		switch o.Outcome {
		case backend.OutcomeCompleted, backend.OutcomeRetry, backend.OutcomeFailed,
			backend.OutcomeCancelled, backend.OutcomeSnoozed:
		default:
			return nil, fmt.Errorf("%w %q for job %s", errUnknownOutcome, o.Outcome, o.ID)
		}
	}
	res := &backend.JobFinishResult{}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	var woken *queue
	for _, o := range p.Jobs {
		e := b.jobs.get(o.ID)
		if e == nil || e.State != backend.StateRunning || o.LeaseToken == "" || e.LeaseToken != o.LeaseToken {
			res.LeaseLost = append(res.LeaseLost, o.ID)
			continue
		}
		b.running.remove(e)
		e.clearLease()
		outcome := o.Outcome
		if e.CancelRequested && (outcome == backend.OutcomeRetry || outcome == backend.OutcomeSnoozed) {
			outcome = backend.OutcomeCancelled // cancelled while running: never again (DESIGN §2)
			res.Cancelled = append(res.Cancelled, o.ID)
		}
		if outcome == backend.OutcomeCancelled {
			e.CancelRequested = false // honoured
		}
		switch outcome {
		case backend.OutcomeCompleted:
			e.Result = cloneRaw(o.Result)
			e.finish(backend.StateCompleted, p.Now)
		case backend.OutcomeRetry:
			e.AppendError(o.Error, p.Now)
			e.RunAt = o.RunAt
			e.setState(backend.StateRetrying)
			e.q.waiting.push(e)
		case backend.OutcomeFailed:
			e.AppendError(o.Error, p.Now)
			e.finish(backend.StateFailed, p.Now)
		case backend.OutcomeCancelled:
			e.AppendError(o.Error, p.Now)
			e.finish(backend.StateCancelled, p.Now)
		case backend.OutcomeSnoozed:
			e.Attempt--
			e.RunAt = o.RunAt
			if e.RunAt.After(p.Now) {
				e.setState(backend.StateScheduled)
				e.q.waiting.push(e)
			} else {
				e.setState(backend.StateQueued)
				e.q.ready.push(e)
				if woken != e.q {
					b.wake(e.Queue)
					woken = e.q
				}
			}
		}
	}
	return res, nil
}

// finish moves e to a final state at now.
func (e *entry) finish(s backend.JobState, now time.Time) {
	e.setState(s)
	e.FinishedAt = now
}

// LeaseExtend pushes live leases to Now+Duration and stores progress.
func (b *Backend) LeaseExtend(ctx context.Context, p *backend.LeaseExtendParams) (*backend.LeaseExtendResult, error) {
	res := &backend.LeaseExtendResult{}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	expires := p.Now.Add(p.Duration)
	for _, l := range p.Leases {
		e := b.jobs.get(l.ID)
		if e == nil || e.State != backend.StateRunning || l.LeaseToken == "" || e.LeaseToken != l.LeaseToken {
			res.Lost = append(res.Lost, l.ID)
			continue
		}
		e.LeaseExpiresAt = expires
		if l.Progress != nil {
			e.Progress = cloneRaw(l.Progress)
		}
		if e.CancelRequested {
			res.CancelRequested = append(res.CancelRequested, l.ID)
		}
	}
	return res, nil
}

// JobRescue hands back running jobs whose lease expired before Now, the
// longest-expired first when Limit cuts the list.
func (b *Backend) JobRescue(ctx context.Context, p *backend.JobRescueParams) (*backend.JobRescueResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	var expired []*entry
	for e := b.running.head; e != nil; e = e.runNext {
		if e.LeaseExpiresAt.Before(p.Now) {
			expired = append(expired, e)
		}
	}
	slices.SortFunc(expired, func(x, y *entry) int {
		return cmp.Or(x.LeaseExpiresAt.Compare(y.LeaseExpiresAt), cmp.Compare(x.ID, y.ID))
	})
	if p.Limit > 0 && len(expired) > p.Limit {
		expired = expired[:p.Limit]
	}
	res := &backend.JobRescueResult{Jobs: make([]backend.RescuedJob, 0, len(expired))}
	for _, e := range expired {
		b.running.remove(e)
		owner := e.LeaseOwner
		e.clearLease()
		e.AppendError(&backend.AttemptError{
			Message: fmt.Sprintf("lease expired: worker %q neither finished nor extended it", owner),
		}, p.Now)
		switch {
		case e.CancelRequested:
			e.CancelRequested = false
			e.finish(backend.StateCancelled, p.Now)
		case e.Attempt < e.MaxAttempts:
			e.RunAt = p.Now
			e.setState(backend.StateQueued)
			e.q.ready.push(e)
			b.wake(e.Queue)
		default:
			e.finish(backend.StateFailed, p.Now)
		}
		res.Jobs = append(res.Jobs, backend.RescuedJob{ID: e.ID, Kind: e.Kind, Queue: e.Queue, State: e.State})
	}
	return res, nil
}

// JobPromote moves due scheduled and retrying jobs of every queue to queued.
// Claims do this lazily for their own queue, so running it is optional; it
// makes states and counts current and wakes watchers of the queues it fed.
func (b *Backend) JobPromote(ctx context.Context, p *backend.JobPromoteParams) (*backend.JobPromoteResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	res := &backend.JobPromoteResult{}
	for _, q := range b.queues {
		limit := 0
		if p.Limit > 0 {
			if res.Promoted >= p.Limit {
				break
			}
			limit = p.Limit - res.Promoted
		}
		if n := b.promoteQueue(q, p.Now, limit); n > 0 {
			res.Promoted += n
			b.wake(q.name)
		}
	}
	return res, nil
}

// promoteQueue moves up to limit (0: all) due jobs of q from the waiting
// heap to the ready heap and returns how many it moved. Callers hold b.mu.
func (b *Backend) promoteQueue(q *queue, now time.Time, limit int) int {
	n := 0
	for limit == 0 || n < limit {
		e := q.waiting.peekLive()
		if e == nil || e.RunAt.After(now) {
			break
		}
		q.waiting.popLive()
		e.setState(backend.StateQueued)
		q.ready.push(e)
		n++
	}
	return n
}

// JobGet returns a copy of one job.
func (b *Backend) JobGet(ctx context.Context, p *backend.JobGetParams) (*backend.Job, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	e := b.jobs.get(p.ID)
	if e == nil {
		return nil, fmt.Errorf("job %s: %w", p.ID, backend.ErrNotFound)
	}
	return cloneJob(e), nil
}

// JobList scans every job, which is fine for the reference backend: lists
// are an operator's view, not a hot path. It keeps only the limit+1 newest
// matches in a small heap (O(n log limit)), so a page of a large store does
// not sort the whole store. The cursor is the last ID of the page; IDs grow
// with enqueue time, so jobs inserted later sort before it and never shift
// the pages after it.
func (b *Backend) JobList(ctx context.Context, p *backend.JobListParams) (*backend.JobListResult, error) {
	limit := p.PageSize()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	// top is a min-heap by ID of the newest limit+1 matches: its root is the
	// oldest kept, replaced whenever a newer match turns up.
	top := make([]*entry, 0, limit+1)
	older := func(i, j int) bool { return top[i].ID < top[j].ID }
	for e := range b.jobs.all() {
		if !matches(e, p) {
			continue
		}
		if len(top) <= limit {
			top = append(top, e)
			siftUp(top, len(top)-1, older)
		} else if e.ID > top[0].ID {
			top[0] = e
			siftDown(top, 0, older)
		}
	}
	slices.SortFunc(top, func(x, y *entry) int { return cmp.Compare(y.ID, x.ID) })
	res := &backend.JobListResult{}
	if len(top) > limit {
		top = top[:limit]
		res.NextCursor = top[limit-1].ID
	}
	res.Jobs = cloneJobs(top)
	return res, nil
}

// siftUp and siftDown maintain a binary heap over s under less.
func siftUp[T any](s []T, i int, less func(i, j int) bool) {
	for i > 0 {
		p := (i - 1) / 2
		if !less(i, p) {
			return
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func siftDown[T any](s []T, i int, less func(i, j int) bool) {
	for {
		l := 2*i + 1
		if l >= len(s) {
			return
		}
		m := l
		if r := l + 1; r < len(s) && less(r, l) {
			m = r
		}
		if !less(m, i) {
			return
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
}

func matches(e *entry, p *backend.JobListParams) bool {
	switch {
	case p.Cursor != "" && e.ID >= p.Cursor,
		p.Queue != "" && e.Queue != p.Queue,
		p.Kind != "" && e.Kind != p.Kind,
		len(p.States) > 0 && !slices.Contains(p.States, e.State),
		p.Tag != "" && !slices.Contains(e.Tags, p.Tag),
		!p.EnqueuedAfter.IsZero() && e.EnqueuedAt.Before(p.EnqueuedAfter),
		!p.EnqueuedBefore.IsZero() && !e.EnqueuedAt.Before(p.EnqueuedBefore):
		return false
	}
	return true
}

// JobCancel cancels a waiting job at once, or flags a running one.
func (b *Backend) JobCancel(ctx context.Context, p *backend.JobCancelParams) (*backend.Job, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	e := b.jobs.get(p.ID)
	if e == nil {
		return nil, fmt.Errorf("cancel job %s: %w", p.ID, backend.ErrNotFound)
	}
	switch e.State {
	case backend.StateScheduled, backend.StateQueued, backend.StateRetrying:
		b.unlink(e)
		e.finish(backend.StateCancelled, p.Now)
	case backend.StateRunning:
		e.CancelRequested = true
	default:
		return nil, fmt.Errorf("cancel job %s in state %s: %w", p.ID, e.State, backend.ErrWrongState)
	}
	return cloneJob(e), nil
}

// JobRetry makes a final job queued again, or a waiting one due now.
func (b *Backend) JobRetry(ctx context.Context, p *backend.JobRetryParams) (*backend.Job, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	e := b.jobs.get(p.ID)
	if e == nil {
		return nil, fmt.Errorf("retry job %s: %w", p.ID, backend.ErrNotFound)
	}
	switch e.State {
	case backend.StateCompleted, backend.StateFailed, backend.StateCancelled:
		if e.Attempt >= e.MaxAttempts {
			e.MaxAttempts = e.Attempt + 1
		}
		e.FinishedAt = timeZero
		e.CancelRequested = false
	case backend.StateScheduled, backend.StateRetrying:
		b.unlink(e)
	default:
		return nil, fmt.Errorf("retry job %s in state %s: %w", p.ID, e.State, backend.ErrWrongState)
	}
	e.RunAt = p.Now
	e.setState(backend.StateQueued)
	e.q.ready.push(e)
	b.wake(e.Queue)
	return cloneJob(e), nil
}

// JobDelete removes a job that is not running.
func (b *Backend) JobDelete(ctx context.Context, p *backend.JobDeleteParams) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return err
	}
	e := b.jobs.get(p.ID)
	if e == nil {
		return fmt.Errorf("delete job %s: %w", p.ID, backend.ErrNotFound)
	}
	if e.State == backend.StateRunning {
		return fmt.Errorf("delete job %s: it is running: %w", p.ID, backend.ErrWrongState)
	}
	b.remove(e)
	return nil
}

// JobPrune deletes finished jobs of one final state; other states are never
// pruned. It scans every job: the pruner runs rarely.
func (b *Backend) JobPrune(ctx context.Context, p *backend.JobPruneParams) (*backend.JobPruneResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	res := &backend.JobPruneResult{}
	if !p.State.Final() {
		return res, nil
	}
	for e := range b.jobs.all() {
		if p.Limit > 0 && res.Deleted >= p.Limit {
			break
		}
		if e.State == p.State && e.FinishedAt.Before(p.FinishedBefore) {
			b.remove(e)
			res.Deleted++
		}
	}
	return res, nil
}
