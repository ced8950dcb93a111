package redis

import (
	"context"
	"fmt"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"conveyor/backend"
)

// QueueList implements backend.Queues: one queue_stats script per queue,
// pipelined.
func (b *Backend) QueueList(ctx context.Context, p *backend.QueueListParams) (*backend.QueueListResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	queues, err := b.allQueues(ctx)
	if err != nil {
		return nil, err
	}
	slices.Sort(queues)
	res := &backend.QueueListResult{Queues: make([]backend.QueueInfo, 0, len(queues))}
	if len(queues) == 0 {
		return res, nil
	}
	cmds := make([]*goredis.Cmd, len(queues))
	if _, err := b.pipeline(ctx, func(pipe goredis.Pipeliner) {
		for i, q := range queues {
			cmds[i] = scriptQueueStats.EvalSha(ctx, pipe, b.queueKeys(q))
		}
	}); err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	states := []backend.JobState{backend.StateQueued, backend.StateScheduled, backend.StateRetrying,
		backend.StateRunning, backend.StateCompleted, backend.StateFailed, backend.StateCancelled}
	for i, q := range queues {
		vals, err := cmds[i].Slice()
		if err != nil || len(vals) != len(states)+2 {
			return nil, fmt.Errorf("queue %s stats: %v (%d values)", q, err, len(vals))
		}
		info := backend.QueueInfo{Name: q, Counts: make(map[backend.JobState]int64, len(states))}
		for n, s := range states {
			if c, _ := vals[n].(int64); c > 0 {
				info.Counts[s] = c
			}
		}
		paused, _ := vals[len(states)].(int64)
		info.Paused = paused == 1
		oldest, _ := vals[len(states)+1].(string)
		info.OldestQueuedAt = parseRs(oldest)
		res.Queues = append(res.Queues, info)
	}
	return res, nil
}

// QueuePause implements backend.Queues.
func (b *Backend) QueuePause(ctx context.Context, p *backend.QueuePauseParams) error {
	if err := b.check(); err != nil {
		return err
	}
	if _, err := b.pipeline(ctx, func(pipe goredis.Pipeliner) {
		pipe.SAdd(ctx, b.k.queues(), p.Queue)
		pipe.Set(ctx, b.queueKeys(p.Queue)[kPaused], "1", 0)
	}); err != nil {
		return fmt.Errorf("pause queue %s: %w", p.Queue, err)
	}
	return nil
}

// QueueResume implements backend.Queues. Resumed queues get a wake-up, since
// their queued jobs are claimable again.
func (b *Backend) QueueResume(ctx context.Context, p *backend.QueueResumeParams) error {
	if err := b.check(); err != nil {
		return err
	}
	if _, err := b.pipeline(ctx, func(pipe goredis.Pipeliner) {
		pipe.Del(ctx, b.queueKeys(p.Queue)[kPaused])
		pipe.Publish(ctx, b.k.wakeChannel(p.Queue), "1")
	}); err != nil {
		return fmt.Errorf("resume queue %s: %w", p.Queue, err)
	}
	return nil
}

// QueuePurge implements backend.Queues, in batches of Config.Batch jobs.
func (b *Backend) QueuePurge(ctx context.Context, p *backend.QueuePurgeParams) (*backend.QueuePurgeResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	res := &backend.QueuePurgeResult{}
	for {
		ids, err := b.run(ctx, scriptPurge, p.Queue, append(b.commonArgs(p.Queue, 1), b.batch)).StringSlice()
		if err != nil {
			return nil, fmt.Errorf("purge queue %s: %w", p.Queue, err)
		}
		res.Deleted += len(ids)
		if len(ids) < b.batch {
			return res, nil
		}
	}
}
