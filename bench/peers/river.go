package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"conveyor/bench/harness"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// benchArgs are the args of every benchmark job: the enqueue time in Unix ns.
type benchArgs struct {
	T int64 `json:"t"`
}

// Kind is River's job kind for benchArgs.
func (benchArgs) Kind() string { return "bench" }

// benchWorker is River's no-op worker; it reports handler start.
type benchWorker struct {
	river.WorkerDefaults[benchArgs]
	onStart func(int64)
}

// Work tells the harness the job started and returns at once.
func (w *benchWorker) Work(ctx context.Context, job *river.Job[benchArgs]) error {
	if w.onStart != nil {
		w.onStart(job.Args.T)
	}
	return nil
}

// riverSystem runs River in its own schema, configured like `river bench`
// (FetchCooldown 2 ms, FetchPollInterval 20 ms) with MaxWorkers = C.
type riverSystem struct {
	pool   *pgxpool.Pool
	schema string
	logger *slog.Logger

	// insert is the insert-only client (no queues) used to enqueue.
	insert *river.Client[pgx.Tx]

	mu     sync.Mutex
	work   *river.Client[pgx.Tx]
	events chan struct{} // closed when the event reader of work ends
	unsub  func()
}

var _ harness.System = (*riverSystem)(nil)

func newRiver(ctx context.Context, url string) (*riverSystem, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("river: connect: %w", err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	s := &riverSystem{
		pool:   pool,
		schema: "bench_river_" + hex.EncodeToString(b[:]),
		logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+s.schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("river: create schema: %w", err)
	}
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: s.schema, Logger: s.logger})
	if err != nil {
		_ = s.Close(ctx)
		return nil, fmt.Errorf("river: migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		_ = s.Close(ctx)
		return nil, fmt.Errorf("river: migrate: %w", err)
	}
	s.insert, err = river.NewClient(riverpgxv5.New(pool), &river.Config{Schema: s.schema, Logger: s.logger})
	if err != nil {
		_ = s.Close(ctx)
		return nil, fmt.Errorf("river: insert client: %w", err)
	}
	return s, nil
}

// Name implements harness.System.
func (s *riverSystem) Name() string { return "river-postgres" }

// Reset empties the schema's job table.
func (s *riverSystem) Reset(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, "TRUNCATE "+s.schema+".river_job")
	return err
}

// Enqueue inserts one job in its own transaction.
func (s *riverSystem) Enqueue(ctx context.Context, sentAt int64) error {
	_, err := s.insert.Insert(ctx, benchArgs{T: sentAt}, nil)
	return err
}

// EnqueueBatch inserts n jobs with one InsertMany.
func (s *riverSystem) EnqueueBatch(ctx context.Context, sentAt int64, n int) error {
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i].Args = benchArgs{T: sentAt}
	}
	_, err := s.insert.InsertMany(ctx, params)
	return err
}

// Start starts a working client. Completions are counted from River's
// completed events, which River emits after the completer has committed the
// job's new state (the same signal `river bench` counts).
func (s *riverSystem) Start(ctx context.Context, p *harness.StartParams) error {
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &benchWorker{onStart: p.OnStart}); err != nil {
		return err
	}
	c, err := river.NewClient(riverpgxv5.New(s.pool), &river.Config{
		Schema:            s.schema,
		Logger:            s.logger,
		FetchCooldown:     2 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: p.Workers}},
		Workers:           workers,
	})
	if err != nil {
		return err
	}
	// A buffer large enough never to drop an event (River drops on overflow).
	evs, unsub := c.SubscribeConfig(&river.SubscribeConfig{
		ChanSize: 200_000,
		Kinds:    []river.EventKind{river.EventKindJobCompleted},
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range evs {
			if ev != nil {
				p.Done.Add(1)
			}
		}
	}()
	if err := c.Start(ctx); err != nil {
		unsub()
		return err
	}
	s.mu.Lock()
	s.work, s.events, s.unsub = c, done, unsub
	s.mu.Unlock()
	return nil
}

// Stop stops the working client.
func (s *riverSystem) Stop(ctx context.Context) error {
	s.mu.Lock()
	c, done, unsub := s.work, s.events, s.unsub
	s.work = nil
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	err := c.Stop(ctx)
	unsub()
	<-done
	return err
}

// Close drops the schema and closes the pool.
func (s *riverSystem) Close(ctx context.Context) error {
	_ = s.Stop(ctx)
	_, err := s.pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+s.schema+" CASCADE")
	s.pool.Close()
	return err
}

// Durability describes River on the server's settings (fsync and
// synchronous_commit on, as reported in BENCHMARKS.md).
func (s *riverSystem) Durability() string {
	return "Committed PostgreSQL transaction: survives a crash with the server's fsync and synchronous_commit settings."
}
