package postgres

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"conveyor/backend"
)

// Group commit for enqueues. Each JobEnqueue must return only after its jobs
// are committed, and on PostgreSQL a commit waits for a WAL flush: with one
// statement per call, 16 goroutines enqueuing one job each pay 16 commits.
// The combiner merges the calls that arrive while statements are in flight
// into the next statement: one commit for all of them, each caller still
// returning only once its own jobs are durable, with its own results. The
// statement resolves unique keys in input order, so calls combined behave as
// if they ran one after another.
type combiner struct {
	b        *Backend
	mu       sync.Mutex
	queue    []*enqueueCall
	flushers int
}

// enqueueCall is one JobEnqueue waiting for its statement.
type enqueueCall struct {
	p    *backend.JobEnqueueParams
	done chan struct{}
	res  *backend.JobEnqueueResult
	err  error
}

const (
	// maxFlushers is how many combined statements may be in flight at once
	// (they commit together in PostgreSQL's own group commit).
	maxFlushers = 2
	// maxCombinedJobs caps the jobs of one combined statement.
	maxCombinedJobs = 1000
	// statementTimeout bounds a combined statement, which no single caller's
	// ctx may cancel (the others still wait for it).
	statementTimeout = time.Minute
)

// enqueue queues the call and waits for its result or for ctx. A caller
// whose ctx ends first gets ctx.Err(); its jobs may or may not be stored (as
// with any timed-out enqueue: retry with the same IDs).
func (c *combiner) enqueue(ctx context.Context, p *backend.JobEnqueueParams) (*backend.JobEnqueueResult, error) {
	call := &enqueueCall{p: p, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, call)
	lead := c.flushers < maxFlushers
	if lead {
		c.flushers++
	}
	c.mu.Unlock()
	if lead {
		go c.flush()
	}
	select {
	case <-call.done:
		return call.res, call.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// flush runs combined statements until no call is waiting.
func (c *combiner) flush() {
	for {
		c.mu.Lock()
		n, jobs := 0, 0
		for n < len(c.queue) && (n == 0 || jobs+len(c.queue[n].p.Jobs) <= maxCombinedJobs) {
			jobs += len(c.queue[n].p.Jobs)
			n++
		}
		if n == 0 {
			c.flushers--
			c.mu.Unlock()
			return
		}
		calls := c.queue[:n:n]
		c.queue = c.queue[n:]
		c.mu.Unlock()
		c.run(calls)
	}
}

// run executes calls as one statement and hands each its results. If the
// server rejects the statement (bad input in one call), each call runs alone
// so that only the faulty one fails.
func (c *combiner) run(calls []*enqueueCall) {
	ctx, cancel := context.WithTimeout(context.Background(), statementTimeout)
	defer cancel()
	var jobs []*backend.JobInsert
	var nows []time.Time
	for _, call := range calls {
		jobs = append(jobs, call.p.Jobs...)
		for range call.p.Jobs {
			nows = append(nows, call.p.Now)
		}
	}
	res, err := c.b.enqueueAt(ctx, pgxRunner{c.b.pool}, jobs, nows, false)
	var pgErr *pgconn.PgError
	if err != nil && len(calls) > 1 && errors.As(err, &pgErr) {
		for _, call := range calls {
			c.run([]*enqueueCall{call})
		}
		return
	}
	off := 0
	for _, call := range calls {
		if err != nil {
			call.err = err
		} else {
			call.res = &backend.JobEnqueueResult{Jobs: res.Jobs[off : off+len(call.p.Jobs) : off+len(call.p.Jobs)]}
			off += len(call.p.Jobs)
		}
		close(call.done)
	}
}
