package memory

import (
	"cmp"
	"context"
	"slices"

	"conveyor/backend"
)

// QueueList returns every queue ordered by name. When Now is set it first
// promotes due scheduled and retrying jobs, so counts show what is claimable.
func (b *Backend) QueueList(ctx context.Context, p *backend.QueueListParams) (*backend.QueueListResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	res := &backend.QueueListResult{Queues: make([]backend.QueueInfo, 0, len(b.queues))}
	for _, q := range b.queues {
		if !p.Now.IsZero() {
			b.promoteQueue(q, p.Now, 0)
		}
		info := backend.QueueInfo{Name: q.name, Paused: q.paused, Counts: make(map[backend.JobState]int64, numStates)}
		for _, s := range backend.AllStates {
			if n := q.counts[stateIndex(s)]; n != 0 {
				info.Counts[s] = n
			}
		}
		// The ready heap is ordered by priority first, so the oldest run_at
		// takes a scan; QueueList is a metrics call, not a hot path.
		info.OldestQueuedAt = q.ready.minRunAt()
		res.Queues = append(res.Queues, info)
	}
	slices.SortFunc(res.Queues, func(x, y backend.QueueInfo) int { return cmp.Compare(x.Name, y.Name) })
	return res, nil
}

// QueuePause stops claims from a queue, creating it if needed.
func (b *Backend) QueuePause(ctx context.Context, p *backend.QueuePauseParams) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return err
	}
	b.queueFor(p.Queue).paused = true
	return nil
}

// QueueResume lets claims from a queue start again. Resuming a queue that
// does not exist does nothing.
func (b *Backend) QueueResume(ctx context.Context, p *backend.QueueResumeParams) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return err
	}
	if q := b.queues[p.Queue]; q != nil && q.paused {
		q.paused = false
		b.wake(q.name)
	}
	return nil
}

// QueuePurge deletes every job of a queue that is not running.
func (b *Backend) QueuePurge(ctx context.Context, p *backend.QueuePurgeParams) (*backend.QueuePurgeResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	res := &backend.QueuePurgeResult{}
	q := b.queues[p.Queue]
	if q == nil {
		return res, nil
	}
	for e := range b.jobs.all() {
		if e.q == q && e.State != backend.StateRunning {
			b.remove(e)
			res.Deleted++
		}
	}
	return res, nil
}
