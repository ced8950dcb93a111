package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"conveyor/backend"
)

// QueueList reads every queue with its counts from the read pool: the
// queues table for names and pause flags, one covering-index scan for the
// counts and the oldest queued run_at.
func (b *Backend) QueueList(ctx context.Context, p *backend.QueueListParams) (*backend.QueueListResult, error) {
	if _, err := b.ready(); err != nil {
		return nil, err
	}
	// One read transaction, so names and counts come from one snapshot.
	tx, err := b.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, b.fail("queue list", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, sqlQueueNames)
	if err != nil {
		return nil, b.fail("queue list", err)
	}
	var (
		res   = &backend.QueueListResult{}
		index = map[string]int{}
	)
	for rows.Next() {
		var q backend.QueueInfo
		var paused int64
		if err := rows.Scan(&q.Name, &paused); err != nil {
			rows.Close()
			return nil, b.fail("queue list", err)
		}
		q.Paused = paused != 0
		q.Counts = map[backend.JobState]int64{}
		index[q.Name] = len(res.Queues)
		res.Queues = append(res.Queues, q)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, b.fail("queue list", err)
	}
	rows.Close()
	rows, err = tx.QueryContext(ctx, sqlQueueCounts)
	if err != nil {
		return nil, b.fail("queue list", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name, state string
			count       int64
			oldest      sql.NullInt64
		)
		if err := rows.Scan(&name, &state, &count, &oldest); err != nil {
			return nil, b.fail("queue list", err)
		}
		i, ok := index[name]
		if !ok { // jobs without a queues row (not written by this backend's enqueue)
			i = len(res.Queues)
			index[name] = i
			res.Queues = append(res.Queues, backend.QueueInfo{Name: name, Counts: map[backend.JobState]int64{}})
		}
		res.Queues[i].Counts[backend.JobState(state)] = count
		if backend.JobState(state) == backend.StateQueued && oldest.Valid {
			res.Queues[i].OldestQueuedAt = fromNS(oldest.Int64)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, b.fail("queue list", err)
	}
	slices.SortFunc(res.Queues, func(x, y backend.QueueInfo) int { return strings.Compare(x.Name, y.Name) })
	return res, nil
}

// QueuePause stops claims from a queue, creating its record if needed.
func (b *Backend) QueuePause(ctx context.Context, p *backend.QueuePauseParams) error {
	if _, err := b.ready(); err != nil {
		return err
	}
	if _, err := b.writer.ExecContext(ctx, sqlQueuePause, p.Queue); err != nil {
		return b.fail("queue pause "+p.Queue, err)
	}
	return nil
}

// QueueResume lets claims from a queue start again and wakes its watchers.
func (b *Backend) QueueResume(ctx context.Context, p *backend.QueueResumeParams) error {
	if _, err := b.ready(); err != nil {
		return err
	}
	if _, err := b.writer.ExecContext(ctx, sqlQueueResume, p.Queue); err != nil {
		return b.fail("queue resume "+p.Queue, err)
	}
	b.wake(p.Queue)
	return nil
}

// QueuePurge deletes every job of a queue that is not running.
func (b *Backend) QueuePurge(ctx context.Context, p *backend.QueuePurgeParams) (*backend.QueuePurgeResult, error) {
	if _, err := b.ready(); err != nil {
		return nil, err
	}
	r, err := b.writer.ExecContext(ctx, sqlQueuePurge, p.Queue)
	if err != nil {
		return nil, b.fail("queue purge "+p.Queue, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return nil, b.fail("queue purge "+p.Queue, err)
	}
	return &backend.QueuePurgeResult{Deleted: int(n)}, nil
}
