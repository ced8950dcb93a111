package worker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// taskCtx is the context a handler runs under. It replaces
// context.WithCancelCause + context.WithTimeout + a value, which cost an
// armed timer and three allocations per job: it lives inside its task, and
// its done channel and deadline timer are made only if the handler asks for
// Done (a handler that never blocks on its context pays neither). Err
// checks the deadline on each call instead.
//
// Cancellation by the runtime (lease lost, cancel requested, shutdown)
// records a cause the runtime reads back; handlers see context.Canceled or
// context.DeadlineExceeded from Err, as with the standard contexts.
type taskCtx struct {
	parent   context.Context // values only, unless parent can be cancelled
	jv       *JobValue
	deadline time.Time // zero: none

	// ended is set (under mu) once err is: a lock-free check for the hot
	// path, where the runtime asks twice per job whether it cancelled.
	ended      atomic.Bool
	mu         sync.Mutex
	done       chan struct{}
	err        error
	cause      error
	timer      *time.Timer
	afters     []*afterFn
	stopParent func() bool
}

type afterFn struct{ f func() }

// baseInfo is the parent of every handler context, described once.
type baseInfo struct {
	ctx         context.Context
	deadline    time.Time
	hasDeadline bool
	cancellable bool
}

func newBaseInfo(ctx context.Context) *baseInfo {
	d, ok := ctx.Deadline()
	return &baseInfo{ctx: ctx, deadline: d, hasDeadline: ok, cancellable: ctx.Done() != nil}
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// init prepares c for one attempt; timeout <= 0 means none.
// The runtime may have cancelled c already (shutdown): init keeps that.
// base describes the parent once for all jobs (walking a context chain per
// job costs).
func (c *taskCtx) init(base *baseInfo, jv *JobValue, start time.Time, timeout time.Duration) {
	parent := base.ctx
	var deadline time.Time
	if timeout > 0 {
		deadline = start.Add(timeout)
	}
	if base.hasDeadline && (deadline.IsZero() || base.deadline.Before(deadline)) {
		deadline = base.deadline
	}
	c.mu.Lock()
	c.parent, c.jv, c.deadline = parent, jv, deadline
	cancelled := c.err != nil
	c.mu.Unlock()
	if base.cancellable && !cancelled {
		stop := context.AfterFunc(parent, func() { c.cancel(parent.Err(), context.Cause(parent)) })
		c.mu.Lock()
		c.stopParent = stop
		c.mu.Unlock()
	}
}

// Deadline implements context.Context.
func (c *taskCtx) Deadline() (time.Time, bool) { return c.deadline, !c.deadline.IsZero() }

// Done implements context.Context; the first call arms the deadline timer.
func (c *taskCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		return c.done
	}
	if c.err != nil {
		c.done = closedChan
		return c.done
	}
	c.done = make(chan struct{})
	if !c.deadline.IsZero() {
		d := time.Until(c.deadline)
		if d <= 0 {
			fns := c.cancelLocked(context.DeadlineExceeded, context.DeadlineExceeded)
			defer runAfters(fns)
			return c.done
		}
		c.timer = time.AfterFunc(d, func() { c.cancel(context.DeadlineExceeded, context.DeadlineExceeded) })
	}
	return c.done
}

// Err implements context.Context.
func (c *taskCtx) Err() error {
	c.mu.Lock()
	if c.err == nil && !c.deadline.IsZero() && !time.Now().Before(c.deadline) {
		fns := c.cancelLocked(context.DeadlineExceeded, context.DeadlineExceeded)
		c.mu.Unlock()
		runAfters(fns)
		c.mu.Lock()
	}
	err := c.err
	c.mu.Unlock()
	return err
}

// Value implements context.Context: the job for jobKey, the parent's
// values otherwise.
func (c *taskCtx) Value(k any) any {
	if _, ok := k.(jobKey); ok {
		return c.jv
	}
	return c.parent.Value(k)
}

// AfterFunc lets context.AfterFunc and child contexts hook cancellation
// without a goroutine each (the context package looks for this method).
func (c *taskCtx) AfterFunc(f func()) func() bool {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	a := &afterFn{f: f}
	c.afters = append(c.afters, a)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.afters {
			if x == a {
				c.afters = append(c.afters[:i], c.afters[i+1:]...)
				return true
			}
		}
		return false
	}
}

// cancel ends the context with err (context.Canceled or
// DeadlineExceeded) and records cause; only the first call counts.
func (c *taskCtx) cancel(err, cause error) {
	c.mu.Lock()
	fns := c.cancelLocked(err, cause)
	c.mu.Unlock()
	runAfters(fns)
}

func (c *taskCtx) cancelLocked(err, cause error) []*afterFn {
	if c.err != nil {
		return nil
	}
	if cause == nil {
		cause = err
	}
	c.err, c.cause = err, cause
	c.ended.Store(true)
	if c.done == nil {
		c.done = closedChan
	} else {
		close(c.done)
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.stopParent != nil {
		c.stopParent()
	}
	fns := c.afters
	c.afters = nil
	return fns
}

func runAfters(fns []*afterFn) {
	for _, a := range fns {
		go a.f()
	}
}

// runtimeCause returns the cause the runtime cancelled with (nil if it did
// not, or if only the deadline passed).
func (c *taskCtx) runtimeCause() error {
	if !c.ended.Load() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cause == context.DeadlineExceeded {
		return nil
	}
	return c.cause
}

// deadlineExceeded reports whether the deadline ended the context.
func (c *taskCtx) deadlineExceeded() bool {
	return c.Err() == context.DeadlineExceeded
}
