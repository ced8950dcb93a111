package postgres

import (
	"context"
	"fmt"
	"time"

	"conveyor/backend"
)

// QueueList implements backend.Queues.
func (b *Backend) QueueList(ctx context.Context, p *backend.QueueListParams) (*backend.QueueListResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	rows, err := b.pool.Query(ctx, b.q.queueList)
	if err != nil {
		return nil, fmt.Errorf("postgres: list queues: %w", err)
	}
	defer rows.Close()
	res := &backend.QueueListResult{}
	for rows.Next() {
		var (
			name   string
			paused bool
			state  *string
			n      int64
			oldest *time.Time
		)
		if err := rows.Scan(&name, &paused, &state, &n, &oldest); err != nil {
			return nil, fmt.Errorf("postgres: list queues: %w", err)
		}
		// Rows come ordered by name; one row per (queue, state).
		if len(res.Queues) == 0 || res.Queues[len(res.Queues)-1].Name != name {
			res.Queues = append(res.Queues, backend.QueueInfo{Name: name, Paused: paused, Counts: map[backend.JobState]int64{}})
		}
		q := &res.Queues[len(res.Queues)-1]
		if state != nil {
			q.Counts[backend.JobState(*state)] = n
		}
		if oldest != nil {
			q.OldestQueuedAt = oldest.UTC()
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list queues: %w", err)
	}
	return res, nil
}

// QueuePause implements backend.Queues.
func (b *Backend) QueuePause(ctx context.Context, p *backend.QueuePauseParams) error {
	if err := b.check(); err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, b.q.queuePause, p.Queue, true); err != nil {
		return fmt.Errorf("postgres: pause queue %q: %w", p.Queue, err)
	}
	return nil
}

// QueueResume implements backend.Queues.
func (b *Backend) QueueResume(ctx context.Context, p *backend.QueueResumeParams) error {
	if err := b.check(); err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, b.q.queuePause, p.Queue, false); err != nil {
		return fmt.Errorf("postgres: resume queue %q: %w", p.Queue, err)
	}
	b.wake.local(p.Queue)
	b.notifier.add(p.Queue)
	return nil
}

// QueuePurge implements backend.Queues.
func (b *Backend) QueuePurge(ctx context.Context, p *backend.QueuePurgeParams) (*backend.QueuePurgeResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	tag, err := b.pool.Exec(ctx, b.q.queuePurge, p.Queue)
	if err != nil {
		return nil, fmt.Errorf("postgres: purge queue %q: %w", p.Queue, err)
	}
	return &backend.QueuePurgeResult{Deleted: int(tag.RowsAffected())}, nil
}
