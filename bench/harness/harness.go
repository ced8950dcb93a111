package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The workloads of DESIGN.md §9.
const (
	// WorkloadInsert enqueues N jobs one by one from InsertConcurrency goroutines.
	WorkloadInsert = "insert"
	// WorkloadBatch enqueues N jobs in batches of BatchSize from one goroutine.
	WorkloadBatch = "batch"
	// WorkloadWork enqueues N no-op jobs first, then times C workers draining
	// them, up to the last completion committed to the store.
	WorkloadWork = "work"
	// WorkloadLatency enqueues LatencyRate jobs/s for LatencyDuration with the
	// workers running and measures enqueue -> handler start.
	WorkloadLatency = "latency"
)

// Workloads lists the workloads in the order "all" runs them.
var Workloads = []string{WorkloadInsert, WorkloadBatch, WorkloadWork, WorkloadLatency}

// Fixed parameters of the workloads (DESIGN.md §9).
const (
	InsertConcurrency = 16
	BatchSize         = 1000
	LatencyRate       = 500
	LatencyDuration   = 5 * time.Second
)

// cleanupTimeout bounds stopping the workers and the final Reset, which run
// on a context of their own so that they happen even after the workload's
// deadline: a system that hangs there yields an error, not a stuck run.
const cleanupTimeout = 30 * time.Second

// stop stops sys's workers within cleanupTimeout, even when ctx has ended.
func stop(ctx context.Context, sys System) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := sys.Stop(sctx); err != nil {
		return fmt.Errorf("stop workers: %w", err)
	}
	return nil
}

// ErrNoBatch is returned by System.EnqueueBatch when the system has no batch
// enqueue; the batch workload then reports "n/a" and the work workload fills
// its queue with concurrent single enqueues instead.
var ErrNoBatch = errors.New("no batch enqueue")

// System is one job system under test. Every method is called from the
// harness only; Enqueue may be called from many goroutines at once.
type System interface {
	// Name is the "system" field of the results, e.g. "conveyor-postgres".
	Name() string
	// Reset deletes every job of the system's own benchmark namespace (a
	// queue, schema or database number that holds nothing else). It is called
	// before and after each workload.
	Reset(ctx context.Context) error
	// Enqueue durably stores one no-op job whose args carry sentAt (Unix ns).
	Enqueue(ctx context.Context, sentAt int64) error
	// EnqueueBatch durably stores n such jobs in one call, or returns ErrNoBatch.
	EnqueueBatch(ctx context.Context, sentAt int64, n int) error
	// Start runs p.Workers concurrent workers on the namespace. The handler
	// calls p.OnStart (if set) with the job's sentAt first thing, and the
	// system calls p.Done.Add once per completion committed to the store (not
	// per handler return). Start does not block.
	Start(ctx context.Context, p *StartParams) error
	// Stop stops the workers started by Start, waiting for them.
	Stop(ctx context.Context) error
}

// StartParams are the params of System.Start.
type StartParams struct {
	Workers int
	OnStart func(sentAt int64)
	Done    *Counter
}

// Result is one workload's measurement, printed as one JSON line.
type Result struct {
	System     string  `json:"system"`
	Workload   string  `json:"workload"`
	Jobs       int     `json:"jobs"`
	Seconds    float64 `json:"seconds"`
	JobsPerSec float64 `json:"jobs_per_sec"`
	// P50Ms and P99Ms are per-call latencies for insert and batch, enqueue ->
	// handler start for latency, and 0 for work (one timed drain).
	P50Ms   float64 `json:"p50_ms"`
	P99Ms   float64 `json:"p99_ms"`
	Workers int     `json:"workers,omitempty"`
	// Note explains a result that is not a measurement ("n/a: …").
	Note string `json:"note,omitempty"`
	// Durability says when an acknowledged enqueue survives a crash, as the
	// system describes itself (see Durable).
	Durability string `json:"durability,omitempty"`
}

// Durable is implemented by systems that can say, in one sentence, when an
// acknowledged enqueue survives a crash; Run copies it into the Result.
type Durable interface {
	Durability() string
}

// Config says what to run.
type Config struct {
	// Workload is one of Workloads.
	Workload string
	// Jobs is N for insert, batch and work. Default DefaultJobs(Workload).
	Jobs int
	// Workers is C for work and latency. Default DefaultWorkers.
	Workers int
	// Timeout bounds one workload. Default 5 minutes.
	Timeout time.Duration
	// Progress receives a progress line about every second for long runs
	// (stderr in the CLIs). Default: none.
	Progress io.Writer
}

// DefaultWorkers is the default C: River's own `river bench` runs 2000
// workers, its best setting, and every system gets the same C.
const DefaultWorkers = 2000

// DefaultJobs is the default N of a workload: enough to last a second or
// more on a fast backend, few enough that a full report stays short.
func DefaultJobs(workload string) int {
	switch workload {
	case WorkloadInsert:
		return 5000
	case WorkloadBatch:
		return 20000
	case WorkloadWork:
		return 20000
	default:
		return LatencyRate * int(LatencyDuration/time.Second)
	}
}

func (c Config) withDefaults() Config {
	if c.Jobs <= 0 {
		c.Jobs = DefaultJobs(c.Workload)
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// Run runs one workload on sys. It resets sys's namespace before and after,
// also when the workload fails.
func Run(ctx context.Context, sys System, cfg Config) (Result, error) {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := sys.Reset(ctx); err != nil {
		return Result{}, fmt.Errorf("%s: reset before %s: %w", sys.Name(), cfg.Workload, err)
	}
	var (
		res Result
		err error
	)
	switch cfg.Workload {
	case WorkloadInsert:
		res, err = runInsert(ctx, sys, cfg)
	case WorkloadBatch:
		res, err = runBatch(ctx, sys, cfg)
	case WorkloadWork:
		res, err = runWork(ctx, sys, cfg)
	case WorkloadLatency:
		res, err = runLatency(ctx, sys, cfg)
	default:
		return Result{}, fmt.Errorf("unknown workload %q (want one of insert, batch, work, latency, all)", cfg.Workload)
	}
	// Clean up even after a failure, with a context of its own: ctx may be
	// the one that timed out.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer rcancel()
	if rerr := sys.Reset(rctx); rerr != nil && err == nil {
		err = fmt.Errorf("%s: reset after %s: %w", sys.Name(), cfg.Workload, rerr)
	}
	if err != nil {
		return Result{}, fmt.Errorf("%s %s: %w", sys.Name(), cfg.Workload, err)
	}
	res.System = sys.Name()
	res.Workload = cfg.Workload
	if d, ok := sys.(Durable); ok {
		res.Durability = d.Durability()
	}
	return res, nil
}

// ParseWorkloads turns a --workload flag value ("all", one name, or a
// comma-separated list) into a list of workloads.
func ParseWorkloads(s string) ([]string, error) {
	if s == "" || s == "all" {
		return Workloads, nil
	}
	var out []string
	for _, w := range strings.Split(s, ",") {
		w = strings.TrimSpace(w)
		if !slices.Contains(Workloads, w) {
			return nil, fmt.Errorf("unknown workload %q (want insert, batch, work, latency, all or a comma-separated list)", w)
		}
		out = append(out, w)
	}
	return out, nil
}

func runInsert(ctx context.Context, sys System, cfg Config) (Result, error) {
	var (
		next  atomic.Int64
		lats  = make([][]time.Duration, InsertConcurrency)
		errMu sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	stopProgress := progress(ctx, cfg.Progress, sys.Name()+" insert", func() int64 { return min(next.Load(), int64(cfg.Jobs)) }, int64(cfg.Jobs))
	defer stopProgress()
	start := time.Now()
	for g := range InsertConcurrency {
		wg.Go(func() {
			for {
				if next.Add(1) > int64(cfg.Jobs) || ctx.Err() != nil {
					return
				}
				t := time.Now()
				if err := sys.Enqueue(ctx, t.UnixNano()); err != nil {
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
					return
				}
				lats[g] = append(lats[g], time.Since(t))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if first != nil {
		return Result{}, fmt.Errorf("enqueue: %w", first)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return throughput(cfg.Jobs, elapsed, all), nil
}

func runBatch(ctx context.Context, sys System, cfg Config) (Result, error) {
	var (
		lats []time.Duration
		done atomic.Int64
	)
	stopProgress := progress(ctx, cfg.Progress, sys.Name()+" batch", done.Load, int64(cfg.Jobs))
	defer stopProgress()
	start := time.Now()
	for done.Load() < int64(cfg.Jobs) {
		n := min(BatchSize, cfg.Jobs-int(done.Load()))
		t := time.Now()
		if err := sys.EnqueueBatch(ctx, t.UnixNano(), n); err != nil {
			if errors.Is(err, ErrNoBatch) {
				return Result{Jobs: cfg.Jobs, Note: "n/a: no batch enqueue"}, nil
			}
			return Result{}, fmt.Errorf("enqueue batch: %w", err)
		}
		lats = append(lats, time.Since(t))
		done.Add(int64(n))
	}
	return throughput(cfg.Jobs, time.Since(start), lats), nil
}

// fill enqueues n jobs for the work workload, in batches when the system has
// them and from InsertConcurrency goroutines when it does not. It is not timed.
func fill(ctx context.Context, sys System, n int) error {
	now := time.Now().UnixNano()
	for done := 0; done < n; {
		k := min(BatchSize, n-done)
		err := sys.EnqueueBatch(ctx, now, k)
		if errors.Is(err, ErrNoBatch) {
			break
		}
		if err != nil {
			return fmt.Errorf("fill queue: %w", err)
		}
		done += k
		if done == n {
			return nil
		}
	}
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	for range InsertConcurrency {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				if err := sys.Enqueue(ctx, now); err != nil {
					errMu.Lock()
					first = cmpErr(first, err)
					errMu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return fmt.Errorf("fill queue: %w", first)
	}
	return ctx.Err()
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func runWork(ctx context.Context, sys System, cfg Config) (Result, error) {
	if err := fill(ctx, sys, cfg.Jobs); err != nil {
		return Result{}, err
	}
	done := NewCounter()
	stopProgress := progress(ctx, cfg.Progress, sys.Name()+" work", done.Load, int64(cfg.Jobs))
	defer stopProgress()
	start := time.Now()
	if err := sys.Start(ctx, &StartParams{Workers: cfg.Workers, Done: done}); err != nil {
		return Result{}, fmt.Errorf("start workers: %w", err)
	}
	werr := done.Wait(ctx, int64(cfg.Jobs))
	last := done.Last()
	if err := stop(ctx, sys); err != nil && werr == nil {
		werr = err
	}
	if werr != nil {
		return Result{}, fmt.Errorf("drain (%d of %d completed): %w", done.Load(), cfg.Jobs, werr)
	}
	res := throughput(cfg.Jobs, last.Sub(start), nil)
	res.Workers = cfg.Workers
	return res, nil
}

func runLatency(ctx context.Context, sys System, cfg Config) (Result, error) {
	total := LatencyRate * int(LatencyDuration/time.Second)
	var (
		mu      sync.Mutex
		lats    = make([]time.Duration, 0, total)
		started = NewCounter()
	)
	onStart := func(sentAt int64) {
		d := time.Duration(time.Now().UnixNano() - sentAt)
		mu.Lock()
		lats = append(lats, d)
		mu.Unlock()
		started.Add(1)
	}
	if err := sys.Start(ctx, &StartParams{Workers: cfg.Workers, OnStart: onStart, Done: NewCounter()}); err != nil {
		return Result{}, fmt.Errorf("start workers: %w", err)
	}
	stopProgress := progress(ctx, cfg.Progress, sys.Name()+" latency", started.Load, int64(total))
	defer stopProgress()
	// Let the workers settle (connect, listen, go idle) before the clock
	// starts, so the figure is steady-state latency, not start-up.
	settle := time.NewTimer(500 * time.Millisecond)
	select {
	case <-ctx.Done():
	case <-settle.C:
	}
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	interval := time.Second / LatencyRate
	begin := time.Now()
	for i := range total {
		if d := time.Until(begin.Add(time.Duration(i) * interval)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		// One goroutine per job keeps the arrival rate open-loop: a slow
		// enqueue does not delay the next one.
		wg.Go(func() {
			if err := sys.Enqueue(ctx, time.Now().UnixNano()); err != nil {
				errMu.Lock()
				first = cmpErr(first, err)
				errMu.Unlock()
			}
		})
	}
	issued := time.Since(begin)
	wg.Wait()
	werr := first
	if werr == nil {
		werr = started.Wait(ctx, int64(total))
	}
	if err := stop(ctx, sys); err != nil && werr == nil {
		werr = err
	}
	if werr != nil {
		return Result{}, fmt.Errorf("latency (%d of %d started): %w", started.Load(), total, werr)
	}
	mu.Lock()
	defer mu.Unlock()
	p50, p99 := percentiles(lats)
	return Result{
		Jobs:       total,
		Seconds:    round(issued.Seconds(), 3),
		JobsPerSec: round(float64(total)/issued.Seconds(), 1),
		P50Ms:      p50,
		P99Ms:      p99,
		Workers:    cfg.Workers,
	}, nil
}

func throughput(jobs int, elapsed time.Duration, lats []time.Duration) Result {
	p50, p99 := percentiles(lats)
	return Result{
		Jobs:       jobs,
		Seconds:    round(elapsed.Seconds(), 3),
		JobsPerSec: round(float64(jobs)/elapsed.Seconds(), 1),
		P50Ms:      p50,
		P99Ms:      p99,
	}
}

// progress prints "<what>: done/total" to w every second until the returned
// func is called; runs shorter than a second print nothing.
func progress(ctx context.Context, w io.Writer, what string, done func() int64, total int64) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fmt.Fprintf(w, "%s: %d/%d\n", what, done(), total)
			}
		}
	}()
	return func() { cancel(); <-finished }
}
