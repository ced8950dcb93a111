package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"conveyor/backend"
)

// JobEnqueue implements backend.Jobs: one enqueue script call per queue,
// which stores the jobs, indexes them, enforces unique keys and publishes
// the wake-up. Small enqueues from concurrent callers share calls (see
// coalescer). A single-queue call is one EVALSHA; several queues, or a queue
// due to be (re-)added to the queues set (see registerQueue), go out in one
// pipelined round trip.
func (b *Backend) JobEnqueue(ctx context.Context, p *backend.JobEnqueueParams) (*backend.JobEnqueueResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	now := now(p.Now)
	r := &enqueueReq{jobs: p.Jobs, values: make([]any, 0, enqueueArgs*len(p.Jobs)),
		res: make([]backend.EnqueueOutcome, len(p.Jobs))}
	for i, j := range p.Jobs {
		var err error
		if r.values, err = appendEnqueueValues(r.values, j, now); err != nil {
			return nil, fmt.Errorf("enqueue: job %d: %w", i, err)
		}
	}
	if len(p.Jobs) == 0 {
		return &backend.JobEnqueueResult{Jobs: r.res}, nil
	}
	if len(p.Jobs) > coalesceMax {
		b.enqueueGroup(ctx, []*enqueueReq{r})
		return r.result()
	}
	if err := b.co.submit(ctx, r); err != nil {
		return nil, err
	}
	return r.result()
}

// enqueueGroup stores the jobs of several requests in one round trip (one
// script call per queue) and fills in each request's outcomes or error.
func (b *Backend) enqueueGroup(ctx context.Context, reqs []*enqueueReq) {
	type pos struct {
		req *enqueueReq
		i   int
	}
	var queues []string
	byQueue := map[string][]pos{}
	for _, r := range reqs {
		for i, j := range r.jobs {
			if _, ok := byQueue[j.Queue]; !ok {
				queues = append(queues, j.Queue)
			}
			byQueue[j.Queue] = append(byQueue[j.Queue], pos{r, i})
		}
	}
	argsByQueue := make([][]any, len(queues))
	var newQueues []any
	for qi, q := range queues {
		ps := byQueue[q]
		head := b.names(q).enqueueCall
		args := append(make([]any, 0, len(head)+enqueueArgs*len(ps)), head...)
		if len(queues) == 1 {
			for _, r := range reqs { // every job in order: whole requests
				args = append(args, r.values...)
			}
		} else {
			for _, p := range ps {
				args = append(args, p.req.values[enqueueArgs*p.i:enqueueArgs*(p.i+1)]...)
			}
		}
		argsByQueue[qi] = args
		if b.registerQueue(q) {
			newQueues = append(newQueues, q)
		}
	}
	fail := func(err error) {
		for _, r := range reqs {
			r.err = err
			if r.done != nil {
				close(r.done)
			}
		}
	}
	scripts := make([]*goredis.Cmd, len(queues))
	var err error
	if len(queues) == 1 && len(newQueues) == 0 {
		scripts[0], err = b.evalSha(ctx, argsByQueue[0])
	} else {
		_, err = b.pipeline(ctx, func(pipe goredis.Pipeliner) {
			if len(newQueues) > 0 {
				pipe.SAdd(ctx, b.k.queues(), newQueues...)
			}
			for qi := range queues {
				scripts[qi] = pipe.Do(ctx, argsByQueue[qi]...)
			}
		})
	}
	if err != nil {
		fail(fmt.Errorf("enqueue: %w", err))
		return
	}
	b.confirmQueues(newQueues)
	for qi, q := range queues {
		ps := byQueue[q]
		outs, err := enqueueOutcomes(scripts[qi], len(ps), func(n int) string { return ps[n].req.jobs[ps[n].i].ID })
		if err != nil {
			fail(fmt.Errorf("enqueue: %w", err))
			return
		}
		ids := make([]string, len(ps))
		for n, p := range ps {
			p.req.res[p.i] = outs[n]
			ids[n] = outs[n].ID // a holder is in the same queue
		}
		b.idQueue.putAll(q, ids)
	}
	for _, r := range reqs {
		if r.done != nil {
			close(r.done)
		}
	}
}

// enqueueOutcomes decodes enqueue.lua's reply for n jobs; id(i) is the
// ID job i was sent with.
func enqueueOutcomes(cmd *goredis.Cmd, n int, id func(int) string) ([]backend.EnqueueOutcome, error) {
	vals, err := cmd.Slice()
	if err != nil {
		return nil, err
	}
	var codes string
	if len(vals) > 0 {
		codes, _ = vals[0].(string)
	}
	if len(codes) != n {
		return nil, fmt.Errorf("script returned %d outcomes for %d jobs", len(codes), n)
	}
	outs := make([]backend.EnqueueOutcome, n)
	held := vals[1:]
	for i := range outs {
		switch codes[i] {
		case 'q':
			outs[i] = backend.EnqueueOutcome{ID: id(i), State: backend.StateQueued}
		case 's':
			outs[i] = backend.EnqueueOutcome{ID: id(i), State: backend.StateScheduled}
		default: // 'd': the state and ID of the job holding its place
			if len(held) < 2 {
				return nil, fmt.Errorf("script returned too few holders for %d jobs", n)
			}
			state, _ := held[0].(string)
			holder, _ := held[1].(string)
			held = held[2:]
			outs[i] = backend.EnqueueOutcome{ID: holder, State: backend.JobState(state), Duplicate: true}
		}
	}
	return outs, nil
}

// evalSha sends one prepared EVALSHA (a queueNames call head and its
// ARGV): unlike goredis.Script.Run it takes the whole argument list as
// built, so the keys and common arguments, boxed once per queue, are not
// boxed and copied again per call. A server that lost its scripts
// (NOSCRIPT: the script did not run) gets them all again and the call is
// sent once more.
func (b *Backend) evalSha(ctx context.Context, args []any) (*goredis.Cmd, error) {
	cmd := b.rdb.Do(ctx, args...)
	if isNoScript(cmd.Err()) {
		if err := loadScripts(ctx, b.rdb); err != nil {
			return cmd, err
		}
		cmd = b.rdb.Do(ctx, args...)
	}
	return cmd, cmd.Err()
}

// queueRefresh is how often a process re-adds a queue it enqueues to to the
// queues set: often enough that a set deleted under a running process (keys
// removed by hand) heals within seconds, rarely enough to cost nothing.
const queueRefresh = 5 * time.Second

// registerQueue reports whether an enqueue should add queue to the
// queues set: until a SADD of it is confirmed in this process, or when the
// confirmation is older than queueRefresh. It only reads: marking the queue
// on the attempt would let a concurrent call to the same queue skip the
// SADD and store a job in an unregistered queue if the attempt then failed.
func (b *Backend) registerQueue(queue string) bool {
	wall := time.Now() // process-local bookkeeping, not job logic: the wall clock is right here
	last, ok := b.queueSeen.Load(queue)
	return !ok || wall.Sub(last.(time.Time)) >= queueRefresh
}

// confirmQueues records that queues are in the queues set: the round trip
// carrying their (idempotent) SADD succeeded.
func (b *Backend) confirmQueues(queues []any) {
	wall := time.Now() // process-local bookkeeping, as in registerQueue
	for _, q := range queues {
		b.queueSeen.Store(q, wall)
	}
}
