package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"conveyor"
	"conveyor/backend"
	"conveyor/bench/harness"
)

// Result is one workload's measurement, printed as one JSON line.
type Result = harness.Result

// Config says what to measure. Only BackendURL and Workload are required.
type Config struct {
	// BackendURL names the backend (DESIGN.md §1), e.g. "memory:" or
	// "postgres://…". Required.
	BackendURL string
	// Workload is insert, batch, work or latency. Required.
	Workload string
	// Jobs is N for insert, batch and work. Default harness.DefaultJobs(Workload).
	Jobs int
	// Workers is C, the worker concurrency for work and latency. Default harness.DefaultWorkers.
	Workers int
	// Timeout bounds the workload. Default 5 minutes.
	Timeout time.Duration
	// Progress receives a progress line about every second. Default: none.
	Progress io.Writer
	// Logger receives the worker's logs. Default: errors to Progress.
	Logger *slog.Logger
}

// Kind is the job kind the benchmark enqueues and handles.
const Kind = "bench"

// Run opens the backend, migrates it, runs one workload on a fresh queue of
// its own and closes the backend.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.BackendURL == "" {
		return Result{}, errors.New("bench: BackendURL is required")
	}
	sys, err := Open(ctx, cfg.BackendURL, cfg.Logger, cfg.Progress)
	if err != nil {
		return Result{}, err
	}
	defer sys.Close()
	return harness.Run(ctx, sys, harness.Config{
		Workload: cfg.Workload,
		Jobs:     cfg.Jobs,
		Workers:  cfg.Workers,
		Timeout:  cfg.Timeout,
		Progress: cfg.Progress,
	})
}

// System is conveyor on one backend as a harness.System.
type System struct {
	b      backend.Backend
	client *conveyor.Client
	queue  string
	logger *slog.Logger

	mu     sync.Mutex
	worker *conveyor.Worker
}

var _ harness.System = (*System)(nil)

// Open opens and migrates the backend at url and picks a fresh queue name.
// logger (nil: errors to progress, or discarded) receives worker logs.
func Open(ctx context.Context, url string, logger *slog.Logger, progress io.Writer) (*System, error) {
	b, err := backend.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := b.Migrate(ctx); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("bench: migrate %s: %w", backend.Redact(url), err)
	}
	s, err := NewSystem(b, logger, progress)
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	return s, nil
}

// NewSystem wraps an open backend; Close closes it.
func NewSystem(b backend.Backend, logger *slog.Logger, progress io.Writer) (*System, error) {
	client, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if logger == nil {
		if progress == nil {
			progress = io.Discard
		}
		// Errors only: a struggling backend can log a warning per job
		// (rescues, lost leases), thousands of lines that bury the result;
		// the workload's error or figures say what went wrong.
		logger = slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	return &System{b: b, client: client, queue: "bench-" + hex.EncodeToString(r[:]), logger: logger}, nil
}

// Queue is the queue the system's jobs go to.
func (s *System) Queue() string { return s.queue }

// Name is "conveyor-<backend>".
func (s *System) Name() string { return "conveyor-" + s.b.Capabilities().Name }

// Reset purges the benchmark queue.
func (s *System) Reset(ctx context.Context) error {
	_, err := s.b.QueuePurge(ctx, &backend.QueuePurgeParams{Queue: s.queue})
	return err
}

// benchArgs are the args of every benchmark job: the enqueue time in Unix ns.
type benchArgs struct {
	T int64 `json:"t"`
}

// Enqueue enqueues one job with Client.Enqueue.
func (s *System) Enqueue(ctx context.Context, sentAt int64) error {
	_, err := s.client.Enqueue(ctx, Kind, benchArgs{T: sentAt}, &conveyor.EnqueueOptions{Queue: s.queue})
	return err
}

// EnqueueBatch enqueues n jobs with one Client.EnqueueMany.
func (s *System) EnqueueBatch(ctx context.Context, sentAt int64, n int) error {
	opts := &conveyor.EnqueueOptions{Queue: s.queue}
	reqs := make([]conveyor.EnqueueRequest, n)
	for i := range reqs {
		reqs[i] = conveyor.EnqueueRequest{Kind: Kind, Args: benchArgs{T: sentAt}, Options: opts}
	}
	_, err := s.client.EnqueueMany(ctx, reqs)
	return err
}

// Start starts a Worker on the benchmark queue with p.Workers slots. The
// worker talks to the backend through a wrapper that counts completions the
// backend acknowledged in JobFinish, so p.Done counts committed completions.
func (s *System) Start(ctx context.Context, p *harness.StartParams) error {
	ws := conveyor.NewWorkers()
	onStart := p.OnStart
	err := ws.Handle(Kind, conveyor.HandlerFunc(func(ctx context.Context, job *conveyor.JobRecord) (json.RawMessage, error) {
		var a benchArgs
		if err := json.Unmarshal(job.Args, &a); err != nil {
			return nil, conveyor.NoRetry(err)
		}
		if onStart != nil {
			onStart(a.T)
		}
		return nil, nil
	}), nil)
	if err != nil {
		return err
	}
	w, err := conveyor.NewWorker(countCompletions(s.b, p.Done), ws, conveyor.WorkerConfig{
		Queues:        map[string]int{s.queue: p.Workers},
		Logger:        s.logger,
		ShutdownGrace: 10 * time.Second,
	})
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.worker = w
	s.mu.Unlock()
	return nil
}

// Stop stops the worker gracefully.
func (s *System) Stop(ctx context.Context) error {
	s.mu.Lock()
	w := s.worker
	s.worker = nil
	s.mu.Unlock()
	if w == nil {
		return nil
	}
	return w.Stop(ctx)
}

// Close stops the worker, purges the queue and closes the backend.
func (s *System) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := errors.Join(s.Stop(ctx), s.Reset(ctx))
	return errors.Join(err, s.b.Close())
}

// Durability is the backend's own statement of when an enqueue is durable.
func (s *System) Durability() string { return s.b.Capabilities().Durability }
