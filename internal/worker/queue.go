package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"conveyor/backend"
)

// queue is one queue's fetch loop and handler pool.
type queue struct {
	w     *Worker
	name  string
	slots int
	batch int // max jobs per claim

	inflight  atomic.Int64  // claimed and not yet reported: the slots in use
	executing atomic.Int64  // handlers dispatched and not yet finished
	pool      *pool         // runs claimed jobs
	freed     chan struct{} // signalled when reported outcomes free slots
	wake      chan struct{} // signalled by the backend's wake-ups

	// nextDue is the earliest RunAt (unix ns) this worker set on a job of
	// this queue through a retry or snooze, so that the idle loop re-claims
	// then instead of waiting for a poll. 0 means none.
	nextDue atomic.Int64
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (q *queue) signalWake() { signal(q.wake) }

// noteDue remembers that a job of this queue becomes claimable at t.
func (q *queue) noteDue(t time.Time) {
	n := t.UnixNano()
	for {
		cur := q.nextDue.Load()
		if cur != 0 && cur <= n {
			return
		}
		if q.nextDue.CompareAndSwap(cur, n) {
			return
		}
	}
}

// fetchLoop claims up to the free slots in one call whenever slots are free
// and the queue may have work: at once after a full claim or a flush, else
// on a wake-up, a known due time or the poll interval.
func (q *queue) fetchLoop() {
	w := q.w
	defer w.fetchWG.Done()
	ctx := w.fetchCtx
	poll := time.NewTimer(w.cfg.PollInterval)
	defer poll.Stop()
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		free := q.slots - int(q.inflight.Load())
		if free <= 0 {
			select {
			case <-ctx.Done():
				return
			case <-q.freed:
			}
			continue
		}
		n := min(free, q.batch)
		// The claim uses ioCtx, not ctx: a claim cut short by Stop could
		// take jobs in the store that this worker never runs.
		res, err := w.b.JobClaim(w.ioCtx, &backend.JobClaimParams{
			Queue:         q.name,
			Limit:         n,
			Owner:         w.cfg.ID,
			LeaseDuration: w.cfg.LeaseDuration,
			Now:           w.cfg.Clock.Now(),
		})
		if err != nil {
			w.log.Warn("claim failed; retrying", "queue", q.name, "error", err, "backoff", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		q.dispatch(res.Jobs)
		if len(res.Jobs) == n {
			continue // a full claim: more is probably waiting
		}
		// Drained (for now): sleep until something may be claimable.
		wait := w.cfg.PollInterval
		if due := q.nextDue.Load(); due != 0 {
			d := time.Duration(due - w.cfg.Clock.Now().UnixNano())
			if d < wait {
				wait = max(d, time.Millisecond)
				q.nextDue.Store(0)
			}
		}
		resetTimer(poll, wait)
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-poll.C:
		}
	}
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	select {
	case <-t.C:
	default:
	}
	t.Reset(d)
}

// dispatch registers claimed jobs as running and hands them to the pool.
func (q *queue) dispatch(jobs []*backend.Job) {
	if len(jobs) == 0 {
		return
	}
	w := q.w
	// One small allocation per task: they come from the size-class caches,
	// where one slice for the whole claim is a large object that is paged
	// in afresh each time (measured: slower).
	tasks := make([]*task, len(jobs))
	q.inflight.Add(int64(len(jobs)))
	q.executing.Add(int64(len(jobs)))
	w.executing.Add(int64(len(jobs)))
	for i, j := range jobs {
		tasks[i] = &task{job: j, q: q, kind: w.cfg.Kinds[j.Kind], leaseUntil: j.LeaseExpiresAt}
	}
	w.mu.Lock()
	for _, t := range tasks {
		t.runIdx = len(w.running)
		w.running = append(w.running, t)
	}
	w.mu.Unlock()
	q.pool.push(tasks)
}

const (
	taskRunning int32 = iota
	taskDone
)

// task is one claimed job in this worker.
type task struct {
	job  *backend.Job
	kind *Kind
	q    *queue

	jv  JobValue
	ctx taskCtx
	// runIdx is t's index in Worker.running; leaseUntil is when its lease
	// ends as far as this worker knows (both guarded by Worker.mu).
	runIdx     int
	leaseUntil time.Time
	// state goes running -> done once: whoever moves it (the handler's
	// return or the shutdown's hand-back) reports the outcome.
	state atomic.Int32
	lost  atomic.Bool
	out   backend.JobOutcome
}

// execute runs one task's handler and reports its outcome.
func (w *Worker) execute(t *task) {
	j := t.job
	if t.state.Load() != taskRunning {
		return // handed back by Stop before it started
	}
	if t.kind == nil {
		w.unknownKind(t)
		return
	}
	timeout := t.kind.Timeout
	if timeout <= 0 {
		timeout = j.Timeout
	}
	start := time.Now()
	t.jv.init(j, w.log)
	t.ctx.init(w.base, &t.jv, start, timeout)
	debug := w.log.Enabled(context.Background(), slog.LevelDebug)
	if debug {
		w.log.Debug("job started", jobAttrs(j)...)
	}
	if w.cfg.Observer != nil {
		w.cfg.Observer.JobStarted(j)
	}
	var res []byte
	var err error
	if cause := t.ctx.runtimeCause(); cause != nil {
		err = cause // cancelled (shutdown) before it could start
	} else {
		res, err = Execute(&t.ctx, t.kind.Handler, j)
	}
	var elapsed time.Duration
	if debug || w.cfg.Observer != nil || err != nil {
		elapsed = time.Since(start)
	}
	cause := t.ctx.runtimeCause()
	timedOut := err != nil && cause == nil && t.ctx.deadlineExceeded()
	t.ctx.cancel(context.Canceled, nil) // release the timer and children
	if !t.state.CompareAndSwap(taskRunning, taskDone) {
		// Stop handed this job back while the handler ignored its context:
		// the late result is dropped.
		w.log.Warn("late result of a job handed back at shutdown dropped", append(jobAttrs(j), "error", err)...)
		return
	}
	w.classify(t, res, err, cause, timedOut, timeout)
	if w.cfg.Observer != nil && !t.lost.Load() {
		w.cfg.Observer.JobFinished(j, &t.out, elapsed)
	}
	w.logOutcome(t, err, cause, elapsed, debug)
	w.report(t)
}

// unknownKind snoozes a job no handler here knows: not an attempt, so it
// waits for a worker that has the kind.
func (w *Worker) unknownKind(t *task) {
	if !t.state.CompareAndSwap(taskRunning, taskDone) {
		return
	}
	runAt := w.cfg.Clock.Now().Add(w.cfg.UnknownKindDelay)
	t.out = backend.JobOutcome{ID: t.job.ID, LeaseToken: t.job.LeaseToken, Outcome: backend.OutcomeSnoozed, RunAt: runAt}
	w.log.Warn("no handler registered for this kind here; job snoozed", append(jobAttrs(t.job), "run_at", runAt)...)
	w.report(t)
}

// classify turns an attempt's result into the outcome to report.
func (w *Worker) classify(t *task, res []byte, err error, cause error, timedOut bool, timeout time.Duration) {
	j := t.job
	o := &t.out
	*o = backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken}
	if err == nil && len(res) > 0 && !backend.StorableJSON(res) {
		// The store would refuse it; better a clear failure than a stuck job.
		err = &NoRetryError{Err: errors.New("handler returned a result that is not valid JSON in valid UTF-8")}
	}
	if err == nil {
		o.Outcome, o.Result = backend.OutcomeCompleted, res
		return
	}
	now := w.cfg.Clock.Now()
	attemptErr := func(e error) *backend.AttemptError {
		// Free text from handlers may hold anything; PostgreSQL's jsonb
		// refuses NUL and invalid UTF-8, and would refuse the whole batch.
		ae := &backend.AttemptError{Attempt: j.Attempt, At: now, Message: backend.StorableText(e.Error())}
		var pe *PanicError
		if errors.As(e, &pe) {
			ae.Stack = backend.StorableText(pe.Stack)
		}
		return ae
	}
	switch {
	case errors.Is(cause, ErrLeaseLost):
		// Reported anyway: the fence rejects it unless the lease came back.
		o.Outcome, o.Error = backend.OutcomeRetry, attemptErr(fmt.Errorf("%w: %w", ErrLeaseLost, err))
		o.RunAt = now
		return
	case errors.Is(cause, ErrCancelRequested):
		o.Outcome, o.Error = backend.OutcomeCancelled, attemptErr(err)
		return
	case errors.Is(cause, ErrShutdown):
		o.Outcome, o.RunAt = backend.OutcomeSnoozed, now
		return
	}
	var (
		snooze  *SnoozeError
		cancel  *CancelError
		noRetry *NoRetryError
		after   *RetryAfterError
	)
	switch {
	case errors.As(err, &snooze):
		o.Outcome, o.RunAt = backend.OutcomeSnoozed, later(now, snooze.Delay)
		t.q.noteDue(o.RunAt)
		return
	case errors.As(err, &cancel):
		o.Outcome = backend.OutcomeCancelled
		if cancel.Err != nil {
			o.Error = attemptErr(cancel.Err)
		}
		return
	case errors.As(err, &noRetry):
		o.Outcome, o.Error = backend.OutcomeFailed, attemptErr(err)
		return
	}
	if timedOut {
		err = fmt.Errorf("%w after %s: %w", ErrTimeout, timeout, err)
	}
	o.Error = attemptErr(err)
	maxAttempts := j.MaxAttempts
	if t.kind.MaxAttempts > 0 {
		maxAttempts = t.kind.MaxAttempts
	}
	if j.Attempt >= maxAttempts {
		o.Outcome = backend.OutcomeFailed
		return
	}
	var delay time.Duration
	if errors.As(err, &after) {
		delay = after.Delay
	} else {
		policy := t.kind.RetryPolicy
		if policy == nil {
			policy = w.cfg.RetryPolicy
		}
		delay = policy.NextRetry(j, err)
	}
	o.Outcome, o.RunAt = backend.OutcomeRetry, later(now, delay)
	t.q.noteDue(o.RunAt)
}

// later is now plus a handler's or policy's delay: not before now, and
// not past backend.MaxRunAt (a huge delay, such as math.MaxInt64, would
// otherwise come out as a time some backends cannot store).
func later(now time.Time, delay time.Duration) time.Time {
	if delay <= 0 {
		return now
	}
	if t := now.Add(delay); t.Before(backend.MaxRunAt) && t.After(now) {
		return t
	}
	return backend.MaxRunAt.Add(-time.Microsecond)
}

func (w *Worker) logOutcome(t *task, err, cause error, elapsed time.Duration, debug bool) {
	j := t.job
	o := &t.out
	if t.lost.Load() {
		w.log.Warn("job finished after its lease was lost; outcome will be fenced", append(jobAttrs(j), "error", err)...)
		return
	}
	switch o.Outcome {
	case backend.OutcomeCompleted:
		if debug {
			w.log.Debug("job completed", append(jobAttrs(j), "duration", elapsed)...)
		}
	case backend.OutcomeRetry:
		w.log.Info("job failed; retrying", append(jobAttrs(j), "error", o.Error.Message, "next_run", o.RunAt, "duration", elapsed)...)
	case backend.OutcomeFailed:
		w.log.Warn("job failed", append(jobAttrs(j), "error", o.Error.Message, "duration", elapsed)...)
	case backend.OutcomeCancelled:
		attrs := append(jobAttrs(j), "duration", elapsed)
		if o.Error != nil {
			attrs = append(attrs, "error", o.Error.Message)
		}
		w.log.Info("job cancelled", attrs...)
	case backend.OutcomeSnoozed:
		if errors.Is(cause, ErrShutdown) {
			w.log.Info("job handed back at shutdown", jobAttrs(j)...)
		} else if debug {
			w.log.Debug("job snoozed", append(jobAttrs(j), "run_at", o.RunAt)...)
		}
	}
}
