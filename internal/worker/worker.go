package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"conveyor/backend"
	"conveyor/internal/clock"
)

// Observer is told about every attempt; the root package's Prometheus
// collectors implement it. Calls happen on the hot path: keep them cheap.
type Observer interface {
	// JobStarted is called when a handler starts.
	JobStarted(job *backend.Job)
	// JobFinished is called with the outcome of an attempt (outcomes of
	// lost leases are not reported) and how long the handler ran. out must
	// not be retained.
	JobFinished(job *backend.Job, out *backend.JobOutcome, elapsed time.Duration)
}

// Config configures a Worker. Zero durations and sizes mean their defaults.
type Config struct {
	// Backend is the store. Required.
	Backend backend.Backend
	// Kinds maps each job kind to its handler. Required (may be empty).
	Kinds map[string]*Kind
	// Queues maps each queue to its concurrency. Default {"default": 10}.
	Queues map[string]int
	// ID is the lease owner. Required.
	ID string
	// LeaseDuration is the length of each lease. Default 30s.
	LeaseDuration time.Duration
	// HeartbeatInterval is how often leases are extended. Default LeaseDuration/3.
	HeartbeatInterval time.Duration
	// FetchBatch caps one claim. Default: the free slots, at most 1000.
	FetchBatch int
	// PollInterval is how often an idle queue is polled when no wake-up
	// arrives. Default 1s.
	PollInterval time.Duration
	// ShutdownGrace is how long Stop lets running jobs finish. Default 30s.
	ShutdownGrace time.Duration
	// HardStop is how long Stop waits, after cancelling the handlers that
	// outlived the grace, before handing their jobs back anyway. Default 5s.
	HardStop time.Duration
	// FinishBatch caps the outcomes reported in one JobFinish. Default 1000.
	FinishBatch int
	// FinishInterval is how long an outcome may wait for others to share its
	// JobFinish call. Default 5ms.
	FinishInterval time.Duration
	// UnknownKindDelay is how long a job of a kind this worker has no handler
	// for is snoozed (not an attempt) before another worker may take it.
	// Default 1 minute.
	UnknownKindDelay time.Duration
	// RetryPolicy is used for kinds without their own. Required.
	RetryPolicy RetryPolicy
	// Logger receives the runtime's logs. Default slog.Default().
	Logger *slog.Logger
	// Clock supplies the Now of every backend call. Default the wall clock.
	Clock clock.Clock
	// Observer, when set, sees every attempt (metrics).
	Observer Observer
}

func (c Config) withDefaults() Config {
	if len(c.Queues) == 0 {
		c.Queues = map[string]int{"default": 10}
	}
	if c.LeaseDuration <= 0 {
		c.LeaseDuration = 30 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = c.LeaseDuration / 3
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 30 * time.Second
	}
	if c.HardStop <= 0 {
		c.HardStop = 5 * time.Second
	}
	if c.FinishBatch <= 0 {
		c.FinishBatch = 1000
	}
	if c.FinishInterval <= 0 {
		c.FinishInterval = 5 * time.Millisecond
	}
	if c.UnknownKindDelay <= 0 {
		c.UnknownKindDelay = time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Backend == nil:
		return errors.New("worker: Backend is required")
	case c.ID == "":
		return errors.New("worker: ID is required")
	case c.RetryPolicy == nil:
		return errors.New("worker: RetryPolicy is required")
	case c.FetchBatch < 0:
		return fmt.Errorf("worker: FetchBatch must be >= 0, got %d", c.FetchBatch)
	}
	for q, n := range c.Queues {
		if n <= 0 {
			return fmt.Errorf("worker: queue %q: concurrency must be >= 1, got %d", q, n)
		}
	}
	if c.HeartbeatInterval >= c.LeaseDuration && c.LeaseDuration > 0 {
		return fmt.Errorf("worker: HeartbeatInterval (%s) must be shorter than LeaseDuration (%s)", c.HeartbeatInterval, c.LeaseDuration)
	}
	return nil
}

// QueueStats is a snapshot of one queue's slots, for the busy/idle gauge.
type QueueStats struct {
	Queue string
	Slots int
	Busy  int
}

// Worker runs jobs from its queues until stopped. Build it with New.
type Worker struct {
	cfg    Config
	b      backend.Backend
	log    *slog.Logger
	queues []*queue
	comp   *completer

	mu      sync.Mutex
	running []*task // claimed and not yet reported; task.runIdx is the index

	executing atomic.Int64  // handlers dispatched and not yet finished
	idle      chan struct{} // signalled when executing drops to 0

	base        *baseInfo       // parent of every handler context
	ioCtx       context.Context // backend calls; ends only at the very end of Stop
	ioCancel    context.CancelFunc
	fetchCtx    context.Context
	fetchCancel context.CancelFunc
	fetchWG     sync.WaitGroup
	loopWG      sync.WaitGroup // heartbeat, completer, watch
	hbStop      chan struct{}
	compStop    chan struct{}

	startOnce sync.Once
	stopOnce  sync.Once
	started   atomic.Bool
}

// New returns a worker for cfg; it does nothing until Start.
func New(cfg Config) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	w := &Worker{
		cfg:      cfg,
		b:        cfg.Backend,
		log:      cfg.Logger,
		idle:     make(chan struct{}, 1),
		hbStop:   make(chan struct{}),
		compStop: make(chan struct{}),
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Queues)) {
		n := cfg.Queues[name]
		batch := n
		if cfg.FetchBatch > 0 && cfg.FetchBatch < batch {
			batch = cfg.FetchBatch
		}
		batch = min(batch, 1000)
		w.queues = append(w.queues, &queue{
			w:     w,
			name:  name,
			slots: n,
			batch: batch,
			freed: make(chan struct{}, 1),
			wake:  make(chan struct{}, 1),
		})
	}
	w.comp = &completer{w: w, max: cfg.FinishBatch, kick: make(chan struct{}, 1)}
	return w, nil
}

// Start launches the loops; handler contexts derive from base (its values
// reach every job; its cancellation does not: Stop ends jobs). It does not
// block.
func (w *Worker) Start(base context.Context) error {
	err := errors.New("worker: already started")
	w.startOnce.Do(func() {
		err = nil
		w.started.Store(true)
		w.base = newBaseInfo(base)
		w.ioCtx, w.ioCancel = context.WithCancel(context.WithoutCancel(base))
		w.fetchCtx, w.fetchCancel = context.WithCancel(w.ioCtx)
		w.loopWG.Add(2)
		go w.heartbeatLoop()
		go w.comp.loop()
		if w.b.Capabilities().Wake {
			if wk, ok := w.b.(backend.Waker); ok {
				w.loopWG.Add(1)
				go w.watchLoop(wk)
			}
		}
		for _, q := range w.queues {
			q.pool = newPool(q.slots, w.execute)
			w.fetchWG.Add(1)
			go q.fetchLoop()
		}
		w.log.Info("worker started", "worker_id", w.cfg.ID, "queues", w.cfg.Queues)
	})
	return err
}

// Stats returns each queue's slots and busy handlers.
func (w *Worker) Stats() []QueueStats {
	out := make([]QueueStats, len(w.queues))
	for i, q := range w.queues {
		out[i] = QueueStats{Queue: q.name, Slots: q.slots, Busy: int(q.executing.Load())}
	}
	return out
}

// Stop shuts down gracefully (DESIGN.md §3.10): no new claims; running jobs
// get ShutdownGrace (or until ctx ends) to finish; then their contexts are
// cancelled and, HardStop later, whatever still runs is handed back
// (snoozed to now, i.e. queued, not an attempt) and its late outcome is
// dropped. Every outcome is reported before Stop returns. Idempotent.
func (w *Worker) Stop(ctx context.Context) error {
	if !w.started.Load() {
		// Never started: make a later Start a no-op too.
		w.startOnce.Do(func() {})
		return nil
	}
	var err error
	w.stopOnce.Do(func() { err = w.stop(ctx) })
	return err
}

func (w *Worker) stop(ctx context.Context) error {
	w.fetchCancel()
	w.fetchWG.Wait()

	grace := time.NewTimer(w.cfg.ShutdownGrace)
	defer grace.Stop()
	if !w.waitIdle(ctx.Done(), grace.C) {
		n := w.cancelRunning(ErrShutdown)
		w.log.Warn("shutdown grace over; cancelling running jobs", "jobs", n, "grace", w.cfg.ShutdownGrace)
		hard := time.NewTimer(w.cfg.HardStop)
		defer hard.Stop()
		if !w.waitIdle(nil, hard.C) {
			n := w.abandonRunning()
			w.log.Error("handlers ignored cancellation; jobs handed back while they still run", "jobs", n, "hard_stop", w.cfg.HardStop)
		}
	}
	for _, q := range w.queues {
		q.pool.close()
	}
	close(w.compStop)
	close(w.hbStop)
	// The last outcomes are retried while the backend fails, but not for
	// ever: after HardStop the leases are left to expire and be rescued.
	done := make(chan struct{})
	go func() { w.loopWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.cfg.HardStop):
		w.ioCancel()
		<-done
	}
	w.ioCancel()
	w.log.Info("worker stopped", "worker_id", w.cfg.ID)
	return nil
}

// waitIdle waits until no handler runs (true) or a or b fires (false).
func (w *Worker) waitIdle(a <-chan struct{}, b <-chan time.Time) bool {
	for w.executing.Load() > 0 {
		select {
		case <-w.idle:
		case <-a:
			return w.executing.Load() == 0
		case <-b:
			return w.executing.Load() == 0
		}
	}
	return true
}

func (w *Worker) cancelRunning(cause error) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, t := range w.running {
		if t.state.Load() == taskRunning {
			t.ctx.cancel(context.Canceled, cause)
			n++
		}
	}
	return n
}

// abandonRunning hands back every job whose handler still runs: it reports
// them snoozed to now and marks them so that their handler's late result is
// dropped (the fence would reject it anyway).
func (w *Worker) abandonRunning() int {
	w.mu.Lock()
	var ts []*task
	for _, t := range w.running {
		if t.state.CompareAndSwap(taskRunning, taskDone) {
			ts = append(ts, t)
		}
	}
	w.mu.Unlock()
	now := w.cfg.Clock.Now()
	for _, t := range ts {
		t.out = backend.JobOutcome{ID: t.job.ID, LeaseToken: t.job.LeaseToken, Outcome: backend.OutcomeSnoozed, RunAt: now}
		w.log.Warn("job handed back at shutdown; its handler ignored cancellation", jobAttrs(t.job)...)
		w.report(t)
	}
	return len(ts)
}

// report hands t's outcome (t.out) to the completer, then counts its
// handler as finished. In that order: Stop takes "no handler executing" to
// mean every outcome is with the completer.
func (w *Worker) report(t *task) {
	w.comp.add(t)
	t.q.executing.Add(-1)
	if w.executing.Add(-1) == 0 {
		signal(w.idle)
		signal(w.comp.kick) // nothing else will join the batch soon
	}
}

// heartbeatLoop extends every held lease once per HeartbeatInterval.
func (w *Worker) heartbeatLoop() {
	defer w.loopWG.Done()
	tick := time.NewTicker(w.cfg.HeartbeatInterval)
	defer tick.Stop()
	for {
		select {
		case <-w.hbStop:
			return
		case <-tick.C:
			w.heartbeat()
		}
	}
}

func (w *Worker) heartbeat() {
	w.mu.Lock()
	leases := make([]backend.Lease, 0, len(w.running))
	tasks := make([]*task, 0, len(w.running))
	for _, t := range w.running {
		if t.lost.Load() {
			continue
		}
		l := backend.Lease{ID: t.job.ID, LeaseToken: t.job.LeaseToken}
		if p := t.jv.progress.Swap(nil); p != nil {
			l.Progress = *p
		}
		leases = append(leases, l)
		tasks = append(tasks, t)
	}
	w.mu.Unlock()
	if len(leases) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(w.ioCtx, w.cfg.HeartbeatInterval)
	defer cancel()
	sent := w.cfg.Clock.Now()
	res, err := w.b.LeaseExtend(ctx, &backend.LeaseExtendParams{Leases: leases, Duration: w.cfg.LeaseDuration, Now: sent})
	if err != nil {
		w.log.Warn("heartbeat failed; leases not extended", "jobs", len(leases), "error", err)
		for i, t := range tasks {
			if leases[i].Progress != nil {
				p := leases[i].Progress
				t.jv.progress.CompareAndSwap(nil, &p) // resent next time unless newer
			}
		}
		w.expireLeases(w.cfg.Clock.Now())
		return
	}
	lost := make(map[string]bool, len(res.Lost))
	for _, id := range res.Lost {
		lost[id] = true
	}
	cancelReq := make(map[string]bool, len(res.CancelRequested))
	for _, id := range res.CancelRequested {
		cancelReq[id] = true
	}
	until := sent.Add(w.cfg.LeaseDuration)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range tasks {
		switch {
		case lost[t.job.ID]:
			if !t.lost.Swap(true) {
				t.ctx.cancel(context.Canceled, ErrLeaseLost)
				w.log.Warn("lease lost; cancelling handler, the job may run elsewhere", jobAttrs(t.job)...)
			}
		case until.After(t.leaseUntil):
			t.leaseUntil = until
		}
		if cancelReq[t.job.ID] && t.state.Load() == taskRunning {
			t.ctx.cancel(context.Canceled, ErrCancelRequested)
			w.log.Info("cancel requested; cancelling handler", jobAttrs(t.job)...)
		}
	}
}

// expireLeases treats as lost the jobs whose lease ran out while
// heartbeats failed (the worker is cut off from the store): another worker
// may run them once they are rescued, so their handlers are cancelled now
// rather than when the store answers again.
func (w *Worker) expireLeases(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range w.running {
		if t.leaseUntil.Before(now) && !t.lost.Swap(true) {
			t.ctx.cancel(context.Canceled, ErrLeaseLost)
			w.log.Warn("lease expired while the store was unreachable; cancelling handler", jobAttrs(t.job)...)
		}
	}
}

// watchLoop forwards the backend's wake-ups to the queues' fetch loops,
// re-watching after a failure (polling covers the gap).
func (w *Worker) watchLoop(wk backend.Waker) {
	defer w.loopWG.Done()
	names := make([]string, len(w.queues))
	byName := make(map[string]*queue, len(w.queues))
	for i, q := range w.queues {
		names[i] = q.name
		byName[q.name] = q
	}
	for w.fetchCtx.Err() == nil {
		res, err := wk.QueueWatch(w.fetchCtx, &backend.QueueWatchParams{Queues: names})
		if err == nil {
			for name := range res.C {
				if q := byName[name]; q != nil {
					q.signalWake()
				}
			}
		} else if w.fetchCtx.Err() == nil {
			w.log.Warn("queue watch failed; polling until it works again", "error", err)
		}
		select {
		case <-w.fetchCtx.Done():
		case <-time.After(w.cfg.PollInterval):
		}
	}
}
