package nats

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"conveyor/backend"

	"github.com/nats-io/nats.go/jetstream"
)

// queueRec is a queue's record in the queues bucket (key: qtok).
type queueRec struct {
	Name   string `json:"name"`
	Paused bool   `json:"paused,omitempty"`
	// Priorities lists every priority a job of the queue ever had; each has
	// its own ready subject and pull consumer, fetched highest first.
	Priorities []int `json:"priorities,omitempty"`
}

// getQueue reads a queue record (nil, 0 if absent).
func (b *Backend) getQueue(ctx context.Context, name string) (*queueRec, uint64, error) {
	e, err := b.queues.Get(ctx, qtok(name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, b.wrap("get queue "+name, err)
	}
	q := new(queueRec)
	if err := json.Unmarshal(e.Value(), q); err != nil {
		return nil, 0, fmt.Errorf("nats: decode queue %s: %w", name, err)
	}
	return q, e.Revision(), nil
}

// updateQueue applies fn to a queue's record (created if absent) with
// compare-and-set, retrying on conflict. fn returns false for "no change".
func (b *Backend) updateQueue(ctx context.Context, name string, fn func(q *queueRec) bool) error {
	for {
		q, rev, err := b.getQueue(ctx, name)
		if err != nil {
			return err
		}
		if q == nil {
			q = &queueRec{Name: name}
		}
		if !fn(q) && rev != 0 {
			return nil
		}
		data, err := json.Marshal(q)
		if err != nil {
			return err
		}
		if rev == 0 {
			_, err = b.queues.Create(ctx, qtok(name), data)
		} else {
			_, err = b.queues.Update(ctx, qtok(name), data, rev)
		}
		if err == nil {
			return nil
		}
		if !isConflict(err) {
			return b.wrap("update queue "+name, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// ensureQueues makes sure each (queue, priority) of jobs has its queue
// record and pull consumer. Known pairs cost nothing.
func (b *Backend) ensureQueues(ctx context.Context, jobs []*backend.Job) error {
	seen := map[string]bool{}
	for _, j := range jobs {
		k := j.Queue + "\x00" + strconv.Itoa(j.Priority)
		if seen[k] {
			continue
		}
		seen[k] = true
		if _, ok := b.knownPrio.Load(k); ok {
			continue
		}
		if _, err := b.consumer(ctx, j.Queue, j.Priority, true); err != nil {
			return err
		}
		prio := j.Priority
		err := b.updateQueue(ctx, j.Queue, func(q *queueRec) bool {
			if slices.Contains(q.Priorities, prio) {
				return false
			}
			q.Priorities = append(q.Priorities, prio)
			return true
		})
		if err != nil {
			return err
		}
		b.knownPrio.Store(k, struct{}{})
	}
	return nil
}

// Ready consumers' settings. AckWait only matters when a claimer dies
// between fetch and ack (or hand-back): its messages come back after
// AckWait, so it is short. A claim slower than AckWait is harmless: the
// record CAS, not the ack, decides who owns a job, and a redelivered
// message whose record is running is dropped.
const (
	consumerAckWait       = 5 * time.Second
	consumerMaxAckPending = 50000
)

// consumer reports whether the pull consumer of (queue, prio) exists,
// creating it when create is set.
func (b *Backend) consumer(ctx context.Context, queue string, prio int, create bool) (bool, error) {
	name := b.names.consumerName(queue, prio)
	if _, ok := b.consumers.Load(name); ok {
		return true, nil
	}
	_, err := b.ready.Consumer(ctx, name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) && create {
		_, err = b.ready.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
			Durable:       name,
			Description:   "conveyor ready jobs of queue " + queue + " priority " + strconv.Itoa(prio),
			FilterSubject: b.names.readySubject(queue, prio),
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       consumerAckWait,
			MaxAckPending: consumerMaxAckPending,
			DeliverPolicy: jetstream.DeliverAllPolicy,
		})
	}
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return false, nil
	}
	if err != nil {
		return false, b.wrap("consumer "+name, err)
	}
	b.consumers.Store(name, struct{}{})
	return true, nil
}

// QueuePause stops claims from a queue, creating its record if needed.
func (b *Backend) QueuePause(ctx context.Context, p *backend.QueuePauseParams) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	return b.updateQueue(ctx, p.Queue, func(q *queueRec) bool {
		changed := !q.Paused
		q.Paused = true
		return changed
	})
}

// QueueResume lets claims from a queue start again. Resuming an unknown
// queue does nothing.
func (b *Backend) QueueResume(ctx context.Context, p *backend.QueueResumeParams) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	q, _, err := b.getQueue(ctx, p.Queue)
	if err != nil || q == nil || !q.Paused {
		return err
	}
	err = b.updateQueue(ctx, p.Queue, func(q *queueRec) bool {
		changed := q.Paused
		q.Paused = false
		return changed
	})
	if err == nil {
		b.wake(p.Queue)
	}
	return err
}

// QueueList returns every queue with its counts per state. The counts come
// from a scan of the jobs bucket (O(jobs stored)): NATS KV has no secondary
// indexes or counters. Call it for dashboards and metrics at a modest rate.
func (b *Backend) QueueList(ctx context.Context, p *backend.QueueListParams) (*backend.QueueListResult, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	infos := map[string]*backend.QueueInfo{}
	get := func(name string) *backend.QueueInfo {
		qi := infos[name]
		if qi == nil {
			qi = &backend.QueueInfo{Name: name, Counts: map[backend.JobState]int64{}}
			infos[name] = qi
		}
		return qi
	}
	err := b.scan(ctx, b.queues, func(_ string, _ uint64, v []byte) error {
		var q queueRec
		if err := json.Unmarshal(v, &q); err != nil {
			return fmt.Errorf("nats: decode queue: %w", err)
		}
		get(q.Name).Paused = q.Paused
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = b.scanJobs(ctx, func(_ uint64, j *backend.Job) error {
		qi := get(j.Queue)
		qi.Counts[j.State]++
		if j.State == backend.StateQueued && (qi.OldestQueuedAt.IsZero() || j.RunAt.Before(qi.OldestQueuedAt)) {
			qi.OldestQueuedAt = j.RunAt
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res := &backend.QueueListResult{Queues: make([]backend.QueueInfo, 0, len(infos))}
	for _, qi := range infos {
		res.Queues = append(res.Queues, *qi)
	}
	slices.SortFunc(res.Queues, func(x, y backend.QueueInfo) int { return cmp.Compare(x.Name, y.Name) })
	return res, nil
}

// QueuePurge deletes every job of a queue that is not running (a scan of
// the jobs bucket; each delete is conditional on the revision read, so a
// job claimed meanwhile survives). Their ready messages are dropped by
// later claims.
func (b *Backend) QueuePurge(ctx context.Context, p *backend.QueuePurgeParams) (*backend.QueuePurgeResult, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	var victims []revJob
	err := b.scanJobs(ctx, func(rev uint64, j *backend.Job) error {
		if j.Queue == p.Queue && j.State != backend.StateRunning {
			victims = append(victims, revJob{rev, j})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	n, err := b.deleteJobs(ctx, victims)
	return &backend.QueuePurgeResult{Deleted: n}, err
}
