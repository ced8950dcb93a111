package redis

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"conveyor/backend"
)

// coalesceMax is the largest enqueue that may share a script call with
// concurrent ones; bigger batches go out on their own.
const coalesceMax = 64

// enqueueReq is one JobEnqueue call waiting for a shared script call.
type enqueueReq struct {
	jobs   []*backend.JobInsert
	values []any // enqueueArgs per job, from appendEnqueueValues
	res    []backend.EnqueueOutcome
	err    error
	done   chan struct{} // closed by send once res or err is set
}

func (r *enqueueReq) result() (*backend.JobEnqueueResult, error) {
	if r.err != nil {
		return nil, r.err
	}
	return &backend.JobEnqueueResult{Jobs: r.res}, nil
}

// coalescer groups concurrent small enqueues (group commit) while keeping
// up to max script calls in flight. A caller that finds a free slot sends
// its request (with any that wait) at once, so a lone enqueue waits for
// nothing; callers arriving while every slot is busy wait and go together
// in the next call a slot frees. Several calls in flight keep both the
// server and the client busy (one call at a time left 16 concurrent callers
// bound by round-trip latency), and sharing calls when they are all busy
// spreads the per-call cost over many jobs. Every caller still returns only
// after its own jobs are stored.
type coalescer struct {
	max int
	// send stores the jobs of the requests in one round trip and fills in
	// each one's outcome or error, closing its done channel.
	send func(ctx context.Context, reqs []*enqueueReq)

	mu       sync.Mutex
	pending  []*enqueueReq
	inFlight int
}

// submit stores r's jobs, alone or together with other waiting requests,
// and returns once they are stored (or ctx ends while r waits for a slot).
func (c *coalescer) submit(ctx context.Context, r *enqueueReq) error {
	r.done = make(chan struct{})
	c.mu.Lock()
	c.pending = append(c.pending, r)
	if c.inFlight >= c.max {
		c.mu.Unlock()
		select {
		case <-r.done:
			return nil
		case <-ctx.Done():
			return c.withdraw(ctx, r)
		}
	}
	c.inFlight++
	batch := c.pending
	c.pending = nil
	c.mu.Unlock()
	sctx := ctx
	if len(batch) > 1 {
		sctx = context.WithoutCancel(ctx) // others' jobs ride on this call
	}
	c.send(sctx, batch)
	c.release()
	return nil
}

// withdraw takes r back from the waiting requests when its caller's ctx
// ended before any call took it: its jobs are then certainly not stored,
// and no later call reads them after the caller has returned. A request
// already taken rides on a call in flight, whose outcome it cannot wait
// for.
func (c *coalescer) withdraw(ctx context.Context, r *enqueueReq) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range c.pending {
		if p == r {
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			return fmt.Errorf("enqueue: %w (nothing was stored)", ctx.Err())
		}
	}
	return fmt.Errorf("enqueue: %w (the jobs may still be stored)", ctx.Err())
}

// release hands the caller's slot to the requests that queued up meanwhile
// (sent by a goroutine: this caller is done) or frees it.
func (c *coalescer) release() {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.inFlight--
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	go c.drain()
}

// drain sends waiting requests with the slot it was handed until none wait.
//
// Before taking the waiting requests it yields the processor once: the
// callers the previous call just released are runnable then, and most of
// them submit their next jobs before the drain resumes, so those ride in
// this call instead of the next one. With 16 concurrent single enqueues
// on 2 CPUs that took a call from ~8 to ~13 jobs, and the Go and server
// CPU per job down by about a sixth (see doc.go).
func (c *coalescer) drain() {
	for {
		runtime.Gosched()
		c.mu.Lock()
		batch := c.pending
		c.pending = nil
		if len(batch) == 0 {
			c.inFlight--
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.send(context.Background(), batch)
	}
}

// enqueueCallsInFlight is how many enqueue script calls the coalescer keeps
// in flight: one per two CPUs of this process, and at least two. Every
// call costs the server and the client a round trip's system calls and the
// script's fixed work, and more calls split the same callers into smaller
// batches; but with one call in flight the server sits idle while the
// client turns a reply into the next call, and with a server across a
// network each round trip is longer still. Measured with 16 concurrent
// callers on 2 CPUs, the server on the same machine (bench insert, 60k
// jobs, interleaved with asynq, 2026-12-05 13:25-13:41 UTC): idle, one call
// in flight carried ~11 jobs per call at 35-43k jobs/s, two ~6-7 at
// 44-51k, three ~4 at 46-55k, asynq 36-49k; under two busy loops, one call
// 26-29k, two 23-28k, three 19-21k, asynq 23-24k. Two keeps the idle gain
// and loses little under load; more splits batches too thinly when CPUs
// are scarce. (2026-11-23 had found one call best under load 6-9, where
// batch size matters most.)
func enqueueCallsInFlight() int {
	return max(2, runtime.GOMAXPROCS(0)/2)
}
