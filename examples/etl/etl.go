package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"conveyor"
)

// The pipeline's job kinds: each step enqueues the next with its output.
const (
	KindExtract   = "etl.extract"
	KindTransform = "etl.transform"
	KindLoad      = "etl.load"
)

// Row is one record moving through the pipeline.
type Row struct {
	Name   string  `json:"name"`
	Amount float64 `json:"amount"`
}

// ExtractArgs carry the raw input (a CSV document "name,amount").
type ExtractArgs struct {
	Batch string `json:"batch"`
	CSV   string `json:"csv"`
}

// RowsArgs carry rows between steps.
type RowsArgs struct {
	Batch string `json:"batch"`
	Rows  []Row  `json:"rows"`
}

// StepResult is what each step stores as its job's result.
type StepResult struct {
	Rows int    `json:"rows"`
	Next string `json:"next_job_id,omitempty"`
}

// Warehouse is the load target: a stand-in for a database, opened once by
// the worker's OnStartup and reached by every job through its context.
type Warehouse struct {
	mu     sync.Mutex
	totals map[string]float64 // batch/name -> amount; loading is idempotent
}

// NewWarehouse returns an empty warehouse.
func NewWarehouse() *Warehouse { return &Warehouse{totals: map[string]float64{}} }

// Total returns the stored amount of a batch's name.
func (w *Warehouse) Total(batch, name string) (float64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := w.totals[batch+"/"+name]
	return v, ok
}

type warehouseKey struct{}

// BaseJob is what every step shares, like the seed's BaseJob class: the
// step's name, the client to hand work to the next step, and access to the
// resources OnStartup opened. Steps embed it.
type BaseJob struct {
	Client *conveyor.Client
}

// Warehouse returns the warehouse OnStartup put in the job's context.
func (BaseJob) Warehouse(ctx context.Context) *Warehouse {
	w, _ := ctx.Value(warehouseKey{}).(*Warehouse)
	return w
}

// Next enqueues the following step. Its unique key is derived from this
// job's ID, so a retried step does not start the next one twice.
func (b BaseJob) Next(ctx context.Context, kind string, args RowsArgs) (string, error) {
	job := conveyor.JobFromContext(ctx)
	res, err := b.Client.Enqueue(ctx, kind, args, &conveyor.EnqueueOptions{UniqueKey: kind + ":after:" + job.ID, UniqueStates: everyState})
	if err != nil {
		return "", err
	}
	return res.ID, nil
}

// everyState makes a step's key unique for good: even once the next step
// finished, a late retry of this one must not start it again.
var everyState = []conveyor.JobState{conveyor.StateScheduled, conveyor.StateQueued, conveyor.StateRunning,
	conveyor.StateRetrying, conveyor.StateCompleted, conveyor.StateFailed, conveyor.StateCancelled}

// Pipeline is the three steps.
type Pipeline struct{ BaseJob }

// Extract parses the CSV input.
func (p Pipeline) Extract(ctx context.Context, job *conveyor.Job[ExtractArgs]) (StepResult, error) {
	recs, err := csv.NewReader(strings.NewReader(job.Args.CSV)).ReadAll()
	if err != nil {
		return StepResult{}, conveyor.NoRetry(fmt.Errorf("extract: %w", err)) // bad input stays bad
	}
	var rows []Row
	for i, r := range recs {
		if len(r) != 2 {
			return StepResult{}, conveyor.NoRetry(fmt.Errorf("extract: line %d: want name,amount", i+1))
		}
		amount, err := strconv.ParseFloat(strings.TrimSpace(r[1]), 64)
		if err != nil {
			return StepResult{}, conveyor.NoRetry(fmt.Errorf("extract: line %d: %w", i+1, err))
		}
		rows = append(rows, Row{Name: strings.TrimSpace(r[0]), Amount: amount})
	}
	next, err := p.Next(ctx, KindTransform, RowsArgs{Batch: job.Args.Batch, Rows: rows})
	return StepResult{Rows: len(rows), Next: next}, err
}

// Transform normalises names and sums amounts per name.
func (p Pipeline) Transform(ctx context.Context, job *conveyor.Job[RowsArgs]) (StepResult, error) {
	sums := map[string]float64{}
	var order []string
	for _, r := range job.Args.Rows {
		name := strings.ToLower(r.Name)
		if _, seen := sums[name]; !seen {
			order = append(order, name)
		}
		sums[name] += r.Amount
	}
	out := make([]Row, 0, len(order))
	for _, n := range order {
		out = append(out, Row{Name: n, Amount: sums[n]})
	}
	next, err := p.Next(ctx, KindLoad, RowsArgs{Batch: job.Args.Batch, Rows: out})
	return StepResult{Rows: len(out), Next: next}, err
}

// Load writes the rows; setting (not adding) makes a re-run harmless.
func (p Pipeline) Load(ctx context.Context, job *conveyor.Job[RowsArgs]) (StepResult, error) {
	w := p.Warehouse(ctx)
	if w == nil {
		return StepResult{}, errors.New("load: no warehouse in context (OnStartup did not run)")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range job.Args.Rows {
		w.totals[job.Args.Batch+"/"+r.Name] = r.Amount
	}
	return StepResult{Rows: len(job.Args.Rows)}, nil
}

// Register adds the steps to ws, with a timing middleware every step shares.
func (p Pipeline) Register(ws *conveyor.Workers) error {
	ws.Use(timing)
	if err := conveyor.Register(ws, KindExtract, p.Extract, nil); err != nil {
		return err
	}
	if err := conveyor.Register(ws, KindTransform, p.Transform, nil); err != nil {
		return err
	}
	return conveyor.Register(ws, KindLoad, p.Load, &conveyor.HandlerOptions{MaxAttempts: 10})
}

// OnStartup opens the warehouse once per worker and shares it with every job.
func OnStartup(w *Warehouse) func(ctx context.Context) (context.Context, error) {
	return func(ctx context.Context) (context.Context, error) {
		return context.WithValue(ctx, warehouseKey{}, w), nil
	}
}

// timing logs each step's duration: cross-cutting behaviour is middleware.
func timing(next conveyor.Handler) conveyor.Handler {
	return conveyor.HandlerFunc(func(ctx context.Context, job *conveyor.JobRecord) (json.RawMessage, error) {
		start := time.Now()
		res, err := next.Work(ctx, job)
		conveyor.LoggerFromContext(ctx).Log(ctx, slog.LevelInfo, "etl step done", "took", time.Since(start), "err", err)
		return res, err
	})
}
