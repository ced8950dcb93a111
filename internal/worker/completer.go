package worker

import (
	"slices"
	"sync"
	"time"

	"conveyor/backend"
)

// completer collects outcomes and reports them in batches: one JobFinish
// per batch, sent when FinishBatch outcomes wait, when no handler is left
// running (nothing else would join the batch soon), or FinishInterval after
// the first outcome, whichever comes first.
type completer struct {
	w    *Worker
	max  int
	kick chan struct{}

	mu      sync.Mutex
	pending []*task
	spare   []*task // the previous batch's slice, reused
}

// add queues t's outcome (t.out) for the next flush.
func (c *completer) add(t *task) {
	c.mu.Lock()
	c.pending = append(c.pending, t)
	n := len(c.pending)
	c.mu.Unlock()
	if n == 1 || n >= c.max || c.w.executing.Load() == 0 {
		signal(c.kick)
	}
}

func (c *completer) ready() bool {
	c.mu.Lock()
	n := len(c.pending)
	c.mu.Unlock()
	return n >= c.max || (n > 0 && c.w.executing.Load() == 0)
}

func (c *completer) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

func (c *completer) loop() {
	w := c.w
	defer w.loopWG.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-w.compStop:
			for c.size() > 0 {
				c.flush()
			}
			return
		case <-c.kick:
		}
		if c.size() == 0 {
			continue
		}
		if !c.ready() {
			resetTimer(timer, w.cfg.FinishInterval)
		wait:
			for !c.ready() {
				select {
				case <-c.kick:
				case <-timer.C:
					break wait
				case <-w.compStop:
					break wait
				}
			}
		}
		c.flush()
		// Outcomes may have arrived during the flush: look again.
		if c.size() > 0 {
			signal(c.kick)
		}
	}
}

// flush reports up to max pending outcomes in one JobFinish, retrying until
// the backend takes them (leases stay extended meanwhile), then frees their
// slots.
func (c *completer) flush() {
	w := c.w
	c.mu.Lock()
	batch := c.pending
	if len(batch) > c.max {
		c.pending = append(c.spare[:0], batch[c.max:]...)
		batch = batch[:c.max]
	} else {
		c.pending = c.spare[:0]
	}
	c.spare = nil
	c.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	outs := make([]*backend.JobOutcome, len(batch))
	for i, t := range batch {
		outs[i] = &t.out
	}
	if cancelled := c.report(outs); len(cancelled) > 0 {
		c.cancelledInstead(batch, cancelled)
	}
	w.mu.Lock()
	for _, t := range batch {
		w.removeRunning(t)
	}
	w.mu.Unlock()
	var last *queue
	for _, t := range batch {
		t.q.inflight.Add(-1)
		if t.q != last {
			if last != nil {
				signal(last.freed)
			}
			last = t.q
		}
	}
	signal(last.freed)
	clear(batch)
	c.mu.Lock()
	c.spare = batch[:0]
	c.mu.Unlock()
}

// removeRunning drops t from w.running (w.mu held): the last task takes
// its place.
func (w *Worker) removeRunning(t *task) {
	last := len(w.running) - 1
	moved := w.running[last]
	w.running[t.runIdx] = moved
	moved.runIdx = t.runIdx
	w.running[last] = nil
	w.running = w.running[:last]
}

// cancelledInstead tells the observer and the log about the jobs whose
// retry or snoozed outcome the store ended cancelled instead (their cancel
// was requested during the run; DESIGN §2): the observer heard the
// worker's outcome when the handler returned, and now hears the final one.
func (c *completer) cancelledInstead(batch []*task, ids []string) {
	w := c.w
	for _, t := range batch {
		if !slices.Contains(ids, t.job.ID) {
			continue
		}
		w.log.Info("job cancelled: its cancel was requested while it ran", jobAttrs(t.job)...)
		if w.cfg.Observer != nil {
			out := backend.JobOutcome{ID: t.job.ID, LeaseToken: t.job.LeaseToken, Outcome: backend.OutcomeCancelled}
			w.cfg.Observer.JobFinished(t.job, &out, 0)
		}
	}
}

// report sends outs in one JobFinish, retrying with backoff while it fails.
// A store that answers Ping but keeps refusing the batch is not down: one
// outcome poisons it, so after a few failures the outcomes go one by one and
// those still refused are dropped (their leases expire and the rescuer hands
// the jobs back) instead of wedging every later report. Gives up when the
// worker's I/O context ends.
// It returns the IDs the store ended cancelled instead (see
// cancelledInstead).
func (c *completer) report(outs []*backend.JobOutcome) (cancelled []string) {
	w := c.w
	backoff := 20 * time.Millisecond
	for failures := 0; ; failures++ {
		cancelled, err := c.finish(outs)
		if err == nil {
			return cancelled
		}
		if w.ioCtx.Err() != nil {
			w.log.Error("outcomes not reported; their leases will expire and the jobs be rescued", "jobs", len(outs), "error", err)
			return nil
		}
		if failures >= 2 && w.b.Ping(w.ioCtx) == nil {
			for _, o := range outs {
				one, err := c.finish([]*backend.JobOutcome{o})
				if err != nil {
					w.log.Error("outcome refused by the store; dropped (the job's lease will expire and it will be rescued)",
						"job_id", o.ID, "outcome", o.Outcome, "error", err)
				}
				cancelled = append(cancelled, one...)
			}
			return cancelled
		}
		w.log.Warn("reporting outcomes failed; retrying", "jobs", len(outs), "error", err, "backoff", backoff)
		select {
		case <-time.After(backoff):
		case <-w.ioCtx.Done():
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// finish makes one JobFinish call, logs the outcomes the fence rejected and
// returns the IDs the store ended cancelled instead.
func (c *completer) finish(outs []*backend.JobOutcome) ([]string, error) {
	w := c.w
	res, err := w.b.JobFinish(w.ioCtx, &backend.JobFinishParams{Jobs: outs, Now: w.cfg.Clock.Now()})
	if err != nil {
		return nil, err
	}
	for _, id := range res.LeaseLost {
		w.log.Warn("outcome rejected: lease lost (the job was rescued and may have run elsewhere)", "job_id", id)
	}
	return res.Cancelled, nil
}
