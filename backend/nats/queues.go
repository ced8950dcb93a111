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
	// This process's claims stop guessing a first pull (prefetch.go);
	// another process's stop after their first claim sees the pause.
	b.top.forget(p.Queue)
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
// job claimed meanwhile survives), then purges the queue's ready subjects so
// claims do not have to wade through the messages of deleted jobs (each of
// which a claim would otherwise retry for about 2 s as possibly early).
//
// The stream purge only removes messages published before the scan began
// (a sequence bound), and afterwards every job of the queue still queued
// gets its ready message published again: a job whose message was published
// before the scan but whose record landed after it (or whose delete lost a
// compare-and-set) is not deleted, and must stay claimable. A duplicate
// message is harmless: the claim that finds its record already taken drops
// it as stale.
func (b *Backend) QueuePurge(ctx context.Context, p *backend.QueuePurgeParams) (*backend.QueuePurgeResult, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	info, err := b.ready.Info(ctx)
	if err != nil {
		return nil, b.wrap("purge "+p.Queue, err)
	}
	bound := info.State.LastSeq + 1
	var victims []revJob
	err = b.scanJobs(ctx, func(rev uint64, j *backend.Job) error {
		if j.Queue == p.Queue && j.State != backend.StateRunning {
			victims = append(victims, revJob{rev, j})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	n, err := b.deleteJobs(ctx, victims)
	if err != nil {
		return &backend.QueuePurgeResult{Deleted: n}, err
	}
	return &backend.QueuePurgeResult{Deleted: n}, b.purgeReady(ctx, p.Queue, bound)
}

// purgeReady removes the queue's ready messages below stream sequence bound
// and republishes one for each job of the queue that is still queued.
func (b *Backend) purgeReady(ctx context.Context, queue string, bound uint64) error {
	q, _, err := b.getQueue(ctx, queue)
	if err != nil || q == nil {
		return err
	}
	for _, prio := range q.Priorities {
		err := b.ready.Purge(ctx, jetstream.WithPurgeSubject(b.names.readySubject(queue, prio)), jetstream.WithPurgeSequence(bound))
		if err != nil {
			return b.wrap("purge ready "+queue, err)
		}
	}
	var ws []write
	err = b.scan(ctx, b.jobs, func(key string, _ uint64, v []byte) error {
		var sj storedJob
		if err := decodeJob(v, &sj); err != nil {
			return fmt.Errorf("nats: decode job %s: %w", key, err)
		}
		if sj.Queue == queue && sj.State == backend.StateQueued {
			ws = append(ws, write{subject: b.names.readySubject(queue, sj.Priority), data: readyPayload(sj.RunAt, sj.ID, sj.Gen), expect: expectNone})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(ws) == 0 {
		return nil
	}
	if err := firstErr(b.writeAll(ctx, ws)); err != nil {
		return fmt.Errorf("nats: purge %s: republish ready messages: %w", queue, err)
	}
	b.wake(queue)
	return nil
}
