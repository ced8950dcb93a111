package conveyor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"sync"
	"time"

	"conveyor/backend"
	"conveyor/internal/clock"
	"conveyor/internal/maintenance"
	"conveyor/internal/worker"

	"github.com/prometheus/client_golang/prometheus"
)

// Retention says how long finished jobs are kept before the pruner deletes
// them, per final state. Zero means the default; negative keeps them for ever.
type Retention struct {
	// Completed jobs are kept this long. Default 24h.
	Completed time.Duration
	// Failed jobs are kept this long. Default 7 days.
	Failed time.Duration
	// Cancelled jobs are kept this long. Default 7 days.
	Cancelled time.Duration
}

// WorkerConfig configures a Worker. The zero value is valid: queue "default"
// with 10 handlers, 30 s leases, maintenance on.
type WorkerConfig struct {
	// Queues maps queue -> concurrency (handlers at once). Default {"default": 10}.
	Queues map[string]int
	// ID is the worker identity stored as lease_owner. Default hostname-pid-random.
	ID string
	// LeaseDuration is each claim's lease; heartbeats extend it. Default 30s.
	LeaseDuration time.Duration
	// HeartbeatInterval is how often running leases are extended. Default LeaseDuration/3.
	HeartbeatInterval time.Duration
	// FetchBatch caps the jobs of one claim. Default: the free slots, at most 1000.
	FetchBatch int
	// PollInterval is the fallback poll of an idle queue. Default 1s (wake-ups
	// make it rarely matter on backends that have them).
	PollInterval time.Duration
	// ShutdownGrace is how long Stop lets running jobs finish before
	// cancelling them and handing them back. Default 30s.
	ShutdownGrace time.Duration
	// ShutdownHardStop is how long Stop waits, after cancelling handlers that
	// outlived the grace, before handing their jobs back anyway (their late
	// results are dropped). Default 5s.
	ShutdownHardStop time.Duration
	// Middleware wraps every handler, outside the registry's own (Workers.Use).
	// Default none.
	Middleware []Middleware
	// OnStartup runs in Start; the values of the context it returns reach
	// every job's context (e.g. a DB pool). Default none.
	OnStartup func(ctx context.Context) (context.Context, error)
	// OnShutdown runs at the end of Stop, after the last outcome is reported.
	// Default none.
	OnShutdown func(ctx context.Context) error
	// Logger receives the runtime's logs. Default slog.Default().
	Logger *slog.Logger
	// Registerer, when set, gets the worker's Prometheus collectors. Default
	// nil: no metrics.
	Registerer prometheus.Registerer
	// Clock supplies "now" for every backend call. Default the wall clock.
	Clock Clock
	// DisableMaintenance turns off the rescuer, promoter and pruner. Default
	// false: the worker runs the rescuer, and the promoter and pruner where
	// the backend needs them.
	DisableMaintenance bool
	// Retention of finished jobs. Default: completed 24h, failed 7d,
	// cancelled 7d.
	Retention Retention
	// RescueInterval is how often expired leases are looked for. Default 5s.
	RescueInterval time.Duration
	// PromoteInterval is how often due jobs are promoted (backends that need
	// it). Default 200ms.
	PromoteInterval time.Duration
	// PruneInterval is how often old finished jobs are pruned (backends that
	// need it). Default 1 minute.
	PruneInterval time.Duration
	// FinishInterval is how long an outcome may wait for others to share its
	// report. Default 5ms.
	FinishInterval time.Duration
	// FinishBatch caps the outcomes of one report. Default 1000.
	FinishBatch int
	// UnknownKindDelay is how long a claimed job of a kind this worker has no
	// handler for is snoozed (not an attempt). Default 1 minute.
	UnknownKindDelay time.Duration
	// OnJobEvent, when set, is called when a handler starts and when its
	// attempt ends (see JobEvent), from the goroutine that ran it: it must
	// be quick and must not block (hand events to a buffered publisher).
	// Default none.
	OnJobEvent func(JobEvent)
}

// WithDefaults returns a copy of c with zero fields set to their defaults.
func (c WorkerConfig) WithDefaults() WorkerConfig {
	if len(c.Queues) == 0 {
		c.Queues = map[string]int{DefaultQueue: 10}
	} else {
		c.Queues = maps.Clone(c.Queues)
	}
	if c.ID == "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "worker"
		}
		var b [4]byte
		_, _ = rand.Read(b[:])
		c.ID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = 30 * time.Second
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = c.LeaseDuration / 3
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = 30 * time.Second
	}
	if c.ShutdownHardStop == 0 {
		c.ShutdownHardStop = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.RescueInterval == 0 {
		c.RescueInterval = maintenance.DefaultRescueInterval
	}
	if c.PromoteInterval == 0 {
		c.PromoteInterval = maintenance.DefaultPromoteInterval
	}
	if c.PruneInterval == 0 {
		c.PruneInterval = maintenance.DefaultPruneInterval
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c WorkerConfig) Validate() error {
	for q, n := range c.Queues {
		if err := ValidateQueue(q); err != nil {
			return fmt.Errorf("worker config: %w", err)
		}
		if n <= 0 {
			return fmt.Errorf("worker config: queue %q: concurrency must be >= 1, got %d", q, n)
		}
	}
	for name, d := range map[string]time.Duration{
		"LeaseDuration": c.LeaseDuration, "HeartbeatInterval": c.HeartbeatInterval, "PollInterval": c.PollInterval,
		"ShutdownGrace": c.ShutdownGrace, "ShutdownHardStop": c.ShutdownHardStop, "RescueInterval": c.RescueInterval,
		"PromoteInterval": c.PromoteInterval, "PruneInterval": c.PruneInterval, "FinishInterval": c.FinishInterval,
		"UnknownKindDelay": c.UnknownKindDelay,
	} {
		if d < 0 {
			return fmt.Errorf("worker config: %s must not be negative, got %s", name, d)
		}
	}
	if c.FetchBatch < 0 || c.FinishBatch < 0 {
		return errors.New("worker config: FetchBatch and FinishBatch must not be negative")
	}
	if c.LeaseDuration > 0 && c.HeartbeatInterval >= c.LeaseDuration {
		return fmt.Errorf("worker config: HeartbeatInterval (%s) must be shorter than LeaseDuration (%s)", c.HeartbeatInterval, c.LeaseDuration)
	}
	return nil
}

// Worker runs the handlers of a Workers registry on jobs claimed from a
// backend, and the maintenance services the backend needs. Build it with
// NewWorker, then Start and Stop it.
type Worker struct {
	b       backend.Backend
	cfg     WorkerConfig
	inner   *worker.Worker
	metrics *metrics
	svcs    []interface {
		Start(context.Context) error
		Stop()
	}

	mu       sync.Mutex
	started  bool
	stopped  bool
	startCtx context.Context
	stopErr  error
	unwatch  func() bool
}

// NewWorker builds a worker running ws's handlers on b. Kinds registered in
// ws after this call are not seen by this worker.
func NewWorker(b backend.Backend, ws *Workers, cfg WorkerConfig) (*Worker, error) {
	if b == nil {
		return nil, errors.New("conveyor: NewWorker needs a backend")
	}
	if ws == nil {
		return nil, errors.New("conveyor: NewWorker needs a Workers registry")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	w := &Worker{b: b, cfg: cfg}
	if cfg.Registerer != nil {
		m, err := newMetrics(b, cfg.Registerer, cfg.Clock)
		if err != nil {
			return nil, err
		}
		w.metrics = m
	}
	wc := worker.Config{
		Backend:           b,
		Kinds:             ws.runtimeKinds(cfg.Middleware),
		Queues:            cfg.Queues,
		ID:                cfg.ID,
		LeaseDuration:     cfg.LeaseDuration,
		HeartbeatInterval: cfg.HeartbeatInterval,
		FetchBatch:        cfg.FetchBatch,
		PollInterval:      cfg.PollInterval,
		ShutdownGrace:     cfg.ShutdownGrace,
		HardStop:          cfg.ShutdownHardStop,
		FinishBatch:       cfg.FinishBatch,
		FinishInterval:    cfg.FinishInterval,
		UnknownKindDelay:  cfg.UnknownKindDelay,
		RetryPolicy:       DefaultRetryPolicy,
		Logger:            cfg.Logger,
		Clock:             cfg.Clock,
	}
	var obs observers
	if w.metrics != nil {
		obs = append(obs, w.metrics)
	}
	if cfg.OnJobEvent != nil {
		obs = append(obs, eventObserver{fn: cfg.OnJobEvent})
	}
	switch len(obs) {
	case 0:
	case 1:
		wc.Observer = obs[0]
	default:
		wc.Observer = obs
	}
	inner, err := worker.New(wc)
	if err != nil {
		return nil, err
	}
	w.inner = inner
	if cfg.Registerer != nil {
		// An unchecked collector (no Describe output) so that several
		// workers can report their slots on one registry.
		if err := cfg.Registerer.Register(&slotsCollector{id: cfg.ID, stats: inner.Stats}); err != nil {
			return nil, fmt.Errorf("register worker metrics: %w", err)
		}
	}
	if !cfg.DisableMaintenance {
		caps := b.Capabilities()
		common := func(d time.Duration) maintenance.Common {
			return maintenance.Common{Interval: d, Clock: cfg.Clock, Logger: cfg.Logger}
		}
		rc := maintenance.RescuerConfig{Common: common(cfg.RescueInterval), Backend: b}
		if w.metrics != nil {
			rc.OnRescued = w.metrics.rescued
		}
		w.svcs = append(w.svcs, maintenance.NewRescuer(rc))
		if caps.NeedsPromoter {
			w.svcs = append(w.svcs, maintenance.NewPromoter(maintenance.PromoterConfig{Common: common(cfg.PromoteInterval), Backend: b}))
		}
		if caps.NeedsPruner {
			w.svcs = append(w.svcs, maintenance.NewPruner(maintenance.PrunerConfig{
				Common:  common(cfg.PruneInterval),
				Backend: b,
				Retention: maintenance.Retention{
					Completed: cfg.Retention.Completed, Failed: cfg.Retention.Failed, Cancelled: cfg.Retention.Cancelled,
				},
			}))
		}
	}
	return w, nil
}

// ID returns the worker's identity (its jobs' lease_owner).
func (w *Worker) ID() string { return w.cfg.ID }

// Start runs OnStartup, then the fetch loops, handlers, heartbeats and
// maintenance in the background; it does not block. Values of ctx (and of
// the context OnStartup returns) reach every job's context. When ctx ends
// the worker stops as if Stop had been called.
func (w *Worker) Start(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return errors.New("conveyor: worker already started")
	}
	if w.stopped {
		return errors.New("conveyor: worker stopped; build a new one")
	}
	base := context.WithoutCancel(ctx)
	if w.cfg.OnStartup != nil {
		c, err := w.cfg.OnStartup(base)
		if err != nil {
			return fmt.Errorf("worker OnStartup: %w", err)
		}
		if c != nil {
			base = c
		}
	}
	if err := w.inner.Start(base); err != nil {
		return err
	}
	for _, s := range w.svcs {
		if err := s.Start(context.WithoutCancel(ctx)); err != nil {
			return err
		}
	}
	w.started = true
	w.startCtx = base
	w.unwatch = context.AfterFunc(ctx, func() { _ = w.Stop(context.Background()) })
	return nil
}

// Stop shuts the worker down gracefully (DESIGN.md §3.10): it stops
// claiming, lets running jobs finish for ShutdownGrace (or until ctx ends),
// then cancels them and hands their jobs back to the queue; a handler that
// ignores its context delays Stop by at most ShutdownHardStop more. Then it
// reports the last outcomes, stops maintenance and runs OnShutdown.
// Idempotent: later calls return the first call's result.
func (w *Worker) Stop(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return w.stopErr
	}
	w.stopped = true
	if !w.started {
		return nil
	}
	if w.unwatch != nil {
		w.unwatch()
	}
	err := w.inner.Stop(ctx)
	for _, s := range w.svcs {
		s.Stop()
	}
	if w.cfg.OnShutdown != nil {
		if serr := w.cfg.OnShutdown(w.startCtx); serr != nil {
			err = errors.Join(err, fmt.Errorf("worker OnShutdown: %w", serr))
		}
	}
	w.stopErr = err
	return err
}
